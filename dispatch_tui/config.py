"""Settings, layered: built-in defaults < user config file < ``--config`` file < environment.

A control room typically shares one site file (``--config``) across terminals, keeps personal
tweaks in the user's config dir, and lets ops override single values through ``DISPATCH_TUI_*``
variables without touching files. Loading is all-or-nothing: a typo stops the app with a message
naming the key, where it came from and what was expected, instead of silently falling back to a
default (which, for ``engine.embedded``, could mean a second terminal sending the same notices).
"""

from __future__ import annotations

import difflib
import json
import logging
import math
import os
import re
import secrets
import shlex
import stat
import tempfile
import tomllib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

import platformdirs
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

APP_NAME = "dispatch-tui"
ENV_PREFIX = "DISPATCH_TUI_"
CONFIG_ENV_VAR = "DISPATCH_TUI_CONFIG"
DEFAULT_SOURCE = "default"

_ENV_TRUE = frozenset({"true", "1", "yes"})
_ENV_FALSE = frozenset({"false", "0", "no"})
_DB_BACKENDS = ("sqlite", "postgresql")

REPORT_TOKEN_KEY = "engine.report_token"
REPORT_TOKEN_MIN = 32
_TOKEN_CHARS = re.compile(r"[A-Za-z0-9_-]+")
_TELEGRAM_SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")

log = logging.getLogger(__name__)


class ConfigError(Exception):
    """A setting could not be used; the message says which key, where, and what was expected."""


class _Invalid(Exception):
    """Internal: a value failed validation; turned into a ConfigError once the place is known."""


@dataclass(frozen=True)
class Setting:
    """One row of the schema: everything needed to default, parse, validate and show a value.

    ``default`` may be a zero-argument callable for defaults that depend on the machine (paths);
    it is resolved at load time via :meth:`default_value` so importing this module touches nothing.
    """

    key: str
    kind: type
    default: object
    help: str
    choices: tuple[str, ...] = ()
    minimum: int | float | None = None
    maximum: int | float | None = None
    check: Callable[[Any], bool] | None = None
    expects: str = ""
    show: Callable[[str], str] | None = None

    @property
    def attr(self) -> str:
        """The field name on :class:`Settings` ("database.url" -> "database_url")."""
        return self.key.replace(".", "_")

    @property
    def env_var(self) -> str:
        return env_var(self.key)

    def default_value(self) -> object:
        return self.default() if callable(self.default) else self.default

    def expectation(self, *, from_env: bool = False) -> str:
        """What a valid value looks like, phrased to follow "must be"."""
        if self.expects:
            return self.expects
        if self.choices:
            return "one of " + ", ".join(json.dumps(c) for c in self.choices)
        if self.kind is bool:
            return "one of true, false, 1, 0, yes, no" if from_env else "true or false"
        if self.kind in (int, float):
            noun = "an integer" if self.kind is int else "a number"
            if self.minimum is not None and self.maximum is not None:
                return f"{noun} from {self.minimum} to {self.maximum}"
            if self.minimum is not None:
                return f"{noun} >= {self.minimum}"
            if self.maximum is not None:
                return f"{noun} <= {self.maximum}"
            return noun
        return "a string"

    def render(self, value: object) -> str:
        """A value as a person should see it (TOML spelling for bools, secrets masked)."""
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, str):
            return self.show(value) if self.show else value
        return str(value)


SYSTEM_CONFIG_PATH = Path("/etc/dispatch-tui/config.toml")
"""The host's config file, read first: on a shared host the admin sets the database and
the audit files there once for every operator. It holds no secrets (every user reads it)."""


def default_config_path() -> Path:
    """The optional per-user config file; not created here."""
    return platformdirs.user_config_path(APP_NAME) / "config.toml"


def default_database_url() -> str:
    """A per-user SQLite file; the directory is created when the database is opened, not here."""
    return "sqlite:///" + str(platformdirs.user_data_path(APP_NAME) / "dispatch-tui.sqlite")


