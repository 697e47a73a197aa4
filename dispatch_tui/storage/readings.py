"""Meter readings in the database (seed 003): one intake for SMS, the bots and the
public web form, a meter change by an operator, and a subscriber's history.

`submit_reading` runs inside the caller's write transaction (the inbound SMS,
the chat message, the web form), so the reading, its answer and the inbound
row it answers commit together. Every intake is kept with its channel and
evidence (phone, chat, a digest of the web client's IP), refused ones with
their reason; nothing is accepted but a reading that passed every check
(domain.reading_checks). A correction inside the window marks the period's
earlier reading `replaced` and is compared with the reading before it.

Who may give a reading for an account: by SMS a phone that is a proven
contact of its subscriber; by a bot a chat linked to it (proven, opted in);
on the web whoever gave its proof in the same transaction (storage.signup's
check, counted against the same budget). An account with several metering
points names one: the reading then starts with the metering point id
instead of the account ("<metering point id> <reading>"); the answer to an
account alone lists its points.

On PostgreSQL the web's role reads no subscriptions and no readings: a
proven subscriber's points, their last readings and the replacement come
from SECURITY DEFINER functions that check the proof again (migration 0027).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, insert, literal, or_, select, text, update

from dispatch_tui.domain.bot_dialogue import fold_proof
from dispatch_tui.domain.reading_checks import Previous, Reason, check_reading
from dispatch_tui.domain.reading_parse import ParseError, SmsReading, format_wh, parse_values
from dispatch_tui.domain.reading_replies import accepted_text, refused_text
from dispatch_tui.domain.reading_window import ReadingSettings, window_for
from dispatch_tui.domain.roles import Action
from dispatch_tui.storage import audit
from dispatch_tui.storage.db import write_transaction
from dispatch_tui.storage.tables import (
    contact,
    meter_reading,
    metering_point,
    subscriber,
    subscription,
    utility,
)
from dispatch_tui.storage.users import refusal_for

__all__ = [
    "Intake",
    "IntakeResult",
    "ReadingError",
    "ReadingRow",
    "link_inbound",
    "readings_of",
    "record_meter_change",
    "settings_of",
    "submit_reading",
    "verified_for",
]

BOT_CHANNELS = ("telegram", "viber")


class ReadingError(ValueError):
    """An operator's request that cannot be done; says why (nothing changed)."""


@dataclass(frozen=True)
class Intake:
    """One reading as it came in. `chat` is the phone (SMS), the chat id (bots) or
    "web:<digest of the IP>"; `proven` (web only) the (subscriber, metering point or
    None) the form's proof matched in this transaction."""

    channel: str
    identifier: str
    values: str
    text: str
    chat: str
    language: str | None = None
    inbound_id: int | None = None
    utility_id: int | None = None
    """The web form's utility (SMS and bots find it from the account)."""
    proven: tuple[tuple[int, int | None], ...] = ()
    proof: str = ""
    """The web form's proof: the meter it names is the one read (an account may have
    several)."""


@dataclass(frozen=True)
class IntakeResult:
    reading_id: int
    accepted: bool
    reason: Reason | None
    reply: str
    language: str
    contact_id: int | None = None
    period: str | None = None
    values: tuple[int, ...] = ()
    consumption_wh: int | None = None
    replaced: bool = False


@dataclass(frozen=True)
class _Who:
    subscriber_id: int
    utility_id: int
    language: str
    mp_id: int | None
    contact_id: int | None
    web: bool = False
    proof: str = ""


@dataclass(frozen=True)
class _Point:
    id: int
    code: str
    previous: Previous | None


def settings_of(conn: Connection, utility_id: int) -> tuple[str, ReadingSettings]:
    """The utility's time zone and reading settings."""
    row = conn.execute(
        select(
            utility.c.timezone,
            utility.c.reading_registers,
            utility.c.reading_opens_days,
            utility.c.reading_closes_day,
            utility.c.reading_max_kwh_day,
        ).where(utility.c.id == utility_id)
    ).one()
    return row.timezone, ReadingSettings(
        row.reading_registers,
        row.reading_opens_days,
        row.reading_closes_day,
        row.reading_max_kwh_day,
    )


