"""The chat-bot conversation (seed 001): link accounts only after proof.

A chat adds a personal account (9 digits), then proves it with the meter
number or the last 5 characters of the EIC; until then nothing personal
(no address) is shown. A chat may link several accounts, list and remove
them, choose its language, and stop. The function is pure: lookups come
through `AccountBook`, and the changes to make come back as actions, so
Telegram and Viber share it and tests need no database.

A chat with a proven account may also ask what it owes (/bill: the figures
come from storage, `CheckBill`) and switch its services on and off
(/services: bill information, payment reminders, meter-reading reminders).
An unverified chat gets no amounts, only how to add its account.

A proof is a few characters, so guessing is bounded where it cannot be
reset: at most `MAX_PROOF_FAILURES` wrong proofs per account in
`PROOF_WINDOW` across all chats (and SMS), and as many per chat. The
book keeps that count (`ProofBudget`); once it is spent the person is
told to call the utility, which can lift an account's lock.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import timedelta
from enum import StrEnum
from typing import Final, Protocol

__all__ = [
    "MAX_PROOF_FAILURES",
    "PROOF_WINDOW",
    "Account",
    "AccountBook",
    "Action",
    "ChatState",
    "CheckBill",
    "Link",
    "ProofBudget",
    "ProofFailed",
    "Reply",
    "SetService",
    "fold_proof",
    "proof_matches",
    "respond",
]

MAX_PROOF_FAILURES: Final = 5
"""Wrong proofs an account may take in `PROOF_WINDOW` across all chats, and a chat
may give; then self-service stops for it."""
PROOF_WINDOW: Final = timedelta(hours=24)


class Step(StrEnum):
    IDLE = "idle"
    ACCOUNT = "account"
    PROOF = "proof"
    READING = "reading"
    """Waiting for a meter reading's numbers (domain.reading_dialogue)."""


@dataclass(frozen=True)
class ChatState:
    step: Step = Step.IDLE
    language: str = "uk"
    pending: str | None = None
    attempts: int = 0

    def to_dict(self) -> dict[str, object]:
        return {
            "step": str(self.step),
            "language": self.language,
            "pending": self.pending,
            "attempts": self.attempts,
        }

    @classmethod
    def from_dict(cls, data: object) -> ChatState:
        """A stored state; anything unreadable starts the chat afresh."""
        if not isinstance(data, dict):
            return cls()
        try:
            return cls(
                Step(data.get("step", "idle")),
                str(data.get("language", "uk")),
                data.get("pending") if isinstance(data.get("pending"), str) else None,
                int(data.get("attempts", 0)),
            )
        except (ValueError, TypeError):
            return cls()


@dataclass(frozen=True)
class Account:
    number: str
    meter_numbers: frozenset[str]
    eic_tails: frozenset[str]
    addresses: tuple[str, ...]


@dataclass(frozen=True)
class ProofBudget:
    """How many wrong proofs this chat may still give for an account now (0: none,
    the account or the chat is locked), and the utility's number to call then."""

    left: int
    helpline: str


class AccountBook(Protocol):
    def find(self, number: str) -> Account | None: ...

    def budget(self, number: str) -> ProofBudget: ...


@dataclass(frozen=True)
class Link:
    account: str


@dataclass(frozen=True)
class Unlink:
    account: str


@dataclass(frozen=True)
class StopAll:
    pass


@dataclass(frozen=True)
class ProofFailed:
    """A wrong proof for `account`: the book must count it before the next one."""

    account: str


@dataclass(frozen=True)
class CheckBill:
    """/bill: storage answers with the figures of the chat's proven accounts (and
    records the check, also when there are none)."""


@dataclass(frozen=True)
class SetService:
    """/services N: every account of the chat opts in to (or out of) `service`."""

    service: str
    opted_in: bool


Action = Link | Unlink | StopAll | ProofFailed | CheckBill | SetService

SERVICES: Final = ("bill_info", "payment_reminder", "reading_reminder")
"""The services a chat switches, in the order /services lists them."""


@dataclass(frozen=True)
class Reply:
    state: ChatState
    texts: list[str] = field(default_factory=list)
    actions: list[Action] = field(default_factory=list)


