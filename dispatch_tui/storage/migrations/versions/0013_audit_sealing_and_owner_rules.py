"""audit rows sealed by the key's holder; an outage's author keeps their outage

Revision ID: 0013
Revises: 0012

The audit key is readable only by the engine's service account on a shared
host, so an operator's process cannot compute a keyed hash. Its audit rows
are written without hashes, and the key's holder seals them in id order
(`storage.audit.seal`): audit_log.prev_hash and hash become nullable, and an
index on (entity, entity_id, action) lets the send path find an outage's
approval row.

On PostgreSQL:

- an audit row inserted by a session that may not seal (neither the engine's
  role nor the tables' owner) gets no hashes, whatever it sent, so nobody
  without the key can poison the chain with a made-up hash;
- the statement trigger of 0011 that refused every UPDATE now refuses DELETE
  and TRUNCATE; an UPDATE statement is refused to anyone who may not seal, and
  a row trigger lets a sealer give an unsealed row its two hashes, once, and
  refuses every other change;
- an outage's status follows the lifecycle (draft → submitted → approved,
  back to draft only from submitted, an approved outage back to submitted only
  by amending, to completed only after its end; cancelled and completed are
  final), so nobody un-approves an outage that customers were told of;
- an outage's author keeps it: deleting someone else's draft or withdrawing
  someone else's submission needs a shift lead (deletions move from 0012's
  guard, which answered a trusted session's DELETE with NEW, which is NULL
  there, so the owner's deletions were silently skipped, to this one); a submitted or approved
  outage changes only its window (amending), and its revision only by one,
  when amended, so an old approval's audit row never fits a newer revision.

SQLite is one trust domain: there only the columns change.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

FUNCTIONS = [
    """
CREATE FUNCTION dispatch_may_seal() RETURNS boolean LANGUAGE sql STABLE AS $$
    SELECT dispatch_is_engine() OR dispatch_trusted('audit_log'::regclass)
$$""",
    """
CREATE FUNCTION dispatch_audit_unsealed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NOT dispatch_may_seal() THEN
        NEW.prev_hash := NULL;
        NEW.hash := NULL;
    END IF;
    RETURN NEW;
END
$$""",
    """
CREATE FUNCTION dispatch_audit_sealers_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NOT dispatch_may_seal() THEN
        RAISE EXCEPTION 'audit_log is append-only: UPDATE refused'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NULL;
END
$$""",
    """
CREATE FUNCTION dispatch_audit_seal_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.hash IS NOT NULL OR OLD.prev_hash IS NOT NULL
       OR NEW.hash IS NULL OR NEW.prev_hash IS NULL
       OR (to_jsonb(NEW) - 'hash' - 'prev_hash') IS DISTINCT FROM
          (to_jsonb(OLD) - 'hash' - 'prev_hash')
       OR NOT dispatch_may_seal() THEN
        RAISE EXCEPTION 'audit_log is append-only: UPDATE refused (only the key''s holder '
                        'seals an unsealed row)'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END
$$""",
    """
CREATE FUNCTION dispatch_outage_owner_guard() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    lead boolean := pg_has_role(session_user, 'dispatch_shift_lead', 'MEMBER');
    content text[] := ARRAY['utility_id', 'title', 'reason', 'urgent', 'channels', 'plan',
                            'texts'];
BEGIN
    IF TG_OP = 'DELETE' THEN
        IF dispatch_trusted(TG_RELID) THEN
            RETURN OLD;
        END IF;
        IF OLD.status <> 'draft' THEN
            PERFORM dispatch_refuse(format(
                'only drafts can be deleted; cancel a %s outage', OLD.status));
        END IF;
        IF session_user::text <> OLD.created_by AND NOT lead THEN
            PERFORM dispatch_refuse('deleting someone else''s draft is a shift lead''s act');
        END IF;
        RETURN OLD;
    END IF;
    IF dispatch_trusted(TG_RELID) THEN
        RETURN NEW;
    END IF;
    IF NEW.status IS DISTINCT FROM OLD.status AND NOT (
        (OLD.status = 'draft' AND NEW.status IN ('submitted', 'cancelled'))
        OR (OLD.status = 'submitted' AND NEW.status IN ('draft', 'approved', 'cancelled'))
        OR (OLD.status = 'approved' AND NEW.status = 'cancelled')
        OR (OLD.status = 'approved' AND NEW.status = 'submitted'
            AND NEW.revision = OLD.revision + 1)
        OR (OLD.status = 'approved' AND NEW.status = 'completed' AND OLD.ends_at <= now())
    ) THEN
        PERFORM dispatch_refuse(format(
            'an outage does not go from %s to %s: withdraw or reject a submission, amend or '
            'cancel an approved outage', OLD.status, NEW.status));
    END IF;
    IF OLD.status = 'submitted' AND NEW.status = 'draft'
       AND session_user::text <> OLD.created_by AND NOT lead THEN
        PERFORM dispatch_refuse('withdrawing someone else''s outage is a shift lead''s act');
    END IF;
    IF OLD.status <> 'draft' AND EXISTS (
        SELECT FROM unnest(content) AS k
        WHERE to_jsonb(NEW) -> k IS DISTINCT FROM to_jsonb(OLD) -> k
    ) THEN
        PERFORM dispatch_refuse(format(
            'a %s outage changes only its window, by amending it', OLD.status));
    END IF;
    IF NEW.revision IS DISTINCT FROM OLD.revision AND NOT (
        NEW.revision = OLD.revision + 1 AND NEW.status = 'submitted'
        AND OLD.status IN ('submitted', 'approved')
    ) THEN
        PERFORM dispatch_refuse('the revision changes only by amending, one at a time');
    END IF;
    RETURN NEW;
