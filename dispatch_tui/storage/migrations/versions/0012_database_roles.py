"""PostgreSQL enforces who may do what: one group role per app role, the engine's
service-account role, grants, and triggers that take actors from session_user

Revision ID: 0012
Revises: 0011

PostgreSQL is the multi-operator mode: every operator connects as their own
LOGIN role (peer authentication), a member of exactly one group role
(`users add|set-role|remove` manage it, `storage.db_roles`). This migration
creates the group roles (cluster-wide, so idempotently: many databases of
one cluster share them) and what they may do in this database:

- dispatch_viewer: SELECT on every table;
- dispatch_dispatcher (member of dispatch_viewer): outages, their selections
  and editors, notices made by approving or cancelling, cancelling waiting
  messages and retrying failed ones, pausing channels, a subscriber's
  opt-out and self-service lock, appending audit rows;
- dispatch_shift_lead (member of dispatch_dispatcher): the same writes; the
  approval trigger below lets them approve;
- dispatch_admin (member of dispatch_shift_lead): the imported tables, users
  and role history;
- dispatch_engine: the engine's service account; the only role that writes
  messages, delivery events, inbound rows, engine processes and notice
  leases.

Triggers, for every session that is neither a superuser nor a member of the
table's owner (those can get round any trigger anyway, and migrations run as
them):

- actors come from the database: outage.created_by (insert),
  outage.approved_by (when approving), outage_editor.username,
  role_change.changed_by and channel_control.changed_by are set to
  session_user; an audit row whose actor is not session_user is refused (its
  keyed hash covers the actor, so it cannot be rewritten);
- only drafts are deleted, and only a draft's area (outage_selection)
  changes, by its author or a shift lead, who then counts as an editor;
  editing someone else's draft needs a shift lead;
- approving needs membership of dispatch_shift_lead (admins are members),
  a submitted outage, and neither its author nor an editor of its current
  cycle; approved_by changes only by approving; a change of an outage's
  content records the session user as an editor of the cycle, and an
  approved outage's content changes only through amending (back to
  submitted);
- outside the engine's role: a notice is created only in the transaction
  that approved (or, a cancellation notice, cancelled) its outage, and only
  cancelled afterwards; a message only cancelled, retried (failed to
  pending) or given an earlier deadline; a delivery event only as the
  "will not be resent" evidence of the session user's cancel; a contact's
  consent only set to opted_out.

Tables added by later migrations get their grants there. SQLite is one
trust domain: nothing here applies to it, so this migration is a no-op there.
The downgrade drops the triggers, functions and grants and keeps the roles
(other databases of the cluster may use them).
"""

from __future__ import annotations

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

GROUPS = ("dispatch_viewer", "dispatch_dispatcher", "dispatch_shift_lead", "dispatch_admin")
ENGINE_ROLE = "dispatch_engine"
MEMBERSHIP = (
    ("dispatch_viewer", "dispatch_dispatcher"),
    ("dispatch_dispatcher", "dispatch_shift_lead"),
    ("dispatch_shift_lead", "dispatch_admin"),
    ("dispatch_viewer", ENGINE_ROLE),
)

ALL_TABLES = [
    "utility",
    "node",
    "metering_point",
    "subscriber",
    "contact",
    "contact_scope",
    "proof_failure",
    "subscription",
    "outage_editor",
    "role_change",
    "app_user",
    "outage",
    "outage_selection",
    "notice",
    "message",
    "delivery_event",
    "inbound_message",
    "bot_chat",
    "engine_process",
    "channel_control",
    "audit_log",
    "alembic_version",
]

OPERATOR_GRANTS = [
    "INSERT, UPDATE, DELETE ON outage, outage_selection",
    "INSERT ON outage_editor, notice, audit_log, delivery_event",
    "UPDATE (status) ON notice",
    "UPDATE (status, lease_owner, lease_until, next_attempt_at, expires_at) ON message",
    "INSERT, UPDATE ON channel_control",
    "UPDATE (consent, consent_at, consent_source) ON contact",
    "UPDATE (self_service_locked_at, self_service_unlocked_at) ON subscriber",
]
ADMIN_GRANTS = [
    "INSERT, UPDATE, DELETE ON utility, node, metering_point, subscriber, contact, "
    "contact_scope, subscription, app_user",
    "INSERT ON role_change",
]
ENGINE_GRANTS = [
    "INSERT, UPDATE, DELETE ON message, delivery_event, engine_process, inbound_message, "
    "bot_chat, contact, contact_scope, proof_failure",
    "UPDATE ON notice, subscriber",
    "UPDATE (status, updated_at) ON outage",
    "INSERT ON audit_log",
]


