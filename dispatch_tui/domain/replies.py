"""Confirmation and help replies to inbound SMS, per language.

Short on purpose: every reply is an SMS the utility pays for, and one
segment is the aim (Cyrillic and Slovene letters mean 70 characters).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final

import phonenumbers


class Reply(StrEnum):
    SUBSCRIBED = "subscribed"
    UNSUBSCRIBED = "unsubscribed"
    STOPPED = "stopped"
    STARTED = "started"
    UNKNOWN_ID = "unknown_id"
    NOT_SIGNED_UP = "not_signed_up"
    NOTHING_TO_DO = "nothing_to_do"
    HELP = "help"
    NEEDS_PROOF = "needs_proof"
    """A Ukrainian account sign-up without the meter number or EIC tail."""
    WRONG_PROOF = "wrong_proof"
    LOCKED = "locked"
    """Too many wrong proofs for the account (or from this phone): call the utility."""
    TOO_MANY_SIGNUPS = "too_many_signups"


_TEXTS: Final[dict[str, dict[Reply, str]]] = {
    "sl": {
        Reply.SUBSCRIBED: "Prijava za {id} je potrjena. Obvestila o izklopih prejmete po SMS.",
        Reply.UNSUBSCRIBED: "Odjava za {id} je potrjena. Obvestil ne boste več prejemali.",
        Reply.STOPPED: "Odjavljeni ste od vseh obvestil. Za ponovno prijavo pošljite START.",
        Reply.STARTED: "Obvestila o izklopih so znova vklopljena.",
        Reply.UNKNOWN_ID: "Merilnega mesta {id} ne najdemo. Preverite številko na računu.",
        Reply.NOT_SIGNED_UP: "Ta telefon ni bil prijavljen za {id}, odjava ni potrebna.",
        Reply.NOTHING_TO_DO: "Za to številko ni prijav.",
        Reply.HELP: "Pošljite npr. 6-123456 PRIJAVA ali 6-123456 ODJAVA.",
        Reply.NEEDS_PROOF: "Za prijavo pošljite: {id} <številka števca> START",
        Reply.WRONG_PROOF: "Številka števca ali EIC se ne ujema z računom {id}.",
        Reply.LOCKED: "Preveč poskusov za {id}. Pokličite {phone}.",
        Reply.TOO_MANY_SIGNUPS: "Ta telefon ima že {limit} prijav, nove ni mogoče dodati.",
    },
    "uk": {
        Reply.SUBSCRIBED: "Рахунок {id} підписано на повідомлення про відключення.",
        Reply.UNSUBSCRIBED: "Рахунок {id} відписано від повідомлень.",
        Reply.STOPPED: "Ви відписані від усіх повідомлень. Щоб повернутись: СТАРТ.",
        Reply.STARTED: "Повідомлення про відключення знову увімкнено.",
        Reply.UNKNOWN_ID: "Рахунок {id} не знайдено. Перевірте номер у рахунку.",
        Reply.NOT_SIGNED_UP: "Цей телефон не був підписаний на {id}.",
        Reply.NOTHING_TO_DO: "Для цього номера немає підписок.",
        Reply.HELP: "Надішліть: 123456789 <номер лічильника> СТАРТ або 123456789 СТОП.",
        Reply.NEEDS_PROOF: "Надішліть: {id} <номер лічильника або 5 знаків EIC> СТАРТ",
        Reply.WRONG_PROOF: "Номер лічильника чи EIC не збігається з рахунком {id}.",
        Reply.LOCKED: "Забагато спроб для {id}. Телефонуйте: {phone}.",
        Reply.TOO_MANY_SIGNUPS: "На цей телефон уже {limit} підписок, більше не можна.",
    },
    "bg": {
        Reply.SUBSCRIBED: "Клиентски номер {id} е регистриран за известия.",
        Reply.UNSUBSCRIBED: "Клиентски номер {id} е отписан от известията.",
        Reply.STOPPED: "Отписани сте от всички известия.",
        Reply.STARTED: "Известията са включени отново.",
        Reply.UNKNOWN_ID: "Клиентски номер {id} не е намерен.",
        Reply.NOT_SIGNED_UP: "Този телефон не е регистриран за {id}.",
        Reply.NOTHING_TO_DO: "За този номер няма регистрации.",
        Reply.HELP: "Изпратете 12-цифрения клиентски номер; за отказ: СТОП и номера.",
        Reply.NEEDS_PROOF: "Изпратете: {id} <номер на електромер> СТАРТ",
        Reply.WRONG_PROOF: "Номерът на електромера или EIC не съвпада с {id}.",
        Reply.LOCKED: "Твърде много опити за {id}. Обадете се: {phone}.",
        Reply.TOO_MANY_SIGNUPS: "Този телефон вече има {limit} регистрации, повече не може.",
    },
    "en": {
        Reply.SUBSCRIBED: "{id} is signed up for planned outage notices.",
        Reply.UNSUBSCRIBED: "{id} will get no more outage notices.",
        Reply.STOPPED: "You will get no more notices. Send START to sign up again.",
        Reply.STARTED: "Outage notices are on again.",
        Reply.UNKNOWN_ID: "We cannot find {id}. Please check the number on your bill.",
        Reply.NOT_SIGNED_UP: "This phone was not signed up for {id}, so nothing changed.",
        Reply.NOTHING_TO_DO: "This phone has no sign-ups.",
        Reply.HELP: "Send your number and PRIJAVA/СТАРТ to sign up, or STOP to leave.",
        Reply.NEEDS_PROOF: "To sign up send: {id} <meter number or last 5 of EIC> START",
        Reply.WRONG_PROOF: "The meter number or EIC does not match account {id}.",
        Reply.LOCKED: "Too many wrong tries for {id}. Please call {phone}.",
        Reply.TOO_MANY_SIGNUPS: "This phone already has {limit} sign-ups; no more can be added.",
    },
}


# Countries whose language we write, by phonenumbers region; others get English.
_REGION_LANGUAGES: Final = {"SI": "sl", "UA": "uk", "BG": "bg"}


def phone_language(phone: str) -> str:
    """The language of the phone number's country, for someone we know nothing else about."""
    try:
        number = phonenumbers.parse(phone, None)
    except phonenumbers.NumberParseException:
        return "en"
    return _REGION_LANGUAGES.get(phonenumbers.region_code_for_number(number) or "", "en")


def reply_text(
    reply: Reply,
    language: str | None,
    identifier: str | None = None,
    *,
    phone: str = "",
    limit: int = 0,
) -> str:
    """The reply in `language` (English when unknown); `phone` is the utility's
    number for LOCKED, `limit` the sign-ups a phone may have for TOO_MANY_SIGNUPS."""
    texts = _TEXTS.get(language or "en", _TEXTS["en"])
    return texts[reply].format(id=identifier or "", phone=phone, limit=limit)
