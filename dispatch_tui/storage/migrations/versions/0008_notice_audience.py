"""notice audience: who each notice is for (one event, one message per person)

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("notice", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("audience", sa.String(length=8), nullable=False, server_default="all")
        )
        batch_op.create_check_constraint(
            op.f("ck_notice_audience"), "audience IN ('all', 'told', 'untold')"
        )
    # Follow-ups always went only to those already told.
    op.execute("UPDATE notice SET audience = 'told' WHERE kind IN ('amendment', 'cancellation')")


def downgrade() -> None:
    with op.batch_alter_table("notice", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_notice_audience"), type_="check")
        batch_op.drop_column("audience")
