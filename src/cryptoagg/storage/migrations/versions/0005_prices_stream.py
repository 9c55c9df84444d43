"""prices: the stream that wrote a row (`market` listing or `consensus` collector), unique per
asset, `as_of` and stream, so a row another replica stored already is not stored again (rows
written before have no stream and are left as they are)

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("prices") as batch:
        batch.add_column(sa.Column("stream", sa.String(16), nullable=True))
    with_stream = sa.text("stream IS NOT NULL")
    op.create_index(
        "uq_prices_asset_id_as_of_stream",
        "prices",
        ["asset_id", "as_of", "stream"],
        unique=True,
        sqlite_where=with_stream,
        postgresql_where=with_stream,
    )


def downgrade() -> None:
    op.drop_index("uq_prices_asset_id_as_of_stream", "prices")
    with op.batch_alter_table("prices") as batch:
        batch.drop_column("stream")
