"""When a message whose outcome is unknown is sent again.

An `unknown` message (the gateway took it, or may have, and no delivery
report came) is resent after `delivery.unknown_resend_seconds`, so that a
late report can still settle it first. A flat wait is too long before a
short-notice outage: 15 minutes before a start 20 minutes away is a resend
that never happens. So the wait shrinks as the deadline (the outage start)
nears: at most the configured wait, at most a quarter of the time left, but
never below a floor that gives a report a chance (unless the configured wait
is shorter still). A resend that would not happen before the deadline does
not happen at all: the message stays `unknown` (it may have reached the
person, and a late report may still settle it), and the monitor counts it as
not resent.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Final

SHARE_OF_TIME_LEFT: Final = 0.25
"""At most this share of the time left before the deadline is spent waiting."""
FLOOR: Final = timedelta(seconds=60)
"""A delivery report usually comes within seconds; a minute gives it a fair chance."""


def unknown_wait(now: datetime, deadline: datetime, configured: timedelta) -> timedelta:
    """How long an unknown message waits for a report before it is sent again."""
    left = max(deadline - now, timedelta(0))
    return min(configured, max(FLOOR, left * SHARE_OF_TIME_LEFT))


def resend_at(now: datetime, deadline: datetime, configured: timedelta) -> datetime | None:
    """When to send an unknown message again, or None: not before the deadline."""
    at = now + unknown_wait(now, deadline, configured)
    return at if at < deadline else None
