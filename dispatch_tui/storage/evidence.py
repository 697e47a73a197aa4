"""Delivery evidence of one outage, for regulators and compensation claims: every message
of its notices with every recorded step (each attempt and the gateway's answer, each
delivery report, expiry, cancellation), and a summary.

One CSV row per delivery event, in the order they happened (a message nothing happened to
yet has one row with the event columns empty), so the file matches the `message` and
`delivery_event` tables row for row. Addresses are masked (domain.masking), in the
address column and wherever a gateway's answer repeats them. The rows come from one
statement, streamed: a consistent view on either backend, in bounded memory however
large the notice.

Whoever may view outages may export them; each export is recorded in the audit log (who,
which outage, how many rows, where to).
"""

from __future__ import annotations

import csv
import os
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

import platformdirs
from sqlalchemy import Connection, Engine, select

from dispatch_tui.config import APP_NAME
from dispatch_tui.domain.masking import mask_address
from dispatch_tui.domain.roles import Action
from dispatch_tui.storage import audit
from dispatch_tui.storage.db import write_transaction
from dispatch_tui.storage.tables import delivery_event, message, notice, outage
from dispatch_tui.storage.users import refusal_for

CSV_COLUMNS = (
    "outage",
    "notice",
    "notice_kind",
    "message",
    "channel",
    "address",
    "language",
    "created_utc",
    "event_no",
    "event_at_utc",
    "event",
    "detail",
    "report",
    "final_state",
    "attempts",
    "sent_at_utc",
    "delivered_at_utc",
)
REPORT_PREFIX = "report "
"""How a delivery report's event detail starts (outbox.apply_report)."""
ACTION = "export_evidence"
STDOUT = "standard output"


class EvidenceError(Exception):
    """The export was refused or cannot be written; `str()` says why and what to do."""


class OutputExists(EvidenceError):
    """A file the export would write exists, and replacing it was not asked for."""


def _utc(moment: datetime | None) -> str:
    return "" if moment is None else moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


@dataclass
class EvidenceSummary:
    """What the CSV holds, in figures: counts by channel and final state, when the first
    and last message left, and how many were delivered before the outage started."""

    outage_id: int
    title: str
    starts_at: datetime
    messages: int = 0
    rows: int = 0
    states: Counter[tuple[str, str]] = field(default_factory=Counter)
    delivered_in_time: Counter[str] = field(default_factory=Counter)
    first_sent: datetime | None = None
    last_sent: datetime | None = None

    def count(
        self, channel: str, state: str, sent: datetime | None, delivered: datetime | None
    ) -> None:
        self.messages += 1
        self.states[channel, state] += 1
        if delivered is not None and delivered < self.starts_at:
            self.delivered_in_time[channel] += 1
        if sent is not None:
            self.first_sent = sent if self.first_sent is None else min(self.first_sent, sent)
            self.last_sent = sent if self.last_sent is None else max(self.last_sent, sent)

    def text(self) -> str:
        """The summary as a person reads it (times in UTC, said so)."""
        lines = [
            f"Delivery evidence of outage #{self.outage_id} {self.title!r}, "
            f"starting {_utc(self.starts_at)} UTC",
            f"messages: {self.messages:,} (CSV rows: {self.rows:,})",
        ]
        for channel in sorted({c for c, _ in self.states}):
            counts = {s: n for (c, s), n in self.states.items() if c == channel}
            total = sum(counts.values())
            states = ", ".join(f"{s} {n:,}" for s, n in sorted(counts.items()))
            lines.append(f"  {channel}: {total:,} — {states}; {self._in_time(channel, total)}")
        lines.append(f"first sent: {_utc(self.first_sent) or '—'} UTC")
        lines.append(f"last sent:  {_utc(self.last_sent) or '—'} UTC")
        total_in_time = self._in_time(None, self.messages)
        lines.append(f"all channels: {total_in_time}")
        return "\n".join(lines) + "\n"

    def _in_time(self, channel: str | None, total: int) -> str:
        done = (
            sum(self.delivered_in_time.values())
            if channel is None
            else self.delivered_in_time[channel]
        )
        share = f" ({done / total:.1%})" if total else ""
        return f"delivered before the outage start {done:,} of {total:,}{share}"


def _rows(conn: Connection, outage_id: int) -> Iterator[Any]:
    query = (
        select(
            message.c.id,
            message.c.notice_id,
            notice.c.kind,
            message.c.channel,
            message.c.address,
            message.c.language,
            message.c.created_at,
            message.c.status,
            message.c.attempts,
            message.c.sent_at,
            message.c.delivered_at,
            delivery_event.c.at.label("event_at"),
            delivery_event.c.status.label("event"),
            delivery_event.c.detail,
        )
        .select_from(
            message.join(notice, notice.c.id == message.c.notice_id).outerjoin(
                delivery_event, delivery_event.c.message_id == message.c.id
            )
        )
        .where(notice.c.outage_id == outage_id)
        .order_by(message.c.id, delivery_event.c.at, delivery_event.c.id)
    )
    streamed = conn.execution_options(stream_results=True, yield_per=2000)
    yield from streamed.execute(query)


