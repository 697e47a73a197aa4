"""Finding a caller and recording their opt-out, on both backends."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from dispatch_tui.storage import subscribers, users
from dispatch_tui.storage.tables import audit_log, contact
from tests.storage.csvdata import load_all


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
        ("+386 41 123 456", ["Ana Novak"]),
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


def test_detail_and_audited_opt_out(loaded: Engine) -> None:
    with loaded.connect() as conn:
        [hit] = subscribers.find_subscribers(conn, "100234")
        detail = subscribers.subscriber_detail(conn, hit.id)
    assert {(c.channel, c.consent) for c in detail.contacts} == {
        ("sms", "opted_in"),
        ("email", "opted_in"),
    }
    assert len(detail.addresses) == 2 and detail.history == []
    sms = next(c for c in detail.contacts if c.channel == "sms")
    with pytest.raises(subscribers.SubscriberError, match="viewer"):
        subscribers.record_opt_out(loaded, sms.id, actor="viktor", reason="asked by phone")
    with pytest.raises(subscribers.SubscriberError, match="say why"):
        subscribers.record_opt_out(loaded, sms.id, actor="ana", reason="  ")
    subscribers.record_opt_out(loaded, sms.id, actor="ana", reason="asked by phone")
    with pytest.raises(subscribers.SubscriberError, match="already opted out"):
        subscribers.record_opt_out(loaded, sms.id, actor="ana", reason="again")
    with loaded.connect() as conn:
        consent, source = conn.execute(
            select(contact.c.consent, contact.c.consent_source).where(contact.c.id == sms.id)
        ).one()
        last = conn.execute(select(audit_log.c.action).order_by(audit_log.c.id.desc())).first()
    assert consent == "opted_out" and source == "operator ana: asked by phone"
    assert last is not None and last.action == "opt_out"
