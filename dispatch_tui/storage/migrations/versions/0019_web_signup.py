"""web sign-up by confirmation code, unsubscribe tokens, the public web's database role

Revision ID: 0019
Revises: 0018

- signup: one address a web sign-up wants notices at, waiting for its code;
  signup_attempt: every start, code sent and code entered (rate limits);
  contact_token: the secret of a contact's unsubscribe links;
  message.unsubscribe_url: an e-mail notice's one-click link (RFC 8058);
  inbound_message.sender widens to an e-mail address (a web sign-up's code
  request is stored there, so code messages go out as its replies).
- PostgreSQL: the group role dispatch_web for the public web application's
  login role. It is not a viewer: it reads the public tables (utilities,
  network, metering points, outages) and of the personal ones only the
  columns sign-up and unsubscribe need (no name, no contact address, no
  message text or address, no inbound sender); of sign-ups all, as the
  addresses there are what people typed into the web itself. It may insert sign-ups, their attempts
  and stored requests, proof failures, audit rows and messages, and a
  trigger lets its messages be only codes: to the address of a sign-up
  whose code was issued in the same transaction, answering its request.
  It may not activate a sign-up (creating contacts is the engine's: the
  engine activates confirmed sign-ups within seconds); it may opt a contact
  out (unsubscribe) like any operator.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from dispatch_tui.storage.models import UTCDateTime

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

WEB_ROLE = "dispatch_web"

WEB_GRANTS = [
    "SELECT ON utility, node, metering_point, subscription, outage, outage_selection, notice, "
    "search_term, change_counter, alembic_version",
    "SELECT (id, utility_id, account, language, self_service_locked_at, "
    "self_service_unlocked_at) ON subscriber",
    "UPDATE (self_service_locked_at) ON subscriber",
    "SELECT (id, at, channel, chat, account), INSERT ON proof_failure",
    "SELECT, INSERT ON signup",
    "UPDATE (status, code_hash, code_issued_at, wrong_tries, confirmed_at) ON signup",
    "SELECT, INSERT ON signup_attempt",
    "SELECT (id), INSERT ON inbound_message",
    "SELECT (id, contact_id, status), INSERT ON message",
    "UPDATE (status) ON message",
    "SELECT ON contact_token",
    "SELECT (id, consent), UPDATE (consent, consent_at, consent_source) ON contact",
    "SELECT (id), INSERT ON audit_log",
    "USAGE, SELECT ON SEQUENCE signup_id_seq, signup_attempt_id_seq, inbound_message_id_seq, "
    "message_id_seq, proof_failure_id_seq, audit_log_id_seq",
]
REVOKED = (
    "utility",
    "node",
    "metering_point",
    "subscription",
    "outage",
    "outage_selection",
    "notice",
    "search_term",
    "change_counter",
    "alembic_version",
    "subscriber",
    "proof_failure",
    "inbound_message",
    "message",
    "contact",
    "audit_log",
)
"""What dispatch_web holds grants on that outlives the downgrade."""
OTHER_GRANTS = [
    "GRANT SELECT ON signup, signup_attempt TO dispatch_viewer",
    "GRANT SELECT, UPDATE ON signup TO dispatch_engine",
    "GRANT SELECT, INSERT ON contact_token TO dispatch_engine",
]

FUNCTIONS = [
    # SECURITY DEFINER: it compares with the sign-up's request, which the web may not read.
    """
CREATE FUNCTION dispatch_message_insert_guard() RETURNS trigger LANGUAGE plpgsql
SECURITY DEFINER SET search_path = pg_catalog, public AS $$
BEGIN
    IF dispatch_trusted(TG_RELID) OR dispatch_is_engine() THEN
        RETURN NEW;
    END IF;
    IF NEW.notice_id IS NOT NULL OR NEW.contact_id IS NOT NULL OR NEW.status <> 'pending'
       OR NEW.attempts <> 0 OR NEW.lease_owner IS NOT NULL OR NEW.unsubscribe_url IS NOT NULL
       OR NOT EXISTS (
            SELECT FROM signup s
            WHERE s.inbound_id = NEW.inbound_id AND s.channel = NEW.channel
              AND s.address = NEW.address AND s.status = 'pending'
              AND s.xmin::text::bigint = pg_current_xact_id()::text::bigint % 4294967296
       ) THEN
        PERFORM dispatch_refuse('only the engine writes messages; the web sends only '
                                'the code of a sign-up it just made');
    END IF;
    RETURN NEW;
END
$$""",
    """
CREATE FUNCTION dispatch_signup_guard() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    mutable text[] := ARRAY['status', 'code_hash', 'code_issued_at', 'wrong_tries',
                            'confirmed_at'];
BEGIN
    IF dispatch_trusted(TG_RELID) OR dispatch_is_engine() THEN
        RETURN NEW;
    END IF;
    IF TG_OP = 'INSERT' THEN
        IF NEW.status <> 'pending' OR NEW.wrong_tries <> 0 OR NEW.confirmed_at IS NOT NULL
           OR NEW.activated_at IS NOT NULL OR NEW.contact_id IS NOT NULL THEN
            PERFORM dispatch_refuse('a new sign-up waits for its code');
        END IF;
        RETURN NEW;
    END IF;
    IF (to_jsonb(NEW) - mutable) IS DISTINCT FROM (to_jsonb(OLD) - mutable)
       OR OLD.status = 'active' OR NEW.status NOT IN ('pending', 'confirmed')
       OR (NEW.wrong_tries < OLD.wrong_tries AND NEW.code_hash = OLD.code_hash) THEN
        PERFORM dispatch_refuse('the web only checks a sign-up''s code; the engine activates it');
    END IF;
    RETURN NEW;