def default_audit_key_file() -> str:
    """The audit chain's key, beside the user's config file: outside the database, so whoever
    can write the database cannot re-compute the chain."""
    return str(platformdirs.user_config_path(APP_NAME) / "audit.key")


def default_web_secret_file() -> str:
    """The public web's form secret (CSRF): per user, outside the database."""
    return str(platformdirs.user_data_path(APP_NAME) / "web-secret")


def default_audit_anchor_file() -> str:
    """Where the audit log's head is anchored: outside the database, so a removed tail shows."""
    return str(platformdirs.user_data_path(APP_NAME) / "audit-anchors.log")


def env_var(key: str) -> str:
    """The variable overriding ``key``: "database.url" -> "DISPATCH_TUI_DATABASE_URL"."""
    return ENV_PREFIX + key.replace(".", "_").upper()


def mask_url(url: str) -> str:
    """``url`` with any password replaced by ``***``, safe for screens, logs and error messages."""
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        # Unparsable, but may still carry "scheme://user:secret@"; never echo the secret.
        return re.sub(r"(://[^:/@]*:)[^@]*@", r"\1***@", url)
    return parsed.render_as_string(hide_password=True) if parsed.password else url


def _is_database_url(value: str) -> bool:
    try:
        return make_url(value).get_backend_name() in _DB_BACKENDS
    except (ArgumentError, ValueError):
        return False


def _is_group_name(value: str) -> bool:
    return value == "" or re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.-]{0,31}", value) is not None


def _is_http_url(value: str) -> bool:
    return re.fullmatch(r"https?://[^\s/]+(/\S*)?", value) is not None


def _mask(value: str) -> str:
    return "***" if value else ""


def report_token_ok(value: str) -> bool:
    """Long enough not to be guessed, URL-safe (it sits unescaped in Kannel's URLs) and not a
    placeholder such as 32 times the same letter."""
    return (
        len(value) >= REPORT_TOKEN_MIN
        and _TOKEN_CHARS.fullmatch(value) is not None
        and len(set(value)) >= 8
    )


def generate_report_token() -> str:
    """A fresh report token: 32 random bytes, URL-safe (43 characters)."""
    return secrets.token_urlsafe(32)