LANGUAGES: Final = ("uk", "sl", "bg", "en")

_T: Final[dict[str, dict[str, str]]] = {
    "uk": {
        "welcome": (
            "Вітаємо! Команди: /add — додати рахунок, /list, /bill, /services, /remove N, "
            "/lang, /stop."
        ),
        "ask_account": "Введіть номер особового рахунку (9 цифр).",
        "bad_account": "Номер рахунку має 9 цифр. Спробуйте ще раз.",
        "ask_proof": "Підтвердіть: номер лічильника або останні 5 символів EIC-коду.",
        "linked": "Рахунок {n} додано. Адреса: {a}",
        "wrong_proof": "Дані не збігаються. Залишилось спроб: {k}.",
        "locked": "Забагато невдалих спроб. Щоб додати рахунок, зателефонуйте: {phone}.",
        "list": "Ваші рахунки:\n{items}",
        "none": "Рахунків ще немає. Додайте: /add.",
        "removed": "Рахунок {n} видалено.",
        "not_linked": "Рахунок {n} не додано до цього чату.",
        "lang": "Мову змінено.",
        "lang_ask": "Оберіть мову: /lang uk, /lang sl, /lang bg, /lang en.",
        "stopped": "Повідомлення вимкнено, рахунки відв'язано.",
        "help": "Не зрозуміло. Команди: /add, /list, /bill, /services, /remove N, /lang, /stop.",
        "bill_unverified": "Суму показуємо лише для підтвердженого рахунку. Додайте його: /add.",
        "services": "Ваші послуги:\n{items}\nЩоб змінити: /services N.",
        "bill_info": "інформація про рахунок",
        "payment_reminder": "нагадування про оплату",
        "reading_reminder": "нагадування про показники",
        "on": "увімкнено",
        "off": "вимкнено",
        "service_set": "{service}: {now}.",
    },
    "en": {
        "welcome": (
            "Welcome! Commands: /add an account, /list, /bill, /services, /remove N, /lang, /stop."
        ),
        "ask_account": "Enter your personal account number (9 digits).",
        "bad_account": "An account number has 9 digits. Please try again.",
        "ask_proof": "To confirm, enter the meter number or the last 5 characters of the EIC.",
        "linked": "Account {n} added. Address: {a}",
        "wrong_proof": "That does not match. Attempts left: {k}.",
        "locked": "Too many wrong answers. To add this account, please call {phone}.",
        "list": "Your accounts:\n{items}",
        "none": "No accounts yet. Add one with /add.",
        "removed": "Account {n} removed.",
        "not_linked": "Account {n} is not linked to this chat.",
        "lang": "Language changed.",
        "lang_ask": "Choose a language: /lang uk, /lang sl, /lang bg, /lang en.",
        "stopped": "Notices are off and your accounts are unlinked.",
        "help": (
            "Sorry, I did not understand. Commands: /add, /list, /bill, /services, /remove N, "
            "/lang, /stop."
        ),
        "bill_unverified": "Amounts are shown for a verified account only. Add yours: /add.",
        "services": "Your services:\n{items}\nTo switch one: /services N.",
        "bill_info": "bill information",
        "payment_reminder": "payment reminders",
        "reading_reminder": "meter-reading reminders",
        "on": "on",
        "off": "off",
        "service_set": "{service}: {now}.",
    },
}
_T["sl"] = {
    "welcome": (
        "Pozdravljeni! Ukazi: /add doda račun, /list, /bill, /services, /remove N, /lang, /stop."
    ),
    "ask_account": "Vpišite številko odjemalca.",
    "bad_account": "Številka ni pravilna. Poskusite znova.",
    "ask_proof": "Za potrditev vpišite številko števca ali zadnjih 5 znakov EIC.",
    "linked": "Račun {n} je dodan. Naslov: {a}",
    "wrong_proof": "Podatki se ne ujemajo. Preostali poskusi: {k}.",
    "locked": "Preveč napačnih odgovorov. Za dodajanje računa pokličite {phone}.",
    "list": "Vaši računi:\n{items}",
    "none": "Še nimate računov. Dodajte ga z /add.",
    "removed": "Račun {n} je odstranjen.",
    "not_linked": "Račun {n} ni povezan s tem klepetom.",
    "lang": "Jezik je spremenjen.",
    "lang_ask": "Izberite jezik: /lang sl, /lang uk, /lang bg, /lang en.",
    "stopped": "Obvestila so izklopljena, računi odstranjeni.",
    "help": "Ne razumem. Ukazi: /add, /list, /bill, /services, /remove N, /lang, /stop.",
    "bill_unverified": "Znesek pokažemo le za potrjen račun. Dodajte ga: /add.",
    "services": "Vaše storitve:\n{items}\nZa spremembo: /services N.",
    "bill_info": "obvestila o računu",
    "payment_reminder": "opomniki za plačilo",
    "reading_reminder": "opomniki za stanje števca",
    "on": "vklopljeno",
    "off": "izklopljeno",
    "service_set": "{service}: {now}.",
}
_T["bg"] = {
    "welcome": (
        "Здравейте! Команди: /add добавя клиентски номер, /list, /bill, /services, /remove N, "
        "/lang, /stop."
    ),
    "ask_account": "Въведете клиентския си номер.",
    "bad_account": "Номерът не е правилен. Опитайте отново.",
    "ask_proof": "За потвърждение въведете номера на електромера или последните 5 знака на EIC.",
    "linked": "Клиентски номер {n} е добавен. Адрес: {a}",
    "wrong_proof": "Данните не съвпадат. Оставащи опити: {k}.",
    "locked": "Твърде много грешни отговори. За да добавите номера, обадете се на {phone}.",
    "list": "Вашите номера:\n{items}",
    "none": "Няма добавени номера. Добавете с /add.",
    "removed": "Клиентски номер {n} е премахнат.",
    "not_linked": "Номер {n} не е свързан с този чат.",
    "lang": "Езикът е сменен.",
    "lang_ask": "Изберете език: /lang bg, /lang uk, /lang sl, /lang en.",
    "stopped": "Известията са изключени, номерата са премахнати.",
    "help": "Не разбрах. Команди: /add, /list, /bill, /services, /remove N, /lang, /stop.",
    "bill_unverified": "Сумата се показва само за потвърден номер. Добавете го: /add.",
    "services": "Вашите услуги:\n{items}\nЗа промяна: /services N.",
    "bill_info": "информация за сметката",
    "payment_reminder": "напомняне за плащане",
    "reading_reminder": "напомняне за показания",
    "on": "включено",
    "off": "изключено",
    "service_set": "{service}: {now}.",
}

