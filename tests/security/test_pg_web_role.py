"""The public web's database role on PostgreSQL (migrations 0019, 0021): a login role
in dispatch_web runs sign-up and confirmation, but reads no names, phones, e-mail
addresses, proofs, tokens or message texts (functions answer about one account or
token at a time), writes no message but a code it just issued, and activates nothing:
the engine's role does that."""

from __future__ import annotations

import importlib
import os
import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, exc, select, text

from dispatch_tui.domain.bot_dialogue import MAX_PROOF_FAILURES, PROOF_WINDOW, fold_proof
from dispatch_tui.storage.db_roles import WEB_ROLE
from dispatch_tui.storage.signup import (
    ConfirmStatus,
    SignupRequest,
    StartStatus,
    activate_confirmed,
    confirm_signup,
    start_signup,
)
from dispatch_tui.storage.tables import audit_log, contact, message
from dispatch_tui.storage.unsubscribe import UnsubscribeStatus, tokens_for, unsubscribe_by_token
from tests.security.pg_roles import ANA, SENDER, VIKTOR, Cluster, cluster  # noqa: F401

WEB = f"pgweb_{os.getpid()}"
NOW = datetime.now(UTC)
SI = SignupRequest("EG", "6-100001", "10001", phone="040 999 888", channels=("sms",))


@pytest.fixture
def web(cluster: Cluster, engine: Engine) -> Engine:  # noqa: F811
    with engine.begin() as conn:
        conn.execute(
            text(f"""
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{WEB}') THEN
        CREATE ROLE {WEB} LOGIN;
    END IF;
    GRANT {WEB_ROLE} TO {WEB};
EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
END
$$""")
        )
    return cluster.as_role(WEB)


def refused(db: Engine, sql: str, **params: object) -> str:
    with pytest.raises(exc.DBAPIError) as raised, db.begin() as conn:
        conn.execute(text(sql), params)
    return str(raised.value.orig)


def test_the_web_role_reads_no_personal_data(web: Engine) -> None:
    for sql in (
        "SELECT name FROM subscriber",
        "SELECT * FROM subscriber",
        "SELECT address FROM contact",
        "SELECT body FROM message",
        "SELECT address FROM message",
        "SELECT sender FROM inbound_message",
        "SELECT text FROM inbound_message",
        "SELECT * FROM audit_log",
        "SELECT * FROM app_user",
        "SELECT * FROM bot_chat",
        "SELECT * FROM contact_scope",
    ):
        assert "permission denied" in refused(web, sql), sql
    with web.connect() as conn:  # what it must read
        assert conn.execute(text("SELECT count(*) FROM outage")).scalar_one() == 0
        assert conn.execute(text("SELECT count(*) FROM metering_point")).scalar_one() == 6


def test_sign_up_as_the_web_role_and_activation_by_the_engine(
    web: Engine,
    cluster: Cluster,  # noqa: F811
    engine: Engine,
) -> None:
    started = start_signup(web, SI, ip="192.0.2.1", now=NOW)
    assert started.status is StartStatus.CODE_SENT
    [pending] = started.pending
    with engine.connect() as conn:
        body = conn.execute(select(message.c.body)).scalar_one()
    code = re.findall(r"\d{6}", body)[0]
    result = confirm_signup(web, pending.token, code, ip="192.0.2.1", actor=WEB, now=NOW)
    assert result.status is ConfirmStatus.CONFIRMED  # not active: the web may not
    with engine.connect() as conn:
        assert (
            conn.execute(select(contact.c.id).where(contact.c.address == "+38640999888")).first()
            is None
        )
    assert activate_confirmed(cluster.as_role(SENDER), actor=SENDER, now=NOW) == 1
    with engine.connect() as conn:
        consent = conn.execute(
            select(contact.c.consent).where(contact.c.address == "+38640999888")
        ).scalar_one()
    assert consent == "opted_in"
    assert confirm_signup(web, pending.token, code, ip="192.0.2.1", actor=WEB).status is (
        ConfirmStatus.ACTIVE
    )


