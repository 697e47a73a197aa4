"""The header's engine part when this terminal does not send: who does.

A terminal without an embedded engine said "engine: off (edit only)" while a
headless engine sent thousands of messages. It now names the sending
processes with a fresh heartbeat (count, hosts, the newest beat's age), in
forms from longest to nothing, for `fit_parts` at 80 columns; the
channels whose gateway a living engine finds down, in forms that never
shrink to nothing (whether or not this terminal sends); and whether the
living engines send SMS through their sandbox, which such a terminal's
SANDBOX label follows instead of its own settings.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Engine

from dispatch_tui.storage import processes
from dispatch_tui.storage.processes import ProcessRow

EDIT_ONLY = "engine: off (edit only)"
REFRESH_SECONDS = 5.0


def engine_forms(processes: Sequence[ProcessRow], now: datetime) -> tuple[str, ...]:
    """Header forms, longest first, for the alive ones of `processes`."""
    alive = [p for p in processes if p.alive]
    if not alive:
        return (EDIT_ONLY, "engine: off", "")
    newest = max(alive, key=lambda p: p.heartbeat_at)
    age = f"{max(0, int((now - newest.heartbeat_at).total_seconds()))} s ago"
    hosts = ", ".join(sorted({p.host for p in alive}))
    if len(alive) == 1:
        return (f"engine: on {hosts}, {age}", f"engine: on {hosts}", "engine: on", "")
    count = len(alive)
    return (f"engines: {count} on {hosts}, {age}", f"engines: {count}", "")


def gateway_forms(processes: Sequence[ProcessRow]) -> tuple[str, ...]:
    """Header forms, longest first, of the gateways the alive ones find down; none
    when all answer."""
    down = sorted({channel for p in processes if p.alive for channel in p.gateways_down})
    if not down:
        return ()
    channels = ", ".join(down)
    return (f"{channels} gateway DOWN", f"{channels} DOWN")


def sms_sandboxed(processes: Sequence[ProcessRow]) -> bool | None:
    """Whether SMS only pretend to go out: a living engine sends them through its
    sandbox. None when no living engine says (none alive, or an older one), and the
    terminal's own setting stands."""
    said = [p.sandbox_channels for p in processes if p.alive and p.sandbox_channels is not None]
    if not said:
        return None
    return any("sms" in channels for channels in said)


@dataclass(frozen=True)
class EngineStatus:
    engines: tuple[str, ...]
    """Header forms of who sends (`engine_forms`)."""
    gateways: tuple[str, ...]
    """Header forms of the gateways found down (`gateway_forms`)."""
    sms_sandboxed: bool | None


def read_engine_status(db: Engine, now: datetime | None = None) -> EngineStatus:
    """What the header says of the sending processes. Blocking: call from a worker."""
    now = now or datetime.now(UTC)
    with db.connect() as conn:
        found = processes.list_processes(conn, now=now, since=processes.ALIVE_WITHIN)
    return EngineStatus(engine_forms(found, now), gateway_forms(found), sms_sandboxed(found))
