"""per-node counts: priority points, consenting contacts, subscribers of several points

Revision ID: 0023
Revises: 0022

A preview of whole nodes adds up cached per-node totals instead of finding
the distinct subscribers of every selected metering point (storage.counts):
priority metering points per node, consenting contacts by channel and
language per node, and the subscriptions of subscribers with several
metering points (so that a sum over several nodes counts each once, and the
worst-case subscriber is found among them). Derived data,
filled here for the utilities a database already has. On PostgreSQL everyone
reads them; whoever changes consent (operators, the engine) adds to the
contact totals, and admins (who import) rebuild them.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from dispatch_tui.storage.counts import fill_shared, refresh

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None


def key(length: int) -> sa.String:
    return sa.String(length).with_variant(sa.String(length, collation="C"), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("node") as batch:
        batch.add_column(
            sa.Column("priority_count", sa.Integer(), server_default="0", nullable=False)
        )
    op.create_table(
        "node_contacts",
        sa.Column("node_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("contacts", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["node_id"],
            ["node.id"],
            name=op.f("fk_node_contacts_node_id_node"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("node_id", "channel", "language", name=op.f("pk_node_contacts")),
    )
    op.create_table(
        "shared_subscription",
        sa.Column("subscriber_id", sa.Integer(), nullable=False),
        sa.Column("mp_id", sa.Integer(), nullable=False),
        sa.Column("path", key(255), nullable=False),
        sa.ForeignKeyConstraint(
            ["mp_id"],
            ["metering_point.id"],
            name=op.f("fk_shared_subscription_mp_id_metering_point"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["subscriber_id"],
            ["subscriber.id"],
            name=op.f("fk_shared_subscription_subscriber_id_subscriber"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("subscriber_id", "mp_id", name=op.f("pk_shared_subscription")),
    )
    op.create_index(
        "ix_shared_subscription_path",
        "shared_subscription",
        ["path", "subscriber_id"],
        unique=False,
    )
    op.create_index("ix_shared_subscription_mp", "shared_subscription", ["mp_id"], unique=False)
    conn = op.get_bind()
    if conn.dialect.name == "postgresql":
        op.execute("GRANT SELECT ON node_contacts, shared_subscription TO dispatch_viewer")
        op.execute("GRANT INSERT, UPDATE ON node_contacts TO dispatch_dispatcher, dispatch_engine")
        op.execute(
            "GRANT INSERT, UPDATE, DELETE ON node_contacts, shared_subscription TO dispatch_admin"
        )
    for (utility_id,) in conn.execute(sa.text("SELECT id FROM utility ORDER BY id")):
        fill_shared(conn, utility_id)
        refresh(conn, utility_id)


def downgrade() -> None:
    op.drop_index("ix_shared_subscription_mp", table_name="shared_subscription")
    op.drop_index("ix_shared_subscription_path", table_name="shared_subscription")
    op.drop_table("shared_subscription")
    op.drop_table("node_contacts")
    # Not batch mode: on SQLite it rebuilds `node`, and dropping the old table breaks
    # the foreign keys of every row that points at a node (SQLite 3.35+ drops a column).
    op.execute("ALTER TABLE node DROP COLUMN priority_count")