_ACCOUNT: Final = re.compile(r"[0-9]{5,12}")  # UA 9 digits, SI 5–10, BG 12


def _say(state: ChatState, key: str, **values: object) -> str:
    return _T.get(state.language, _T["en"])[key].format(**values)


# Cyrillic letters that look Latin, as phones mix them up in meter numbers.
_LOOKALIKES: Final = str.maketrans(
    {"А": "A", "В": "B", "Е": "E", "К": "K", "М": "M", "Н": "H", "О": "O", "Р": "P"}
    | {"С": "C", "Т": "T", "Х": "X", "І": "I", "У": "Y"}
)


def fold_proof(text: str) -> str:
    """A proof as compared: case, look-alike letters, spaces and dashes do not matter."""
    folded = unicodedata.normalize("NFKC", text).upper().translate(_LOOKALIKES)
    return "".join(c for c in folded if c.isalnum())


def proof_matches(account: Account, text: str) -> bool:
    """Whether `text` is the account's meter number or the last 5 characters of its EIC."""
    proof = fold_proof(text)
    known = {fold_proof(m) for m in account.meter_numbers} | {
        fold_proof(t) for t in account.eic_tails
    }
    return bool(proof) and proof in known


def _locked(state: ChatState, budget: ProofBudget, *actions: Action) -> Reply:
    return Reply(
        ChatState(language=state.language),
        [_say(state, "locked", phone=budget.helpline)],
        list(actions),
    )


