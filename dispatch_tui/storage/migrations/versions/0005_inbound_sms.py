"""inbound SMS and replies through the outbox

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
    with op.batch_alter_table("message", schema=None) as batch_op:
        batch_op.alter_column("notice_id", existing_type=sa.Integer(), nullable=True)
        batch_op.alter_column("contact_id", existing_type=sa.Integer(), nullable=True)
        batch_op.add_column(sa.Column("sender", sa.String(length=32), nullable=True))
    op.create_table(
        "inbound_message",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sender", sa.String(length=32), nullable=False),
        sa.Column("receiver", sa.String(length=32), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("gateway_id", sa.String(length=64), nullable=True),
        sa.Column("command", sa.String(length=32), nullable=True),
        sa.Column("identifier", sa.String(length=32), nullable=True),
        sa.Column("outcome", sa.String(length=300), nullable=False),
        sa.Column("replied", sa.Boolean(), nullable=False),
        sa.Column("reply_message_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["reply_message_id"],
            ["message.id"],
            name="fk_inbound_message_reply_message_id_message",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_inbound_message"),
        sa.UniqueConstraint("gateway_id", name="uq_inbound_message_gateway_id"),
    )
    op.create_index(
        "ix_inbound_message_sender_received", "inbound_message", ["sender", "received_at"]
    )
    op.create_index("ix_inbound_message_received", "inbound_message", ["received_at", "replied"])


def downgrade() -> None:
    op.drop_index("ix_inbound_message_received", table_name="inbound_message")
    op.drop_index("ix_inbound_message_sender_received", table_name="inbound_message")
    op.drop_table("inbound_message")
    op.execute(
        "DELETE FROM delivery_event WHERE message_id IN "
        "(SELECT id FROM message WHERE notice_id IS NULL OR contact_id IS NULL)"
    )
    op.execute("DELETE FROM message WHERE notice_id IS NULL OR contact_id IS NULL")
    with op.batch_alter_table("message", schema=None) as batch_op:
        batch_op.drop_column("sender")
        batch_op.alter_column("contact_id", existing_type=sa.Integer(), nullable=False)
        batch_op.alter_column("notice_id", existing_type=sa.Integer(), nullable=False)