def _named(conn: Connection, identifier: str) -> list[Any]:
    """(subscriber, utility, language, metering point or None) an account number or a
    metering point id names."""
    columns = (subscriber.c.id, subscriber.c.utility_id, subscriber.c.language)
    by_account = select(*columns, literal(None).label("mp")).where(
        subscriber.c.account == identifier
    )
    by_point = (
        select(*columns, metering_point.c.id.label("mp"))
        .join(subscription, subscription.c.subscriber_id == subscriber.c.id)
        .join(metering_point, metering_point.c.id == subscription.c.mp_id)
        .where(metering_point.c.mp_id == identifier)
    )
    # A metering point first: a Ukrainian account number is often its point's id too.
    return [*conn.execute(by_point).all(), *conn.execute(by_account).all()]


def verified_for(conn: Connection, phone: str, shaped: SmsReading) -> bool:
    """Whether the phone is a proven contact of a subscriber the SMS names."""
    named = [int(n.id) for n in _named(conn, shaped.identifier)]
    return bool(named) and (
        conn.execute(
            select(contact.c.id)
            .where(
                contact.c.channel == "sms",
                contact.c.address == phone,
                contact.c.subscriber_id.in_(named),
                contact.c.proven.is_(True),
            )
            .limit(1)
        ).first()
        is not None
    )


def _sender(conn: Connection, intake: Intake) -> tuple[_Who | None, Reason | None, int | None]:
    """Whom an SMS or chat gives a reading for, or why nobody: (who, reason, the
    subscriber named, for the refused row's evidence)."""
    named = _named(conn, intake.identifier)
    if not named:
        return None, Reason.UNKNOWN_ACCOUNT, None
    query = select(contact.c.id, contact.c.subscriber_id).where(
        contact.c.channel == intake.channel,
        contact.c.address == intake.chat,
        contact.c.subscriber_id.in_([int(n.id) for n in named]),
        contact.c.proven.is_(True),
    )
    if intake.channel in BOT_CHANNELS:
        query = query.where(contact.c.consent == "opted_in")
    verified = {int(r.subscriber_id): int(r.id) for r in conn.execute(query)}
    for n in named:
        if int(n.id) in verified:
            mp = None if n.mp is None else int(n.mp)
            return (
                _Who(int(n.id), int(n.utility_id), n.language, mp, verified[int(n.id)]),
                None,
                None,
            )
    return None, Reason.UNVERIFIED, int(named[0].id)


def _web(conn: Connection, intake: Intake) -> _Who | None:
    """The subscriber the web form's proof matched (its language is the form's)."""
    if not intake.proven or intake.utility_id is None:
        return None
    sid, mp = intake.proven[0]
    return _Who(sid, intake.utility_id, intake.language or "en", mp, None, True, intake.proof)


def _names_meter(proof: str, meter_number: str | None, eic: str | None) -> bool:
    """Whether the proof is this metering point's meter number or EIC tail."""
    tails = {fold_proof(meter_number or ""), fold_proof((eic or "")[-5:])} - {""}
    return fold_proof(proof) in tails


def _web_role(conn: Connection, who: _Who) -> bool:
    """Whether this is the web on PostgreSQL, which reads through migration 0027's
    functions (SQLite is one trust domain)."""
    return conn.dialect.name == "postgresql" and who.web


def _points(conn: Connection, who: _Who, period: str | None) -> list[_Point]:
    """The subscriber's metering points (only `who.mp_id` when named) with the last
    reading taken before `period`'s."""
    if _web_role(conn, who):
        rows = conn.execute(
            text("SELECT * FROM dispatch_web_reading_points(:sid, :period, :proof)"),
            {"sid": who.subscriber_id, "period": period, "proof": who.proof},
        ).all()
    else:
        last = meter_reading.alias("last")
        last_id = (
            select(last.c.id)
            .where(
                last.c.mp_id == metering_point.c.id,
                last.c.status == "accepted",
                or_(last.c.period.is_(None), last.c.period != (period or "")),
            )
            .order_by(last.c.received_at.desc(), last.c.id.desc())
            .limit(1)
            .scalar_subquery()
        )
        rows = conn.execute(
            select(
                metering_point.c.id.label("mp"),
                metering_point.c.mp_id.label("code"),
                meter_reading.c.value_wh,
                meter_reading.c.night_wh,
                meter_reading.c.received_at.label("at"),
                metering_point.c.meter_number,
                metering_point.c.eic,
            )
            .join(subscription, subscription.c.mp_id == metering_point.c.id)
            .outerjoin(meter_reading, meter_reading.c.id == last_id)
            .where(subscription.c.subscriber_id == who.subscriber_id)
            .order_by(metering_point.c.mp_id)
        ).all()
        if who.web:
            rows = [r for r in rows if _names_meter(who.proof, r.meter_number, r.eic)]
    points = []
    for r in rows:
        if who.mp_id is not None and int(r.mp) != who.mp_id:
            continue
        previous = None
        if r.value_wh is not None:
            values = (
                (int(r.value_wh),) if r.night_wh is None else (int(r.value_wh), int(r.night_wh))
            )
            at = r.at if r.at.tzinfo else r.at.replace(tzinfo=UTC)
            previous = Previous(values, at)
        points.append(_Point(int(r.mp), str(r.code), previous))
    return points


