"""Large test data in a few set-based statements, the same on both backends.

100,000 subscribers through the ORM or even `executemany` take 6-12 s; one
`INSERT … SELECT` over a recursive counter takes a fraction of that, which
keeps the race tests with a real audience inside the suite's time.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, Integer, String, cast, false, insert, literal, select, update
from sqlalchemy.sql.selectable import CTE

from dispatch_tui.domain.tree_path import child_path
from dispatch_tui.storage.tables import (
    contact,
    message,
    metering_point,
    node,
    outage_selection,
    subscriber,
    subscription,
    utility,
)
from tests.engine.factory import approved_notice

_codes = itertools.count(1)
FIRST = 100_000
"""Numbers start here so that every id has the same number of digits."""


@dataclass(frozen=True)
class Audience:
    utility_id: int
    region_id: int
    count: int


def _counter(count: int) -> CTE:
    """FIRST, FIRST + 1, … (count numbers): a recursive CTE both backends run."""
    seq = select(literal(FIRST, Integer).label("i")).cte("seq", recursive=True)
    step = select((seq.c.i + 1).label("i")).where(seq.c.i < FIRST + count - 1)
    return seq.union_all(step)


def audience(engine: Engine, count: int, *, now: datetime) -> Audience:
    """A utility with one region and one transformer station under which
    `count` metering points each have one subscriber with one SMS contact,
    opted in. Subscriber, metering point and contact of number i share
    the digits of i (account, meter number, phone)."""
    when = literal(now, subscriber.c.created_at.type)
    with engine.begin() as conn:
        uid = conn.execute(
            insert(utility).returning(utility.c.id),
            {
                "code": f"BIG{next(_codes)}",
                "name": "Elektro Test",
                "country": "SI",
                "timezone": "Europe/Ljubljana",
                "language": "sl",
                "contact_phone": "080 21 00",
                "sms_sender": "ELEKTRO",
            },
        ).scalar_one()
        parent_path = None
        parent_id = None
        for kind in ("region", "transformer_station"):
            nid = conn.execute(
                insert(node).returning(node.c.id),
                {
                    "utility_id": uid,
                    "parent_id": parent_id,
                    "kind": kind,
                    "code": f"{kind}-{uid}",
                    "name": kind,
                    "path": "pending",
                },
            ).scalar_one()
            parent_path = child_path(parent_path, nid)
            conn.execute(update(node).where(node.c.id == nid).values(path=parent_path))
            if parent_id is None:
                region = nid
            parent_id = nid
        seq = _counter(count)
        number = cast(seq.c.i, String)
        conn.execute(
            insert(metering_point).from_select(
                [
                    "utility_id",
                    "node_id",
                    "path",
                    "mp_id",
                    "settlement",
                    "street",
                    "house",
                    "search_key",
                    "meter_number",
                    "priority",
                ],
                select(
                    literal(uid),
                    literal(parent_id),
                    literal(parent_path),
                    literal("6-") + number,
                    literal("Kranj"),
                    literal("Prešernova ulica"),
                    number,
                    literal("presernova ulica kranj ") + number,
                    number,
                    false(),
                ),
            )
        )
        seq = _counter(count)
        conn.execute(
            insert(subscriber).from_select(
                ["utility_id", "account", "name", "language", "created_at"],
                select(literal(uid), cast(seq.c.i, String), literal(""), literal("sl"), when),
            )
        )
        conn.execute(
            insert(subscription).from_select(
                ["subscriber_id", "mp_id", "created_at"],
                select(subscriber.c.id, metering_point.c.id, when)
                .join(metering_point, metering_point.c.meter_number == subscriber.c.account)
                .where(subscriber.c.utility_id == uid, metering_point.c.utility_id == uid),
            )
        )
        conn.execute(
            insert(contact).from_select(
                [
                    "subscriber_id",
                    "channel",
                    "address",
                    "consent",
                    "consent_at",
                    "consent_source",
                ],
                select(
                    subscriber.c.id,
                    literal("sms"),
                    literal("+3864") + subscriber.c.account,
                    literal("opted_in"),
                    when,
                    literal("test"),
                ).where(subscriber.c.utility_id == uid),
            )
        )
    return Audience(int(uid), int(region), count)


def due_notice(engine: Engine, people: Audience, *, now: datetime) -> int:
    """An approved outage of the whole region in three days, with one SMS
    notice due now and not yet fanned out; its id."""
    with engine.begin() as conn:
        oid, nid = approved_notice(
            conn,
            people.utility_id,
            ["sms"],
            starts_in=timedelta(days=3),
            hours=4,
            notice_status="scheduled",
            now=now,
        )
        conn.execute(
            insert(outage_selection),
            {"outage_id": oid, "node_id": people.region_id, "exclude": False},
        )
    return nid


def built_outbox(engine: Engine, people: Audience, *, now: datetime, expires_at: datetime) -> int:
    """A fanned-out notice: one pending SMS per contact of `people`; its id."""
    with engine.begin() as conn:
        _, nid = approved_notice(
            conn,
            people.utility_id,
            ["sms"],
            starts_in=timedelta(days=3),
            hours=4,
            notice_status="done",
            now=now,
        )
        stamp = literal(now, message.c.created_at.type)
        conn.execute(
            insert(message).from_select(
                [
                    "notice_id",
                    "contact_id",
                    "channel",
                    "address",
                    "language",
                    "body",
                    "segments",
                    "status",
                    "attempts",
                    "next_attempt_at",
                    "expires_at",
                    "created_at",
                ],
                select(
                    literal(nid),
                    contact.c.id,
                    contact.c.channel,
                    contact.c.address,
                    literal("sl"),
                    literal("Načrtovan izklop"),
                    literal(1),
                    literal("pending"),
                    literal(0),
                    stamp,
                    literal(expires_at, message.c.expires_at.type),
                    stamp,
                )
                .join(subscriber, subscriber.c.id == contact.c.subscriber_id)
                .where(subscriber.c.utility_id == people.utility_id),
            )
        )
    return nid
