"""news: the model that scored an item (`sentiment_model`) and the words and phrases that moved
its score (`sentiment_terms`). Items scored before carry no model: they count as unscored and
are scored again, with their terms, by whichever backend is configured when next read.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("news") as batch:
        batch.add_column(sa.Column("sentiment_model", sa.String(80), nullable=True))
        batch.add_column(sa.Column("sentiment_terms", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("news") as batch:
        batch.drop_column("sentiment_terms")
        batch.drop_column("sentiment_model")
