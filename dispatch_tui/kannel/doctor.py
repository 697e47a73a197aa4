"""`dispatch-tui doctor`: is the Kannel this engine is configured for ready?

Each check is one line, ok or FAIL with the reason and what to change. What
Kannel 1.4.5 shows in its answers is asked of it (sms.kannel_url,
sms.kannel_username, sms.kannel_password); one sendsms to the number
"doctor" (letters, which smsbox refuses before routing, so nothing is sent)
tests the credentials and how an invalid number is answered. Whether a long
text is concatenated, split into separate SMS or cut cannot be asked:
smsbox answers `202 0: Accepted for delivery` in every case (measured), so
concatenation, max-messages and mo-recode are read from the kannel.conf
Kannel runs with, after checking it describes the smsbox we reach.
"""

from __future__ import annotations

import http.client
import socket
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

from dispatch_tui.config import Settings
from dispatch_tui.kannel import conf

__all__ = ["DEFAULT_CONF", "Check", "run_checks"]

DEFAULT_CONF = Path("/etc/kannel/kannel.conf")
PROBE_NUMBER = "doctor"
"""Letters: outside smsbox's default sendsms-chars, refused before anything is routed."""
TIMEOUT = 5.0
UNSAYABLE = (
    "Kannel 1.4.5 answers 202 whether it concatenates, splits or cuts a long text, "
    "so only its config file can tell"
)


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str

    def line(self) -> str:
        return f"{'ok  ' if self.ok else 'FAIL'} {self.name}: {self.detail}"


@dataclass(frozen=True)
class _Answer:
    status: int
    body: str
    server: str


def _target(url: str) -> tuple[str, int, str]:
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"sms.kannel_url = {url!r} is not an http:// URL")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return parts.hostname, port, parts.path or "/"


def _sendsms(settings: Settings) -> _Answer:
    """One GET to sendsms; OSError when the connection fails."""
    host, port, path = _target(settings.sms_kannel_url)
    scheme = urllib.parse.urlsplit(settings.sms_kannel_url).scheme
    query = urllib.parse.urlencode(
        {
            "username": settings.sms_kannel_username,
            "password": settings.sms_kannel_password,
            "to": PROBE_NUMBER,
            "from": "doctor",
            "text": "dispatch-tui doctor",
        }
    )
    factory = http.client.HTTPSConnection if scheme == "https" else http.client.HTTPConnection
    connection = factory(host, port, timeout=TIMEOUT)
    try:
        connection.request("GET", f"{path}?{query}")
        response = connection.getresponse()
        body = response.read(500).decode("utf-8", "replace").strip()
        return _Answer(response.status, body, response.getheader("Server") or "")
    finally:
        connection.close()


def _reachable(settings: Settings) -> Check:
    host, port, _ = _target(settings.sms_kannel_url)
    try:
        socket.create_connection((host, port), timeout=TIMEOUT).close()
    except OSError as exc:
        return Check(
            "reachable",
            False,
            f"cannot connect to {host}:{port} ({exc.strerror or exc}): start bearerbox, then "
            "smsbox (smsbox exits when bearerbox stops), or correct sms.kannel_url",
        )
    return Check("reachable", True, f"smsbox's sendsms port {host}:{port} accepts connections")


