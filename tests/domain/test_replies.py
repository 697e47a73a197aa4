"""Inbound SMS replies: one segment in every language, and the language of
a phone number's country for someone we know nothing else about."""

from __future__ import annotations

import pytest

from dispatch_tui.domain import sms
from dispatch_tui.domain.replies import Reply, phone_language, reply_text


@pytest.mark.parametrize("language", ["sl", "uk", "bg", "en"])
@pytest.mark.parametrize("reply", list(Reply))
def test_every_reply_is_one_segment_with_the_longest_id(reply: Reply, language: str) -> None:
    text = reply_text(reply, language, "300012345678", phone="+380 800 300 015", limit=100)
    assert sms.analyse(text).segments == 1
    assert "{" not in text


@pytest.mark.parametrize("language", ["sl", "uk", "bg", "en"])
def test_the_new_replies_say_what_is_needed(language: str) -> None:
    assert "123456789" in reply_text(Reply.NEEDS_PROOF, language, "123456789")
    assert "080 30 19" in reply_text(Reply.LOCKED, language, "100000002", phone="080 30 19")
    assert "5" in reply_text(Reply.TOO_MANY_SIGNUPS, language, limit=5)


@pytest.mark.parametrize(
    ("phone", "language"),
    [
        ("+38641123456", "sl"),
        ("+380501234567", "uk"),
        ("+359888123456", "bg"),
        ("+4915112345678", "en"),
        ("+12025550123", "en"),
        ("1234", "en"),
    ],
)
def test_phone_language_follows_the_country(phone: str, language: str) -> None:
    assert phone_language(phone) == language
