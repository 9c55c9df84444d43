"""news: canonical URL, GUID and link state; `news_assets` (links) and `news_sources`

Every stored item becomes its own first source. Existing items keep their URL as canonical
URL (the stricter canonical form applies to items stored from now on) and are marked unlinked,
so the news collector links them to their assets on its next runs.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from cryptoagg.storage.types import UtcDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("news") as batch:
        batch.add_column(sa.Column("canonical_url", sa.String(1000), nullable=True))
        batch.add_column(sa.Column("guid", sa.String(500), nullable=True))
        batch.add_column(
            sa.Column("linked", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.create_index("ix_news_canonical_url", ["canonical_url"])
        batch.create_index("ix_news_guid", ["guid"])
    op.execute("UPDATE news SET canonical_url = url")
    op.create_table(
        "news_assets",
        sa.Column("news_id", sa.Integer(), nullable=False),
        sa.Column("asset_id", sa.String(100), nullable=False),
        sa.Column("matched_by", sa.String(10), nullable=False),
        sa.Column("text", sa.String(100), nullable=False),
        sa.ForeignKeyConstraint(
            ["news_id"], ["news.id"], name="fk_news_assets_news_id_news", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("news_id", "asset_id", name="pk_news_assets"),
    )
    op.create_index("ix_news_assets_asset_id_news_id", "news_assets", ["asset_id", "news_id"])
    op.create_table(
        "news_sources",
        sa.Column("news_id", sa.Integer(), nullable=False),
        sa.Column("url", sa.String(1000), nullable=False),
        sa.Column("source", sa.String(100), nullable=False),
        sa.Column("provider", sa.String(40), nullable=False),
        sa.Column("published_at", UtcDateTime(), nullable=False),
        sa.Column("matched_by", sa.String(10), nullable=False),
        sa.Column("guid", sa.String(500), nullable=True),
        sa.ForeignKeyConstraint(
            ["news_id"], ["news.id"], name="fk_news_sources_news_id_news", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("news_id", "url", name="pk_news_sources"),
    )
    op.create_index("ix_news_sources_published_at", "news_sources", ["published_at"])
    op.execute(
        "INSERT INTO news_sources (news_id, url, source, provider, published_at, matched_by)"
        " SELECT id, url, source, provider, published_at, 'first' FROM news"
    )


def downgrade() -> None:
    op.drop_index("ix_news_sources_published_at", table_name="news_sources")
    op.drop_table("news_sources")
    op.drop_index("ix_news_assets_asset_id_news_id", table_name="news_assets")
    op.drop_table("news_assets")
    with op.batch_alter_table("news") as batch:
        batch.drop_index("ix_news_guid")
        batch.drop_index("ix_news_canonical_url")
        batch.drop_column("linked")
        batch.drop_column("guid")
        batch.drop_column("canonical_url")
