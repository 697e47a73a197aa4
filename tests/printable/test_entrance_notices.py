"""Printed entrance notices of a Bulgarian block (EVN practice), on SQLite and
PostgreSQL: one A4 page per entrance, in the utility's language, with the window
in local time, the reason and the utility's number, Cyrillic intact; the same
HTML printed to PDF by a real headless Chromium."""

from __future__ import annotations

import shutil
import subprocess
from datetime import UTC, datetime
from io import BytesIO
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from pypdf import PdfReader
from sqlalchemy import Engine, insert, select, update

from dispatch_tui.cli import main
from dispatch_tui.domain.entrance_notices import entrances
from dispatch_tui.printable.entrance_notices import notices_html, notices_pdf, write_pdf
from dispatch_tui.screens.outage_detail import OutageDetailScreen
from dispatch_tui.storage.outages import OutageError
from dispatch_tui.storage.tables import metering_point, outage
from tests.factories import approved_outage
from tests.missing import unavailable
from tests.tui.conftest import make_app, workers_done

START = datetime(2031, 6, 17, 6, 30, tzinfo=UTC)  # 09:30 in Sofia (EEST)
REASON = "ремонт на трафопост"
ENTRANCES = [
    "София, ул. Васил Левски 3",
    "София, ул. Васил Левски бл. 569, вх. А",
    "София, ул. Васил Левски бл. 569, вх. Б",
]


@pytest.fixture
def block(engine: Engine, tmp_path: Path) -> int:
    """An approved EH outage over a block with two entrances and a house: its id."""
    oid = approved_outage(
        engine, tmp_path, starts_at=START, utility_code="EH", region="B-R1", reason=REASON
    )
    with engine.begin() as conn:
        first = conn.execute(
            select(metering_point).where(metering_point.c.mp_id == "1000001")
        ).one()
        for n, house in enumerate(
            ["бл. 569, вх. Б, ап. 12", "бл. 569, вх. Б, ап. 14", "бл. 569, вх. А, ап. 3"], 2
        ):
            conn.execute(
                insert(metering_point).values(
                    utility_id=first.utility_id,
                    node_id=first.node_id,
                    path=first.path,
                    mp_id=f"100000{n}",
                    settlement=first.settlement,
                    street=first.street,
                    house=house,
                    search_key=f"x{n}",
                )
            )
    return oid


def pdf_pages(data: bytes) -> list[str]:
    return [
        " ".join((page.extract_text() or "").split()) for page in PdfReader(BytesIO(data)).pages
    ]


def test_one_pdf_page_per_entrance_with_window_reason_and_number(
    engine: Engine, block: int
) -> None:
    pages = pdf_pages(notices_pdf(engine, block))
    assert len(pages) == 3
    for page, entrance in zip(pages, ENTRANCES, strict=True):
        assert entrance in page, page
        assert "Съобщение за планирано прекъсване на електрозахранването" in page
        assert "9:30" in page and "12:30" in page and "2031" in page, page
        assert REASON in page and "0700 10 010" in page
        assert "ап." not in page  # flats are never listed


def test_html_has_a_print_stylesheet_and_a_page_per_entrance(engine: Engine, block: int) -> None:
    html = notices_html(engine, block)
    assert "@page { size: A4" in html and "page-break-after: always" in html
    assert html.count('<section class="sheet">') == 3
    assert all(e.replace("&", "&amp;") in html for e in ENTRANCES)
    assert '<html lang="bg">' in html


def test_only_an_approved_outage_prints(engine: Engine, block: int) -> None:
    with engine.begin() as conn:
        conn.execute(update(outage).where(outage.c.id == block).values(status="cancelled"))
    with pytest.raises(OutageError, match="cancelled: only an approved"):
        notices_pdf(engine, block)
    with pytest.raises(OutageError, match="does not exist"):
        notices_html(engine, 999_999)


def test_the_pdf_file_is_private(engine: Engine, block: int, tmp_path: Path) -> None:
    path, pages = write_pdf(engine, block, tmp_path / "notices.pdf")
    assert pages == 3 and path.stat().st_mode & 0o777 == 0o600
    assert len(pdf_pages(path.read_bytes())) == 3


