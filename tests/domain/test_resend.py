"""The wait before resending an unknown message shrinks as the outage start nears,
and no resend is planned at or after it (issue 15)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from dispatch_tui.domain.resend import FLOOR, resend_at, unknown_wait

NOW = datetime(2030, 6, 3, 6, 0, tzinfo=UTC)
FIFTEEN = timedelta(minutes=15)

left = st.timedeltas(min_value=timedelta(seconds=-3600), max_value=timedelta(days=10))
configured = st.timedeltas(min_value=timedelta(seconds=1), max_value=timedelta(hours=2))


def test_far_from_the_start_the_configured_wait_holds() -> None:
    assert unknown_wait(NOW, NOW + timedelta(days=5), FIFTEEN) == FIFTEEN


def test_a_short_notice_outage_resends_within_its_time() -> None:
    # 20 minutes to the start: a flat 15-minute wait would resend 5 minutes before it
    # at best; a quarter of the time left gives the resend 15 minutes to go out.
    assert unknown_wait(NOW, NOW + timedelta(minutes=20), FIFTEEN) == timedelta(minutes=5)
    assert resend_at(NOW, NOW + timedelta(minutes=20), FIFTEEN) == NOW + timedelta(minutes=5)


def test_the_floor_and_the_start() -> None:
    assert unknown_wait(NOW, NOW + timedelta(minutes=2), FIFTEEN) == FLOOR
    assert resend_at(NOW, NOW + timedelta(minutes=2), FIFTEEN) == NOW + FLOOR
    assert resend_at(NOW, NOW + timedelta(seconds=59), FIFTEEN) is None
    assert resend_at(NOW, NOW + FLOOR, FIFTEEN) is None
    assert resend_at(NOW, NOW - timedelta(minutes=1), FIFTEEN) is None
    # A configured wait below the floor is kept (tests and impatient set-ups).
    assert unknown_wait(NOW, NOW + timedelta(days=1), timedelta(seconds=5)) == timedelta(seconds=5)


@given(left, configured)
def test_never_longer_than_configured_nor_after_the_start(
    time_left: timedelta, wait: timedelta
) -> None:
    deadline = NOW + time_left
    waited = unknown_wait(NOW, deadline, wait)
    assert timedelta(0) < waited <= wait
    assert waited >= min(wait, FLOOR)
    at = resend_at(NOW, deadline, wait)
    if at is not None:
        assert NOW < at < deadline


@given(left, left, configured)
def test_the_wait_shrinks_as_the_start_nears(a: timedelta, b: timedelta, wait: timedelta) -> None:
    nearer, farther = sorted((a, b))
    assert unknown_wait(NOW, NOW + nearer, wait) <= unknown_wait(NOW, NOW + farther, wait)
