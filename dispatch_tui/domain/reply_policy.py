"""Whether an inbound SMS gets a reply, and whether it may change anything.

Kannel's `to=` and `from=` reach us from whoever can call the listener. A
reply goes out under the utility's name and at its cost, so it goes only
from a sender id a utility configured (else anybody could pick the sender
of an SMS we pay for) and only to a mobile number: never to an emergency
number such as 112, a short code, a landline or a premium-rate number that
a forged `from=` names. A sign-up from such a number is not handed on at
all, because it would make that number a contact that every later notice
is sent to; an opt-out or anything else still is (opt-out always wins).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat, PhoneNumberType

from dispatch_tui.domain.keywords import Intent, parse

__all__ = ["InboundDecision", "SenderId", "decide", "mobile_reply_address"]

_MOBILE: Final = frozenset({PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE})


@dataclass(frozen=True)
class SenderId:
    """A utility's configured SMS sender: an alphanumeric id or a number, and its country
    (to read a number written the national way)."""

    text: str
    country: str


@dataclass(frozen=True)
class InboundDecision:
    handle: bool
    """Hand the SMS on to be stored and applied."""
    no_reply: str | None
    """Why it gets no reply; None when a reply may go out."""


def mobile_reply_address(sender: str) -> str | None:
    """The E.164 number a reply would go to, as storage normalises `from=`, when it is a
    mobile number; None for anything we must not text."""
    text = sender.strip().replace(" ", "")
    if not text.startswith("+"):
        if not text.isdigit() or len(text) < 8:
            return None  # emergency numbers and short codes
        text = "+" + text
    try:
        number = phonenumbers.parse(text, None)
    except NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number) or number.extension:
        return None
    if phonenumbers.number_type(number) not in _MOBILE:
        return None
    return phonenumbers.format_number(number, PhoneNumberFormat.E164)


def _e164(text: str, country: str) -> str | None:
    try:
        number = phonenumbers.parse(text, country.upper() or None)
    except NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    return phonenumbers.format_number(number, PhoneNumberFormat.E164)


def _same_sender(receiver: str, configured: SenderId) -> bool:
    """`to=` names this sender: the same id (letters: any case), the same short code, or the
    same number written nationally or internationally."""
    ours = configured.text.strip()
    if not ours:
        return False
    if receiver.casefold() == ours.casefold():
        return True
    digits = ours.lstrip("+")
    if not digits.isdigit() or not receiver.lstrip("+").isdigit():
        return False
    mine, theirs = _e164(ours, configured.country), _e164(receiver, configured.country)
    return mine is not None and mine == theirs


def decide(sender: str, receiver: str, text: str, senders: Iterable[SenderId]) -> InboundDecision:
    """What to do with an SMS from `sender` to `receiver`, given the utilities' senders."""
    to = receiver.strip().replace(" ", "")
    if mobile_reply_address(sender) is None:
        command = parse(text)
        sign_up = command is not None and command.intent is Intent.SUBSCRIBE
        return InboundDecision(not sign_up, "the sender is not a mobile number")
    if not to or not any(_same_sender(to, s) for s in senders):
        return InboundDecision(True, "it was not sent to a utility's sender id")
    return InboundDecision(True, None)
