"""The delivery engine: scheduler, fan-out, one worker per channel, and
(headless) the delivery-report listener, on one event loop.

The same class runs inside the app (`engine.embedded`) and as
`dispatch-tui engine`. Every process registers itself and beats; its id is
the owner name on the leases it takes, so any number of them can share a
database and each message still goes out once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, select

from dispatch_tui.config import Settings, require_report_token
from dispatch_tui.domain.bot_updates import ChatText
from dispatch_tui.domain.reply_policy import SenderId
from dispatch_tui.engine import metrics
from dispatch_tui.engine.bots import TelegramPoller
from dispatch_tui.engine.delivery import ChannelWorker, DeliveryTuning
from dispatch_tui.engine.gateway_health import HealthState
from dispatch_tui.engine.gateways import KANNEL_DLR_STATES, build_senders, channel_rate
from dispatch_tui.engine.listener import DeliveryReport, InboundSms, Listener
from dispatch_tui.engine.log_setup import mask_number
from dispatch_tui.engine.notice_log import NoticeLog
from dispatch_tui.engine.scheduler import NoticeScheduler
from dispatch_tui.os_user import current_login
from dispatch_tui.senders.base import Sender
from dispatch_tui.senders.rate_limit import TokenBucket
from dispatch_tui.senders.sandbox import SandboxSender
from dispatch_tui.storage import (
    audit,
    audit_anchor,
    bot_chats,
    campaign_fanout,
    fanout,
    inbound,
    monitor,
    outage_lifecycle,
    outbox,
    processes,
    signup,
)
from dispatch_tui.storage.models import CHANNELS
from dispatch_tui.storage.tables import utility

log = logging.getLogger(__name__)

NO_REPLIES = inbound.ReplyLimits(
    per_number_hour=0, per_number_day=0, help_per_number_day=0, global_per_minute=0
)
"""Limits under which storage records an inbound SMS but queues no reply."""
SENDER_IDS_SECONDS = 30.0
SIGNUPS_SECONDS = 3.0
"""How often web sign-ups confirmed by the web's role (which may not) are activated."""


def tuning_from(settings: Settings) -> DeliveryTuning:
    return DeliveryTuning(
        batch=settings.delivery_batch,
        concurrency=settings.delivery_concurrency,
        lease=timedelta(seconds=settings.delivery_lease_seconds),
        unknown_wait=timedelta(seconds=settings.delivery_unknown_resend_seconds),
        retry_base=settings.delivery_retry_base_seconds,
        retry_cap=settings.delivery_retry_cap_seconds,
    )


