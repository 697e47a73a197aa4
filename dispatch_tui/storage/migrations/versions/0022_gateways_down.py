"""each sending process says which channels' gateways it finds down

Revision ID: 0022
Revises: 0021

A headless engine's view of its gateways lived only in its log: a terminal
showed "engine: on" while Kannel refused every send. The engine now writes
the channels whose gateway is down with each heartbeat, and every terminal's
header says so. NULL: an older engine, which does not say.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("engine_process", sa.Column("gateways_down", sa.JSON(), nullable=True))


def downgrade() -> None:
    op.execute("ALTER TABLE engine_process DROP COLUMN gateways_down")  # SQLite 3.35+
