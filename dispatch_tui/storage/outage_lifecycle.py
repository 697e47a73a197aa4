"""Outage changes in the database: drafts and the approval lifecycle.

Every change runs in one write transaction that re-reads the outage, checks
the operator's role (from the database, not from the screen), the draft's
rules (`domain.draft.check_draft`) and the lifecycle rule
(`domain.outage`), writes, creates the notices the transition calls for
(`domain.transition_notices`), and appends to the audit log. So a viewer
cannot change anything, an author cannot approve their own outage, and a
30-hour outage where 12 are allowed cannot be approved, whatever a screen
shows; the schema's check constraints are the last line.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, delete, insert, select, update

from dispatch_tui.domain import outage as lifecycle
from dispatch_tui.domain.draft import (
    OutageDraft,
    Verdict,
    check_draft,
    check_window,
    content_digest,
)
from dispatch_tui.domain.notice_plan import NoticeKind, channel_group
from dispatch_tui.domain.roles import Action
from dispatch_tui.domain.selection import Selection
from dispatch_tui.domain.transition_notices import NewNotice, Outline, on_approve, on_cancel
from dispatch_tui.storage import audit, audit_anchor
from dispatch_tui.storage.affected import affected_counts
from dispatch_tui.storage.db import write_transaction
from dispatch_tui.storage.outages import (
    OutageDetail,
    OutageError,
    OutageRow,
    get_outage,
    sent_notice_kinds,
    utility_rules,
)
from dispatch_tui.storage.outbox import WAITING_STATES
from dispatch_tui.storage.preview import sms_over_cap
from dispatch_tui.storage.tables import message, notice, outage, outage_editor, outage_selection
from dispatch_tui.storage.users import refusal_for

WAITING_NOTICES = ("scheduled", "due")


def _now() -> datetime:
    return datetime.now(UTC)


def _require(conn: Connection, actor: str, action: Action) -> None:
    refusal = refusal_for(conn, actor, action)
    if refusal:
        raise OutageError(refusal)


def _require_own_or_take_over(conn: Connection, actor: str, detail: OutageDetail) -> None:
    """Changing someone else's outage is a shift lead's act (and is recorded)."""
    if actor != detail.row.created_by:
        _require(conn, actor, Action.TAKE_OVER)


def _record_editor(conn: Connection, outage_id: int, cycle: int, actor: str, now: datetime) -> None:
    """Whoever changes the content may not approve it in this approval cycle."""
    known = conn.execute(
        select(outage_editor.c.username).where(
            outage_editor.c.outage_id == outage_id,
            outage_editor.c.cycle == cycle,
            outage_editor.c.username == actor,
        )
    ).first()
    if known is None:
        conn.execute(
            insert(outage_editor).values(
                outage_id=outage_id, cycle=cycle, username=actor, edited_at=now
            )
        )


def _verdict(conn: Connection, draft: OutageDraft, now: datetime) -> Verdict:
    rules, tz = utility_rules(conn, draft.utility_id)
    return check_draft(draft, rules, tz, now)


def _refuse_problems(verdict: Verdict) -> None:
    if verdict.problems:
        raise OutageError("; ".join(verdict.problems))


def _values(conn: Connection, draft: OutageDraft, now: datetime) -> dict[str, Any]:
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
        "reasons": {k: v.strip() for k, v in draft.reasons.items() if v.strip()},
        "affected_mps": counts.metering_points,
        "affected_subscribers": counts.subscribers,
        "updated_at": now,
    }


def _write_selection(conn: Connection, outage_id: int, selection: Selection) -> None:
    conn.execute(delete(outage_selection).where(outage_selection.c.outage_id == outage_id))
    parts = (
        (selection.nodes, "node_id", False),
        (selection.metering_points, "mp_id", False),
        (selection.excluded_nodes, "node_id", True),
        (selection.excluded_metering_points, "mp_id", True),
    )
    rows = [
        {"outage_id": outage_id, "node_id": None, "mp_id": None, column: value, "exclude": x}
        for values, column, x in parts
        for value in values
    ]
    if rows:
        conn.execute(insert(outage_selection), rows)


def create_draft(engine: Engine, draft: OutageDraft, *, actor: str) -> int:
    with write_transaction(engine) as conn:
        _require(conn, actor, Action.DRAFT)
        now = _now()
        _refuse_problems(_verdict(conn, draft, now))
        values = _values(conn, draft, now)
        outage_id = conn.execute(
            insert(outage).returning(outage.c.id),
            {**values, "status": "draft", "created_by": actor, "created_at": now, "revision": 1},
        ).scalar_one()
        _write_selection(conn, outage_id, draft.selection)
        _record_editor(conn, outage_id, 1, actor, now)
        audit.append(
            conn,
            actor=actor,
            action="draft",
            entity="outage",
            entity_id=outage_id,
            detail={"title": values["title"]},
        )
        return int(outage_id)


def update_draft(engine: Engine, outage_id: int, draft: OutageDraft, *, actor: str) -> None:
    """Save a changed draft; only drafts are edited freely (approved ones are amended)."""
    with write_transaction(engine) as conn:
        _require(conn, actor, Action.EDIT_DRAFT)
        current = get_outage(conn, outage_id)
        _require_own_or_take_over(conn, actor, current)
        try:
            lifecycle.edit(_state(current), actor)
        except lifecycle.TransitionError as exc:
            raise OutageError(str(exc)) from exc
        now = _now()
        _refuse_problems(_verdict(conn, draft, now))
        conn.execute(
            update(outage).where(outage.c.id == outage_id).values(**_values(conn, draft, now))
        )
        _write_selection(conn, outage_id, draft.selection)
        _record_editor(conn, outage_id, current.row.edit_cycle, actor, now)
        detail: dict[str, Any] = {"title": draft.title.strip()}
        if actor != current.row.created_by:
            detail["author"] = current.row.created_by
        audit.append(
            conn,
            actor=actor,
            action="edit",
            entity="outage",
            entity_id=outage_id,
            detail=detail,
        )


def delete_draft(engine: Engine, outage_id: int, *, actor: str) -> None:
    with write_transaction(engine) as conn:
        _require(conn, actor, Action.DELETE_DRAFT)
        current = get_outage(conn, outage_id)
        _require_own_or_take_over(conn, actor, current)
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
        editors=detail.editors,
    )


Step = Callable[[Connection, OutageDetail, datetime], lifecycle.Outcome]
Effects = Callable[[Connection, OutageDetail, lifecycle.Outcome, datetime], None]


def _transition(
    engine: Engine,
    outage_id: int,
    actor: str,
    action: Action,
    name: str,
    step: Step,
    effects: Effects | None = None,
    *,
    detail: dict[str, Any] | None = None,
    stamp: str | None = None,
    extra: dict[str, Any] | None = None,
) -> OutageDetail:
    """Re-read, check role, rules and lifecycle, write the new state (and the
    time into the `stamp` column, and the columns `step` put into `extra`),
    create or stop notices, audit; returns the old detail. A refusal is audited
    too (in its own transaction, since this one rolls back)."""
    try:
        with write_transaction(engine) as conn:
            _require(conn, actor, action)
            current = get_outage(conn, outage_id)
            now = _now()
            try:
                outcome = step(conn, current, now)
            except lifecycle.TransitionError as exc:
                raise OutageError(str(exc)) from exc
            state = outcome.state
            values: dict[str, Any] = {
                "status": str(state.status),
                "approved_by": state.approved_by,
                "rejection_reason": state.rejection_reason,
                "revision": state.revision,
                "amended_by": state.amended_by,
                "starts_at": state.starts_at,
                "ends_at": state.ends_at,
                "updated_at": now,
            }
            if stamp is not None:
                values[stamp] = now
            values.update(extra or {})
            conn.execute(update(outage).where(outage.c.id == outage_id).values(**values))
            if effects is not None:
                effects(conn, current, outcome, now)
            audit.append(
                conn,
                actor=actor,
                action=name,
                entity="outage",
                entity_id=outage_id,
                detail={"title": current.row.title, "revision": state.revision, **(detail or {})},
            )
            return current
    except OutageError as exc:
        _audit_refusal(engine, outage_id, actor, name, str(exc))
        raise


def _audit_refusal(engine: Engine, outage_id: int, actor: str, name: str, why: str) -> None:
    with write_transaction(engine) as conn:
        audit.append(
            conn,
            actor=actor,
            action=f"{name}_refused",
            entity="outage",
            entity_id=outage_id,
            detail={"reason": why},
        )


def _stop_waiting(conn: Connection, outage_id: int) -> None:
    """Cancel every notice not yet built and every message not yet handed out."""
    conn.execute(
        update(notice)
        .where(notice.c.outage_id == outage_id, notice.c.status.in_(WAITING_NOTICES))
        .values(status="cancelled")
    )
    conn.execute(
        update(message)
        .where(
            message.c.notice_id.in_(select(notice.c.id).where(notice.c.outage_id == outage_id)),
            message.c.status.in_(WAITING_STATES),
        )
        .values(status="cancelled", lease_owner=None, lease_until=None)
    )


def _outline(row: OutageRow, state: lifecycle.OutageState) -> Outline:
    return Outline(
        starts_at=state.starts_at,
        ends_at=state.ends_at,
        timezone=row.timezone,
        rules=row.rules,
        urgent=row.urgent,
        groups={channel_group(c) for c in row.channels},
        notice_kinds=row.notice_kinds,
    )


def _create_notices(
    conn: Connection, row: OutageRow, revision: int, notices: Sequence[NewNotice], now: datetime
) -> None:
    rows = [
        {
            "outage_id": row.id,
            "kind": str(n.planned.kind),
            "channels": [c for c in row.channels if channel_group(c) == n.planned.channel_group],
            "due_at": n.planned.due_at_utc,
            "status": "scheduled",
            "outage_revision": revision,
            "audience": str(n.audience),
            "previous_starts_at": n.previous[0] if n.previous else None,
            "previous_ends_at": n.previous[1] if n.previous else None,
            "created_at": now,
        }
        for n in notices
    ]
    if rows:
        conn.execute(insert(notice), rows)


def submit(engine: Engine, outage_id: int, *, actor: str) -> None:
    def step(conn: Connection, current: OutageDetail, now: datetime) -> lifecycle.Outcome:
        _refuse_problems(_verdict(conn, current.draft, now))
        return lifecycle.Outcome(lifecycle.submit(_state(current), actor))

    _transition(engine, outage_id, actor, Action.SUBMIT, "submit", step, stamp="submitted_at")


def withdraw(engine: Engine, outage_id: int, *, actor: str) -> None:
    def step(conn: Connection, current: OutageDetail, now: datetime) -> lifecycle.Outcome:
        _require_own_or_take_over(conn, actor, current)
        return lifecycle.Outcome(lifecycle.withdraw(_state(current), actor))

    _transition(engine, outage_id, actor, Action.SUBMIT, "withdraw", step)


def approval_warnings(
    conn: Connection, outage_id: int, *, now: datetime | None = None
) -> list[str]:
    """The warnings an approver must have seen to approve this outage now."""
    return list(_verdict(conn, get_outage(conn, outage_id).draft, now or _now()).warnings)


@dataclass(frozen=True)
class SmsChoice:
    """What an approver decides when an SMS does not fit `sms.max_segments`:
    send it transliterated to GSM-7 (a third of the segments), and/or accept
    SMS of up to `accept_segments` segments and their cost."""

    transliterate: bool = False
    accept_segments: int | None = None


def _sms_decision(
    conn: Connection, detail: OutageDetail, choice: SmsChoice, cap: int
) -> dict[str, Any] | None:
    """What the approval records about SMS length, or a refusal naming each language
    over the cap (the preview's own computation, `preview.sms_over_cap`)."""
    transliterate = detail.row.transliterate or choice.transliterate
    over = sms_over_cap(conn, detail.draft, max_sms_segments=cap, transliterate=transliterate)
    beyond = [
        o for o in over if choice.accept_segments is None or o.segments > choice.accept_segments
    ]
    if beyond:
        hint = "" if transliterate else "approve with transliteration, "
        raise OutageError(
            f"{'; '.join(str(o) for o in beyond)}: {hint}accept the extra cost, "
            "or send it back to be shortened"
        )
    decision: dict[str, Any] = {}
    if choice.transliterate and not detail.row.transliterate:
        decision["transliterate"] = True
    if over:
        decision["accepted_segments"] = {o.language: o.segments for o in over}
        decision["cap"] = cap
    return decision or None


def approve(
    engine: Engine,
    outage_id: int,
    *,
    actor: str,
    revision: int | None = None,
    digest: str | None = None,
    warnings_seen: Sequence[str] = (),
    max_sms_segments: int = 3,
    sms: SmsChoice = SmsChoice(),
) -> None:
    """Approve what the approver saw: ``revision`` and ``digest`` (of the
    previewed content, `domain.draft.content_digest`), if given, must still be
    the outage's; every current warning must be among ``warnings_seen`` (the
    audit entry records them); no rule may be broken; and an SMS over
    ``max_sms_segments`` needs the approver's ``sms`` choice (recorded in the
    audit entry and in outage.sms_decision)."""
    seen = list(warnings_seen)
    unseen: list[str] = []
    decided: dict[str, Any] = {}
    audited: dict[str, Any] = {"warnings_seen": seen} if seen else {}

    def step(conn: Connection, current: OutageDetail, now: datetime) -> lifecycle.Outcome:
        changed = revision is not None and current.row.revision != revision
        if digest is not None:
            changed |= content_digest(current.draft, current.row.revision) != digest
        if changed:
            raise OutageError("changed since you opened it; read the preview again")
        verdict = _verdict(conn, current.draft, now)
        _refuse_problems(verdict)
        unseen.extend(w for w in verdict.warnings if w not in seen)
        if unseen:
            raise OutageError(f"confirm the warning first: {'; '.join(unseen)}")
        outcome = lifecycle.Outcome(lifecycle.approve(_state(current), actor))
        decision = _sms_decision(conn, current, sms, max_sms_segments)
        decided["sms_decision"] = decision
        if decision:
            audited["sms"] = decision
        return outcome

    def effects(
        conn: Connection, current: OutageDetail, outcome: lifecycle.Outcome, now: datetime
    ) -> None:
        row = current.row
        owed, told_start, told_end = conn.execute(
            select(outage.c.follow_up, outage.c.told_starts_at, outage.c.told_ends_at).where(
                outage.c.id == row.id
            )
        ).one()
        notices = on_approve(
            _outline(row, outcome.state),
            now,
            owed=NoticeKind(owed) if owed else None,
            told_window=(told_start, told_end) if owed else None,
            kinds_sent=sent_notice_kinds(conn, row.id),
        )
        if owed:
            conn.execute(
                update(outage)
                .where(outage.c.id == row.id)
                .values(follow_up=None, told_starts_at=None, told_ends_at=None)
            )
        _create_notices(conn, row, outcome.state.revision, notices, now)

    _transition(
        engine,
        outage_id,
        actor,
        Action.APPROVE,
        "approve",
        step,
        effects,
        detail=audited,
        stamp="approved_at",
        extra=decided,
    )
    # An approval is what sends notices: its audit row is anchored outside the database at
    # once, so cutting it (and what followed) off the log shows in `audit verify`.
    audit_anchor.anchor(engine, reason="approval")


def reject(engine: Engine, outage_id: int, reason: str, *, actor: str) -> None:
    def step(conn: Connection, current: OutageDetail, now: datetime) -> lifecycle.Outcome:
        return lifecycle.Outcome(lifecycle.reject(_state(current), actor, reason))

    _transition(
        engine,
        outage_id,
        actor,
        Action.REJECT,
        "reject",
        step,
        detail={"reason": reason.strip()},
    )


def cancel(engine: Engine, outage_id: int, *, actor: str, reason: str = "") -> None:
    """Cancel; an approved outage needs a reason (customers were or will be told)."""

    def step(conn: Connection, current: OutageDetail, now: datetime) -> lifecycle.Outcome:
        if current.row.status == "approved" and not reason.strip():
            raise OutageError("give a reason for cancelling an approved outage")
        return lifecycle.cancel(_state(current), actor, now)

    def effects(
        conn: Connection, current: OutageDetail, outcome: lifecycle.Outcome, now: datetime
    ) -> None:
        _stop_waiting(conn, current.row.id)
        notices = on_cancel(
            _outline(current.row, outcome.state),
            now,
            told_anyone=outcome.notice is NoticeKind.CANCELLATION,
        )
        _create_notices(conn, current.row, outcome.state.revision, notices, now)

    _transition(
        engine,
        outage_id,
        actor,
        Action.CANCEL,
        "cancel",
        step,
        effects,
        detail={"reason": reason.strip()} if reason.strip() else None,
    )


def amend(
    engine: Engine, outage_id: int, starts_at: datetime, ends_at: datetime, *, actor: str
) -> None:
    # What the window was, for the approver's review of the change (amendment_review).
    audited: dict[str, str] = {"starts_at": starts_at.isoformat(), "ends_at": ends_at.isoformat()}

    def step(conn: Connection, current: OutageDetail, now: datetime) -> lifecycle.Outcome:
        row = current.row
        audited["was_starts_at"] = row.starts_at.isoformat()
        audited["was_ends_at"] = row.ends_at.isoformat()
        outcome = lifecycle.amend(_state(current), actor, starts_at, ends_at, now)
        problems = check_window(
            starts_at,
            ends_at,
            row.rules,
            row.timezone,
            under_way=starts_at == row.starts_at and row.starts_at <= now,
            now=now,
        )
        if problems:
            raise OutageError("; ".join(problems))
        return outcome

    def effects(
        conn: Connection, current: OutageDetail, outcome: lifecycle.Outcome, now: datetime
    ) -> None:
        row = current.row
        _stop_waiting(conn, row.id)
        cycle = row.edit_cycle
        if row.status == "approved":
            cycle += 1
            conn.execute(update(outage).where(outage.c.id == row.id).values(edit_cycle=cycle))
        _record_editor(conn, row.id, cycle, actor, now)
        if outcome.notice is None:
            return
        told = conn.execute(
            select(outage.c.told_starts_at, outage.c.told_ends_at).where(outage.c.id == row.id)
        ).one()
        conn.execute(
            update(outage)
            .where(outage.c.id == row.id)
            .values(
                follow_up=str(outcome.notice),
                # A second amendment before approval: customers still know the first window.
                told_starts_at=told.told_starts_at or row.starts_at,
                told_ends_at=told.told_ends_at or row.ends_at,
            )
        )

    _transition(
        engine,
        outage_id,
        actor,
        Action.AMEND,
        "amend",
        step,
        effects,
        detail=audited,
    )


def complete_ended(engine: Engine, *, actor: str, now: datetime | None = None) -> list[int]:
    """Move approved outages whose end has passed to completed, so the live
    lists stop growing; the engine runs this as part of its housekeeping."""
    now = now or _now()
    with engine.connect() as conn:
        due = list(
            conn.scalars(
                select(outage.c.id).where(outage.c.status == "approved", outage.c.ends_at <= now)
            )
        )
    if not due:
        return []
    done: list[int] = []
    with write_transaction(engine) as conn:
        for outage_id in due:
            current = get_outage(conn, outage_id)
            try:
                lifecycle.complete(_state(current), now)
            except lifecycle.TransitionError:
                continue
            conn.execute(
                update(outage)
                .where(outage.c.id == outage_id, outage.c.status == "approved")
                .values(status="completed", updated_at=now)
            )
            audit.append(
                conn,
                actor=actor,
                action="complete",
                entity="outage",
                entity_id=outage_id,
                detail={"title": current.row.title, "revision": current.row.revision},
            )
            done.append(outage_id)
    return done
