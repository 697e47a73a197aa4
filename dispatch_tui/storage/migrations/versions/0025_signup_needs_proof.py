"""a sign-up the public web inserts names only the subscriber its proof matched

Revision ID: 0025
Revises: 0024

The web's role may insert sign-ups (0019), and the engine activates the
confirmed ones: a taken-over web process could have inserted one for any
subscriber id, with its own address, and confirmed it with the code sent to
that address. Now `dispatch_web_prove` leaves a mark of each (subscriber,
metering point) it matched in the transaction's own table row
(`signup_proof`, which the web can neither read nor write), and the sign-up
guard refuses the web's insert of a sign-up no proof of the same transaction
matched. SQLite: nothing to do (one trust domain).
"""

from __future__ import annotations

import importlib

import sqlalchemy as sa
from alembic import op

from dispatch_tui.storage.models import UTCDateTime

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None

_functions = importlib.import_module(
    "dispatch_tui.storage.migrations.versions.0021_web_role_functions"
)
_signup = importlib.import_module("dispatch_tui.storage.migrations.versions.0019_web_signup")

PROVE = "dispatch_web_prove(integer, text, boolean, text, text, text)"
XACT = "pg_current_xact_id()::text::bigint"
MARK = f"""    IF FOUND THEN
        DELETE FROM signup_proof WHERE at < now() - interval '1 hour';
        INSERT INTO signup_proof (subscriber_id, mp_id, xact, at)
        SELECT t.sid, t.mp, {XACT}, now() FROM target t
         WHERE proof <> '' AND EXISTS (
            SELECT FROM subscription sn JOIN metering_point m ON m.id = sn.mp_id
             WHERE sn.subscriber_id = t.sid AND (t.mp IS NULL OR m.id = t.mp)
               AND proof IN (dispatch_proof_fold(m.meter_number),
                             dispatch_proof_fold(right(m.eic, 5)))
         );
        RETURN;
    END IF;"""

PROVEN = f"""
CREATE FUNCTION dispatch_signup_proven(p_subscriber integer, p_mp integer) RETURNS boolean
LANGUAGE sql STABLE {_functions.DEFINER} AS $$
    SELECT EXISTS (SELECT FROM signup_proof
                    WHERE subscriber_id = p_subscriber AND mp_id IS NOT DISTINCT FROM p_mp
                      AND xact = {XACT})
$$"""

INSERT_CHECK = """        IF NOT dispatch_signup_proven(NEW.subscriber_id, NEW.mp_id) THEN
            PERFORM dispatch_refuse('a sign-up names only the subscriber its proof matched');
        END IF;
        RETURN NEW;"""


def _prove_marking() -> str:
    """0021's function, its matched rows also marked; the target query is repeated in
    the INSERT because plpgsql cannot read back what RETURN QUERY returned."""
    body: str = _functions.FUNCTIONS[PROVE]
    target = body[
        body.index("    WITH target AS (") : body.index("    SELECT t.sid, t.mp FROM target t")
    ]
    found = "    IF FOUND THEN\n        RETURN;\n    END IF;"
    assert target and found in body, "0021's dispatch_web_prove is not as expected"
    marked = MARK.replace(
        "        INSERT INTO signup_proof",
        "        " + target.strip() + "\n        INSERT INTO signup_proof",
        1,
    )
    return body.replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1).replace(found, marked)


def _guard(check: bool) -> str:
    [body] = [str(f) for f in _signup.FUNCTIONS if "dispatch_signup_guard()" in f]
    body = body.replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1)
    plain = """            PERFORM dispatch_refuse('a new sign-up waits for its code');
        END IF;
        RETURN NEW;"""
    assert plain in body, "0019's dispatch_signup_guard is not as expected"
    if not check:
        return body
    return body.replace(plain, plain.removesuffix("        RETURN NEW;") + INSERT_CHECK)


def upgrade() -> None:
    op.create_table(
        "signup_proof",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subscriber_id", sa.Integer(), nullable=False),
        sa.Column("mp_id", sa.Integer(), nullable=True),
        sa.Column("xact", sa.BigInteger(), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_signup_proof")),
    )
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("REVOKE ALL ON signup_proof FROM PUBLIC")
    op.execute(PROVEN)
    op.execute("REVOKE ALL ON FUNCTION dispatch_signup_proven(integer, integer) FROM PUBLIC")
    op.execute(
        f"GRANT EXECUTE ON FUNCTION dispatch_signup_proven(integer, integer) TO {_functions.ROLE}"
    )
    op.execute(_prove_marking())
    op.execute(_guard(check=True))


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        op.drop_table("signup_proof")
        return
    op.execute(_guard(check=False))
    op.execute(
        _functions.FUNCTIONS[PROVE].replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1)
    )
    op.execute("DROP FUNCTION IF EXISTS dispatch_signup_proven(integer, integer)")
    op.drop_table("signup_proof")
