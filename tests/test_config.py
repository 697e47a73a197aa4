"""Layered settings: defaults < user file < --config < env, all-or-nothing validation."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import platformdirs
import pytest

from dispatch_tui import config
from dispatch_tui.config import (
    SCHEMA,
    ConfigError,
    Settings,
    default_database_url,
    describe,
    env_var,
    load_settings,
    mask_url,
)


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def no_user_file(tmp_path: Path) -> Path:
    """A user config path that does not exist (the file is optional)."""
    return tmp_path / "nowhere" / "config.toml"


def load(
    user_file: Path,
    config_path: Path | None = None,
    env: dict[str, str] | None = None,
) -> Settings:
    return load_settings(config_path=config_path, env=env or {}, user_file=user_file)


# --- schema and helpers ---------------------------------------------------------------------


def test_schema_matches_settings_fields() -> None:
    names = [f.name for f in dataclasses.fields(Settings) if f.name not in ("sources", "sandbox")]
    assert sorted(s.attr for s in SCHEMA) == sorted(names)


def test_env_var_names() -> None:
    assert env_var("database.url") == "DISPATCH_TUI_DATABASE_URL"
    assert env_var("database.busy_timeout_ms") == "DISPATCH_TUI_DATABASE_BUSY_TIMEOUT_MS"
    assert env_var("sms.max_segments") == "DISPATCH_TUI_SMS_MAX_SEGMENTS"


def test_default_paths_follow_platformdirs() -> None:
    expected = platformdirs.user_config_path("dispatch-tui") / "config.toml"
    assert config.default_config_path() == expected
    data = platformdirs.user_data_path("dispatch-tui")
    assert default_database_url() == f"sqlite:///{data / 'dispatch-tui.sqlite'}"


def test_every_default_passes_its_own_validation(no_user_file: Path) -> None:
    for setting in SCHEMA:
        assert config._validate(setting, setting.default_value()) == setting.default_value()


# --- defaults and layering ------------------------------------------------------------------


def test_defaults(no_user_file: Path) -> None:
    s = load(no_user_file)
    assert s.database_url == default_database_url()
    assert s.database_busy_timeout_ms == 5000
    assert s.engine_embedded is True
    assert s.sms_gateway == "sandbox"
    assert s.sms_max_segments == 3
    assert dict(s.sources) == {setting.key: "default" for setting in SCHEMA}
    assert not no_user_file.parent.exists()  # nothing created on load


def test_layers_precedence_and_sources(tmp_path: Path) -> None:
    user = write(
        tmp_path / "user.toml",
        """
        [database]
        url = "sqlite:////srv/user.sqlite"
        busy_timeout_ms = 1000
        [sms]
        max_segments = 2
        gateway = "kannel"
        """.replace("        ", ""),
    )
    site = write(
        tmp_path / "site.toml",
        "[database]\nbusy_timeout_ms = 2000\n[sms]\nmax_segments = 4\n",
    )
    env = {"DISPATCH_TUI_SMS_MAX_SEGMENTS": "6", "DISPATCH_TUI_ENGINE_EMBEDDED": "No"}
    s = load(user, site, env)
    assert s.database_url == "sqlite:////srv/user.sqlite"
    assert s.sms_gateway == "kannel"
    assert s.database_busy_timeout_ms == 2000
    assert s.sms_max_segments == 6
    assert s.engine_embedded is False
    explicit = {
        "database.url": str(user),
        "database.busy_timeout_ms": str(site),
        "engine.embedded": "env DISPATCH_TUI_ENGINE_EMBEDDED",
        "sms.gateway": str(user),
        "sms.max_segments": "env DISPATCH_TUI_SMS_MAX_SEGMENTS",
    }
    assert dict(s.sources) == {key: explicit.get(key, "default") for key in s.sources}
    assert set(explicit) <= set(s.sources)


def test_config_from_env_var_and_explicit_argument_wins(tmp_path: Path, no_user_file: Path) -> None:
    via_env = write(tmp_path / "env.toml", "[sms]\nmax_segments = 7\n")
    via_arg = write(tmp_path / "arg.toml", "[sms]\nmax_segments = 8\n")
    env = {"DISPATCH_TUI_CONFIG": str(via_env)}
    assert load(no_user_file, env=env).sms_max_segments == 7
    assert load(no_user_file, env=env).sources["sms.max_segments"] == str(via_env)
    assert load(no_user_file, via_arg, env).sms_max_segments == 8


def test_unrelated_env_vars_are_ignored(no_user_file: Path) -> None:
    s = load(no_user_file, env={"HOME": "/x", "DISPATCH_TUIX": "1", "PATH": "/bin"})
    assert s.sms_max_segments == 3


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("true", True), ("TRUE", True), ("1", True), ("Yes", True), (" no ", False), ("0", False)],
)
def test_env_booleans(no_user_file: Path, raw: str, expected: bool) -> None:
    s = load(no_user_file, env={"DISPATCH_TUI_ENGINE_EMBEDDED": raw})
    assert s.engine_embedded is expected


def test_postgres_url_accepted(no_user_file: Path) -> None:
    url = "postgresql+psycopg://app:s3cret@db.example/dispatch"
    s = load(no_user_file, env={"DISPATCH_TUI_DATABASE_URL": url})
    assert s.database_url == url


def test_empty_file_and_empty_sections_are_fine(tmp_path: Path) -> None:
    user = write(tmp_path / "c.toml", "[database]\n[sms]\n")
    assert load(user).sources["sms.gateway"] == "default"


# --- errors ---------------------------------------------------------------------------------


def error(
    user_file: Path, config_path: Path | None = None, env: dict[str, str] | None = None
) -> str:
    with pytest.raises(ConfigError) as info:
        load(user_file, config_path, env)
    return str(info.value)


@pytest.mark.parametrize(
    ("toml", "expected"),
    [
        ("[sms]\nmax_segments = 0\n", "sms.max_segments = 0: must be an integer from 1 to 10"),
        ("[sms]\nmax_segments = 11\n", "sms.max_segments = 11: must be an integer from 1 to 10"),
        ('[sms]\nmax_segments = "3"\n', 'sms.max_segments = "3": must be an integer'),
        ("[sms]\nmax_segments = 3.0\n", "sms.max_segments = 3.0: must be an integer"),
        ("[sms]\nmax_segments = true\n", "sms.max_segments = true: must be an integer"),
        ("[engine]\nembedded = 1\n", "engine.embedded = 1: must be true or false"),
        ('[engine]\nembedded = "yes"\n', 'engine.embedded = "yes": must be true or false'),
        (
            '[sms]\ngateway = "twilio"\n',
            'sms.gateway = "twilio": must be one of "sandbox", "kannel"',
        ),
        ("[sms]\ngateway = 1\n", 'sms.gateway = 1: must be one of "sandbox", "kannel"'),
        ("[database]\nbusy_timeout_ms = -1\n", "database.busy_timeout_ms = -1: must be an integer"),
        ('[database]\nurl = "mysql://u@h/d"\n', 'database.url = "mysql://u@h/d": must be a sqlite'),
        ('[database]\nurl = "not a url"\n', 'database.url = "not a url": must be a sqlite'),
        ("[database]\nurl = 5\n", "database.url = 5: must be a sqlite or postgresql"),
        ("[database.url]\nx = 1\n", "database.url = (a table): must be"),
        (
            "[sms]\nmax_segment = 3\n",
            "unknown key 'sms.max_segment' (did you mean sms.max_segments?)",
        ),
        ("[smtp]\nhost = 'x'\n", "unknown key 'smtp.host'"),
        ("[smtp]\n", "unknown key 'smtp'"),
        ("database = 'sqlite://'\n", "unknown key 'database'"),
        ("[database.pool]\nsize = 1\n", "unknown key 'database.pool.size'"),
    ],
)
def test_bad_file_values_name_file_key_and_expectation(
    tmp_path: Path, no_user_file: Path, toml: str, expected: str
) -> None:
    path = write(tmp_path / "bad.toml", toml)
    # The same in the user file and in the --config file.
    assert error(path).startswith(f"{path}: ")
    assert expected in error(path)
    message = error(no_user_file, path)
    assert message.startswith(f"{path}: ")
    assert expected in message


@pytest.mark.parametrize(
    ("name", "raw", "expected"),
    [
        ("DISPATCH_TUI_SMS_MAX_SEGMENTS", "0", 'sms.max_segments = "0": must be an integer from 1'),
        ("DISPATCH_TUI_SMS_MAX_SEGMENTS", "three", 'sms.max_segments = "three": must be an'),
        ("DISPATCH_TUI_SMS_MAX_SEGMENTS", "3.0", "must be an integer from 1 to 10"),
        ("DISPATCH_TUI_DATABASE_BUSY_TIMEOUT_MS", "600001", "must be an integer from 0 to 600000"),
        ("DISPATCH_TUI_ENGINE_EMBEDDED", "maybe", "must be one of true, false, 1, 0, yes, no"),
        ("DISPATCH_TUI_ENGINE_EMBEDDED", "", 'engine.embedded = "": must be one of true'),
        ("DISPATCH_TUI_SMS_GATEWAY", "Kannel", 'must be one of "sandbox", "kannel"'),
        ("DISPATCH_TUI_DATABASE_URL", "postgres://u@h/d", 'database.url = "postgres://u@h/d"'),
    ],
)
def test_bad_env_values_name_variable_key_and_expectation(
    no_user_file: Path, name: str, raw: str, expected: str
) -> None:
    message = error(no_user_file, env={name: raw})
    assert message.startswith(f"env {name}: ")
    assert expected in message


def test_unknown_env_var(no_user_file: Path) -> None:
    message = error(no_user_file, env={"DISPATCH_TUI_SMS_MAX_SEGMENT": "3"})
    assert message == (
        "env DISPATCH_TUI_SMS_MAX_SEGMENT: unknown variable 'DISPATCH_TUI_SMS_MAX_SEGMENT' "
        "(did you mean DISPATCH_TUI_SMS_MAX_SEGMENTS?)"
    )


def test_unknown_env_var_lists_known_when_nothing_is_close(no_user_file: Path) -> None:
    message = error(no_user_file, env={"DISPATCH_TUI_FOO": "1"})
    assert "unknown variable 'DISPATCH_TUI_FOO' (known: DISPATCH_TUI_DATABASE_URL," in message


def test_example_message_format(tmp_path: Path, no_user_file: Path) -> None:
    path = write(tmp_path / "config.toml", "[sms]\nmax_segments = 0\n")
    assert (
        error(no_user_file, path)
        == f"{path}: sms.max_segments = 0: must be an integer from 1 to 10"
    )


def test_missing_config_file_names_path(tmp_path: Path, no_user_file: Path) -> None:
    missing = tmp_path / "site.toml"
    assert error(no_user_file, missing) == f"--config: config file not found: {missing}"
    message = error(no_user_file, env={"DISPATCH_TUI_CONFIG": str(missing)})
    assert message == f"env DISPATCH_TUI_CONFIG: config file not found: {missing}"


def test_empty_config_env_var_is_an_error(no_user_file: Path) -> None:
    assert "DISPATCH_TUI_CONFIG" in error(no_user_file, env={"DISPATCH_TUI_CONFIG": " "})


def test_invalid_toml_names_file_and_line(tmp_path: Path, no_user_file: Path) -> None:
    path = write(tmp_path / "broken.toml", '[sms]\ngateway = "kannel"\nmax_segments = = 3\n')
    for message in (error(path), error(no_user_file, path)):
        assert message.startswith(f"{path}: invalid TOML: ")
        assert re.search(r"\bline 3\b", message)


def test_unreadable_config_is_an_error(tmp_path: Path, no_user_file: Path) -> None:
    not_utf8 = tmp_path / "latin1.toml"
    not_utf8.write_bytes('[sms]\ngateway = "sandbøx"\n'.encode("latin-1"))
    assert error(no_user_file, not_utf8).startswith(f"{not_utf8}: ")
    a_directory = tmp_path / "dir.toml"
    a_directory.mkdir()
    assert error(a_directory).startswith(f"{a_directory}: ")


def test_later_error_means_nothing_returned(tmp_path: Path) -> None:
    """A good user file does not rescue a bad env var: no partial Settings."""
    user = write(tmp_path / "ok.toml", "[sms]\nmax_segments = 2\n")
    assert "DISPATCH_TUI_SMS_GATEWAY" in error(user, env={"DISPATCH_TUI_SMS_GATEWAY": "x"})


def test_errors_do_not_leak_database_password(no_user_file: Path) -> None:
    message = error(no_user_file, env={"DISPATCH_TUI_DATABASE_URL": "mysql://u:hunter2@h/d"})
    assert "hunter2" not in message
    assert "mysql://u:***@h/d" in message


# --- describe -------------------------------------------------------------------------------


def test_describe_rows_and_password_masking(tmp_path: Path) -> None:
    user = write(
        tmp_path / "c.toml",
        '[database]\nurl = "postgresql://dispatch:s3cr%40t@db.example:5432/outages"\n',
    )
    user.chmod(0o600)  # it holds a password
    s = load(user, env={"DISPATCH_TUI_ENGINE_EMBEDDED": "0"})
    rows = describe(s)
    assert [r[0] for r in rows] == [setting.key for setting in SCHEMA]
    assert rows[0] == (
        "database.url",
        "postgresql://dispatch:***@db.example:5432/outages",
        str(user),
    )
    assert ("engine.embedded", "false", "env DISPATCH_TUI_ENGINE_EMBEDDED") in rows
    assert ("sms.max_segments", "3", "default") in rows
    assert all("s3cr" not in value for _, value, _ in rows)


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql://user:pw@host/db", "postgresql://user:***@host/db"),
        ("postgresql://user@host/db", "postgresql://user@host/db"),
        ("sqlite:////tmp/x y/db.sqlite", "sqlite:////tmp/x y/db.sqlite"),
        ("garbage://u:pw@", "garbage://u:***@"),
    ],
)
def test_mask_url(url: str, shown: str) -> None:
    assert mask_url(url) == shown


def test_settings_are_immutable(no_user_file: Path) -> None:
    s = load(no_user_file)
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.sms_max_segments = 5  # type: ignore[misc]
    with pytest.raises(TypeError):
        s.sources["sms.gateway"] = "x"  # type: ignore[index]
    hash(s)


def test_secrets_are_masked_in_config_show(no_user_file: Path) -> None:
    token = config.generate_report_token()
    env = {"DISPATCH_TUI_SMS_KANNEL_PASSWORD": "hunter2", "DISPATCH_TUI_ENGINE_REPORT_TOKEN": token}
    shown = {key: value for key, value, _ in describe(load(no_user_file, env=env))}
    assert shown["sms.kannel_password"] == "***"
    assert shown["engine.report_token"] == "***"
    assert "hunter2" not in repr(shown) and token not in repr(shown)


def test_report_token_rules(no_user_file: Path) -> None:
    """Empty is allowed here (only the listener needs it); otherwise 32+ URL-safe characters."""
    assert load(no_user_file).engine_report_token == ""
    good = "A" * 8 + "abcdefgh" + "01234567" + "-_-_-_-_"
    assert load(no_user_file, env={env_var("engine.report_token"): good}).engine_report_token
    for bad in (good[:-1], good[:-1] + "/", "a" * 32, good[:-1] + "é"):
        with pytest.raises(ConfigError, match=r"engine\.report_token = \"\*\*\*\": must be"):
            load(no_user_file, env={env_var("engine.report_token"): bad})
    with pytest.raises(ConfigError, match=r"engine\.report_token is not set"):
        config.require_report_token(load(no_user_file))
    settings = load(no_user_file, env={env_var("engine.report_token"): good})
    assert config.require_report_token(settings) == good
    forged = dataclasses.replace(settings, engine_report_token="tok")
    with pytest.raises(ConfigError, match=r"must be at least 32 random characters"):
        config.require_report_token(forged)


def test_telegram_webhook_needs_its_secret(tmp_path: Path, no_user_file: Path) -> None:
    site = write(tmp_path / "site.toml", '[telegram]\nupdates = "webhook"\n')
    with pytest.raises(ConfigError, match=rf"^{site}: telegram.updates = \"webhook\" needs "):
        load(no_user_file, site)
    secret = {env_var("telegram.webhook_secret"): "abc_DEF-123"}
    assert load(no_user_file, site, env=secret).telegram_updates == "webhook"


def test_gateway_urls_are_checked(no_user_file: Path) -> None:
    with pytest.raises(ConfigError, match=r"sms.kannel_url .*must be an http"):
        load(no_user_file, env={"DISPATCH_TUI_SMS_KANNEL_URL": "localhost:13013"})


def test_the_host_file_comes_first_and_the_users_file_overrides_it(tmp_path: Path) -> None:
    """A shared host sets the database and audit files once in /etc/dispatch-tui; what a
    user's own file says wins, and `config show` names where each value came from."""
    host = write(
        tmp_path / "etc.toml",
        '[database]\nurl = "postgresql:///dispatch"\n[audit]\nkey_file = "/var/lib/k"\n',
    )
    host.chmod(0o644)
    user = write(tmp_path / "user.toml", '[audit]\nkey_file = "/home/me/k"\n')
    settings = load_settings(env={}, user_file=user, system_file=host)
    assert settings.database_url == "postgresql:///dispatch"
    assert settings.sources["database.url"] == str(host)
    assert settings.audit_key_file == "/home/me/k"
    assert settings.sources["audit.key_file"] == str(user)
    alone = load_settings(env={}, user_file=tmp_path / "none.toml", system_file=host)
    assert alone.audit_key_file == "/var/lib/k"
