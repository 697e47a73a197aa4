"""KannelSender against a real Kannel (what handsets would get, delivery
reports back through the real listener, refusals) and against a tiny local
HTTP server for the answers Kannel never gives (503, 429, 500, hangs, drops)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
from aiohttp import web

from dispatch_tui.domain.sms import analyse
from dispatch_tui.engine.listener import DeliveryReport, Listener
from dispatch_tui.senders.base import OutgoingMessage, Sender
from dispatch_tui.senders.kannel import KannelSender, retry_after_seconds
from tests.gateways import Kannel, KannelFactory, free_port

SLOVENE = "Načrtovan izklop električne energije: Ljubljana, Šišenska 12"
UKRAINIAN = "Планове відключення: Київ, вул. Хрещатик 1"
BULGARIAN = "Планирано изключване на електрозахранването: София, ул. Васил Левски 3"
GSM = "Izklop: Trg 5, 8:00-12:00 {ä ö ü} [é è] ~ ^ | \\ £ € @ _"
NUMBER = "+38640111222"


def sms(i: int, text: str, *, flag: bool | None = None, to: str = NUMBER) -> OutgoingMessage:
    """As the engine builds it: the UCS-2 flag from the text unless given."""
    ucs2 = analyse(text).encoding != "GSM-7" if flag is None else flag
    return OutgoingMessage(i, "sms", to, text, sender="ELEKTRO", coding_ucs2=ucs2)


def sender_for(url: str, *, password: str = "testpw", timeout: float = 10.0) -> KannelSender:
    return KannelSender(
        url=url, username="tester", password=password, dlr_url=None, timeout=timeout
    )


@pytest.fixture
async def to_kannel(kannel: Kannel) -> AsyncIterator[KannelSender]:
    sender = sender_for(kannel.sendsms_url)
    yield sender
    await sender.close()


def test_it_is_a_sender() -> None:
    sender = sender_for("http://127.0.0.1:13013/cgi-bin/sendsms")
    assert isinstance(sender, Sender)
    assert sender.channel == "sms"
    assert sender.label == "SMS via Kannel 127.0.0.1:13013"


async def test_slovene_and_cyrillic_arrive_intact(kannel: Kannel, to_kannel: KannelSender) -> None:
    texts = [SLOVENE, UKRAINIAN, BULGARIAN]
    messages = [sms(i, t) for i, t in enumerate(texts)]
    # A caller that forgot the flag still gets UCS-2, not question marks.
    messages.append(sms(9, SLOVENE + " (2)", flag=False))
    outcomes = await asyncio.gather(*(to_kannel.send(m) for m in messages))
    assert [o.status for o in outcomes] == ["sent"] * 4
    handsets = await asyncio.to_thread(kannel.wait_for_mt, 4)
    assert sorted(h.text for h in handsets) == sorted([*texts, SLOVENE + " (2)"])
    assert {(h.sender, h.receiver, h.kind, h.parts) for h in handsets} == {
        ("ELEKTRO", NUMBER, "ucs-2", 1)
    }


async def test_gsm_text_travels_as_7_bit_text(kannel: Kannel, to_kannel: KannelSender) -> None:
    assert (await to_kannel.send(sms(1, GSM))).status == "sent"
    [handset] = await asyncio.to_thread(kannel.wait_for_mt, 1)
    assert (handset.text, handset.kind) == (GSM, "text")


async def test_long_texts_arrive_whole(kannel: Kannel, to_kannel: KannelSender) -> None:
    long_gsm = "Izklop elektrike v Ljubljani, cena 0 €: " + "Trg republike 1, " * 12
    long_ucs2 = (UKRAINIAN + ". ") * 4
    for i, text in enumerate((long_gsm, long_ucs2)):
        assert (await to_kannel.send(sms(i, text))).status == "sent"
    handsets = await asyncio.to_thread(kannel.wait_for_mt, 2)
    # Kannel splits exactly as the preview counts segments.
    assert {(h.text, h.kind, h.parts) for h in handsets} == {
        (long_gsm, "text", analyse(long_gsm).segments),
        (long_ucs2, "ucs-2", analyse(long_ucs2).segments),
    }
    assert analyse(long_gsm).segments == 2 and analyse(long_ucs2).segments == 3


async def test_delivery_reports_come_back_to_the_listener(kannel: Kannel) -> None:
    reports: list[DeliveryReport] = []
    both = asyncio.Event()

    async def on_report(report: DeliveryReport) -> bool:
        reports.append(report)
        if {r.status for r in reports} >= {1, 8}:
            both.set()
        return True

    listener = Listener(host="127.0.0.1", port=0, token="dlr-token", on_report=on_report)
    await listener.start()
    sender = KannelSender(
        url=kannel.sendsms_url,
        username=kannel.username,
        password=kannel.password,
        dlr_url=listener.report_url(),
    )
    try:
        assert (await sender.send(sms(4242, SLOVENE))).status == "sent"
        await asyncio.wait_for(both.wait(), 10)
    finally:
        await sender.close()
        await listener.close()
    # The fake SMSC acknowledges (8, "ACK/") and then reports delivery (1).
    assert {r.message_id for r in reports} == {4242}
    by_status = {r.status: r.detail for r in reports}
    assert by_status[8] == "smsc=fake reply=ACK/" and by_status[1] == "smsc=fake"


async def test_refusals_by_kannel(kannel: Kannel, to_kannel: KannelSender) -> None:
    bad_number = await to_kannel.send(sms(1, "Test", to="abc"))
    assert bad_number.status == "failed"
    assert "400" in bad_number.reason and "denied" in bad_number.reason
    wrong = sender_for(kannel.sendsms_url, password="wrong")
    try:
        refused = await wrong.send(sms(2, "Test"))
    finally:
        await wrong.close()
    assert (refused.status, refused.retry_after) == ("retry", 60.0)
    assert "refused our credentials" in refused.reason
    assert "Authorization failed" in refused.reason
    no_sender = await to_kannel.send(OutgoingMessage(3, "sms", NUMBER, "Test"))
    assert (no_sender.status, no_sender.retry_after) == ("retry", 60.0)
    assert "Sender missing" in no_sender.reason and "no sender id" in no_sender.reason
    assert kannel.received() == []


async def test_no_route_to_the_smsc_is_retried(kannel_factory: KannelFactory) -> None:
    kannel = kannel_factory()
    assert "shut down" in await asyncio.to_thread(kannel.admin, "stop-smsc", smsc="fake")
    sender = sender_for(kannel.sendsms_url)
    try:
        outcome = await sender.send(sms(1, "Test"))
    finally:
        await sender.close()
    assert outcome.status == "retry" and "Not routable" in outcome.reason


async def test_kannel_not_listening_is_retried() -> None:
    sender = sender_for(f"http://127.0.0.1:{free_port()}/cgi-bin/sendsms")
    try:
        outcome = await sender.send(sms(1, "Test"))
    finally:
        await sender.close()
    assert outcome.status == "retry" and "cannot connect" in outcome.reason


@dataclass
class Scripted:
    """A local stand-in for smsbox that answers as told and keeps every query."""

    status: int = 202
    body: str = "0: Accepted for delivery"
    headers: dict[str, str] = field(default_factory=dict)
    hang: bool = False
    queries: list[dict[str, str]] = field(default_factory=list)
    raw: list[str] = field(default_factory=list)
    release: asyncio.Event = field(default_factory=asyncio.Event)
    url: str = ""

    async def handle(self, request: web.Request) -> web.Response:
        self.queries.append(dict(request.query))
        self.raw.append(request.raw_path)
        if self.hang:
            await self.release.wait()
        return web.Response(status=self.status, text=self.body, headers=self.headers)


@pytest.fixture
async def scripted() -> AsyncIterator[Scripted]:
    gateway = Scripted()
    app = web.Application()
    app.router.add_get("/cgi-bin/sendsms", gateway.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    gateway.url = f"http://127.0.0.1:{runner.addresses[0][1]}/cgi-bin/sendsms"
    yield gateway
    gateway.release.set()
    await runner.cleanup()


@pytest.mark.parametrize(
    ("status", "headers", "expected", "retry_after"),
    [
        (202, {}, "sent", None),
        (200, {}, "sent", None),
        (503, {"Retry-After": "7"}, "retry", 7.0),
        (429, {"Retry-After": "2.5"}, "retry", 2.5),
        (429, {"Retry-After": "Wed, 21 Oct 2026 07:28:00 GMT"}, "retry", None),
        (500, {"Retry-After": "soon"}, "retry", None),
        (400, {}, "failed", None),
        (404, {}, "failed", None),
    ],
)
async def test_answers_are_classified(
    scripted: Scripted,
    status: int,
    headers: dict[str, str],
    expected: str,
    retry_after: float | None,
) -> None:
    scripted.status, scripted.headers, scripted.body = status, headers, "said " + "x" * 500
    sender = sender_for(scripted.url)
    try:
        outcome = await sender.send(sms(1, "Test"))
    finally:
        await sender.close()
    assert (outcome.status, outcome.retry_after) == (expected, retry_after)
    if expected != "sent":
        assert str(status) in outcome.reason and "said xxx" in outcome.reason
        assert len(outcome.reason) < 300


async def test_parameters_reach_kannel_as_meant(scripted: Scripted) -> None:
    template = "http://127.0.0.1:9/dlr/tok?id={id}&status=%d&smsc=%i&reply=%A"
    sender = KannelSender(url=scripted.url, username="u", password="p&=", dlr_url=template)
    try:
        await sender.send(sms(77, SLOVENE))
        await sender.send(sms(78, GSM))
    finally:
        await sender.close()
    ucs2, gsm = scripted.queries
    assert ucs2 == {
        "username": "u",
        "password": "p&=",
        "from": "ELEKTRO",
        "to": NUMBER,
        "text": SLOVENE,
        "charset": "UTF-8",
        "coding": "2",
        "dlr-mask": "27",
        "dlr-url": "http://127.0.0.1:9/dlr/tok?id=77&status=%d&smsc=%i&reply=%A",
    }
    assert (
        "coding" not in gsm
        and gsm["text"] == GSM
        and gsm["dlr-url"].endswith("id=78&status=%d&smsc=%i&reply=%A")
    )
    # Gotcha 2: the escapes travel as %25d..., the "+" of the number as %2B.
    assert "status%3D%25d%26smsc%3D%25i%26reply%3D%25A" in scripted.raw[0]
    assert "to=%2B38640111222" in scripted.raw[0]


async def test_no_answer_after_sending_is_unknown(scripted: Scripted) -> None:
    scripted.hang = True
    sender = sender_for(scripted.url, timeout=0.3)
    try:
        outcome = await sender.send(sms(1, "Test"))
    finally:
        await sender.close()
    assert outcome.status == "unknown" and "no answer after sending" in outcome.reason
    assert len(scripted.queries) == 1


async def test_a_drop_after_the_request_is_unknown_and_not_resent() -> None:
    """aiohttp would quietly send a dropped GET again: a second SMS."""
    requests = 0

    async def take_and_drop(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal requests
        await reader.readuntil(b"\r\n\r\n")
        requests += 1
        writer.close()

    server = await asyncio.start_server(take_and_drop, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    sender = sender_for(f"http://127.0.0.1:{port}/cgi-bin/sendsms", timeout=5)
    try:
        outcome = await sender.send(sms(1, "Test"))
    finally:
        await sender.close()
        server.close()
        await server.wait_closed()
    assert outcome.status == "unknown" and requests == 1


async def test_the_session_is_shared_and_reopened_after_close(scripted: Scripted) -> None:
    sender = sender_for(scripted.url)
    try:
        await asyncio.gather(*(sender.send(sms(i, "Test")) for i in range(20)))
        first = sender._session
        await sender.send(sms(21, "Test"))
        assert sender._session is first
        await sender.close()
        assert (await sender.send(sms(22, "Test"))).status == "sent"
    finally:
        await sender.close()
    assert len(scripted.queries) == 22


def test_retry_after_values() -> None:
    assert retry_after_seconds("7") == 7.0
    assert retry_after_seconds(" 0 ") == 0.0
    for junk in (None, "", "-1", "nan", "inf", "Wed, 21 Oct 2026 07:28:00 GMT"):
        assert retry_after_seconds(junk) is None