def _services(
    state: ChatState, words: list[str], linked: Sequence[Account], services: Mapping[str, bool]
) -> Reply:
    """/services lists the chat's services; /services N switches the N-th."""
    if not linked:
        return Reply(state, [_say(state, "none")])
    chosen = words[1] if len(words) > 1 else ""
    if chosen.isdigit() and 1 <= int(chosen) <= len(SERVICES):
        service = SERVICES[int(chosen) - 1]
        on = not services.get(service, False)
        text = _say(
            state,
            "service_set",
            service=_say(state, service),
            now=_say(state, "on" if on else "off"),
        )
        return Reply(state, [text], [SetService(service, on)])
    items = "\n".join(
        f"{i}. {_say(state, service)}: {_say(state, 'on' if services.get(service) else 'off')}"
        for i, service in enumerate(SERVICES, 1)
    )
    return Reply(state, [_say(state, "services", items=items)])


def respond(
    state: ChatState,
    text: str,
    book: AccountBook,
    linked: Sequence[Account],
    services: Mapping[str, bool] | None = None,
) -> Reply:
    """The bot's answer to one message in a chat with `linked` accounts, whose
    `services` (every linked account's contact opted in) are on."""
    words = text.strip().split()
    command = words[0].lower().split("@")[0] if words and words[0].startswith("/") else None
    if command == "/start":
        return Reply(ChatState(language=state.language), [_say(state, "welcome")])
    if command == "/add":
        return Reply(
            replace(state, step=Step.ACCOUNT, pending=None, attempts=0),
            [_say(state, "ask_account")],
        )
    if command == "/list":
        if not linked:
            return Reply(state, [_say(state, "none")])
        items = "\n".join(
            f"{i}. {a.number}: {'; '.join(a.addresses)}" for i, a in enumerate(linked, 1)
        )
        return Reply(state, [_say(state, "list", items=items)])
    if command == "/remove":
        target = words[1] if len(words) > 1 else ""
        chosen = next(
            (a for i, a in enumerate(linked, 1) if target in (str(i), a.number)),
            None,
        )
        if chosen is None:
            return Reply(state, [_say(state, "not_linked", n=target or "?")])
        return Reply(state, [_say(state, "removed", n=chosen.number)], [Unlink(chosen.number)])
    if command == "/bill":
        if not linked:
            return Reply(state, [_say(state, "bill_unverified")], [CheckBill()])
        return Reply(state, [], [CheckBill()])
    if command == "/services":
        return _services(state, words, linked, services or {})
    if command == "/lang":
        if len(words) > 1 and words[1].lower() in LANGUAGES:
            new = replace(state, language=words[1].lower())
            return Reply(new, [_say(new, "lang")])
        return Reply(state, [_say(state, "lang_ask")])
    if command == "/stop":
        return Reply(ChatState(language=state.language), [_say(state, "stopped")], [StopAll()])
    if state.step is Step.ACCOUNT:
        number = text.strip().replace(" ", "")
        if not _ACCOUNT.fullmatch(number):
            return Reply(state, [_say(state, "bad_account")])
        budget = book.budget(number)
        if budget.left <= 0:
            return _locked(state, budget)
        # Whether the account exists is not revealed before the proof.
        return Reply(
            replace(state, step=Step.PROOF, pending=number, attempts=0), [_say(state, "ask_proof")]
        )
    if state.step is Step.PROOF and state.pending is not None:
        # The count lives in the book, not in this state: /add or a new chat resets nothing.
        budget = book.budget(state.pending)
        if budget.left <= 0:
            return _locked(state, budget)
        account = book.find(state.pending)
        if account is not None and proof_matches(account, text):
            done = replace(state, step=Step.IDLE, pending=None, attempts=0)
            return Reply(
                done,
                [_say(state, "linked", n=account.number, a="; ".join(account.addresses))],
                [Link(account.number)],
            )
        failed = ProofFailed(state.pending)
        left = budget.left - 1
        if left <= 0:
            return _locked(state, budget, failed)
        return Reply(
            replace(state, attempts=state.attempts + 1),
            [_say(state, "wrong_proof", k=left)],
            [failed],
        )
    return Reply(state, [_say(state, "help")])