def _replace(conn: Connection, who: _Who, mp: int, period: str) -> bool:
    """Mark the period's accepted reading replaced; whether there was one."""
    if _web_role(conn, who):
        count = conn.execute(
            text("SELECT dispatch_web_replace_reading(:sid, :mp, :period)"),
            {"sid": who.subscriber_id, "mp": mp, "period": period},
        ).scalar_one()
        return bool(count)
    done = conn.execute(
        update(meter_reading)
        .where(
            meter_reading.c.mp_id == mp,
            meter_reading.c.period == period,
            meter_reading.c.status == "accepted",
        )
        .values(status="replaced")
    )
    return bool(done.rowcount)


def submit_reading(conn: Connection, intake: Intake, *, now: datetime) -> IntakeResult:
    """Check and store one reading (accepted or refused) in the caller's transaction,
    and the answer to give; see the module docstring."""
    row: dict[str, Any] = {
        "identifier": intake.identifier[:40],
        "channel": intake.channel,
        "received_at": now,
        "text": intake.text[:200],
        "chat": intake.chat[:64],
        "inbound_id": intake.inbound_id,
        "meter_change": False,
        # PostgreSQL writes the session user itself (migration 0027).
        "actor": "web" if intake.channel == "web" else "engine",
    }
    language = intake.language or "en"

    def refuse(reason: Reason, reply: str, **more: Any) -> IntakeResult:
        more.setdefault("utility_id", intake.utility_id)
        reading_id = conn.execute(
            insert(meter_reading).returning(meter_reading.c.id),
            {**row, **more, "status": "refused", "reason": str(reason)},
        ).scalar_one()
        return IntakeResult(int(reading_id), False, reason, reply, language, more.get("contact_id"))

    found: tuple[_Who | None, Reason | None, int | None]
    if intake.channel == "web":
        found = _web(conn, intake), Reason.UNKNOWN_ACCOUNT, None
    else:
        found = _sender(conn, intake)
    who, nobody, named = found
    if who is None:
        nobody = nobody or Reason.UNKNOWN_ACCOUNT
        # Whether the account exists is not told: by SMS and bots an unknown account
        # gets the unverified answer; the web's refusal names nobody (an unknown
        # account and a wrong proof look alike). The row keeps the real reason.
        said = Reason.UNKNOWN_ACCOUNT if intake.channel == "web" else Reason.UNVERIFIED
        return refuse(
            nobody,
            refused_text(language, said, identifier=intake.identifier),
            subscriber_id=named,
        )
    language = intake.language or who.language
    tz, settings = settings_of(conn, who.utility_id)
    window = window_for(now, tz, settings)
    period = window.period if window else None
    evidence = {
        "utility_id": who.utility_id,
        "subscriber_id": who.subscriber_id,
        "contact_id": who.contact_id,
    }
    points = _points(conn, who, period)
    if len(points) != 1:
        which = Reason.CHOOSE_POINT if points else Reason.UNKNOWN_ACCOUNT
        codes = tuple(p.code for p in points)
        return refuse(
            which,
            refused_text(language, which, identifier=intake.identifier, points=codes),
            **evidence,
        )
    [point] = points
    evidence["mp_id"] = point.id
    try:
        values = parse_values(intake.values, settings.registers)
    except ParseError as exc:
        bad = Reason(exc.refusal.value)
        return refuse(bad, refused_text(language, bad, registers=settings.registers), **evidence)
    numbers = {"value_wh": values[0], "night_wh": values[1] if len(values) > 1 else None}
    checked = check_reading(values, point.previous, now, tz, settings)
    if checked.reason is not None:
        reply = refused_text(
            language,
            checked.reason,
            first=checked.window.first_day,
            last=checked.window.last_day,
            previous=point.previous.values if point.previous else (),
            max_kwh_per_day=settings.max_kwh_per_day,
        )
        return refuse(checked.reason, reply, **evidence, **numbers)
    period = checked.window.period
    replaced = _replace(conn, who, point.id, period)
    reading_id = conn.execute(
        insert(meter_reading).returning(meter_reading.c.id),
        {
            **row,
            **evidence,
            **numbers,
            "period": period,
            "consumption_wh": checked.consumption_wh,
            "status": "accepted",
            "reason": None,
        },
    ).scalar_one()
    reply = accepted_text(language, period, values, checked.consumption_wh, replaced=replaced)
    return IntakeResult(
        int(reading_id),
        True,
        None,
        reply,
        language,
        who.contact_id,
        period,
        values,
        checked.consumption_wh,
        replaced,
    )


