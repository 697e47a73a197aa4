"""meter readings: every intake kept, one accepted per metering point and period

Revision ID: 0027
Revises: 0026

Seed 003: readings come by SMS and the bots (the engine), by the public web
form (the web's role) and, for a new meter, from an operator. Each utility
says how many registers its meters have, when its window is and what
consumption a day is plausible (columns of `utility`, imported with it).

On PostgreSQL everyone reads readings; the engine inserts them; an operator
inserts only a meter change (a new meter's first reading); the web's role
inserts only readings naming the subscriber a proof matched in the same
transaction (`signup_proof`, migration 0025, reused as it is) or naming
nobody (a refused one). The actor is the session user. A reading is never
changed except from accepted to replaced, by a correction; the web reaches
a proven subscriber's metering points, their last readings and the
replacement through SECURITY DEFINER functions that check the proof again.
"""

from __future__ import annotations

import importlib

import sqlalchemy as sa
from alembic import op

from dispatch_tui.storage.models import UTCDateTime

revision = "0027"
down_revision = "0026"
branch_labels = None
depends_on = None

_functions = importlib.import_module(
    "dispatch_tui.storage.migrations.versions.0021_web_role_functions"
)
WEB = _functions.ROLE
DEFINER = _functions.DEFINER
UTILITY_COLUMNS = {
    "reading_registers": "1",
    "reading_opens_days": "2",
    "reading_closes_day": "3",
    "reading_max_kwh_day": "150",
}

PROVEN = f"""
CREATE FUNCTION dispatch_reading_proven(p_subscriber integer, p_mp integer) RETURNS boolean
LANGUAGE sql STABLE {DEFINER} AS $$
    -- A proof of this transaction matched the subscriber (by account) or the point.
    SELECT p_subscriber IS NOT NULL AND (dispatch_signup_proven(p_subscriber, NULL)
           OR (p_mp IS NOT NULL AND dispatch_signup_proven(p_subscriber, p_mp)))
$$"""

GUARD = f"""
CREATE FUNCTION dispatch_meter_reading_guard() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    web boolean := pg_has_role(session_user, '{WEB}', 'MEMBER');
BEGIN
    IF dispatch_trusted(TG_RELID) THEN
        RETURN NEW;
    END IF;
    IF TG_OP = 'UPDATE' THEN
        -- The engine links the inbound message a reading came in once it is stored.
        IF dispatch_is_engine() AND NEW.status = OLD.status AND OLD.inbound_id IS NULL THEN
            RETURN NEW;
        END IF;
        IF NOT (OLD.status = 'accepted' AND NEW.status = 'replaced')
           OR NEW.inbound_id IS DISTINCT FROM OLD.inbound_id THEN
            PERFORM dispatch_refuse('a reading only ever goes from accepted to replaced');
        END IF;
        IF web AND NOT dispatch_reading_proven(OLD.subscriber_id, OLD.mp_id) THEN
            PERFORM dispatch_refuse('a reading is replaced only for the account a proof matched');
        END IF;
        RETURN NEW;
    END IF;
    NEW.actor := session_user;
    IF NEW.meter_change OR NEW.channel = 'operator' THEN
        IF NOT pg_has_role(session_user, 'dispatch_dispatcher', 'MEMBER') THEN
            PERFORM dispatch_refuse('only an operator records a meter change');
        END IF;
        IF NOT (NEW.meter_change AND NEW.channel = 'operator') THEN
            PERFORM dispatch_refuse('an operator records meter changes, not readings');
        END IF;
        RETURN NEW;
    END IF;
    IF web THEN
        IF NEW.channel <> 'web' THEN
            PERFORM dispatch_refuse('the web takes readings by its form only');
        END IF;
        IF (NEW.subscriber_id IS NOT NULL OR NEW.mp_id IS NOT NULL)
           AND NOT dispatch_reading_proven(NEW.subscriber_id, NEW.mp_id) THEN
            PERFORM dispatch_refuse('a reading names only the account its proof matched');
        END IF;
        RETURN NEW;
    END IF;
    IF NOT dispatch_is_engine() OR NEW.channel = 'web' THEN
        PERFORM dispatch_refuse('readings come by SMS and bots through the engine');
    END IF;
    RETURN NEW;
END
$$"""