SCHEMA: tuple[Setting, ...] = (
    Setting(
        "database.url",
        str,
        default_database_url,
        "SQLAlchemy URL of the shared database.",
        check=_is_database_url,
        expects="a sqlite or postgresql SQLAlchemy URL, e.g. postgresql://user:pass@host/db",
        show=mask_url,
    ),
    Setting(
        "database.busy_timeout_ms",
        int,
        5000,
        "How long SQLite waits for another writer before giving up.",
        minimum=0,
        maximum=600_000,
    ),
    Setting(
        "database.group",
        str,
        "",
        "Group that shares a SQLite database: its directory and files are made 2770/0660 for "
        "it; empty: 0700/0600, the owner's alone.",
        check=_is_group_name,
        expects="a group name (like dispatch), or empty",
    ),
    Setting(
        "engine.embedded",
        bool,
        True,
        "Run the delivery scheduler in this app so it sends; false makes this terminal edit-only.",
    ),
    Setting(
        "sms.gateway",
        str,
        "sandbox",
        "Where SMS go: sandbox records them, kannel sends them.",
        choices=("sandbox", "kannel"),
    ),
    Setting(
        "sms.max_segments",
        int,
        3,
        "Longest SMS allowed, in 160-character segments (cost cap).",
        minimum=1,
        maximum=10,
    ),
    Setting(
        "sms.price_per_segment",
        float,
        0.04,
        "What one SMS segment costs, for the preview's estimate.",
        minimum=0,
        maximum=10,
    ),
    Setting("sms.currency", str, "EUR", "Currency of sms.price_per_segment, as shown."),
    Setting(
        "sms.kannel_url",
        str,
        "http://127.0.0.1:13013/cgi-bin/sendsms",
        "Kannel's sendsms URL (smsbox).",
        check=_is_http_url,
        expects="an http:// or https:// URL",
    ),
    Setting("sms.kannel_username", str, "dispatch", "Kannel sendsms-user username."),
    Setting("sms.kannel_password", str, "", "Kannel sendsms-user password.", show=_mask),
    Setting(
        "sms.rate",
        float,
        50.0,
        "Most SMS handed to the gateway per second.",
        minimum=0.1,
        maximum=10_000,
    ),
    Setting(
        "email.gateway",
        str,
        "sandbox",
        "Where e-mail goes: sandbox records it, smtp sends it.",
        choices=("sandbox", "smtp"),
    ),
    Setting("email.smtp_host", str, "localhost", "SMTP server host name."),
    Setting("email.smtp_port", int, 587, "SMTP server port.", minimum=1, maximum=65535),
    Setting(
        "email.smtp_security",
        str,
        "starttls",
        "How the SMTP connection is protected.",
        choices=("starttls", "tls", "none"),
    ),
    Setting("email.smtp_username", str, "", "SMTP login; empty for none."),
    Setting("email.smtp_password", str, "", "SMTP password.", show=_mask),
    Setting(
        "email.from_address",
        str,
        "dispatch-tui <noreply@localhost>",
        'From: of notices, e.g. "Elektro Ljubljana <obvestila@example.si>".',
    ),
    Setting(
        "email.rate", float, 10.0, "Most e-mails sent per second.", minimum=0.1, maximum=10_000
    ),
    Setting(
        "inbound.replies_per_number_hour",
        int,
        3,
        "Most replies to one phone per hour (sign-ups still count beyond it).",
        minimum=0,
        maximum=100,
    ),
    Setting(
        "inbound.replies_per_minute",
        int,
        120,
        "Most replies to inbound SMS per minute overall, so nobody can pump SMS through us.",
        minimum=0,
        maximum=10_000,
    ),
    Setting(
        "inbound.signups_per_phone",
        int,
        5,
        "Most sign-ups (metering points or accounts) one phone may hold; more are refused.",
        minimum=1,
        maximum=1_000,
    ),
    Setting("telegram.token", str, "", "Telegram bot token; empty: no Telegram.", show=_mask),
    Setting(
        "telegram.updates",
        str,
        "polling",
        "How the headless engine gets chat messages: long polling, or the listener's webhook.",
        choices=("polling", "webhook"),
    ),
    Setting(
        "telegram.webhook_secret",
        str,
        "",
        "secret_token given to setWebhook; checked on every webhook call (needed for webhook).",
        check=lambda v: v == "" or _TELEGRAM_SECRET.fullmatch(v) is not None,
        expects="1 to 256 characters from A-Z, a-z, 0-9, _ and - (Telegram's secret_token)",
        show=_mask,
    ),
    Setting("viber.token", str, "", "Viber bot auth token; empty: no Viber.", show=_mask),
    Setting("viber.sender_name", str, "dispatch-tui", "Sender name on Viber messages (28 max)."),
    Setting(
        "engine.listen_host",
        str,
        "127.0.0.1",
        "Address the headless engine listens on for delivery reports.",
    ),
    Setting(
        "engine.listen_port",
        int,
        8787,
        "Port of the delivery-report listener (0: any free port).",
        minimum=0,
        maximum=65535,
    ),
    Setting(
        "engine.public_url",
        str,
        "",
        "Base URL at which Kannel reaches the listener; empty: http://listen_host:listen_port.",
        check=lambda v: v == "" or _is_http_url(v),
        expects="empty or an http:// or https:// URL",
    ),
    Setting(
        REPORT_TOKEN_KEY,
        str,
        "",
        "Secret in the listener's URLs; the same on every engine and across restarts. "
        "Required by `dispatch-tui engine`; `dispatch-tui init` writes one.",
        check=lambda v: v == "" or report_token_ok(v),
        expects=(
            f"at least {REPORT_TOKEN_MIN} random characters from A-Z, a-z, 0-9, _ and - "
            "(`dispatch-tui init` writes one)"
        ),
        show=_mask,
    ),
    Setting(
        "web.listen_host",
        str,
        "127.0.0.1",
        "Address `dispatch-tui web` listens on (a reverse proxy in front of it faces the public).",
    ),
    Setting(
        "web.listen_port",
        int,
        8788,
        "Port of the public web application (0: any free port).",
        minimum=0,
        maximum=65535,
    ),
    Setting(
        "web.public_url",
        str,
        "",
        "Base URL people reach the public web at (feeds' links and ids; e-mail notices "
        "link to <url>/unsubscribe/<token> with List-Unsubscribe headers). Empty: the web "
        "uses http://listen_host:listen_port and e-mails carry no unsubscribe link.",
        check=lambda v: v == "" or _is_http_url(v),
        expects="empty or an http:// or https:// URL",
    ),
    Setting(
        "web.trust_forwarded_for",
        bool,
        False,
        "Behind a reverse proxy that sets X-Forwarded-For: take the client's address from it "
        "(logs, per-address limits); never without such a proxy, anyone could write it.",
    ),
    Setting(
        "web.refresh_seconds",
        int,
        60,
        "Longest time between two readings of the public listing (changes come sooner).",
        minimum=5,
        maximum=1800,
    ),
    Setting(
        "web.secret_file",
        str,
        default_web_secret_file,
        "Secret that signs the public web's form tokens (CSRF), mode 0600, never in the "
        "database; `dispatch-tui web` makes it on first start. Keep it across restarts.",
        check=lambda v: v.strip() != "",
        expects="a file path",
    ),
    Setting(
        "delivery.batch", int, 200, "Messages claimed per transaction.", minimum=1, maximum=5000
    ),
    Setting(
        "delivery.concurrency",
        int,
        50,
        "Sends in flight per channel and process.",
        minimum=1,
        maximum=1000,
    ),
    Setting(
        "delivery.lease_seconds",
        int,
        60,
        "How long a claim lasts without renewal before another process takes over.",
        minimum=5,
        maximum=3600,
    ),
    Setting(
        "delivery.unknown_resend_seconds",
        int,
        900,
        "Wait this long for a delivery report before resending a message of unknown outcome.",
        minimum=1,
        maximum=86_400,
    ),
    Setting(
        "delivery.retry_base_seconds",
        float,
        5.0,
        "First retry delay after a transient error; doubles per attempt, with jitter.",
        minimum=0.1,
        maximum=3600,
    ),
    Setting(
        "delivery.retry_cap_seconds",
        float,
        900.0,
        "Longest retry delay.",
        minimum=1,
        maximum=86_400,
    ),
    Setting(
        "audit.key_file",
        str,
        default_audit_key_file,
        "Key of the audit log's HMAC chain (mode 0600, never in the database); "
        "`dispatch-tui init` or the first audited decision makes it.",
        check=lambda v: v.strip() != "",
        expects="a file path",
    ),
    Setting(
        "audit.anchor_file",
        str,
        default_audit_anchor_file,
        "Append-only file that gets the audit log's head at every approval and every 10 minutes.",
        check=lambda v: v.strip() != "",
        expects="a file path",
    ),
    Setting(
        "audit.syslog_socket",
        str,
        "/dev/log",
        "Syslog/journal socket that gets each anchor too; skipped when absent, empty: none.",
    ),
)


