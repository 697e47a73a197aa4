"""each sending process says which of its channels only pretend to send

Revision ID: 0029
Revises: 0028

A terminal without its own engine labelled the header "SANDBOX SMS" from its
own settings while a headless engine sent real SMS through Kannel (and would
have said nothing with the roles reversed). Each process now records the
channels its sandbox senders serve, and such a terminal takes the label from
the living engines. NULL: an older engine, which does not say.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0029"
down_revision = "0028"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("engine_process", sa.Column("sandbox_channels", sa.JSON(), nullable=True))


def downgrade() -> None:
    op.execute("ALTER TABLE engine_process DROP COLUMN sandbox_channels")  # SQLite 3.35+
