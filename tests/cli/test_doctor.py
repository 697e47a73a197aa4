"""`dispatch-tui doctor` against a real Kannel run from the README's fragment:
all ok when it is right, and each wrong setting named on its own FAIL line."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from dispatch_tui.cli import main
from tests.gateways import Kannel, KannelFactory, free_port, readme_config
from tests.gateways import kannel_factory as kannel_factory

PASSWORD = "sendsms-secret"
TOKEN = "doctor-test-token-0123456789abcdefghijkl"
CHECKS = [
    "gateway",
    "reachable",
    "credentials",
    "test sendsms",
    "concatenation",
    "max-messages",
    "mo-recode",
]


def start(factory: KannelFactory, edit: Callable[[str], str] = str) -> Kannel:
    config = readme_config(listen_port=free_port(), token=TOKEN, password=PASSWORD, edit=edit)
    return factory(config=config, username="dispatch", password=PASSWORD)


def doctor(
    kannel: Kannel, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, **env: str
) -> tuple[int, dict[str, str]]:
    """Exit status and each check's line, by name."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    settings = {
        "DISPATCH_TUI_SMS_GATEWAY": "kannel",
        "DISPATCH_TUI_SMS_KANNEL_URL": kannel.sendsms_url,
        "DISPATCH_TUI_SMS_KANNEL_USERNAME": "dispatch",
        "DISPATCH_TUI_SMS_KANNEL_PASSWORD": PASSWORD,
        "DISPATCH_TUI_SMS_MAX_SEGMENTS": "3",
        **env,
    }
    conf = str(kannel.boxes.conf)
    result: Result = CliRunner().invoke(
        main, ["doctor", "--kannel-conf", conf], env=settings, catch_exceptions=False
    )
    lines = {}
    for line in result.output.splitlines():
        state, _, rest = line.partition(" ")
        name, _, _ = rest.strip().partition(":")
        lines[name] = f"{state} {rest.strip()}"
    assert list(lines) == CHECKS, result.output
    return result.exit_code, lines


def failing(lines: dict[str, str]) -> list[str]:
    return [name for name, line in lines.items() if line.startswith("FAIL")]


def test_the_readme_config_passes_every_check(
    kannel_factory: KannelFactory, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    kannel = start(kannel_factory)
    code, lines = doctor(kannel, monkeypatch, tmp_path)
    assert (code, failing(lines)) == (0, []), lines
    assert "refused, as it should be" in lines["test sendsms"]
    assert "10 ≥ sms.max_segments = 3" in lines["max-messages"]
    assert kannel.received() == [], "the test sendsms must send nothing"

    code, lines = doctor(kannel, monkeypatch, tmp_path, DISPATCH_TUI_SMS_KANNEL_PASSWORD="wrong")
    assert (code, failing(lines)) == (1, ["credentials", "test sendsms"])
    assert "Authorization failed" in lines["credentials"]
    assert "sms.kannel_password" in lines["credentials"]

    code, lines = doctor(kannel, monkeypatch, tmp_path, DISPATCH_TUI_SMS_GATEWAY="sandbox")
    assert (code, failing(lines)) == (1, ["gateway"])


@pytest.mark.parametrize(
    ("setting", "edit", "named"),
    [
        ("concatenation off", "concatenation = false", "set concatenation = true"),
        ("max-messages too small", "max-messages = 2", "2 < sms.max_segments = 3"),
        ("mo-recode off", "mo-recode = false", "set mo-recode = true"),
    ],
)
def test_a_wrong_setting_is_named(
    kannel_factory: KannelFactory,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    setting: str,
    edit: str,
    named: str,
) -> None:
    key = edit.split(" = ")[0]
    right = {"concatenation": "concatenation = true", "mo-recode": "mo-recode = true"}.get(
        key, "max-messages = 10"
    )

    def wrong(text: str) -> str:
        assert right in text
        return text.replace(right, edit)

    kannel = start(kannel_factory, wrong)
    code, lines = doctor(kannel, monkeypatch, tmp_path)
    assert (code, failing(lines)) == (1, [key]), (setting, lines)
    assert named in lines[key]


def test_kannel_down(
    kannel_factory: KannelFactory, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    kannel = start(kannel_factory)
    kannel.boxes.stop("bearerbox")  # smsbox exits with it
    code, lines = doctor(kannel, monkeypatch, tmp_path)
    assert (code, failing(lines)) == (1, ["reachable", "credentials", "test sendsms"])
    assert "Connection refused" in lines["reachable"] and "start bearerbox" in lines["reachable"]


def test_a_config_file_it_cannot_read(
    kannel_factory: KannelFactory, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    kannel = start(kannel_factory)
    kannel.boxes.conf = tmp_path / "missing.conf"
    code, lines = doctor(kannel, monkeypatch, tmp_path)
    assert (code, failing(lines)) == (1, ["concatenation", "max-messages", "mo-recode"])
    assert "cannot read" in lines["concatenation"] and "only its config file" in lines["mo-recode"]


def test_a_kannel_that_takes_letters_as_a_number_is_explained(
    kannel_factory: KannelFactory, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    def letters(text: str) -> str:
        return text.replace(
            "mo-recode = true", 'mo-recode = true\nsendsms-chars = "0123456789 +-cdeort"'
        )

    kannel = start(kannel_factory, letters)
    code, lines = doctor(kannel, monkeypatch, tmp_path)
    assert (code, failing(lines)) == (0, [])
    assert "accepted: the invalid number 'doctor' got 202" in lines["test sendsms"]
    assert [h.receiver for h in kannel.wait_for_mt(1)] == ["doctor"]
