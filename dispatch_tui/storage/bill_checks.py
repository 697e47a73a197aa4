"""Bill checks by SMS and by the bots: who may learn an account's amount, the
answer in the subscriber's language, and the record of every check.

Amounts go only where the account's owner is known to be: by SMS, a phone
that is a proven contact of that subscriber (the utility's records, or a
Ukrainian sign-up with the meter-number proof); by a bot, a chat that proved
the account. The check is a request in itself, so no service consent is
asked for (bill_info consent is about messages the utility starts); an
opted-out phone still gets the answer it asks for. An unknown account gets
the same answer as an unverified phone, so texting numbers reveals nothing.
Every check is kept in `bill_check` with its outcome, also when the inbound
reply limits withhold the reply (the inbound row then says so).

"<bill keyword> START" / "STOP" switch bill information and payment
reminders for the accounts the phone is proven for (outage notices stay;
STOP alone still ends everything).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import phonenumbers
from sqlalchemy import Connection, select

from dispatch_tui.domain.balances import bill_text, wording
from dispatch_tui.storage.balances import newest_balance, record_bill_check
from dispatch_tui.storage.helplines import helpline_for
from dispatch_tui.storage.services import set_service_consent
from dispatch_tui.storage.tables import contact, subscriber, utility

SMS_SERVICES = ("bill_info", "payment_reminder")
"""What "<bill keyword> START" / "STOP" switches: the services about the bill."""


@dataclass(frozen=True)
class BillAnswer:
    outcome: str
    """As kept in bill_check: answered, unverified, unknown_account, no_balance."""
    text: str
    language: str
    contact_id: int | None = None
    subscriber_id: int | None = None
    snapshot_id: int | None = None


def answer_for(conn: Connection, subscriber_id: int, language: str) -> BillAnswer:
    """The figures of a verified account, or that there are none yet."""
    account = str(
        conn.execute(select(subscriber.c.account).where(subscriber.c.id == subscriber_id)).scalar()
    )
    found = newest_balance(conn, subscriber_id)
    if found is None:
        text = wording(language).no_balance.format(account=account)
        return BillAnswer("no_balance", text, language, subscriber_id=subscriber_id)
    return BillAnswer(
        "answered",
        bill_text(found.view(), language),
        language,
        subscriber_id=subscriber_id,
        snapshot_id=found.snapshot_id,
    )


def _record(conn: Connection, answer: BillAnswer, channel: str, now: datetime) -> BillAnswer:
    record_bill_check(
        conn,
        at=now,
        channel=channel,
        outcome=answer.outcome,
        subscriber_id=answer.subscriber_id,
        snapshot_id=answer.snapshot_id,
    )
    return answer


def _proven_phone(conn: Connection, phone: str) -> list[tuple[int, int, str, str]]:
    """(contact, subscriber, account, language) of each proven SMS contact of `phone`."""
    rows = conn.execute(
        select(contact.c.id, contact.c.subscriber_id, subscriber.c.account, subscriber.c.language)
        .join(subscriber, subscriber.c.id == contact.c.subscriber_id)
        .where(contact.c.channel == "sms", contact.c.address == phone, contact.c.proven)
        .order_by(contact.c.id)
    )
    return [(int(r.id), int(r.subscriber_id), str(r.account), str(r.language)) for r in rows]


def _phone_helpline(conn: Connection, phone: str) -> str:
    """The number of the utility of the phone's country (the first, if several)."""
    try:
        region = phonenumbers.region_code_for_number(phonenumbers.parse(phone, None)) or ""
    except phonenumbers.NumberParseException:
        region = ""
    found = conn.execute(
        select(utility.c.contact_phone)
        .order_by((utility.c.country == region).desc(), utility.c.id)
        .limit(1)
    ).scalar()
    return str(found or "")


@dataclass(frozen=True)
class ServicesAnswer:
    outcome: str
    text: str
    language: str
    contact_id: int | None = None


def sms_bill_services(
    conn: Connection, phone: str, *, opted_in: bool, now: datetime, language: str, source: str
) -> ServicesAnswer:
    """ "<bill keyword> START|STOP": bill information and payment reminders on or off for
    every account `phone` is proven for; a phone on no account's records is told whom to
    call (outage sign-ups by number alone prove nothing)."""
    proven = _proven_phone(conn, phone)
    if not proven:
        text = wording(language).register_unverified.format(phone=_phone_helpline(conn, phone))
        return ServicesAnswer("bill services: phone not verified", text, language)
    ids = [contact_id for contact_id, *_rest in proven]
    for service in SMS_SERVICES:
        set_service_consent(conn, ids, service, opted_in=opted_in, now=now, source=source)
    own = proven[0][3]
    texts = wording(own)
    text = texts.registered if opted_in else texts.unregistered
    state = "on" if opted_in else "off"
    return ServicesAnswer(f"bill services {state} ({len(ids)} contact(s))", text, own, ids[0])


def sms_bill_check(
    conn: Connection, phone: str, account: str | None, *, now: datetime, language: str
) -> BillAnswer:
    """Answer "<keyword> [<client number>]" from `phone` and record it; `language`
    is the one to use until the subscriber's is known."""
    proven = _proven_phone(conn, phone)
    if account is None:
        mine = {row[1]: row for row in proven}
        if len(mine) != 1:
            outcome = "unknown_account" if mine else "unverified"
            return _record(conn, BillAnswer(outcome, wording(language).which, language), "sms", now)
        account = next(iter(mine.values()))[2]
    named = conn.execute(
        select(subscriber.c.id, subscriber.c.language, utility.c.contact_phone)
        .join(utility, utility.c.id == subscriber.c.utility_id)
        .where(subscriber.c.account == account)
        .order_by(subscriber.c.id)
    ).all()
    verified = next((row for row in proven if row[2] == account), None)
    if verified is None:
        helpline = str(named[0].contact_phone) if named else helpline_for(conn, account)
        text = wording(language).unverified.format(account=account, phone=helpline)
        outcome = "unverified" if named else "unknown_account"
        subscriber_id = int(named[0].id) if named else None
        answer = BillAnswer(outcome, text, language, subscriber_id=subscriber_id)
        return _record(conn, answer, "sms", now)
    contact_id, subscriber_id, _account, own = verified
    found = answer_for(conn, subscriber_id, own)
    answer = BillAnswer(
        found.outcome, found.text, found.language, contact_id, subscriber_id, found.snapshot_id
    )
    return _record(conn, answer, "sms", now)


def chat_bill_check(
    conn: Connection, channel: str, chat_id: str, *, now: datetime, language: str
) -> list[BillAnswer]:
    """/bill in a chat: the figures of every account the chat proved (in the chat's
    language), each recorded; none proved: one "unverified" record and no answers
    (the dialogue says how to add an account)."""
    linked = conn.scalars(
        select(contact.c.subscriber_id)
        .join(subscriber, subscriber.c.id == contact.c.subscriber_id)
        .where(
            contact.c.channel == channel,
            contact.c.address == chat_id,
            contact.c.consent == "opted_in",
            contact.c.proven,
        )
        .order_by(subscriber.c.account)
    ).all()
    if not linked:
        _record(conn, BillAnswer("unverified", "", language), channel, now)
        return []
    return [_record(conn, answer_for(conn, int(sid), language), channel, now) for sid in linked]
