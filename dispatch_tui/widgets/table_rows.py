"""Showing fresh rows in a DataTable the one way every list does it: cells changed in
place when the same rows are there (no flicker, no lost scroll), else the rows rebuilt
with the cursor kept on its row's key, or on its position if that row is gone."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.cells import cell_len
from rich.text import Text
from textual.widgets import DataTable


def fill_rows(
    table: DataTable[Any], rows: Sequence[tuple[str, Sequence[Any]]], *, height: int = 1
) -> bool:
    """Show `rows` (key, cells); True when the rows were rebuilt."""
    index = table.cursor_row
    current = (
        table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        if table.row_count and table.is_valid_row_index(index)
        else None
    )
    wanted = [key for key, _ in rows]
    existing = [str(row.key.value) for row in table.ordered_rows]
    with table.app.batch_update():
        if existing == wanted:
            for key, cells in rows:
                for column, value in zip(table.columns, cells, strict=False):
                    if table.get_cell(key, column) != value:
                        table.update_cell(key, column, value, update_width=True)
            _fit_columns(table, rows)
            return False
        table.clear()
        for key, cells in rows:
            table.add_row(*cells, key=key, height=height)
        if current in wanted:
            table.move_cursor(row=wanted.index(current))
        elif wanted:
            table.move_cursor(row=min(index, len(wanted) - 1))
        _fit_columns(table, rows)
    return True


def _width(value: Any) -> int:
    if isinstance(value, Text):
        return max((cell_len(line) for line in value.plain.splitlines()), default=0)
    return cell_len(str(value))


def _fit_columns(table: DataTable[Any], rows: Sequence[tuple[str, Sequence[Any]]]) -> None:
    """Size auto-width columns to their cells now: DataTable does it when next idle, and
    a frame drawn before that shows every column as narrow as its label."""
    for index, column in enumerate(table.ordered_columns):
        if column.auto_width:
            widest = max(
                (_width(cells[index]) for _, cells in rows if index < len(cells)), default=0
            )
            column.content_width = max(column.content_width, _width(column.label), widest)
    table.refresh()