END
$$""",
]

TRIGGERS = [
    ("dispatch_seal_guard", "audit_log", "BEFORE INSERT", "dispatch_audit_unsealed()"),
    ("dispatch_sealers_only", "audit_log", "BEFORE UPDATE", "dispatch_audit_sealers_only()"),
    ("dispatch_seal_only", "audit_log", "BEFORE UPDATE", "dispatch_audit_seal_only()"),
    ("dispatch_owner_guard", "outage", "BEFORE UPDATE OR DELETE", "dispatch_outage_owner_guard()"),
]
FUNCTION_NAMES = (
    "dispatch_outage_owner_guard()",
    "dispatch_audit_seal_only()",
    "dispatch_audit_sealers_only()",
    "dispatch_audit_unsealed()",
    "dispatch_may_seal()",
)
APPEND_ONLY = """
CREATE TRIGGER audit_log_append_only
    BEFORE {events} ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()
"""

OUTAGE_GUARD = """
CREATE TRIGGER dispatch_guard BEFORE {events} ON outage
    FOR EACH ROW EXECUTE FUNCTION dispatch_outage_guard()
"""


def upgrade() -> None:
    with op.batch_alter_table("audit_log") as batch:
        batch.alter_column("prev_hash", existing_type=sa.String(64), nullable=True)
        batch.alter_column("hash", existing_type=sa.String(64), nullable=True)
    op.create_index("ix_audit_log_entity", "audit_log", ["entity", "entity_id", "action"])
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER audit_log_append_only ON audit_log")
    op.execute(APPEND_ONLY.format(events="DELETE OR TRUNCATE"))
    op.execute("DROP TRIGGER dispatch_guard ON outage")
    op.execute(OUTAGE_GUARD.format(events="INSERT OR UPDATE"))
    for function in FUNCTIONS:
        op.execute(function)
    for name, table, when, call in TRIGGERS:
        each = "STATEMENT" if name == "dispatch_sealers_only" else "ROW"
        op.execute(
            f"CREATE TRIGGER {name} {when} ON {table} FOR EACH {each} EXECUTE FUNCTION {call}"
        )
    op.execute("GRANT UPDATE (prev_hash, hash) ON audit_log TO dispatch_engine")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("REVOKE UPDATE (prev_hash, hash) ON audit_log FROM dispatch_engine")
        for name, table, _when, _call in TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name} ON {table}")
        for function in FUNCTION_NAMES:
            op.execute(f"DROP FUNCTION IF EXISTS {function}")
        op.execute("DROP TRIGGER audit_log_append_only ON audit_log")
        op.execute(APPEND_ONLY.format(events="UPDATE OR DELETE OR TRUNCATE"))
        op.execute("DROP TRIGGER dispatch_guard ON outage")
        op.execute(OUTAGE_GUARD.format(events="INSERT OR UPDATE OR DELETE"))
    op.drop_index("ix_audit_log_entity", table_name="audit_log")
    # Rows still unsealed cannot go back under NOT NULL: the downgrade needs them sealed
    # first (run the engine, or `dispatch-tui audit seal`, as the key's holder).
    with op.batch_alter_table("audit_log") as batch:
        batch.alter_column("prev_hash", existing_type=sa.String(64), nullable=False)
        batch.alter_column("hash", existing_type=sa.String(64), nullable=False)
