"""SMS through Kannel's HTTP `sendsms` (smsbox).

One shared aiohttp session: shared/baselines.md measured httpx at a
twentieth of aiohttp's rate against a local Kannel, and the engine must
never be the bottleneck in front of the gateway. Kannel's answers map onto
outcomes (recipe: shared/recipes/kannel): 202 accepted or queued; 4xx
refused for good, except credentials, a missing sender id and routing,
which are our configuration or the operator's link and must not fail
100,000 messages;
5xx/429 retried after Retry-After. A refused connection means the request
never left, so it is retried; a timeout or disconnect after sending is
`unknown`, left for the delivery report to settle.

While Kannel restarts, smsbox refuses connections (measured on 1.4.5:
smsbox stopped, bearerbox stopped, which makes smsbox exit, or crashed,
after which smsbox re-spawns about 10 s later), never a 503; the request
being answered when smsbox goes gets no answer. Refused connections pause
the whole channel for `RESTART_PAUSE`, so a backlog waits for Kannel instead
of being run through it message by message. smsbox answers `Connection:
close`, so no pooled connection outlives a restart and looks like a lost answer.
"""

from __future__ import annotations

import urllib.parse

import aiohttp

from dispatch_tui.domain.sms import analyse
from dispatch_tui.senders.base import OutgoingMessage, SendOutcome

__all__ = ["KannelSender", "retry_after_seconds"]

REASON_LIMIT = 200
KEEPALIVE = 15.0
"""Seconds an idle connection is kept: well under smsbox's 60 s idle close (measured),
so we never reuse a connection Kannel is closing, which would look like a lost answer."""
RESTART_PAUSE = 5.0
"""Seconds the channel waits after Kannel refused a connection: a restart takes 1-2 s,
a re-spawn after a bearerbox crash about 10 s."""
CREDENTIALS_PAUSE = 60.0
"""Seconds before retrying what only a person can fix: our login, sender id or route."""


def retry_after_seconds(value: str | None) -> float | None:
    """A numeric Retry-After, or None (HTTP dates and junk are ignored)."""
    if value is None:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    return seconds if 0 <= seconds < float("inf") else None


def needs_ucs2(message: OutgoingMessage) -> bool:
    """The engine's flag, re-checked for non-ASCII text a caller left unflagged:
    without `coding=2` Kannel turns every non-GSM letter into "?" and still says 202."""
    if message.coding_ucs2:
        return True
    return not message.body.isascii() and analyse(message.body).encoding != "GSM-7"


class KannelSender:
    """Hands SMS to Kannel; `dlr_url` is a template whose `{id}` becomes the message id.

    The rest of `dlr_url` keeps Kannel's escapes (`%d`, `%A`...): the whole value
    is URL-encoded as one query parameter, so Kannel gets them intact.
    """

    channel = "sms"

    def __init__(
        self,
        *,
        url: str,
        username: str,
        password: str,
        dlr_url: str | None,
        dlr_mask: int = 27,
        timeout: float = 10.0,
        connect_timeout: float = 3.0,
        max_connections: int = 64,
    ) -> None:
        self.url = url
        self.username = username
        self.password = password
        self.dlr_url = dlr_url
        self.dlr_mask = dlr_mask
        self.timeout = aiohttp.ClientTimeout(total=timeout, sock_connect=connect_timeout)
        self.max_connections = max_connections
        where = urllib.parse.urlsplit(url).netloc
        self.label = f"SMS via Kannel {where}"
        self._session: aiohttp.ClientSession | None = None

    def _params(self, message: OutgoingMessage) -> dict[str, str]:
        # charset=UTF-8 is harmless for GSM texts (they still go out as 7-bit "text").
        params = {
            "username": self.username,
            "password": self.password,
            "to": message.address,
            "text": message.body,
            "charset": "UTF-8",
        }
        if message.sender:  # else the sendsms-user's default-sender, if Kannel has one
            params["from"] = message.sender
        if needs_ucs2(message):
            params["coding"] = "2"
        if self.dlr_url:
            params["dlr-mask"] = str(self.dlr_mask)
            params["dlr-url"] = self.dlr_url.replace("{id}", str(message.id))
        return params

    def _client(self) -> aiohttp.ClientSession:
        """The shared session, created inside the running loop on first use."""
        if self._session is None or self._session.closed:
            session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(
                    limit=self.max_connections, keepalive_timeout=KEEPALIVE
                ),
                timeout=self.timeout,
            )
            # aiohttp silently re-sends a GET once when the connection drops; sendsms is
            # not idempotent (a resent GET is a second SMS), so a drop must surface as
            # `unknown` for the delivery report to settle. aiohttp's own test client
            # switches it off the same way.
            session._retry_connection = False
            self._session = session
        return self._session

    async def send(self, message: OutgoingMessage) -> SendOutcome:
        """One sendsms GET; never raises for what a gateway or network may do."""
        try:
            async with self._client().get(self.url, params=self._params(message)) as response:
                text = (await response.text(errors="replace")).strip()[:REASON_LIMIT]
                return self._classify(response.status, text, response.headers.get("Retry-After"))
        except (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError) as exc:
            # Refused, unresolvable or unreachable: the request never left.
            return SendOutcome.transient(
                f"{self.label}: cannot connect ({_describe(exc)}): Kannel down or restarting",
                RESTART_PAUSE,
            )
        except aiohttp.InvalidURL as exc:
            return SendOutcome.transient(f"{self.label}: invalid gateway URL ({exc})")
        except (TimeoutError, aiohttp.ClientError) as exc:
            # The request went out (or may have); Kannel may have taken it.
            return SendOutcome.unknown(f"{self.label}: no answer after sending ({_describe(exc)})")

    def _classify(self, status: int, text: str, retry_after: str | None) -> SendOutcome:
        said = f"{self.label} answered {status} {text!r}"
        if status in (200, 202):
            # Reports are matched by message id (in the dlr-url), so no reference is kept:
            # equal outcomes are then recorded with one UPDATE.
            return SendOutcome.sent(None)
        if status == 429 or status >= 500:
            return SendOutcome.transient(said, retry_after_seconds(retry_after))
        if status == 403 and "Authorization failed" in text:
            return SendOutcome.transient(
                f"{said}: the gateway refused our credentials (check sms.kannel_username "
                "and sms.kannel_password)",
                CREDENTIALS_PAUSE,
            )
        if status == 403 and "Not routable" in text:
            return SendOutcome.transient(f"{said}: no route to the SMSC", CREDENTIALS_PAUSE)
        if status == 400 and "Sender missing" in text:
            return SendOutcome.transient(
                f"{said}: no sender id is set for this notice nor in Kannel", CREDENTIALS_PAUSE
            )
        return SendOutcome.permanent(said)

    async def close(self) -> None:
        """Close the shared session; a later send opens a new one."""
        if self._session is not None:
            await self._session.close()
            self._session = None


def _describe(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__
