"""A terminal without its own engine says who sends: the header names the
headless engines with a fresh heartbeat (count, host, age), within 80
columns, and follows them as they come and go; the monitor says per channel
whether it is sending, paused or idle."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine
from textual.widgets import Header, Static
from textual.worker import Worker

from dispatch_tui import app as app_module
from dispatch_tui.app import HEADER_SIDES, DispatchApp
from dispatch_tui.storage import monitor, processes
from dispatch_tui.storage.processes import ProcessRow
from dispatch_tui.widgets.engine_status import EDIT_ONLY, engine_forms, gateway_forms, sms_sandboxed
from tests.engine.factory import make_outbox
from tests.tui.conftest import make_app
from tests.tui.test_app import settle
from tests.tui.test_monitor_screen import open_monitor

HOST = socket.gethostname()


async def until(check: Callable[[], bool], what: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


def header(app: DispatchApp) -> str:
    return app.screen.query_one(Header).format_title().plain


def row(process_id: str, host: str, beat_ago: float, now: datetime) -> ProcessRow:
    at = now - timedelta(seconds=beat_ago)
    return ProcessRow(process_id, "engine", host, 1, at, at, None, 0, 0, True)


def test_engine_forms_name_count_hosts_and_newest_beat() -> None:
    now = datetime.now(UTC)
    assert engine_forms([], now) == (EDIT_ONLY, "engine: off", "")
    one = [row("engine@srv1:1:ab", "srv1", 3.4, now)]
    assert engine_forms(one, now) == (
        "engine: on srv1, 3 s ago",
        "engine: on srv1",
        "engine: on",
        "",
    )
    two = [*one, row("engine@srv2:9:cd", "srv2", 1, now)]
    assert engine_forms(two, now)[0] == "engines: 2 on srv1, srv2, 1 s ago"


@pytest.mark.parametrize("embedded", [False, True])
async def test_the_header_says_a_gateway_is_down_and_back(
    tui_engine: Engine, monkeypatch: pytest.MonkeyPatch, embedded: bool
) -> None:
    """Whichever process sends (a headless engine, or this terminal's own), the
    gateway it finds down is in every terminal's header, within 80 columns."""
    monkeypatch.setattr(app_module, "REFRESH_SECONDS", 0.1)
    process_id = processes.new_process_id("engine")
    processes.register(tui_engine, process_id, "engine")
    monkeypatch.setattr(DispatchApp, "start_delivery", lambda self: None)
    app = make_app(tui_engine, "ana", embedded=embedded)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        processes.heartbeat(tui_engine, process_id, gateways_down=["sms"])
        await until(lambda: "sms gateway DOWN" in header(app), "the gateway down in the header")
        assert len(header(app)) <= 80 - HEADER_SIDES
        processes.heartbeat(tui_engine, process_id)
        await until(lambda: "DOWN" not in header(app), "the gateway back in the header")


def test_a_gateway_down_for_a_gone_engine_is_not_shown() -> None:
    now = datetime.now(UTC)
    alive = replace(row("engine@a:1:ab", "a", 1, now), gateways_down=("sms", "email"))
    gone = replace(row("engine@b:1:cd", "b", 99, now), alive=False, gateways_down=("viber",))
    assert gateway_forms([alive, gone]) == ("email, sms gateway DOWN", "email, sms DOWN")
    assert gateway_forms([gone]) == ()


async def test_the_header_shows_a_headless_engine_and_follows_it(
    tui_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(app_module, "REFRESH_SECONDS", 0.1)
    process_id = processes.new_process_id("engine")
    processes.register(tui_engine, process_id, "engine")
    app = make_app(tui_engine, "ana")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await until(lambda: "engine: on" in header(app), "the engine in the header")
        shown = header(app)
        assert len(shown) <= 80 - HEADER_SIDES and shown.startswith("dispatch-tui — SANDBOX SMS · ")
        assert "edit only" not in shown
        if len(HOST) < 10:
            assert f"engine: on {HOST}" in shown
        processes.stopped(tui_engine, process_id)
        await until(lambda: "engine: off" in header(app), "the engine gone from the header")


async def test_the_monitor_says_what_each_channel_does(tui_engine: Engine) -> None:
    make_outbox(tui_engine, 3)
    monitor.set_paused(tui_engine, "telegram", True, actor="ana")
    app = make_app(tui_engine, "ana")
    async with app.run_test(size=(80, 24)) as pilot:
        await open_monitor(app, pilot)
        title = str(app.screen.query_one("#processes-title", Static).render())
        assert title == "Processes: 0 alive, 0 gone · sending sms · PAUSED tg · idle mail, vb"
        with tui_engine.connect() as conn:
            assert monitor.channel_states(conn) == {
                "sms": "sending",
                "email": "idle",
                "telegram": "paused",
                "viber": "idle",
            }


@pytest.mark.parametrize("embedded", [False, True])
async def test_the_sandbox_label_follows_the_engine_that_sends(
    tui_engine: Engine, monkeypatch: pytest.MonkeyPatch, embedded: bool
) -> None:
    """A terminal set to the sandbox but not sending itself labels SMS as the living
    engine sends them: no SANDBOX while a headless engine sends through Kannel, back
    when it sends through its sandbox, its own setting again when no engine says. A
    terminal with its own engine keeps its own label (its SMS go its own way)."""
    monkeypatch.setattr(app_module, "REFRESH_SECONDS", 0.1)
    monkeypatch.setattr(DispatchApp, "start_delivery", lambda self: None)
    process_id = processes.new_process_id("engine")
    processes.register(tui_engine, process_id, "engine")
    processes.record_channels(tui_engine, process_id, ["sms", "email"], sandboxed=["email"])
    app = make_app(tui_engine, "ana", embedded=embedded)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        if embedded:
            await asyncio.sleep(0.5)
            assert "SANDBOX SMS" in header(app)
            return
        await until(lambda: "SANDBOX" not in header(app), "real SMS: no SANDBOX label")
        processes.record_channels(tui_engine, process_id, ["sms"], sandboxed=["sms"])
        await until(lambda: "SANDBOX SMS" in header(app), "the engine's sandbox labelled")
        processes.record_channels(tui_engine, process_id, ["sms"], sandboxed=[])
        await until(lambda: "SANDBOX" not in header(app), "real SMS again")
        processes.stopped(tui_engine, process_id)
        await until(lambda: "SANDBOX SMS" in header(app), "no engine: the own setting")


def test_sms_count_as_sandboxed_when_a_living_engine_says_so() -> None:
    now = datetime.now(UTC)
    real = replace(row("engine@a:1:ab", "a", 1, now), sandbox_channels=("email",))
    fake = replace(row("engine@b:1:cd", "b", 1, now), sandbox_channels=("sms",))
    old = row("engine@c:1:ef", "c", 1, now)
    gone = replace(fake, alive=False)
    assert sms_sandboxed([real]) is False
    assert sms_sandboxed([real, fake]) is True
    assert sms_sandboxed([old, gone]) is None
    assert sms_sandboxed([]) is None


async def test_a_slow_read_of_the_engines_is_never_cut_short(
    tui_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The next read is timed from the end of the last: however slow a read (a
    loaded machine), none is cancelled by its successor."""
    monkeypatch.setattr(app_module, "REFRESH_SECONDS", 0.001)
    read, cancel = app_module.read_engine_status, Worker.cancel
    cancelled: list[str] = []

    def slow(engine: Engine) -> object:
        time.sleep(0.02)
        return read(engine)

    def counted(worker: Worker[object]) -> None:
        cancelled.append(worker.group)
        cancel(worker)

    monkeypatch.setattr(app_module, "read_engine_status", slow)
    monkeypatch.setattr(Worker, "cancel", counted)
    app = make_app(tui_engine, "ana")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await pilot.pause(0.5)
        await settle(app, pilot)
        assert "engines" not in cancelled  # (leaving the app cancels what still runs)
