"""The one HTTP call Telegram's and Viber's senders share, with the network
failures sorted the same way: not connected means the message never left
(retry); a timeout or error after connecting may have delivered it (unknown)."""

from __future__ import annotations

from typing import Any

import httpx

from dispatch_tui.senders.base import SendOutcome


async def post_json(
    client: httpx.AsyncClient, url: str, payload: dict[str, Any], name: str
) -> httpx.Response | SendOutcome:
    """The API's response, or the outcome when there was none."""
    try:
        return await client.post(url, json=payload)
    except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
        return SendOutcome.transient(f"{name}: cannot connect ({exc})")
    except httpx.TimeoutException:
        return SendOutcome.unknown(f"{name}: no answer after sending")
    except httpx.HTTPError as exc:
        return SendOutcome.unknown(f"{name}: {type(exc).__name__}: {exc}")
