"""Sentiment of market headlines from words and phrases, pure: no I/O, no model."""

from cryptoagg.core.sentiment.scorer import MarketScorer, Scored, Term

__all__ = ["MarketScorer", "Scored", "Term"]
