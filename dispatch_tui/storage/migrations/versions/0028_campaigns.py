"""campaigns: payment and meter-reading reminders, approved like outages

Revision ID: 0028
Revises: 0027

A campaign is a mass send that is not about an outage. It is drafted by a
dispatcher (or shift lead, or admin), approved by a shift lead or admin who
did not draft it, and fanned out by the engine under a lease into the same
outbox: `message.campaign_id`, one message per (campaign, contact), and a
message belongs to a notice, an inbound message or a campaign.

SQLite cannot alter a constraint, and rebuilding `message` would drop a table
that delivery events and inbound replies point at (their rows would go with
it), so the looser CHECK is written into the schema text in place
(`PRAGMA writable_schema`, safe for a CHECK every row already meets) and the
column is added with ALTER TABLE.

On PostgreSQL, for every session but the tables' owner:

- a new campaign is a draft by `session_user`, who must be a dispatcher,
  shift lead or admin (domain/roles.py: Action.DRAFT);
- only a submitted campaign is approved, by a member of dispatch_shift_lead
  who is not its author; approved_by/submitted_by/cancelled_by are the
  session user; a campaign's content changes only while a draft, by its
  author; nobody deletes one;
- the engine moves an approved campaign to sending and done and holds its
  lease, and changes nothing else;
- messages of a campaign are inserted only by the engine, for a campaign it
  is sending (a statement trigger: one check per INSERT, not per row).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0028"
down_revision = "0027"
branch_labels = None
depends_on = None

OLD_CHECK = "notice_id IS NOT NULL OR inbound_id IS NOT NULL"
NEW_CHECK = "notice_id IS NOT NULL OR inbound_id IS NOT NULL OR campaign_id IS NOT NULL"

CAMPAIGN_GUARD = """
CREATE FUNCTION dispatch_campaign_guard() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    decisions text[] := ARRAY['status', 'submitted_by', 'submitted_at', 'approved_by',
                              'approved_at', 'cancelled_by', 'cancelled_at'];
    building text[] := ARRAY['status', 'lease_owner', 'lease_until', 'built_at'];
BEGIN
    IF dispatch_trusted(TG_RELID) THEN
        RETURN COALESCE(NEW, OLD);
    END IF;
    IF TG_OP = 'DELETE' THEN
        PERFORM dispatch_refuse('a campaign is never deleted; cancel it');
    END IF;
    IF TG_OP = 'INSERT' THEN
        IF NOT pg_has_role(session_user, 'dispatch_dispatcher', 'MEMBER') THEN
            PERFORM dispatch_refuse(format(
                '%s may not draft campaigns: only a dispatcher, shift lead or admin',
                session_user));
        END IF;
        NEW.created_by := session_user;
        IF NEW.status <> 'draft' OR NEW.submitted_by IS NOT NULL OR NEW.approved_by IS NOT NULL
           OR NEW.cancelled_by IS NOT NULL OR NEW.lease_owner IS NOT NULL THEN
            PERFORM dispatch_refuse('a new campaign is an unapproved draft');
        END IF;
        RETURN NEW;
    END IF;
    IF dispatch_is_engine() THEN
        IF (to_jsonb(NEW) - building) IS DISTINCT FROM (to_jsonb(OLD) - building)
           OR NOT (NEW.status = OLD.status AND OLD.status IN ('approved', 'sending', 'done')
                   OR (OLD.status = 'approved' AND NEW.status = 'sending')
                   OR (OLD.status = 'sending' AND NEW.status = 'done')) THEN
            PERFORM dispatch_refuse('the engine only sends an approved campaign');
        END IF;
        RETURN NEW;
    END IF;
    IF NEW.created_by IS DISTINCT FROM OLD.created_by
       OR NEW.lease_owner IS DISTINCT FROM OLD.lease_owner
       OR NEW.lease_until IS DISTINCT FROM OLD.lease_until
       OR NEW.built_at IS DISTINCT FROM OLD.built_at THEN
        PERFORM dispatch_refuse(
            'a campaign keeps its author, and only the engine holds its fan-out');
    END IF;
    IF (to_jsonb(NEW) - decisions) IS DISTINCT FROM (to_jsonb(OLD) - decisions)
       AND NOT (OLD.status = 'draft' AND NEW.status = 'draft'
                AND session_user::text = OLD.created_by) THEN
        PERFORM dispatch_refuse(
            'a campaign''s content changes only while it is a draft, by its author');
    END IF;
    IF NEW.status = OLD.status THEN
        IF NEW.submitted_by IS DISTINCT FROM OLD.submitted_by
           OR NEW.approved_by IS DISTINCT FROM OLD.approved_by
           OR NEW.cancelled_by IS DISTINCT FROM OLD.cancelled_by THEN
            PERFORM dispatch_refuse('who submitted, approved or cancelled is set by doing it');
        END IF;
        RETURN NEW;
    END IF;
    IF OLD.status = 'draft' AND NEW.status = 'submitted' THEN
        IF session_user::text <> OLD.created_by THEN
            PERFORM dispatch_refuse('only its author submits a campaign');
        END IF;
        NEW.submitted_by := session_user;
        IF NEW.approved_by IS NOT NULL OR NEW.cancelled_by IS NOT NULL THEN
            PERFORM dispatch_refuse('submitting a campaign approves nothing');
        END IF;
    ELSIF OLD.status = 'submitted' AND NEW.status = 'approved' THEN
        IF NOT pg_has_role(session_user, 'dispatch_shift_lead', 'MEMBER') THEN
            PERFORM dispatch_refuse(format(
                '%s may not approve campaigns: only a shift lead or an admin', session_user));
        END IF;
        IF session_user::text = OLD.created_by THEN
            PERFORM dispatch_refuse('four-eyes: nobody approves their own campaign');
        END IF;
        IF NEW.submitted_by IS DISTINCT FROM OLD.submitted_by
           OR NEW.cancelled_by IS NOT NULL THEN
            PERFORM dispatch_refuse('approving a campaign changes nothing else');
        END IF;
        NEW.approved_by := session_user;
    ELSIF NEW.status = 'cancelled'
          AND OLD.status IN ('draft', 'submitted', 'approved', 'sending') THEN
        IF NEW.submitted_by IS DISTINCT FROM OLD.submitted_by
           OR NEW.approved_by IS DISTINCT FROM OLD.approved_by THEN
            PERFORM dispatch_refuse('cancelling a campaign changes nothing else');
        END IF;
        NEW.cancelled_by := session_user;
    ELSE
        PERFORM dispatch_refuse(format('a %s campaign cannot become %s', OLD.status, NEW.status));
    END IF;
    RETURN NEW;
