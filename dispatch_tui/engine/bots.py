"""Telegram long polling (the webhook's alternative) for the bot dialogue.

Polling needs no public HTTPS endpoint, which suits a control room behind
a firewall; a webhook (routes in listener.py) suits a server with one.
Telegram keeps updates for 24 hours and confirms them by the next offset,
so a restart resumes where it stopped. The offset moves past an update only
once it is stored: when storing fails, the round stops there and the next
one fetches that update again (storage drops duplicates per chat by update
id, so nothing is handled twice).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from dispatch_tui.domain.bot_updates import ChatText, telegram_update
from dispatch_tui.senders.bot_api import redact_bot_token

log = logging.getLogger(__name__)

ChatHandler = Callable[[str, ChatText], Awaitable[None]]
"""(channel, text) → handled; the channel is "telegram" or "viber"."""


class TelegramPoller:
    def __init__(
        self,
        *,
        token: str,
        on_text: ChatHandler,
        base_url: str = "https://api.telegram.org",
        poll_seconds: int = 25,
        transport: httpx.AsyncBaseTransport | None = None,
        retry_seconds: float = 5.0,
    ) -> None:
        self._url = f"{base_url.rstrip('/')}/bot{token}/getUpdates"
        self._on_text = on_text
        self._poll = poll_seconds
        self._retry = retry_seconds
        self._client = httpx.AsyncClient(timeout=poll_seconds + 10, transport=transport)
        self.offset: int | None = None

    async def poll_once(self) -> int:
        """One getUpdates round; returns how many updates came."""
        params: dict[str, Any] = {"timeout": self._poll, "allowed_updates": '["message"]'}
        if self.offset is not None:
            params["offset"] = self.offset
        response = await self._client.get(self._url, params=params)
        data = (
            response.json()
            if response.headers.get("content-type", "").startswith("application/json")
            else {}
        )
        if response.status_code != 200 or not isinstance(data, dict) or not data.get("ok"):
            raise RuntimeError(f"getUpdates answered {response.status_code}: {response.text[:200]}")
        updates = data.get("result")
        if not isinstance(updates, list):
            return 0
        for raw in updates:
            text = telegram_update(raw)
            if text is None:
                log.info("Telegram update ignored: not a private text message")
            else:
                await self._on_text("telegram", text)  # raises: the offset stays before it
            update_id = raw.get("update_id") if isinstance(raw, dict) else None
            if isinstance(update_id, int):
                self.offset = max(self.offset or 0, update_id + 1)
        return len(updates)

    async def run(self) -> None:
        while True:
            try:
                await self.poll_once()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning(
                    "Telegram polling: %s; retrying in %.0f s",
                    redact_bot_token(str(exc)),
                    self._retry,
                )
                await asyncio.sleep(self._retry)

    async def close(self) -> None:
        await self._client.aclose()
