"""The account services' monthly figures per utility, as the seeds report them
(seeds 002 and 004: subscribers registered, reminders sent, bill checks made).

A month is the utility's own local calendar month. Registrations are the
contacts that opted in to a service during the month and still are (the row
keeps its latest change); reminders are campaign messages handed to a gateway
(`sent_at`) in the month, and those of them delivered; bill checks are counted
by outcome, those of an unknown account (no subscriber, so no utility) under
"-".
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TextIO
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, func, select

from dispatch_tui.storage.tables import (
    bill_check,
    campaign,
    contact,
    contact_service,
    message,
    subscriber,
    utility,
)

_MONTH = re.compile(r"(\d{4})-(\d{2})")


def parse_month(text: str) -> date:
    """The first day of "YYYY-MM"; ValueError says what is wrong."""
    match = _MONTH.fullmatch(text.strip())
    if match is None:
        raise ValueError(f"'{text}' is not a month like 2026-11")
    year, month = map(int, match.groups())
    if not 1 <= month <= 12 or year < 2000:
        raise ValueError(f"'{text}' is not a month like 2026-11")
    return date(year, month, 1)


def _bounds(first: date, timezone: str) -> tuple[datetime, datetime]:
    zone = ZoneInfo(timezone)
    after = date(first.year + first.month // 12, first.month % 12 + 1, 1)
    start = datetime(first.year, first.month, 1, tzinfo=zone).astimezone(UTC)
    return start, datetime(after.year, after.month, 1, tzinfo=zone).astimezone(UTC)


@dataclass(frozen=True)
class Figure:
    utility: str
    figure: str
    """registrations, reminders_sent, reminders_delivered or bill_checks."""
    detail: str
    """The service, the campaign kind or the bill check's outcome."""
    count: int


def monthly(conn: Connection, first: date) -> list[Figure]:
    figures: list[Figure] = []
    utilities = conn.execute(
        select(utility.c.id, utility.c.code, utility.c.timezone).order_by(utility.c.code)
    ).all()
    for uid, code, timezone in utilities:
        start, end = _bounds(first, timezone)
        for service, n in conn.execute(
            select(contact_service.c.service, func.count())
            .join(contact, contact.c.id == contact_service.c.contact_id)
            .join(subscriber, subscriber.c.id == contact.c.subscriber_id)
            .where(
                subscriber.c.utility_id == uid,
                contact_service.c.consent == "opted_in",
                contact_service.c.consent_at >= start,
                contact_service.c.consent_at < end,
            )
            .group_by(contact_service.c.service)
            .order_by(contact_service.c.service)
        ):
            figures.append(Figure(code, "registrations", service, int(n)))
        for kind, sent, delivered in conn.execute(
            select(
                campaign.c.kind,
                func.count(),
                func.count().filter(message.c.status == "delivered"),
            )
            .join(campaign, campaign.c.id == message.c.campaign_id)
            .where(
                campaign.c.utility_id == uid,
                message.c.sent_at >= start,
                message.c.sent_at < end,
            )
            .group_by(campaign.c.kind)
            .order_by(campaign.c.kind)
        ):
            figures.append(Figure(code, "reminders_sent", kind, int(sent)))
            figures.append(Figure(code, "reminders_delivered", kind, int(delivered)))
        for outcome, n in conn.execute(
            select(bill_check.c.outcome, func.count())
            .join(subscriber, subscriber.c.id == bill_check.c.subscriber_id)
            .where(subscriber.c.utility_id == uid, bill_check.c.at >= start, bill_check.c.at < end)
            .group_by(bill_check.c.outcome)
            .order_by(bill_check.c.outcome)
        ):
            figures.append(Figure(code, "bill_checks", outcome, int(n)))
    start, end = _bounds(first, "UTC")
    for outcome, n in conn.execute(
        select(bill_check.c.outcome, func.count())
        .where(
            bill_check.c.subscriber_id.is_(None), bill_check.c.at >= start, bill_check.c.at < end
        )
        .group_by(bill_check.c.outcome)
        .order_by(bill_check.c.outcome)
    ):
        figures.append(Figure("-", "bill_checks", outcome, int(n)))
    return figures


def write_csv(figures: list[Figure], month: date, out: TextIO) -> None:
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["month", "utility", "figure", "detail", "count"])
    for f in figures:
        writer.writerow([f"{month:%Y-%m}", f.utility, f.figure, f.detail, f.count])