def test_the_web_role_sends_nothing_but_codes(web: Engine, engine: Engine) -> None:
    start_signup(web, SI, ip="192.0.2.1", now=NOW)
    with engine.connect() as conn:
        inbound_id = conn.execute(select(message.c.inbound_id)).scalar_one()
    values = (
        "(NULL, :i, NULL, 'sms', :to, 'en', 'hello', 1, 'pending', 0, now(), "
        "now() + interval '1 hour', now())"
    )
    columns = (
        "(notice_id, inbound_id, contact_id, channel, address, language, body, segments, "
        "status, attempts, next_attempt_at, expires_at, created_at)"
    )
    # Another number, with the sign-up's own request: refused.
    said = refused(web, f"INSERT INTO message {columns} VALUES {values}", i=inbound_id, to="+111")
    assert "only the engine writes messages" in said
    # The sign-up's own number, but its code was not issued in this transaction: refused.
    said = refused(
        web, f"INSERT INTO message {columns} VALUES {values}", i=inbound_id, to="+38640999888"
    )
    assert "only the engine writes messages" in said
    assert "permission denied" in refused(
        web,
        "INSERT INTO contact (subscriber_id, channel, address, consent, consent_at, "
        "consent_source, proven) VALUES (1, 'sms', '+1', 'opted_in', now(), 'x', true)",
    )
    assert "only records an opt-out" in refused(web, "UPDATE contact SET consent = 'opted_in'")


def test_the_web_role_signs_up_only_the_subscriber_a_proof_matched(
    web: Engine, engine: Engine
) -> None:
    """Migration 0025: with the web's password in psql, a sign-up for someone else's
    account (its own address, a code it then receives) is refused; one that names
    the subscriber its proof matched, in the same transaction, goes in."""
    with engine.connect() as conn:
        other = conn.execute(text("SELECT max(id) FROM subscriber")).scalar_one()
        utility_id = conn.execute(text("SELECT id FROM utility WHERE code = 'EG'")).scalar_one()
    forged = (
        "INSERT INTO signup (token_hash, utility_id, subscriber_id, identifier, channel, "
        "address, language, status, code_hash, code_issued_at, wrong_tries, created_at) "
        "VALUES ('x', :u, :s, 'x', 'sms', '+38640111222', 'sl', 'pending', '', now(), 0, now())"
    )
    assert "proof matched" in refused(web, forged, u=utility_id, s=other)
    assert start_signup(web, SI, ip="192.0.2.9", now=NOW).status is StartStatus.CODE_SENT


def test_the_web_role_cannot_activate_or_rewrite_a_sign_up(web: Engine) -> None:
    start_signup(web, SI, ip="192.0.2.1", now=NOW)
    assert "engine activates" in refused(web, "UPDATE signup SET status = 'active'")
    for column in ("subscriber_id = subscriber_id + 1", "address = '+111'", "contact_id = 1"):
        assert "permission denied" in refused(web, f"UPDATE signup SET {column}")
    with web.begin() as conn:
        conn.execute(text("UPDATE signup SET wrong_tries = 3"))
    # Forgetting wrong tries without a new code would reopen a spent code: refused.
    assert "engine activates" in refused(web, "UPDATE signup SET wrong_tries = 0")


def test_the_web_role_unsubscribes_by_token_only(web: Engine, engine: Engine) -> None:
    with engine.begin() as conn:
        ana = conn.execute(
            select(contact.c.id).where(contact.c.address == "ana.novak@example.si")
        ).scalar_one()
        [token] = tokens_for(conn, [ana], now=NOW).values()
    assert unsubscribe_by_token(web, "x" * 43, actor=WEB).status is UnsubscribeStatus.UNKNOWN
    assert unsubscribe_by_token(web, token, actor=WEB).status is UnsubscribeStatus.UNSUBSCRIBED
    with engine.connect() as conn:
        consent = conn.execute(select(contact.c.consent).where(contact.c.id == ana)).scalar_one()
        actor = conn.execute(
            select(audit_log.c.actor).where(audit_log.c.action == "unsubscribe")
        ).scalar_one()
    assert (consent, actor) == ("opted_out", WEB)


def test_the_web_role_locks_subscribers_but_changes_none(web: Engine) -> None:
    """Migration 0024: counting an unsubscribe locks the subscriber's row, which needs an
    UPDATE right; the web has one on `language` for that, and a trigger refuses the
    update itself, as a colleague with the web's password would try it in psql."""
    with web.begin() as conn:
        conn.execute(text("SELECT id FROM subscriber ORDER BY id FOR NO KEY UPDATE"))
    assert "changes no subscriber" in refused(web, "UPDATE subscriber SET language = 'en'")
    assert "permission denied" in refused(web, "UPDATE subscriber SET name = 'x'")