def _create_role(name: str) -> str:
    # Two databases of one cluster migrating at once may both try: the loser's
    # duplicate is not an error.
    return f"""
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{name}') THEN
        CREATE ROLE {name} NOLOGIN;
    END IF;
EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
END
$$"""


def _grant_membership(group: str, member: str) -> str:
    return f"""
DO $$
BEGIN
    IF NOT pg_has_role('{member}', '{group}', 'MEMBER') THEN
        GRANT {group} TO {member};
    END IF;
EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
END
$$"""


FUNCTIONS = [
    # Superusers and the tables' owner (who ran the migrations) are trusted: the
    # database cannot hold them anyway.
    """
CREATE FUNCTION dispatch_trusted(rel oid) RETURNS boolean LANGUAGE sql STABLE AS $$
    SELECT pg_has_role(session_user, c.relowner, 'MEMBER') FROM pg_class c WHERE c.oid = rel
$$""",
    """
CREATE FUNCTION dispatch_is_engine() RETURNS boolean LANGUAGE sql STABLE AS $$
    SELECT pg_has_role(session_user, 'dispatch_engine', 'MEMBER')
$$""",
    """
CREATE FUNCTION dispatch_refuse(message text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '%', message USING ERRCODE = 'insufficient_privilege';
END
$$""",
    # TG_ARGV[0] names the actor column; it becomes session_user.
    """
CREATE FUNCTION dispatch_actor_is_session_user() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NOT dispatch_trusted(TG_RELID) THEN
        NEW := jsonb_populate_record(NEW, jsonb_build_object(TG_ARGV[0], session_user::text));
    END IF;
    RETURN NEW;
END
$$""",
    # The editor is the session user; recorded once per cycle (the outage and area
    # triggers may have recorded them already in this transaction).
    """
CREATE FUNCTION dispatch_editor_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF dispatch_trusted(TG_RELID) THEN
        RETURN NEW;
    END IF;
    NEW.username := session_user;
    IF EXISTS (SELECT FROM outage_editor e WHERE e.outage_id = NEW.outage_id
               AND e.cycle = NEW.cycle AND e.username = NEW.username) THEN
        RETURN NULL;
    END IF;
    RETURN NEW;
END
$$""",
    """
CREATE FUNCTION dispatch_audit_actor() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NOT dispatch_trusted(TG_RELID) AND NEW.actor IS DISTINCT FROM session_user::text THEN
        PERFORM dispatch_refuse(format(
            'audit_log.actor must be the session user %s, not %s', session_user, NEW.actor));
    END IF;
    RETURN NEW;
END
$$""",
    """
CREATE FUNCTION dispatch_outage_guard() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    content text[] := ARRAY['utility_id', 'title', 'reason', 'starts_at', 'ends_at',
                            'urgent', 'channels', 'plan', 'texts'];
    changed boolean;
BEGIN
    IF dispatch_trusted(TG_RELID) THEN
        RETURN NEW;
    END IF;
    IF TG_OP = 'DELETE' THEN
        IF OLD.status <> 'draft' THEN
            PERFORM dispatch_refuse(format(
                'only drafts can be deleted; cancel a %s outage', OLD.status));
        END IF;
        RETURN OLD;
    END IF;
    IF TG_OP = 'INSERT' THEN
        NEW.created_by := session_user;
        IF NEW.status <> 'draft' OR NEW.approved_by IS NOT NULL THEN
            PERFORM dispatch_refuse('a new outage is an unapproved draft');
        END IF;
        RETURN NEW;
    END IF;
    IF NEW.created_by IS DISTINCT FROM OLD.created_by THEN
        PERFORM dispatch_refuse('an outage''s author cannot be changed');
    END IF;
    changed := EXISTS (SELECT FROM unnest(content) AS k
                       WHERE to_jsonb(NEW) -> k IS DISTINCT FROM to_jsonb(OLD) -> k);
    IF changed THEN
        IF OLD.status = 'draft' AND session_user::text <> OLD.created_by
           AND NOT pg_has_role(session_user, 'dispatch_shift_lead', 'MEMBER') THEN
            PERFORM dispatch_refuse('editing someone else''s draft is a shift lead''s act');
        END IF;
        IF OLD.status = 'approved' AND NEW.status = 'approved' THEN
            PERFORM dispatch_refuse('an approved outage changes only by amending it');
        END IF;
        INSERT INTO outage_editor (outage_id, cycle, username, edited_at)
        VALUES (NEW.id, NEW.edit_cycle, session_user, now())
        ON CONFLICT DO NOTHING;
    END IF;
    IF NEW.status = 'approved' AND OLD.status IS DISTINCT FROM 'approved' THEN
        IF OLD.status <> 'submitted' THEN
            PERFORM dispatch_refuse(format('only a submitted outage can be approved, not a %s one',
                                           OLD.status));
        END IF;
        IF NOT pg_has_role(session_user, 'dispatch_shift_lead', 'MEMBER') THEN
            PERFORM dispatch_refuse(format(
                '%s may not approve outages: only a shift lead or an admin', session_user));
        END IF;
        IF session_user::text = OLD.created_by THEN
            PERFORM dispatch_refuse('four-eyes: nobody approves their own outage');
        END IF;
        IF changed OR EXISTS (
            SELECT FROM outage_editor e
            WHERE e.outage_id = OLD.id AND e.cycle = NEW.edit_cycle
              AND e.username = session_user::text
        ) THEN
            PERFORM dispatch_refuse('four-eyes: nobody approves an outage they edited');
        END IF;
        NEW.approved_by := session_user;
    ELSIF NEW.approved_by IS NOT NULL AND NEW.approved_by IS DISTINCT FROM OLD.approved_by THEN
        PERFORM dispatch_refuse('approved_by is set only by approving');
    END IF;
    RETURN NEW;
END
$$""",
    """
CREATE FUNCTION dispatch_selection_guard() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    o record;
BEGIN
    IF dispatch_trusted(TG_RELID) THEN
        RETURN COALESCE(NEW, OLD);
    END IF;
    SELECT id, status, created_by, edit_cycle INTO o
    FROM outage WHERE id = COALESCE(NEW.outage_id, OLD.outage_id);
    IF TG_OP = 'DELETE' AND o.id IS NULL THEN
        RETURN OLD;  -- its outage's deletion cascades (and was checked)
    END IF;
    IF o.status IS DISTINCT FROM 'draft' THEN
        PERFORM dispatch_refuse('only a draft''s area changes; amend or cancel the outage');
    END IF;
    IF session_user::text <> o.created_by
       AND NOT pg_has_role(session_user, 'dispatch_shift_lead', 'MEMBER') THEN
        PERFORM dispatch_refuse('editing someone else''s draft is a shift lead''s act');
    END IF;
    INSERT INTO outage_editor (outage_id, cycle, username, edited_at)
    VALUES (o.id, o.edit_cycle, session_user, now())
    ON CONFLICT DO NOTHING;
    RETURN COALESCE(NEW, OLD);
END
$$""",
    """
CREATE FUNCTION dispatch_notice_guard() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    o record;
BEGIN
    IF dispatch_trusted(TG_RELID) OR dispatch_is_engine() THEN
        RETURN NEW;
    END IF;
    IF TG_OP = 'INSERT' THEN
        SELECT status, revision, xmin::text::bigint AS xid INTO o
        FROM outage WHERE id = NEW.outage_id;
        IF o.xid IS DISTINCT FROM pg_current_xact_id()::text::bigint % 4294967296
           OR NOT (o.status = 'approved'
                   OR (o.status = 'cancelled' AND NEW.kind = 'cancellation'))
           OR NEW.outage_revision IS DISTINCT FROM o.revision
           OR NEW.status <> 'scheduled' OR NEW.lease_owner IS NOT NULL THEN
            PERFORM dispatch_refuse(
                'notices are made only by approving or cancelling their outage');
        END IF;
        RETURN NEW;
    END IF;
    IF NEW.status <> 'cancelled' OR OLD.status NOT IN ('scheduled', 'due')
       OR (to_jsonb(NEW) - 'status') IS DISTINCT FROM (to_jsonb(OLD) - 'status') THEN
        PERFORM dispatch_refuse('only the engine changes a notice; an operator only cancels one');
    END IF;
    RETURN NEW;
END
$$""",
    """
CREATE FUNCTION dispatch_message_guard() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    levers text[] := ARRAY['status', 'lease_owner', 'lease_until', 'next_attempt_at',
                           'expires_at'];
BEGIN
    IF dispatch_trusted(TG_RELID) OR dispatch_is_engine() THEN
        RETURN NEW;
    END IF;
    IF (to_jsonb(NEW) - levers) IS DISTINCT FROM (to_jsonb(OLD) - levers)
       OR NEW.expires_at > OLD.expires_at
       OR (NEW.lease_owner IS NOT NULL AND NEW.lease_owner IS DISTINCT FROM OLD.lease_owner)
       OR (NEW.lease_until IS NOT NULL AND NEW.lease_until IS DISTINCT FROM OLD.lease_until)
       OR NOT (
            (NEW.status = OLD.status AND NEW.next_attempt_at = OLD.next_attempt_at)
            OR (NEW.status = 'cancelled' AND OLD.status IN ('pending', 'retry_wait'))
            OR (NEW.status = 'pending' AND OLD.status = 'failed')
       ) THEN
        PERFORM dispatch_refuse(
            'only the engine changes a message; an operator only cancels, retries or stops one');
    END IF;
    RETURN NEW;
END
$$""",
    """
CREATE FUNCTION dispatch_delivery_event_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF dispatch_trusted(TG_RELID) OR dispatch_is_engine() THEN
        RETURN NEW;
    END IF;
    IF NEW.status NOT IN ('unknown', 'sending')
       OR NEW.detail IS NULL
       OR left(NEW.detail, length('will not be resent: ' || session_user || ' '))
          <> 'will not be resent: ' || session_user || ' ' THEN
        PERFORM dispatch_refuse('delivery events are the engine''s evidence');
    END IF;
    RETURN NEW;
END
$$""",
    """
CREATE FUNCTION dispatch_contact_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF dispatch_trusted(TG_RELID) OR dispatch_is_engine()
       OR pg_has_role(session_user, 'dispatch_admin', 'MEMBER') THEN
        RETURN NEW;
    END IF;
    IF NEW.consent <> 'opted_out' THEN
        PERFORM dispatch_refuse('an operator only records an opt-out');
    END IF;
    RETURN NEW;
END
$$""",
]