END
$$"""

MESSAGE_GUARD = """
CREATE FUNCTION dispatch_campaign_message_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- Most inserts (a notice's fan-out, a reply, a sign-up code by the web's role, which
    -- may not read campaigns) carry no campaign: they look at nothing else.
    IF dispatch_trusted(TG_RELID)
       OR NOT EXISTS (SELECT FROM campaign_messages WHERE campaign_id IS NOT NULL) THEN
        RETURN NULL;
    END IF;
    IF NOT dispatch_is_engine() THEN
        PERFORM dispatch_refuse(
            'messages of a campaign are made only by the engine, for an approved campaign');
    END IF;
    IF EXISTS (
        SELECT FROM campaign_messages m LEFT JOIN campaign c ON c.id = m.campaign_id
        WHERE m.campaign_id IS NOT NULL
          AND (c.status IS DISTINCT FROM 'sending'
               OR c.approved_by IS NULL OR c.approved_by = c.created_by)
    ) THEN
        PERFORM dispatch_refuse(
            'messages of a campaign are made only by the engine, for an approved campaign');
    END IF;
    RETURN NULL;
END
$$"""

GRANTS = [
    "GRANT SELECT ON campaign TO dispatch_viewer",
    "GRANT INSERT, UPDATE ON campaign TO dispatch_dispatcher",
    "GRANT USAGE, SELECT ON SEQUENCE campaign_id_seq TO dispatch_dispatcher",
    "GRANT UPDATE (status, lease_owner, lease_until, built_at) ON campaign TO dispatch_engine",
]


def _sqlite_message_check(old: str, new: str) -> None:
    """Rewrite the CHECK of `message` in SQLite's schema text (the table keeps its rows)."""
    conn = op.get_bind()
    sql = conn.exec_driver_sql(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'message'"
    ).scalar_one()
    if old not in sql:
        raise RuntimeError(f"message's CHECK is not {old!r}: the schema was changed by hand")
    version = conn.exec_driver_sql("PRAGMA schema_version").scalar_one()
    conn.exec_driver_sql("PRAGMA writable_schema = ON")
    conn.exec_driver_sql(
        "UPDATE sqlite_master SET sql = ? WHERE type = 'table' AND name = 'message'",
        (sql.replace(f"CHECK ({old})", f"CHECK ({new})"),),
    )
    conn.exec_driver_sql(f"PRAGMA schema_version = {int(version) + 1}")
    conn.exec_driver_sql("PRAGMA writable_schema = OFF")