@dataclass(frozen=True)
class Settings:
    """The effective settings, plus where each value came from (for ``config show``)."""

    database_url: str
    database_busy_timeout_ms: int
    database_group: str
    engine_embedded: bool
    sms_gateway: str
    sms_max_segments: int
    sms_price_per_segment: float
    sms_currency: str
    sms_kannel_url: str
    sms_kannel_username: str
    sms_kannel_password: str
    sms_rate: float
    email_gateway: str
    email_smtp_host: str
    email_smtp_port: int
    email_smtp_security: str
    email_smtp_username: str
    email_smtp_password: str
    email_from_address: str
    email_rate: float
    inbound_replies_per_number_hour: int
    inbound_replies_per_minute: int
    inbound_signups_per_phone: int
    telegram_token: str
    telegram_updates: str
    telegram_webhook_secret: str
    viber_token: str
    viber_sender_name: str
    engine_listen_host: str
    engine_listen_port: int
    engine_public_url: str
    engine_report_token: str
    web_listen_host: str
    web_listen_port: int
    web_public_url: str
    web_trust_forwarded_for: bool
    web_refresh_seconds: int
    web_secret_file: str
    delivery_batch: int
    delivery_concurrency: int
    delivery_lease_seconds: int
    delivery_unknown_resend_seconds: int
    delivery_retry_base_seconds: float
    delivery_retry_cap_seconds: float
    audit_key_file: str
    audit_anchor_file: str
    audit_syslog_socket: str
    sources: Mapping[str, str] = field(hash=False)
    sandbox: bool = False
    """A demo run: every channel goes to the sandbox and no bot is polled or hooked. Not a
    config key on purpose: only :meth:`sandboxed` sets it, so no file or variable can mix it
    with live credentials."""

    def __post_init__(self) -> None:
        if self.sandbox:
            live = [attr for attr, value in _SANDBOXED.items() if getattr(self, attr) != value]
            if live:
                raise ValueError(f"a sandbox run may not keep {', '.join(live)}; use sandboxed()")

    def sandboxed(self) -> Settings:
        """These settings for a demo: every gateway the sandbox, every credential dropped.

        Dropping the tokens (not only ignoring them) is what keeps the engine from polling
        Telegram or accepting bot webhooks, whoever reads the settings.
        """
        keys = {s.attr: s.key for s in SCHEMA}
        sources = dict(self.sources) | {keys[attr]: SANDBOX_SOURCE for attr in _SANDBOXED}
        return replace(self, **_SANDBOXED, sandbox=True, sources=MappingProxyType(sources))

    def with_database(self, url: str, source: str) -> Settings:
        """These settings on another database (a command's ``--database``), named as its source."""
        sources = dict(self.sources) | {"database.url": source}
        return replace(self, database_url=url, sources=MappingProxyType(sources))


