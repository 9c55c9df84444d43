"""`/api/v3`: the CoinGecko-compatible face (routes, shapes, market_chart from stored candles)."""
