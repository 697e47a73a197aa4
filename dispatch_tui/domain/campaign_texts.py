"""Per-language texts of campaigns: payment and meter-reading reminders.

A payment reminder names the account and the due date, never the amount:
an SMS or bot message shows on a lock screen, where anyone near the phone
reads it, and the amount owed is the customer's business (a bill check from a
verified phone gives it on request). A meter-reading reminder names the
account and the first day of the reading window.

The account is the only part that differs between recipients of one
language, channel and due date, so a text is kept as the parts before and
after it: the fan-out renders each (language, channel, date) once and lets
the database join the account in (`storage.campaign_fanout`).

Pure: no I/O. Dates use the notice templates' fixed SMS patterns.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Final

from dispatch_tui.domain import sms
from dispatch_tui.domain.campaign import CampaignKind
from dispatch_tui.domain.templates import LANGUAGES, local_date

_SHORT: Final[dict[tuple[str, str], str]] = {
    ("sl", "payment_reminder"): "Opomnik: plačilo za račun št. {account} z rokom {due} še ni "
    "prejeto. Če ste že plačali, sporočilo prezrite. Tel. {contact}",
    ("uk", "payment_reminder"): "Нагадування: оплата за особовим рахунком {account} з терміном "
    "{due} не надійшла. Якщо ви вже сплатили, не зважайте на це повідомлення. Тел. {contact}",
    ("bg", "payment_reminder"): "Напомняне: плащането по клиентски номер {account} с падеж {due} "
    "не е постъпило. Ако вече сте платили, не обръщайте внимание. Тел. {contact}",
    ("en", "payment_reminder"): "Reminder: the payment for account {account} due {due} has not "
    "reached us. If you have already paid, please ignore this message. Tel. {contact}",
    ("sl", "reading_reminder"): "Opomnik: od {due} lahko sporočite stanje števca za račun "
    "št. {account}. Tel. {contact}",
    ("uk", "reading_reminder"): "Нагадування: з {due} можна передати показники лічильника за "
    "особовим рахунком {account}. Тел. {contact}",
    ("bg", "reading_reminder"): "Напомняне: от {due} можете да подадете показанията на "
    "електромера за клиентски номер {account}. Тел. {contact}",
    ("en", "reading_reminder"): "Reminder: from {due} you can send your meter reading for "
    "account {account}. Tel. {contact}",
}
"""(language, kind) → SMS, Telegram and Viber text."""

_SUBJECTS: Final[dict[tuple[str, str], str]] = {
    ("sl", "payment_reminder"): "Opomnik o plačilu",
    ("uk", "payment_reminder"): "Нагадування про оплату",
    ("bg", "payment_reminder"): "Напомняне за плащане",
    ("en", "payment_reminder"): "Payment reminder",
    ("sl", "reading_reminder"): "Opomnik za stanje števca",
    ("uk", "reading_reminder"): "Нагадування про показники лічильника",
    ("bg", "reading_reminder"): "Напомняне за показания на електромера",
    ("en", "reading_reminder"): "Meter reading reminder",
}

_LETTER: Final[dict[str, str]] = {
    "sl": "Spoštovani,\n\n{text}\n\nLep pozdrav,\n{utility}",
    "uk": "Доброго дня!\n\n{text}\n\nЗ повагою,\n{utility}",
    "bg": "Здравейте,\n\n{text}\n\nС уважение,\n{utility}",
    "en": "Dear customer,\n\n{text}\n\nKind regards,\n{utility}",
}
"""The e-mail around the short text."""

_ACCOUNT: Final = "\x00"


@dataclass(frozen=True)
class ReminderText:
    """One text of a campaign for one language, channel and date, split at the account."""

    subject: str | None
    head: str
    tail: str

    def body(self, account: str) -> str:
        return f"{self.head}{account}{self.tail}"

    def segments(self, account_length: int) -> int:
        """SMS segments with an account of that many digits (accounts are ASCII
        identifiers, so only their length changes the count)."""
        return sms.analyse(self.body("0" * account_length)).segments


def text_language(language: str, fallback: str) -> str:
    """The language a recipient is written in: theirs if there are texts for it, else
    the utility's, else English."""
    for choice in (language, fallback):
        if choice in LANGUAGES:
            return choice
    return "en"


def reminder(
    kind: str,
    language: str,
    channel: str,
    *,
    due: date,
    contact_phone: str,
    utility_name: str,
) -> ReminderText:
    """The text of a `kind` reminder; `due` is the payment's due date or the first day
    of the reading window."""
    key = (language, CampaignKind(kind).value)
    if key not in _SHORT:
        raise ValueError(f"no {kind} text in {language!r}; one of {', '.join(LANGUAGES)}")
    short = channel != "email"
    text = _SHORT[key].format(
        account=_ACCOUNT,
        due=local_date(due, language, short=short),
        contact=" ".join(contact_phone.split()),
    )
    subject = None
    if not short:
        text = _LETTER[language].format(text=text, utility=" ".join(utility_name.split()))
        subject = _SUBJECTS[key]
    head, tail = text.split(_ACCOUNT)
    return ReminderText(subject, head, tail)
