"""The public web's database role on PostgreSQL (migration 0019): a login role in
dispatch_web runs sign-up and confirmation, but reads no names, phones, e-mail
addresses or message texts, writes no message but a code it just issued, and
activates nothing: the engine's role does that."""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, exc, select, text

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
from tests.security.pg_roles import SENDER, Cluster, cluster  # noqa: F401

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
