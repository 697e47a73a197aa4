"""keyed audit chain: a switch row after the unkeyed rows; on PostgreSQL the
database refuses UPDATE, DELETE and TRUNCATE on audit_log

Revision ID: 0011
Revises: 0010

From this version on every audit row's hash is an HMAC under a key kept
outside the database (`storage.audit`). Rows written before stay as they are:
when the log already has rows, this migration appends one row (action
`chain_keyed`, chained with the old unkeyed formula) after which every row is
keyed, so `audit verify` knows which formula each row uses. An empty log
gets no switch row: all of it is keyed.

On PostgreSQL a statement trigger refuses every UPDATE, DELETE and TRUNCATE
of audit_log, whoever runs it (psql included); only the table's owner
(ALTER TABLE ... DISABLE TRIGGER) or a superuser (session_replication_role)
can get round it, and the keyed chain with its anchors shows what they did.
SQLite is one trust domain (whoever can write the file can drop a trigger),
so there the chain and its anchors are the protection.

The downgrade drops the trigger and keeps the switch row: an audit log only
grows, and upgrading again finds it and adds no second one.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

from dispatch_tui.os_user import current_login

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

SWITCH_ACTION = "chain_keyed"
SWITCH_ENTITY = "audit_log"
GENESIS = "0" * 64

_audit = sa.table(
    "audit_log",
    sa.column("id", sa.Integer),
    sa.column("at", sa.DateTime(timezone=True)),
    sa.column("actor", sa.String),
    sa.column("action", sa.String),
    sa.column("entity", sa.String),
    sa.column("entity_id", sa.String),
    sa.column("detail", sa.JSON),
    sa.column("prev_hash", sa.String),
    sa.column("hash", sa.String),
)

REFUSE_FUNCTION = """
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege',
              HINT = 'audit rows are never changed or removed';
END
$$
"""
REFUSE_TRIGGER = """
CREATE TRIGGER audit_log_append_only
    BEFORE UPDATE OR DELETE OR TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()
"""


def _plain_digest(prev_hash: str, at: datetime, fields: list[str], detail: dict[str, Any]) -> str:
    """The unkeyed formula the rows before the switch use (as `audit.plain_digest`)."""
    payload = json.dumps(
        [prev_hash, at.astimezone(UTC).isoformat(timespec="microseconds"), *fields, detail],
        ensure_ascii=False,
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(payload.encode()).hexdigest()


def _append_switch_row(bind: sa.Connection) -> None:
    switched = bind.execute(
        sa.select(sa.func.count())
        .select_from(_audit)
        .where(_audit.c.action == SWITCH_ACTION, _audit.c.entity == SWITCH_ENTITY)
    ).scalar_one()
    if switched:
        return
    count, last = bind.execute(
        sa.select(sa.func.count(), sa.func.max(_audit.c.id)).select_from(_audit)
    ).one()
    if not count:
        return
    prev = bind.execute(sa.select(_audit.c.hash).where(_audit.c.id == last)).scalar_one()
    at = datetime.now(UTC)
    actor = current_login()
    detail = {
        "algorithm": "hmac-sha256",
        "unkeyed_rows": int(count),
        "note": "rows up to this one use plain SHA-256; every later row is keyed",
    }
    fields = [actor, SWITCH_ACTION, SWITCH_ENTITY, str(last)]
    bind.execute(
        sa.insert(_audit).values(
            at=at if bind.dialect.name == "postgresql" else at.replace(tzinfo=None),
            actor=actor,
            action=SWITCH_ACTION,
            entity=SWITCH_ENTITY,
            entity_id=str(last),
            detail=detail,
            prev_hash=prev,
            hash=_plain_digest(prev, at, fields, detail),
        )
    )


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        bind.execute(sa.text("SELECT pg_advisory_xact_lock(7331)"))
    _append_switch_row(bind)
    if bind.dialect.name == "postgresql":
        op.execute(REFUSE_FUNCTION)
        op.execute(REFUSE_TRIGGER)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_log_append_only ON audit_log")
        op.execute("DROP FUNCTION IF EXISTS audit_log_append_only()")
