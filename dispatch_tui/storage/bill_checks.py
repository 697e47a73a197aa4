"""Bill checks by SMS and by the bots: who may learn an account's amount, the
answer in the subscriber's language, and the record of every check.

Amounts go only where the account's owner is known to be: by SMS, a phone
that is a proven contact of that subscriber (the utility's records, or a
Ukrainian sign-up with the meter-number proof); by a bot, a chat that proved
the account. The check is a request in itself, so no service consent is
asked for (bill_info consent is about messages the utility starts); an
opted-out phone still gets the answer it asks for. An unknown account gets
the same answer as an unverified phone, so texting numbers reveals nothing.
Every check is kept in `bill_check` with its outcome.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, select

from dispatch_tui.domain.balances import bill_text, wording
from dispatch_tui.storage.balances import newest_balance, record_bill_check
from dispatch_tui.storage.helplines import helpline_for
from dispatch_tui.storage.tables import contact, subscriber, utility


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


def sms_bill_check(
    conn: Connection, phone: str, account: str | None, *, now: datetime, language: str
) -> BillAnswer:
    """Answer "<keyword> [<client number>]" from `phone` and record it; `language`
    is the one to use until the subscriber's is known."""
    proven = conn.execute(
        select(contact.c.id, contact.c.subscriber_id, subscriber.c.account, subscriber.c.language)
        .join(subscriber, subscriber.c.id == contact.c.subscriber_id)
        .where(contact.c.channel == "sms", contact.c.address == phone, contact.c.proven)
        .order_by(contact.c.id)
    ).all()
    if account is None:
        mine = {row.subscriber_id: row for row in proven}
        if len(mine) != 1:
            outcome = "unknown_account" if mine else "unverified"
            return _record(conn, BillAnswer(outcome, wording(language).which, language), "sms", now)
        account = str(next(iter(mine.values())).account)
    named = conn.execute(
        select(subscriber.c.id, subscriber.c.language, utility.c.contact_phone)
        .join(utility, utility.c.id == subscriber.c.utility_id)
        .where(subscriber.c.account == account)
        .order_by(subscriber.c.id)
    ).all()
    verified = next((row for row in proven if row.account == account), None)
    if verified is None:
        helpline = str(named[0].contact_phone) if named else helpline_for(conn, account)
        text = wording(language).unverified.format(account=account, phone=helpline)
        outcome = "unverified" if named else "unknown_account"
        subscriber_id = int(named[0].id) if named else None
        answer = BillAnswer(outcome, text, language, subscriber_id=subscriber_id)
        return _record(conn, answer, "sms", now)
    found = answer_for(conn, int(verified.subscriber_id), str(verified.language))
    answer = BillAnswer(
        found.outcome,
        found.text,
        found.language,
        int(verified.id),
        found.subscriber_id,
        found.snapshot_id,
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