TRIGGERS = [
    ("audit_log", "BEFORE INSERT", "dispatch_audit_actor()"),
    ("outage", "BEFORE INSERT OR UPDATE OR DELETE", "dispatch_outage_guard()"),
    ("outage_selection", "BEFORE INSERT OR UPDATE OR DELETE", "dispatch_selection_guard()"),
    ("outage_editor", "BEFORE INSERT", "dispatch_editor_guard()"),
    ("role_change", "BEFORE INSERT", "dispatch_actor_is_session_user('changed_by')"),
    ("channel_control", "BEFORE INSERT OR UPDATE", "dispatch_actor_is_session_user('changed_by')"),
    ("notice", "BEFORE INSERT OR UPDATE", "dispatch_notice_guard()"),
    ("message", "BEFORE UPDATE", "dispatch_message_guard()"),
    ("delivery_event", "BEFORE INSERT", "dispatch_delivery_event_guard()"),
    ("contact", "BEFORE UPDATE", "dispatch_contact_guard()"),
]
FUNCTION_NAMES = (
    "dispatch_contact_guard()",
    "dispatch_delivery_event_guard()",
    "dispatch_message_guard()",
    "dispatch_notice_guard()",
    "dispatch_selection_guard()",
    "dispatch_outage_guard()",
    "dispatch_audit_actor()",
    "dispatch_editor_guard()",
    "dispatch_actor_is_session_user()",
    "dispatch_refuse(text)",
    "dispatch_is_engine()",
    "dispatch_trusted(oid)",
)


