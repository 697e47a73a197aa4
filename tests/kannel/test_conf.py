"""Reading kannel.conf as Kannel does, for doctor: groups, quotes, includes, bad lines."""

from __future__ import annotations

from pathlib import Path

import pytest

from dispatch_tui.kannel import conf, config_fragment


def test_the_shipped_fragment_parses_into_its_groups() -> None:
    groups = [g for g, _ in conf.parse(config_fragment())]
    assert [g["group"] for g in groups] == ["core", "smsbox", "sendsms-user", "sms-service"]
    user = groups[2]
    assert (user["username"], user["max-messages"]) == ("dispatch", "10")
    assert conf.truthy(user["concatenation"]) and conf.truthy(groups[1]["mo-recode"])
    assert groups[3]["get-url"].startswith("http://127.0.0.1:8787/mo/")


def test_includes_are_followed_relative_to_the_including_file(tmp_path: Path) -> None:
    (tmp_path / "users").mkdir()
    (tmp_path / "users" / "a.conf").write_text('group = sendsms-user\nusername = "a"\n')
    (tmp_path / "users" / "b.conf").write_text("group = sendsms-user\nusername = b\n")
    main = tmp_path / "kannel.conf"
    main.write_text('group = core\nadmin-port = 1\n\ninclude = "users"\n')
    groups = conf.read(main)
    assert [g.get("username") for g, _ in groups] == [None, "a", "b"]
    assert groups[2][1] == f"{tmp_path / 'users' / 'b.conf'}:1"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("group = core\nno equals sign\n", "kannel.conf:2: not a 'key = value' line"),
        ("group = core\n\nadmin-port = 1\n", "kannel.conf:3: 'admin-port' outside a group"),
    ],
)
def test_bad_lines_are_named(text: str, message: str) -> None:
    with pytest.raises(conf.ConfError, match=message):
        conf.parse(text)


def test_an_include_loop_and_a_missing_file_are_errors(tmp_path: Path) -> None:
    loop = tmp_path / "loop.conf"
    loop.write_text('include = "loop.conf"\n')
    with pytest.raises(conf.ConfError, match="included files"):
        conf.read(loop)
    with pytest.raises(conf.ConfError, match="cannot read"):
        conf.read(tmp_path / "absent.conf")


@pytest.mark.parametrize(
    ("value", "expected"),
    [("true", True), ("Yes", True), ("1", True), ("false", False), ("0", False), (None, False)],
)
def test_kannel_booleans(value: str | None, expected: bool) -> None:
    assert conf.truthy(value) is expected
