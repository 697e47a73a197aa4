"""Telegram and Viber payloads as documented (shared/recipes/bots.md), and
malformed ones ignored."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dispatch_tui.domain.bot_updates import (
    ChatText,
    telegram_update,
    viber_event,
    viber_signature_ok,
)

TELEGRAM = {
    "update_id": 123,
    "message": {
        "message_id": 1,
        "date": 1700000000,
        "chat": {"id": 111, "type": "private"},
        "from": {"id": 111, "is_bot": False, "first_name": "A", "language_code": "uk"},
        "text": "/start LINK_ABC",
    },
}


def test_telegram_text_message() -> None:
    assert telegram_update(TELEGRAM) == ChatText("111", "/start LINK_ABC", 123, "uk")


@pytest.mark.parametrize(
    "broken",
    [
        None,
        [],
        {},
        {"update_id": "123", "message": TELEGRAM["message"]},
        {"update_id": 124, "edited_message": TELEGRAM["message"]},
        {"update_id": 125, "message": {**TELEGRAM["message"], "chat": {"id": 5, "type": "group"}}},
        {"update_id": 126, "message": {**TELEGRAM["message"], "text": None, "sticker": {}}},
        {"update_id": 127, "my_chat_member": {"chat": {"id": 111}}},
    ],
)
def test_telegram_updates_that_are_not_texts_are_ignored(broken: Any) -> None:
    assert telegram_update(broken) is None


def test_viber_events() -> None:
    message = {
        "event": "message",
        "timestamp": 1,
        "sender": {"id": "01234567890A=", "name": "Olena"},
        "message": {"type": "text", "text": "100000001"},
        "message_token": 4912661846655238145,
    }
    assert viber_event(message) == ChatText("01234567890A=", "100000001")
    started = {"event": "conversation_started", "user": {"id": "U1="}, "type": "open"}
    assert viber_event(started) == ChatText("U1=", "/start")
    assert viber_event({"event": "unsubscribed", "user_id": "U1="}) == ChatText("U1=", "/stop")
    for ignored in (
        {"event": "delivered", "message_token": 1, "user_id": "U1="},
        {"event": "webhook", "timestamp": 1},
        {"event": "message", "sender": {"id": "U1="}, "message": {"type": "picture"}},
        {"event": "message", "sender": {}, "message": {"type": "text", "text": "x"}},
        "junk",
    ):
        assert viber_event(ignored) is None


def test_viber_signature() -> None:
    body = json.dumps({"event": "webhook"}).encode()
    good = hmac.new(b"TOKEN", body, hashlib.sha256).hexdigest()
    assert viber_signature_ok(body, "TOKEN", good)
    assert viber_signature_ok(body, "TOKEN", good.upper())
    assert not viber_signature_ok(body + b" ", "TOKEN", good)
    assert not viber_signature_ok(body, "TOKEN", None)
    assert not viber_signature_ok(body, "", good)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=10),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)


@given(json_values)
def test_any_json_is_read_or_ignored_without_error(data: Any) -> None:
    telegram_update(data)
    viber_event(data)