def test_the_web_role_reads_no_proof_phone_or_token(web: Engine, engine: Engine) -> None:
    """Migration 0021: what 0019 let the web read whole is back to its public columns;
    proofs, addresses and tokens are answered one at a time by functions."""
    start_signup(web, SI, ip="192.0.2.1", now=NOW)
    with engine.begin() as conn:
        ana = conn.execute(
            select(contact.c.id).where(contact.c.address == "ana.novak@example.si")
        ).scalar_one()
        tokens_for(conn, [ana], now=NOW)
    for sql in (
        "SELECT meter_number FROM metering_point",
        "SELECT eic FROM metering_point",
        "SELECT * FROM metering_point",
        "SELECT token FROM contact_token",
        "SELECT contact_id FROM contact_token",
        "SELECT address FROM signup",
        "SELECT identifier FROM signup",
        "SELECT account FROM subscriber",
        "SELECT * FROM subscription",
        "SELECT chat, account FROM proof_failure",
        "SELECT title FROM outage",
        "SELECT created_by FROM outage",
        "SELECT count(*) FROM metering_point WHERE meter_number = '10001'",
        "UPDATE subscriber SET self_service_locked_at = NULL",
        "INSERT INTO proof_failure (at, channel, chat, account) VALUES (now(), 'x', 'y', 'z')",
    ):
        assert "permission denied" in refused(web, sql), sql


def test_the_functions_answer_the_web_only(cluster: Cluster, web: Engine) -> None:  # noqa: F811
    for role in (VIKTOR, ANA, SENDER):
        for sql in (
            "SELECT dispatch_web_unsubscribe_contact('x')",
            "SELECT dispatch_web_signup_address('x')",
            "SELECT * FROM dispatch_web_proof_budget('sms', 'c', '100000002')",
            "SELECT * FROM dispatch_web_prove(1, '100000002', false, 'x', 'sms', 'c')",
            "SELECT dispatch_proof_state('100000002')",
            "SELECT * FROM dispatch_web_reading_points(1, NULL, 'x')",  # migration 0027
            "SELECT dispatch_web_replace_reading(1, 1, '2026-11')",
        ):
            assert "permission denied" in refused(cluster.as_role(role), sql), (role, sql)
    assert "permission denied" in refused(web, "SELECT dispatch_proof_state('100000002')")
    with web.connect() as conn:
        definers = conn.execute(
            text(
                "SELECT count(*) FROM pg_proc WHERE proname LIKE 'dispatch_web_%' "
                "AND prosecdef AND proconfig::text LIKE '%search_path=pg_catalog, public%'"
            )
        ).scalar_one()
    assert definers == 6


def test_the_proof_function_is_no_oracle(web: Engine, engine: Engine) -> None:
    """Called directly, as a web process taken over would: five wrong guesses lock the
    account, and then even the right meter number matches nothing."""
    with engine.connect() as conn:
        utility_id = conn.execute(text("SELECT id FROM utility WHERE code = 'ZOE'")).scalar_one()

    def prove(proof: str, chat: str) -> list[object]:
        with web.begin() as conn:
            return list(
                conn.execute(
                    text("SELECT * FROM dispatch_web_prove(:u, '100000002', false, :p, 'sms', :c)"),
                    {"u": utility_id, "p": proof, "c": chat},
                )
            )

    assert prove("ua 777002", "a") != []  # folded like the bot's: case, spaces
    for n in range(5):
        assert prove(f"guess-{n}", f"chat-{n}") == []  # a new chat each time: no matter
    assert prove("UA-777002", "z") == []
    with engine.connect() as conn:
        locked = conn.execute(
            text("SELECT self_service_locked_at FROM subscriber WHERE account = '100000002'")
        ).scalar()
    assert locked is not None


def test_the_database_folds_proofs_as_the_bot_does(engine: Engine, backend: str) -> None:
    if backend != "postgresql":
        pytest.skip("SQLite folds in Python only")
    # (Not ß: Python's upper case makes it SS, PostgreSQL's keeps it; no meter has one.)
    samples = ["UA-777002", "ua 777 002", "АВ-12 34", "ав12", "１２３", "x.y/z", "é9", "", " - "]
    with engine.connect() as conn:
        folded = [
            conn.execute(text("SELECT dispatch_proof_fold(:t)"), {"t": t}).scalar_one()
            for t in samples
        ]
    assert folded == [fold_proof(t) for t in samples]


def test_the_migration_knows_the_proof_budget() -> None:
    migration = importlib.import_module(
        "dispatch_tui.storage.migrations.versions.0021_web_role_functions"
    )
    assert migration.MAX_FAILURES == MAX_PROOF_FAILURES
    assert timedelta(hours=int(migration.WINDOW.split()[0])) == PROOF_WINDOW
