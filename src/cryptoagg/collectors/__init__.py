"""Supervised background jobs (prices, candles, news, health checks) — storage issue."""