def database_url_of(value: str) -> str:
    """A ``--database`` value as a URL: a URL stays one, anything else is a SQLite file
    (made absolute, so that what is printed works from any directory)."""
    if "://" not in value:
        return "sqlite:///" + str(Path(value).expanduser().absolute())
    if not _is_database_url(value):
        raise ConfigError(
            f"--database: expected a SQLite file or a {' or '.join(_DB_BACKENDS)} URL, "
            f"got {mask_url(value)!r}"
        )
    return value


SANDBOX_SOURCE = "demo (sandbox)"
_SANDBOXED: Mapping[str, Any] = MappingProxyType(
    {
        "sms_gateway": "sandbox",
        "sms_kannel_password": "",
        "email_gateway": "sandbox",
        "email_smtp_password": "",
        "telegram_token": "",
        "telegram_webhook_secret": "",
        "viber_token": "",
    }
)
"""What a sandbox run holds instead of the configured gateways and their credentials."""


_BY_KEY: dict[str, Setting] = {s.key: s for s in SCHEMA}
_BY_ENV: dict[str, Setting] = {s.env_var: s for s in SCHEMA}


def _check_schema() -> None:
    """Fail at import if SCHEMA and Settings drift apart, rather than at a user's first run."""
    attrs = {f.name for f in fields(Settings)} - {"sources", "sandbox"}
    if {s.attr for s in SCHEMA} != attrs or len(_BY_KEY) != len(SCHEMA):
        raise TypeError("config.SCHEMA and Settings fields do not match")
    if len(_BY_ENV) != len(SCHEMA) or CONFIG_ENV_VAR in _BY_ENV:
        raise TypeError("config.SCHEMA keys collide as environment variable names")


_check_schema()


def _validate(setting: Setting, value: object) -> object:
    """``value`` if it fits ``setting`` (ints widened for float settings); else raise _Invalid."""
    kind = setting.kind
    if kind is bool:
        ok = isinstance(value, bool)
    elif kind is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif kind is float:
        ok = False
        if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
            ok, value = True, float(value)
    elif kind is str:
        ok = isinstance(value, str)
    else:
        raise TypeError(f"setting {setting.key}: unsupported kind {kind!r}")
    if ok and setting.choices:
        ok = value in setting.choices
    if ok and isinstance(value, int | float) and not isinstance(value, bool):
        if setting.minimum is not None and value < setting.minimum:
            ok = False
        if setting.maximum is not None and value > setting.maximum:
            ok = False
    if ok and setting.check is not None:
        ok = setting.check(value)
    if not ok:
        raise _Invalid
    return value


