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
    },
    "uk": {
        Reply.SUBSCRIBED: "Рахунок {id} підписано на повідомлення про відключення.",
        Reply.UNSUBSCRIBED: "Рахунок {id} відписано від повідомлень.",
        Reply.STOPPED: "Ви відписані від усіх повідомлень. Щоб повернутись: СТАРТ.",
        Reply.STARTED: "Повідомлення про відключення знову увімкнено.",
        Reply.UNKNOWN_ID: "Рахунок {id} не знайдено. Перевірте номер у рахунку.",
        Reply.NOT_SIGNED_UP: "Цей телефон не був підписаний на {id}.",
        Reply.NOTHING_TO_DO: "Для цього номера немає підписок.",
        Reply.HELP: "Надішліть: 123456789 СТАРТ або 123456789 СТОП.",
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


def reply_text(reply: Reply, language: str | None, identifier: str | None = None) -> str:
    """The reply in `language` (English when unknown)."""
    texts = _TEXTS.get(language or "en", _TEXTS["en"])
    return texts[reply].format(id=identifier or "")
