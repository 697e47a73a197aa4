"""A real headless Chromium (Debian's `chromium`) on `dispatch-tui web`: the listing loads,
the keyboard reaches the skip link, the search form is filled and submitted with keys,
a person signs up with the code the web wrote to the outbox, and the entrance notices
print to PDF; screenshots at phone width (390 px) and desktop width are written to
test-artifacts/web/ (git-ignored). Driven over the DevTools protocol with aiohttp's
websocket client; every wait is bounded. Skips without Chromium, fails under CI=true."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import io
import json
import re
import shutil
import subprocess
import time
import urllib.request
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pypdf
import pytest
from sqlalchemy import select

from dispatch_tui.storage.db import create_db_engine
from dispatch_tui.storage.tables import contact, message
from tests.missing import unavailable
from tests.web.served import Served, approved_site, free_port, serve

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "web"
STEP_SECONDS = 20.0
PHONE = {"width": 390, "height": 844, "deviceScaleFactor": 1, "mobile": True}
DESKTOP = {"width": 1280, "height": 900, "deviceScaleFactor": 1, "mobile": False}


def chromium() -> str:
    found = shutil.which("chromium")
    if found is None:
        reason = "Chromium is not installed (apt-get install chromium; .ci/run installs it)"
        unavailable(reason)
    return found


@pytest.fixture
def site(sqlite_template: Path, tmp_path: Path) -> Iterator[Served]:
    browser = chromium()
    assert browser
    with serve(approved_site(sqlite_template, tmp_path), tmp_path) as served:
        yield served


class Page:
    """One page target over the DevTools protocol: commands and the events between them."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.last_id = 0
        self.events: list[str] = []

    async def _next(self) -> dict[str, Any]:
        message = await asyncio.wait_for(self.ws.receive(), STEP_SECONDS)
        if message.type != aiohttp.WSMsgType.TEXT:
            raise AssertionError(f"DevTools connection ended: {message.type}")
        decoded: dict[str, Any] = json.loads(message.data)
        return decoded

    async def call(self, method: str, **params: Any) -> dict[str, Any]:
        self.last_id += 1
        await self.ws.send_json({"id": self.last_id, "method": method, "params": params})
        while True:
            message = await self._next()
            if message.get("id") == self.last_id:
                if "error" in message:
                    raise AssertionError(f"{method}: {message['error']}")
                result: dict[str, Any] = message.get("result", {})
                return result
            if "method" in message:
                self.events.append(message["method"])

    async def loaded(self) -> None:
        while "Page.loadEventFired" not in self.events:
            message = await self._next()
            if "method" in message:
                self.events.append(message["method"])
        self.events.clear()

    async def go(self, url: str) -> None:
        self.events.clear()
        await self.call("Page.navigate", url=url)
        await self.loaded()

    async def value(self, expression: str) -> Any:
        result = await self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        return result["result"].get("value")

    async def key(self, key: str, code: int, text: str = "") -> None:
        """Press and release a key (`text`: what it types, "\r" for Enter)."""
        for kind in ("keyDown", "keyUp"):
            typed = {"text": text} if text and kind == "keyDown" else {}
            await self.call(
                "Input.dispatchKeyEvent",
                type=kind,
                key=key,
                code=key,
                windowsVirtualKeyCode=code,
                nativeVirtualKeyCode=code,
                **typed,
            )

    async def screenshot(self, name: str, metrics: dict[str, Any]) -> Path:
        await self.call("Emulation.setDeviceMetricsOverride", **metrics)
        shot = await self.call("Page.captureScreenshot", format="png", captureBeyondViewport=True)
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / name
        path.write_bytes(base64.b64decode(shot["data"]))
        return path