def upgrade() -> None:
    op.create_table(
        "campaign",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("utility_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("min_days_overdue", sa.Integer(), nullable=True),
        sa.Column("snapshot_id", sa.Integer(), nullable=True),
        sa.Column("channels", sa.JSON(), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("submitted_by", sa.String(length=64), nullable=True),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("approved_by", sa.String(length=64), nullable=True),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cancelled_by", sa.String(length=64), nullable=True),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("lease_owner", sa.String(length=128), nullable=True),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("built_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "kind IN ('payment_reminder', 'reading_reminder')", name=op.f("ck_campaign_kind")
        ),
        sa.CheckConstraint(
            "status IN ('draft', 'submitted', 'approved', 'sending', 'done', 'cancelled')",
            name=op.f("ck_campaign_status"),
        ),
        sa.CheckConstraint(
            "approved_by IS NULL OR approved_by <> created_by", name=op.f("ck_campaign_four_eyes")
        ),
        sa.CheckConstraint(
            "status NOT IN ('approved', 'sending', 'done') OR approved_by IS NOT NULL",
            name=op.f("ck_campaign_approved_has_approver"),
        ),
        sa.CheckConstraint(
            "kind <> 'payment_reminder' OR (snapshot_id IS NOT NULL AND min_days_overdue >= 1)",
            name=op.f("ck_campaign_payment_reminder_audience"),
        ),
        sa.ForeignKeyConstraint(
            ["utility_id"], ["utility.id"], name=op.f("fk_campaign_utility_id_utility")
        ),
        sa.ForeignKeyConstraint(
            ["snapshot_id"],
            ["balance_snapshot.id"],
            name=op.f("fk_campaign_snapshot_id_balance_snapshot"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaign")),
    )
    op.create_index("ix_campaign_status_due", "campaign", ["status", "due_at"])
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE message ADD COLUMN campaign_id INTEGER REFERENCES campaign (id)")
        _sqlite_message_check(OLD_CHECK, NEW_CHECK)
    else:
        op.add_column("message", sa.Column("campaign_id", sa.Integer(), nullable=True))
        op.create_foreign_key(
            op.f("fk_message_campaign_id_campaign"), "message", "campaign", ["campaign_id"], ["id"]
        )
        op.drop_constraint(op.f("ck_message_notice_or_inbound"), "message", type_="check")
        op.create_check_constraint(op.f("ck_message_notice_or_inbound"), "message", NEW_CHECK)
    op.create_index(
        "ix_message_campaign_contact", "message", ["campaign_id", "contact_id"], unique=True
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(CAMPAIGN_GUARD)
        op.execute(
            "CREATE TRIGGER dispatch_guard BEFORE INSERT OR UPDATE OR DELETE ON campaign "
            "FOR EACH ROW EXECUTE FUNCTION dispatch_campaign_guard()"
        )
        op.execute(MESSAGE_GUARD)
        op.execute(
            "CREATE TRIGGER dispatch_campaign_messages AFTER INSERT ON message "
            "REFERENCING NEW TABLE AS campaign_messages "
            "FOR EACH STATEMENT EXECUTE FUNCTION dispatch_campaign_message_guard()"
        )
        for statement in GRANTS:
            op.execute(statement)


def downgrade() -> None:
    # The messages of campaigns (and their delivery events) go with the campaigns.
    op.execute("DELETE FROM message WHERE campaign_id IS NOT NULL AND notice_id IS NULL")
    op.drop_index("ix_message_campaign_contact", table_name="message")
    if op.get_bind().dialect.name == "sqlite":
        _sqlite_message_check(NEW_CHECK, OLD_CHECK)
        # SQLite drops no column a foreign key names: drop the reference from the schema
        # text first (safe: it removes a constraint), then the column in place.
        conn = op.get_bind()
        sql = conn.exec_driver_sql(
            "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'message'"
        ).scalar_one()
        version = conn.exec_driver_sql("PRAGMA schema_version").scalar_one()
        conn.exec_driver_sql("PRAGMA writable_schema = ON")
        conn.exec_driver_sql(
            "UPDATE sqlite_master SET sql = ? WHERE type = 'table' AND name = 'message'",
            (sql.replace("campaign_id INTEGER REFERENCES campaign (id)", "campaign_id INTEGER"),),
        )
        conn.exec_driver_sql(f"PRAGMA schema_version = {int(version) + 1}")
        conn.exec_driver_sql("PRAGMA writable_schema = OFF")
        op.execute("ALTER TABLE message DROP COLUMN campaign_id")
    else:
        op.execute("DROP TRIGGER dispatch_campaign_messages ON message")
        op.execute("DROP FUNCTION dispatch_campaign_message_guard()")
        op.drop_constraint(op.f("ck_message_notice_or_inbound"), "message", type_="check")
        op.create_check_constraint(op.f("ck_message_notice_or_inbound"), "message", OLD_CHECK)
        op.drop_column("message", "campaign_id")
    op.drop_index("ix_campaign_status_due", table_name="campaign")
    op.drop_table("campaign")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION dispatch_campaign_guard()")
