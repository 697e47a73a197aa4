"""outage amendments and cached totals

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 11:13:38.297571
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outage", schema=None) as batch_op:
        batch_op.add_column(sa.Column("amended_by", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("follow_up", sa.String(length=16), nullable=True))
        batch_op.add_column(
            sa.Column("affected_mps", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(
            sa.Column("affected_subscribers", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.create_check_constraint(
            "ck_outage_four_eyes_amendment",
            "approved_by IS NULL OR amended_by IS NULL OR approved_by <> amended_by",
        )


def downgrade() -> None:
    with op.batch_alter_table("outage", schema=None) as batch_op:
        batch_op.drop_constraint("ck_outage_four_eyes_amendment", type_="check")
        batch_op.drop_column("affected_subscribers")
        batch_op.drop_column("affected_mps")
        batch_op.drop_column("follow_up")
        batch_op.drop_column("amended_by")
