"""Notices to Viber subscribers through the REST Bot API (httpx).

Viber answers errors as HTTP 200 with a non-zero `status`
(shared/recipes/bots.md): 5 and 6 (not registered, not subscribed) mean
the user left, so the contact is gone; 12 is "too many requests"; auth and
account problems are ours to fix and must not fail every message.
"""

from __future__ import annotations

from typing import Any

import httpx

from dispatch_tui.senders.base import OutgoingMessage, SendOutcome
from dispatch_tui.senders.bot_api import post_json

__all__ = ["ViberSender"]

TEXT_LIMIT = 7000
_GONE = {5: "receiverNotRegistered", 6: "receiverNotSubscribed"}
_OURS = {2: "invalidAuthToken", 7: "publicAccountBlocked", 8: "publicAccountNotFound"}


class ViberSender:
    channel = "viber"

    def __init__(
        self,
        *,
        token: str,
        sender_name: str,
        base_url: str = "https://chatapi.viber.com/pa",
        timeout: float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._url = f"{base_url.rstrip('/')}/send_message"
        self._name = sender_name[:28]
        self.label = "Viber bot"
        self._client = httpx.AsyncClient(
            timeout=timeout, transport=transport, headers={"X-Viber-Auth-Token": token}
        )

    async def send(self, message: OutgoingMessage) -> SendOutcome:
        payload = {
            "receiver": message.address,
            "min_api_version": 1,
            "sender": {"name": self._name},
            "type": "text",
            "text": message.body[:TEXT_LIMIT],
        }
        answer = await post_json(self._client, self._url, payload, "Viber")
        return answer if isinstance(answer, SendOutcome) else classify(answer)

    async def close(self) -> None:
        await self._client.aclose()


def classify(response: httpx.Response) -> SendOutcome:
    """Viber's answer as an outcome; malformed answers never raise."""
    if response.status_code != 200:
        return SendOutcome.transient(f"Viber answered HTTP {response.status_code}")
    try:
        data: Any = response.json()
    except ValueError:
        return SendOutcome.transient("Viber answered something that is not JSON")
    status = data.get("status") if isinstance(data, dict) else None
    if not isinstance(status, int):
        return SendOutcome.transient("Viber's answer has no status")
    said = f"Viber status {status} {data.get('status_message', '')}".strip()
    if status == 0:
        token = data.get("message_token")
        return SendOutcome.sent(None if token is None else f"viber:{token}")
    if status in _GONE:
        return SendOutcome.gone(said)
    if status == 12:
        return SendOutcome.transient(said, 60.0)
    if status in _OURS:
        return SendOutcome.transient(f"{said}: check the Viber bot account", 300.0)
    if status in (3, 4, 13, 14):
        return SendOutcome.permanent(said)
    return SendOutcome.transient(said)
