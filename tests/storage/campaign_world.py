"""A world for campaign tests: the CSV sample data, operators, consent to the
account services and balances snapshots written with plain Core inserts (the
balances importer is another part of issue 14)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, insert, select

from dispatch_tui.domain.campaign import CampaignDraft
from dispatch_tui.storage import campaigns, users
from dispatch_tui.storage.tables import (
    balance,
    balance_snapshot,
    contact,
    contact_service,
    subscriber,
    utility,
)
from tests.storage.csvdata import load_all

SOFIA = ZoneInfo("Europe/Sofia")


@dataclass
class World:
    eh: int
    """Electrohold (BG, Europe/Sofia, quiet hours 21:00-08:00)."""
    accounts: dict[str, int]
    """Account → subscriber id, of EH's sample subscriber and those added here."""
    contacts: dict[tuple[str, str], int]
    """(account, channel) → contact id."""


def add_subscriber(
    engine: Engine, utility_id: int, account: str, language: str, channels: Sequence[str]
) -> tuple[int, dict[str, int]]:
    now = datetime.now(UTC)
    with engine.begin() as conn:
        sid = conn.execute(
            insert(subscriber).returning(subscriber.c.id),
            {
                "utility_id": utility_id,
                "account": account,
                "name": "",
                "language": language,
                "created_at": now,
            },
        ).scalar_one()
        addresses = {
            "sms": f"+35988{account[-7:]}",
            "email": f"{account}@example.bg",
            "telegram": f"7{account[-8:]}",
        }
        ids = {
            channel: conn.execute(
                insert(contact).returning(contact.c.id),
                {
                    "subscriber_id": sid,
                    "channel": channel,
                    "address": addresses[channel],
                    "consent": "opted_in",
                    "consent_at": now,
                    "consent_source": "test",
                },
            ).scalar_one()
            for channel in channels
        }
    return sid, ids


def opt_in(engine: Engine, contact_ids: Sequence[int], service: str) -> None:
    now = datetime.now(UTC)
    with engine.begin() as conn:
        conn.execute(
            insert(contact_service),
            [
                {
                    "contact_id": c,
                    "service": service,
                    "consent": "opted_in",
                    "consent_at": now,
                    "consent_source": "test",
                }
                for c in contact_ids
            ],
        )


def snapshot(
    engine: Engine,
    utility_id: int,
    rows: Sequence[tuple[int, int, date, date | None]],
    *,
    as_of: datetime | None = None,
) -> int:
    """A balances snapshot of (subscriber id, amount in minor units, due date, last payment)."""
    now = datetime.now(UTC)
    with engine.begin() as conn:
        newest = conn.execute(
            select(balance_snapshot.c.as_of)
            .where(balance_snapshot.c.utility_id == utility_id)
            .order_by(balance_snapshot.c.as_of.desc())
        ).scalar()
        when = as_of or (newest + timedelta(hours=1) if newest else now - timedelta(days=1))
        sid = conn.execute(
            insert(balance_snapshot).returning(balance_snapshot.c.id),
            {
                "utility_id": utility_id,
                "as_of": when,
                "imported_at": now,
                "imported_by": "root",
                "source": "test.csv",
                "rows": len(rows),
            },
        ).scalar_one()
        if rows:
            conn.execute(
                insert(balance),
                [
                    {
                        "snapshot_id": sid,
                        "subscriber_id": s,
                        "amount_minor": amount,
                        "currency": "BGN",
                        "due_date": due,
                        "last_payment_date": paid,
                    }
                    for s, amount, due, paid in rows
                ],
            )
    return int(sid)


def make_world(engine: Engine, tmp_path: Path) -> World:
    """The CSV sample data, operators (root, ana, bohdan, olena, viktor as in the
    outage tests) and `populate`."""
    load_all(engine, tmp_path)
    users.bootstrap_admin(engine, "root", actor="root")
    for login, role in (
        ("ana", "dispatcher"),
        ("bohdan", "shift_lead"),
        ("olena", "shift_lead"),
        ("viktor", "viewer"),
    ):
        users.add_operator(engine, login, role, actor="root")
    return populate(engine)


def populate(engine: Engine) -> World:
    """Beside the sample data: EH's sample subscriber (SMS and e-mail) plus four
    more, all with a payment reminder opt-in except 300000000004 and 300000000005;
    300000000004's SMS is opted in to reading reminders only."""
    with engine.connect() as conn:
        eh = conn.execute(select(utility.c.id).where(utility.c.code == "EH")).scalar_one()
        maria = conn.execute(
            select(subscriber.c.id).where(subscriber.c.account == "300000000001")
        ).scalar_one()
        maria_contacts = dict(
            conn.execute(
                select(contact.c.channel, contact.c.id).where(contact.c.subscriber_id == maria)
            ).all()
        )
    accounts = {"300000000001": maria}
    contacts = {("300000000001", ch): cid for ch, cid in maria_contacts.items()}
    for account, language, channels in (
        ("300000000002", "bg", ("sms",)),
        ("300000000003", "en", ("sms", "telegram")),
        ("300000000004", "bg", ("sms",)),
        ("300000000005", "bg", ("sms",)),
    ):
        sid, ids = add_subscriber(engine, eh, account, language, channels)
        accounts[account] = sid
        contacts.update({(account, ch): cid for ch, cid in ids.items()})
    opt_in(
        engine,
        [
            cid
            for (account, _), cid in contacts.items()
            if account not in ("300000000004", "300000000005")
        ],
        "payment_reminder",
    )
    opt_in(engine, [contacts["300000000004", "sms"]], "reading_reminder")
    return World(eh, accounts, contacts)


def local(day: date, hour: int, minute: int = 0) -> datetime:
    """A Sofia wall-clock time as UTC."""
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=SOFIA).astimezone(UTC)


def payment_draft(world: World, **changes: object) -> CampaignDraft:
    base = CampaignDraft(
        utility_id=world.eh,
        kind="payment_reminder",
        channels=("sms", "email", "telegram"),
        due_at=datetime.now(UTC) + timedelta(minutes=5),
        min_days_overdue=10,
    )
    return CampaignDraft(**{**base.__dict__, **changes})  # type: ignore[arg-type]


def approved(engine: Engine, world: World, **changes: object) -> int:
    """A payment reminder ana drafted and bohdan approved."""
    cid = campaigns.create_draft(engine, payment_draft(world, **changes), actor="ana")
    campaigns.submit(engine, cid, actor="ana")
    campaigns.approve(engine, cid, actor="bohdan")
    return cid
