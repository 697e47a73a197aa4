"""`dispatch-tui engine --check`: is delivery well? For systemd and monitoring.

Three things, each a line when it is not well: the database answers with a
schema this version uses; the configured gateways answer (Kannel's sendsms
is asked with our credentials and no receiver, which it refuses without
sending anything; an SMTP server must take a connection); and a headless
engine holds a fresh heartbeat. The sandbox and the bots' cloud APIs are
not probed.
"""

from __future__ import annotations

import asyncio
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import aiohttp
from sqlalchemy import Engine

from dispatch_tui.config import Settings
from dispatch_tui.engine.gateway_health import duration
from dispatch_tui.storage import migrate, processes

TIMEOUT = 5.0
"""Seconds each gateway gets to answer."""


class NotWell(Exception):
    """One reason, as its line."""


@dataclass
class CheckResult:
    problems: list[str] = field(default_factory=list)
    fine: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def fresh_within(settings: Settings) -> timedelta:
    """How old the newest beat may be: an engine beats every third of a lease."""
    beat = max(1.0, settings.delivery_lease_seconds / 3)
    return max(processes.ALIVE_WITHIN, timedelta(seconds=2 * beat))


def check_database(
    open_db: Callable[[], Engine], explain: Callable[[BaseException], str | None]
) -> tuple[Engine | None, str | None]:
    """The database, or why it cannot be used."""
    try:
        db = open_db()
        migrate.check_schema(db)
    except Exception as error:
        reason = explain(error) or f"{type(error).__name__}: {error}"
        return None, f"database: {reason}"
    return db, None


def check_heartbeats(db: Engine, settings: Settings, *, now: datetime | None = None) -> str:
    """The headless engines that beat lately, as a line; raises `NotWell` when none did,
    saying what the newest beat was."""
    now = now or datetime.now(UTC)
    within = fresh_within(settings)
    with db.connect() as conn:
        engines = [p for p in processes.list_processes(conn, now=now) if p.kind == "engine"]
    fresh = [p for p in engines if p.stopped_at is None and now - p.heartbeat_at <= within]
    if fresh:
        return "engine: " + ", ".join(
            f"{p.id} beat {duration((now - p.heartbeat_at).total_seconds())} ago" for p in fresh
        )
    seconds = int(within.total_seconds())
    if not engines:
        raise NotWell(
            f"engine: no headless engine has run in the last day (none beat within {seconds} s)"
        )
    last = max(engines, key=lambda p: p.stopped_at or p.heartbeat_at)
    if last.stopped_at is not None:
        ago = duration((now - last.stopped_at).total_seconds())
        raise NotWell(
            f"engine: none beat within {seconds} s; the last, {last.id}, stopped {ago} ago"
        )
    ago = duration((now - last.heartbeat_at).total_seconds())
    raise NotWell(f"engine: none beat within {seconds} s; the last beat was {last.id}'s, {ago} ago")


async def check_kannel(settings: Settings) -> str | None:
    """None when smsbox answers and takes our credentials."""
    url = settings.sms_kannel_url
    where = urllib.parse.urlsplit(url).netloc or url
    params = {"username": settings.sms_kannel_username, "password": settings.sms_kannel_password}
    try:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=TIMEOUT)) as session,
            session.get(url, params=params) as response,
        ):
            text = (await response.text(errors="replace")).strip()[:120]
            status = response.status
    except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
        return f"sms gateway: Kannel at {where} unreachable ({type(exc).__name__}: {exc})"
    if status == 429 or status >= 500:
        return f"sms gateway: Kannel at {where} unhealthy: answered {status} {text!r}"
    if status == 403 and "Authorization failed" in text:
        return (
            f"sms gateway: Kannel at {where} refused our credentials "
            "(sms.kannel_username, sms.kannel_password)"
        )
    return None


async def check_smtp(settings: Settings) -> str | None:
    host, port = settings.email_smtp_host, settings.email_smtp_port
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), TIMEOUT)
    except (OSError, TimeoutError) as exc:
        return f"email gateway: SMTP server {host}:{port} unreachable ({type(exc).__name__}: {exc})"
    writer.close()
    return None


async def check_gateways(settings: Settings) -> tuple[list[str], list[str]]:
    """(problems, what was checked and is fine)."""
    probes: list[tuple[str, asyncio.Future[str | None]]] = []
    if not settings.sandbox and settings.sms_gateway == "kannel":
        where = urllib.parse.urlsplit(settings.sms_kannel_url).netloc
        probes.append(
            (f"sms gateway: Kannel at {where}", asyncio.ensure_future(check_kannel(settings)))
        )
    if not settings.sandbox and settings.email_gateway == "smtp":
        where = f"{settings.email_smtp_host}:{settings.email_smtp_port}"
        probes.append(
            (f"email gateway: SMTP at {where}", asyncio.ensure_future(check_smtp(settings)))
        )
    problems, fine = [], []
    for name, probe in probes:
        problem = await probe
        if problem is None:
            fine.append(name)
        else:
            problems.append(problem)
    return problems, fine


def run(
    settings: Settings,
    open_db: Callable[[], Engine],
    explain: Callable[[BaseException], str | None],
) -> CheckResult:
    result = CheckResult()
    db, problem = check_database(open_db, explain)
    if problem is not None:
        result.problems.append(problem)
    else:
        assert db is not None
        result.fine.append(f"database: {db.url.render_as_string(hide_password=True)}")
        try:
            result.fine.append(check_heartbeats(db, settings))
        except NotWell as problem:
            result.problems.append(str(problem))
    problems, fine = asyncio.run(check_gateways(settings))
    result.problems += problems
    result.fine += fine
    return result