class DeliveryEngine:
    """Start with `await start()`, stop with `await stop()`; `wake()` after a change."""

    def __init__(
        self,
        db: Engine,
        settings: Settings,
        *,
        kind: str = "engine",
        listen: bool = False,
        senders: dict[str, Sender] | None = None,
        tuning: DeliveryTuning | None = None,
        sync_seconds: float = 2.0,
        expire_seconds: float = 10.0,
        anchor_seconds: float = audit_anchor.PERIOD_SECONDS,
        notice_lease: timedelta = fanout.NOTICE_LEASE,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.db = db
        self.settings = settings
        self.kind = kind
        self.id = processes.new_process_id(kind)
        self.tuning = tuning or tuning_from(settings)
        self.notice_lease = notice_lease
        self.clock = clock
        self.listener: Listener | None = None
        if listen:
            webhook = settings.telegram_token and settings.telegram_updates == "webhook"
            self.listener = Listener(
                host=settings.engine_listen_host,
                port=settings.engine_listen_port,
                token=require_report_token(settings),
                on_report=self._kannel_report,
                on_inbound=self._inbound,
                on_chat=self._chat,
                sender_ids=self._sender_ids,
                telegram_secret=settings.telegram_webhook_secret if webhook else "",
                viber_token=settings.viber_token,
            )
            metrics.add_route(self.listener.app, db, self.health)
        self._senders_cache: tuple[float, list[SenderId]] | None = None
        self._given_senders = senders
        self.senders: dict[str, Sender] = {}
        self.workers: dict[str, ChannelWorker] = {}
        self._reported_down: frozenset[str] = frozenset()
        """What the last heartbeat said of the gateways."""
        self._tasks: list[asyncio.Task[None]] = []
        self._sync_seconds = sync_seconds
        self._expire_seconds = expire_seconds
        self._anchor_seconds = anchor_seconds
        self._paused: set[str] = set()
        self._said_unsealed = False
        self._poller: TelegramPoller | None = None
        self.notice_log = NoticeLog(db)
        self.scheduler = NoticeScheduler(db, self._fan_out, clock=clock)
        self.running = False

    async def start(self) -> None:
        await asyncio.to_thread(processes.register, self.db, self.id, self.kind, now=self.clock())
        report_url = None
        if self.listener is not None:
            await self.listener.start()
            report_url = self.listener.report_url(self.settings.engine_public_url or None)
        self.senders = self._given_senders or build_senders(
            self.settings, report_url=report_url, on_sandbox_report=self._sandbox_report
        )
        sandboxed = [c for c, sender in self.senders.items() if isinstance(sender, SandboxSender)]
        await asyncio.to_thread(
            processes.record_channels, self.db, self.id, list(self.senders), sandboxed
        )
        for channel in sorted(set(CHANNELS) - set(self.senders)):
            log.warning("%s: no sender configured; its messages wait for one", channel)
        for channel, sender in self.senders.items():
            rate = channel_rate(self.settings, channel)
            bucket = TokenBucket(rate, burst=max(1, int(rate)))
            worker = ChannelWorker(
                self.db, sender, bucket, owner=self.id, tuning=self.tuning, clock=self.clock
            )
            self.workers[channel] = worker
            self._tasks.append(asyncio.create_task(worker.run(), name=f"deliver-{channel}"))
        token = self.settings.telegram_token
        if self.listener is not None and token and self.settings.telegram_updates == "polling":
            # One poller per bot: only the headless engine (with the listener) polls.
            self._poller = TelegramPoller(token=token, on_text=self._chat)
            self._tasks.append(asyncio.create_task(self._poller.run(), name="telegram-poll"))
        beat = max(1.0, self.tuning.lease.total_seconds() / 3)
        self.scheduler.every("heartbeat", beat, self._heartbeat)
        self.scheduler.every("expire", self._expire_seconds, self._expire)
        self.scheduler.every("audit-anchor", self._anchor_seconds, self._anchor)
        self.scheduler.every("audit-seal", self._sync_seconds, self._seal)
        self.scheduler.every("sync", self._sync_seconds, self._sync)
        self.scheduler.every("web-signups", SIGNUPS_SECONDS, self._activate_signups)
        self.scheduler.every("campaigns", self._sync_seconds, self._campaigns)
        await self.scheduler.start()
        self.running = True
        log.info(
            "engine %s running: %s",
            self.id,
            ", ".join(s.label for s in self.senders.values()) or "no senders",
            extra={"event": "engine_started", "engine_id": self.id},
        )

    async def stop(self) -> None:
        """Stop claiming, let sends in flight finish and be recorded, then leave."""
        self.running = False
        self.scheduler.shutdown()
        for worker in self.workers.values():
            worker.stop()
        for task in self._tasks:
            if task.get_name() == "telegram-poll":
                task.cancel()
        if self._poller is not None:
            await self._poller.close()
        if self._tasks:
            _, late = await asyncio.wait(self._tasks, timeout=30)
            for task in late:
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
        for sender in self.senders.values():
            with contextlib.suppress(Exception):
                await sender.close()
        if self.listener is not None:
            await self.listener.close()
        with contextlib.suppress(Exception):
            await asyncio.to_thread(processes.stopped, self.db, self.id, now=self.clock())
        log.info(
            "engine %s stopped", self.id, extra={"event": "engine_stopped", "engine_id": self.id}
        )

    def wake(self) -> None:
        """Something changed: rebuild the wake-ups and claim again."""
        asyncio.get_running_loop().create_task(self.scheduler.sync())
        for worker in self.workers.values():
            worker.wake()

    def describe(self) -> str:
        """A few words for the header; the monitor shows each channel's gateway."""
        if not self.running:
            return "engine: stopped"
        return "engine: running"

    def health(self) -> list[HealthState]:
        """Each channel's gateway as this engine's sends found it."""
        return [worker.health.state() for worker in self.workers.values()]

    def _gateways_down(self) -> frozenset[str]:
        return frozenset(state.channel for state in self.health() if not state.healthy)

    async def _fan_out(self, notice_id: int) -> None:
        started = time.monotonic()
        result = await asyncio.to_thread(
            fanout.fan_out,
            self.db,
            notice_id,
            owner=self.id,
            now=self.clock(),
            lease=self.notice_lease,
            max_sms_segments=self.settings.sms_max_segments,
            unsubscribe_base=self.settings.web_public_url,
        )
        if result is not None:
            self.notice_log.fanned_out(
                notice_id, result.messages, result.subscribers, time.monotonic() - started
            )
            for worker in self.workers.values():
                worker.wake()

    async def _campaigns(self) -> None:
        """Build approved campaigns that are due, hold them in quiet hours, close finished ones."""
        built = await asyncio.to_thread(
            campaign_fanout.run_due,
            self.db,
            owner=self.id,
            now=self.clock(),
            lease=self.notice_lease,
            unsubscribe_base=self.settings.web_public_url,
        )
        if built:
            for worker in self.workers.values():
                worker.wake()

    async def _sync(self) -> None:
        await self.scheduler.sync()
        paused = await asyncio.to_thread(self._paused_channels)
        for channel in self._paused - paused:
            if channel in self.workers:
                self.workers[channel].bucket.resume()
                self.workers[channel].wake()
        for channel in paused - self._paused:
            if channel in self.workers:
                self.workers[channel].bucket.pause()
        for channel in sorted(paused ^ self._paused):
            state = "paused" if channel in paused else "resumed"
            log.info(
                "channel %s %s",
                channel,
                state,
                extra={"event": f"channel_{state}", "channel": channel},
            )
        self._paused = paused
        for worker in self.workers.values():
            worker.health.tick()
        if self._gateways_down() != self._reported_down:
            await self._heartbeat()  # every header shows it within seconds, not a beat
        await self.notice_log.check()

    def _paused_channels(self) -> set[str]:
        with self.db.connect() as conn:
            return monitor.paused_channels(conn)

    async def _expire(self) -> None:
        """Housekeeping: expire what can no longer be useful, complete ended outages."""
        await asyncio.to_thread(outbox.expire_due, self.db, now=self.clock())
        done = await asyncio.to_thread(
            outage_lifecycle.complete_ended, self.db, actor=current_login(), now=self.clock()
        )
        if done:
            log.info("completed %d ended outage(s): %s", len(done), done)

    async def _anchor(self) -> None:
        """Anchor the audit log's head outside the database, approvals or not, so rows cut
        off its end show within 10 minutes."""
        targets = audit_anchor.targets_from(self.settings)
        await asyncio.to_thread(audit_anchor.anchor, self.db, reason="periodic", targets=targets)

    async def _seal(self) -> None:
        """Seal the audit rows of operators who may not read the key, and anchor the head
        at once when an approval was among them (what `approve` does when it can)."""
        sealed = await asyncio.to_thread(audit_anchor.seal_and_anchor, self.db)
        if sealed is None and not self._said_unsealed:
            self._said_unsealed = True
            log.warning(
                "this engine cannot read the audit key %s: nobody seals the audit rows; "
                "run the engine as the account that owns the key",
                audit.key_file(),
            )

    async def _activate_signups(self) -> None:
        """Web sign-ups confirmed by the public web's role, which may not create contacts."""
        await asyncio.to_thread(
            signup.activate_confirmed, self.db, actor=current_login(), now=self.clock()
        )

    async def _heartbeat(self) -> None:
        now = self.clock()
        down = self._gateways_down()
        await asyncio.to_thread(
            processes.heartbeat, self.db, self.id, now=now, gateways_down=sorted(down)
        )
        self._reported_down = down
        await asyncio.to_thread(
            outbox.extend_leases, self.db, owner=self.id, lease=self.tuning.lease, now=now
        )

    async def _sandbox_report(self, message_id: int, status: str) -> None:
        known = await asyncio.to_thread(outbox.apply_report, self.db, message_id, status, "sandbox")
        _log_report(message_id, "sandbox", status, known)

    def _read_sender_ids(self) -> list[SenderId]:
        with self.db.connect() as conn:
            rows = conn.execute(select(utility.c.sms_sender, utility.c.country))
            return [SenderId(r.sms_sender, r.country) for r in rows]

    async def _sender_ids(self) -> list[SenderId]:
        """The utilities' SMS senders, read again at most every SENDER_IDS_SECONDS."""
        now = time.monotonic()
        if self._senders_cache is None or now - self._senders_cache[0] > SENDER_IDS_SECONDS:
            self._senders_cache = (now, await asyncio.to_thread(self._read_sender_ids))
        return self._senders_cache[1]

    async def _inbound(self, sms: InboundSms) -> None:
        limits = NO_REPLIES
        if sms.no_reply is None:
            limits = inbound.ReplyLimits(
                per_number_hour=self.settings.inbound_replies_per_number_hour,
                global_per_minute=self.settings.inbound_replies_per_minute,
            )
        result = await asyncio.to_thread(
            inbound.handle_inbound,
            self.db,
            sender=sms.sender,
            receiver=sms.receiver,
            text=sms.text,
            gateway_id=sms.gateway_id or None,
            now=self.clock(),
            limits=limits,
            signups_per_phone=self.settings.inbound_signups_per_phone,
        )
        why = f" (no reply: {sms.no_reply})" if sms.no_reply else ""
        log.info("inbound SMS %d: %s%s", result.inbound_id, result.outcome, why)
        log.debug(
            "inbound SMS %d from %s to %s, %d characters; replied: %s",
            result.inbound_id,
            mask_number(sms.sender),
            sms.receiver,
            len(sms.text),
            result.reply is not None,
            extra={"event": "inbound", "inbound_id": result.inbound_id, "channel": "sms"},
        )
        if result.reply is not None and "sms" in self.workers:
            self.workers["sms"].wake()

    async def _chat(self, channel: str, text: ChatText) -> None:
        log.debug(
            "%s message from chat %s, %d characters",
            channel,
            mask_number(text.chat_id),
            len(text.text),
            extra={"event": "inbound", "channel": channel},
        )
        replies = await asyncio.to_thread(
            bot_chats.handle_chat_message,
            self.db,
            channel,
            text.chat_id,
            text.text,
            update_id=text.update_id,
            now=self.clock(),
        )
        if replies and channel in self.workers:
            self.workers[channel].wake()

    async def _kannel_report(self, report: DeliveryReport) -> bool:
        state = KANNEL_DLR_STATES.get(report.status)
        if state is None:
            log.warning("message %d: Kannel DLR type %d ignored", report.message_id, report.status)
            return True
        detail = f"kannel {report.status} {report.detail}".strip()
        known = await asyncio.to_thread(
            outbox.apply_report, self.db, report.message_id, state, detail, now=self.clock()
        )
        _log_report(report.message_id, f"kannel {report.status}", state, known)
        return known


def _log_report(message_id: int, said: str, state: str, known: bool) -> None:
    """Each delivery report, for `-v`."""
    log.debug(
        "delivery report: message %d %s → %s%s",
        message_id,
        said,
        state,
        "" if known else " (unknown message)",
        extra={"event": "delivery_report", "message_id": message_id, "state": state},
    )
