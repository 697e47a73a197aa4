"""The delivery loop of one channel: claim, send, record, again.

Claims and results are short transactions run in a thread (no network
call inside them); sends run concurrently on the event loop, paced by the
channel's token bucket. Two pipelines per channel overlap one batch's
database work with the other's sends. A transient answer parks the message
in `retry_wait` with full-jitter backoff (at least the server's
Retry-After, and the whole channel cools down that long: what is left of
the batch goes back unsent, so a gateway that is restarting is not asked
once per claimed message); a permanent one
fails it with the reason; an unknown one waits for a delivery report.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine

from dispatch_tui.domain import sms
from dispatch_tui.engine.gateway_health import GatewayHealth
from dispatch_tui.senders.base import (
    OutgoingMessage,
    PermanentError,
    Sender,
    SendOutcome,
    TransientError,
    backoff_delay,
)
from dispatch_tui.senders.rate_limit import TokenBucket
from dispatch_tui.storage import outbox

log = logging.getLogger(__name__)

COOLDOWN_CAP = 60.0
"""Longest pause of a whole channel on a server's Retry-After, in seconds."""


@dataclass(frozen=True)
class DeliveryTuning:
    batch: int = 200
    concurrency: int = 50
    pipelines: int = 2
    lease: timedelta = timedelta(seconds=60)
    unknown_wait: timedelta = timedelta(minutes=15)
    retry_base: float = 5.0
    retry_cap: float = 900.0
    idle: float = 1.0
    """Seconds between claims when nothing was due (a wake-up cuts it short)."""


def _outgoing(m: outbox.ClaimedMessage) -> OutgoingMessage:
    return OutgoingMessage(
        id=m.id,
        channel=m.channel,
        address=m.address,
        body=m.body,
        subject=m.subject,
        sender=m.sender,
        segments=m.segments,
        coding_ucs2=m.channel == "sms" and sms.analyse(m.body).encoding != "GSM-7",
        unsubscribe_url=m.unsubscribe_url,
    )


