"""The demo never reaches a real person: with real gateways and bot tokens
configured, `dispatch-tui demo` hands the app settings from which only
sandbox senders can be built, and no engine started from them polls
Telegram or checks Viber webhooks with a real token."""

from __future__ import annotations

import asyncio
import shutil
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine

from dispatch_tui import cli
from dispatch_tui.config import Settings, load_settings
from dispatch_tui.engine.gateways import build_senders
from dispatch_tui.engine.runner import DeliveryEngine
from dispatch_tui.senders.sandbox import SandboxSender
from dispatch_tui.storage.models import CHANNELS
from tests.engine.conftest import FAST
from tests.gateways import free_port

LIVE = {
    "DISPATCH_TUI_SMS_GATEWAY": "kannel",
    "DISPATCH_TUI_SMS_KANNEL_PASSWORD": "kannel-secret",
    "DISPATCH_TUI_EMAIL_GATEWAY": "smtp",
    "DISPATCH_TUI_EMAIL_SMTP_PASSWORD": "smtp-secret",
    "DISPATCH_TUI_TELEGRAM_TOKEN": "123456:live-telegram-token",
    "DISPATCH_TUI_TELEGRAM_UPDATES": "polling",
    "DISPATCH_TUI_TELEGRAM_WEBHOOK_SECRET": "hook-secret",
    "DISPATCH_TUI_VIBER_TOKEN": "live-viber-token",
}


async def _no_report(message_id: int, status: str) -> None:
    """Sandbox reports are not looked at here."""


def demo_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sqlite_template: Path
) -> Settings:
    """Run `dispatch-tui demo` with live gateways in the environment; the settings
    it would start the app with."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    database = tmp_path / "demo.sqlite"
    shutil.copyfile(sqlite_template, database)
    started: list[Settings] = []
    monkeypatch.setattr(cli, "run_app", lambda _engine, settings: started.append(settings))
    result = CliRunner().invoke(
        cli.main, ["demo", "--database", str(database)], env=LIVE, catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    [settings] = started
    return settings


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_demo_with_live_tokens_sends_only_to_the_sandbox_and_polls_nothing(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sqlite_template: Path
) -> None:
    settings = demo_settings(tmp_path, monkeypatch, sqlite_template)
    # The headless engine (listener on) is the one that would poll; the app's does not listen.
    settings = replace(
        settings,
        engine_listen_port=free_port(),
        engine_report_token="demo-sandbox-report-token_0123456789ab",
    )
    for listen in (False, True):
        delivery = DeliveryEngine(engine, settings, kind="app", listen=listen, tuning=FAST)
        await delivery.start()
        try:
            assert set(delivery.senders) == set(CHANNELS)
            assert all(type(s) is SandboxSender for s in delivery.senders.values())
            assert all(s.label.startswith("SANDBOX") for s in delivery.senders.values())
            running = {task.get_name() for task in asyncio.all_tasks()}
            assert "telegram-poll" not in running
        finally:
            await delivery.stop()


def test_sandboxed_settings_keep_no_gateway_or_credential() -> None:
    configured = load_settings(env=LIVE, user_file=Path("/nonexistent/config.toml"))
    sandboxed = configured.sandboxed()
    assert (sandboxed.sms_gateway, sandboxed.email_gateway) == ("sandbox", "sandbox")
    assert sandboxed.telegram_token == sandboxed.viber_token == ""
    assert sandboxed.telegram_webhook_secret == ""
    assert sandboxed.sms_kannel_password == sandboxed.email_smtp_password == ""
    assert sandboxed.sources["telegram.token"] == "demo (sandbox)"
    assert configured.sources["telegram.token"] != "demo (sandbox)"
    with pytest.raises(ValueError, match="telegram_token"):
        replace(configured, sandbox=True)


async def test_a_sandbox_run_builds_a_sandbox_for_every_channel() -> None:
    sandboxed = load_settings(env=LIVE, user_file=Path("/nonexistent/config.toml")).sandboxed()
    senders = build_senders(sandboxed, report_url=None, on_sandbox_report=_no_report)
    try:
        assert set(senders) == set(CHANNELS)
        assert all(type(s) is SandboxSender for s in senders.values())
    finally:
        for sender in senders.values():
            await sender.close()
