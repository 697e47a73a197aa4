"""Finding a caller and recording their opt-out, on both backends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, insert, select

from dispatch_tui.storage import subscribers, users
from dispatch_tui.storage.tables import audit_log, contact, inbound_message, message
from tests.storage.csvdata import load_all

NOW = datetime(2025, 3, 10, 9, 0, tzinfo=UTC)


@pytest.fixture
def loaded(engine: Engine, tmp_path: Path) -> Engine:
    load_all(engine, tmp_path)
    users.bootstrap_admin(engine, "root", actor="root")
    users.add_operator(engine, "ana", "dispatcher", actor="root")
    users.add_operator(engine, "viktor", "viewer", actor="root")
    return engine


def names(engine: Engine, text: str) -> list[str]:
    with engine.connect() as conn:
        return [h.name for h in subscribers.find_subscribers(conn, text)]


@pytest.mark.parametrize(
    ("text", "who"),
    [
        ("100234", ["Ana Novak"]),
        ("1002", ["Ana Novak", "Janez Kranjc"]),
        ("041 123 456", ["Ana Novak"]),
        ("041123456", ["Ana Novak"]),
        ("+38641123456", ["Ana Novak"]),
        ("+386 41 123 456", ["Ana Novak"]),
        ("00386 41 123-456", ["Ana Novak"]),
        ("123 456", ["Ana Novak", "Мария Иванова"]),  # last digits: both numbers end so
        ("12345", []),  # too few digits to compare a tail
        ("ANA.NOVAK@example.si", ["Ana Novak"]),
        ("Prešernova", ["Ana Novak"]),
        ("labore", ["Janez Kranjc"]),
        ("0888 123 456", ["Мария Иванова"]),
        ("nobody@example.si", []),
        ("", []),
    ],
)
def test_find_by_number_phone_email_or_address(loaded: Engine, text: str, who: list[str]) -> None:
    assert sorted(names(loaded, text)) == sorted(who)


def test_a_hit_says_how_it_was_found_and_where_the_customer_lives(loaded: Engine) -> None:
    with loaded.connect() as conn:
        [hit] = subscribers.find_subscribers(conn, "+38641123456")
    assert (hit.utility, hit.account, hit.language, hit.matched_on) == (
        "EG",
        "100234",
        "sl",
        "phone",
    )
    assert "Prešernova" in hit.address


def sms_and_email(engine: Engine) -> tuple[int, int, int]:
    with engine.connect() as conn:
        [hit] = subscribers.find_subscribers(conn, "100234")
        ids = dict(
            conn.execute(
                select(contact.c.channel, contact.c.id).where(contact.c.subscriber_id == hit.id)
            ).all()
        )
    return hit.id, ids["sms"], ids["email"]


def add_message(
    engine: Engine, contact_id: int, status: str, *, minutes: int, error: str | None = None
) -> int:
    with engine.begin() as conn:
        address = conn.execute(
            select(contact.c.address).where(contact.c.id == contact_id)
        ).scalar_one()
        channel = "email" if "@" in address else "sms"
        # A message needs a notice or an inbound message it answers; this one answers a text.
        inbound_id = conn.execute(
            insert(inbound_message)
            .values(
                received_at=NOW,
                channel="sms",
                sender=address[:64],
                receiver="1",
                text="?",
                outcome="test",
                replied=True,
            )
            .returning(inbound_message.c.id)
        ).scalar_one()
        return int(
            conn.execute(
                insert(message)
                .values(
                    inbound_id=inbound_id,
                    contact_id=contact_id,
                    channel=channel,
                    address=address,
                    language="sl",
                    body="Obvestilo",
                    status=status,
                    last_error=error,
                    next_attempt_at=NOW,
                    expires_at=NOW + timedelta(days=1),
                    created_at=NOW + timedelta(minutes=minutes),
                )
                .returning(message.c.id)
            ).scalar_one()
        )


def statuses(engine: Engine) -> dict[int, str]:
    with engine.connect() as conn:
        return dict(conn.execute(select(message.c.id, message.c.status)).all())  # type: ignore[arg-type]


def consent_of(engine: Engine, contact_id: int) -> tuple[str, str]:
    with engine.connect() as conn:
        row = conn.execute(
            select(contact.c.consent, contact.c.consent_source).where(contact.c.id == contact_id)
        ).one()
    return row.consent, row.consent_source


def test_detail_lists_contacts_places_and_newest_messages_first(loaded: Engine) -> None:
    sid, sms, email = sms_and_email(loaded)
    add_message(loaded, sms, "delivered", minutes=1)
    add_message(loaded, email, "failed", minutes=2, error="mailbox full")
    with loaded.connect() as conn:
        detail = subscribers.subscriber_detail(conn, sid)
    assert detail.hit.name == "Ana Novak" and detail.hit.address
    assert {(c.channel, c.address, c.consent) for c in detail.contacts} == {
        ("sms", "+38641123456", "opted_in"),
        ("email", "ana.novak@example.si", "opted_in"),
    }
    assert all(c.consent_source for c in detail.contacts)
    assert len(detail.addresses) == 2 and detail.addresses[0].startswith("6-100001")
    assert [(h.channel, h.status, h.kind, h.error) for h in detail.history] == [
        ("email", "failed", "reply", "mailbox full"),
        ("sms", "delivered", "reply", ""),
    ]
    with loaded.connect() as conn, pytest.raises(subscribers.SubscriberError):
        subscribers.subscriber_detail(conn, 999_999)


def test_opt_out_wins_over_waiting_messages_and_is_audited(loaded: Engine) -> None:
    _, sms, email = sms_and_email(loaded)
    pending = add_message(loaded, sms, "pending", minutes=1)
    retrying = add_message(loaded, sms, "retry_wait", minutes=2)
    delivered = add_message(loaded, sms, "delivered", minutes=3)
    other = add_message(loaded, email, "pending", minutes=4)
    before = statuses(loaded)

    with pytest.raises(subscribers.SubscriberError, match="viewer"):
        subscribers.record_opt_out(loaded, sms, actor="viktor", reason="asked by phone")
    with pytest.raises(subscribers.SubscriberError, match="say why"):
        subscribers.record_opt_out(loaded, sms, actor="ana", reason="  ")
    assert consent_of(loaded, sms)[0] == "opted_in" and statuses(loaded) == before

    subscribers.record_opt_out(loaded, sms, actor="ana", reason="asked by phone", now=NOW)
    assert consent_of(loaded, sms) == ("opted_out", "operator ana: asked by phone")
    assert consent_of(loaded, email)[0] == "opted_in"
    after = statuses(loaded)
    assert (after[pending], after[retrying]) == ("cancelled", "cancelled")
    assert (after[delivered], after[other]) == ("delivered", "pending")
    with loaded.connect() as conn:
        entry = conn.execute(select(audit_log).order_by(audit_log.c.id.desc())).first()
    assert entry is not None
    assert (entry.actor, entry.action, entry.entity, entry.entity_id) == (
        "ana",
        "opt_out",
        "contact",
        str(sms),
    )
    assert entry.detail["cancelled"] == 2 and entry.detail["reason"] == "asked by phone"

    with pytest.raises(subscribers.SubscriberError, match="already opted out"):
        subscribers.record_opt_out(loaded, sms, actor="ana", reason="again")
    assert consent_of(loaded, sms) == ("opted_out", "operator ana: asked by phone")