def _parse_env(setting: Setting, raw: str) -> object:
    """Turn an environment string into the setting's kind; validation happens afterwards."""
    text = raw.strip()
    if setting.kind is bool:
        if text.lower() in _ENV_TRUE:
            return True
        if text.lower() in _ENV_FALSE:
            return False
        raise _Invalid
    if setting.kind is int:
        if not re.fullmatch(r"[+-]?[0-9]+", text):
            raise _Invalid
        return int(text)
    if setting.kind is float:
        try:
            return float(text)
        except ValueError:
            raise _Invalid from None
    return raw


def _shown(setting: Setting, value: object) -> str:
    """A bad value as written in TOML, masked, for an error message."""
    if isinstance(value, str):
        return json.dumps(setting.render(value))
    if isinstance(value, dict):
        return "(a table)"
    if isinstance(value, list):
        return "(an array)"
    return setting.render(value)


def _unknown(kind: str, name: str, known: list[str], prefix: str = "") -> str:
    """Name the unknown key with a spelling suggestion; a shared ``prefix`` is ignored when
    matching, or every DISPATCH_TUI_ variable would look "close"."""
    stems = {k.removeprefix(prefix): k for k in known}
    close = difflib.get_close_matches(name.removeprefix(prefix), list(stems), n=1)
    hint = f"did you mean {stems[close[0]]}?" if close else "known: " + ", ".join(known)
    return f"unknown {kind} {name!r} ({hint})"