def write_evidence(conn: Connection, outage_id: int, out: TextIO) -> EvidenceSummary:
    """Write the outage's evidence CSV to `out`; its summary."""
    found = conn.execute(
        select(outage.c.title, outage.c.starts_at).where(outage.c.id == outage_id)
    ).one_or_none()
    if found is None:
        raise EvidenceError(f"outage {outage_id} does not exist")
    summary = EvidenceSummary(outage_id, found.title, found.starts_at)
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    current: int | None = None
    number = 0
    for r in _rows(conn, outage_id):
        if r.id != current:
            current, number = r.id, 0
            summary.count(r.channel, r.status, r.sent_at, r.delivered_at)
        masked = mask_address(r.channel, r.address)
        detail = r.detail or ""
        if r.address:
            detail = detail.replace(r.address, masked)
        has_event = r.event is not None
        number += has_event
        writer.writerow(
            (
                outage_id,
                r.notice_id,
                r.kind,
                r.id,
                r.channel,
                masked,
                r.language,
                _utc(r.created_at),
                number if has_event else "",
                _utc(r.event_at),
                r.event or "",
                detail,
                ("yes" if detail.startswith(REPORT_PREFIX) else "no") if has_event else "",
                r.status,
                r.attempts,
                _utc(r.sent_at),
                _utc(r.delivered_at),
            )
        )
        summary.rows += 1
    return summary


def export_evidence(
    engine: Engine, outage_id: int, out: TextIO, *, actor: str, destination: str = STDOUT
) -> EvidenceSummary:
    """Check that `actor` may view outages, write the evidence to `out`, and record the
    export (who, which outage, how many rows, `destination`) in the audit log. The rows
    are read without the write lock, which the engine's claims need; the record is
    written once they are out."""
    with engine.connect() as conn:
        refusal = refusal_for(conn, actor, Action.VIEW)
        if refusal is not None:
            raise EvidenceError(refusal)
        summary = write_evidence(conn, outage_id, out)
    out.flush()
    with write_transaction(engine) as conn:
        refusal = refusal_for(conn, actor, Action.VIEW)
        if refusal is not None:
            raise EvidenceError(refusal)
        audit.append(
            conn,
            actor=actor,
            action=ACTION,
            entity="outage",
            entity_id=outage_id,
            detail={"rows": summary.rows, "messages": summary.messages, "to": destination},
        )
    return summary


def summary_path(path: Path) -> Path:
    """Where the summary goes beside the CSV at `path`."""
    return path.with_name(f"{path.stem}.summary.txt")


def default_path(outage_id: int, now: datetime | None = None) -> Path:
    """A new file in the user's data directory, named by outage and time (UTC)."""
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    directory = platformdirs.user_data_path(APP_NAME) / "exports"
    return directory / f"evidence-outage-{outage_id}-{moment:%Y%m%dT%H%M%SZ}.csv"


@contextmanager
def _private(path: Path, *, force: bool) -> Iterator[TextIO]:
    """`path` opened for writing, readable by its owner only (it names recipients);
    an existing file is refused unless `force`."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW | (os.O_TRUNC if force else os.O_EXCL)
    try:
        fd = os.open(path, flags, 0o600)
        os.fchmod(fd, 0o600)  # an older file may have been readable by others
    except FileExistsError:
        raise OutputExists(f"{path} exists: choose another file") from None
    except OSError as error:
        raise EvidenceError(f"cannot write {path}: {error.strerror or error}") from None
    with os.fdopen(fd, "w", encoding="utf-8", newline="") as out:
        yield out


def export_evidence_file(
    engine: Engine, outage_id: int, path: Path, *, actor: str, force: bool = False
) -> EvidenceSummary:
    """`export_evidence` into the file `path` (0600), with the summary beside it
    (`summary_path`); the directory is made (0700) when missing. A refused or failed
    export leaves no file behind."""
    path = path.expanduser()
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as error:
        raise EvidenceError(f"cannot make {path.parent}: {error.strerror or error}") from None
    beside = summary_path(path)
    for existing in (path, beside):
        if not force and existing.exists():
            raise OutputExists(f"{existing} exists: choose another file")
    with _private(path, force=force) as out:
        try:
            summary = export_evidence(engine, outage_id, out, actor=actor, destination=str(path))
        except BaseException:
            path.unlink(missing_ok=True)
            raise
    with _private(beside, force=True) as out:
        out.write(summary.text())
    return summary
