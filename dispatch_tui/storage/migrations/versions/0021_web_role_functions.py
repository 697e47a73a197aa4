"""the public web's role reads public columns only; proofs and tokens through functions

Revision ID: 0021
Revises: 0020

Migration 0019 gave `dispatch_web` whole tables (metering points with their
meter numbers and EICs, outages with their titles and authors, subscribers'
accounts, subscriptions, every unsubscribe token and sign-up address), so a
web process taken over could read every proof, phone and token at once.
Here it goes back to 0017's public columns, and what sign-up and
unsubscribe need of the rest runs through SECURITY DEFINER functions owned
by the tables' owner, with a fixed search_path, executable by dispatch_web
only, each answering about the one account or token it is given:

- dispatch_web_proof_budget: how many wrong proofs this chat may still give
  for an account (0: locked) and the number to call;
- dispatch_web_prove: the (subscriber, metering point) an account or
  metering point id plus its proof names; a proof that matches nothing is
  counted (and locks the account at the fifth), and an account with no
  budget left matches nothing, so the function is no oracle for guessing
  meter numbers. It counts by the database's clock, not a time it is given;
- dispatch_web_signup_address: the address of the pending sign-up whose
  token digest it is given (for a new code);
- dispatch_web_unsubscribe_contact: the contact an unsubscribe token names.

The web's audit rows may record its unsubscribes (0016 let only dispatchers'
rows be anything but evidence exports). SQLite: nothing to do.
"""

from __future__ import annotations

from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

ROLE = "dispatch_web"
PUBLIC_COLUMNS = {
    "utility": "id, code, name, country, timezone, language, contact_phone, sms_sender",
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
    # No address (phones and e-mail addresses people typed), subscriber or identifier.
    "signup": (
        "id, token_hash, utility_id, channel, language, status, code_hash, code_issued_at, "
        "wrong_tries, inbound_id"
    ),
}
REVOKED = (
    *PUBLIC_COLUMNS,
    "subscription",
    "search_term",
    "subscriber",
    "proof_failure",
    "contact_token",
)
"""0019's grants taken back (column grants go with them) before the public ones are given."""

MAX_FAILURES = 5
"""domain.bot_dialogue.MAX_PROOF_FAILURES and PROOF_WINDOW as this revision knows them
(a test checks they still agree)."""
WINDOW = "24 hours"

DEFINER = "SECURITY DEFINER SET search_path = pg_catalog, public"
FUNCTIONS = {
    "dispatch_proof_fold(text)": """
CREATE FUNCTION dispatch_proof_fold(t text) RETURNS text LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog AS $$
    -- domain.bot_dialogue.fold_proof: NFKC, upper case, Cyrillic look-alikes, only
    -- letters and digits.
    SELECT regexp_replace(
        translate(upper(normalize(t, NFKC)), 'АВЕКМНОРСТХІУ', 'ABEKMHOPCTXIY'),
        '[^[:alnum:]]', '', 'g')
$$""",
    "dispatch_proof_state(text)": f"""
CREATE FUNCTION dispatch_proof_state(p_account text, OUT locked boolean, OUT helpline text,
                                     OUT counted timestamptz)
LANGUAGE plpgsql {DEFINER} AS $$
BEGIN
    -- storage.bot_chats._account_failures: the account's rows stay locked until the
    -- caller's transaction ends; wrong proofs before an operator's unlock are forgiven.
    PERFORM FROM subscriber WHERE account = p_account ORDER BY id FOR UPDATE;
    SELECT coalesce(bool_or(s.self_service_locked_at IS NOT NULL), false),
           (array_agg(u.contact_phone ORDER BY s.id))[1],
           greatest(now() - interval '{WINDOW}', max(s.self_service_unlocked_at))
      INTO locked, helpline, counted
      FROM subscriber s JOIN utility u ON u.id = s.utility_id
     WHERE s.account = p_account;
END
$$""",
    "dispatch_proof_left(text, text, text)": f"""
CREATE FUNCTION dispatch_proof_left(p_channel text, p_chat text, p_account text,
                                    OUT attempts_left integer, OUT helpline text)
LANGUAGE plpgsql {DEFINER} AS $$
DECLARE
    state record;
    by_account integer;
    by_chat integer;
BEGIN
    state := dispatch_proof_state(p_account);
    helpline := state.helpline;
    IF state.locked THEN
        attempts_left := 0;
        RETURN;
    END IF;
    SELECT count(*) INTO by_account FROM proof_failure
     WHERE account = p_account AND at > state.counted;
    SELECT count(*) INTO by_chat FROM proof_failure
     WHERE channel = p_channel AND chat = left(p_chat, 64)
       AND at > now() - interval '{WINDOW}'
       AND (account <> p_account OR at > state.counted);
    attempts_left := {MAX_FAILURES} - greatest(by_account, by_chat);
END
$$""",
    "dispatch_web_proof_budget(text, text, text)": f"""
CREATE FUNCTION dispatch_web_proof_budget(p_channel text, p_chat text, p_account text,
                                          OUT attempts_left integer, OUT helpline text)
LANGUAGE sql {DEFINER} AS $$
    SELECT * FROM dispatch_proof_left(p_channel, p_chat, p_account)
$$""",
    "dispatch_web_prove(integer, text, boolean, text, text, text)": f"""
CREATE FUNCTION dispatch_web_prove(p_utility integer, p_identifier text, p_by_mp boolean,
                                   p_proof text, p_channel text, p_chat text)
RETURNS TABLE(subscriber_id integer, mp_id integer)
LANGUAGE plpgsql {DEFINER} AS $$
DECLARE
    proof text := dispatch_proof_fold(p_proof);
    spent integer;
BEGIN
    IF (dispatch_proof_left(p_channel, p_chat, p_identifier)).attempts_left <= 0 THEN
        RETURN;
    END IF;
    -- The same statements run for an unknown identifier as for a wrong proof.
    RETURN QUERY
    WITH target AS (
        SELECT sn.subscriber_id AS sid, m.id AS mp
          FROM subscription sn JOIN metering_point m ON m.id = sn.mp_id
         WHERE p_by_mp AND m.utility_id = p_utility AND m.mp_id = p_identifier
        UNION ALL
        SELECT s.id, NULL::integer FROM subscriber s
         WHERE NOT p_by_mp AND s.utility_id = p_utility AND s.account = p_identifier
    )
    SELECT t.sid, t.mp FROM target t
     WHERE proof <> '' AND EXISTS (
        SELECT FROM subscription sn JOIN metering_point m ON m.id = sn.mp_id
         WHERE sn.subscriber_id = t.sid AND (t.mp IS NULL OR m.id = t.mp)
           AND proof IN (dispatch_proof_fold(m.meter_number), dispatch_proof_fold(right(m.eic, 5)))
     )
     ORDER BY t.sid, t.mp;
    IF FOUND THEN
        RETURN;
    END IF;
    INSERT INTO proof_failure (at, channel, chat, account)
    VALUES (now(), p_channel, left(p_chat, 64), p_identifier);
    SELECT count(*) INTO spent FROM proof_failure
     WHERE account = p_identifier AND at > (dispatch_proof_state(p_identifier)).counted;
    IF spent >= {MAX_FAILURES} THEN
        UPDATE subscriber SET self_service_locked_at = now()
         WHERE account = p_identifier AND self_service_locked_at IS NULL;
    END IF;
END
$$""",
    "dispatch_web_signup_address(text)": f"""
CREATE FUNCTION dispatch_web_signup_address(p_token_hash text) RETURNS text
LANGUAGE sql STABLE {DEFINER} AS $$
    SELECT address FROM signup WHERE token_hash = p_token_hash AND status = 'pending'
$$""",
    "dispatch_web_unsubscribe_contact(text)": f"""
CREATE FUNCTION dispatch_web_unsubscribe_contact(p_token text) RETURNS integer
LANGUAGE sql STABLE {DEFINER} AS $$
    SELECT contact_id FROM contact_token WHERE token = p_token
$$""",
}
FOR_THE_WEB = (
    "dispatch_web_proof_budget(text, text, text)",
    "dispatch_web_prove(integer, text, boolean, text, text, text)",
    "dispatch_web_signup_address(text)",
    "dispatch_web_unsubscribe_contact(text)",
)

