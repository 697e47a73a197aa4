"""Token bucket: fake-clock arithmetic plus short real-time checks."""

from __future__ import annotations

import asyncio
import time

import pytest

from dispatch_tui.senders.rate_limit import TokenBucket


class FakeClock:
    """A clock that only moves when the bucket sleeps (or the test says so)."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)


@pytest.mark.parametrize(
    ("rate", "burst", "match"),
    [(0, 1, "rate"), (-1.0, 5, "rate"), (float("nan"), 5, "rate"), (1.0, 0, "burst")],
)
def test_invalid_configuration(rate: float, burst: int, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        TokenBucket(rate, burst)


def test_burst_then_rate_with_fake_clock() -> None:
    clock = FakeClock()
    bucket = TokenBucket(rate=2.0, burst=3, clock=clock)
    assert [bucket.try_acquire() for _ in range(4)] == [True, True, True, False]
    clock.now += 0.25
    assert not bucket.try_acquire()
    clock.now += 0.25
    assert bucket.try_acquire()
    clock.now += 100
    assert bucket.tokens == 3.0  # refill is capped at burst


def test_request_larger_than_burst_is_rejected() -> None:
    bucket = TokenBucket(rate=1.0, burst=2)
    with pytest.raises(ValueError, match="burst"):
        bucket.try_acquire(3)


async def test_acquire_sleeps_exactly_as_needed_on_fake_clock() -> None:
    clock = FakeClock()
    bucket = TokenBucket(rate=4.0, burst=2, clock=clock, sleep=clock.sleep)
    start = clock.now
    for _ in range(10):
        await bucket.acquire()
    # 2 free from the burst, then 8 at 4/s.
    assert clock.now - start == pytest.approx(2.0)
    await bucket.acquire(2)
    assert clock.now - start == pytest.approx(2.5)


async def test_fifo_fairness_large_request_not_starved() -> None:
    clock = FakeClock()
    bucket = TokenBucket(rate=1.0, burst=3, clock=clock, sleep=clock.sleep)
    for _ in range(3):
        assert bucket.try_acquire()
    order: list[str] = []

    async def take(name: str, n: int) -> None:
        await bucket.acquire(n)
        order.append(name)

    tasks = [asyncio.create_task(take("big", 3))]
    await asyncio.sleep(0)
    tasks += [asyncio.create_task(take(f"small{i}", 1)) for i in range(3)]
    await asyncio.sleep(0)
    assert not bucket.try_acquire()  # waiters are queued: no queue jumping
    await asyncio.gather(*tasks)
    assert order == ["big", "small0", "small1", "small2"]


async def test_real_time_burst_then_rate() -> None:
    bucket = TokenBucket(rate=50.0, burst=5)
    start = time.monotonic()
    for _ in range(5):
        await bucket.acquire()
    assert time.monotonic() - start < 0.05
    for _ in range(10):
        await bucket.acquire()
    elapsed = time.monotonic() - start
    assert 0.17 <= elapsed < 0.6  # 10 tokens at 50/s ≈ 0.2 s


async def test_real_time_concurrent_waiters_served_in_order() -> None:
    bucket = TokenBucket(rate=100.0, burst=1)
    order: list[int] = []

    async def take(i: int) -> None:
        await bucket.acquire()
        order.append(i)

    tasks = []
    for i in range(10):
        tasks.append(asyncio.create_task(take(i)))
        await asyncio.sleep(0)  # start in a known order
    await asyncio.wait_for(asyncio.gather(*tasks), timeout=0.5)
    assert order == list(range(10))


async def test_pause_blocks_and_resume_wakes_waiters() -> None:
    bucket = TokenBucket(rate=1000.0, burst=10)
    bucket.pause()
    assert bucket.paused
    assert not bucket.try_acquire()
    done: list[int] = []

    async def take(i: int) -> None:
        await bucket.acquire()
        done.append(i)

    tasks = [asyncio.create_task(take(i)) for i in range(3)]
    await asyncio.sleep(0.05)
    assert done == []
    bucket.resume()
    assert not bucket.paused
    await asyncio.wait_for(asyncio.gather(*tasks), timeout=0.5)
    assert done == [0, 1, 2]
    assert bucket.try_acquire()


async def test_pause_while_waiting_for_tokens() -> None:
    bucket = TokenBucket(rate=20.0, burst=1)
    await bucket.acquire()
    task = asyncio.create_task(bucket.acquire())
    await asyncio.sleep(0)
    bucket.pause()
    await asyncio.sleep(0.1)  # tokens refill, but the pause still holds
    assert not task.done()
    bucket.resume()
    await asyncio.wait_for(task, timeout=0.5)


async def test_cancelled_waiter_takes_nothing_and_frees_queue() -> None:
    clock = FakeClock()
    bucket = TokenBucket(rate=1.0, burst=1, clock=clock)
    assert bucket.try_acquire()
    waiter = asyncio.create_task(bucket.acquire())
    await asyncio.sleep(0)
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    clock.now += 1
    assert bucket.try_acquire()
