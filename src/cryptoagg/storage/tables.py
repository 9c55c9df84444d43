"""The tables of SPEC §6, with the indexes their queries need."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
    text,
)

from cryptoagg.storage.types import Money, UtcDateTime

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

prices = Table(
    "prices",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("asset_id", String(100), nullable=False),
    Column("price", Money, nullable=False),
    Column("as_of", UtcDateTime, nullable=False),
    Column("recorded_at", UtcDateTime, nullable=False),
    Column("sources", JSON, nullable=False),
    Column("volume_24h", Money),
    Column("change_24h", Money),
    Column("market_cap", Money),
    #: who wrote the row: "market" (a served listing) or "consensus" (the price collector);
    #: null for rows written before migration 0005
    Column("stream", String(16)),
    Index(None, "asset_id", "as_of"),
    Index(
        "uq_prices_asset_id_as_of_stream",
        "asset_id",
        "as_of",
        "stream",
        unique=True,
        sqlite_where=text("stream IS NOT NULL"),
        postgresql_where=text("stream IS NOT NULL"),
    ),
)

candles = Table(
    "candles",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("asset_id", String(100), nullable=False),
    Column("interval", String(4), nullable=False),
    Column("open_time", UtcDateTime, nullable=False),
    Column("open", Money, nullable=False),
    Column("high", Money, nullable=False),
    Column("low", Money, nullable=False),
    Column("close", Money, nullable=False),
    Column("volume", Money),
    Column("source", String(40), nullable=False),
    #: a rollup lacking some of its finer candles (never a provider's candle)
    Column("partial", Boolean, nullable=False, default=False, server_default=false()),
    #: complete finer candles a rollup was built from; NULL for a provider's candle (and
    #: for a rollup older than revision 0003 whose finer candles were already pruned)
    Column("sub_candles", SmallInteger),
    UniqueConstraint("asset_id", "interval", "open_time"),
    # PostgreSQL: the few partial rollups, for ingest to find those a provider candle
    # replaces (SQLite's ingest upserts on the unique key instead and needs no index)
    Index(
        "ix_candles_partial",
        "asset_id",
        "interval",
        "open_time",
        postgresql_where=text("partial"),
    ).ddl_if(dialect="postgresql"),
)

news = Table(
    "news",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("url", String(1000), nullable=False, unique=True),
    Column("title", Text, nullable=False),
    Column("source", String(100), nullable=False),
    Column("provider", String(40), nullable=False),
    Column("published_at", UtcDateTime, nullable=False),
    Column("summary", Text),
    Column("currencies", JSON, nullable=False),
    Column("sentiment_label", String(20)),
    Column("sentiment_score", Float),
    #: the backend that scored the item: one of another backend counts as unscored
    Column("sentiment_model", String(80)),
    #: the words and phrases that moved the score: [[text, weight, by], ...]
    Column("sentiment_terms", JSON),
    #: the URL without tracking parameters (core/news_dedup.py): copies of one link share it
    Column("canonical_url", String(1000)),
    #: the feed's GUID or the provider's post id
    Column("guid", String(500)),
    #: linked to its assets (`news_assets`) by the current linker; false rows are relinked
    Column("linked", Boolean, nullable=False, server_default=false()),
    Index(None, "published_at"),
    Index(None, "canonical_url"),
    Index(None, "guid"),
)

#: the assets each news item is about, and how that was decided (core/news_links.py)
news_assets = Table(
    "news_assets",
    metadata,
    Column("news_id", Integer, ForeignKey("news.id", ondelete="CASCADE"), primary_key=True),
    Column("asset_id", String(100), primary_key=True),
    Column("matched_by", String(10), nullable=False),
    Column("text", String(100), nullable=False),
    Index(None, "asset_id", "news_id"),
)

#: every outlet that carried a story: the stored item and its later copies
news_sources = Table(
    "news_sources",
    metadata,
    Column("news_id", Integer, ForeignKey("news.id", ondelete="CASCADE"), primary_key=True),
    Column("url", String(1000), primary_key=True),
    Column("source", String(100), nullable=False),
    Column("provider", String(40), nullable=False),
    Column("published_at", UtcDateTime, nullable=False),
    #: why it is the same story: "first" (the stored item), "url", "guid" or "title"
    Column("matched_by", String(10), nullable=False),
    Column("guid", String(500)),
    Index(None, "published_at"),
)

market_analysis = Table(
    "market_analysis",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("asset_id", String(100), nullable=False),
    Column("interval", String(4), nullable=False),
    Column("window", Integer, nullable=False),
    Column("computed_at", UtcDateTime, nullable=False),
    Column("method", String(200), nullable=False),
    Column("result", JSON, nullable=False),
    Index(None, "asset_id", "interval", "computed_at"),
)

user_queries = Table(
    "user_queries",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("at", UtcDateTime, nullable=False),
    Column("endpoint", String(200), nullable=False),
    Column("params", JSON, nullable=False),
    Column("status", Integer, nullable=False),
    #: mean over `count` identical requests within the second starting at `at`
    Column("duration_ms", Float, nullable=False),
    Column("count", Integer, nullable=False, server_default="1"),
    Index(None, "at"),
)

status_log = Table(
    "status_log",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("at", UtcDateTime, nullable=False),
    Column("provider", String(40), nullable=False),
    Column("ok", Boolean, nullable=False),
    Column("state", String(20), nullable=False),
    Column("reason", Text),
    Column("latency_ms", Float),
    Index(None, "provider", "at"),
)

response_times = Table(
    "response_times",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("at", UtcDateTime, nullable=False),
    Column("provider", String(40), nullable=False),
    Column("endpoint", String(200), nullable=False),
    Column("latency_ms", Float, nullable=False),
    Column("ok", Boolean, nullable=False),
    Index(None, "provider", "at"),
)

incidents = Table(
    "incidents",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("provider", String(40), nullable=False),
    Column("opened_at", UtcDateTime, nullable=False),
    Column("resolved_at", UtcDateTime),
    Column("reason", Text, nullable=False),
    Column("failed_checks", Integer, nullable=False),
    Index(None, "provider", "resolved_at"),
)

alerts = Table(
    "alerts",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("incident_id", Integer, ForeignKey("incidents.id", ondelete="CASCADE")),
    Column("at", UtcDateTime, nullable=False),
    Column("kind", String(20), nullable=False),
    Column("message", Text, nullable=False),
    Column("delivered", Boolean, nullable=False, default=False),
    Column("attempts", Integer, nullable=False, default=0),
    Index(None, "at"),
)

configuration = Table(
    "configuration",
    metadata,
    Column("key", String(200), primary_key=True),
    Column("value", JSON, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

pools = Table(
    "pools",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("strategy", String(40), nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

pool_members = Table(
    "pool_members",
    metadata,
    Column("pool_id", String(40), ForeignKey("pools.id", ondelete="CASCADE"), primary_key=True),
    Column("provider", String(40), primary_key=True),
    Column("priority", Integer, nullable=False),
    Column("weight", Float, nullable=False, default=1.0),
)

pool_rotations = Table(
    "pool_rotations",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("pool_id", String(40), nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("from_provider", String(40)),
    Column("to_provider", String(40), nullable=False),
    Column("reason", Text, nullable=False),
    Index(None, "pool_id", "at"),
)
