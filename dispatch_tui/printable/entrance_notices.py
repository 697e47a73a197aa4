"""An outage's entrance notices as HTML (for the public web and a browser's print)
and as one PDF (for `export notices` and the outage detail screen's `p`).

The PDF is made without a browser: operators' machines have no Chromium, so
fpdf2 (pure Python) lays out the same words with the DejaVu Sans font shipped
in this package (Cyrillic and Slovene letters; the host may not have it).
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path
from typing import Final, Literal

from fpdf import FPDF
from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy import Engine

from dispatch_tui.storage.entrance_notices import NoticeSheets, notice_sheets

__all__ = [
    "FONT",
    "default_pdf_path",
    "notices_html",
    "notices_pdf",
    "render_html",
    "render_pdf",
    "write_pdf",
]

HERE: Final = Path(__file__).parent
FONT: Final = HERE / "fonts" / "DejaVuSans.ttf"


@cache
def _jinja() -> Environment:
    return Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render_html(sheets: NoticeSheets) -> str:
    """One A4 page per entrance (print stylesheet, a page break after each)."""
    return _jinja().get_template("entrance_notices.html").render(s=sheets)


def render_pdf(sheets: NoticeSheets) -> bytes:
    """The same sheets as a PDF, one A4 page per entrance."""
    pdf = FPDF(format="A4", unit="mm")
    pdf.set_margins(20, 20, 20)
    pdf.set_auto_page_break(auto=True, margin=20)
    pdf.add_font("DejaVu", "", str(FONT))
    pdf.set_title(f"{sheets.text.title} — {sheets.utility_name}")
    pdf.set_creator("dispatch-tui")
    width = pdf.epw

    def para(text: str, size: float, *, gap: float = 4, border: Literal[0, 1] = 0) -> None:
        pdf.set_font("DejaVu", size=size)
        pdf.multi_cell(width, size * 0.5, text, border=border, padding=3 if border else 0)
        pdf.ln(gap)

    for entrance in sheets.entrances:
        pdf.add_page()
        if sheets.urgent:
            para(sheets.text.urgent.upper(), 16)
        para(sheets.text.title, 22, gap=6)
        para(sheets.utility_name, 14, gap=10)
        para(sheets.text.lead, 13)
        para(entrance.address(), 20, gap=10, border=1)
        para(sheets.when, 18, gap=10)
        para(sheets.reason, 13)
        para(sheets.contact, 13)
    return bytes(pdf.output())


def notices_html(engine: Engine, outage_id: int) -> str:
    """The outage's notices as HTML (storage.outages.OutageError: not approved, unknown)."""
    with engine.connect() as conn:
        return render_html(notice_sheets(conn, outage_id))


def notices_pdf(engine: Engine, outage_id: int) -> bytes:
    with engine.connect() as conn:
        return render_pdf(notice_sheets(conn, outage_id))


def default_pdf_path(outage_id: int) -> Path:
    """Where the screen (and `export notices` without --output) writes: the home folder."""
    return Path.home() / f"dispatch-tui-notices-outage-{outage_id}.pdf"


def write_pdf(engine: Engine, outage_id: int, path: Path) -> tuple[Path, int]:
    """Write the PDF to `path` (0600: it names addresses); (path, pages)."""
    with engine.connect() as conn:
        sheets = notice_sheets(conn, outage_id)
    data = render_pdf(sheets)
    path = path.expanduser()
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)  # a leftover may have been made readable to others
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    tmp.replace(path)
    return path, len(sheets.entrances)