def test_entrances_group_flats_and_keep_plain_houses() -> None:
    found = entrances(
        [
            ("Kranj", "Labore", "12a"),
            ("Kranj", "Labore", "2"),
            ("Ужгород", "вул. Минайська", "14, кв. 4"),
            ("Ужгород", "вул. Минайська", "14, кв. 5"),
            ("София", "ж.к. Люлин", "бл. 5, вх. В, ет. 2, ап. 7"),
        ]
    )
    assert [e.address() for e in found] == [
        "Kranj, Labore 2",
        "Kranj, Labore 12a",
        "София, ж.к. Люлин бл. 5, вх. В",
        "Ужгород, вул. Минайська 14",
    ]


CHROMIUM = Path("/usr/bin/chromium")


def test_headless_chromium_prints_the_html_notice(
    engine: Engine, block: int, tmp_path: Path
) -> None:
    if not CHROMIUM.exists() or shutil.which(str(CHROMIUM)) is None:
        reason = "Chromium not installed (Debian package chromium; .ci/run installs it)"
        unavailable(reason)
    page = tmp_path / "notices.html"
    page.write_text(notices_html(engine, block), encoding="utf-8")
    out = tmp_path / "chromium.pdf"
    subprocess.run(
        [
            str(CHROMIUM),
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            f"--user-data-dir={tmp_path / 'profile'}",
            "--no-pdf-header-footer",
            f"--print-to-pdf={out}",
            page.as_uri(),
        ],
        check=True,
        capture_output=True,
        timeout=90,
    )
    pages = pdf_pages(out.read_bytes())
    assert len(pages) == 3
    for text, entrance in zip(pages, ENTRANCES, strict=True):
        assert entrance in text and REASON in text and "0700 10 010" in text


def run_cli(db_url: str, tmp_path: Path, *args: str) -> Result:
    env = {
        "DISPATCH_TUI_DATABASE_URL": db_url,
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "HOME": str(tmp_path),
    }
    return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)


def test_export_notices_command(block: int, db_url: str, tmp_path: Path) -> None:
    target = tmp_path / "out" / "n.pdf"
    target.parent.mkdir()
    done = run_cli(db_url, tmp_path, "export", "notices", str(block), "--output", str(target))
    assert done.exit_code == 0, done.output
    assert f"3 entrance notice(s) written to {target}" in done.output
    assert len(pdf_pages(target.read_bytes())) == 3
    default = run_cli(db_url, tmp_path, "export", "notices", str(block))
    assert (
        default.exit_code == 0 and (tmp_path / f"dispatch-tui-notices-outage-{block}.pdf").exists()
    )


@pytest.mark.parametrize(
    ("args", "said", "code"),
    [
        (["999999"], "outage 999999 does not exist", 1),
        (["0"], "Invalid value for 'OUTAGE'", 2),
        (["abc"], "Invalid value for 'OUTAGE'", 2),
        (["{block}", "--output", "/nonexistent/dir/n.pdf"], "cannot write the PDF", 1),
    ],
)
def test_export_notices_refuses_bad_input(
    block: int, db_url: str, tmp_path: Path, args: list[str], said: str, code: int
) -> None:
    args = [a.format(block=block) for a in args]
    result = CliRunner().invoke(
        main,
        ["export", "notices", *args],
        env={"DISPATCH_TUI_DATABASE_URL": db_url, "HOME": str(tmp_path),
             "XDG_CONFIG_HOME": str(tmp_path / "c")},
    )  # fmt: skip
    assert result.exit_code == code and said in result.output, result.output
    assert not list(tmp_path.glob("*.pdf"))


async def test_p_on_the_outage_detail_screen_writes_the_pdf(
    backend: str, engine: Engine, block: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if backend != "sqlite":
        pytest.skip("the screen is the same on both backends")
    monkeypatch.setenv("HOME", str(tmp_path))
    app = make_app(engine, "ana")
    async with app.run_test(size=(100, 30)) as pilot:
        await workers_done(app)
        await pilot.pause()  # the app has opened its first mode
        screen = OutageDetailScreen(block)
        await app.push_screen(screen)
        await workers_done(app)
        await pilot.pause()
        assert "p" in screen.active_bindings and screen.check_action("print_notices", ())
        await pilot.press("p")
        path = tmp_path / f"dispatch-tui-notices-outage-{block}.pdf"
        for _ in range(100):
            await workers_done(app)
            await pilot.pause(0.05)
            if any("written to" in n.message for n in app._notifications):
                break
        assert len(pdf_pages(path.read_bytes())) == 3
        said = [n.message for n in app._notifications]
        assert any(f"3 entrance notice(s) written to {path}" in m for m in said), said
