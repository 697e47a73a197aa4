"""four-eyes that follows the content: editors per approval cycle; role history

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outage", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("edit_cycle", sa.Integer(), nullable=False, server_default="1")
        )
    op.create_table(
        "outage_editor",
        sa.Column("outage_id", sa.Integer(), nullable=False),
        sa.Column("cycle", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("edited_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["outage_id"],
            ["outage.id"],
            name=op.f("fk_outage_editor_outage_id_outage"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("outage_id", "cycle", "username", name=op.f("pk_outage_editor")),
    )
    # What is known of today's outages: the author, and whoever last moved the window.
    op.execute(
        "INSERT INTO outage_editor (outage_id, cycle, username, edited_at) "
        "SELECT id, 1, created_by, created_at FROM outage"
    )
    op.execute(
        "INSERT INTO outage_editor (outage_id, cycle, username, edited_at) "
        "SELECT id, 1, amended_by, updated_at FROM outage "
        "WHERE amended_by IS NOT NULL AND amended_by <> created_by"
    )
    op.create_table(
        "role_change",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=True),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("changed_by", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_role_change")),
    )
    op.create_index("ix_role_change_user_at", "role_change", ["username", "changed_at"])
    # Roles held today were held since the user was added (no history before this).
    op.execute(
        "INSERT INTO role_change (username, role, changed_at, changed_by) "
        "SELECT username, role, created_at, 'migration' FROM app_user"
    )


def downgrade() -> None:
    op.drop_index("ix_role_change_user_at", table_name="role_change")
    op.drop_table("role_change")
    op.drop_table("outage_editor")
    with op.batch_alter_table("outage", schema=None) as batch_op:
        batch_op.drop_column("edit_cycle")
