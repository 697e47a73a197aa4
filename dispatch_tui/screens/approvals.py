"""Approvals: a shift lead reads what an outage will send, then approves or
rejects it (four-eyes).

The screen never decides who may approve: storage re-checks role and
authorship in the same transaction that writes, and its refusal is shown
word for word. The screen only hides keys a role can never use.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import ClassVar
from zoneinfo import ZoneInfo

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.css.query import NoMatches
from textual.screen import Screen
from textual.widgets import DataTable, Header, Static
from textual.worker import Worker, WorkerState, get_current_worker

from dispatch_tui.dialogs.confirm import ConfirmDialog
from dispatch_tui.dialogs.reason import ReasonDialog
from dispatch_tui.dialogs.sms_cap import SmsCapDialog
from dispatch_tui.domain.draft import content_digest
from dispatch_tui.domain.roles import Action
from dispatch_tui.screens.priority import PriorityScreen
from dispatch_tui.storage.amendment_review import AmendmentReview, amendment_review
from dispatch_tui.storage.changes import OUTAGES
from dispatch_tui.storage.outage_lifecycle import SmsChoice, approve, reject
from dispatch_tui.storage.outages import (
    OutageDetail,
    OutageError,
    OutageRow,
    get_outage,
    pending_approvals,
)
from dispatch_tui.storage.preview import (
    OverCap,
    Preview,
    build_preview,
    gather_affected,
    sms_over_cap,
)
from dispatch_tui.storage.priority import uncalled_count
from dispatch_tui.widgets.app_access import AppAccess
from dispatch_tui.widgets.footer import KeyFooter
from dispatch_tui.widgets.formatting import clip, format_window
from dispatch_tui.widgets.preview_panel import PreviewPanel, channel_label
from dispatch_tui.widgets.table_rows import fill_rows
from dispatch_tui.widgets.worker_errors import ReportsWorkerErrors

PREVIEW_GROUP = "approvals-preview"
ENTRY_WIDTH = 30


def utc_now() -> datetime:
    return datetime.now(UTC)


def list_entry(row: OutageRow, me: str) -> Text:
    """Two short lines, so the list fits a third of an 80-column terminal; an amendment
    says so first."""
    start = row.starts_at.astimezone(ZoneInfo(row.timezone)).strftime("%Y-%m-%d %H:%M")
    author = f"{row.created_by} (you)" if row.created_by == me else row.created_by
    title = f"AMENDED {row.title}" if row.amended_by else row.title
    return Text.assemble(
        (clip(title, ENTRY_WIDTH), "bold"),
        "\n",
        clip(f"{start} · {author}", ENTRY_WIDTH),
        no_wrap=True,
    )


def outage_summary(row: OutageRow, me: str) -> Content:
    """Who asks for what: the facts an approver checks before the preview."""
    author = f"{row.created_by} (you)" if row.created_by == me else row.created_by
    amended = f", amended by {row.amended_by}" if row.amended_by else ""
    channels = ", ".join(channel_label(c) for c in row.channels)
    window = format_window(row.starts_at, row.ends_at, row.timezone, weekday=True)
    return Content("\n").join(
        [
            Content.assemble(
                (f"#{row.id} {row.title}", "bold"),
                f"  (revision {row.revision})",
                ("  URGENT" if row.urgent else "", "bold reverse"),
            ),
            f"{row.utility_name} · {window}",
            f"Drafted by {author}{amended} · {channels}",
            f"Reason: {row.reason}",
            *(f"Reason ({lang}): {text}" for lang, text in sorted(row.reasons.items())),
        ]
    )


class ApprovalsScreen(AppAccess, ReportsWorkerErrors, Screen[None]):
    """Pending outages on the left, the highlighted one's preview on the right."""

    CSS_PATH = "approvals.tcss"
    BINDING_GROUP_TITLE = "Approvals"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "a",
            "approve",
            "Approve",
            id="approvals.approve",
            tooltip="Approve the highlighted outage; its notices are then scheduled",
        ),
        Binding(
            "r",
            "reject",
            "Reject",
            id="approvals.reject",
            tooltip="Send the highlighted outage back to its author with a reason",
        ),
        Binding(
            "p",
            "priority",
            "Priority customers",
            id="approvals.priority",
            tooltip="Who to call among the highlighted outage's priority customers",
        ),
        Binding(
            "ctrl+r",
            "refresh",
            "Refresh",
            id="approvals.refresh",
            tooltip="Reload the outages waiting for approval",
        ),
    ]

    def __init__(
        self,
        *,
        now: Callable[[], datetime] = utc_now,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        """`now` is the preview's clock (the schedule depends on it); tests fix it."""
        super().__init__(name=name, id=id, classes=classes)
        self.now = now
        self.rows: dict[int, OutageRow] = {}
        self._listed: list[tuple[int, datetime]] | None = None
        self._previewing: tuple[int, datetime] | None = None
        # What the approver was shown: (outage id, revision, warnings). Approval
        # names exactly this, so storage refuses if the outage changed since.
        self._shown: tuple[int, int, str, tuple[str, ...]] | None = None
        self._review: AmendmentReview | None = None
        # The SMS over the cap as shown, and transliterated (None: it is already).
        self._over_cap: tuple[list[OverCap], list[OverCap] | None] = ([], None)

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal():
            yield DataTable(id="pending", cursor_type="row", zebra_stripes=True, show_header=False)
            with Vertical(id="detail"):
                yield Static(id="outage")
                yield PreviewPanel(id="preview")
        yield KeyFooter()

    def on_mount(self) -> None:
        table = self.query_one("#pending", DataTable)
        table.border_title = "Waiting for approval"
        table.add_column("Outage", key="outage")
        self.query_one(PreviewPanel).show_message("Loading the outages waiting for approval…")
        table.focus()
        self.dispatch.changes.follow(self, frozenset({OUTAGES}), self.load_pending)

    def on_screen_resume(self) -> None:
        """Others submit outages while this screen is away; reload on return."""
        self.load_pending()

    # ------------------------------------------------------------ the list

    def action_refresh(self) -> None:
        self.load_pending()

    @work(
        thread=True,
        exclusive=True,
        exit_on_error=False,
        group="approvals-list",
        description="loading outages waiting for approval",
    )
    def load_pending(self) -> None:
        with self.dispatch.engine.connect() as conn:
            rows = pending_approvals(conn)
        if not get_current_worker().is_cancelled:
            self.app.call_from_thread(self._show_pending, rows)

    def _show_pending(self, rows: list[OutageRow]) -> None:
        table = self.query_one("#pending", DataTable)
        listed = [(r.id, r.updated_at) for r in rows]
        table.border_title = f"Waiting for approval ({len(rows)})"
        if listed == self._listed:
            return
        self._listed = listed
        self.rows = {r.id: r for r in rows}
        me = self.dispatch.identity.login
        fill_rows(table, [(str(r.id), (list_entry(r, me),)) for r in rows], height=2)
        self.refresh_bindings()
        if not rows:
            self._previewing = None
            self.query_one("#outage", Static).update("")
            self.query_one(PreviewPanel).show_message("Nothing is waiting for approval.")
            return
        self._preview_highlighted()

    def highlighted(self) -> OutageRow | None:
        """The outage under the cursor (None before the list is built or when empty)."""
        try:
            table = self.query_one("#pending", DataTable)
        except NoMatches:
            return None
        if not table.row_count or not table.is_valid_row_index(table.cursor_row):
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return self.rows.get(int(key)) if key is not None else None

    # --------------------------------------------------------- the preview

    @on(DataTable.RowHighlighted, "#pending")
    def _row_highlighted(self) -> None:
        self._preview_highlighted()

    def _preview_highlighted(self) -> None:
        row = self.highlighted()
        if row is None or (row.id, row.updated_at) == self._previewing:
            return
        self._previewing = (row.id, row.updated_at)
        self.query_one("#outage", Static).update(outage_summary(row, self.dispatch.identity.login))
        self.query_one(PreviewPanel).loading = True
        self.load_preview(row.id)

    @work(
        thread=True,
        exclusive=True,
        exit_on_error=False,
        group=PREVIEW_GROUP,
        description="building the preview",
    )
    def load_preview(self, outage_id: int) -> None:
        """Exclusive: a newer highlight cancels this one, whose result is dropped."""
        worker = get_current_worker()
        settings = self.dispatch.settings
        with self.dispatch.engine.connect() as conn:
            try:
                detail = get_outage(conn, outage_id)
            except OutageError as exc:
                if not worker.is_cancelled:
                    self.app.call_from_thread(self._preview_failed, outage_id, str(exc))
                return
            if worker.is_cancelled:
                return
            draft = detail.draft
            to_call = uncalled_count(conn, outage_id)
            affected = gather_affected(self.dispatch.engine, draft.selection)
            review = amendment_review(
                conn, detail, affected, max_sms_segments=settings.sms_max_segments
            )
            preview = build_preview(
                conn,
                draft,
                now=self.now(),
                affected=affected,
                outage_id=outage_id,
                max_sms_segments=settings.sms_max_segments,
                price_per_segment=Decimal(str(settings.sms_price_per_segment)),
                currency=settings.sms_currency,
            )
            cap = settings.sms_max_segments
            translit = detail.row.transliterate
            over = sms_over_cap(
                conn, draft, max_sms_segments=cap, transliterate=translit, affected=affected
            )
            gsm = None
            if over and not translit:
                gsm = sms_over_cap(
                    conn, draft, max_sms_segments=cap, transliterate=True, affected=affected
                )
        digest = content_digest(draft, detail.row.revision)
        if not worker.is_cancelled:
            self.app.call_from_thread(
                self._show_preview, detail, preview, digest, to_call, review, (over, gsm)
            )

    def _show_preview(
        self,
        detail: OutageDetail,
        preview: Preview,
        digest: str,
        to_call: tuple[int, int],
        review: AmendmentReview | None,
        over_cap: tuple[list[OverCap], list[OverCap] | None],
    ) -> None:
        row = self.highlighted()
        if row is None or row.id != detail.row.id:
            return
        summary = outage_summary(detail.row, self.dispatch.identity.login)
        points, uncalled = to_call
        if points:
            summary = Content("\n").join(
                [summary, f"Priority customers to call: {uncalled} of {points} (p)"]
            )
        self.query_one("#outage", Static).update(summary)
        self._shown = (detail.row.id, detail.row.revision, digest, tuple(preview.warnings))
        self._review = review
        self._over_cap = over_cap
        panel = self.query_one(PreviewPanel)
        panel.loading = False
        panel.show(preview, review)

    def _preview_failed(self, outage_id: int, message: str) -> None:
        row = self.highlighted()
        if row is None or row.id != outage_id:
            return
        self._previewing = None
        panel = self.query_one(PreviewPanel)
        panel.loading = False
        panel.show_message(message)
        self.load_pending()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """A failed build leaves a sentence, not a spinner, besides the error notice."""
        super().on_worker_state_changed(event)
        if event.state == WorkerState.ERROR and event.worker.group == PREVIEW_GROUP:
            self._previewing = None
            panel = self.query_one(PreviewPanel)
            panel.loading = False
            panel.show_message(f"The preview could not be built: {event.worker.error}")

    # ----------------------------------------------------------- decisions

    def action_priority(self) -> None:
        row = self.highlighted()
        if row is not None:
            self.app.push_screen(PriorityScreen(row.id, row.title), lambda _: self._repreview())

    def _repreview(self) -> None:
        """Back from the calls list: the not-yet-called count may have changed."""
        self._previewing = None
        self._preview_highlighted()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Hide what the role can never do; grey out what needs a highlighted outage."""
        if action == "priority":
            return True if self.highlighted() is not None else None
        needs = {"approve": Action.APPROVE, "reject": Action.REJECT}.get(action)
        if needs is None:
            return True
        if not self.dispatch.identity.may(needs):
            return False
        return True if self.highlighted() is not None else None

    def action_approve(self) -> None:
        row = self.highlighted()
        if row is None:
            return
        if self.dispatch.identity.login in (row.created_by, row.amended_by):
            # Four-eyes: storage refuses and says why; asking "are you sure?"
            # first would only delay that answer.
            self.decide(row.id, None)
            return
        shown = self._shown
        if shown is None or shown[0] != row.id:
            self.notify("Wait for the preview: approval is for what you have read.")
            return
        _id, revision, digest, warnings = shown
        review = self._review
        if review is not None and review.told_subscribers:
            question = (
                f"Approve the amended window of outage #{row.id} “{row.title}”?\n"
                f"{review.told_subscribers:,} subscribers already told get the amendment; "
                "the new plan's notices go to those not yet told."
            )
        elif review is not None:
            question = (
                f"Approve the amended window of outage #{row.id} “{row.title}”?\n"
                "Nobody was told yet: the new plan's notices will be scheduled."
            )
        else:
            question = (
                f"Approve outage #{row.id} “{row.title}”?\n"
                f"Notices to {row.affected_subscribers:,} subscribers will be scheduled."
            )
        if warnings:
            question += "\nDespite: " + "; ".join(warnings)
        over, transliterated = self._over_cap
        if over:

            def chosen(choice: SmsChoice | None) -> None:
                if choice is not None:
                    self.decide(row.id, None, (revision, digest, warnings), choice)

            self.app.push_screen(SmsCapDialog(question, over, transliterated), chosen)
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self.decide(row.id, None, (revision, digest, warnings))

        self.app.push_screen(ConfirmDialog(question, yes="Approve", no="Back"), answered)

    def action_reject(self) -> None:
        row = self.highlighted()
        if row is None:
            return
        prompt = f"Why send outage #{row.id} “{row.title}” back to {row.created_by}?"

        def answered(reason: str | None) -> None:
            if reason:
                self.decide(row.id, reason)

        self.app.push_screen(ReasonDialog(prompt, action="Reject"), answered)

    @work(thread=True, exit_on_error=False, group="approvals-decide", description="deciding")
    def decide(
        self,
        outage_id: int,
        rejection: str | None,
        seen: tuple[int, str, tuple[str, ...]] | None = None,
        sms: SmsChoice | None = None,
    ) -> None:
        """Approve (no reason) what was seen (revision, digest, warnings) with the
        approver's choice for SMS over the cap, or reject (with a reason); storage
        has the last word."""
        engine, me = self.dispatch.engine, self.dispatch.identity.login
        try:
            if rejection is None:
                revision, digest, warnings = seen or (None, None, ())
                approve(
                    engine,
                    outage_id,
                    actor=me,
                    revision=revision,
                    digest=digest,
                    warnings_seen=warnings,
                    max_sms_segments=self.dispatch.settings.sms_max_segments,
                    sms=sms or SmsChoice(),
                )
            else:
                reject(engine, outage_id, rejection, actor=me)
        except OutageError as exc:
            self.app.call_from_thread(
                self.notify, str(exc), title="Refused", severity="error", timeout=10
            )
            return
        self.app.call_from_thread(self._decided, outage_id, rejection)

    def _decided(self, outage_id: int, rejection: str | None) -> None:
        if rejection is None:
            self.notify(f"Outage #{outage_id} approved; its notices are scheduled.")
        else:
            self.notify(f"Outage #{outage_id} sent back to its author.")
        self.load_pending()