def _flatten(table: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    """(dotted key, value) pairs; an empty unknown table comes out as a key of its own so that
    it is reported as unknown instead of silently ignored."""
    for name, value in table.items():
        key = prefix + name
        is_section = any(k.startswith(key + ".") for k in _BY_KEY)
        if isinstance(value, dict) and key not in _BY_KEY and (value or is_section):
            yield from _flatten(value, key + ".")
        else:
            yield key, value


def _read_toml(path: Path, origin: str | None) -> dict[str, Any]:
    """Parse ``path``; ``origin`` (e.g. "--config") is named when a required file is missing."""
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(f"{origin or path}: config file not found: {path}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read config file: {exc.strerror or exc}") from None


def _is_secret(setting: Setting, value: object) -> bool:
    """Whether ``value`` is something only the service account should read."""
    if not isinstance(value, str) or not value or setting.show is None:
        return False
    return setting.render(value) != value


def _check_file_mode(path: Path, secret_keys: list[str]) -> None:
    """Refuse a config file every local user can read while it holds secrets, or can write.

    Refused rather than warned: the full-screen app covers a warning at once, and the file
    would go on handing the gateway password and bot tokens to every account on the host.
    A group-readable file is only warned about: a site file shared with the operators' group
    is how a control room is set up (one trust domain), so the admin chose that group.
    """
    if os.name != "posix":
        return
    try:
        info = path.stat()
    except OSError:
        return
    if not stat.S_ISREG(info.st_mode):
        return  # /dev/null and the like: nothing anyone writes there stays to be read
    mode = stat.S_IMODE(info.st_mode)
    fix = f"chmod 600 {shlex.quote(str(path))}"
    if mode & stat.S_IWOTH:
        raise ConfigError(
            f"{path}: every user on this host can change this config file (mode {mode:04o}); "
            f"run: {fix}"
        )
    if not secret_keys:
        return
    held = ", ".join(secret_keys)
    if mode & stat.S_IROTH:
        raise ConfigError(
            f"{path}: holds {held} but every user on this host can read it "
            f"(mode {mode:04o}); run: {fix}"
        )
    if mode & stat.S_IRGRP:
        log.warning(
            "%s: holds %s and its group can read it (mode %04o); unless the whole group "
            "may use these secrets, run: %s",
            path,
            held,
            mode,
            fix,
        )


def _apply_file(
    path: Path, origin: str | None, values: dict[str, object], sources: dict[str, str]
) -> None:
    secret_keys: list[str] = []
    for key, raw in _flatten(_read_toml(path, origin)):
        setting = _BY_KEY.get(key)
        if setting is None:
            raise ConfigError(f"{path}: " + _unknown("key", key, list(_BY_KEY)))
        try:
            values[key] = _validate(setting, raw)
        except _Invalid:
            raise ConfigError(
                f"{path}: {key} = {_shown(setting, raw)}: must be {setting.expectation()}"
            ) from None
        sources[key] = str(path)
        if _is_secret(setting, raw):
            secret_keys.append(key)
    _check_file_mode(path, secret_keys)


def _check_combinations(values: Mapping[str, object], sources: Mapping[str, str]) -> None:
    """Rules between keys: Telegram's webhook is only safe with its secret header."""
    if values["telegram.updates"] == "webhook" and not values["telegram.webhook_secret"]:
        raise ConfigError(
            f'{sources["telegram.updates"]}: telegram.updates = "webhook" needs '
            "telegram.webhook_secret (the secret_token Telegram sends with every update, "
            "so nobody else can post updates); set it, or use polling"
        )


def _apply_env(env: Mapping[str, str], values: dict[str, object], sources: dict[str, str]) -> None:
    for name in sorted(env):
        if not name.startswith(ENV_PREFIX) or name == CONFIG_ENV_VAR:
            continue
        setting = _BY_ENV.get(name)
        if setting is None:
            raise ConfigError(
                f"env {name}: " + _unknown("variable", name, [*_BY_ENV, CONFIG_ENV_VAR], ENV_PREFIX)
            )
        raw = env[name]
        try:
            values[setting.key] = _validate(setting, _parse_env(setting, raw))
        except _Invalid:
            raise ConfigError(
                f"env {name}: {setting.key} = {_shown(setting, raw)}: "
                f"must be {setting.expectation(from_env=True)}"
            ) from None
        sources[setting.key] = f"env {name}"


def _explicit_config(config_path: Path | None, env: Mapping[str, str]) -> tuple[Path, str] | None:
    """The ``--config`` file (the argument beats DISPATCH_TUI_CONFIG) and how it was named."""
    if config_path is not None:
        return config_path.expanduser(), "--config"
    raw = env.get(CONFIG_ENV_VAR)
    if raw is None:
        return None
    if not raw.strip():
        raise ConfigError(
            f"env {CONFIG_ENV_VAR}: must be a path to a TOML file, got an empty value"
        )
    return Path(raw).expanduser(), f"env {CONFIG_ENV_VAR}"


def load_settings(
    config_path: Path | None = None,
    env: Mapping[str, str] | None = None,
    user_file: Path | None = None,
    system_file: Path | None = None,
) -> Settings:
    """Effective settings from all layers, or ConfigError on the first bad value (nothing partial).

    Layers, each over the one before: the host's file (``system_file``, default
    `SYSTEM_CONFIG_PATH`), the user's (``user_file``, default :func:`default_config_path`),
    ``--config`` or DISPATCH_TUI_CONFIG, then ``env`` (default ``os.environ``). Tests pass
    them so they never read the real environment, home directory or /etc.
    """
    environ: Mapping[str, str] = os.environ if env is None else env
    values: dict[str, object] = {}
    sources: dict[str, str] = {}
    for layer in (
        SYSTEM_CONFIG_PATH if system_file is None else system_file,
        default_config_path() if user_file is None else user_file,
    ):
        if layer.exists():
            _apply_file(layer, None, values, sources)
    explicit = _explicit_config(config_path, environ)
    if explicit is not None:
        _apply_file(explicit[0], explicit[1], values, sources)
    _apply_env(environ, values, sources)

    kwargs: dict[str, Any] = {}
    for setting in SCHEMA:
        if setting.key not in values:
            values[setting.key] = setting.default_value()
            sources[setting.key] = DEFAULT_SOURCE
        kwargs[setting.attr] = values[setting.key]
    ordered = {s.key: sources[s.key] for s in SCHEMA}
    _check_combinations(values, ordered)
    return Settings(**kwargs, sources=MappingProxyType(ordered))


def require_report_token(settings: Settings) -> str:
    """The report token, for a process that runs the listener; ConfigError when it has none.

    No random fallback: a token made per start would refuse every report for a message sent
    before a restart, and Kannel's URLs could not be configured ahead of time.
    """
    token = settings.engine_report_token
    if report_token_ok(token):
        return token
    setting = _BY_KEY[REPORT_TOKEN_KEY]
    if not token:
        raise ConfigError(
            f"{REPORT_TOKEN_KEY} is not set; the listener needs it in its URLs, the same on "
            f"every engine and after every restart: set it in {default_config_path()} or "
            f"{setting.env_var}, or run `dispatch-tui config token` to write one"
        )
    where = settings.sources.get(REPORT_TOKEN_KEY, DEFAULT_SOURCE)
    raise ConfigError(f'{where}: {REPORT_TOKEN_KEY} = "***": must be {setting.expectation()}')


_EMPTY_TOKEN = re.compile(r"^[ \t]*report_token[ \t]*=[ \t]*(\"\"|'')[ \t]*$", re.MULTILINE)
_ENGINE_HEADER = re.compile(r"^[ \t]*\[[ \t]*engine[ \t]*\][ \t]*(#.*)?$", re.MULTILINE)


def _with_report_token(text: str, token: str) -> str:
    """``text`` with ``report_token`` filled in where it is empty, else added to its
    ``[engine]`` table (or a new one); the caller checks the result parses as intended."""
    line = f'report_token = "{token}"\n'
    text, filled = _EMPTY_TOKEN.subn(line.rstrip("\n"), text, count=1)
    if filled:
        return text
    header = _ENGINE_HEADER.search(text)
    if header is not None:
        at = header.end() + 1 if header.end() < len(text) else header.end()
        before = text[:at] if text[:at].endswith("\n") else text[:at] + "\n"
        return before + line + text[at:]
    if text and not text.endswith("\n"):
        text += "\n"
    return f"{text}{chr(10) if text else ''}[engine]\n{line}"


def _write_private(path: Path, text: str) -> None:
    """Replace ``path`` atomically with ``text``, readable by its owner only (0600)."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".config-", suffix=".toml")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def init_report_token(settings: Settings, path: Path | None = None) -> str | None:
    """For `dispatch-tui init`: when no report token is configured, generate one and write it
    to the user's config file (``path``), which ends up mode 0600; a sentence saying so, or
    None when a token was already configured (nothing is written then).
    """
    if settings.engine_report_token:
        return None
    target = (default_config_path() if path is None else path).resolve()
    text = ""
    if target.exists():
        _read_toml(target, None)
        try:
            text = target.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"{target}: cannot read config file: {exc.strerror or exc}") from None
    token = generate_report_token()
    updated = _with_report_token(text, token)
    try:
        engine = tomllib.loads(updated).get("engine")
    except tomllib.TOMLDecodeError:
        engine = None
    if not isinstance(engine, dict) or engine.get("report_token") != token:
        raise ConfigError(
            f"{target}: cannot add {REPORT_TOKEN_KEY} to this file; add "
            f'report_token = "<{REPORT_TOKEN_MIN}+ random characters>" to its [engine] table'
        )
    try:
        _write_private(target, updated)
    except OSError as exc:
        raise ConfigError(f"{target}: cannot write config file: {exc.strerror or exc}") from None
    return f"{REPORT_TOKEN_KEY} generated and written to {target} (mode 0600)"


def describe(settings: Settings) -> list[tuple[str, str, str]]:
    """(key, value as shown, source) rows in schema order, passwords masked, for ``config show``."""
    return [
        (
            s.key,
            s.render(getattr(settings, s.attr)),
            settings.sources.get(s.key, DEFAULT_SOURCE),
        )
        for s in SCHEMA
    ]
