"""Outages in the database: drafts, the approval lifecycle, listing.

Every change runs in one write transaction that re-reads the outage, checks
the operator's role (from the database, not from the screen) and the
lifecycle rule (`domain.outage`), writes, and appends to the audit log. So
a viewer cannot change anything and an author cannot approve their own
outage, whatever a screen shows; the schema's check constraints are the
last line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    Row,
    Select,
    and_,
    delete,
    exists,
    func,
    insert,
    or_,
    select,
    update,
)

from dispatch_tui.domain import outage as lifecycle
from dispatch_tui.domain.notice_plan import (
    NoticeKind,
    channel_group,
    plan_follow_up,
    plan_notices,
)
from dispatch_tui.domain.roles import Action
from dispatch_tui.domain.rules import NoticeRules, defaults_for
from dispatch_tui.domain.selection import Selection
from dispatch_tui.storage import audit
from dispatch_tui.storage.affected import affected_condition, affected_counts
from dispatch_tui.storage.db import write_transaction
from dispatch_tui.storage.tables import message, notice, outage, outage_selection, utility
from dispatch_tui.storage.tables import metering_point as mp
from dispatch_tui.storage.users import refusal_for

CHANNELS = ("sms", "email", "telegram", "viber")
NOTICE_KINDS = ("advance", "day_before", "day_of")
MAX_TITLE = 200
MAX_REASON = 2000


class OutageError(Exception):
    """A refused outage change, in words for the person at the keyboard."""


@dataclass(frozen=True)
class OutageDraft:
    """What the drafting form produces."""

    utility_id: int
    title: str
    reason: str
    starts_at: datetime
    ends_at: datetime
    selection: Selection
    urgent: bool = False
    channels: tuple[str, ...] = CHANNELS
    notice_kinds: tuple[str, ...] = NOTICE_KINDS
    transliterate: bool = False
    texts: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class OutageRow:
    id: int
    utility_id: int
    utility_name: str
    country: str
    timezone: str
    title: str
    reason: str
    starts_at: datetime
    ends_at: datetime
    urgent: bool
    status: str
    channels: tuple[str, ...]
    notice_kinds: tuple[str, ...]
    transliterate: bool
    texts: dict[str, str]
    created_by: str
    approved_by: str | None
    rejection_reason: str | None
    revision: int
    amended_by: str | None
    affected_mps: int
    affected_subscribers: int
    updated_at: datetime

    @property
    def rules(self) -> NoticeRules:
        return defaults_for(self.country)


@dataclass(frozen=True)
class OutageDetail:
    row: OutageRow
    selection: Selection
    notices_sent: bool


def _now() -> datetime:
    return datetime.now(UTC)


_COLUMNS = (
    outage.c.id,
    outage.c.utility_id,
    utility.c.name,
    utility.c.country,
    utility.c.timezone,
    outage.c.title,
    outage.c.reason,
    outage.c.starts_at,
    outage.c.ends_at,
    outage.c.urgent,
    outage.c.status,
    outage.c.channels,
    outage.c.plan,
    outage.c.texts,
    outage.c.created_by,
    outage.c.approved_by,
    outage.c.rejection_reason,
    outage.c.revision,
    outage.c.amended_by,
    outage.c.affected_mps,
    outage.c.affected_subscribers,
    outage.c.updated_at,
)


def _row(r: Row[Any]) -> OutageRow:
    plan = r.plan or {}
    return OutageRow(
        id=r.id,
        utility_id=r.utility_id,
        utility_name=r.name,
        country=r.country,
        timezone=r.timezone,
        title=r.title,
        reason=r.reason,
        starts_at=r.starts_at,
        ends_at=r.ends_at,
        urgent=r.urgent,
        status=r.status,
        channels=tuple(r.channels),
        notice_kinds=tuple(plan.get("kinds", NOTICE_KINDS)),
        transliterate=bool(plan.get("transliterate", False)),
        texts=dict(r.texts or {}),
        created_by=r.created_by,
        approved_by=r.approved_by,
        rejection_reason=r.rejection_reason,
        revision=r.revision,
        amended_by=r.amended_by,
        affected_mps=r.affected_mps,
        affected_subscribers=r.affected_subscribers,
        updated_at=r.updated_at,
    )


def _base() -> Any:
    return select(*_COLUMNS).join(utility, utility.c.id == outage.c.utility_id)


def sendable_outage_ids() -> Select[tuple[int]]:
    """Rule 1 in SQL, as `domain.outage.can_send`: outages approved by someone
    other than their author and their last amender. Every send path filters
    on this, so nothing leaves for an outage the lifecycle would not send."""
    return select(outage.c.id).where(
        outage.c.status == "approved",
        outage.c.approved_by.is_not(None),
        outage.c.approved_by != outage.c.created_by,
        or_(outage.c.amended_by.is_(None), outage.c.amended_by != outage.c.approved_by),
    )


FOLLOW_UP_KINDS = ("amendment", "cancellation")
"""Notices that go only to those already told, until the outage ends."""


def sendable_notice_ids() -> Select[tuple[int]]:
    """Rule 1 per notice: a notice planned for the outage's current revision
    while the outage is sendable, or the cancellation notice of a cancelled
    outage. The cancellation goes only to contacts an approved revision
    already told, so it needs no approval of its own; a notice of an older
    revision never sends, whatever state its messages are in."""
    return (
        select(notice.c.id)
        .join(outage, outage.c.id == notice.c.outage_id)
        .where(
            or_(
                and_(
                    outage.c.id.in_(sendable_outage_ids()),
                    notice.c.outage_revision == outage.c.revision,
                ),
                and_(notice.c.kind == "cancellation", outage.c.status == "cancelled"),
            )
        )
    )


def _notices_sent(conn: Connection, outage_id: int) -> bool:
    return bool(
        conn.execute(
            select(
                exists().where(
                    notice.c.outage_id == outage_id,
                    notice.c.status.in_(("fanning_out", "done")),
                )
            )
        ).scalar()
    )


def load_selection(conn: Connection, outage_id: int) -> Selection:
    rows = conn.execute(
        select(
            outage_selection.c.node_id, outage_selection.c.mp_id, outage_selection.c.exclude
        ).where(outage_selection.c.outage_id == outage_id)
    ).all()
    return Selection(
        nodes=frozenset(n for n, m, x in rows if n is not None and not x),
        metering_points=frozenset(m for n, m, x in rows if m is not None and not x),
        excluded_nodes=frozenset(n for n, m, x in rows if n is not None and x),
        excluded_metering_points=frozenset(m for n, m, x in rows if m is not None and x),
    )


def get_outage(conn: Connection, outage_id: int) -> OutageDetail:
    r = conn.execute(_base().where(outage.c.id == outage_id)).one_or_none()
    if r is None:
        raise OutageError(f"outage {outage_id} does not exist (deleted by someone else?)")
    return OutageDetail(_row(r), load_selection(conn, outage_id), _notices_sent(conn, outage_id))


SORTABLE = {
    "start": outage.c.starts_at,
    "status": outage.c.status,
    "title": outage.c.title,
    "author": outage.c.created_by,
    "affected": outage.c.affected_subscribers,
    "updated": outage.c.updated_at,
}


def list_outages(
    conn: Connection,
    *,
    statuses: tuple[str, ...] = (),
    text: str = "",
    sort: str = "start",
    descending: bool = False,
    offset: int = 0,
    limit: int = 200,
) -> tuple[list[OutageRow], int]:
    """One page of outages matching the filter, and how many match in all."""
    conditions: list[ColumnElement[bool]] = []
    if statuses:
        conditions.append(outage.c.status.in_(statuses))
    if text.strip():
        pattern = f"%{text.strip().lower()}%"
        conditions.append(
            or_(
                func.lower(outage.c.title).like(pattern),
                func.lower(outage.c.reason).like(pattern),
                func.lower(outage.c.created_by).like(pattern),
            )
        )
    column = SORTABLE.get(sort, outage.c.starts_at)
    order = column.desc() if descending else column.asc()
    total = conn.execute(select(func.count()).select_from(outage).where(*conditions)).scalar_one()
    rows = conn.execute(
        _base().where(*conditions).order_by(order, outage.c.id).offset(offset).limit(limit)
    ).all()
    return [_row(r) for r in rows], int(total)


def pending_approvals(conn: Connection) -> list[OutageRow]:
    rows, _ = list_outages(conn, statuses=("submitted",), sort="start", limit=1000)
    return rows


def _operator_role(conn: Connection, actor: str, action: Action) -> None:
    refusal = refusal_for(conn, actor, action)
    if refusal:
        raise OutageError(refusal)


def _validate_draft(draft: OutageDraft) -> None:
    problems = []
    if not draft.title.strip() or len(draft.title) > MAX_TITLE:
        problems.append(f"give a title (1 to {MAX_TITLE} characters)")
    if not draft.reason.strip() or len(draft.reason) > MAX_REASON:
        problems.append(f"give the reason customers will read (1 to {MAX_REASON} characters)")
    if draft.selection.is_empty:
        problems.append("select at least one network node or metering point")
    if not draft.channels or set(draft.channels) - set(CHANNELS):
        problems.append(f"choose one or more channels ({', '.join(CHANNELS)})")
    if set(draft.notice_kinds) - set(NOTICE_KINDS):
        problems.append("unknown notice in the plan")
    if draft.starts_at.tzinfo is None or draft.ends_at.tzinfo is None:
        problems.append("times must carry a time zone")
    elif draft.ends_at <= draft.starts_at:
        problems.append("the outage must end after it starts")
    if problems:
        raise OutageError("; ".join(problems))


def _values(conn: Connection, draft: OutageDraft) -> dict[str, Any]:
    counts = affected_counts(conn, draft.selection)
    return {
        "utility_id": draft.utility_id,
        "title": draft.title.strip(),
        "reason": draft.reason.strip(),
        "starts_at": draft.starts_at,
        "ends_at": draft.ends_at,
        "urgent": draft.urgent,
        "channels": list(draft.channels),
        "plan": {"kinds": list(draft.notice_kinds), "transliterate": draft.transliterate},
        "texts": {k: v for k, v in draft.texts.items() if v.strip()},
        "affected_mps": counts.metering_points,
        "affected_subscribers": counts.subscribers,
        "updated_at": _now(),
    }


def _write_selection(conn: Connection, outage_id: int, selection: Selection) -> None:
    conn.execute(delete(outage_selection).where(outage_selection.c.outage_id == outage_id))
    rows = [
        *(
            {"outage_id": outage_id, "node_id": n, "mp_id": None, "exclude": False}
            for n in selection.nodes
        ),
        *(
            {"outage_id": outage_id, "node_id": None, "mp_id": m, "exclude": False}
            for m in selection.metering_points
        ),
        *(
            {"outage_id": outage_id, "node_id": n, "mp_id": None, "exclude": True}
            for n in selection.excluded_nodes
        ),
        *(
            {"outage_id": outage_id, "node_id": None, "mp_id": m, "exclude": True}
            for m in selection.excluded_metering_points
        ),
    ]
    if rows:
        conn.execute(insert(outage_selection), rows)


def create_draft(engine: Engine, draft: OutageDraft, *, actor: str) -> int:
    _validate_draft(draft)
    with write_transaction(engine) as conn:
        _operator_role(conn, actor, Action.DRAFT)
        values = _values(conn, draft)
        outage_id = conn.execute(
            insert(outage).returning(outage.c.id),
            {
                **values,
                "status": "draft",
                "created_by": actor,
                "created_at": values["updated_at"],
                "revision": 1,
            },
        ).scalar_one()
        _write_selection(conn, outage_id, draft.selection)
        audit.append(
            conn,
            actor=actor,
            action="draft",
            entity="outage",
            entity_id=outage_id,
            detail={"title": values["title"]},
        )
        return int(outage_id)


def _state(detail: OutageDetail) -> lifecycle.OutageState:
    row = detail.row
    return lifecycle.OutageState(
        status=lifecycle.OutageStatus(row.status),
        created_by=row.created_by,
        approved_by=row.approved_by,
        rejection_reason=row.rejection_reason,
        revision=row.revision,
        notices_sent=detail.notices_sent,
        starts_at=row.starts_at,
        ends_at=row.ends_at,
        amended_by=row.amended_by,
    )


def update_draft(engine: Engine, outage_id: int, draft: OutageDraft, *, actor: str) -> None:
    """Save a changed draft; only drafts are edited freely (approved ones are amended)."""
    _validate_draft(draft)
    with write_transaction(engine) as conn:
        _operator_role(conn, actor, Action.EDIT_DRAFT)
        current = get_outage(conn, outage_id)
        if current.row.status != "draft":
            raise OutageError(f"only drafts can be edited; this outage is {current.row.status}")
        conn.execute(update(outage).where(outage.c.id == outage_id).values(**_values(conn, draft)))
        _write_selection(conn, outage_id, draft.selection)
        audit.append(
            conn,
            actor=actor,
            action="edit",
            entity="outage",
            entity_id=outage_id,
            detail={"title": draft.title.strip()},
        )


def delete_draft(engine: Engine, outage_id: int, *, actor: str) -> None:
    with write_transaction(engine) as conn:
        _operator_role(conn, actor, Action.DELETE_DRAFT)
        current = get_outage(conn, outage_id)
        if current.row.status != "draft":
            raise OutageError(f"only drafts can be deleted; cancel a {current.row.status} outage")
        conn.execute(delete(outage).where(outage.c.id == outage_id))
        audit.append(
            conn,
            actor=actor,
            action="delete",
            entity="outage",
            entity_id=outage_id,
            detail={"title": current.row.title},
        )


def _transition(
    engine: Engine,
    outage_id: int,
    actor: str,
    action: Action,
    name: str,
    step: Any,
    *,
    detail: dict[str, Any] | None = None,
) -> OutageDetail:
    """Re-read, check role and lifecycle, write the new state, audit; returns the old detail."""
    with write_transaction(engine) as conn:
        _operator_role(conn, actor, action)
        current = get_outage(conn, outage_id)
        try:
            new_state, follow_up = step(_state(current))
        except lifecycle.TransitionError as exc:
            raise OutageError(str(exc)) from exc
        values: dict[str, Any] = {
            "status": str(new_state.status),
            "approved_by": new_state.approved_by,
            "rejection_reason": new_state.rejection_reason,
            "revision": new_state.revision,
            "amended_by": new_state.amended_by,
            "starts_at": new_state.starts_at,
            "ends_at": new_state.ends_at,
            "updated_at": _now(),
        }
        if name == "submit":
            values["submitted_at"] = values["updated_at"]
        if name == "approve":
            values["approved_at"] = values["updated_at"]
        conn.execute(update(outage).where(outage.c.id == outage_id).values(**values))
        follow_up_handler(conn, current, new_state, name, follow_up)
        audit.append(
            conn,
            actor=actor,
            action=name,
            entity="outage",
            entity_id=outage_id,
            detail={"title": current.row.title, "revision": new_state.revision, **(detail or {})},
        )
        return current


def follow_up_handler(
    conn: Connection,
    current: OutageDetail,
    state: lifecycle.OutageState,
    name: str,
    follow_up: NoticeKind | None,
) -> None:
    """The notices a transition creates or stops (the engine sends them).

    Approval plans the timed notices (and an owed amendment notice);
    cancelling or amending stops every notice not yet sent, and records the
    cancellation notice, or the amendment owed after the next approval.
    """
    row = current.row
    now = _now()
    if name in ("cancel", "amend"):
        conn.execute(
            update(notice)
            .where(notice.c.outage_id == row.id, notice.c.status.in_(("scheduled", "due")))
            .values(status="cancelled")
        )
        conn.execute(
            update(message)
            .where(
                message.c.notice_id.in_(select(notice.c.id).where(notice.c.outage_id == row.id)),
                message.c.status.in_(("pending", "retry_wait")),
            )
            .values(status="cancelled", lease_owner=None, lease_until=None)
        )
    if name == "amend" and follow_up is not None:
        told = conn.execute(
            select(outage.c.told_starts_at, outage.c.told_ends_at).where(outage.c.id == row.id)
        ).one()
        conn.execute(
            update(outage)
            .where(outage.c.id == row.id)
            .values(
                follow_up=str(follow_up),
                # A second amendment before approval: customers still know the first window.
                told_starts_at=told.told_starts_at or row.starts_at,
                told_ends_at=told.told_ends_at or row.ends_at,
            )
        )
    groups = {channel_group(c) for c in row.channels}
    planned = []
    if name == "cancel" and follow_up is not None:
        planned = plan_follow_up(
            follow_up,
            now,
            row.timezone,
            row.rules,
            row.urgent,
            before=row.starts_at if now < row.starts_at else None,
            groups=groups,
        )
    previous: dict[str, Any] = {"previous_starts_at": None, "previous_ends_at": None}
    if name == "approve":
        owed, told_start, told_end = conn.execute(
            select(outage.c.follow_up, outage.c.told_starts_at, outage.c.told_ends_at).where(
                outage.c.id == row.id
            )
        ).one()
        if owed:
            previous = {"previous_starts_at": told_start, "previous_ends_at": told_end}
            planned += plan_follow_up(
                NoticeKind(owed),
                now,
                row.timezone,
                row.rules,
                row.urgent,
                before=state.starts_at,
                groups=groups,
            )
            conn.execute(
                update(outage)
                .where(outage.c.id == row.id)
                .values(follow_up=None, told_starts_at=None, told_ends_at=None)
            )
        wanted = set(row.notice_kinds) | {"immediate"}
        planned += [
            p
            for p in plan_notices(
                state.starts_at,
                state.ends_at,
                row.timezone,
                row.rules,
                now,
                row.urgent,
                groups=groups,
            )
            if str(p.kind) in wanted
        ]
    rows = [
        {
            "outage_id": row.id,
            "kind": str(p.kind),
            "channels": [c for c in row.channels if channel_group(c) == p.channel_group],
            "due_at": p.due_at_utc,
            "status": "scheduled",
            "outage_revision": state.revision,
            "created_at": now,
            **(
                previous
                if p.kind == NoticeKind.AMENDMENT
                else {"previous_starts_at": None, "previous_ends_at": None}
            ),
        }
        for p in planned
    ]
    if rows:
        conn.execute(insert(notice), rows)


def _simple(fn: Any, *args: Any) -> Any:
    return lambda state: (fn(state, *args), None)


def submit(engine: Engine, outage_id: int, *, actor: str) -> None:
    _transition(engine, outage_id, actor, Action.SUBMIT, "submit", _simple(lifecycle.submit, actor))


def withdraw(engine: Engine, outage_id: int, *, actor: str) -> None:
    _transition(
        engine, outage_id, actor, Action.SUBMIT, "withdraw", _simple(lifecycle.withdraw, actor)
    )


def approve(engine: Engine, outage_id: int, *, actor: str) -> None:
    _transition(
        engine, outage_id, actor, Action.APPROVE, "approve", _simple(lifecycle.approve, actor)
    )


def reject(engine: Engine, outage_id: int, reason: str, *, actor: str) -> None:
    _transition(
        engine,
        outage_id,
        actor,
        Action.REJECT,
        "reject",
        _simple(lifecycle.reject, actor, reason),
        detail={"reason": reason.strip()},
    )


def cancel(engine: Engine, outage_id: int, *, actor: str) -> None:
    def step(state: lifecycle.OutageState) -> tuple[lifecycle.OutageState, NoticeKind | None]:
        outcome = lifecycle.cancel(state, actor, _now())
        return outcome.state, outcome.notice

    _transition(engine, outage_id, actor, Action.CANCEL, "cancel", step)


def amend(
    engine: Engine, outage_id: int, starts_at: datetime, ends_at: datetime, *, actor: str
) -> None:
    def step(state: lifecycle.OutageState) -> tuple[lifecycle.OutageState, NoticeKind | None]:
        outcome = lifecycle.amend(state, actor, starts_at, ends_at, _now())
        return outcome.state, outcome.notice

    _transition(
        engine,
        outage_id,
        actor,
        Action.AMEND,
        "amend",
        step,
        detail={"starts_at": starts_at.isoformat(), "ends_at": ends_at.isoformat()},
    )


def overlapping(
    conn: Connection,
    outage_id: int | None,
    utility_id: int,
    selection: Selection,
    starts_at: datetime,
    ends_at: datetime,
) -> list[tuple[OutageRow, int]]:
    """Other live outages whose window overlaps and that share metering points
    with `selection`, with how many they share."""
    candidates = conn.execute(
        _base().where(
            outage.c.utility_id == utility_id,
            outage.c.status.in_(("draft", "submitted", "approved")),
            outage.c.starts_at < ends_at,
            outage.c.ends_at > starts_at,
            *([outage.c.id != outage_id] if outage_id is not None else []),
        )
    ).all()
    found = []
    mine = affected_condition(conn, selection)
    for candidate in candidates:
        theirs = affected_condition(conn, load_selection(conn, candidate.id))
        shared = conn.execute(
            select(func.count()).select_from(mp).where(and_(mine, theirs))
        ).scalar_one()
        if shared:
            found.append((_row(candidate), int(shared)))
    return found
