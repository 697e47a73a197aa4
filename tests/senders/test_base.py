"""Outcome constructors, error types and the backoff contract."""

from __future__ import annotations

import dataclasses
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dispatch_tui.senders.base import (
    OutgoingMessage,
    PermanentError,
    Sender,
    SenderError,
    SendOutcome,
    TransientError,
    backoff_delay,
)
from dispatch_tui.senders.sandbox import SandboxSender

attempts = st.integers(min_value=0, max_value=10_000)
caps = st.floats(min_value=0.0, max_value=1e6, allow_nan=False)
bases = st.floats(min_value=0.0, max_value=1e4, allow_nan=False)
retry_afters = st.none() | st.floats(min_value=-10.0, max_value=1e9, allow_nan=False)


def test_outcome_constructors() -> None:
    assert SendOutcome.sent("r1") == SendOutcome("sent", gateway_ref="r1")
    assert SendOutcome.permanent("bad number") == SendOutcome("failed", reason="bad number")
    assert SendOutcome.transient("429", retry_after=30) == SendOutcome(
        "retry", reason="429", retry_after=30
    )
    assert SendOutcome.transient("503").retry_after is None
    assert SendOutcome.unknown("timeout").status == "unknown"


def test_message_is_frozen_with_defaults() -> None:
    msg = OutgoingMessage(id=1, channel="sms", address="+38640111222", body="Hi")
    assert (msg.subject, msg.segments, msg.coding_ucs2) == (None, 1, False)
    with pytest.raises(dataclasses.FrozenInstanceError):
        msg.body = "changed"  # type: ignore[misc]


def test_error_hierarchy() -> None:
    err = TransientError("busy", retry_after=12.5)
    assert isinstance(err, SenderError) and err.retry_after == 12.5
    assert TransientError("busy").retry_after is None
    assert issubclass(PermanentError, SenderError)
    assert str(PermanentError("no such chat")) == "no such chat"


def test_sandbox_satisfies_protocol() -> None:
    assert isinstance(SandboxSender("sms"), Sender)


@given(attempt=attempts, base=bases, cap=caps, retry_after=retry_afters, seed=st.integers())
def test_backoff_bounds(
    attempt: int, base: float, cap: float, retry_after: float | None, seed: int
) -> None:
    delay = backoff_delay(
        attempt, base=base, cap=cap, retry_after=retry_after, rng=random.Random(seed)
    )
    assert 0.0 <= delay <= cap
    if retry_after is None:
        assert delay <= base * 2.0 ** min(attempt, 62)
    else:
        assert delay >= min(max(retry_after, 0.0), cap)


@given(attempt=attempts, retry_after=retry_afters, seed=st.integers())
def test_backoff_is_deterministic_with_seeded_rng(
    attempt: int, retry_after: float | None, seed: int
) -> None:
    first = backoff_delay(attempt, retry_after=retry_after, rng=random.Random(seed))
    second = backoff_delay(attempt, retry_after=retry_after, rng=random.Random(seed))
    assert first == second


def test_backoff_grows_and_jitters() -> None:
    rng = random.Random(7)
    early = [backoff_delay(0, rng=rng) for _ in range(200)]
    late = [backoff_delay(6, rng=rng) for _ in range(200)]
    assert max(early) <= 5.0 and max(late) <= 320.0
    assert sum(late) / 200 > 10 * sum(early) / 200
    assert len(set(late)) > 150  # full jitter, not a fixed schedule


def test_backoff_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError, match="attempt"):
        backoff_delay(-1)
    with pytest.raises(ValueError, match="cap"):
        backoff_delay(1, cap=-1)
