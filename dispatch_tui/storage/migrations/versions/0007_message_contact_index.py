"""message index by contact (history, opt-out)

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_message_contact", "message", ["contact_id"])


def downgrade() -> None:
    op.drop_index("ix_message_contact", table_name="message")