def link_inbound(conn: Connection, reading_id: int, inbound_id: int) -> None:
    """The inbound message (SMS, chat update) a reading came in, stored after it."""
    conn.execute(
        update(meter_reading).where(meter_reading.c.id == reading_id).values(inbound_id=inbound_id)
    )


# --- operators --------------------------------------------------------------------------


@dataclass(frozen=True)
class ReadingRow:
    """One line of a subscriber's readings on the Subscribers screen."""

    id: int
    mp_id: int | None
    point: str
    period: str
    values: str
    channel: str
    received_at: datetime
    status: str
    """accepted, replaced, refused (with its reason) or meter change."""


def readings_of(engine: Engine, subscriber_id: int, *, limit: int = 50) -> list[ReadingRow]:
    """The subscriber's readings, newest first."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(meter_reading, metering_point.c.mp_id.label("point"))
            .outerjoin(metering_point, metering_point.c.id == meter_reading.c.mp_id)
            .where(meter_reading.c.subscriber_id == subscriber_id)
            .order_by(meter_reading.c.received_at.desc(), meter_reading.c.id.desc())
            .limit(limit)
        ).all()
    result = []
    for r in rows:
        values = [v for v in (r.value_wh, r.night_wh) if v is not None]
        status = "meter change" if r.meter_change else r.status
        if r.reason:
            status += f": {r.reason}"
        result.append(
            ReadingRow(
                r.id,
                r.mp_id,
                r.point or r.identifier,
                r.period or "",
                " / ".join(format_wh(v) for v in values) or r.text,
                r.channel,
                r.received_at,
                status,
            )
        )
    return result


def record_meter_change(
    engine: Engine,
    mp_id: int,
    values: str,
    *,
    actor: str,
    note: str,
    now: datetime | None = None,
) -> int:
    """The meter at the metering point was replaced; `values` is what the new one
    showed when fitted (often 0): later readings are compared with it.

    Role-checked like lifting a lock (a dispatcher may, a viewer may not) and audited.
    """
    note = " ".join(note.split())
    if not note:
        raise ReadingError("say why: a meter change is recorded with a reason")
    now = now or datetime.now(UTC)
    with write_transaction(engine) as conn:
        refusal = refusal_for(conn, actor, Action.CANCEL)
        if refusal:
            raise ReadingError(refusal)
        point = conn.execute(
            select(
                metering_point.c.utility_id, metering_point.c.mp_id, subscription.c.subscriber_id
            )
            .outerjoin(subscription, subscription.c.mp_id == metering_point.c.id)
            .where(metering_point.c.id == mp_id)
            .limit(1)
        ).first()
        if point is None:
            raise ReadingError(f"metering point {mp_id} does not exist")
        _tz, settings = settings_of(conn, point.utility_id)
        try:
            parsed = parse_values(values, settings.registers)
        except ParseError as exc:
            raise ReadingError(
                f"the new meter's reading {values[:40]!r}: {exc.refusal} "
                f"({settings.registers} register(s), like 0 or 12345,6)"
            ) from None
        reading_id = conn.execute(
            insert(meter_reading).returning(meter_reading.c.id),
            {
                "utility_id": point.utility_id,
                "subscriber_id": point.subscriber_id,
                "mp_id": mp_id,
                "identifier": point.mp_id,
                "value_wh": parsed[0],
                "night_wh": parsed[1] if len(parsed) > 1 else None,
                "channel": "operator",
                "received_at": now,
                "text": values[:200],
                "status": "accepted",
                "meter_change": True,
                "actor": actor,
            },
        ).scalar_one()
        audit.append(
            conn,
            actor=actor,
            action="meter_change",
            entity="metering_point",
            entity_id=mp_id,
            detail={"point": point.mp_id, "reading": values[:40], "note": note[:200]},
            at=now,
        )
    return int(reading_id)
