"""SMS through Kannel's HTTP `sendsms` (smsbox).

One shared aiohttp session: shared/baselines.md measured httpx at a
twentieth of aiohttp's rate against a local Kannel, and the engine must
never be the bottleneck in front of the gateway. Kannel's answers map onto
outcomes (recipe: shared/recipes/kannel): 202 accepted or queued; 4xx
refused for good, except credentials and routing, which are our
configuration or the operator's link and must not fail 100,000 messages;
5xx/429 retried after Retry-After. A refused connection means the request
never left, so it is retried; a timeout after sending is `unknown`, left
for the delivery report to settle.
"""

from __future__ import annotations

import urllib.parse

import aiohttp

from dispatch_tui.senders.base import OutgoingMessage, SendOutcome

__all__ = ["KannelSender"]

REASON_LIMIT = 200


def retry_after_seconds(value: str | None) -> float | None:
    """A numeric Retry-After, or None (HTTP dates and junk are ignored)."""
    if value is None:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    return seconds if seconds >= 0 else None


class KannelSender:
    """Hands SMS to Kannel; `dlr_url` is a template whose `{id}` becomes the message id."""

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
        params = {
            "username": self.username,
            "password": self.password,
            "from": message.sender,
            "to": message.address,
            "text": message.body,
            "charset": "UTF-8",
        }
        if message.coding_ucs2:
            params["coding"] = "2"
        if self.dlr_url:
            params["dlr-mask"] = str(self.dlr_mask)
            params["dlr-url"] = self.dlr_url.replace("{id}", str(message.id))
        return params

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self.max_connections),
                timeout=self.timeout,
            )
        return self._session

    async def send(self, message: OutgoingMessage) -> SendOutcome:
        """One sendsms GET; never raises for what a gateway or network may do."""
        try:
            async with self._client().get(self.url, params=self._params(message)) as response:
                text = (await response.text(errors="replace")).strip()[:REASON_LIMIT]
                return self._classify(response.status, text, response.headers.get("Retry-After"))
        except aiohttp.ClientConnectorError as exc:
            return SendOutcome.transient(f"{self.label}: cannot connect ({exc})")
        except aiohttp.ConnectionTimeoutError:
            return SendOutcome.transient(f"{self.label}: connection timed out")
        except (TimeoutError, aiohttp.ServerDisconnectedError) as exc:
            # The request went out; Kannel may have taken it.
            reason = type(exc).__name__ if not str(exc) else str(exc)
            return SendOutcome.unknown(f"{self.label}: no answer after sending ({reason})")
        except aiohttp.ClientError as exc:
            return SendOutcome.unknown(f"{self.label}: {type(exc).__name__}: {exc}")

    def _classify(self, status: int, text: str, retry_after: str | None) -> SendOutcome:
        said = f"{self.label} answered {status} {text!r}"
        if status in (200, 202):
            return SendOutcome.sent(None)
        if status == 429 or status >= 500:
            return SendOutcome.transient(said, retry_after_seconds(retry_after))
        if status == 403 and "Authorization failed" in text:
            return SendOutcome.transient(
                f"{said}: the gateway refused our credentials (check sms.kannel_username "
                "and sms.kannel_password)",
                60.0,
            )
        if status == 403 and "Not routable" in text:
            return SendOutcome.transient(f"{said}: no route to the SMSC", 60.0)
        return SendOutcome.permanent(said)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
