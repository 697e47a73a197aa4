"""What Telegram and Viber send us, reduced to "this chat wrote this text".

Shapes from shared/recipes/bots.md. Anything else (edited messages,
stickers, group chats, delivery callbacks, malformed JSON) is `None`:
ignored, never an error that would make the platform retry forever.
Viber's webhook is authenticated by an HMAC-SHA256 of the raw body keyed
with the bot token, checked before the body is parsed.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from typing import Any

__all__ = ["ChatText", "telegram_update", "viber_event", "viber_signature_ok"]


@dataclass(frozen=True)
class ChatText:
    chat_id: str
    text: str
    update_id: int | None = None
    language: str | None = None


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def telegram_update(data: Any) -> ChatText | None:
    """A private-chat text message from a Telegram update."""
    update = _dict(data)
    update_id = update.get("update_id")
    message = _dict(update.get("message"))
    chat = _dict(message.get("chat"))
    text = message.get("text")
    chat_id = chat.get("id")
    if (
        not isinstance(update_id, int)
        or chat.get("type") != "private"
        or not isinstance(chat_id, int)
        or not isinstance(text, str)
    ):
        return None
    language = _dict(message.get("from")).get("language_code")
    return ChatText(str(chat_id), text, update_id, language if isinstance(language, str) else None)


def viber_event(data: Any) -> ChatText | None:
    """A text from a Viber callback; subscribing starts and unsubscribing stops."""
    event = _dict(data)
    kind = event.get("event")
    if kind == "message":
        sender = _dict(event.get("sender")).get("id")
        message = _dict(event.get("message"))
        if isinstance(sender, str) and message.get("type") == "text":
            text = message.get("text")
            if isinstance(text, str):
                return ChatText(sender, text)
        return None
    if kind in ("conversation_started", "subscribed"):
        user = _dict(event.get("user")).get("id")
        return ChatText(user, "/start") if isinstance(user, str) else None
    if kind == "unsubscribed":
        user_id = event.get("user_id")
        return ChatText(user_id, "/stop") if isinstance(user_id, str) else None
    return None


def viber_signature_ok(body: bytes, token: str, signature: str | None) -> bool:
    if not signature or not token:
        return False
    expected = hmac.new(token.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, signature.strip().lower())