class ChannelWorker:
    """Sends one channel's messages for one process (`owner`)."""

    def __init__(
        self,
        db: Engine,
        sender: Sender,
        bucket: TokenBucket,
        *,
        owner: str,
        tuning: DeliveryTuning,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        rng: random.Random | None = None,
    ) -> None:
        self.db = db
        self.sender = sender
        self.bucket = bucket
        self.owner = owner
        self.tuning = tuning
        self.clock = clock
        self.rng = rng or random.Random()
        self.sent = 0
        self.cooldown_until = 0.0
        self._cooldown_reason = ""
        self.health = GatewayHealth(sender.channel, sender.label)
        self._wake = asyncio.Event()
        self._stopping = False
        self._stopped = asyncio.Event()
        self._in_flight = asyncio.Semaphore(tuning.concurrency)

    @property
    def channel(self) -> str:
        return self.sender.channel

    def wake(self) -> None:
        """Claim now rather than after the idle wait (new messages, a resume)."""
        self._wake.set()

    def stop(self) -> None:
        self._stopping = True
        self._stopped.set()
        self._wake.set()

    async def run(self) -> None:
        await asyncio.gather(*(self._pipeline() for _ in range(self.tuning.pipelines)))

    async def _pipeline(self) -> None:
        loop = asyncio.get_running_loop()
        while not self._stopping:
            pause = self.cooldown_until - loop.time()
            if pause > 0:
                await self._sleep(pause)
                continue
            try:
                claimed = await asyncio.to_thread(
                    outbox.claim_batch,
                    self.db,
                    owner=self.owner,
                    channels=[self.channel],
                    limit=self.tuning.batch,
                    lease=self.tuning.lease,
                    unknown_wait=self.tuning.unknown_wait,
                    now=self.clock(),
                )
            except Exception:
                log.exception("%s: claiming %s messages failed", self.owner, self.channel)
                await self._sleep(self.tuning.idle)
                continue
            if not claimed:
                await self._sleep(self.tuning.idle)
                continue
            results = await asyncio.gather(*(self._send(m) for m in claimed))
            await self._record(results)

    async def _sleep(self, seconds: float) -> None:
        self._wake.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout=seconds)

    async def _record(self, results: list[outbox.Result]) -> None:
        """Store the results; a database hiccup is retried, since the sends happened."""
        for attempt in range(5):
            try:
                await asyncio.to_thread(
                    outbox.record_results,
                    self.db,
                    owner=self.owner,
                    results=results,
                    now=self.clock(),
                )
                self.sent += sum(r.status == "sent" for r in results)
                gone = [r for r in results if r.contact_gone]
                if gone:
                    await asyncio.to_thread(
                        outbox.disable_contacts,
                        self.db,
                        [r.message_id for r in gone],
                        f"{self.sender.label}: {gone[0].reason}",
                        now=self.clock(),
                    )
                return
            except Exception:
                log.exception("%s: recording %d results failed", self.owner, len(results))
                await asyncio.sleep(min(2.0**attempt, 10.0))
        # The leases run out and the messages become unknown: nothing is lost.
        log.error("%s: gave up recording %d results", self.owner, len(results))

    async def _send(self, message: outbox.ClaimedMessage) -> outbox.Result:
        async with self._in_flight:
            if not self.bucket.try_acquire() and not await self._acquire_unless_stopping():
                # Never handed to the gateway: back to the queue at once, not "unknown".
                return outbox.Result(
                    message.id,
                    "retry_wait",
                    reason="released at shutdown",
                    next_attempt_at=self.clock(),
                )
            held = self._held_back(message)
            if held is not None:
                return held
            try:
                outcome = await self.sender.send(_outgoing(message))
            except TransientError as exc:
                outcome = SendOutcome.transient(str(exc), exc.retry_after)
            except PermanentError as exc:
                outcome = SendOutcome.permanent(str(exc))
            except Exception as exc:
                log.exception("%s: sending message %d failed", self.sender.label, message.id)
                outcome = SendOutcome.transient(f"{type(exc).__name__}: {exc}")
        return self._result(message, outcome)

    def _held_back(self, message: outbox.ClaimedMessage) -> outbox.Result | None:
        """While the channel cools down, a claimed message goes back unsent until the end
        of the pause, with the reason of the pause."""
        remaining = self.cooldown_until - asyncio.get_running_loop().time()
        if remaining <= 0:
            return None
        return outbox.Result(
            message.id,
            "retry_wait",
            reason=self._cooldown_reason,
            next_attempt_at=self.clock() + timedelta(seconds=remaining),
        )

    async def _acquire_unless_stopping(self) -> bool:
        """Wait for a token (rate limit, pause); False if the worker stops first."""
        if self._stopping:
            return False
        token = asyncio.ensure_future(self.bucket.acquire())
        stopped = asyncio.ensure_future(self._stopped.wait())
        await asyncio.wait({token, stopped}, return_when=asyncio.FIRST_COMPLETED)
        stopped.cancel()
        if token.done() and not token.cancelled():
            return True
        token.cancel()
        await asyncio.gather(token, return_exceptions=True)
        return False

    def _result(self, message: outbox.ClaimedMessage, outcome: SendOutcome) -> outbox.Result:
        now = self.clock()
        self.health.record(outcome.status, outcome.reason)
        if outcome.status == "sent":
            return outbox.Result(message.id, "sent", outcome.gateway_ref)
        if outcome.status == "failed":
            return outbox.Result(
                message.id, "failed", reason=outcome.reason, contact_gone=outcome.contact_gone
            )
        if outcome.status == "unknown":
            return outbox.Result(
                message.id,
                "unknown",
                reason=outcome.reason,
                next_attempt_at=outbox.resend_time(
                    now, message.expires_at, self.tuning.unknown_wait
                ),
            )
        if outcome.retry_after:
            loop = asyncio.get_running_loop()
            until = loop.time() + min(outcome.retry_after, COOLDOWN_CAP)
            if until > self.cooldown_until:
                self.cooldown_until, self._cooldown_reason = until, outcome.reason
        delay = backoff_delay(
            max(message.attempts - 1, 0),
            base=self.tuning.retry_base,
            cap=self.tuning.retry_cap,
            retry_after=outcome.retry_after,
            rng=self.rng,
        )
        return outbox.Result(
            message.id,
            "retry_wait",
            reason=outcome.reason,
            next_attempt_at=now + timedelta(seconds=delay),
        )
