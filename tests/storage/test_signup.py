"""Web sign-up by confirmation code on SQLite and PostgreSQL (as the tables' owner):
the code goes out through the outbox, nothing is active before it comes back, and
the attacks a public form invites change nothing: guessing a code, an expired or
replaced code, someone else's sign-up, probing accounts, and every rate limit."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, event, func, select

from dispatch_tui.domain.signup_codes import CODE_TTL, MAX_TRIES
from dispatch_tui.storage import outbox
from dispatch_tui.storage.signup import (
    ConfirmStatus,
    SignupInputError,
    SignupLimits,
    SignupRequest,
    StartStatus,
    activate_confirmed,
    confirm_signup,
    resend_code,
    start_signup,
)
from dispatch_tui.storage.tables import (
    audit_log,
    contact,
    contact_scope,
    message,
    metering_point,
    proof_failure,
    signup,
    subscriber,
)
from tests.storage.csvdata import dump, eic

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
IP = "198.51.100.7"
PHONE = "+38640999888"
EMAIL = "mojca@example.si"
SI = SignupRequest("EG", "6-100001", "10001", phone="040 999 888", channels=("sms",))
"""Ana Novak's first metering point, proven by its meter number."""


def codes_sent(engine: Engine) -> list[tuple[str, str, str]]:
    """(channel, address, code) of every code message, oldest first."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(message.c.channel, message.c.address, message.c.body)
            .where(message.c.inbound_id.is_not(None))
            .order_by(message.c.id)
        ).all()
    return [(r.channel, r.address, re.findall(r"\d{6}", r.body)[0]) for r in rows]


def contacts(engine: Engine, address: str) -> list[tuple[str, bool, str]]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(contact.c.consent, contact.c.proven, contact.c.consent_source).where(
                contact.c.address == address
            )
        )
        return [tuple(r) for r in rows]  # type: ignore[misc]


def confirm(engine: Engine, token: str, code: str, **kw: object) -> ConfirmStatus:
    at = kw.pop("now", NOW + timedelta(minutes=1))
    return confirm_signup(engine, token, code, ip=IP, actor="web", now=at, **kw).status  # type: ignore[arg-type]


def test_sign_up_by_metering_point_is_active_only_after_the_code(loaded: Engine) -> None:
    started = start_signup(loaded, SI, ip=IP, now=NOW)
    assert started.status is StartStatus.CODE_SENT
    [pending] = started.pending
    assert pending.channel == "sms" and pending.shown_to == "+386 … 888"
    assert contacts(loaded, PHONE) == []  # nothing before the code
    [(channel, address, code)] = codes_sent(loaded)
    assert (channel, address) == ("sms", PHONE)
    # The code goes through the outbox like a reply: a claim hands it out.
    claimed = outbox.claim_batch(loaded, owner="t", channels=["sms"], now=NOW)
    assert [m.address for m in claimed] == [PHONE] and claimed[0].sender == "ElektroGor"
    result = confirm_signup(
        loaded, pending.token, code, ip=IP, actor="web", now=NOW + timedelta(minutes=3)
    )
    assert result.status is ConfirmStatus.ACTIVE
    [(consent, proven, source)] = contacts(loaded, PHONE)
    assert consent == "opted_in" and proven
    assert source == "web sign-up 6-100001, code confirmed 2026-11-23 10:03 UTC"
    with loaded.connect() as conn:
        scope = conn.execute(
            select(metering_point.c.mp_id)
            .join(contact_scope, contact_scope.c.mp_id == metering_point.c.id)
            .join(contact, contact.c.id == contact_scope.c.contact_id)
            .where(contact.c.address == PHONE)
        ).all()
        audited = conn.execute(
            select(audit_log.c.actor, audit_log.c.detail).where(audit_log.c.action == "web_signup")
        ).one()
    assert [r[0] for r in scope] == ["6-100001"]  # that place only, not Ana's others
    assert audited.actor == "web" and audited.detail["channel"] == "sms"
    # Confirming again changes nothing and says it is active.
    assert confirm(loaded, pending.token, code) is ConfirmStatus.ACTIVE


def test_phone_and_email_each_confirm_their_own_address(loaded: Engine) -> None:
    request = SignupRequest(
        "ZOE", "100000002", eic("62Z", 2)[-5:], phone="050 987 6543", email=EMAIL,
        channels=("sms", "email"), language="en",
    )  # fmt: skip
    started = start_signup(loaded, request, ip=IP, now=NOW)
    assert started.status is StartStatus.CODE_SENT, started
    by_channel = {p.channel: p for p in started.pending}
    sent = {c: code for c, _a, code in codes_sent(loaded)}
    assert by_channel["email"].shown_to == "m…@example.si"
    # The SMS code does not confirm the e-mail address.
    if sent["sms"] != sent["email"]:
        assert confirm(loaded, by_channel["email"].token, sent["sms"]) is ConfirmStatus.WRONG_CODE
    assert confirm(loaded, by_channel["email"].token, sent["email"]) is ConfirmStatus.ACTIVE
    assert [c[0] for c in contacts(loaded, EMAIL)] == ["opted_in"]
    assert contacts(loaded, "+380509876543") == []
    with loaded.connect() as conn:
        subject = conn.execute(
            select(message.c.subject).where(message.c.channel == "email")
        ).scalar_one()
    assert subject == "Закарпаттяобленерго: confirmation code"


def test_guessing_a_code_spends_it_and_only_a_new_code_helps(loaded: Engine) -> None:
    [pending] = start_signup(loaded, SI, ip=IP, now=NOW).pending
    [(_c, _a, code)] = codes_sent(loaded)
    wrong = [f"{(int(code) + n) % 1_000_000:06d}" for n in range(1, 40)]
    said = [confirm(loaded, pending.token, guess) for guess in wrong[:MAX_TRIES]]
    assert said[:-1] == [ConfirmStatus.WRONG_CODE] * (MAX_TRIES - 1)
    assert said[-1] is ConfirmStatus.SPENT
    assert confirm(loaded, pending.token, code) is ConfirmStatus.SPENT
    assert contacts(loaded, PHONE) == []
    # A new code: the old one stops working, the new one works.
    again = resend_code(loaded, pending.token, ip=IP, now=NOW + timedelta(minutes=2))
    assert again.status is StartStatus.CODE_SENT
    new = codes_sent(loaded)[-1][2]
    if new != code:
        assert confirm(loaded, pending.token, code) is ConfirmStatus.WRONG_CODE
    assert confirm(loaded, pending.token, new) is ConfirmStatus.ACTIVE


def test_an_expired_code_activates_nothing(loaded: Engine) -> None:
    [pending] = start_signup(loaded, SI, ip=IP, now=NOW).pending
    [(_c, _a, code)] = codes_sent(loaded)
    late = NOW + CODE_TTL + timedelta(seconds=1)
    assert confirm(loaded, pending.token, code, now=late) is ConfirmStatus.EXPIRED
    assert contacts(loaded, PHONE) == []
    with loaded.connect() as conn:
        expires = conn.execute(select(message.c.expires_at)).scalar_one()
    assert expires == NOW + CODE_TTL  # the outbox does not send it after that either


def test_someone_elses_sign_up_cannot_be_confirmed(loaded: Engine) -> None:
    [mine] = start_signup(loaded, SI, ip=IP, now=NOW).pending
    other = SignupRequest("EG", "6-100002", "10002", phone="040 111 222", channels=("sms",))
    [theirs] = start_signup(loaded, other, ip="203.0.113.9", now=NOW).pending
    my_code, their_code = (c for _ch, _a, c in codes_sent(loaded))
    if my_code != their_code:
        assert confirm(loaded, mine.token, their_code) is ConfirmStatus.WRONG_CODE
    forged = theirs.token[:-4] + "AAAA"
    assert confirm(loaded, forged, their_code) is ConfirmStatus.UNKNOWN
    assert confirm(loaded, "", their_code) is ConfirmStatus.UNKNOWN
    assert contacts(loaded, "+38640111222") == []


@contextmanager
def statements(engine: Engine) -> Iterator[list[str]]:
    seen: list[str] = []

    def count(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        seen.append(re.sub(r"\d+", "N", statement.split()[0]))

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", count)


def test_unknown_account_and_wrong_proof_get_the_same_answer_and_work(loaded: Engine) -> None:
    wrong_proof = SignupRequest("ZOE", "100000002", "UA-000000", phone="050 987 6543",
                                channels=("sms",))  # fmt: skip
    unknown = SignupRequest("ZOE", "100000099", "UA-000000", phone="050 987 6544",
                            channels=("sms",))  # fmt: skip
    with statements(loaded) as probe_wrong:
        said_wrong = start_signup(loaded, wrong_proof, ip="192.0.2.1", now=NOW)
    with statements(loaded) as probe_unknown:
        said_unknown = start_signup(loaded, unknown, ip="192.0.2.2", now=NOW)
    assert said_wrong == said_unknown
    assert said_wrong.status is StartStatus.NO_MATCH and said_wrong.attempts_left == 4
    assert probe_wrong == probe_unknown  # the same statements, in the same order
    with loaded.connect() as conn:
        counted = conn.execute(
            select(proof_failure.c.account).order_by(proof_failure.c.id)
        ).scalars()
        assert list(counted) == ["100000002", "100000099"]
    assert codes_sent(loaded) == []


def test_five_wrong_proofs_lock_the_account_for_the_web_too(loaded: Engine) -> None:
    bad = SignupRequest("ZOE", "100000002", "nope", phone="050 987 6543", channels=("sms",))
    said = [
        start_signup(loaded, bad, ip=f"192.0.2.{n}", now=NOW + timedelta(minutes=n))
        for n in range(5)
    ]
    assert [s.status for s in said] == [StartStatus.NO_MATCH] * 4 + [StartStatus.LOCKED]
    assert said[-1].helpline == "0 800 300 015"
    right = SignupRequest("ZOE", "100000002", "UA-777002", phone="050 987 6543", channels=("sms",))
    later = start_signup(loaded, right, ip="192.0.2.99", now=NOW + timedelta(minutes=10))
    assert later.status is StartStatus.LOCKED and codes_sent(loaded) == []
    with loaded.connect() as conn:
        locked = conn.execute(
            select(subscriber.c.self_service_locked_at).where(subscriber.c.account == "100000002")
        ).scalar_one()
    assert locked is not None


LIMITS = SignupLimits(
    per_ip_hour=3,
    codes_per_address_hour=2,
    codes_per_address_day=3,
    per_account_hour=2,
    confirms_per_ip_hour=4,
)


def test_rate_limit_per_ip(loaded: Engine) -> None:
    requests = [
        SignupRequest("EG", "6-100001", "10001", phone=f"040 999 80{n}", channels=("sms",))
        for n in range(4)
    ]
    limits = replace(LIMITS, per_account_hour=10)
    said = [start_signup(loaded, r, ip=IP, now=NOW, limits=limits).status for r in requests[:3]]
    assert said == [StartStatus.CODE_SENT] * 3
    blocked = start_signup(loaded, requests[3], ip=IP, now=NOW, limits=limits)
    assert (blocked.status, blocked.limit) == (StartStatus.RATE_LIMITED, "ip")
    # Another IP is not held back by this one; this one is after an hour.
    assert start_signup(loaded, requests[3], ip="192.0.2.5", now=NOW, limits=limits).pending
    hour = NOW + timedelta(hours=1, seconds=1)
    assert start_signup(loaded, requests[0], ip=IP, now=hour, limits=limits).pending


def test_rate_limit_per_account(loaded: Engine) -> None:
    said = [
        start_signup(
            loaded,
            SignupRequest("EG", "6-100001", "10001", phone=f"040 999 81{n}", channels=("sms",)),
            ip=f"192.0.2.{n}",
            now=NOW,
            limits=LIMITS,
        )
        for n in range(3)
    ]
    assert [s.status for s in said][:2] == [StartStatus.CODE_SENT] * 2
    assert (said[2].status, said[2].limit) == (StartStatus.RATE_LIMITED, "account")


def test_rate_limit_per_phone_covers_new_codes(loaded: Engine) -> None:
    [pending] = start_signup(loaded, SI, ip=IP, now=NOW, limits=LIMITS).pending
    assert resend_code(loaded, pending.token, ip=IP, now=NOW, limits=LIMITS).pending
    third = resend_code(loaded, pending.token, ip=IP, now=NOW, limits=LIMITS)
    assert (third.status, third.limit) == (StartStatus.RATE_LIMITED, "address")
    other_account = SignupRequest("EG", "6-100003", "10003", phone=SI.phone, channels=("sms",))
    again = start_signup(loaded, other_account, ip="192.0.2.8", now=NOW, limits=LIMITS)
    assert (again.status, again.limit) == (StartStatus.RATE_LIMITED, "address")
    assert len(codes_sent(loaded)) == 2
    nextday = NOW + timedelta(hours=1, minutes=1)
    assert resend_code(loaded, pending.token, ip=IP, now=nextday, limits=LIMITS).pending
    day = resend_code(loaded, pending.token, ip=IP, now=nextday, limits=LIMITS)
    assert day.limit == "address"  # three a day


def test_rate_limit_on_codes_entered_per_ip(loaded: Engine) -> None:
    [pending] = start_signup(loaded, SI, ip=IP, now=NOW, limits=LIMITS).pending
    [(_c, _a, code)] = codes_sent(loaded)
    for n in range(LIMITS.confirms_per_ip_hour):
        confirm_signup(loaded, f"made-up-{n}", "000000", ip=IP, actor="web", now=NOW, limits=LIMITS)
    result = confirm_signup(loaded, pending.token, code, ip=IP, actor="web", now=NOW, limits=LIMITS)
    assert result.status is ConfirmStatus.RATE_LIMITED
    assert contacts(loaded, PHONE) == []


def form(**changes: object) -> SignupRequest:
    return replace(SI, **changes)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("request_", "field"),
    [
        (form(utility="XX"), "utility"),
        (form(identifier="abc"), "identifier"),
        (form(proof=" "), "proof"),
        (form(proof="1" * 65), "proof"),
        (form(phone="04 20 83 333"), "phone"),  # a landline
        (form(phone="", email="x@", channels=("email",)), "email"),
        (form(channels=()), "channels"),
        (form(channels=("fax",)), "channels"),
        (form(channels=("email",)), "phone"),
        (form(language="de"), "language"),
    ],
)
def test_bad_input_names_the_field_and_changes_nothing(
    loaded: Engine, request_: SignupRequest, field: str
) -> None:
    before = dump(loaded)
    with pytest.raises(SignupInputError) as raised:
        start_signup(loaded, request_, ip=IP, now=NOW)
    assert raised.value.field == field and str(raised.value)
    assert dump(loaded) == before


def test_a_code_that_is_not_six_digits_uses_no_try(loaded: Engine) -> None:
    [pending] = start_signup(loaded, SI, ip=IP, now=NOW).pending
    before = dump(loaded)
    for typed in ("", "12345", "1234567", "12a456", "١٢٣٤٥٦x"):
        with pytest.raises(SignupInputError):
            confirm_signup(loaded, pending.token, typed, ip=IP, actor="web", now=NOW)
    assert dump(loaded) == before


def test_activation_left_for_the_engine_is_done_once(loaded: Engine) -> None:
    """What a PostgreSQL web role leaves behind (status confirmed) the engine activates."""
    [pending] = start_signup(loaded, SI, ip=IP, now=NOW).pending
    with loaded.begin() as conn:
        conn.execute(
            signup.update().values(status="confirmed", confirmed_at=NOW + timedelta(minutes=1))
        )
    assert activate_confirmed(loaded, actor="dispatchd", now=NOW + timedelta(minutes=2)) == 1
    assert activate_confirmed(loaded, actor="dispatchd", now=NOW + timedelta(minutes=3)) == 0
    assert [c[0] for c in contacts(loaded, PHONE)] == ["opted_in"]
    assert confirm(loaded, pending.token, "123456") is ConfirmStatus.ACTIVE
    with loaded.connect() as conn:
        audits = conn.execute(
            select(func.count()).where(audit_log.c.action == "web_signup")
        ).scalar_one()
    assert audits == 1
