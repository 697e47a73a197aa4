"""Drafting an outage: what, why, when, how customers are told.

The form only collects and checks what a person typed; saving, submitting
and the preview go through `storage` in workers. Times are typed in the
utility's local time and stored in UTC.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from decimal import Decimal
from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import Button, Header, Input, Label, Static

from dispatch_tui.dialogs.confirm import ConfirmDialog
from dispatch_tui.domain.draft import CHANNELS, NOTICE_KINDS, OutageDraft
from dispatch_tui.domain.languages import LANGUAGE_NAMES, LANGUAGES
from dispatch_tui.domain.selection import Selection
from dispatch_tui.domain.timeparse import FORMAT_HINT, format_local, parse_local
from dispatch_tui.storage import outage_lifecycle, outages
from dispatch_tui.storage.preview import Affected, build_preview, gather_affected
from dispatch_tui.storage.tree import list_utilities
from dispatch_tui.widgets.app_access import AppAccess
from dispatch_tui.widgets.check import Check
from dispatch_tui.widgets.footer import KeyFooter
from dispatch_tui.widgets.worker_errors import ReportsWorkerErrors

KIND_LABELS = {
    "advance": "5 days before",
    "day_before": "1 day before",
    "day_of": "on the day, 07:00",
}


class OutageFormScreen(AppAccess, ReportsWorkerErrors, Screen[int | None]):
    """Dismisses with the outage id once saved (None when abandoned)."""

    CSS_PATH = "outage_form.tcss"
    BINDING_GROUP_TITLE = "Draft"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "save", "Save draft", id="draft.save"),
        Binding("f6", "preview", "Preview", id="draft.preview"),
        Binding("f7", "submit", "Save & submit", id="draft.submit"),
        Binding("escape", "abandon", "Back", id="draft.back"),
    ]

    def __init__(
        self,
        utility_id: int,
        selection: Selection,
        *,
        outage_id: int | None = None,
        existing: outages.OutageRow | None = None,
    ) -> None:
        super().__init__()
        self.utility_id = utility_id
        self.selection = selection
        self.outage_id = outage_id
        self.existing = existing
        self.timezone = "UTC"
        self._affected: Affected | None = None
        self._affected_ready = threading.Event()
        self._baseline: tuple[object, ...] = ()

    def compose(self) -> ComposeResult:
        yield Header()
        with VerticalScroll(id="form"):
            yield Label("", id="utility")
            yield Static("", id="errors")
            yield Label("Title", classes="field")
            yield Input(
                placeholder="Replacing transformer TP Stražišče 3", id="title", max_length=200
            )
            yield Label("Reason customers will read", classes="field", id="reason-label")
            yield Input(placeholder="maintenance of the network", id="reason", max_length=2000)
            yield Label(
                "The reason in other languages (else theirs carries the one above)",
                classes="field",
            )
            for language in LANGUAGES:
                yield Input(
                    placeholder=f"reason: {LANGUAGE_NAMES[language]}",
                    id=f"reason-{language}",
                    max_length=2000,
                    classes="reason-other",
                )
            with Horizontal(classes="row"):
                with Vertical():
                    yield Label(f"Start ({FORMAT_HINT}, local)", classes="field", id="start-label")
                    yield Input(placeholder=FORMAT_HINT, id="start")
                with Vertical():
                    yield Label(f"Expected end ({FORMAT_HINT})", classes="field")
                    yield Input(placeholder=FORMAT_HINT, id="end")
            yield Check("Urgent (ignores quiet hours)", id="urgent")
            yield Label("Channels", classes="field")
            with Horizontal(classes="row checks"):
                for channel in CHANNELS:
                    yield Check(channel, True, id=f"channel-{channel}")
            yield Label("Notice plan", classes="field")
            with Horizontal(classes="row checks"):
                for kind in NOTICE_KINDS:
                    yield Check(KIND_LABELS[kind], True, id=f"kind-{kind}")
            yield Check("Transliterate SMS to GSM-7 (cheaper)", id="transliterate")
            yield Label("Extra text per language (optional)", classes="field")
            for language in LANGUAGES:
                yield Input(placeholder=LANGUAGE_NAMES[language], id=f"text-{language}")
            with Horizontal(classes="row buttons"):
                yield Button("Preview (F6)", id="preview")
                yield Button("Save draft (Ctrl+S)", id="save", variant="primary")
                yield Button("Save & submit (F7)", id="submit", variant="success")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.query_one("#title", Input).focus()
        self._baseline = self._values()
        self.load_utility()
        self.prefetch()

    def _values(self) -> tuple[object, ...]:
        """Everything typed or ticked, to tell whether leaving would lose work."""
        typed = [i.value for i in self.query("#form Input").results(Input)]
        ticked = [c.value for c in self.query("#form Check").results(Check)]
        return (*typed, *ticked)

    def has_unsaved_changes(self) -> bool:
        return self._values() != self._baseline

    @work(thread=True, exit_on_error=False, group="form-prefetch")
    def prefetch(self) -> None:
        """Count the affected while the operator types: the preview then only
        renders texts (the selection cannot change inside the form)."""
        try:
            self._affected = gather_affected(self.dispatch.engine, self.selection)
        finally:
            self._affected_ready.set()

    @work(thread=True, exit_on_error=False, group="form")
    def load_utility(self) -> None:
        with self.dispatch.engine.connect() as conn:
            utility = next(u for u in list_utilities(conn) if u.id == self.utility_id)
        self.app.call_from_thread(
            self._show_utility, utility.name, utility.timezone, utility.language
        )

    def _show_utility(self, name: str, timezone: str, language: str) -> None:
        self.timezone = timezone
        self.query_one("#utility", Label).update(f"[b]{name}[/b] — times in {timezone}")
        # The reason above is the utility's language's; the others get a field each.
        self.query_one(f"#reason-{language}", Input).display = False
        self.query_one("#reason-label", Label).update(
            f"Reason customers will read ({LANGUAGE_NAMES.get(language, language)})"
        )
        if self.existing is not None:
            self._fill(self.existing)

    def _fill(self, row: outages.OutageRow) -> None:
        self.query_one("#title", Input).value = row.title
        self.query_one("#reason", Input).value = row.reason
        self.query_one("#start", Input).value = format_local(row.starts_at, self.timezone)
        self.query_one("#end", Input).value = format_local(row.ends_at, self.timezone)
        self.query_one("#urgent", Check).value = row.urgent
        self.query_one("#transliterate", Check).value = row.transliterate
        for channel in CHANNELS:
            self.query_one(f"#channel-{channel}", Check).value = channel in row.channels
        for kind in NOTICE_KINDS:
            self.query_one(f"#kind-{kind}", Check).value = kind in row.notice_kinds
        for language in LANGUAGES:
            self.query_one(f"#text-{language}", Input).value = row.texts.get(language, "")
            self.query_one(f"#reason-{language}", Input).value = row.reasons.get(language, "")
        self._baseline = self._values()

    def _draft(self) -> OutageDraft | None:
        """The form as a draft, or None after showing what is wrong."""
        problems: list[str] = []
        times: dict[str, datetime] = {}
        for field_id, name in (("start", "start"), ("end", "end")):
            try:
                times[field_id] = parse_local(
                    self.query_one(f"#{field_id}", Input).value, self.timezone
                )
            except ValueError as exc:
                problems.append(f"{name}: {exc}")
        title = self.query_one("#title", Input).value.strip()
        reason = self.query_one("#reason", Input).value.strip()
        if not title:
            problems.append("give a title")
        if not reason:
            problems.append("give the reason customers will read")
        channels = tuple(c for c in CHANNELS if self.query_one(f"#channel-{c}", Check).value)
        if not channels:
            problems.append("choose at least one channel")
        if self.selection.is_empty:
            problems.append("the selection is empty: pick nodes in the network first")
        now = datetime.now(UTC)
        if "start" in times and times["start"] <= now:
            problems.append("start: must be in the future")
        if "start" in times and "end" in times and times["end"] <= times["start"]:
            problems.append("end: must be after the start")
        errors = self.query_one("#errors", Static)
        errors.update("\n".join(f"✗ {p}" for p in problems))
        if problems:
            self.query_one("#form").scroll_home(animate=False)
            return None
        return OutageDraft(
            utility_id=self.utility_id,
            title=title,
            reason=reason,
            starts_at=times["start"],
            ends_at=times["end"],
            selection=self.selection,
            urgent=self.query_one("#urgent", Check).value,
            channels=channels,
            notice_kinds=tuple(
                k for k in NOTICE_KINDS if self.query_one(f"#kind-{k}", Check).value
            ),
            transliterate=self.query_one("#transliterate", Check).value,
            texts={lang: self.query_one(f"#text-{lang}", Input).value for lang in LANGUAGES},
            reasons={
                lang: field.value.strip()
                for lang in LANGUAGES
                if (field := self.query_one(f"#reason-{lang}", Input)).display
                and field.value.strip()
            },
        )

    @on(Button.Pressed, "#preview")
    def action_preview(self) -> None:
        draft = self._draft()
        if draft is not None:
            self.build(draft)

    @work(thread=True, exclusive=True, exit_on_error=False, group="form-preview")
    def build(self, draft: OutageDraft) -> None:
        from dispatch_tui.screens.preview import PreviewScreen

        settings = self.dispatch.settings
        self._affected_ready.wait(timeout=60)
        with self.dispatch.engine.connect() as conn:
            preview = build_preview(
                conn,
                draft,
                now=datetime.now(UTC),
                affected=self._affected,
                outage_id=self.outage_id,
                max_sms_segments=settings.sms_max_segments,
                price_per_segment=Decimal(str(settings.sms_price_per_segment)),
                currency=settings.sms_currency,
            )
        self.app.call_from_thread(self.app.push_screen, PreviewScreen(draft.title, preview))

    @on(Button.Pressed, "#save")
    def action_save(self) -> None:
        draft = self._draft()
        if draft is not None:
            self.persist(draft, submit=False)

    @on(Button.Pressed, "#submit")
    def action_submit(self) -> None:
        draft = self._draft()
        if draft is not None:
            self.persist(draft, submit=True)

    @work(thread=True, exclusive=True, exit_on_error=False, group="form-save")
    def persist(self, draft: OutageDraft, submit: bool) -> None:
        engine = self.dispatch.engine
        actor = self.dispatch.identity.login
        try:
            if self.outage_id is None:
                self.outage_id = outage_lifecycle.create_draft(engine, draft, actor=actor)
            else:
                outage_lifecycle.update_draft(engine, self.outage_id, draft, actor=actor)
            if submit:
                outage_lifecycle.submit(engine, self.outage_id, actor=actor)
        except outages.OutageError as exc:
            self.app.call_from_thread(self._refused, str(exc))
            return
        self.app.call_from_thread(self._saved, submit)

    def _refused(self, message: str) -> None:
        self.query_one("#errors", Static).update(f"✗ {message}")
        self.notify(message, title="Not saved", severity="error")

    def _saved(self, submitted: bool) -> None:
        what = "submitted for approval" if submitted else "saved as a draft"
        self.notify(f"Outage #{self.outage_id} {what}.", title="Saved")
        self._baseline = self._values()
        self.dismiss(self.outage_id)

    def action_abandon(self) -> None:
        """Leave the form; typed work is only thrown away when the operator says so."""
        if not self.has_unsaved_changes():
            self.dismiss(self.outage_id)
            return

        def answered(discard: bool | None) -> None:
            if discard:
                self.dismiss(self.outage_id)

        self.app.push_screen(
            ConfirmDialog(
                "Discard what you typed in this draft?", yes="Discard", no="Keep editing"
            ),
            answered,
        )
