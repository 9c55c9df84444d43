"""candles: partial rollups (`partial`, `sub_candles`); on PostgreSQL an index of them

Existing rollups are counted where their finer candles are still stored: an hour rollup with
some but not all of its 60 minutes, or a day rollup with some but not all of its 24 complete
hours, becomes partial (so gap detection asks a provider for its own candle). A rollup whose
finer candles are all gone (pruned by retention) cannot be checked and stays complete, with
`sub_candles` NULL.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

#: (rolled-up tier, finer tier, finer candles per period, the period as SQL intervals)
_TIERS = (("1h", "1m", 60, "1 hour"), ("1d", "1h", 24, "1 day"))


def _period_end(dialect: str, length: str) -> str:
    """SQL for the open time of the next period after `candles.open_time`."""
    if dialect == "sqlite":  # stored as 'YYYY-MM-DD HH:MM:SS.ffffff' text, UTC
        return f"datetime(candles.open_time, '+{length}')"
    return f"candles.open_time + interval '{length}'"


def upgrade() -> None:
    with op.batch_alter_table("candles") as batch:
        batch.add_column(
            sa.Column("partial", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.add_column(sa.Column("sub_candles", sa.SmallInteger(), nullable=True))
    bind = op.get_bind()
    dialect = bind.dialect.name
    if dialect == "postgresql":  # what ingest's UPDATE of partial rollups scans
        op.create_index(
            "ix_candles_partial",
            "candles",
            ["asset_id", "interval", "open_time"],
            postgresql_where=sa.text("partial"),
        )
    # hours first: a day counts only its complete hours
    for tier, finer, per_period, length in _TIERS:
        params = {"tier": tier, "finer": finer, "per_period": per_period}
        bind.execute(
            sa.text(
                "UPDATE candles SET sub_candles = ("  # noqa: S608 - constants only
                " SELECT count(*) FROM candles AS f"
                " WHERE f.asset_id = candles.asset_id AND f.interval = :finer"
                " AND f.open_time >= candles.open_time"
                f" AND f.open_time < {_period_end(dialect, length)} AND NOT f.partial)"
                " WHERE candles.source = 'rollup' AND candles.interval = :tier"
            ),
            params,
        )
        bind.execute(
            sa.text(
                "UPDATE candles SET partial = (sub_candles > 0 AND sub_candles < :per_period),"
                " sub_candles = CASE WHEN sub_candles = 0 THEN NULL ELSE sub_candles END"
                " WHERE candles.source = 'rollup' AND candles.interval = :tier"
            ),
            params,
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index("ix_candles_partial", "candles")
    with op.batch_alter_table("candles") as batch:
        batch.drop_column("sub_candles")
        batch.drop_column("partial")
