"""Per-channel token bucket with pause/resume.

Gateways throttle or ban clients that burst too hard (Kannel SMSC links,
Telegram's ~30 msg/s, SMTP relays), so each channel gets a bucket. Pausing is
the operator's brake: in-flight sends finish, new ones wait until resumed.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

__all__ = ["TokenBucket"]

# Float refill arithmetic can leave a waiter a hair short after sleeping
# exactly long enough; treat that as enough instead of sleeping again.
_EPSILON = 1e-9


class TokenBucket:
    """Allows `rate` tokens per second on average, up to `burst` at once.

    Waiters are served first come, first served: `acquire` holds an
    `asyncio.Lock` (FIFO) while waiting, so a large request is not starved by
    a stream of small ones, and `try_acquire` never jumps the queue.
    `clock` and `sleep` are injectable so tests can run on a fake clock.
    """

    def __init__(
        self,
        rate: float,
        burst: int,
        clock: Callable[[], float] = time.monotonic,
        *,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if not rate > 0:
            raise ValueError(f"rate must be > 0 tokens per second, got {rate!r}")
        if burst < 1:
            raise ValueError(f"burst must be at least 1 token, got {burst!r}")
        self.rate = float(rate)
        self.burst = burst
        self._clock = clock
        self._sleep = sleep
        self._tokens = float(burst)
        self._last = clock()
        self._lock = asyncio.Lock()
        self._running = asyncio.Event()
        self._running.set()

    @property
    def paused(self) -> bool:
        """True while `pause()` is in effect."""
        return not self._running.is_set()

    @property
    def tokens(self) -> float:
        """Tokens available right now (for display)."""
        self._refill()
        return self._tokens

    def pause(self) -> None:
        """Stop handing out tokens; waiters block until `resume()`."""
        self._running.clear()

    def resume(self) -> None:
        """Hand out tokens again and wake everyone waiting on the pause."""
        self._running.set()

    def _refill(self) -> None:
        now = self._clock()
        elapsed = max(0.0, now - self._last)
        self._last = now
        self._tokens = min(float(self.burst), self._tokens + elapsed * self.rate)

    def _check(self, tokens: int) -> None:
        if tokens < 1 or tokens > self.burst:
            raise ValueError(f"tokens must be between 1 and burst={self.burst}, got {tokens}")

    def try_acquire(self, tokens: int = 1) -> bool:
        """Take `tokens` now if possible, without waiting or overtaking waiters."""
        self._check(tokens)
        if self.paused or self._lock.locked():
            return False
        self._refill()
        if self._tokens + _EPSILON >= tokens:
            self._tokens = max(0.0, self._tokens - tokens)
            return True
        return False

    async def acquire(self, tokens: int = 1) -> None:
        """Wait until `tokens` are available (and not paused), then take them.

        Cancellation while waiting takes nothing and frees the queue.
        """
        self._check(tokens)
        async with self._lock:
            while True:
                if self.paused:
                    await self._running.wait()
                    continue
                self._refill()
                missing = tokens - self._tokens
                if missing <= _EPSILON:
                    self._tokens = max(0.0, self._tokens - tokens)
                    return
                await self._sleep(missing / self.rate)