WEB_FUNCTIONS = {
    "dispatch_web_reading_points(integer, text, text)": f"""
CREATE FUNCTION dispatch_web_reading_points(p_subscriber integer, p_period text,
                                            p_proof text)
RETURNS TABLE(mp integer, code text, value_wh bigint, night_wh bigint, at timestamptz)
LANGUAGE sql STABLE {DEFINER} AS $$
    -- storage.readings._points: the proven subscriber's metering points whose meter
    -- the proof names (an account's other meters are not this reading's), and the
    -- last reading taken before `p_period`'s (a correction is compared with that one).
    SELECT m.id, m.mp_id::text, r.value_wh, r.night_wh, r.received_at
      FROM subscription sn JOIN metering_point m ON m.id = sn.mp_id
      LEFT JOIN LATERAL (
        SELECT value_wh, night_wh, received_at FROM meter_reading
         WHERE mp_id = m.id AND status = 'accepted' AND period IS DISTINCT FROM p_period
         ORDER BY received_at DESC, id DESC LIMIT 1) r ON true
     WHERE sn.subscriber_id = p_subscriber AND dispatch_reading_proven(p_subscriber, m.id)
       AND dispatch_proof_fold(p_proof) IN (dispatch_proof_fold(m.meter_number),
                                            dispatch_proof_fold(right(m.eic, 5)))
     ORDER BY m.mp_id
$$""",
    "dispatch_web_replace_reading(integer, integer, text)": f"""
CREATE FUNCTION dispatch_web_replace_reading(p_subscriber integer, p_mp integer, p_period text)
RETURNS integer LANGUAGE plpgsql {DEFINER} AS $$
DECLARE
    replaced integer;
BEGIN
    IF NOT dispatch_reading_proven(p_subscriber, p_mp) THEN
        RETURN 0;
    END IF;
    UPDATE meter_reading SET status = 'replaced'
     WHERE mp_id = p_mp AND period = p_period AND status = 'accepted';
    GET DIAGNOSTICS replaced = ROW_COUNT;
    RETURN replaced;
END
$$""",
}

GRANTS = [
    "GRANT SELECT ON meter_reading TO dispatch_viewer",
    "GRANT INSERT, UPDATE (status, inbound_id) ON meter_reading TO dispatch_engine",
    "GRANT INSERT ON meter_reading TO dispatch_dispatcher",
    # The id back from its INSERT (RETURNING needs it); nothing else of any reading.
    f"GRANT INSERT, SELECT (id) ON meter_reading TO {WEB}",
    f"GRANT SELECT ({', '.join(UTILITY_COLUMNS)}) ON utility TO {WEB}",
    "GRANT USAGE, SELECT ON SEQUENCE meter_reading_id_seq "
    f"TO dispatch_engine, dispatch_dispatcher, {WEB}",
]