AUDIT_GUARD = """
CREATE OR REPLACE FUNCTION dispatch_viewer_exports_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NOT dispatch_trusted(TG_RELID) AND NOT dispatch_is_engine()
       AND NOT pg_has_role(session_user, 'dispatch_dispatcher', 'MEMBER')
       AND NEW.action IS DISTINCT FROM 'export_evidence'
       {web}THEN
        PERFORM dispatch_refuse(format(
            '%s is a viewer: their audit rows record evidence exports only, not %s',
            session_user, NEW.action));
    END IF;
    RETURN NEW;
END
$$"""
WEB_AUDIT = (
    "AND NOT (pg_has_role(session_user, 'dispatch_web', 'MEMBER') "
    "AND NEW.action = 'unsubscribe')\n       "
)


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in REVOKED:
        op.execute(f"REVOKE ALL ON {table} FROM {ROLE}")
    op.execute(f"REVOKE ALL ON SEQUENCE proof_failure_id_seq FROM {ROLE}")
    for table, columns in PUBLIC_COLUMNS.items():
        op.execute(f"GRANT SELECT ({columns}) ON {table} TO {ROLE}")
    op.execute(f"GRANT INSERT ON signup TO {ROLE}")
    op.execute(
        f"GRANT UPDATE (status, code_hash, code_issued_at, wrong_tries, confirmed_at) "
        f"ON signup TO {ROLE}"
    )
    for signature, body in FUNCTIONS.items():
        op.execute(body)
        op.execute(f"REVOKE ALL ON FUNCTION {signature} FROM PUBLIC")
    for signature in FOR_THE_WEB:
        op.execute(f"GRANT EXECUTE ON FUNCTION {signature} TO {ROLE}")
    op.execute(AUDIT_GUARD.format(web=WEB_AUDIT))


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(AUDIT_GUARD.format(web=""))
    for signature in reversed(FUNCTIONS):
        op.execute(f"DROP FUNCTION IF EXISTS {signature}")
    for table in REVOKED:
        op.execute(f"REVOKE ALL ON {table} FROM {ROLE}")
    # 0019's grants, as it gave them.
    op.execute(
        f"GRANT SELECT ON utility, node, metering_point, subscription, outage, "
        f"outage_selection, notice, search_term, change_counter, alembic_version TO {ROLE}"
    )
    for grant in (
        "SELECT (id, utility_id, account, language, self_service_locked_at, "
        "self_service_unlocked_at) ON subscriber",
        "UPDATE (self_service_locked_at) ON subscriber",
        "SELECT (id, at, channel, chat, account), INSERT ON proof_failure",
        "SELECT, INSERT ON signup",
        "UPDATE (status, code_hash, code_issued_at, wrong_tries, confirmed_at) ON signup",
        "SELECT ON contact_token",
        "USAGE, SELECT ON SEQUENCE proof_failure_id_seq",
    ):
        op.execute(f"GRANT {grant} TO {ROLE}")
