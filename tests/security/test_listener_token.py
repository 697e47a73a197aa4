"""The report token: required when the listener runs, at least 32 random characters, the
same across restarts (no random token per process), masked by `config show`, and written by
`dispatch-tui init` into a file only its owner can read."""

from __future__ import annotations

import stat
import tomllib
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import Engine

from dispatch_tui.config import (
    ConfigError,
    describe,
    generate_report_token,
    init_report_token,
    load_settings,
    report_token_ok,
    require_report_token,
)
from dispatch_tui.engine.runner import DeliveryEngine
from tests.security.conftest import TOKEN, settings


@pytest.mark.parametrize(
    "token",
    [
        "tok",
        "s3cret-token",
        "x" * 31,
        "a" * 40,
        "abab" * 10,
        "has spaces but is long enough to pass 32",
        "ünïcödé-characters-are-not-url-safe-at-all",
        "slash/in/the/token/breaks/the/route/1234567",
    ],
)
def test_a_weak_token_is_a_config_error_naming_the_key(token: str) -> None:
    with pytest.raises(ConfigError) as caught:
        settings(engine_report_token=token)
    message = str(caught.value)
    assert message.startswith("env DISPATCH_TUI_ENGINE_REPORT_TOKEN: engine.report_token")
    assert 'engine.report_token = "***": must be at least 32 random characters' in message
    assert token not in message.replace("report_token", "")


def test_a_weak_token_in_a_file_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "site.toml"
    path.write_text('[engine]\nreport_token = "short"\n')
    path.chmod(0o600)
    with pytest.raises(ConfigError, match=rf"^{path}: engine\.report_token = \"\*\*\*\""):
        load_settings(config_path=path, env={}, user_file=tmp_path / "none.toml")


def test_no_token_no_listener(engine: Engine) -> None:
    empty = load_settings(env={}, user_file=Path("/nonexistent/config.toml"))
    with pytest.raises(ConfigError, match=r"report_token is not set.*`dispatch-tui config token`"):
        DeliveryEngine(engine, empty, listen=True)
    with pytest.raises(ConfigError):
        require_report_token(empty)
    DeliveryEngine(engine, empty, listen=False)  # the app's engine has no listener


def test_generated_tokens_are_accepted_and_differ() -> None:
    tokens = {generate_report_token() for _ in range(50)}
    assert len(tokens) == 50
    assert all(report_token_ok(t) and len(t) >= 43 for t in tokens)


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_the_token_survives_a_restart(engine: Engine) -> None:
    """A report for a message sent before a restart still gets in."""
    config = settings()
    urls = []
    for _ in range(2):
        delivery = DeliveryEngine(engine, config, listen=True, senders={})
        assert delivery.listener is not None
        await delivery.listener.start()
        try:
            urls.append(delivery.listener.report_url("http://engine.example"))
            path = urls[0].split("engine.example", 1)[1].replace("{id}", "424242")
            path = path.replace("%d", "1").replace("%i", "smsc").replace("%A", "ok")
            async with (
                aiohttp.ClientSession() as session,
                session.get(f"http://127.0.0.1:{delivery.listener.port}{path}") as response,
            ):
                assert response.status == 200
                assert await response.text() == "unknown message, ignored"
        finally:
            await delivery.listener.close()
    assert urls[0] == urls[1]
    assert TOKEN in urls[0]


def test_config_show_masks_the_token() -> None:
    rows = {key: value for key, value, _ in describe(settings())}
    assert rows["engine.report_token"] == "***"
    assert TOKEN not in repr(describe(settings()))


def test_init_writes_a_token_readable_by_its_owner_only(tmp_path: Path) -> None:
    user_file = tmp_path / "config" / "dispatch-tui" / "config.toml"
    none = load_settings(env={}, user_file=user_file)
    note = init_report_token(none, user_file)
    assert note is not None and str(user_file) in note and "0600" in note
    assert stat.S_IMODE(user_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(user_file.parent.stat().st_mode) == 0o700
    loaded = load_settings(env={}, user_file=user_file)
    assert report_token_ok(loaded.engine_report_token)
    assert loaded.engine_report_token not in note
    # Run again: the token is kept, so Kannel's URLs stay valid.
    assert init_report_token(loaded, user_file) is None
    assert load_settings(env={}, user_file=user_file) == loaded


@pytest.mark.parametrize(
    "before",
    [
        "[sms]\nmax_segments = 2\n\n[engine]\nembedded = false\n",
        '[engine]\nreport_token = ""  \n[sms]\nmax_segments = 2\n',
        "[sms]\nmax_segments = 2",
        "# only a comment\n",
    ],
)
def test_init_keeps_what_the_file_says(tmp_path: Path, before: str) -> None:
    user_file = tmp_path / "config.toml"
    user_file.write_text(before)
    user_file.chmod(0o644)
    note = init_report_token(load_settings(env={}, user_file=user_file), user_file)
    assert note is not None
    assert stat.S_IMODE(user_file.stat().st_mode) == 0o600
    after = tomllib.loads(user_file.read_text())
    expected = tomllib.loads(before)
    assert report_token_ok(after["engine"].pop("report_token"))
    expected.get("engine", {}).pop("report_token", None)
    if not expected.get("engine"):
        expected.pop("engine", None)
        after.pop("engine")
    assert after == expected


def test_init_leaves_a_configured_token_alone(tmp_path: Path) -> None:
    user_file = tmp_path / "config.toml"
    assert init_report_token(settings(), user_file) is None
    assert not user_file.exists()


def test_init_refuses_a_file_it_cannot_extend(tmp_path: Path) -> None:
    user_file = tmp_path / "config.toml"
    user_file.write_text("engine = { embedded = false }\n")
    before = user_file.read_text()
    with pytest.raises(ConfigError, match=r"cannot add engine\.report_token"):
        init_report_token(load_settings(env={}, user_file=user_file), user_file)
    assert user_file.read_text() == before
