"""message index by delivery time, for the metrics' report lag

Revision ID: 0020
Revises: 0019

The metrics endpoint reports how long delivery reports took over the last
minutes; without an index that is a scan of every message at each scrape.
Partial (only delivered messages), so fan-out's inserts do not pay for it.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

DELIVERED = sa.text("delivered_at IS NOT NULL")


def upgrade() -> None:
    op.create_index(
        "ix_message_delivered",
        "message",
        ["delivered_at"],
        sqlite_where=DELIVERED,
        postgresql_where=DELIVERED,
    )


def downgrade() -> None:
    op.drop_index("ix_message_delivered", table_name="message")
