"""A modal for drafting a campaign: utility, kind, days overdue, channels, due time.

It only turns the typed text into a `CampaignDraft` (a number, a list, a local
time); whether the draft is allowed (days at least 1, a channel, not in the
past) is storage's to say, so the screen shows its refusal word for word.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Select

from dispatch_tui.domain.campaign import KIND_NAMES, CampaignDraft, CampaignKind
from dispatch_tui.domain.timeparse import FORMAT_HINT, format_local, parse_local
from dispatch_tui.storage.tree import UtilityRow


class CampaignDraftDialog(ModalScreen[CampaignDraft | None]):
    """None when cancelled."""

    DEFAULT_CSS = """
    CampaignDraftDialog { align: center middle; }
    CampaignDraftDialog > Vertical {
        width: 72;
        height: auto;
        max-height: 100%;
        border: thick $primary;
        padding: 0 2;
        background: $surface;
    }
    CampaignDraftDialog Horizontal { height: auto; }
    CampaignDraftDialog Horizontal Label { width: 16; padding-top: 1; }
    CampaignDraftDialog Horizontal Input, CampaignDraftDialog Horizontal Select { width: 1fr; }
    CampaignDraftDialog #error { color: $error; height: auto; }
    CampaignDraftDialog #buttons { align-horizontal: right; }
    CampaignDraftDialog Button { margin-left: 2; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(
        self,
        utilities: Sequence[UtilityRow],
        *,
        now: datetime | None = None,
        reading_due: Mapping[int, datetime] | None = None,
    ) -> None:
        """`reading_due`: when each utility's next reading window opens, the due time
        a meter-reading reminder is given when that kind is chosen."""
        super().__init__()
        self.utilities = list(utilities)
        self.now = now or datetime.now(UTC)
        self.reading_due = dict(reading_due or {})

    def compose(self) -> ComposeResult:
        first = self.utilities[0] if self.utilities else None
        due = format_local(self.now + timedelta(minutes=15), first.timezone) if first else ""
        with Vertical():
            with Horizontal():
                yield Label("Utility")
                yield Select(
                    [(f"{u.code} {u.name}", u.id) for u in self.utilities],
                    value=first.id if first else Select.BLANK,
                    allow_blank=False,
                    id="utility",
                )
            with Horizontal():
                yield Label("Kind")
                yield Select(
                    [(KIND_NAMES[k], k.value) for k in CampaignKind],
                    value=CampaignKind.PAYMENT_REMINDER.value,
                    allow_blank=False,
                    id="kind",
                )
            with Horizontal():
                yield Label("Days overdue")
                yield Input("10", id="days", placeholder="payment reminders: at least 1")
            with Horizontal():
                yield Label("Channels")
                yield Input("sms", id="channels", placeholder="sms, email, telegram, viber")
            with Horizontal():
                yield Label("Due (local)")
                yield Input(due, id="due", placeholder=FORMAT_HINT)
            yield Label("", id="error")
            with Horizontal(id="buttons"):
                yield Button("Cancel", id="cancel")
                yield Button("Draft", id="ok", variant="primary")

    def _timezone(self, utility_id: object) -> str:
        return next((u.timezone for u in self.utilities if u.id == utility_id), "UTC")

    def on_mount(self) -> None:
        self._shown_zone = self._timezone(self.query_one("#utility", Select).value)

    def on_select_changed(self, event: Select.Changed) -> None:
        """Another utility: the due time keeps its moment, written in the new one's zone;
        a meter-reading reminder (chosen or kept) is due as that utility's window opens."""
        utility_id = self.query_one("#utility", Select).value
        zone = self._timezone(utility_id)
        due = self.query_one("#due", Input)
        reading = self.query_one("#kind", Select).value == CampaignKind.READING_REMINDER.value
        if reading and isinstance(utility_id, int) and utility_id in self.reading_due:
            due.value = format_local(self.reading_due[utility_id], zone)
        elif event.select.id == "utility":
            with contextlib.suppress(ValueError):  # what was typed stays, refused when drafting
                due.value = format_local(parse_local(due.value, self._shown_zone), zone)
        self._shown_zone = zone

    def draft(self) -> CampaignDraft:
        """The form as a draft; ValueError names the field that will not do."""
        utility_id = self.query_one("#utility", Select).value
        kind = str(self.query_one("#kind", Select).value)
        if not isinstance(utility_id, int):
            raise ValueError("utility: choose one")
        days_text = self.query_one("#days", Input).value.strip()
        days: int | None = None
        if kind == CampaignKind.PAYMENT_REMINDER:
            try:
                days = int(days_text)
            except ValueError:
                raise ValueError(f"days overdue: '{days_text}' is not a whole number") from None
        channels = tuple(
            c.strip().lower()
            for c in self.query_one("#channels", Input).value.replace(",", " ").split()
        )
        try:
            due = parse_local(self.query_one("#due", Input).value, self._timezone(utility_id))
        except ValueError as exc:
            raise ValueError(f"due: {exc}") from None
        return CampaignDraft(utility_id, kind, channels, due, days)

    def _submit(self) -> None:
        try:
            self.dismiss(self.draft())
        except ValueError as exc:
            self.query_one("#error", Label).update(str(exc))

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "ok":
            self._submit()
        else:
            self.dismiss(None)

    def on_input_submitted(self) -> None:
        self._submit()

    def action_cancel(self) -> None:
        self.dismiss(None)
