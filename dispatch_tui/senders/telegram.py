"""Notices to linked Telegram chats through the Bot API (httpx).

The Bot API allows about 30 messages a second per bot (the engine's token
bucket for this channel stays under it) and answers floods with 429 and
`parameters.retry_after`. A user who blocked the bot, deleted their
account or never started it answers 403: that contact is gone for good.
Bot rates are low enough for httpx, whose mock transport makes the API's
documented shapes testable here (shared/recipes/bots.md).
"""

from __future__ import annotations

from typing import Any

import httpx

from dispatch_tui.senders.base import OutgoingMessage, SendOutcome
from dispatch_tui.senders.bot_api import post_json

__all__ = ["TelegramSender"]

TEXT_LIMIT = 4096


class TelegramSender:
    channel = "telegram"

    def __init__(
        self,
        *,
        token: str,
        base_url: str = "https://api.telegram.org",
        timeout: float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._url = f"{base_url.rstrip('/')}/bot{token}/sendMessage"
        self.label = "Telegram bot"
        self._client = httpx.AsyncClient(timeout=timeout, transport=transport)

    async def send(self, message: OutgoingMessage) -> SendOutcome:
        payload = {"chat_id": message.address, "text": message.body[:TEXT_LIMIT]}
        answer = await post_json(self._client, self._url, payload, "Telegram")
        return answer if isinstance(answer, SendOutcome) else classify(answer)

    async def close(self) -> None:
        await self._client.aclose()


def _body(response: httpx.Response) -> dict[str, Any]:
    try:
        data = response.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def classify(response: httpx.Response) -> SendOutcome:
    """The Bot API's answer as an outcome; malformed answers never raise."""
    data = _body(response)
    description = str(data.get("description", response.text[:200]))
    said = f"Telegram answered {response.status_code}: {description}"
    if response.status_code == 200 and data.get("ok") is True:
        result = data.get("result")
        ref = result.get("message_id") if isinstance(result, dict) else None
        return SendOutcome.sent(None if ref is None else f"telegram:{ref}")
    parameters = data.get("parameters")
    retry_after = parameters.get("retry_after") if isinstance(parameters, dict) else None
    if response.status_code == 429:
        seconds = float(retry_after) if isinstance(retry_after, int | float) else None
        return SendOutcome.transient(said, seconds)
    if response.status_code == 403 or "chat not found" in description:
        return SendOutcome.gone(said)
    if response.status_code >= 500 or response.status_code == 200:
        return SendOutcome.transient(said)
    if response.status_code in (401, 404):
        return SendOutcome.transient(f"{said}: check the bot token", 300.0)
    return SendOutcome.permanent(said)
