"""The one HTTP call Telegram's and Viber's senders share, with the network
failures sorted the same way: not connected means the message never left
(retry); a timeout or error after connecting may have delivered it (unknown).

Telegram's bot token is part of every request URL, and httpx logs request
URLs at INFO; importing this module installs a filter on the `httpx` logger
that writes `bot***` in its place, and keeps httpcore's DEBUG trace (which
shows request and response headers, Viber's auth token among them) quiet.
Failure reasons end up in the database and on the monitor, so they are
redacted the same way.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import httpx

from dispatch_tui.senders.base import SendOutcome

_BOT_TOKEN = re.compile(r"/bot[^/\s\"']+")


def redact_bot_token(text: str) -> str:
    """`text` with any Telegram bot token in a URL path written as `bot***`."""
    return _BOT_TOKEN.sub("/bot***", text)


class RedactBotTokens(logging.Filter):
    """Rewrites a log record whose text carries a bot token; leaves others untouched."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact_bot_token(message)
        if redacted != message:
            record.msg, record.args = redacted, ()
        return True


def quiet_http_logs() -> None:
    """Install the redaction once per process (idempotent)."""
    httpx_log = logging.getLogger("httpx")
    if not any(isinstance(f, RedactBotTokens) for f in httpx_log.filters):
        httpx_log.addFilter(RedactBotTokens())
    httpcore_log = logging.getLogger("httpcore")
    if httpcore_log.level < logging.INFO:  # also NOTSET: a later DEBUG root would reach it
        httpcore_log.setLevel(logging.INFO)


quiet_http_logs()


async def post_json(
    client: httpx.AsyncClient, url: str, payload: dict[str, Any], name: str
) -> httpx.Response | SendOutcome:
    """The API's response, or the outcome when there was none."""
    try:
        return await client.post(url, json=payload)
    except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
        return SendOutcome.transient(redact_bot_token(f"{name}: cannot connect ({exc})"))
    except httpx.TimeoutException:
        return SendOutcome.unknown(f"{name}: no answer after sending")
    except httpx.HTTPError as exc:
        return SendOutcome.unknown(redact_bot_token(f"{name}: {type(exc).__name__}: {exc}"))
