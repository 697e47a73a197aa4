"""The demo's meter readings (seed 003): some history for the Ukrainian utility's
customers, so the Subscribers screen (`r`) and `export readings` have something
to show. Cheap: a few hundred rows, deterministic for a seed.

The first customers with a single metering point and a phone send a reading
in each of the three windows before the demo's reference time, by the
channels they have (SMS, bot) or the web form; now and then one is corrected
within the window (the earlier kept as replaced) or refused as below the
last one.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from sqlalchemy import Connection, func, insert, select

from dispatch_tui.domain.reading_window import ReadingSettings, period_window
from dispatch_tui.storage.tables import contact, meter_reading, subscriber, subscription, utility

CUSTOMERS = 150
PERIODS = 3


def _months_before(moment: datetime, count: int) -> list[tuple[int, int]]:
    year, month = moment.year, moment.month
    months = []
    for _ in range(count):
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
        months.append((year, month))
    return months[::-1]


def write_readings(conn: Connection, *, country: str, reference: datetime, seed: int) -> int:
    """Readings for the first customers of the utility in `country`; how many rows."""
    rng = random.Random(seed)
    found = conn.execute(
        select(utility.c.id, utility.c.timezone).where(utility.c.country == country)
    ).first()
    if found is None:
        return 0
    single = (
        select(subscription.c.subscriber_id, func.min(subscription.c.mp_id).label("mp"))
        .group_by(subscription.c.subscriber_id)
        .having(func.count() == 1)
        .subquery()
    )
    customers = conn.execute(
        select(subscriber.c.id, subscriber.c.account, single.c.mp, contact.c.id.label("contact"))
        .join(single, single.c.subscriber_id == subscriber.c.id)
        .join(contact, contact.c.subscriber_id == subscriber.c.id)
        .where(subscriber.c.utility_id == found.id, contact.c.channel == "sms")
        .order_by(subscriber.c.id)
        .limit(CUSTOMERS)
    ).all()
    windows = [
        period_window(year, month, found.timezone, ReadingSettings())
        for year, month in _months_before(reference, PERIODS)
    ]
    rows = []
    for customer in customers:
        value = rng.randrange(1_000, 60_000) * 1000
        previous = None
        for window in windows:
            span = min(window.end, reference) - window.start
            at = window.start + timedelta(seconds=rng.randrange(int(span.total_seconds())))
            used = rng.randrange(80, 450) * 1000
            channel = rng.choice(("sms", "sms", "telegram", "viber", "web"))
            base = {
                "utility_id": found.id,
                "subscriber_id": customer.id,
                "mp_id": customer.mp,
                "identifier": customer.account,
                "channel": channel,
                "contact_id": customer.contact if channel == "sms" else None,
                "chat": "web:demo" if channel == "web" else None,
                "meter_change": False,
                "actor": "demo",
            }
            roll = rng.random()
            if roll < 0.05 and previous is not None:
                rows.append(
                    {
                        **base,
                        "received_at": at - timedelta(minutes=30),
                        "text": str((previous - 1000) // 1000),
                        "value_wh": previous - 1000,
                        "status": "refused",
                        "reason": "below_previous",
                    }
                )
            if roll > 0.95:
                rows.append(
                    {
                        **base,
                        "period": window.period,
                        "received_at": at - timedelta(minutes=10),
                        "text": str((value + used * 10) // 1000),
                        "value_wh": value + used * 10,
                        "consumption_wh": None if previous is None else used * 10,
                        "status": "replaced",
                    }
                )
            value += used
            rows.append(
                {
                    **base,
                    "period": window.period,
                    "received_at": at,
                    "text": str(value // 1000),
                    "value_wh": value,
                    "consumption_wh": None if previous is None else used,
                    "status": "accepted",
                }
            )
            previous = value
    columns = set().union(*rows) if rows else set()
    if rows:
        conn.execute(insert(meter_reading), [{c: r.get(c) for c in columns} for r in rows])
    return len(rows)
