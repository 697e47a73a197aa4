"""Outages in the database, read side: rows, details, lists, and the SQL form
of rule 1 that every send path filters on.

Changes live in `storage.outage_lifecycle`; which notices a change creates
is decided in `domain.transition_notices`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Row,
    Select,
    String,
    and_,
    cast,
    exists,
    func,
    or_,
    select,
)

from dispatch_tui.domain import templates
from dispatch_tui.domain.draft import NOTICE_KINDS, OutageDraft
from dispatch_tui.domain.languages import reason_in
from dispatch_tui.domain.rules import NoticeRules, defaults_for
from dispatch_tui.domain.selection import Selection
from dispatch_tui.storage.affected import affected_condition
from dispatch_tui.storage.tables import (
    audit_log,
    node,
    notice,
    outage,
    outage_editor,
    outage_selection,
    role_change,
    utility,
)
from dispatch_tui.storage.tables import metering_point as mp


class OutageError(Exception):
    """A refused outage change, in words for the person at the keyboard."""


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
    reasons: dict[str, str]
    sms_decision: dict[str, Any] | None
    created_by: str
    approved_by: str | None
    rejection_reason: str | None
    revision: int
    amended_by: str | None
    edit_cycle: int
    affected_mps: int
    affected_subscribers: int
    updated_at: datetime

    @property
    def rules(self) -> NoticeRules:
        return defaults_for(self.country)

    @property
    def transliterate_sms(self) -> bool:
        """Whether SMS go out in GSM-7: the author's choice, or the approver's, taken
        to bring the SMS under the cap."""
        return self.transliterate or bool((self.sms_decision or {}).get("transliterate"))


@dataclass(frozen=True)
class OutageDetail:
    row: OutageRow
    selection: Selection
    notices_sent: bool
    editors: frozenset[str] = frozenset()
    """Who changed the content since the last approval (none of them may approve)."""

    @property
    def draft(self) -> OutageDraft:
        """The stored outage as the draft the rules, the preview and the digest read."""
        row = self.row
        return OutageDraft(
            utility_id=row.utility_id,
            title=row.title,
            reason=row.reason,
            starts_at=row.starts_at,
            ends_at=row.ends_at,
            selection=self.selection,
            urgent=row.urgent,
            channels=row.channels,
            notice_kinds=row.notice_kinds,
            transliterate=row.transliterate,
            texts=row.texts,
            reasons=row.reasons,
        )


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
    outage.c.reasons,
    outage.c.sms_decision,
    outage.c.created_by,
    outage.c.approved_by,
    outage.c.rejection_reason,
    outage.c.revision,
    outage.c.amended_by,
    outage.c.edit_cycle,
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
        reasons=dict(r.reasons or {}),
        sms_decision=dict(r.sms_decision) if r.sms_decision else None,
        created_by=r.created_by,
        approved_by=r.approved_by,
        rejection_reason=r.rejection_reason,
        revision=r.revision,
        amended_by=r.amended_by,
        edit_cycle=r.edit_cycle,
        affected_mps=r.affected_mps,
        affected_subscribers=r.affected_subscribers,
        updated_at=r.updated_at,
    )


def _base() -> Any:
    return select(*_COLUMNS).join(utility, utility.c.id == outage.c.utility_id)


APPROVER_ROLES = ("shift_lead", "admin")


def approver_held_role(
    approved_by: ColumnElement[Any] = outage.c.approved_by,
    approved_at: ColumnElement[Any] = outage.c.approved_at,
) -> ColumnElement[bool]:
    """The approver's role at the moment of approval (the last change before
    it) was one that may approve: a row written by hand naming a stranger, a
    dispatcher or a removed user sends nothing. Outages by default; campaigns
    pass their own columns."""
    held = role_change.alias("held")
    later = role_change.alias("later")
    return exists().where(
        held.c.username == approved_by,
        held.c.changed_at <= approved_at,
        held.c.role.in_(APPROVER_ROLES),
        ~exists().where(
            later.c.username == held.c.username,
            later.c.changed_at > held.c.changed_at,
            later.c.changed_at <= approved_at,
        ),
    )


def sendable_outage_ids() -> Select[tuple[int]]:
    """Rule 1 in SQL, as `domain.outage.can_send`: outages approved by someone
    other than their author and everyone who changed them since the last
    approval, who held a role that may approve when they did, and whose
    approval of this revision is in the audit log. Every send path
    filters on this, so nothing leaves for an outage the lifecycle would not
    send, whatever was written into the outage row by hand."""
    return select(outage.c.id).where(
        outage.c.status == "approved",
        outage.c.approved_by.is_not(None),
        outage.c.approved_at.is_not(None),
        outage.c.approved_by != outage.c.created_by,
        or_(outage.c.amended_by.is_(None), outage.c.amended_by != outage.c.approved_by),
        ~exists().where(
            outage_editor.c.outage_id == outage.c.id,
            outage_editor.c.cycle == outage.c.edit_cycle,
            outage_editor.c.username == outage.c.approved_by,
        ),
        approver_held_role(),
        approval_audited("outage", outage.c.id, outage.c.approved_by, outage.c.revision),
    )


def approval_audited(
    entity: str,
    row_id: ColumnElement[Any],
    approved_by: ColumnElement[Any],
    revision: ColumnElement[Any] | None = None,
) -> ColumnElement[bool]:
    """The approver's audit row (for this revision) exists: an approval written into
    the row by hand, past the storage layer, leaves none, and sends nothing."""
    conditions = [
        audit_log.c.entity == entity,
        audit_log.c.entity_id == cast(row_id, String),
        audit_log.c.action == "approve",
        audit_log.c.actor == approved_by,
    ]
    if revision is not None:
        conditions.append(audit_log.c.detail["revision"].as_integer() == revision)
    return exists().where(*conditions)


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


def sent_notice_kinds(conn: Connection, outage_id: int) -> set[str]:
    """Kinds of this outage's notices that went out (or are going out)."""
    return set(
        conn.scalars(
            select(notice.c.kind).where(
                notice.c.outage_id == outage_id, notice.c.status.in_(("fanning_out", "done"))
            )
        )
    )


