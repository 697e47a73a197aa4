"""Anchors: the audit log's head (row number and hash) written outside the database.

The keyed chain shows an edited or removed row, but not rows cut off the end,
nor a chain re-computed by someone who has the key. An anchor written at
every approval and at least every 10 minutes shows both: `audit.verify`
compares the log with them. Each anchor goes to an append-only file (opened
with O_APPEND, mode 0600) and to syslog or the journal, which the operators'
accounts cannot rewrite. An absent syslog socket is skipped (said once in the
log), and a failed anchor never undoes the decision that asked for it.

Each line names its database (`database_label`), so one file can serve the
several databases one account uses without their anchors mixing.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from logging.handlers import SysLogHandler
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.engine import URL

from dispatch_tui.config import Settings, default_audit_anchor_file
from dispatch_tui.os_user import current_login
from dispatch_tui.storage import audit

PERIOD_SECONDS = 600.0
"""How often a running engine anchors the head even when nothing was approved."""
SYSLOG_SOCKET = "/dev/log"
PREFIX = "dispatch-tui audit anchor "
"""Starts every syslog message, so anchors can be found in the journal and fed to verify."""

log = logging.getLogger(__name__)
_DECODER = json.JSONDecoder()


@dataclass(frozen=True)
class AnchorTargets:
    """Where anchors go: a file, and a syslog socket ("" for none)."""

    file: Path
    syslog_socket: str = SYSLOG_SOCKET


def targets_from(settings: Settings) -> AnchorTargets:
    file = Path(settings.audit_anchor_file).expanduser()
    return AnchorTargets(file, settings.audit_syslog_socket)


_configured: AnchorTargets | None = None
_lock = threading.Lock()
_said: set[str] = set()


def configure(settings: Settings) -> None:
    """Use ``settings``' key file and anchor targets in this process (the CLI calls this
    when it opens the database)."""
    global _configured
    audit.use_key_file(settings.audit_key_file)
    _configured = targets_from(settings)


def use_targets(targets: AnchorTargets | None) -> None:
    """Send this process's anchors to ``targets`` (None: the defaults)."""
    global _configured
    _configured = targets


@contextmanager
def restoring() -> Iterator[None]:
    """Put this process's key file and anchor targets back as they were on leaving: tests
    run many configurations (and the CLI in-process) in one process."""
    key_file, targets = audit.configured_key_file(), _configured
    try:
        yield
    finally:
        audit.use_key_file(key_file)
        use_targets(targets)


def current_targets() -> AnchorTargets:
    return _configured or AnchorTargets(Path(default_audit_anchor_file()).expanduser())


def database_label(url: URL) -> str:
    """The database, as anchors name it: without user or password, so every operator's
    connection to one PostgreSQL database gives the same label; a SQLite file by its
    absolute path."""
    if url.get_backend_name() == "sqlite":
        database = url.database or ""
        path = database if database in ("", ":memory:") else str(Path(database).resolve())
        return f"sqlite:///{path}"
    host = url.host or "localhost"
    port = url.port or 5432
    return f"{url.get_backend_name()}://{host}:{port}/{url.database or ''}"


def anchor(
    engine: Engine,
    *,
    reason: str,
    targets: AnchorTargets | None = None,
    now: datetime | None = None,
) -> audit.Anchor | None:
    """Write the head of ``engine``'s audit log to the file and syslog; the anchor, or None
    when the log is empty, the head could not be read, or this process does not hold the
    key (then the holder anchors when it seals). Never raises: the decision that asked
    for it has been committed already."""
    where = targets or current_targets()
    try:
        key = audit.sealing_key()
        if key is None:
            return None  # the key's holder anchors what it seals
        with engine.connect() as conn:
            top = audit.head(conn)
    except Exception:
        log.exception("audit anchor (%s): cannot read the head of the audit log", reason)
        return None
    if top is None:
        return None
    made = audit.Anchor(top[0], top[1], now or datetime.now(UTC), audit.key_id(key), reason)
    line = json.dumps(
        {
            "database": database_label(engine.url),
            "row": made.row,
            "hash": made.hash,
            "at": made.at.astimezone(UTC).isoformat(timespec="seconds"),
            "key": made.key_id,
            "reason": reason,
            "by": current_login(),
        },
        ensure_ascii=False,
        separators=(",", ":"),
    )
    with _lock:
        _append(where.file, line)
        if where.syslog_socket:
            _syslog(where.syslog_socket, line)
    return made


def _append(path: Path, line: str) -> None:
    """One line at the end of the file, in one write (O_APPEND): lines of processes that
    anchor at the same moment never interleave."""
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, (line + "\n").encode())
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError as exc:
        log.error("audit anchor: cannot append to %s: %s", path, exc.strerror or exc)


class _Handler(SysLogHandler):
    """Records a failed send instead of printing a traceback over the screen."""

    failed: BaseException | None = None

    def handleError(self, record: logging.LogRecord) -> None:
        self.failed = OSError("send failed")


def _syslog(address: str, line: str) -> None:
    if not os.path.exists(address):
        _say_once(address, f"syslog socket {address} absent: audit anchors go to the file only")
        return
    try:
        handler = _Handler(address=address, facility=SysLogHandler.LOG_AUTHPRIV)
    except OSError as exc:
        _say_once(address, f"syslog socket {address} unusable ({exc}): anchors go to the file")
        return
    handler.ident = "dispatch-tui: "
    try:
        record = logging.LogRecord(__name__, logging.INFO, __file__, 0, PREFIX + line, None, None)
        handler.emit(record)
    finally:
        handler.close()
    if handler.failed is not None:
        _say_once(address, f"syslog socket {address}: cannot send audit anchors")


def _say_once(key: str, message: str) -> None:
    if key not in _said:
        _said.add(key)
        log.warning(message)


def read_anchors(path: Path, database: str) -> list[audit.Anchor]:
    """The anchors of ``database`` in ``path`` (an anchor file, or syslog lines that carry
    `PREFIX`); a missing file has none. Lines that do not parse are skipped with a warning,
    since an anchor file is evidence and a damaged line must not stop the rest being used."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return []
    found: list[audit.Anchor] = []
    unreadable = 0
    for number, raw in enumerate(text.splitlines(), 1):
        start = raw.find("{")
        if start < 0:
            if raw.strip():
                unreadable += 1
            continue
        try:
            data, _ = _DECODER.raw_decode(raw, start)
            if data.get("database") != database:
                continue
            found.append(
                audit.Anchor(
                    row=int(data["row"]),
                    hash=str(data["hash"]),
                    at=datetime.fromisoformat(data["at"]).astimezone(UTC),
                    key_id=str(data.get("key", "")),
                    reason=str(data.get("reason", "")),
                )
            )
        except (ValueError, KeyError, TypeError, AttributeError):
            unreadable += 1
            log.debug("%s line %d: not an anchor", path, number)
    if unreadable:
        log.warning("%s: %d line(s) are not anchors and were skipped", path, unreadable)
    return found


def anchors_of(engine: Engine, targets: AnchorTargets | None = None) -> list[audit.Anchor]:
    """``engine``'s anchors in the anchor file this process writes, for `audit verify`."""
    where = targets or current_targets()
    return read_anchors(where.file, database_label(engine.url))


def seal_and_anchor(engine: Engine) -> audit.Sealed | None:
    """Seal what operators left unsealed and, when an approval was among it, anchor the
    head at once (what `approve` does itself when its process holds the key). None when
    this process does not hold the key."""
    sealed = audit.seal_pending(engine)
    if sealed is not None and sealed.approvals:
        anchor(engine, reason="approval")
    return sealed