def _request_checks(settings: Settings) -> list[Check]:
    user = settings.sms_kannel_username
    try:
        answer = _sendsms(settings)
    except (OSError, http.client.HTTPException) as exc:
        reason = f"no answer to a sendsms ({exc}): restart smsbox after bearerbox"
        return [Check("credentials", False, reason), Check("test sendsms", False, reason)]
    said = f"{answer.status} {answer.body!r}"
    if not answer.server.startswith("Kannel/"):
        reason = f"the server at sms.kannel_url is {answer.server or 'unnamed'!r}, not Kannel"
        return [Check("credentials", False, reason), Check("test sendsms", False, reason)]
    if answer.status == 403 and "Authorization failed" in answer.body:
        return [
            Check(
                "credentials",
                False,
                f"Kannel refused user {user!r} ({said}): set sms.kannel_username and "
                "sms.kannel_password to a sendsms-user's username and password (and allow "
                "this host in its user-allow-ip)",
            ),
            Check("test sendsms", False, "not tried: the credentials were refused"),
        ]
    if answer.status == 404:
        reason = f"no sendsms at this path ({said}): sms.kannel_url ends /cgi-bin/sendsms"
        return [Check("credentials", False, reason), Check("test sendsms", False, reason)]
    credentials = Check("credentials", True, f"sendsms-user {user!r} accepted ({answer.server})")
    if answer.status == 400 and "denied" in answer.body:
        test = Check(
            "test sendsms",
            True,
            f"refused, as it should be: the invalid number {PROBE_NUMBER!r} got {said} and "
            "nothing was sent; such a message fails at once, with this reason",
        )
    elif answer.status == 202:
        test = Check(
            "test sendsms",
            True,
            f"accepted: the invalid number {PROBE_NUMBER!r} got {said}, so Kannel passes "
            "invalid numbers to the SMSC (sendsms-chars allows letters); such messages "
            "fail only by their delivery report",
        )
    else:
        test = Check(
            "test sendsms",
            False,
            f"unexpected answer {said}: check the smsbox and bearerbox logs",
        )
    return [credentials, test]


def _conf_checks(settings: Settings, path: Path) -> list[Check]:
    names = ("concatenation", "max-messages", "mo-recode")
    try:
        groups = conf.read(path)
    except conf.ConfError as exc:
        reason = f"{exc}; {UNSAYABLE}: give --kannel-conf, or run as a user who may read it"
        return [Check(name, False, reason) for name in names]
    user = settings.sms_kannel_username
    users = [
        (g, w) for g, w in groups if g["group"] == "sendsms-user" and g.get("username") == user
    ]
    smsboxes = [(g, w) for g, w in groups if g["group"] == "smsbox"]
    _, port, _ = _target(settings.sms_kannel_url)
    if not users or not smsboxes or smsboxes[0][0].get("sendsms-port") != str(port):
        reason = (
            f"{path} has no sendsms-user {user!r} and smsbox with sendsms-port = {port}: "
            "give --kannel-conf the file Kannel runs with"
        )
        return [Check(name, False, reason) for name in names]
    (found, where), smsbox = users[0], smsboxes[0][0]
    cap = settings.sms_max_segments
    concatenation = (
        Check("concatenation", True, f"on ({where})")
        if conf.truthy(found.get("concatenation"))
        else Check(
            "concatenation",
            False,
            f"off for {user!r} ({where}): a long notice leaves as separate SMS, or cut; "
            "set concatenation = true in its sendsms-user group",
        )
    )
    raw = found.get("max-messages", "1")
    parts = int(raw) if raw.isdigit() else 0
    max_messages = (
        Check("max-messages", True, f"{parts} ≥ sms.max_segments = {cap} ({where})")
        if parts >= cap
        else Check(
            "max-messages",
            False,
            f"{raw} < sms.max_segments = {cap} ({where}): Kannel cuts a notice after {raw} "
            f"part(s) and still answers 202; set max-messages = 10 (sms.max_segments's most)",
        )
    )
    mo_recode = (
        Check("mo-recode", True, "on: inbound UCS-2 reaches the engine as UTF-8")
        if conf.truthy(smsbox.get("mo-recode"))
        else Check(
            "mo-recode",
            False,
            f"off in {path}'s smsbox group: Cyrillic inbound SMS reach the engine as UTF-16 "
            "bytes; set mo-recode = true",
        )
    )
    return [concatenation, max_messages, mo_recode]


def run_checks(settings: Settings, kannel_conf: Path = DEFAULT_CONF) -> list[Check]:
    """Every check, in order; those needing an answer fail at once if Kannel is down."""
    gateway = (
        Check("gateway", True, "sms.gateway = kannel")
        if settings.sms_gateway == "kannel"
        else Check(
            "gateway",
            False,
            f"sms.gateway = {settings.sms_gateway}: the engine does not use this Kannel; "
            'set sms.gateway = "kannel"',
        )
    )
    reachable = _reachable(settings)
    if reachable.ok:
        requests = _request_checks(settings)
    else:
        requests = [
            Check(name, False, "not tried: Kannel is not reachable")
            for name in ("credentials", "test sendsms")
        ]
    return [gateway, reachable, *requests, *_conf_checks(settings, kannel_conf)]
