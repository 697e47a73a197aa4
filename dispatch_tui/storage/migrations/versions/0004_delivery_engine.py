"""delivery engine: e-mail subject, monitor index, skipped notices, amended windows, processes

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_OLD_NOTICE_STATES = "status IN ('scheduled', 'due', 'fanning_out', 'done', 'cancelled')"
_NEW_NOTICE_STATES = "status IN ('scheduled', 'due', 'fanning_out', 'done', 'cancelled', 'skipped')"


def upgrade() -> None:
    with op.batch_alter_table("message", schema=None) as batch_op:
        batch_op.add_column(sa.Column("subject", sa.String(length=300), nullable=True))
        batch_op.create_index(
            "ix_message_notice_channel_status", ["notice_id", "channel", "status"]
        )
    with op.batch_alter_table("notice", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_notice_status"), type_="check")
        batch_op.create_check_constraint(op.f("ck_notice_status"), _NEW_NOTICE_STATES)
        batch_op.add_column(sa.Column("previous_starts_at", sa.DateTime(timezone=True)))
        batch_op.add_column(sa.Column("previous_ends_at", sa.DateTime(timezone=True)))
    with op.batch_alter_table("outage", schema=None) as batch_op:
        batch_op.add_column(sa.Column("told_starts_at", sa.DateTime(timezone=True)))
        batch_op.add_column(sa.Column("told_ends_at", sa.DateTime(timezone=True)))
    op.create_table(
        "engine_process",
        sa.Column("id", sa.String(length=128), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("stopped_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_engine_process"),
    )
    op.create_table(
        "channel_control",
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("paused", sa.Boolean(), nullable=False),
        sa.Column("changed_by", sa.String(length=64), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "channel IN ('sms', 'email', 'telegram', 'viber')", name="ck_channel_control_channel"
        ),
        sa.PrimaryKeyConstraint("channel", name="pk_channel_control"),
    )


def downgrade() -> None:
    op.drop_table("channel_control")
    op.drop_table("engine_process")
    op.execute("UPDATE notice SET status = 'cancelled' WHERE status = 'skipped'")
    with op.batch_alter_table("outage", schema=None) as batch_op:
        batch_op.drop_column("told_ends_at")
        batch_op.drop_column("told_starts_at")
    with op.batch_alter_table("notice", schema=None) as batch_op:
        batch_op.drop_column("previous_ends_at")
        batch_op.drop_column("previous_starts_at")
        batch_op.drop_constraint(op.f("ck_notice_status"), type_="check")
        batch_op.create_check_constraint(op.f("ck_notice_status"), _OLD_NOTICE_STATES)
    with op.batch_alter_table("message", schema=None) as batch_op:
        batch_op.drop_index("ix_message_notice_channel_status")
        batch_op.drop_column("subject")
