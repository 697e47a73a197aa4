"""The append-only audit log with a keyed hash chain.

Each row's hash is an HMAC-SHA256, under a key kept outside the database,
of its own content and the previous row's hash. So editing, deleting or
reordering a row breaks the chain from that row on, and whoever can write
the database but cannot read the key cannot re-compute the chain after an
edit. What the chain alone cannot show (rows cut off the end, or a chain
re-computed by someone who has the key) the anchors show: the head, row
number and hash, written outside the database (`audit_anchor`). `verify`
names the first row that no longer fits.

Rows written before the key existed stay as they were (plain SHA-256):
migration 0011 appended a switch row (action `chain_keyed`) after them, and
every row after the first switch row is keyed.

On a shared host the key belongs to the engine's service account and an
operator's process may not read it. Such a process writes its rows without
hashes, and the key's holder seals them, in id order, before its own next
row and in the engine's housekeeping (`seal`). On PostgreSQL the database
decides who may seal (`dispatch_may_seal()`, migration 0013), and blanks the
hashes of a row anyone else inserts.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import stat
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from sqlalchemy import ColumnElement, Connection, Engine, func, insert, or_, select, text, update

from dispatch_tui.config import ConfigError, default_audit_key_file
from dispatch_tui.secret_file import write_new_secret
from dispatch_tui.storage.db import write_transaction
from dispatch_tui.storage.tables import audit_log

GENESIS = "0" * 64
SWITCH_ACTION = "chain_keyed"
"""The row after which every row is keyed (written by migration 0011 on a non-empty log)."""
SWITCH_ENTITY = "audit_log"
KEY_BYTES = 32
_KEY_ID_LABEL = b"dispatch-tui audit key id"

log = logging.getLogger(__name__)


class AuditKeyError(ConfigError):
    """The key file cannot be used; the message names the file and what to do."""


class KeyNotOurs(AuditKeyError):
    """The operating system refuses this process the key: it belongs to another account
    (the engine's service account), which seals this process's rows."""


def payload(
    prev_hash: str,
    at: datetime,
    actor: str,
    action: str,
    entity: str,
    entity_id: str,
    detail: dict[str, Any],
) -> bytes:
    """What a row's hash covers: its content and the previous row's hash."""
    return json.dumps(
        [
            prev_hash,
            at.astimezone(UTC).isoformat(timespec="microseconds"),
            actor,
            action,
            entity,
            entity_id,
            detail,
        ],
        ensure_ascii=False,
        sort_keys=True,
        separators=(",", ":"),
    ).encode()


def plain_digest(payload: bytes) -> str:
    """The unkeyed formula of the rows written before the switch."""
    return hashlib.sha256(payload).hexdigest()


def keyed_digest(key: bytes, payload: bytes) -> str:
    return hmac.new(key, payload, hashlib.sha256).hexdigest()


def key_id(key: bytes) -> str:
    """A short name for a key that reveals nothing of it: anchors carry it, so a verify with
    the wrong key file says so instead of calling every row edited."""
    return keyed_digest(key, _KEY_ID_LABEL)[:16]


# --- the key -------------------------------------------------------------------------------

_configured_key_file: Path | None = None
_keys: dict[Path, bytes] = {}
_warned_group: set[Path] = set()
_warned_not_ours: set[Path] = set()


def use_key_file(path: Path | str | None) -> None:
    """Make ``path`` this process's key file (None: the default). It is read at the first
    append, so a command that only verifies never makes a key of its own."""
    global _configured_key_file
    _configured_key_file = None if path is None else Path(path).expanduser()


def configured_key_file() -> Path | None:
    """The key file set with `use_key_file`, or None when the default is used."""
    return _configured_key_file


def key_file() -> Path:
    """The key file this process uses."""
    if _configured_key_file is not None:
        return _configured_key_file
    return Path(default_audit_key_file()).expanduser()


def current_key(*, create: bool = True) -> bytes:
    """This process's key, read once; made on first use (mode 0600) when there is none, unless
    ``create`` is false (a verify must not make a new key and then call every row edited)."""
    path = key_file()
    key = _keys.get(path)
    if key is None:
        key = _keys[path] = load_key(path, create=create)
    return key


def sealing_key() -> bytes | None:
    """The key, or None when the operating system refuses it to this process: its rows
    are then left for the key's holder to seal. Any other trouble with the key is an
    error, so a broken installation never stops sealing unnoticed."""
    try:
        return current_key()
    except KeyNotOurs as exc:
        if key_file() not in _warned_not_ours:
            _warned_not_ours.add(key_file())
            log.info("%s; audit rows of this process are sealed by the key's holder", exc)
        return None


def init_key(path: Path | str) -> str | None:
    """For `dispatch-tui init`: make the key file if missing; a sentence saying so, or None."""
    target = Path(path).expanduser()
    try:
        made = not target.exists()
        load_key(target)
    except (KeyNotOurs, PermissionError):
        return f"audit key {target}: not this account's; its holder seals the audit rows"
    return f"audit key written to {target} (mode 0600; back it up)" if made else None


def load_key(path: Path, *, create: bool = True) -> bytes:
    """The key in ``path`` (64 hex digits); refused when other users may read or change it."""
    try:
        if create and not path.exists():
            _create_key(path)
        mode = stat.S_IMODE(path.stat().st_mode)
        raw = path.read_text(encoding="ascii").strip()
    except PermissionError:
        raise KeyNotOurs(f"{path}: the audit key is not readable by this account") from None
    except FileNotFoundError:
        raise AuditKeyError(
            f"{path}: no audit key here; set audit.key_file to the key this log was written "
            "with, restore it from the backup, or run `dispatch-tui init` on a new installation"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise AuditKeyError(f"{path}: cannot read the audit key: {reason}") from None
    fix = f"chmod 600 {path}"
    if mode & (stat.S_IROTH | stat.S_IWOTH | stat.S_IWGRP):
        raise AuditKeyError(
            f"{path}: other users may read or change the audit key (mode {mode:04o}); "
            f"anyone who has it can re-compute the audit chain: run {fix}"
        )
    if mode & stat.S_IRGRP and path not in _warned_group:
        _warned_group.add(path)
        log.warning(
            "%s: the audit key's group can read it (mode %04o); every member can re-compute "
            "the audit chain. Unless that is meant, run: %s",
            path,
            mode,
            fix,
        )
    try:
        key = bytes.fromhex(raw)
    except ValueError:
        key = b""
    if len(key) != KEY_BYTES:
        raise AuditKeyError(
            f"{path}: not an audit key ({KEY_BYTES * 2} hex digits expected); "
            "restore it from the backup (rows written with the lost key cannot be verified)"
        )
    return key


def _create_key(path: Path) -> None:
    """Write a fresh key; a process racing us may win, and then its key is the one."""
    try:
        created = write_new_secret(path, KEY_BYTES, ".audit-key-")
    except PermissionError:
        raise  # the key's place is another account's: `load_key` says so (KeyNotOurs)
    except OSError as exc:
        raise AuditKeyError(f"{path}: cannot create the audit key: {exc.strerror}") from None
    if created:
        log.info("audit key created: %s", path)


# --- writing -------------------------------------------------------------------------------


def append(
    conn: Connection,
    *,
    actor: str,
    action: str,
    entity: str,
    entity_id: str | int,
    detail: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> str | None:
    """Add one entry inside the caller's transaction; returns its hash, or None when it is
    left for the key's holder to seal.

    The chain needs the last hash, so appends are serialized: SQLite's write
    transactions already are; on PostgreSQL a transaction-level advisory
    lock does it without blocking readers (and keeps ids in commit order, which
    sealing relies on).
    """
    key = _key_to_seal_with(conn)
    when = at or datetime.now(UTC)
    body = detail or {}
    row: dict[str, Any] = {
        "at": when,
        "actor": actor,
        "action": action,
        "entity": entity,
        "entity_id": str(entity_id),
        "detail": body,
    }
    if key is None:
        conn.execute(insert(audit_log).values(**row, prev_hash=None, hash=None))
        return None
    prev, _ = _seal_pending(conn, key)
    digest = keyed_digest(key, payload(prev, when, actor, action, entity, str(entity_id), body))
    conn.execute(insert(audit_log).values(**row, prev_hash=prev, hash=digest))
    return digest


def _key_to_seal_with(conn: Connection) -> bytes | None:
    """Take the chain's lock; the key when this session may seal, else None."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(7331)"))
        if not conn.execute(text("SELECT dispatch_may_seal()")).scalar_one():
            return None
    return sealing_key()


def _last_sealed(conn: Connection) -> tuple[int, str]:
    found = conn.execute(
        select(audit_log.c.id, audit_log.c.hash)
        .where(audit_log.c.hash.is_not(None))
        .order_by(audit_log.c.id.desc())
        .limit(1)
    ).one_or_none()
    return (0, GENESIS) if found is None else (int(found.id), str(found.hash))


def _seal_pending(conn: Connection, key: bytes) -> tuple[str, list[str]]:
    """Seal the rows after the last sealed one, in id order; the new last hash and the
    actions of the rows sealed.

    Unsealed rows *before* the last sealed one can only come from tampering (a
    sealed row's hashes removed): they stay as they are, for `verify` to report."""
    last_id, prev = _last_sealed(conn)
    pending = conn.execute(
        select(audit_log).where(audit_log.c.id > last_id).order_by(audit_log.c.id)
    ).all()
    for row in pending:
        content = payload(
            prev, row.at, row.actor, row.action, row.entity, row.entity_id, row.detail
        )
        digest = keyed_digest(key, content)
        conn.execute(
            update(audit_log)
            .where(audit_log.c.id == row.id, audit_log.c.hash.is_(None))
            .values(prev_hash=prev, hash=digest)
        )
        prev = digest
    return prev, [row.action for row in pending]


@dataclass(frozen=True)
class Sealed:
    """What one `seal` did: how many rows, and whether an approval was among them."""

    rows: int
    approvals: int


def seal(conn: Connection) -> Sealed | None:
    """Seal the rows others left unsealed (the engine calls this in its housekeeping);
    None when this process may not (it does not hold the key)."""
    key = _key_to_seal_with(conn)
    if key is None:
        return None
    _, actions = _seal_pending(conn, key)
    return Sealed(len(actions), actions.count("approve"))


def seal_pending(engine: Engine) -> Sealed | None:
    """`seal`, in a write transaction only when something waits: the engine asks every
    few seconds, and on SQLite a write transaction locks out every other writer."""
    with engine.connect() as conn:
        waiting = conn.execute(
            select(audit_log.c.id).where(audit_log.c.hash.is_(None)).limit(1)
        ).first()
    if waiting is None:
        return Sealed(0, 0)
    with write_transaction(engine) as conn:
        return seal(conn)


def head(conn: Connection) -> tuple[int, str] | None:
    """The newest sealed row's number and hash: what an anchor records."""
    found = _last_sealed(conn)
    return None if found[0] == 0 else found


# --- verifying -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Anchor:
    """The head as it was written outside the database at ``at``."""

    row: int
    hash: str
    at: datetime
    key_id: str = ""
    reason: str = ""


class Tampering(StrEnum):
    EDITED = "edited"
    REMOVED = "removed"
    REMOVED_TAIL = "removed tail"
    RECHAINED = "re-computed chain"
    WRONG_KEY = "wrong key"


@dataclass(frozen=True)
class Finding:
    row: int
    kind: Tampering
    problem: str
    intact_before: int
    by_anchor: bool = False


@dataclass(frozen=True)
class VerifyResult:
    """``first_bad_id``, ``problem`` and ``kind`` describe the first bad row; ``findings``
    the first of each kind of trouble seen (first bad row first); ``checked`` how many rows
    come before the first bad one (all of them when ``ok``)."""

    ok: bool
    checked: int
    first_bad_id: int | None = None
    problem: str = ""
    kind: Tampering | None = None
    findings: tuple[Finding, ...] = ()
    anchors: int = 0
    """How many anchors matched their rows."""
    unsealed: int = 0
    """The newest rows that wait for the key's holder to seal them."""

    @property
    def message(self) -> str:
        """One line for a person: the verdict, the first bad row, and what else was seen."""
        if self.ok:
            against = f", {self.anchors} anchors match" if self.anchors else ""
            waiting = (
                f"; the {self.unsealed} newest wait to be sealed by the key's holder"
                if self.unsealed
                else ""
            )
            return f"audit log intact: {self.checked} rows{against}{waiting}"
        more = "; ".join(f"row {f.row}: {f.problem}" for f in self.findings[1:])
        return (
            f"audit log row {self.first_bad_id}: {self.problem} "
            f"({self.checked} rows before it are intact)" + (f"; also {more}" if more else "")
        )


def _when(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


class _Walk:
    """One pass over the rows in id order, keeping the first finding of each kind."""

    def __init__(self, key: bytes, anchors: Iterable[Anchor], switch_id: int | None) -> None:
        self.key = key
        self.switch_id = switch_id
        self.keyed_from = 1 if switch_id is None else switch_id + 1
        self.anchored: dict[int, list[Anchor]] = {}
        for anchor in anchors:
            self.anchored.setdefault(anchor.row, []).append(anchor)
        self.pending = sorted(self.anchored)
        self.findings: list[Finding] = []
        self.expected_prev = GENESIS
        self.previous_id = 0
        self.seen = 0
        self.matched_anchors = 0
        self.last_matched_anchor: int | None = None
        # The first run of rows whose hash does not match while their links hold: one row
        # is an edit, several a chain re-computed from the first of them.
        self.run: list[int] = []
        self.run_plain = True
        self.run_intact_before = 0
        self.run_gap: tuple[int, int] | None = None
        self.run_done = False
        self.unsealed: list[int] = []

    def row(self, row: Any) -> None:
        self._pass_anchors_before(row.id)
        if row.hash is None:
            # Waiting for the key's holder, if nothing sealed follows it.
            self.unsealed.append(row.id)
            self._check_anchors(row)
            self.previous_id = row.id
            return
        if self.unsealed:
            self._end_run()
            self._add(
                self.unsealed[0],
                Tampering.EDITED,
                f"has no hashes, but row {row.id} after it is sealed: its hashes were removed",
            )
            self.unsealed = []
        content = payload(
            row.prev_hash, row.at, row.actor, row.action, row.entity, row.entity_id, row.detail
        )
        plain = plain_digest(content)
        computed = keyed_digest(self.key, content) if row.id >= self.keyed_from else plain
        gap = row.id != self.previous_id + 1
        if row.prev_hash != self.expected_prev:
            self._end_run()
            if gap:
                first, last = self.previous_id + 1, row.id - 1
                which = f"row {first}" if first == last else f"rows {first} to {last}"
                self._add(
                    row.id,
                    Tampering.REMOVED,
                    f"previous-hash link broken (a row before it is missing): {which} removed",
                )
            else:
                self._add(row.id, Tampering.EDITED, "previous-hash link broken")
        elif row.hash != computed and not self.run_done:
            if not self.run:
                self.run_intact_before = self.seen
                self.run_gap = (self.previous_id, row.id) if gap else None
            self.run.append(row.id)
            self.run_plain &= row.hash == plain
        else:
            self._end_run()
        self._check_anchors(row)
        self.expected_prev = row.hash
        self.previous_id = row.id
        self.seen += 1

    def _pass_anchors_before(self, row_id: int) -> None:
        """Anchored rows that the walk has passed without seeing were removed."""
        while self.pending and self.pending[0] < row_id:
            missing = self.pending.pop(0)
            anchor = self.anchored.pop(missing)[0]
            self._add(
                missing,
                Tampering.REMOVED,
                f"anchored {_when(anchor.at)} but no longer in the log",
                by_anchor=True,
            )

    def _check_anchors(self, row: Any) -> None:
        if not self.pending or self.pending[0] != row.id:
            return
        self.pending.pop(0)
        for anchor in self.anchored.pop(row.id):
            if anchor.hash == row.hash:
                self.matched_anchors += 1
                self.last_matched_anchor = row.id
                continue
            since = (
                f" after row {self.last_matched_anchor}, whose anchor matches"
                if self.last_matched_anchor is not None
                else ""
            )
            self._add(
                row.id,
                Tampering.RECHAINED,
                f"differs from its anchor written {_when(anchor.at)}: the chain was "
                f"re-computed at or before this row{since}",
                by_anchor=True,
            )

    def _end_run(self) -> None:
        if not self.run or self.run_done:
            return
        self.run_done = True
        first = self.run[0]
        gap = ""
        if self.run_gap is not None:
            gap = f"; ids jump from {self.run_gap[0]} to {self.run_gap[1]} (rows removed)"
        if len(self.run) == 1:
            problem = "content was edited" + gap
            kind = Tampering.EDITED
        else:
            how = "the old unkeyed formula" if self.run_plain else "a key that is not ours"
            problem = (
                f"content was edited and the chain re-computed after it with {how}: rows "
                f"{first} to {self.run[-1]} do not match their keyed hashes{gap}"
            )
            kind = Tampering.RECHAINED
        if first == self.keyed_from and not self.run_plain:
            problem += " (or the key file is not the one this log was written with)"
        self._add(first, kind, problem, self.run_intact_before)

    def _add(
        self,
        row: int,
        kind: Tampering,
        problem: str,
        intact: int | None = None,
        *,
        by_anchor: bool = False,
    ) -> None:
        if any(f.kind == kind and f.by_anchor == by_anchor for f in self.findings):
            return
        intact_before = self.seen if intact is None else intact
        self.findings.append(Finding(row, kind, problem, intact_before, by_anchor))

    def finish(self, anchors: Sequence[Anchor]) -> VerifyResult:
        self._end_run()
        if self.pending:
            newest = max(self.anchored.pop(self.pending[-1]), key=lambda a: a.at)
            last = self.previous_id
            self._add(
                last + 1,
                Tampering.REMOVED_TAIL,
                f"the log ends at row {last}, but row {newest.row} was anchored "
                f"{_when(newest.at)}: rows after {last} were removed",
                by_anchor=True,
            )
        self.findings.sort(key=lambda f: (f.row, f.by_anchor))
        ours = key_id(self.key)
        theirs = {a.key_id for a in anchors if a.key_id}
        if self.findings and theirs and ours not in theirs:
            wrong = Finding(
                self.keyed_from,
                Tampering.WRONG_KEY,
                f"the key (id {ours}) is not the one that wrote the anchors "
                f"(id {', '.join(sorted(theirs))}): check audit.key_file",
                0,
            )
            self.findings.insert(0, wrong)
        if not self.findings:
            return VerifyResult(
                True, self.seen, anchors=self.matched_anchors, unsealed=len(self.unsealed)
            )
        first = self.findings[0]
        return VerifyResult(
            False,
            first.intact_before,
            first.row,
            first.problem,
            first.kind,
            tuple(self.findings),
            self.matched_anchors,
        )


def switch_row(conn: Connection) -> int | None:
    """The row after which every row is keyed; None when all are."""
    found = conn.execute(
        select(func.min(audit_log.c.id)).where(
            audit_log.c.action == SWITCH_ACTION, audit_log.c.entity == SWITCH_ENTITY
        )
    ).scalar_one_or_none()
    return None if found is None else int(found)


def verify(
    conn: Connection, key: bytes | None = None, anchors: Sequence[Anchor] = ()
) -> VerifyResult:
    """Walk the chain in id order and compare it with ``anchors`` (this database's, from
    `audit_anchor.read_anchors`); report the first row that does not fit.

    Without anchors a removed tail, and a chain re-computed with the real key, cannot
    show: the caller should pass them whenever it has them.
    """
    walk = _Walk(key or current_key(create=False), anchors, switch_row(conn))
    rows = conn.execution_options(stream_results=True, yield_per=1000).execute(
        select(audit_log).order_by(audit_log.c.id)
    )
    for row in rows:
        walk.row(row)
    return walk.finish(anchors)


# --- reading -------------------------------------------------------------------------------


@dataclass(frozen=True)
class AuditRow:
    """One log entry as the screens show it (hashes included for the detail view)."""

    id: int
    at: datetime
    actor: str
    action: str
    entity: str
    entity_id: str
    detail: dict[str, Any]
    prev_hash: str | None
    hash: str | None


_SEARCHED = (audit_log.c.actor, audit_log.c.action, audit_log.c.entity, audit_log.c.entity_id)


def _conditions(text: str, action: str | None) -> list[ColumnElement[bool]]:
    """Every word must occur (any case) in actor, action, entity or entity id."""
    conditions: list[ColumnElement[bool]] = [
        or_(*(column.icontains(word, autoescape=True) for column in _SEARCHED))
        for word in text.split()
    ]
    if action:
        conditions.append(audit_log.c.action == action)
    return conditions


def list_entries(
    conn: Connection,
    *,
    text: str = "",
    action: str | None = None,
    offset: int = 0,
    limit: int = 200,
    before_id: int | None = None,
) -> tuple[list[AuditRow], int]:
    """One page of matching entries, newest first, and how many match in all.

    The log only grows, so callers page through it rather than load it whole;
    filtering happens in SQL for the same reason. `before_id` (only entries
    older than that id) pages steadily while others keep appending, where an
    offset would shift; the count then covers only those older entries.
    """
    conditions = _conditions(text, action)
    if before_id is not None:
        conditions.append(audit_log.c.id < before_id)
    total = conn.execute(
        select(func.count()).select_from(audit_log).where(*conditions)
    ).scalar_one()
    rows = conn.execute(
        select(audit_log)
        .where(*conditions)
        .order_by(audit_log.c.id.desc())
        .offset(offset)
        .limit(limit)
    )
    entries = [
        AuditRow(
            id=row.id,
            at=row.at,
            actor=row.actor,
            action=row.action,
            entity=row.entity,
            entity_id=row.entity_id,
            detail=row.detail,
            prev_hash=row.prev_hash,
            hash=row.hash,
        )
        for row in rows
    ]
    return entries, int(total)


def list_actions(conn: Connection) -> list[str]:
    """The action names present in the log, for a filter's choices."""
    return list(
        conn.execute(select(audit_log.c.action).distinct().order_by(audit_log.c.action)).scalars()
    )
