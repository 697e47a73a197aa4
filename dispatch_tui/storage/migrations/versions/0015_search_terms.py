"""search terms: nodes, settlements and streets found by any word of their name

Revision ID: 0015
Revises: 0014

Search found only metering points; places (areas, substations, feeders,
settlements, streets) had no index a prefix of one of their words could
use. The table is derived data, filled here for the utilities a database
already has, and rebuilt by imports afterwards (storage.search_terms).
On PostgreSQL everyone reads it and admins (who import) write it.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from dispatch_tui.storage.search_terms import refresh

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def key(length: int) -> sa.String:
    return sa.String(length).with_variant(sa.String(length, collation="C"), "postgresql")


def upgrade() -> None:
    op.create_table(
        "search_term",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("utility_id", sa.Integer(), nullable=False),
        sa.Column("term", key(255), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("detail", sa.String(length=200), nullable=False),
        sa.Column("starts_name", sa.Boolean(), nullable=False),
        sa.Column("node_id", sa.Integer(), nullable=True),
        sa.Column("path", key(255), nullable=False),
        sa.Column("mp_count", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "kind IN ('region', 'substation', 'feeder', 'transformer_station', "
            "'settlement', 'street')",
            name=op.f("ck_search_term_kind"),
        ),
        sa.ForeignKeyConstraint(
            ["node_id"],
            ["node.id"],
            name=op.f("fk_search_term_node_id_node"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["utility_id"],
            ["utility.id"],
            name=op.f("fk_search_term_utility_id_utility"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_search_term")),
    )
    op.create_index("ix_search_term_term", "search_term", ["term"], unique=False)
    conn = op.get_bind()
    if conn.dialect.name == "postgresql":
        op.execute("GRANT SELECT ON search_term TO dispatch_viewer")
        op.execute("GRANT INSERT, UPDATE, DELETE ON search_term TO dispatch_admin")
        op.execute("GRANT USAGE, SELECT ON SEQUENCE search_term_id_seq TO dispatch_admin")
    for (utility_id,) in conn.execute(sa.text("SELECT id FROM utility ORDER BY id")):
        refresh(conn, utility_id)


def downgrade() -> None:
    op.drop_index("ix_search_term_term", table_name="search_term")
    op.drop_table("search_term")
