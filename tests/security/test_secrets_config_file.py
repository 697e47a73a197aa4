"""A config file holding passwords or tokens: world-readable is refused (every account on the
host could read the gateway password and bot tokens, and the full-screen app would hide a
warning at once), group-readable is warned about (a site file shared with the operators'
group is a documented set-up), each naming the file and the fix. A file anyone can write is
refused whatever it holds."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from dispatch_tui.config import ConfigError, load_settings
from tests.security.conftest import TOKEN

SECRETS = {
    "sms.kannel_password": '[sms]\nkannel_password = "hunter2"\n',
    "email.smtp_password": '[email]\nsmtp_password = "hunter2"\n',
    "telegram.token": '[telegram]\ntoken = "1:hunter2"\n',
    "viber.token": '[viber]\ntoken = "hunter2"\n',
    "engine.report_token": f'[engine]\nreport_token = "{TOKEN}"\n',
    "database.url": '[database]\nurl = "postgresql://dispatch:hunter2@db/outages"\n',
}


def config_file(tmp_path: Path, text: str, mode: int) -> Path:
    path = tmp_path / "site config.toml"
    path.write_text(text)
    path.chmod(mode)
    return path


@pytest.mark.parametrize("key", list(SECRETS))
@pytest.mark.parametrize("as_user_file", [False, True])
def test_a_world_readable_file_with_a_secret_is_refused(
    tmp_path: Path, key: str, as_user_file: bool
) -> None:
    path = config_file(tmp_path, SECRETS[key], 0o644)
    with pytest.raises(ConfigError) as caught:
        if as_user_file:
            load_settings(env={}, user_file=path)
        else:
            load_settings(config_path=path, env={}, user_file=tmp_path / "none.toml")
    message = str(caught.value)
    assert message.startswith(f"{path}: holds {key} but every user on this host can read it")
    assert "(mode 0644); run: chmod 600 '" in message and str(path) in message
    assert "hunter2" not in message and TOKEN not in message


@pytest.mark.parametrize("key", list(SECRETS))
def test_a_group_readable_file_with_a_secret_is_warned_about(
    tmp_path: Path, key: str, caplog: pytest.LogCaptureFixture
) -> None:
    path = config_file(tmp_path, SECRETS[key], 0o640)
    with caplog.at_level(logging.WARNING, logger="dispatch_tui.config"):
        load_settings(config_path=path, env={}, user_file=tmp_path / "none.toml")
    [warning] = [r.getMessage() for r in caplog.records]
    assert warning.startswith(f"{path}: holds {key} and its group can read it (mode 0640)")
    assert warning.endswith(f"run: chmod 600 '{path}'")
    assert "hunter2" not in warning


@pytest.mark.parametrize("mode", [0o600, 0o400])
def test_a_private_file_is_read_silently(
    tmp_path: Path, mode: int, caplog: pytest.LogCaptureFixture
) -> None:
    path = config_file(tmp_path, "".join(SECRETS.values()), mode)
    with caplog.at_level(logging.DEBUG, logger="dispatch_tui.config"):
        settings = load_settings(config_path=path, env={}, user_file=tmp_path / "none.toml")
    assert settings.sms_kannel_password == "hunter2"
    assert caplog.records == []


def test_secrets_from_the_environment_or_empty_need_no_private_file(tmp_path: Path) -> None:
    text = '[sms]\nkannel_password = ""\n[database]\nurl = "postgresql://dispatch@db/o"\n'
    path = config_file(tmp_path, text + "[engine]\nembedded = false\n", 0o644)
    env = {"DISPATCH_TUI_SMS_KANNEL_PASSWORD": "hunter2"}
    loaded = load_settings(config_path=path, env=env, user_file=tmp_path / "none.toml")
    assert loaded.sms_kannel_password == "hunter2" and loaded.engine_embedded is False


def test_a_file_anyone_can_change_is_refused(tmp_path: Path) -> None:
    path = config_file(tmp_path, '[sms]\ngateway = "kannel"\n', 0o666)
    path.chmod(0o666)
    with pytest.raises(ConfigError, match="every user on this host can change this config file"):
        load_settings(config_path=path, env={}, user_file=tmp_path / "none.toml")


def test_dev_null_as_the_config_file_is_an_empty_config(tmp_path: Path) -> None:
    """A device (0666 by nature) holds nothing anyone could plant for later reading."""
    settings = load_settings(config_path=Path("/dev/null"), env={}, user_file=tmp_path / "none")
    assert settings.sms_gateway == "sandbox"
