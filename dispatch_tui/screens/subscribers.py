"""Subscribers: who is calling, how we reach them (with their consent per
service), what they owe as of which balance snapshot, what we sent them, their
opt-out recorded on request, a self-service lock (too many wrong bot or SMS
proofs) lifted once the operator knows the caller, and their meter readings,
where an operator records a meter change (all audited)."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import DataTable, Header, Input, Static

from dispatch_tui.dialogs.readings import NewMeterDialog, ReadingsDialog
from dispatch_tui.dialogs.reason import ReasonDialog
from dispatch_tui.domain.balances import format_amount
from dispatch_tui.domain.timeparse import format_local
from dispatch_tui.storage import balances, readings, services, subscribers
from dispatch_tui.storage.balances import AccountBalances
from dispatch_tui.storage.readings import ReadingError, ReadingRow
from dispatch_tui.storage.subscribers import (
    ContactRow,
    SubscriberDetail,
    SubscriberError,
    SubscriberHit,
)
from dispatch_tui.widgets.app_access import AppAccess
from dispatch_tui.widgets.footer import KeyFooter
from dispatch_tui.widgets.formatting import clip
from dispatch_tui.widgets.table_rows import fill_rows
from dispatch_tui.widgets.worker_errors import ReportsWorkerErrors

if TYPE_CHECKING:
    from sqlalchemy import Engine


SEARCH_DELAY = 0.3
NAME_WIDTH = 24


def stamp(value: object) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if hasattr(value, "strftime") else str(value)


def covers(row: ContactRow) -> str:
    """Which places a contact hears about, and whether its owner proved the account."""
    places = ", ".join(row.scope) if row.scope else "all places"
    return places if row.proven else f"{places} (unproven: no street names)"


SERVICE_LABELS = {"bill_info": "bill", "payment_reminder": "pay", "reading_reminder": "read"}
HISTORY_SHOWN = 6


def service_cell(consents: dict[str, str]) -> str:
    """ "bill, pay, no read": the services a contact gets, and those it left."""
    return ", ".join(
        label if consents[service] == "opted_in" else f"no {label}"
        for service, label in SERVICE_LABELS.items()
        if service in consents and consents[service] != "pending"
    )


def balance_lines(found: AccountBalances) -> str:
    """The newest snapshot's figure, then earlier snapshots' (the utility's local time)."""
    if not found.history:
        return "Balance: no snapshot names this account"
    lines = []
    if found.newest is None:
        lines.append("Balance: not in the utility's newest snapshot")
    for index, row in enumerate(found.history[:HISTORY_SHOWN]):
        paid = f", paid {row.last_payment_date}" if row.last_payment_date else ""
        head = "Balance" if index == 0 and found.newest is not None else "  earlier"
        lines.append(
            f"{head}: {format_amount(row.amount_minor, row.currency, 'en')} due {row.due_date}"
            f"{paid} (as of {format_local(row.as_of, row.timezone)} {row.timezone})"
        )
    if len(found.history) > HISTORY_SHOWN:
        lines.append(f"  … {len(found.history) - HISTORY_SHOWN} older snapshots")
    return "\n".join(lines)


def lock_line(detail: SubscriberDetail) -> str:
    if detail.lock is None:
        return ""
    return (
        f"Self-service LOCKED since {stamp(detail.lock.locked_at)} after "
        f"{detail.lock.wrong_proofs} wrong proofs (bot/SMS). Press u to lift it."
    )


class SubscribersScreen(AppAccess, ReportsWorkerErrors, Screen[None]):
    """Search on top; the highlighted subscriber's contacts, places and history below."""

    BINDING_GROUP_TITLE = "Subscribers"
    CSS_PATH = "subscribers.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("slash", "focus_search", "Search", id="subscribers.search"),
        Binding("o", "opt_out", "Record opt-out", id="subscribers.opt_out"),
        Binding("s", "stop_services", "Stop services", id="subscribers.stop_services"),
        Binding("u", "lift_lock", "Lift self-service lock", id="subscribers.lift_lock"),
        Binding("r", "readings", "Readings", id="subscribers.readings"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.hits: list[SubscriberHit] = []
        self.detail: SubscriberDetail | None = None
        self.services: dict[int, dict[str, str]] = {}
        self._timer: Timer | None = None

    @property
    def engine(self) -> Engine:
        return self.dispatch.engine

    def compose(self) -> ComposeResult:
        yield Header()
        yield Input(placeholder="customer number, phone, e-mail or address", id="search")
        yield DataTable(id="results", cursor_type="row", zebra_stripes=True)
        yield Static(id="lock")
        yield Static("Contacts and consent", classes="title")
        yield DataTable(id="contacts", cursor_type="row")
        yield Static(id="places")
        yield Static(id="balance")
        yield Static("Messages (newest first)", classes="title")
        yield DataTable(id="history", cursor_type="row", zebra_stripes=True)
        yield KeyFooter()

    def on_mount(self) -> None:
        # The short columns first and the address last: at 80 columns only the long
        # tail is cut. Times are stored and shown in UTC, and say so.
        self.query_one("#results", DataTable).add_columns(
            "customer", "name", "found by", "lang", "utility", "first place"
        )
        self.query_one("#contacts", DataTable).add_columns(
            "channel", "address", "consent", "covers", "since (UTC)", "services", "how"
        )
        self.query_one("#history", DataTable).add_columns(
            "created (UTC)", "channel", "address", "state", "notice", "outage", "error"
        )
        self.query_one("#search", Input).focus()

    def action_focus_search(self) -> None:
        self.query_one("#search", Input).focus()

    @on(Input.Changed, "#search")
    def _typed(self, event: Input.Changed) -> None:
        if self._timer is not None:
            self._timer.stop()
        self._timer = self.set_timer(SEARCH_DELAY, partial(self._search, event.value))

    @on(Input.Submitted, "#search")
    def _submitted(self, event: Input.Submitted) -> None:
        self._search(event.value)
        self.query_one("#results", DataTable).focus()

    @work(thread=True, exclusive=True, exit_on_error=False, group="subscribers-search")
    def _search(self, text: str) -> None:
        with self.engine.connect() as conn:
            hits = subscribers.find_subscribers(conn, text)
        self.app.call_from_thread(self._show_hits, hits)

    def _show_hits(self, hits: list[SubscriberHit]) -> None:
        self.hits = hits
        table = self.query_one("#results", DataTable)
        table.clear()
        for hit in hits:
            table.add_row(
                hit.account,
                clip(hit.name, NAME_WIDTH),
                hit.matched_on,
                hit.language,
                hit.utility,
                hit.address,
                key=str(hit.id),
            )
        if hits:
            self._load(hits[0].id)
        else:
            self._show_detail(None)

    @on(DataTable.RowHighlighted, "#results")
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.row_key.value is not None:
            self._load(int(event.row_key.value))

    @work(thread=True, exclusive=True, exit_on_error=False, group="subscribers-detail")
    def _load(self, subscriber_id: int) -> None:
        with self.engine.connect() as conn:
            detail = subscribers.subscriber_detail(conn, subscriber_id)
            consents = services.service_consents(conn, [c.id for c in detail.contacts])
            owed = balances.account_balances(conn, subscriber_id)
        self.app.call_from_thread(self._show_account, detail, consents, owed)

    def _show_account(
        self, detail: SubscriberDetail, consents: dict[int, dict[str, str]], owed: AccountBalances
    ) -> None:
        self.services = consents
        self._show_detail(detail)
        self.query_one("#balance", Static).update(balance_lines(owed))

    def _show_detail(self, detail: SubscriberDetail | None) -> None:
        """The highlighted subscriber's tables; shown again for the same subscriber (an
        opt-out recorded, a late highlight), the cursor stays on its contact."""
        self.detail = detail
        contacts = self.query_one("#contacts", DataTable)
        history = self.query_one("#history", DataTable)
        if detail is None:
            fill_rows(contacts, [])
            fill_rows(history, [])
            self.query_one("#places", Static).update("")
            self.query_one("#lock", Static).update("")
            self.query_one("#balance", Static).update("")
            return
        self.query_one("#lock", Static).update(lock_line(detail))
        fill_rows(
            contacts,
            [
                (
                    str(c.id),
                    (
                        c.channel,
                        c.address,
                        c.consent,
                        covers(c),
                        stamp(c.consent_at),
                        service_cell(self.services.get(c.id, {})),
                        c.consent_source,
                    ),
                )
                for c in detail.contacts
            ],
        )
        self.query_one("#places", Static).update("\n".join(detail.addresses) or "no places")
        fill_rows(
            history,
            [
                (
                    str(index),
                    (
                        stamp(h.created_at),
                        h.channel,
                        h.address,
                        h.status,
                        h.kind,
                        h.outage,
                        h.error,
                    ),
                )
                for index, h in enumerate(detail.history)
            ],
        )

    def _highlighted_contact(self) -> ContactRow | None:
        """The contact under the cursor; None (and says so) when there is none."""
        table = self.query_one("#contacts", DataTable)
        if self.detail is None or not table.row_count:
            self.notify("No contact is highlighted; nothing was changed.", severity="warning")
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return next(c for c in self.detail.contacts if str(c.id) == key)

    def action_opt_out(self) -> None:
        chosen = self._highlighted_contact()
        if chosen is None or self.detail is None:
            return
        prompt = (
            f"Record that {self.detail.hit.name} wants no more notices on "
            f"{chosen.channel} {chosen.address}. Why (e.g. asked by phone)?"
        )
        self.app.push_screen(
            ReasonDialog(prompt, action="Record opt-out"), partial(self._answered, chosen.id)
        )

    def _answered(self, contact_id: int, reason: str | None) -> None:
        if reason:
            self._opt_out(contact_id, reason)

    @work(thread=True, exit_on_error=False, group="subscribers-change")
    def _opt_out(self, contact_id: int, reason: str) -> None:
        actor = self.dispatch.identity.login
        try:
            subscribers.record_opt_out(self.engine, contact_id, actor=actor, reason=reason)
        except SubscriberError as exc:
            self.app.call_from_thread(self.notify, str(exc), severity="error")
            return
        self.app.call_from_thread(self.notify, "Opt-out recorded.")
        if self.detail is not None:
            self.app.call_from_thread(self._load, self.detail.hit.id)

    def action_stop_services(self) -> None:
        """The customer wants no more bill information or reminders on this contact;
        outage notices stay (`o` stops those)."""
        chosen = self._highlighted_contact()
        if chosen is None or self.detail is None:
            return
        prompt = (
            f"Record that {self.detail.hit.name} wants no more bill information or reminders "
            f"on {chosen.channel} {chosen.address} (outage notices stay). Why?"
        )
        self.app.push_screen(
            ReasonDialog(prompt, action="Stop services"), partial(self._stop_answered, chosen.id)
        )

    def _stop_answered(self, contact_id: int, reason: str | None) -> None:
        if reason:
            self._stop_services(contact_id, reason)

    @work(thread=True, exit_on_error=False, group="subscribers-change")
    def _stop_services(self, contact_id: int, reason: str) -> None:
        actor = self.dispatch.identity.login
        try:
            stopped = services.record_service_opt_out(
                self.engine, contact_id, None, actor=actor, reason=reason
            )
        except SubscriberError as exc:
            self.app.call_from_thread(self.notify, str(exc), severity="error")
            return
        names = ", ".join(services.SERVICE_NAMES[name] for name in stopped)
        self.app.call_from_thread(self.notify, f"Stopped: {names}.")
        if self.detail is not None:
            self.app.call_from_thread(self._load, self.detail.hit.id)

    def action_lift_lock(self) -> None:
        if self.detail is None or self.detail.lock is None:
            self.notify("This customer's self-service is not locked.", severity="warning")
            return
        prompt = (
            f"Let {self.detail.hit.name or self.detail.hit.account} prove their account by "
            "bot or SMS again. How did you check who is calling?"
        )
        self.app.push_screen(
            ReasonDialog(prompt, action="Lift lock"), partial(self._lift, self.detail.hit.id)
        )

    def _lift(self, subscriber_id: int, reason: str | None) -> None:
        if reason:
            self._lift_lock(subscriber_id, reason)

    @work(thread=True, exit_on_error=False, group="subscribers-change")
    def _lift_lock(self, subscriber_id: int, reason: str) -> None:
        actor = self.dispatch.identity.login
        try:
            subscribers.lift_self_service_lock(
                self.engine, subscriber_id, actor=actor, reason=reason
            )
        except SubscriberError as exc:
            self.app.call_from_thread(self.notify, str(exc), severity="error")
            return
        self.app.call_from_thread(self.notify, "Self-service lock lifted.")
        self.app.call_from_thread(self._load, subscriber_id)

    def action_readings(self) -> None:
        if self.detail is None:
            self.notify("No customer is highlighted.", severity="warning")
            return
        self._readings(self.detail.hit.id, self.detail.hit.name or self.detail.hit.account)

    @work(thread=True, exclusive=True, exit_on_error=False, group="subscribers-readings")
    def _readings(self, subscriber_id: int, who: str) -> None:
        rows = readings.readings_of(self.engine, subscriber_id)
        dialog = ReadingsDialog(f"Meter readings of {who} (newest first)", rows)
        self.app.call_from_thread(self.app.push_screen, dialog, self._meter_change)

    def _meter_change(self, row: ReadingRow | None) -> None:
        if row is None or row.mp_id is None:
            return
        mp_id = row.mp_id
        prompt = f"A new meter at {row.point}: what did it show when fitted?"
        self.app.push_screen(
            NewMeterDialog(prompt, action="Next"), partial(self._meter_reason, mp_id, row.point)
        )

    def _meter_reason(self, mp_id: int, point: str, values: str | None) -> None:
        if not values:
            return
        prompt = f"Why is the meter at {point} new (e.g. replaced on 20.11 by the field crew)?"
        self.app.push_screen(
            ReasonDialog(prompt, action="Record meter change"),
            partial(self._record_meter_change, mp_id, values),
        )

    def _record_meter_change(self, mp_id: int, values: str, note: str | None) -> None:
        if note:
            self._store_meter_change(mp_id, values, note)

    @work(thread=True, exit_on_error=False, group="subscribers-change")
    def _store_meter_change(self, mp_id: int, values: str, note: str) -> None:
        actor = self.dispatch.identity.login
        try:
            readings.record_meter_change(self.engine, mp_id, values, actor=actor, note=note)
        except ReadingError as exc:
            self.app.call_from_thread(self.notify, str(exc), severity="error")
            return
        self.app.call_from_thread(self.notify, "Meter change recorded.")
