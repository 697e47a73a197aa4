"""bot chats: conversation state per Telegram or Viber chat

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
    op.create_table(
        "bot_chat",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("chat_id", sa.String(length=64), nullable=False),
        sa.Column("state", sa.JSON(), nullable=False),
        sa.Column("last_update_id", sa.BigInteger(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("channel IN ('telegram', 'viber')", name="ck_bot_chat_channel"),
        sa.PrimaryKeyConstraint("id", name="pk_bot_chat"),
        sa.UniqueConstraint("channel", "chat_id", name="uq_bot_chat_channel_chat_id"),
    )


def downgrade() -> None:
    op.drop_table("bot_chat")