END
$$""",
]
TRIGGERS = [
    ("dispatch_insert_guard", "message", "BEFORE INSERT", "dispatch_message_insert_guard()"),
    ("dispatch_guard", "signup", "BEFORE INSERT OR UPDATE", "dispatch_signup_guard()"),
]


def _create_role(name: str) -> str:
    return f"""
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{name}') THEN
        CREATE ROLE {name} NOLOGIN;
    END IF;
EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
END
$$"""


def upgrade() -> None:
    op.create_table(
        "signup",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("utility_id", sa.Integer(), nullable=False),
        sa.Column("subscriber_id", sa.Integer(), nullable=False),
        sa.Column("mp_id", sa.Integer(), nullable=True),
        sa.Column("identifier", sa.String(length=32), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("address", sa.String(length=320), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("code_issued_at", UTCDateTime(), nullable=False),
        sa.Column("wrong_tries", sa.Integer(), nullable=False),
        sa.Column("inbound_id", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("confirmed_at", UTCDateTime(), nullable=True),
        sa.Column("activated_at", UTCDateTime(), nullable=True),
        sa.Column("contact_id", sa.Integer(), nullable=True),
        sa.CheckConstraint("channel IN ('sms', 'email')", name=op.f("ck_signup_channel")),
        sa.CheckConstraint(
            "status IN ('pending', 'confirmed', 'active')", name=op.f("ck_signup_status")
        ),
        sa.ForeignKeyConstraint(
            ["utility_id"],
            ["utility.id"],
            name=op.f("fk_signup_utility_id_utility"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["subscriber_id"],
            ["subscriber.id"],
            name=op.f("fk_signup_subscriber_id_subscriber"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["mp_id"],
            ["metering_point.id"],
            name=op.f("fk_signup_mp_id_metering_point"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["inbound_id"],
            ["inbound_message.id"],
            name=op.f("fk_signup_inbound_id_inbound_message"),
        ),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contact.id"],
            name=op.f("fk_signup_contact_id_contact"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_signup")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_signup_token_hash")),
    )
    op.create_index("ix_signup_status", "signup", ["status", "confirmed_at"])
    op.create_table(
        "signup_attempt",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("ip_key", sa.String(length=64), nullable=False),
        sa.Column("address_key", sa.String(length=64), nullable=True),
        sa.Column("account", sa.String(length=32), nullable=True),
        sa.CheckConstraint(
            "kind IN ('start', 'code', 'confirm')", name=op.f("ck_signup_attempt_kind")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_signup_attempt")),
    )
    op.create_index("ix_signup_attempt_ip", "signup_attempt", ["ip_key", "kind", "at"])
    op.create_index("ix_signup_attempt_address", "signup_attempt", ["address_key", "kind", "at"])
    op.create_index("ix_signup_attempt_account", "signup_attempt", ["account", "kind", "at"])
    op.create_table(
        "contact_token",
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("token", sa.String(length=64), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contact.id"],
            name=op.f("fk_contact_token_contact_id_contact"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("contact_id", name=op.f("pk_contact_token")),
        sa.UniqueConstraint("token", name=op.f("uq_contact_token_token")),
    )
    op.add_column("message", sa.Column("unsubscribe_url", sa.String(length=500), nullable=True))
    if op.get_bind().dialect.name != "postgresql":
        # SQLite does not enforce a VARCHAR's length, and rebuilding the table to
        # change it would drop a table the messages of its replies point at.
        return
    op.alter_column("inbound_message", "sender", existing_type=sa.String(64), type_=sa.String(320))
    op.execute(_create_role(WEB_ROLE))
    for grant in WEB_GRANTS:
        op.execute(f"GRANT {grant} TO {WEB_ROLE}")
    for grant in OTHER_GRANTS:
        op.execute(grant)
    for function in FUNCTIONS:
        op.execute(function)
    for name, table, when, call in TRIGGERS:
        op.execute(f"CREATE TRIGGER {name} {when} ON {table} FOR EACH ROW EXECUTE FUNCTION {call}")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for name, table, _when, _call in TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name} ON {table}")
        op.execute("DROP FUNCTION IF EXISTS dispatch_signup_guard()")
        op.execute("DROP FUNCTION IF EXISTS dispatch_message_insert_guard()")
        for table in REVOKED:
            op.execute(f"REVOKE ALL ON {table} FROM {WEB_ROLE}")
        op.execute(f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM {WEB_ROLE}")
        op.alter_column(
            "inbound_message", "sender", existing_type=sa.String(320), type_=sa.String(64)
        )
    op.drop_column("message", "unsubscribe_url")
    op.drop_table("contact_token")
    op.drop_index("ix_signup_attempt_account", table_name="signup_attempt")
    op.drop_index("ix_signup_attempt_address", table_name="signup_attempt")
    op.drop_index("ix_signup_attempt_ip", table_name="signup_attempt")
    op.drop_table("signup_attempt")
    op.drop_index("ix_signup_status", table_name="signup")
    op.drop_table("signup")
