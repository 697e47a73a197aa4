"""terminals follow each other: a change signal per topic, raised by triggers

Revision ID: 0014
Revises: 0013

Every write of an outage or an audit row raises its topic's signal in the
writing transaction, so no write path can forget it and nobody sees the
signal before the data:

- SQLite: row triggers bump `change_counter.version` of the topic; the app
  reads the few counters every second (`storage.changes.versions`).
  Writers are serialized on SQLite anyway, so the shared row costs nothing.
- PostgreSQL: statement triggers `pg_notify('dispatch_changes', topic)`,
  delivered to listeners when the transaction commits (one per topic and
  transaction). pg_notify needs no grant, so every operator role's writes
  raise it and a viewer only listens; a counter row updated by every writer
  would instead queue them behind each other until commit. The table is
  there too (one schema for both backends), readable like every table.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

# table → topic; `storage.changes.TOPICS` names the same topics.
WATCHED = {"outage": "outages", "audit_log": "audit"}
EVENTS = ("INSERT", "UPDATE", "DELETE")

NOTIFY_FUNCTION = """
CREATE FUNCTION dispatch_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('dispatch_changes', TG_ARGV[0]);
    RETURN NULL;
END
$$"""


def upgrade() -> None:
    table = op.create_table(
        "change_counter",
        sa.Column("topic", sa.String(length=32), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("topic", name=op.f("pk_change_counter")),
    )
    op.bulk_insert(table, [{"topic": topic, "version": 0} for topic in WATCHED.values()])
    if op.get_bind().dialect.name == "postgresql":
        op.execute("GRANT SELECT ON change_counter TO dispatch_viewer")
        op.execute(NOTIFY_FUNCTION)
        for watched, topic in WATCHED.items():
            op.execute(
                f"CREATE TRIGGER dispatch_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE "
                f"ON {watched} FOR EACH STATEMENT EXECUTE FUNCTION dispatch_changed('{topic}')"
            )
        return
    for watched, topic in WATCHED.items():
        for event in EVENTS:
            op.execute(
                f"CREATE TRIGGER change_{watched}_{event.lower()} AFTER {event} ON {watched} "
                f"BEGIN UPDATE change_counter SET version = version + 1 "
                f"WHERE topic = '{topic}'; END"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for watched in WATCHED:
            op.execute(f"DROP TRIGGER IF EXISTS dispatch_changed ON {watched}")
        op.execute("DROP FUNCTION IF EXISTS dispatch_changed()")
    else:
        for watched in WATCHED:
            for event in EVENTS:
                op.execute(f"DROP TRIGGER IF EXISTS change_{watched}_{event.lower()}")
    op.drop_table("change_counter")
