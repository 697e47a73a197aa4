"""public web: the dispatch_web group role, which may read only public columns

Revision ID: 0017
Revises: 0016

`dispatch-tui web` faces the internet, so on PostgreSQL it connects as a
login role in `dispatch_web`, which may SELECT only what the public listing
shows (storage.public_works): utilities, approved outages' windows, type and
reason, their selections, the network paths, metering points' id and
address (no EIC, no meter number: those are proofs of ownership), notices'
previous windows, the change counter and the schema version. No subscriber,
contact, account, message, operator name or audit row. SQLite: nothing to do.
"""

from __future__ import annotations

from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

ROLE = "dispatch_web"
COLUMNS = {
    "utility": "id, code, name, country, timezone, language, contact_phone",
    "outage": (
        "id, utility_id, starts_at, ends_at, urgent, status, reason, revision, updated_at, "
        "approved_at, told_starts_at, told_ends_at"
    ),
    "outage_selection": "id, outage_id, node_id, mp_id, exclude",
    "node": "id, utility_id, path",
    "metering_point": "id, utility_id, path, mp_id, settlement, street, house",
    "notice": "id, outage_id, kind, outage_revision, previous_starts_at, previous_ends_at",
    "change_counter": "topic, version",
    "alembic_version": "version_num",
}

CREATE_ROLE = f"""
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{ROLE}') THEN
        CREATE ROLE {ROLE} NOLOGIN;
    END IF;
EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
END
$$"""


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(CREATE_ROLE)
    for table, columns in COLUMNS.items():
        op.execute(f"GRANT SELECT ({columns}) ON {table} TO {ROLE}")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in COLUMNS:
        op.execute(f"REVOKE ALL ON {table} FROM {ROLE}")
