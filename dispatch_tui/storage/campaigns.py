"""Campaigns in the database: drafting, the approval lifecycle, the audience.

Like outages (`storage.outage_lifecycle`), every change runs in one write
transaction that re-reads the campaign, checks the operator's role from the
database (`users.refusal_for`), the draft's rules and the lifecycle
(`domain.campaign`), writes, and appends to the audit log; a refusal is
audited too. On PostgreSQL the triggers of migration 0028 hold the same
rules against anyone with psql.

The audience is one query: a payment reminder goes to the contacts of
accounts overdue by at least N days (in the utility's local date) with an
amount due in the campaign's snapshot, a reading reminder to the contacts of
the utility's accounts; in both cases only contacts opted in to that service
and not opted out of everything (STOP). A payment reminder goes only to a
contact whose ownership was shown (`contact.proven`): it tells that the
account is overdue. An account that paid since (a newer snapshot says so,
`paid_since`) is no longer in it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    ColumnElement,
    Connection,
    Date,
    Engine,
    Select,
    and_,
    exists,
    func,
    insert,
    literal,
    or_,
    select,
    update,
)

from dispatch_tui.domain import campaign as lifecycle
from dispatch_tui.domain import sms
from dispatch_tui.domain.campaign import CampaignDraft, CampaignKind, overdue_cutoff
from dispatch_tui.domain.campaign_texts import ReminderText, reminder, text_language
from dispatch_tui.domain.outage import TransitionError
from dispatch_tui.domain.reading_window import next_window_start
from dispatch_tui.domain.roles import Action
from dispatch_tui.storage import audit, audit_anchor, balances, readings
from dispatch_tui.storage.db import write_transaction
from dispatch_tui.storage.outages import approval_audited, approver_held_role
from dispatch_tui.storage.tables import (
    balance,
    balance_snapshot,
    campaign,
    contact,
    contact_service,
    message,
    subscriber,
    utility,
)
from dispatch_tui.storage.users import refusal_for

WAITING = ("pending", "retry_wait")


class CampaignError(Exception):
    """A refused campaign change; `str()` says why, for a person."""


@dataclass(frozen=True)
class CampaignRow:
    id: int
    utility_id: int
    utility_code: str
    timezone: str
    language: str
    kind: str
    min_days_overdue: int | None
    snapshot_id: int | None
    channels: tuple[str, ...]
    due_at: datetime
    status: str
    created_by: str
    submitted_by: str | None
    approved_by: str | None
    cancelled_by: str | None

    @property
    def title(self) -> str:
        name = lifecycle.KIND_NAMES[CampaignKind(self.kind)]
        if self.min_days_overdue is not None:
            return f"{name}, {self.min_days_overdue}+ days overdue"
        return name

    @property
    def short_title(self) -> str:
        """The title for a narrow list: "payment 10+ days", "meter reading"."""
        if self.kind == CampaignKind.PAYMENT_REMINDER:
            return f"payment {self.min_days_overdue}+ days"
        return "meter reading"


_COLUMNS = (
    campaign.c.id,
    campaign.c.utility_id,
    utility.c.code.label("utility_code"),
    utility.c.timezone,
    utility.c.language,
    campaign.c.kind,
    campaign.c.min_days_overdue,
    campaign.c.snapshot_id,
    campaign.c.channels,
    campaign.c.due_at,
    campaign.c.status,
    campaign.c.created_by,
    campaign.c.submitted_by,
    campaign.c.approved_by,
    campaign.c.cancelled_by,
)


def _row(r: Any) -> CampaignRow:
    return CampaignRow(**{**r._mapping, "channels": tuple(r.channels)})


def _base() -> Select[Any]:
    return select(*_COLUMNS).join(utility, utility.c.id == campaign.c.utility_id)


def get_campaign(conn: Connection, campaign_id: int) -> CampaignRow:
    found = conn.execute(_base().where(campaign.c.id == campaign_id)).first()
    if found is None:
        raise CampaignError(f"campaign {campaign_id} does not exist")
    return _row(found)


def list_campaigns(conn: Connection, *, limit: int = 200) -> list[CampaignRow]:
    """Newest first."""
    rows = conn.execute(_base().order_by(campaign.c.id.desc()).limit(limit))
    return [_row(r) for r in rows]


def reading_reminder_due(conn: Connection, utility_id: int, now: datetime) -> datetime:
    """When a meter-reading reminder of the utility goes by default: as its next
    reading window opens (seed 003: readings are best sent then)."""
    zone, settings = readings.settings_of(conn, utility_id)
    return next_window_start(now, zone, settings)


def sendable_campaign_ids() -> Select[tuple[int]]:
    """Rule 1 for campaigns, as `outages.sendable_outage_ids` for outages: approved
    by someone other than their author, who held a role that may approve when they
    did, with the approval in the audit log; not cancelled."""
    return select(campaign.c.id).where(
        campaign.c.status.in_(("approved", "sending", "done")),
        campaign.c.approved_by.is_not(None),
        campaign.c.approved_at.is_not(None),
        campaign.c.approved_by != campaign.c.created_by,
        approver_held_role(campaign.c.approved_by, campaign.c.approved_at),
        approval_audited("campaign", campaign.c.id, campaign.c.approved_by),
    )


def service_consent(
    contact_id: ColumnElement[Any], service: ColumnElement[Any] | str
) -> ColumnElement[bool]:
    """The contact is opted in to `service` and not opted out of everything."""
    return and_(
        exists().where(
            contact_service.c.contact_id == contact_id,
            contact_service.c.service == service,
            contact_service.c.consent == "opted_in",
        ),
        exists().where(contact.c.id == contact_id, contact.c.consent != "opted_out"),
    )


def paid_since(
    subscriber_id: ColumnElement[Any], snapshot_id: ColumnElement[Any] | int
) -> ColumnElement[bool]:
    """A snapshot newer than `snapshot_id` (by its moment, `as_of`) says the account
    paid: nothing due, or a payment later than the one `snapshot_id` knew of.

    Correlation is spelled out: the innermost test refers to columns two queries up
    (the account's), which SQLAlchemy would otherwise add to its own FROM."""
    newer, old = balance.alias("newer"), balance.alias("old")
    newer_snapshot, then = balance_snapshot.alias("newer_snapshot"), balance_snapshot.alias("then")
    known_payment = (
        exists()
        .where(
            old.c.snapshot_id == snapshot_id,
            old.c.subscriber_id == subscriber_id,
            old.c.last_payment_date.is_not(None),
            old.c.last_payment_date >= newer.c.last_payment_date,
        )
        .correlate_except(old)
    )
    return (
        exists()
        .where(
            newer.c.subscriber_id == subscriber_id,
            newer_snapshot.c.id == newer.c.snapshot_id,
            then.c.id == snapshot_id,
            newer_snapshot.c.as_of > then.c.as_of,
            or_(
                newer.c.amount_minor <= 0,
                and_(newer.c.last_payment_date.is_not(None), ~known_payment),
            ),
        )
        .correlate_except(newer, newer_snapshot, then)
    )


def local_today(now: datetime, timezone: str) -> date:
    return now.astimezone(ZoneInfo(timezone)).date()


def newer_snapshot_exists(conn: Connection, row: CampaignRow) -> bool:
    """Whether a snapshot newer than the campaign's exists (only then can anyone
    have paid since: `paid_since` is not worth evaluating per account otherwise)."""
    then = balance_snapshot.alias("then")
    return (
        conn.execute(
            select(balance_snapshot.c.id)
            .join(then, then.c.id == (row.snapshot_id or 0))
            .where(
                balance_snapshot.c.utility_id == row.utility_id,
                balance_snapshot.c.as_of > then.c.as_of,
            )
            .limit(1)
        ).first()
        is not None
    )


def _overdue(row: CampaignRow, now: datetime) -> list[ColumnElement[bool]]:
    """The campaign snapshot's balances that are due and overdue enough now."""
    assert row.snapshot_id is not None and row.min_days_overdue is not None
    cutoff = overdue_cutoff(local_today(now, row.timezone), row.min_days_overdue)
    return [
        balance.c.snapshot_id == row.snapshot_id,
        balance.c.amount_minor > 0,
        balance.c.due_date <= cutoff,
    ]


def audience(row: CampaignRow, now: datetime, *, payers: bool = True) -> Select[Any]:
    """(contact_id, subscriber_id, channel, address, language, account, due_date) of
    everyone this campaign writes to now; `due_date` is the payment's (payment
    reminders) or the campaign's local due date (reading reminders). `payers=False`
    says no newer snapshot exists (`newer_snapshot_exists`): nobody paid since."""
    channels = list(row.channels)
    if row.kind == CampaignKind.PAYMENT_REMINDER:
        paid = [~paid_since(subscriber.c.id, row.snapshot_id or 0)] if payers else []
        return (
            select(
                contact.c.id.label("contact_id"),
                subscriber.c.id.label("subscriber_id"),
                contact.c.channel,
                contact.c.address,
                subscriber.c.language,
                subscriber.c.account,
                balance.c.due_date,
            )
            .select_from(balance)
            .join(subscriber, subscriber.c.id == balance.c.subscriber_id)
            .join(contact, contact.c.subscriber_id == subscriber.c.id)
            .join(
                contact_service,
                and_(
                    contact_service.c.contact_id == contact.c.id,
                    contact_service.c.service == row.kind,
                ),
            )
            .where(
                *_overdue(row, now),
                contact_service.c.consent == "opted_in",
                contact.c.consent != "opted_out",
                contact.c.proven.is_(True),
                contact.c.channel.in_(channels),
                *paid,
            )
        )
    due = local_today(row.due_at, row.timezone)
    return (
        select(
            contact.c.id.label("contact_id"),
            subscriber.c.id.label("subscriber_id"),
            contact.c.channel,
            contact.c.address,
            subscriber.c.language,
            subscriber.c.account,
            literal(due, Date()).label("due_date"),
        )
        .select_from(contact_service)
        .join(contact, contact.c.id == contact_service.c.contact_id)
        .join(subscriber, subscriber.c.id == contact.c.subscriber_id)
        .where(
            contact_service.c.service == row.kind,
            contact_service.c.consent == "opted_in",
            contact.c.consent != "opted_out",
            contact.c.channel.in_(channels),
            subscriber.c.utility_id == row.utility_id,
        )
    )


@dataclass(frozen=True)
class TextGroup:
    """Recipients sharing one text: same language, channel, date and account length."""

    language: str
    channel: str
    due_date: date
    account_length: int
    recipients: int


def text_groups(conn: Connection, row: CampaignRow, now: datetime) -> list[TextGroup]:
    """The audience counted by text (the preview's figures)."""
    found = audience(row, now, payers=newer_snapshot_exists(conn, row)).subquery()
    rows = conn.execute(
        select(
            found.c.language,
            found.c.channel,
            found.c.due_date,
            func.length(found.c.account),
            func.count(),
        ).group_by(
            found.c.language, found.c.channel, found.c.due_date, func.length(found.c.account)
        )
    )
    return [
        TextGroup(language, channel, _as_date(due), int(length), int(n))
        for language, channel, due, length, n in rows
    ]


def text_keys(conn: Connection, row: CampaignRow, now: datetime) -> list[TextGroup]:
    """Every text a build may need, found without the audience's joins: for a payment
    reminder the (language, due date, account length) of the overdue balances for each
    of the campaign's channels (a few more than needed, far cheaper to find);
    `recipients` is 0 there."""
    if row.kind != CampaignKind.PAYMENT_REMINDER:
        return text_groups(conn, row, now)
    length = func.length(subscriber.c.account)
    keys = conn.execute(
        select(subscriber.c.language, balance.c.due_date, length)
        .select_from(balance)
        .join(subscriber, subscriber.c.id == balance.c.subscriber_id)
        .where(*_overdue(row, now))
        .group_by(subscriber.c.language, balance.c.due_date, length)
    ).all()
    return [
        TextGroup(language, channel, _as_date(due), int(n), 0)
        for language, due, n in keys
        for channel in row.channels
    ]


def _as_date(value: Any) -> date:
    """A date from the database (SQLite hands a bound literal back as text)."""
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def texts(
    conn: Connection, row: CampaignRow
) -> Callable[[str, str, date], tuple[str, ReminderText]]:
    """(language, channel, due date) → (the language written in, the text)."""
    name, phone = conn.execute(
        select(utility.c.name, utility.c.contact_phone).where(utility.c.id == row.utility_id)
    ).one()
    cache: dict[tuple[str, str, date], tuple[str, ReminderText]] = {}

    def text(language: str, channel: str, due: date) -> tuple[str, ReminderText]:
        key = (language, channel, due)
        if key not in cache:
            written = text_language(language, row.language)
            cache[key] = (
                written,
                reminder(
                    row.kind, written, channel, due=due, contact_phone=phone, utility_name=name
                ),
            )
        return cache[key]

    return text


@dataclass(frozen=True)
class PreviewSample:
    language: str
    channel: str
    recipients: int
    subject: str | None
    body: str
    segments: int


@dataclass(frozen=True)
class CampaignPreview:
    recipients: int
    by_channel: dict[str, int]
    samples: list[PreviewSample]
    """One per language and channel: the text of its most common due date."""
    sms_segments: int
    sms_cost: Decimal
    currency: str


def preview(
    conn: Connection,
    campaign_id: int,
    *,
    price_per_segment: Decimal = Decimal("0"),
    currency: str = "EUR",
    now: datetime | None = None,
) -> CampaignPreview:
    """Counts per channel and language, segments and cost, and the texts, as the
    campaign would be built now."""
    now = now or datetime.now(UTC)
    row = get_campaign(conn, campaign_id)
    text = texts(conn, row)
    by_channel: dict[str, int] = {}
    best: dict[tuple[str, str], tuple[int, TextGroup]] = {}
    counts: dict[tuple[str, str], int] = {}
    segments = 0
    for g in text_groups(conn, row, now):
        by_channel[g.channel] = by_channel.get(g.channel, 0) + g.recipients
        key = (g.language, g.channel)
        counts[key] = counts.get(key, 0) + g.recipients
        if key not in best or best[key][0] < g.recipients:
            best[key] = (g.recipients, g)
        if g.channel == "sms":
            segments += g.recipients * text(g.language, "sms", g.due_date)[1].segments(
                g.account_length
            )
    samples = []
    for (language, channel), (_, g) in sorted(best.items()):
        _, rendered = text(language, channel, g.due_date)
        account = "X" * g.account_length  # the account's place: its length counts
        samples.append(
            PreviewSample(
                language,
                channel,
                counts[language, channel],
                rendered.subject,
                rendered.body(account),
                sms.analyse(rendered.body(account)).segments if channel == "sms" else 1,
            )
        )
    return CampaignPreview(
        recipients=sum(by_channel.values()),
        by_channel=by_channel,
        samples=samples,
        sms_segments=segments,
        sms_cost=sms.estimate_cost(segments, price_per_segment),
        currency=currency,
    )


# --- lifecycle -------------------------------------------------------------------


def _require(conn: Connection, actor: str, action: Action) -> None:
    refusal = refusal_for(conn, actor, action)
    if refusal:
        raise CampaignError(refusal.replace("outages", "campaigns"))


def _audit_refusal(engine: Engine, campaign_id: int | str, actor: str, name: str, why: str) -> None:
    with write_transaction(engine) as conn:
        audit.append(
            conn,
            actor=actor,
            action=f"{name}_refused",
            entity="campaign",
            entity_id=campaign_id,
            detail={"reason": why},
        )


def create_draft(
    engine: Engine, draft: CampaignDraft, *, actor: str, now: datetime | None = None
) -> int:
    """A new draft on the utility's newest snapshot (payment reminders need one)."""
    now = now or datetime.now(UTC)
    try:
        with write_transaction(engine) as conn:
            _require(conn, actor, Action.DRAFT)
            problems = lifecycle.draft_problems(draft, now)
            if problems:
                raise CampaignError("; ".join(problems))
            known = conn.execute(
                select(utility.c.code).where(utility.c.id == draft.utility_id)
            ).scalar()
            if known is None:
                raise CampaignError(f"utility: {draft.utility_id} does not exist")
            snapshot = None
            if draft.kind == CampaignKind.PAYMENT_REMINDER:
                newest = balances.newest_snapshot(conn, draft.utility_id)
                snapshot = None if newest is None else newest.id
                if snapshot is None:
                    raise CampaignError(
                        f"{known}: no balances imported yet; import a snapshot first"
                    )
            campaign_id = int(
                conn.execute(
                    insert(campaign).returning(campaign.c.id),
                    {
                        "utility_id": draft.utility_id,
                        "kind": draft.kind,
                        "min_days_overdue": draft.min_days_overdue,
                        "snapshot_id": snapshot,
                        "channels": list(draft.channels),
                        "due_at": draft.due_at,
                        "status": "draft",
                        "created_by": actor,
                        "created_at": now,
                    },
                ).scalar_one()
            )
            audit.append(
                conn,
                actor=actor,
                action="draft",
                entity="campaign",
                entity_id=campaign_id,
                detail={
                    "kind": draft.kind,
                    "utility": known,
                    "min_days_overdue": draft.min_days_overdue,
                    "snapshot": snapshot,
                    "channels": list(draft.channels),
                    "due_at": draft.due_at.isoformat(),
                },
            )
            return campaign_id
    except CampaignError as exc:
        _audit_refusal(engine, "new", actor, "draft", str(exc))
        raise


Step = Callable[[Connection, CampaignRow, lifecycle.CampaignState], lifecycle.CampaignState]


def _transition(
    engine: Engine,
    campaign_id: int,
    actor: str,
    action: Action,
    name: str,
    step: Step,
    *,
    values: Callable[[datetime], dict[str, Any]],
) -> None:
    try:
        with write_transaction(engine) as conn:
            _require(conn, actor, action)
            row = get_campaign(conn, campaign_id)
            state = lifecycle.CampaignState(
                lifecycle.CampaignStatus(row.status), row.created_by, row.approved_by
            )
            try:
                new = step(conn, row, state)
            except TransitionError as exc:
                raise CampaignError(str(exc)) from exc
            now = datetime.now(UTC)
            changed = conn.execute(
                update(campaign)
                .where(campaign.c.id == campaign_id, campaign.c.status == row.status)
                .values(status=str(new.status), **values(now))
            ).rowcount
            if not changed:
                raise CampaignError("changed meanwhile; look again")
            if new.status == lifecycle.CampaignStatus.CANCELLED:
                conn.execute(
                    update(message)
                    .where(message.c.campaign_id == campaign_id, message.c.status.in_(WAITING))
                    .values(status="cancelled")
                )
            audit.append(
                conn,
                actor=actor,
                action=name,
                entity="campaign",
                entity_id=campaign_id,
                detail={"kind": row.kind, "title": row.title},
            )
    except CampaignError as exc:
        _audit_refusal(engine, campaign_id, actor, name, str(exc))
        raise


def submit(engine: Engine, campaign_id: int, *, actor: str) -> None:
    _transition(
        engine,
        campaign_id,
        actor,
        Action.SUBMIT,
        "submit",
        lambda conn, row, state: lifecycle.submit(state, actor),
        values=lambda now: {"submitted_by": actor, "submitted_at": now},
    )


def approve(engine: Engine, campaign_id: int, *, actor: str) -> None:
    """Approve a submitted campaign drafted by someone else; the engine sends it
    from its due time on."""
    _transition(
        engine,
        campaign_id,
        actor,
        Action.APPROVE,
        "approve",
        lambda conn, row, state: lifecycle.approve(state, actor),
        values=lambda now: {"approved_by": actor, "approved_at": now},
    )
    audit_anchor.anchor(engine, reason="approval")


def cancel(engine: Engine, campaign_id: int, *, actor: str) -> None:
    """Cancel a campaign not yet done, and every message of it not yet handed out."""
    _transition(
        engine,
        campaign_id,
        actor,
        Action.CANCEL,
        "cancel",
        lambda conn, row, state: lifecycle.cancel(state),
        values=lambda now: {"cancelled_by": actor, "cancelled_at": now},
    )


def message_counts(conn: Connection, campaign_ids: Sequence[int]) -> dict[int, dict[str, int]]:
    """Messages per campaign and state (the monitor's progress)."""
    out: dict[int, dict[str, int]] = {}
    if not campaign_ids:
        return out
    rows = conn.execute(
        select(message.c.campaign_id, message.c.status, func.count())
        .where(message.c.campaign_id.in_(list(campaign_ids)))
        .group_by(message.c.campaign_id, message.c.status)
    )
    for campaign_id, status, n in rows:
        out.setdefault(int(campaign_id), {})[str(status)] = int(n)
    return out
