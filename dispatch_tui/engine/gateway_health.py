"""Is a channel's gateway answering? One engine's view, from the outcomes of its sends.

A gateway becomes unhealthy when `threshold` attempts in a row fail for a
reason a gateway gives (a transient answer, a refused connection, no answer
at all), and healthy again at the next message it accepts. A permanent
refusal (a bad number) says nothing about the gateway. Each change is one
log line with what happened meanwhile: how long, how many attempts failed,
how many of them wait to be retried and how many had no answer. An outage
is reminded of every `every` seconds with its counts; a state's line comes
at most once per `every` seconds, and changes held back are counted into
the next line (`tick()` writes one that is owed when no send comes).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

log = logging.getLogger(__name__)

THRESHOLD = 3
EVERY = 60.0


def duration(seconds: float) -> str:
    seconds = max(0, round(seconds))
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min {seconds % 60} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60} min"


@dataclass(frozen=True)
class HealthState:
    channel: str
    healthy: bool
    since: float
    """`time.monotonic()` of the last change."""
    failures: int
    """Failed attempts since the gateway went unhealthy (0 while healthy)."""


class GatewayHealth:
    """Call `record()` with each send's outcome status ("sent", "failed", "retry", "unknown")."""

    def __init__(
        self,
        channel: str,
        label: str,
        *,
        threshold: int = THRESHOLD,
        every: float = EVERY,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.channel = channel
        self.label = label
        self.threshold = threshold
        self.every = every
        self.clock = clock
        self.healthy = True
        self.since = clock()
        self._retries = 0
        self._unknown = 0
        """Failed attempts: in a row while healthy, since the change while not."""
        self._reason = ""
        self._outage = (0.0, 0, 0)
        """The last outage: seconds, attempts to retry, attempts without an answer."""
        self._changes_held = 0
        self._owed = False
        self._last_line: dict[bool, float] = {}
        self._reminded = 0.0

    def state(self) -> HealthState:
        failures = 0 if self.healthy else self._retries + self._unknown
        return HealthState(self.channel, self.healthy, self.since, failures)

    def record(self, status: str, reason: str = "") -> None:
        if status == "sent":
            if not self.healthy:
                now = self.clock()
                self._outage = (now - self.since, self._retries, self._unknown)
                self._change(healthy=True, now=now)
            self._retries = self._unknown = 0
        elif status in ("retry", "unknown"):
            if status == "retry":
                self._retries += 1
            else:
                self._unknown += 1
            self._reason = reason.removeprefix(self.label).lstrip(": ")
            if self.healthy and self._retries + self._unknown >= self.threshold:
                self._change(healthy=False, now=self.clock())
        self.tick()

    def tick(self) -> None:
        """Write a line that is owed (a held-back change, an outage's reminder)."""
        now = self.clock()
        if self._owed and self._may_say(self.healthy, now):
            self._say(now)
        elif not self.healthy and now - self._reminded >= self.every:
            self._reminded = now
            log.warning(
                "%s gateway %s still unhealthy after %s: %d attempts failed (%d to retry, "
                "%d without an answer); last: %s",
                self.channel,
                self.label,
                duration(now - self.since),
                self._retries + self._unknown,
                self._retries,
                self._unknown,
                self._reason,
                extra=self._fields("gateway_still_unhealthy", now, self._retries, self._unknown),
            )

    def _change(self, *, healthy: bool, now: float) -> None:
        self.healthy = healthy
        self.since = now
        if self._may_say(healthy, now):
            self._say(now)
        else:
            self._owed = True
            self._changes_held += 1

    def _may_say(self, healthy: bool, now: float) -> bool:
        last = self._last_line.get(healthy)
        return last is None or now - last >= self.every

    def _say(self, now: float) -> None:
        held = self._changes_held
        self._owed, self._changes_held = False, 0
        self._last_line[self.healthy] = self._reminded = now
        flaps = f" ({held} changes in all since the last such line)" if held > 1 else ""
        if self.healthy:
            seconds, retries, unknown = self._outage
            log.info(
                "%s gateway %s healthy again after %s: %d attempts failed (%d to retry, "
                "%d without an answer)%s",
                self.channel,
                self.label,
                duration(seconds),
                retries + unknown,
                retries,
                unknown,
                flaps,
                extra=self._fields(
                    "gateway_healthy", now, retries, unknown, down_seconds=round(seconds, 1)
                ),
            )
        else:
            log.warning(
                "%s gateway %s unhealthy: %d attempts in a row failed; last: %s%s",
                self.channel,
                self.label,
                self._retries + self._unknown,
                self._reason,
                flaps,
                extra=self._fields("gateway_unhealthy", now, self._retries, self._unknown),
            )

    def _fields(
        self, event: str, now: float, retries: int, unknown: int, **more: object
    ) -> dict[str, object]:
        return {
            "event": event,
            "channel": self.channel,
            "gateway": self.label,
            "failures": retries + unknown,
            "retries": retries,
            "unknown": unknown,
            **more,
        }
