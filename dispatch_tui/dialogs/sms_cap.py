"""Approving an outage whose SMS is over `sms.max_segments`: the approver says how.

Returns the approver's `SmsChoice` (transliterate, and/or accept so many
segments), or None for "back". Storage checks the choice again in the
approving transaction; this dialog only asks.
"""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Label

from dispatch_tui.storage.outage_lifecycle import SmsChoice
from dispatch_tui.storage.preview import OverCap


def _sizes(over: list[OverCap]) -> str:
    return ", ".join(f"{o.language} {o.segments}" for o in over)


class SmsCapDialog(ModalScreen[SmsChoice | None]):
    """`t` sends the SMS transliterated (accepting what still does not fit), `x`
    accepts the segments as they are; Escape goes back without approving."""

    DEFAULT_CSS = """
    SmsCapDialog { align: center middle; }
    SmsCapDialog > Vertical {
        width: 72;
        height: auto;
        max-height: 100%;
        border: thick $error;
        padding: 1 2;
        background: $surface;
    }
    SmsCapDialog #question { width: 1fr; }
    SmsCapDialog Horizontal { height: auto; margin-top: 1; align-horizontal: right; }
    SmsCapDialog Button { margin-left: 1; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "choose('back')", "Back"),
        Binding("t", "choose('transliterate')", "Transliterate"),
        Binding("x", "choose('accept')", "Accept the cost"),
    ]

    def __init__(
        self, question: str, over: list[OverCap], transliterated: list[OverCap] | None
    ) -> None:
        """`over`: the languages over the cap as the outage stands; `transliterated`:
        the same sent in GSM-7 (None when it already is)."""
        super().__init__()
        self.over = over
        self.transliterated = transliterated
        cap = over[0].cap
        lines = [question, "", f"Over the cap of {cap} segments: {_sizes(over)}."]
        if transliterated is None:
            lines.append("The SMS is transliterated already.")
        elif transliterated:
            lines.append(f"Transliterated to GSM-7 still: {_sizes(transliterated)}.")
        else:
            lines.append(f"Transliterated to GSM-7 it fits {cap} segments.")
        self.question = "\n".join(lines)

    def choices(self) -> dict[str, tuple[str, SmsChoice]]:
        """Button id → (label, choice)."""
        found: dict[str, tuple[str, SmsChoice]] = {}
        if self.transliterated is not None:
            worst = max((o.segments for o in self.transliterated), default=None)
            label = "Transliterate (t)" if worst is None else f"Transliterate, {worst} parts (t)"
            found["transliterate"] = (label, SmsChoice(transliterate=True, accept_segments=worst))
        worst = max(o.segments for o in self.over)
        found["accept"] = (f"Accept {worst} parts (x)", SmsChoice(accept_segments=worst))
        return found

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(self.question, id="question")
            with Horizontal():
                yield Button("Back", id="back")
                for key, (label, _choice) in self.choices().items():
                    yield Button(label, id=key, variant="warning")

    def on_mount(self) -> None:
        self.query_one("#back", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.action_choose(event.button.id or "back")

    def action_choose(self, key: str) -> None:
        choice = self.choices().get(key)
        if choice is not None:
            self.dismiss(choice[1])
        elif key == "back":
            self.dismiss(None)
