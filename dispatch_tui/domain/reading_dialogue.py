"""The bots' "send meter reading" (seed 003: choose it in the menu, then follow the
prompts): `/reading` in a chat that has verified an account asks for the numbers
and hands them to storage.readings, which answers. A chat with several accounts
names one (`/reading 2` or `/reading <account or metering point id>`); the
numbers may also come at once (`/reading 123456789 12345`). A chat that has
verified nothing is told to do that first.

Pure like domain.bot_dialogue, whose chat state it shares (step "reading").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Final

from dispatch_tui.domain.bot_dialogue import Account, ChatState, Step

__all__ = ["COMMAND", "ReadingTurn", "Submit", "respond"]

COMMAND: Final = "/reading"
_ALIASES: Final = frozenset({"/reading", "/pokaz", "/покази", "/показ"})

_T: Final[dict[str, dict[str, str]]] = {
    "uk": {
        "ask": "Надішліть показ лічильника для {n}, напр. 12345 (день і ніч: 4512 1230).",
        "choose": "Оберіть рахунок: /reading N\n{items}",
        "verify": "Спершу підтвердіть рахунок: /add. Покази приймаються лише від підтверджених.",
    },
    "en": {
        "ask": "Send the meter reading for {n}, like 12345 (day and night: 4512 1230).",
        "choose": "Choose the account: /reading N\n{items}",
        "verify": "Please verify your account first with /add: only verified chats send readings.",
    },
    "sl": {
        "ask": "Pošljite stanje števca za {n}, npr. 12345 (VT in MT: 4512 1230).",
        "choose": "Izberite račun: /reading N\n{items}",
        "verify": "Najprej potrdite račun z /add: stanja sprejemamo le od potrjenih.",
    },
    "bg": {
        "ask": "Изпратете показанието за {n}, напр. 12345 (дневно и нощно: 4512 1230).",
        "choose": "Изберете номер: /reading N\n{items}",
        "verify": "Първо потвърдете номера си с /add: приемаме показания само от потвърдени.",
    },
}


@dataclass(frozen=True)
class Submit:
    """Take `values` as the reading of `identifier` (an account or metering point id)."""

    identifier: str
    values: str


@dataclass(frozen=True)
class ReadingTurn:
    state: ChatState
    texts: tuple[str, ...] = ()
    submit: Submit | None = None


def _say(state: ChatState, key: str, **values: object) -> str:
    return _T.get(state.language, _T["en"])[key].format(**values)


def _idle(state: ChatState) -> ChatState:
    return replace(state, step=Step.IDLE, pending=None, attempts=0)


def respond(state: ChatState, text: str, linked: Sequence[Account]) -> ReadingTurn | None:
    """The turn when the message is about a reading, else None (domain.bot_dialogue's)."""
    words = text.strip().split()
    command = words[0].lower().split("@")[0] if words and words[0].startswith("/") else None
    if command is None:
        if state.step is Step.READING and state.pending is not None:
            return ReadingTurn(_idle(state), submit=Submit(state.pending, text.strip()))
        return None
    if command not in _ALIASES:
        return None
    if not linked:
        return ReadingTurn(_idle(state), (_say(state, "verify"),))
    target = words[1] if len(words) > 1 else ""
    if len(words) > 2:
        chosen = next((a.number for i, a in enumerate(linked, 1) if target == str(i)), target)
        return ReadingTurn(_idle(state), submit=Submit(chosen, " ".join(words[2:])))
    if not target and len(linked) > 1:
        items = "\n".join(f"{i}. {a.number}" for i, a in enumerate(linked, 1))
        return ReadingTurn(_idle(state), (_say(state, "choose", items=items),))
    chosen = next(
        (a.number for i, a in enumerate(linked, 1) if target in (str(i), a.number)),
        target or linked[0].number,
    )
    asking = replace(state, step=Step.READING, pending=chosen, attempts=0)
    return ReadingTurn(asking, (_say(state, "ask", n=chosen),))