def notice_sender(conn: Connection, utility_id: int) -> tuple[str, str]:
    """The utility's name and contact phone, as every notice text signs off."""
    name, phone = conn.execute(
        select(utility.c.name, utility.c.contact_phone).where(utility.c.id == utility_id)
    ).one()
    return str(name), str(phone)


def notice_context(
    row: OutageRow,
    sender: tuple[str, str],
    language: str,
    kind: str,
    previous: tuple[datetime | None, datetime | None] = (None, None),
) -> templates.NoticeContext:
    """What a stored outage's notice of `kind` says in `language`: fan-out renders it, and
    the approver's review of an amendment shows the same text."""
    return templates.NoticeContext(
        utility_name=sender[0],
        contact_phone=sender[1],
        timezone=row.timezone,
        starts_at=row.starts_at,
        ends_at=row.ends_at,
        reason=reason_in(row.reason, row.reasons, language),
        title=row.title,
        kind=kind,
        previous_starts_at=previous[0],
        previous_ends_at=previous[1],
        extra_text=row.texts.get(language, ""),
    )


def utility_rules(conn: Connection, utility_id: int) -> tuple[NoticeRules, str]:
    """The notice rules and time zone of a utility."""
    found = conn.execute(
        select(utility.c.country, utility.c.timezone).where(utility.c.id == utility_id)
    ).one_or_none()
    if found is None:
        raise OutageError(f"utility {utility_id} does not exist")
    return defaults_for(found.country), str(found.timezone)


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
    editors = conn.scalars(
        select(outage_editor.c.username).where(
            outage_editor.c.outage_id == outage_id, outage_editor.c.cycle == r.edit_cycle
        )
    )
    return OutageDetail(
        _row(r),
        load_selection(conn, outage_id),
        bool(sent_notice_kinds(conn, outage_id)),
        frozenset(editors),
    )


@dataclass(frozen=True)
class SelectionPlaces:
    """An outage's area in words: what a dispatcher picked and what they left out."""

    included: tuple[str, ...]
    excluded: tuple[str, ...]


KIND_WORDS = {
    "region": "region",
    "substation": "substation",
    "feeder": "feeder",
    "transformer_station": "transformer station",
}


def selection_places(conn: Connection, selection: Selection) -> SelectionPlaces:
    """Names of the selected and excluded nodes ("RTP Kranj (substation EG-R1-S1)") and
    metering points, ordered, for the outage's detail."""

    def nodes(ids: frozenset[int]) -> list[str]:
        if not ids:
            return []
        rows = conn.execute(
            select(node.c.name, node.c.kind, node.c.code)
            .where(node.c.id.in_(ids))
            .order_by(node.c.path)
        )
        return [f"{r.name} ({KIND_WORDS.get(r.kind, r.kind)} {r.code})" for r in rows]

    def points(ids: frozenset[int]) -> list[str]:
        if not ids:
            return []
        rows = conn.execute(
            select(mp.c.mp_id, mp.c.settlement, mp.c.street, mp.c.house)
            .where(mp.c.id.in_(ids))
            .order_by(mp.c.mp_id)
        )
        found = []
        for r in rows:
            address = ", ".join(p for p in (r.settlement, f"{r.street} {r.house}".strip()) if p)
            found.append(f"metering point {r.mp_id} ({address})")
        return found

    return SelectionPlaces(
        tuple(nodes(selection.nodes) + points(selection.metering_points)),
        tuple(nodes(selection.excluded_nodes) + points(selection.excluded_metering_points)),
    )


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


def awaiting_approval(conn: Connection, approver: str) -> dict[int, str]:
    """Submitted outages `approver` may decide (four-eyes: not one they edited in
    its current cycle), id → title: what a shift lead is told of."""
    edited = exists().where(
        outage_editor.c.outage_id == outage.c.id,
        outage_editor.c.cycle == outage.c.edit_cycle,
        outage_editor.c.username == approver,
    )
    rows = conn.execute(
        select(outage.c.id, outage.c.title).where(
            outage.c.status == "submitted",
            outage.c.created_by != approver,
            or_(outage.c.amended_by.is_(None), outage.c.amended_by != approver),
            ~edited,
        )
    )
    return {outage_id: title for outage_id, title in rows}


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
