"""`r` on the Subscribers screen: the subscriber's meter readings (period, point,
values, channel, time, status), newest first; `m` on one picks its metering point
for a meter change (returned), escape returns None."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Input, Label

from dispatch_tui.dialogs.text_entry import TextEntryDialog
from dispatch_tui.storage.readings import ReadingRow


class ReadingsDialog(ModalScreen[ReadingRow | None]):
    DEFAULT_CSS = """
    ReadingsDialog { align: center middle; }
    ReadingsDialog > Vertical {
        width: 95%;
        height: 80%;
        border: thick $primary;
        background: $surface;
        padding: 0 1;
    }
    ReadingsDialog DataTable { height: 1fr; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close"),
        Binding("m", "meter_change", "Meter change here"),
    ]

    def __init__(self, title: str, rows: list[ReadingRow]) -> None:
        super().__init__()
        self.title_text = title
        self.rows = rows

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(self.title_text)
            yield DataTable(id="readings", cursor_type="row", zebra_stripes=True)
            yield Label("m: record a meter change at the highlighted reading's point · esc: close")

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("period", "point", "reading (kWh)", "channel", "received (UTC)", "status")
        for row in self.rows:
            table.add_row(
                row.period,
                row.point,
                row.values,
                row.channel,
                row.received_at.strftime("%Y-%m-%d %H:%M"),
                row.status,
                key=str(row.id),
            )
        if not self.rows:
            table.add_row("", "", "no readings yet", "", "", "")
        table.focus()

    def action_close(self) -> None:
        self.dismiss(None)

    def action_meter_change(self) -> None:
        table = self.query_one(DataTable)
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        chosen = next((r for r in self.rows if str(r.id) == key), None)
        if chosen is None or chosen.mp_id is None:
            self.notify("This reading names no metering point.", severity="warning")
            return
        self.dismiss(chosen)


class NewMeterDialog(TextEntryDialog[str]):
    """What the new meter showed when fitted; the storage checks the number."""

    def entry(self) -> Input:
        return Input(placeholder="new meter's reading, e.g. 0", id="reading", max_length=40)

    def accept(self, text: str) -> str:
        if not text:
            raise ValueError("Give the new meter's reading (often 0).")
        return text
