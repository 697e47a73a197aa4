"""Campaigns: payment and meter-reading reminders, drafted, previewed, submitted,
approved by another person, cancelled, and their progress.

The screen never decides who may do what: storage re-checks role, four-eyes and
the draft's rules in the transaction that writes (`storage.campaigns`), and a
refusal is shown word for word (the workers' errors become notices).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import DataTable, Header, Static

from dispatch_tui.dialogs.campaign_draft import CampaignDraftDialog
from dispatch_tui.dialogs.confirm import ConfirmDialog
from dispatch_tui.domain.campaign import CampaignDraft
from dispatch_tui.domain.timeparse import format_local
from dispatch_tui.storage import campaigns
from dispatch_tui.storage.campaigns import CampaignPreview, CampaignRow
from dispatch_tui.storage.tree import list_utilities
from dispatch_tui.widgets.app_access import AppAccess
from dispatch_tui.widgets.footer import KeyFooter
from dispatch_tui.widgets.formatting import clip
from dispatch_tui.widgets.preview_panel import channel_label
from dispatch_tui.widgets.table_rows import fill_rows
from dispatch_tui.widgets.worker_errors import ReportsWorkerErrors

REFRESH_SECONDS = 2.0
STATE_WORDS = {"submitted": "waiting", "sending": "sending", "done": "sent"}


def campaign_text(row: CampaignRow, counts: dict[str, int], shown: CampaignPreview) -> Text:
    """Who drafted and approved what, its messages so far, and the preview."""
    lines = [
        Text(f"#{row.id} {row.title}", style="bold"),
        Text(
            f"{row.utility_code} · due {format_local(row.due_at, row.timezone)} · "
            + ", ".join(channel_label(c) for c in row.channels)
        ),
        Text(
            f"Drafted by {row.created_by}"
            + (f" · approved by {row.approved_by}" if row.approved_by else "")
            + (f" · cancelled by {row.cancelled_by}" if row.cancelled_by else "")
        ),
    ]
    if counts:
        lines.append(
            Text("Messages: " + ", ".join(f"{n:,} {s}" for s, n in sorted(counts.items())))
        )
    per_channel = ", ".join(f"{n:,} {c}" for c, n in sorted(shown.by_channel.items()))
    lines += [
        Text(f"Recipients now: {shown.recipients:,}" + (f" ({per_channel})" * bool(per_channel))),
        Text(f"SMS: {shown.sms_segments:,} segments, {shown.sms_cost:.2f} {shown.currency}"),
    ]
    for s in shown.samples:
        parts = f", {s.segments} segment(s)" if s.channel == "sms" else ""
        head = f"\n{s.language} {channel_label(s.channel)}: {s.recipients:,}{parts}"
        lines.append(Text(head, style="bold"))
        if s.subject:
            lines.append(Text(s.subject, style="italic"))
        lines.append(Text(s.body))
    return Text("\n").join(lines)


class CampaignsScreen(AppAccess, ReportsWorkerErrors, Screen[None]):
    """The campaigns on the left, the highlighted one's preview and progress on the right."""

    CSS_PATH = "campaigns.tcss"
    BINDING_GROUP_TITLE = "Campaigns"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("n", "new", "New", id="campaigns.new"),
        Binding("s", "submit", "Submit", id="campaigns.submit"),
        Binding("a", "approve", "Approve", id="campaigns.approve"),
        Binding("c", "cancel_campaign", "Cancel", id="campaigns.cancel"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[CampaignRow] = []
        self.previewed: tuple[int, str] | None = None
        """The campaign (and its state) the preview shows."""
        self.shown: CampaignPreview | None = None
        self._timer: Timer | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal():
            yield DataTable(id="campaigns", cursor_type="row", zebra_stripes=True)
            with VerticalScroll(id="detail"):
                yield Static("No campaign yet: press n to draft one.", id="preview")
        yield KeyFooter()

    def on_mount(self) -> None:
        table = self.query_one("#campaigns", DataTable)
        table.border_title = "Campaigns"
        table.add_columns("#", "campaign", "state")
        table.focus()
        self._timer = self.set_interval(REFRESH_SECONDS, self.reload, pause=True)

    def on_screen_resume(self) -> None:
        """In front: show now, then follow the database (progress, others' decisions)."""
        if self._timer is not None:
            self._timer.resume()
        self.reload()

    def on_screen_suspend(self) -> None:
        if self._timer is not None:
            self._timer.pause()

    def highlighted(self) -> CampaignRow | None:
        table = self.query_one("#campaigns", DataTable)
        if not table.row_count:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return next((r for r in self.rows if str(r.id) == key), None)

    def reload(self) -> None:
        self._fetch()

    @work(thread=True, exit_on_error=False, group="campaigns-list", exclusive=True)
    def _fetch(self) -> None:
        with self.dispatch.engine.connect() as conn:
            rows = campaigns.list_campaigns(conn)
            counts = campaigns.message_counts(
                conn, [r.id for r in rows if r.status in ("sending", "done", "cancelled")]
            )
        self.app.call_from_thread(self._show, rows, counts)

    def _show(self, rows: list[CampaignRow], counts: dict[int, dict[str, int]]) -> None:
        self.rows = rows
        fill_rows(
            self.query_one("#campaigns", DataTable),
            [
                (
                    str(r.id),
                    (str(r.id), clip(r.short_title, 18), STATE_WORDS.get(r.status, r.status)),
                )
                for r in rows
            ],
        )
        row = self.highlighted()
        if row is not None and self.shown is not None and self.previewed == (row.id, row.status):
            # The messages so far change often; the preview is not read again for them.
            self.query_one("#preview", Static).update(
                campaign_text(row, counts.get(row.id, {}), self.shown)
            )
        self._preview()

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._preview()

    def _preview(self) -> None:
        """The highlighted campaign's preview, read again only when it or its state
        changed (its audience query is the screen's heaviest)."""
        row = self.highlighted()
        if row is not None and self.previewed != (row.id, row.status):
            self.previewed = (row.id, row.status)
            self._fetch_preview(row.id)

    @work(thread=True, exit_on_error=False, group="campaigns-preview", exclusive=True)
    def _fetch_preview(self, campaign_id: int) -> None:
        settings = self.dispatch.settings
        with self.dispatch.engine.connect() as conn:
            row = campaigns.get_campaign(conn, campaign_id)
            shown = campaigns.preview(
                conn,
                campaign_id,
                price_per_segment=Decimal(str(settings.sms_price_per_segment)),
                currency=settings.sms_currency,
            )
            counts = campaigns.message_counts(conn, [campaign_id]).get(campaign_id, {})
        self.app.call_from_thread(self._show_preview, row, counts, shown)

    def _show_preview(
        self, row: CampaignRow, counts: dict[str, int], shown: CampaignPreview
    ) -> None:
        self.shown = shown
        self.query_one("#preview", Static).update(campaign_text(row, counts, shown))

    # -- acts -----------------------------------------------------------------

    def action_new(self) -> None:
        self._open_draft()

    @work(thread=True, exit_on_error=False, group="campaigns-act")
    def _open_draft(self) -> None:
        now = datetime.now(UTC)
        with self.dispatch.engine.connect() as conn:
            utilities = list_utilities(conn)
            windows = {u.id: campaigns.reading_reminder_due(conn, u.id, now) for u in utilities}
        self.app.call_from_thread(
            self.app.push_screen,
            CampaignDraftDialog(utilities, now=now, reading_due=windows),
            self._drafted,
        )

    def _drafted(self, draft: CampaignDraft | None) -> None:
        if draft is not None:
            login = self.dispatch.identity.login
            self._act(
                lambda: campaigns.create_draft(self.dispatch.engine, draft, actor=login),
                "Drafted",
            )

    def _on_highlighted(self, act: Callable[[int], object], said: str) -> None:
        row = self.highlighted()
        if row is None:
            self.notify("No campaign highlighted", severity="warning")
            return
        self._act(lambda: act(row.id), f"{said} campaign #{row.id}")

    def action_submit(self) -> None:
        login = self.dispatch.identity.login
        self._on_highlighted(
            lambda cid: campaigns.submit(self.dispatch.engine, cid, actor=login), "Submitted"
        )

    def action_approve(self) -> None:
        """Approving sends to everyone the preview counts: asked first, with the count."""
        row = self.highlighted()
        if row is None or self.shown is None or self.previewed != (row.id, row.status):
            self.notify("No campaign previewed yet", severity="warning")
            return
        login = self.dispatch.identity.login

        def answered(yes: bool | None) -> None:
            if yes:
                self._act(
                    lambda: campaigns.approve(self.dispatch.engine, row.id, actor=login),
                    f"Approved campaign #{row.id}",
                )

        shown = self.shown
        self.app.push_screen(
            ConfirmDialog(
                f"Approve campaign #{row.id} ({row.title}), drafted by {row.created_by}?\n"
                f"{shown.recipients:,} messages now, SMS {shown.sms_segments:,} segments "
                f"({shown.sms_cost:.2f} {shown.currency}), from "
                f"{format_local(row.due_at, row.timezone)}.",
                yes="Approve",
                no="Not now",
            ),
            answered,
        )

    def action_cancel_campaign(self) -> None:
        row = self.highlighted()
        if row is None:
            self.notify("No campaign highlighted", severity="warning")
            return
        login = self.dispatch.identity.login

        def answered(yes: bool | None) -> None:
            if yes:
                self._act(
                    lambda: campaigns.cancel(self.dispatch.engine, row.id, actor=login),
                    f"Cancelled campaign #{row.id}",
                )

        self.app.push_screen(
            ConfirmDialog(
                f"Cancel campaign #{row.id} ({row.title})?\n"
                "Its messages not yet handed to a gateway are cancelled too.",
                yes="Cancel campaign",
                no="Keep it",
            ),
            answered,
        )

    @work(thread=True, exit_on_error=False, group="campaigns-act")
    def _act(self, change: Callable[[], object], said: str) -> None:
        change()  # a refusal raises: ReportsWorkerErrors shows it word for word
        self.app.call_from_thread(self.notify, said)
        self.app.call_from_thread(self.reload)