@contextlib.asynccontextmanager
async def browser(tmp_path: Path) -> AsyncIterator[Page]:
    port = free_port()
    process = subprocess.Popen(
        [
            chromium(),
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--hide-scrollbars",
            f"--user-data-dir={tmp_path / 'chromium'}",
            f"--remote-debugging-port={port}",
            "about:blank",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        target = _page_target(port, process)
        async with (
            aiohttp.ClientSession() as session,
            session.ws_connect(target, max_msg_size=0) as ws,
        ):
            page = Page(ws)
            await page.call("Page.enable")
            yield page
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def _page_target(port: int, process: subprocess.Popen[bytes]) -> str:
    deadline = time.monotonic() + STEP_SECONDS
    while time.monotonic() < deadline and process.poll() is None:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=2) as r:
                pages = [t for t in json.load(r) if t.get("type") == "page"]
            if pages:
                return str(pages[0]["webSocketDebuggerUrl"])
        except OSError:
            pass
        time.sleep(0.1)
    raise AssertionError("Chromium's DevTools endpoint did not come up")


async def test_a_person_finds_their_street_in_a_real_browser(site: Served, tmp_path: Path) -> None:
    async def visit() -> None:
        async with browser(tmp_path) as page:
            await page.call("Emulation.setDeviceMetricsOverride", **PHONE)
            await page.go(f"{site.url}/EG/")
            assert await page.value("document.documentElement.lang") == "en"  # Chromium's
            await page.go(f"{site.url}/EG/?lang=sl")
            assert await page.value("document.documentElement.lang") == "sl"
            await page.screenshot("overview-390.png", PHONE)
            await page.call("Emulation.setDeviceMetricsOverride", **PHONE)
            await page.value("document.querySelector('.places a').focus()")
            page.events.clear()
            await page.key("Enter", 13, "\r")  # follow the settlement's link by keyboard
            await page.loaded()
            assert await page.value("location.search") == "?settlement=Kranj&lang=sl"
            assert "Prešernova ulica" in await page.value("document.body.innerText")
            await page.key("Tab", 9)
            assert await page.value("document.activeElement.className") == "skip"
            await page.screenshot("listing-390.png", PHONE)
            await page.screenshot("listing-desktop.png", DESKTOP)

            await page.call("Emulation.setDeviceMetricsOverride", **PHONE)
            assert await page.value("document.getElementById('settlement').value") == "Kranj"
            await page.value("document.getElementById('settlement').value = ''")
            await page.value("document.getElementById('settlement').focus()")
            await page.call("Input.insertText", text="Kranj")
            await page.value("document.getElementById('street').focus()")
            await page.call("Input.insertText", text="Prešernova")
            page.events.clear()
            await page.key("Enter", 13, "\r")
            await page.loaded()
            assert await page.value("location.pathname") == "/EG/search"
            answer = await page.value("document.getElementById('answer').innerText")
            assert answer.startswith("Načrtovana dela, ki ga zadevajo")
            works = await page.value("document.querySelector('.works').innerText")
            assert "Prešernova ulica" in works and "Labore" not in works
            await page.screenshot("search-390.png", PHONE)
            await page.screenshot("search-desktop.png", DESKTOP)

    await asyncio.wait_for(visit(), 120)
    for name in (
        "overview-390.png",
        "listing-390.png",
        "listing-desktop.png",
        "search-390.png",
        "search-desktop.png",
    ):
        assert (ARTIFACTS / name).stat().st_size > 1000, name


@pytest.fixture
def site_with_db(sqlite_template: Path, tmp_path: Path) -> Iterator[tuple[Served, Path]]:
    assert chromium()
    database = approved_site(sqlite_template, tmp_path)
    with serve(database, tmp_path) as served:
        yield served, database


def code_sent_to(database: Path, address: str) -> str:
    """The code the sign-up wrote to the outbox for `address` (the sandbox sends it)."""
    engine = create_db_engine(f"sqlite:///{database}")
    try:
        with engine.connect() as conn:
            body = conn.execute(
                select(message.c.body)
                .where(message.c.address == address, message.c.inbound_id.is_not(None))
                .order_by(message.c.id.desc())
            ).scalar_one()
    finally:
        engine.dispose()
    return re.findall(r"\b\d{6}\b", body)[0]


async def test_a_person_signs_up_and_prints_a_notice_in_a_real_browser(
    site_with_db: tuple[Served, Path], tmp_path: Path
) -> None:
    site, database = site_with_db

    async def type_into(page: Page, element: str, text: str) -> None:
        await page.value(f"document.getElementById('{element}').focus()")
        await page.call("Input.insertText", text=text)

    async def visit() -> bytes:
        async with browser(tmp_path) as page:
            await page.call("Emulation.setDeviceMetricsOverride", **PHONE)
            await page.go(f"{site.url}/EG/?lang=sl")
            await page.value("document.querySelector('.signup a').focus()")
            page.events.clear()
            await page.key("Enter", 13, "\r")
            await page.loaded()
            assert await page.value("location.pathname") == "/EG/signup"
            await type_into(page, "identifier", "6-100001")
            await type_into(page, "proof", "10001")
            await page.value("document.querySelector('input[value=sms]').click()")
            await type_into(page, "phone", "040 999 888")
            await page.screenshot("signup-390.png", PHONE)
            await page.screenshot("signup-desktop.png", DESKTOP)
            await page.call("Emulation.setDeviceMetricsOverride", **PHONE)
            page.events.clear()
            await page.value("document.querySelector('#signup button').click()")
            await page.loaded()
            said = await page.value("document.getElementById('codes').innerText")
            assert "Šestmestno kodo smo poslali na +386 … 888" in said
            await type_into(page, "code1", code_sent_to(database, "+38640999888"))
            await page.screenshot("signup-code-390.png", PHONE)
            await page.screenshot("signup-code-desktop.png", DESKTOP)
            await page.call("Emulation.setDeviceMetricsOverride", **PHONE)
            page.events.clear()
            await page.key("Enter", 13, "\r")
            await page.loaded()
            done = await page.value("document.querySelector('.done').innerText")
            assert done.startswith("Urejeno: +386 … 888 bo prejemal obvestila")
            await page.screenshot("signup-done-390.png", PHONE)
            await page.screenshot("signup-done-desktop.png", DESKTOP)

            await page.go(f"{site.url}/EG/?settlement=Kranj&lang=sl")
            notices = await page.value("document.querySelector('.notices a').href")
            await page.go(notices)
            pdf = await page.call("Page.printToPDF", preferCSSPageSize=True)
            return base64.b64decode(pdf["data"])

    pdf = await asyncio.wait_for(visit(), 120)
    (ARTIFACTS / "notices.pdf").write_bytes(pdf)
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    text = "\n".join(p.extract_text() for p in reader.pages)
    assert len(reader.pages) >= 2  # one A4 page per entrance
    assert "Prešernova ulica 5" in text and "Elektro Gorenjska" in text
    engine = create_db_engine(f"sqlite:///{database}")
    with engine.connect() as conn:
        consent = conn.execute(
            select(contact.c.consent).where(contact.c.address == "+38640999888")
        ).scalar_one()
    engine.dispose()
    assert consent == "opted_in"
    for name in ("signup", "signup-code", "signup-done"):
        for width in ("390", "desktop"):
            assert (ARTIFACTS / f"{name}-{width}.png").stat().st_size > 1000