def upgrade() -> None:
    for column, default in UTILITY_COLUMNS.items():
        op.add_column(
            "utility", sa.Column(column, sa.Integer(), nullable=False, server_default=default)
        )
    op.create_table(
        "meter_reading",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("utility_id", sa.Integer(), nullable=True),
        sa.Column("subscriber_id", sa.Integer(), nullable=True),
        sa.Column("mp_id", sa.Integer(), nullable=True),
        sa.Column("identifier", sa.String(length=40), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=True),
        sa.Column("value_wh", sa.BigInteger(), nullable=True),
        sa.Column("night_wh", sa.BigInteger(), nullable=True),
        sa.Column("consumption_wh", sa.BigInteger(), nullable=True),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        sa.Column("text", sa.String(length=200), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=True),
        sa.Column("chat", sa.String(length=64), nullable=True),
        sa.Column("inbound_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=24), nullable=True),
        sa.Column("meter_change", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.CheckConstraint(
            "channel IN ('sms', 'telegram', 'viber', 'web', 'operator')",
            name=op.f("ck_meter_reading_channel"),
        ),
        sa.CheckConstraint(
            "status IN ('accepted', 'replaced', 'refused')", name=op.f("ck_meter_reading_status")
        ),
        sa.CheckConstraint(
            "(status = 'refused') = (reason IS NOT NULL)", name=op.f("ck_meter_reading_reason")
        ),
        sa.CheckConstraint(
            "status = 'refused' OR (mp_id IS NOT NULL AND value_wh IS NOT NULL)",
            name=op.f("ck_meter_reading_taken"),
        ),
        sa.CheckConstraint(
            "NOT meter_change OR channel = 'operator'", name=op.f("ck_meter_reading_meter_change")
        ),
        sa.CheckConstraint(
            "meter_change OR status = 'refused' OR period IS NOT NULL",
            name=op.f("ck_meter_reading_period"),
        ),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contact.id"],
            name=op.f("fk_meter_reading_contact_id_contact"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["inbound_id"],
            ["inbound_message.id"],
            name=op.f("fk_meter_reading_inbound_id_inbound_message"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["mp_id"],
            ["metering_point.id"],
            name=op.f("fk_meter_reading_mp_id_metering_point"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["subscriber_id"],
            ["subscriber.id"],
            name=op.f("fk_meter_reading_subscriber_id_subscriber"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["utility_id"],
            ["utility.id"],
            name=op.f("fk_meter_reading_utility_id_utility"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meter_reading")),
    )
    op.create_index("ix_meter_reading_mp_received", "meter_reading", ["mp_id", "received_at"])
    op.create_index("ix_meter_reading_period", "meter_reading", ["period", "status"])
    accepted = sa.text("status = 'accepted' AND period IS NOT NULL")
    op.create_index(
        "uq_meter_reading_accepted",
        "meter_reading",
        ["mp_id", "period"],
        unique=True,
        sqlite_where=accepted,
        postgresql_where=accepted,
    )
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(PROVEN)
    op.execute("REVOKE ALL ON FUNCTION dispatch_reading_proven(integer, integer) FROM PUBLIC")
    op.execute(f"GRANT EXECUTE ON FUNCTION dispatch_reading_proven(integer, integer) TO {WEB}")
    op.execute(GUARD)
    op.execute(
        "CREATE TRIGGER dispatch_meter_reading_guard BEFORE INSERT OR UPDATE ON meter_reading "
        "FOR EACH ROW EXECUTE FUNCTION dispatch_meter_reading_guard()"
    )
    for signature, body in WEB_FUNCTIONS.items():
        op.execute(body)
        op.execute(f"REVOKE ALL ON FUNCTION {signature} FROM PUBLIC")
        op.execute(f"GRANT EXECUTE ON FUNCTION {signature} TO {WEB}")
    for statement in GRANTS:
        op.execute(statement)


def downgrade() -> None:
    op.drop_table("meter_reading")
    # Not batch mode: on SQLite it rebuilds `utility`, breaking the foreign keys of
    # every row pointing at it (migration 0023; SQLite 3.35+ drops a column).
    for column in reversed(UTILITY_COLUMNS):
        op.execute(f"ALTER TABLE utility DROP COLUMN {column}")
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(f"REVOKE ALL ON utility FROM {WEB}")
    op.execute(f"GRANT SELECT ({_functions.PUBLIC_COLUMNS['utility']}) ON utility TO {WEB}")
    for signature in WEB_FUNCTIONS:
        op.execute(f"DROP FUNCTION {signature}")
    op.execute("DROP FUNCTION dispatch_meter_reading_guard()")
    op.execute("DROP FUNCTION dispatch_reading_proven(integer, integer)")