def _grants() -> list[str]:
    every = ", ".join(ALL_TABLES)
    statements = [f"GRANT SELECT ON {every} TO dispatch_viewer"]
    seq = "GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO"
    statements += [f"{seq} dispatch_dispatcher", f"{seq} {ENGINE_ROLE}"]
    statements += [f"GRANT {g} TO dispatch_dispatcher" for g in OPERATOR_GRANTS]
    statements += [f"GRANT {g} TO dispatch_admin" for g in ADMIN_GRANTS]
    statements += [f"GRANT {g} TO {ENGINE_ROLE}" for g in ENGINE_GRANTS]
    return statements


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for role in (*GROUPS, ENGINE_ROLE):
        op.execute(_create_role(role))
    for group, member in MEMBERSHIP:
        op.execute(_grant_membership(group, member))
    for statement in _grants():
        op.execute(statement)
    for function in FUNCTIONS:
        op.execute(function)
    for table, when, call in TRIGGERS:
        op.execute(
            f"CREATE TRIGGER dispatch_guard {when} ON {table} FOR EACH ROW EXECUTE FUNCTION {call}"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, _when, _call in TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS dispatch_guard ON {table}")
    for name in FUNCTION_NAMES:
        op.execute(f"DROP FUNCTION IF EXISTS {name}")
    every = ", ".join(ALL_TABLES)
    for role in (*GROUPS, ENGINE_ROLE):
        op.execute(f"REVOKE ALL ON {every} FROM {role}")
        op.execute(f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM {role}")
