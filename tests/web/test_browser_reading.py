"""A meter reading through the real `dispatch-tui web` in a real headless Chromium
(the browser test's machinery): from the utility's page by keyboard to the form,
filled and sent, the answer on the page and the reading in the database. Skips
without Chromium, fails under CI=true."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy import select

from dispatch_tui.storage.db import create_db_engine
from dispatch_tui.storage.tables import meter_reading
from tests.web.served import Served
from tests.web.test_browser import PHONE, Page, browser, site_with_db  # noqa: F401


async def test_a_person_sends_a_reading_in_a_real_browser(
    site_with_db: tuple[Served, Path],  # noqa: F811
    tmp_path: Path,
) -> None:
    site, database = site_with_db

    async def type_into(page: Page, element: str, text: str) -> None:
        await page.value(f"document.getElementById('{element}').focus()")
        await page.call("Input.insertText", text=text)

    async def visit() -> str:
        async with browser(tmp_path) as page:
            await page.call("Emulation.setDeviceMetricsOverride", **PHONE)
            await page.go(f"{site.url}/ZOE/?lang=uk")
            await page.value("document.querySelector('a[href*=\"/reading\"]').focus()")
            page.events.clear()
            await page.key("Enter", 13, "\r")
            await page.loaded()
            assert await page.value("location.pathname") == "/ZOE/reading"
            await type_into(page, "identifier", "100000001")
            await type_into(page, "proof", "UA-777001")
            await type_into(page, "reading-value", "12 345,5")
            page.events.clear()
            await page.value("document.querySelector('#reading button').click()")
            await page.loaded()
            said: str = await page.value(
                "(document.getElementById('answer') || document.getElementById('error')).innerText"
            )
            return said

    said = await asyncio.wait_for(visit(), 120)
    engine = create_db_engine(f"sqlite:///{database}")
    with engine.connect() as conn:
        row = conn.execute(select(meter_reading)).one()
    engine.dispose()
    assert (row.channel, row.value_wh) == ("web", 12_345_500)
    # The real clock decides whether the window is open: either answer is the right one.
    if row.status == "accepted":
        assert said == f"Показ 12345.5 за {row.period[5:]}.{row.period[:4]} прийнято. Дякуємо!"
    else:
        assert row.reason == "outside_window" and said.startswith("Покази приймаються з ")
