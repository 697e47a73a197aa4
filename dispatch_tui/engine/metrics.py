"""Prometheus metrics at `/metrics` on the engine's listener.

Every figure but the gateways' health is read from the database at scrape
time (storage/metrics_queries, one transaction), through a custom collector:
the numbers are the tables', whichever process sent the messages, and a
restarted engine loses nothing. The gateways' health is this engine's own
view (engine/gateway_health). No token: the figures are volumes, states
and process names, never an address or a text; the listener binds
`engine.listen_host` (127.0.0.1 unless the site opens it for Kannel).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.metrics_core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector, CollectorRegistry
from sqlalchemy import Engine

from dispatch_tui.engine.gateway_health import HealthState
from dispatch_tui.storage import metrics_queries
from dispatch_tui.storage.models import CHANNELS, MESSAGE_STATES, NOTICE_STATES

log = logging.getLogger(__name__)

PATH = "/metrics"
FAILED_SCRAPE_LOG_SECONDS = 60.0

HealthSource = Callable[[], list[HealthState]]


class DatabaseCollector(Collector):
    """The delivery figures of one database, read at each scrape."""

    def __init__(
        self,
        db: Engine,
        health: HealthSource | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.db = db
        self.health = health
        self.clock = clock

    def collect(self) -> Iterator[Metric]:
        snap = metrics_queries.read(self.db, now=self.clock())
        yield from _message_metrics(snap)
        yield from _process_metrics(snap)
        if self.health is not None:
            yield from _health_metrics(self.health(), time.monotonic())


def _channels(*more: Iterable[str]) -> list[str]:
    """Every channel, also one the database knows and this version does not."""
    found = set(CHANNELS)
    for values in more:
        found.update(values)
    return sorted(found)


def _message_metrics(snap: metrics_queries.MetricsSnapshot) -> Iterator[Metric]:
    channels = _channels({c for c, _ in snap.messages}, snap.sent_total)
    states = sorted(set(MESSAGE_STATES) | {s for _, s in snap.messages})
    messages = GaugeMetricFamily(
        "dispatch_messages",
        "Messages in the outbox by channel and state",
        labels=["channel", "state"],
    )
    backlog = GaugeMetricFamily(
        "dispatch_retry_backlog", "Messages waiting to be retried", labels=["channel"]
    )
    sent = CounterMetricFamily(
        "dispatch_messages_sent", "Messages a gateway accepted", labels=["channel"]
    )
    oldest = GaugeMetricFamily(
        "dispatch_oldest_unsent_age_seconds",
        "Age of the oldest message no gateway has accepted yet (pending, retrying, sending)",
        labels=["channel"],
    )
    minutes = int(metrics_queries.REPORT_WINDOW.total_seconds() // 60)
    reports = GaugeMetricFamily(
        "dispatch_delivery_reports_recent",
        f"Delivery reports received in the last {minutes} min",
        labels=["channel"],
    )
    lag = GaugeMetricFamily(
        "dispatch_delivery_report_lag_seconds",
        f"Seconds from a gateway accepting a message to its delivery report, over the "
        f"reports of the last {minutes} min (0 when there were none)",
        labels=["channel", "stat"],
    )
    paused = GaugeMetricFamily(
        "dispatch_channel_paused", "1 while an operator has paused the channel", labels=["channel"]
    )
    for channel in channels:
        for state in states:
            messages.add_metric([channel, state], snap.messages.get((channel, state), 0))
        backlog.add_metric([channel], snap.messages.get((channel, "retry_wait"), 0))
        sent.add_metric([channel], snap.sent_total.get(channel, 0))
        at = snap.oldest_unsent.get(channel)
        oldest.add_metric([channel], max(0.0, (snap.now - at).total_seconds()) if at else 0.0)
        recent = snap.report_lag.get(channel, metrics_queries.ReportLag(0, 0.0, 0.0))
        reports.add_metric([channel], recent.count)
        mean = recent.total_seconds / recent.count if recent.count else 0.0
        lag.add_metric([channel, "mean"], mean)
        lag.add_metric([channel, "max"], recent.longest_seconds)
        paused.add_metric([channel], 1.0 if channel in snap.paused else 0.0)
    failures = GaugeMetricFamily(
        "dispatch_message_failures",
        "Messages failed or waiting to retry, by the gateway's reason (digits as N)",
        labels=["channel", "state", "reason"],
    )
    for (channel, state, reason), count in sorted(snap.failures.items()):
        failures.add_metric([channel, state, reason], count)
    notices = GaugeMetricFamily("dispatch_notices", "Notices by state", labels=["state"])
    for state in sorted(set(NOTICE_STATES) | set(snap.notices)):
        notices.add_metric([state], snap.notices.get(state, 0))
    inbound = CounterMetricFamily(
        "dispatch_inbound_messages", "Inbound SMS and bot messages received", labels=["channel"]
    )
    for channel in _channels(snap.inbound):
        inbound.add_metric([channel], snap.inbound.get(channel, 0))
    yield from (messages, sent, backlog, failures, oldest, reports, lag, paused, notices, inbound)


def _process_metrics(snap: metrics_queries.MetricsSnapshot) -> Iterator[Metric]:
    alive = GaugeMetricFamily(
        "dispatch_engines_alive", "Sending processes with a fresh heartbeat", labels=["kind"]
    )
    for kind in ("engine", "app"):
        alive.add_metric([kind], sum(p.alive for p in snap.processes if p.kind == kind))
    age = GaugeMetricFamily(
        "dispatch_engine_heartbeat_age_seconds",
        "Seconds since each running (not stopped) process's last heartbeat",
        labels=["process", "kind", "host"],
    )
    leases = GaugeMetricFamily(
        "dispatch_leases_held",
        "Leases each process holds: messages being sent, notices being fanned out",
        labels=["process", "what"],
    )
    for p in snap.processes:
        if p.stopped_at is None:
            seconds = max(0.0, (snap.now - p.heartbeat_at).total_seconds())
            age.add_metric([p.id, p.kind, p.host], seconds)
        if p.messages_held or p.notices_held or p.stopped_at is None:
            leases.add_metric([p.id, "messages"], p.messages_held)
            leases.add_metric([p.id, "notices"], p.notices_held)
    yield from (alive, age, leases)


def _health_metrics(states: list[HealthState], now: float) -> Iterator[Metric]:
    healthy = GaugeMetricFamily(
        "dispatch_gateway_healthy",
        "1 while this engine's sends to the channel's gateway succeed",
        labels=["channel"],
    )
    since = GaugeMetricFamily(
        "dispatch_gateway_state_seconds",
        "Seconds since the gateway's health last changed (as this engine saw it)",
        labels=["channel"],
    )
    failures = GaugeMetricFamily(
        "dispatch_gateway_failures",
        "Failed attempts since the gateway became unhealthy (0 while healthy)",
        labels=["channel"],
    )
    for state in states:
        healthy.add_metric([state.channel], 1.0 if state.healthy else 0.0)
        since.add_metric([state.channel], max(0.0, now - state.since))
        failures.add_metric([state.channel], state.failures)
    yield from (healthy, since, failures)


def registry(db: Engine, health: HealthSource | None = None) -> CollectorRegistry:
    """A registry of only our collector (no process or platform figures of the library)."""
    found = CollectorRegistry(auto_describe=False)
    found.register(DatabaseCollector(db, health))
    return found


def add_route(app: web.Application, db: Engine, health: HealthSource | None = None) -> None:
    """Serve `/metrics` on `app`; scraping reads the database in a thread."""
    metrics = registry(db, health)
    last_failure = [0.0]

    async def serve(_request: web.Request) -> web.Response:
        try:
            body = await asyncio.to_thread(generate_latest, metrics)
        except Exception as exc:
            if time.monotonic() - last_failure[0] >= FAILED_SCRAPE_LOG_SECONDS:
                last_failure[0] = time.monotonic()
                log.warning("metrics not served: %s: %s", type(exc).__name__, exc)
            raise web.HTTPServiceUnavailable(text="metrics unavailable: database error") from None
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    app.router.add_get(PATH, serve, allow_head=False)
