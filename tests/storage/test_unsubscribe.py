"""One-click unsubscribe (RFC 8058) end to end, on SQLite and PostgreSQL: a notice
fanned out with the public web's URL, claimed and sent to a real aiosmtpd server;
each mail carries its contact's link in the body and the List-Unsubscribe headers,
the link's token opts out exactly that contact (audited, waiting mail cancelled),
and a forged or replayed token changes nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, insert, select

from dispatch_tui.engine.delivery import _outgoing
from dispatch_tui.senders.smtp import SmtpSender
from dispatch_tui.storage import fanout, outbox
from dispatch_tui.storage.tables import audit_log, contact, message, notice, subscriber
from dispatch_tui.storage.unsubscribe import UnsubscribeStatus, unsubscribe_by_token
from tests.factories import approved_outage
from tests.senders.test_smtp import Inbox, Serve, serve  # noqa: F401
from tests.storage.csvdata import dump

BASE = "https://outages.example.si/"
JANEZ = "janez@example.si"
ANA = "ana.novak@example.si"


def email_notice(engine: Engine, tmp_path: Path) -> tuple[int, datetime]:
    """An approved outage told by e-mail to Ana and Janez (both EG); its first e-mail notice."""
    oid = approved_outage(engine, tmp_path, channels=("sms", "email"))
    with engine.begin() as conn:
        janez = conn.execute(
            select(subscriber.c.id).where(subscriber.c.account == "100235")
        ).scalar_one()
        conn.execute(
            insert(contact).values(
                subscriber_id=janez,
                channel="email",
                address=JANEZ,
                consent="opted_in",
                consent_at=datetime.now(UTC),
                consent_source="test",
            )
        )
        notices = conn.execute(
            select(notice.c.id, notice.c.due_at, notice.c.channels)
            .where(notice.c.outage_id == oid)
            .order_by(notice.c.due_at, notice.c.id)
        ).all()
    # The e-mail's own notice: outside the SMS quiet hours the SMS notice is due at
    # the same moment, and comes first by id.
    first = next(row for row in notices if "email" in row.channels)
    return int(first.id), first.due_at


def consent_of(engine: Engine, address: str) -> str:
    with engine.connect() as conn:
        return str(
            conn.execute(select(contact.c.consent).where(contact.c.address == address)).scalar_one()
        )


async def test_each_mail_unsubscribes_exactly_its_contact(
    engine: Engine,
    tmp_path: Path,
    serve: Serve,  # noqa: F811
) -> None:
    notice_id, due_at = email_notice(engine, tmp_path)
    now = due_at + timedelta(seconds=1)
    assert fanout.fan_out(engine, notice_id, owner="t", now=now, unsubscribe_base=BASE)
    claimed = outbox.claim_batch(engine, owner="t", channels=["email"], now=now)
    assert sorted(m.address for m in claimed) == [ANA, JANEZ]
    inbox = Inbox()
    sender = SmtpSender(
        host="127.0.0.1",
        port=serve(inbox).port,
        security="none",
        from_address="Elektro Gorenjska <obvestila@example.si>",
    )
    outcomes = [await sender.send(_outgoing(m)) for m in claimed]
    await sender.close()
    assert [o.status for o in outcomes] == ["sent", "sent"]
    links = {}
    for mail in inbox.mails:
        header = str(mail["List-Unsubscribe"])
        assert header.startswith(f"<{BASE}unsubscribe/") and header.endswith(">")
        assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        url = header[1:-1]
        assert url in mail.get_content()  # the same link, for people, in the body
        links[str(mail["To"])] = url
    assert links[ANA] != links[JANEZ]
    token = links[ANA].rsplit("/", 1)[1]

    before = dump(engine)
    for forged in (token[:-1] + ("A" if token[-1] != "A" else "B"), token + "x", "", "../x"):
        assert unsubscribe_by_token(engine, forged, actor="web").status is (
            UnsubscribeStatus.UNKNOWN
        )
    assert dump(engine) == before

    done = unsubscribe_by_token(engine, token, actor="web")
    assert done.status is UnsubscribeStatus.UNSUBSCRIBED
    assert consent_of(engine, ANA) == "opted_out"
    assert consent_of(engine, JANEZ) == "opted_in"
    with engine.connect() as conn:
        audited = conn.execute(
            select(audit_log.c.actor, audit_log.c.entity_id).where(
                audit_log.c.action == "unsubscribe"
            )
        ).one()
        ana_id = conn.execute(select(contact.c.id).where(contact.c.address == ANA)).scalar_one()
    assert audited == ("web", str(ana_id))
    assert unsubscribe_by_token(engine, token, actor="web").status is UnsubscribeStatus.ALREADY


def test_mail_waiting_for_the_contact_is_cancelled(engine: Engine, tmp_path: Path) -> None:
    notice_id, due_at = email_notice(engine, tmp_path)
    now = due_at + timedelta(seconds=1)
    fanout.fan_out(engine, notice_id, owner="t", now=now, unsubscribe_base=BASE)
    with engine.connect() as conn:
        url = conn.execute(
            select(message.c.unsubscribe_url).where(message.c.address == ANA)
        ).scalar_one()
        others = conn.execute(
            select(message.c.unsubscribe_url).where(message.c.channel != "email")
        ).scalars()
        assert all(u is None for u in others)  # SMS carry no link
    done = unsubscribe_by_token(engine, url.rsplit("/", 1)[1], actor="web")
    assert done.cancelled == 1
    with engine.connect() as conn:
        status = conn.execute(select(message.c.status).where(message.c.address == ANA)).scalar_one()
    assert status == "cancelled"


def test_without_a_public_url_no_link(engine: Engine, tmp_path: Path) -> None:
    notice_id, due_at = email_notice(engine, tmp_path)
    fanout.fan_out(engine, notice_id, owner="t", now=due_at + timedelta(seconds=1))
    with engine.connect() as conn:
        rows = conn.execute(
            select(message.c.unsubscribe_url, message.c.body).where(message.c.channel == "email")
        ).all()
    assert rows and all(u is None and "unsubscribe" not in b.lower() for u, b in rows)
