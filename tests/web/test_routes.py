"""Every route of the public web on SQLite and PostgreSQL: pages, search, feeds, health,
conditional GETs, and bad input of every kind (a 4xx naming the problem, nothing changed)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from datetime import timedelta
from email.utils import format_datetime
from importlib import resources
from pathlib import Path

import icalendar
import jsonschema
import pytest
from lxml import etree
from multidict import CIMultiDictProxy
from sqlalchemy import create_engine

from dispatch_tui.storage import outage_lifecycle
from tests.storage.csvdata import dump
from tests.web.conftest import Site

XSD = Path(__file__).with_name("CAP-v1.2.xsd")
CAP = "{urn:oasis:names:tc:emergency:cap:1.2}"
ATOM = "{http://www.w3.org/2005/Atom}"


async def get(site: Site, path: str, **headers: str) -> tuple[int, str, CIMultiDictProxy[str]]:
    response = await site.client.get(path, headers=headers)
    return response.status, await response.text(), response.headers


async def test_the_listing_names_streets_houses_and_local_times(site: Site) -> None:
    status, body, headers = await get(site, "/EG/")
    assert status == 200 and 'href="/EG/?settlement=Kranj&amp;lang=sl">Kranj</a>' in body
    status, body, headers = await get(site, "/EG/?settlement=kranj")
    assert status == 200
    assert '<html lang="sl">' in body
    assert "Prešernova ulica" in body and "5, 7" in body and "Labore" in body
    assert "načrtovano" in body and "Zadnja posodobitev" in body
    assert headers["Content-Security-Policy"].startswith("default-src 'none'")
    english = (await get(site, "/EG/?settlement=Kranj", **{"Accept-Language": "en-GB,en"}))[1]
    assert '<html lang="en">' in english and "Planned works" in english
    switched = (await get(site, "/EG/?settlement=Kranj&lang=en"))[1]
    assert '<html lang="en">' in switched and 'href="/EG/?settlement=Kranj&amp;lang=sl"' in switched


async def test_index_health_stylesheet_and_schema(site: Site) -> None:
    status, body, _ = await get(site, "/")
    assert status == 200 and "/EG/" in body and "/ZOE/" in body
    status, body, _ = await get(site, "/health")
    assert status == 200 and json.loads(body)["status"] == "ok"
    assert (await get(site, "/static/style.css"))[0] == 200
    status, body, _ = await get(site, "/schema/planned-works-1.schema.json")
    assert status == 200 and json.loads(body)["properties"]["version"] == {"const": 1}
    status, _, _ = await get(site, "/EG")
    assert status == 200  # redirected to /EG/


async def test_search_by_street_and_by_metering_point(site: Site) -> None:
    status, body, _ = await get(site, "/EG/search?settlement=kranj&street=presern")
    assert status == 200 and "Prešernova ulica" in body and 'id="answer"' in body
    assert "V naslednjih 30 dneh ga ne zadeva" not in body
    status, body, _ = await get(site, "/EG/search?settlement=Naklo")
    assert status == 200 and "V naslednjih 30 dneh ga ne zadeva" in body
    status, body, _ = await get(site, "/EG/search?mp=6100001")
    assert status == 200 and "Načrtovana dela, ki ga zadevajo" in body
    assert "Prešernova" not in body.split('id="answer"')[1]  # a metering point: no street
    status, body, _ = await get(site, "/EG/search?mp=6-999999")
    assert status == 200 and "V naslednjih 30 dneh ga ne zadeva" in body
    status, body, _ = await get(site, "/EG/search")
    assert status == 200 and 'id="answer"' not in body


BAD = [
    ("/EG/search?settlement=", 400, "Vpišite naselje"),
    ("/EG/search?street=Labore", 400, "Ulica potrebuje naselje"),
    ("/EG/search?settlement=Kranj&mp=6-100001", 400, "ne po obojem"),
    ("/EG/search?mp=abc", 400, "6-123456"),
    ("/EG/search?settlement=" + "x" * 101, 400, "predolgo"),
    ("/EG/search?settlement=Kr%00anj", 400, "niso besedilo"),
    ("/EG/search?settlement=Kranj&settlement=Naklo", 400, "settlement"),
    ("/EG/search?settlement=Kranj&q=1", 400, "Neznan parameter"),
    ("/EG/?lang=de", 400, "Neznan jezik"),
    ("/EG/?lang=uk", 400, "Neznan jezik"),
    ("/EG/?x=1", 400, "Neznan parameter"),
    ("/EG/?settlement=", 400, "Vpišite naselje"),
    ("/EG/?settlement=Atlantis", 404, "Atlantis"),
    ("/XX/", 404, "no distribution company"),
    ("/EG/calendar.ics", 400, "Vpišite naselje"),
    ("/EG/calendar.ics?settlement=Atlantis", 404, "Atlantis"),
    ("/EG/works.json?x=1", 400, "Neznan parameter"),
    ("/EG/cap.atom?x=1", 400, "Neznan parameter"),
    ("/schema/other.json", 404, "no such page"),
    ("/nowhere/at/all", 404, "no such page"),
    ("/EG/search?settlement=%C3%28", 400, "niso besedilo"),
]


async def test_bad_requests_are_4xx_with_a_message_and_change_nothing(site: Site) -> None:
    before = dump(site.engine)
    for path, status, message in BAD:
        got, body, _ = await get(site, path)
        assert (path, got, message in body) == (path, status, True), body[:800]
    assert dump(site.engine) == before


async def test_a_post_is_refused_with_405(site: Site) -> None:
    response = await site.client.post("/EG/", data=b"x")
    assert response.status == 405 and "GET" in response.headers["Allow"]


@pytest.mark.parametrize("path", ["/EG/?settlement=Kranj", "/EG/works.json", "/EG/cap.atom"])
async def test_conditional_get_answers_304(site: Site, path: str) -> None:
    status, _, headers = await get(site, path)
    assert status == 200 and headers["ETag"] and headers["Last-Modified"]
    assert (await get(site, path, **{"If-None-Match": headers["ETag"]}))[0] == 304
    assert (await get(site, path, **{"If-Modified-Since": headers["Last-Modified"]}))[0] == 304
    assert (await get(site, path, **{"If-None-Match": '"other"'}))[0] == 200
    earlier = format_datetime(
        site.listing.snapshot.as_of - timedelta(days=1),
        usegmt=True,  # type: ignore[union-attr]
    )
    assert (await get(site, path, **{"If-Modified-Since": earlier}))[0] == 200


async def test_the_json_feed_follows_its_schema(site: Site) -> None:
    status, body, _ = await get(site, "/EG/works.json")
    assert status == 200
    feed = json.loads(body)
    schema_text = (
        resources.files("dispatch_tui.web") / "schema" / "planned-works-1.schema.json"
    ).read_text()
    jsonschema.validate(feed, json.loads(schema_text))
    (work,) = feed["works"]
    assert work["id"] == f"EG-{site.outage_id}" and work["status"] == "planned"
    streets = {s["street"]: s["houses"] for s in work["places"][0]["streets"]}
    assert streets == {"Labore": "12a", "Prešernova ulica": "5, 7"}


def _cap_alerts(body: str) -> list[etree._Element]:
    feed = etree.fromstring(body.encode())
    return [entry.find(f"{ATOM}content/{CAP}alert") for entry in feed.iter(f"{ATOM}entry")]


async def test_cap_alerts_validate_against_the_official_xsd(site: Site) -> None:
    schema = etree.XMLSchema(etree.parse(str(XSD)))
    status, body, headers = await get(site, "/EG/cap.atom")
    assert status == 200 and headers["Content-Type"].startswith("application/atom+xml")
    (alert,) = _cap_alerts(body)
    schema.assertValid(alert)
    assert alert.findtext(f"{CAP}msgType") == "Alert"
    outage_lifecycle.cancel(site.engine, site.outage_id, actor="bohdan", reason="vreme")
    assert await site.listing.refresh()
    (cancelled,) = _cap_alerts((await get(site, "/EG/cap.atom"))[1])
    schema.assertValid(cancelled)
    assert cancelled.findtext(f"{CAP}msgType") == "Cancel"


def _events(body: str) -> list[icalendar.Event]:
    return list(icalendar.Calendar.from_ical(body).walk("VEVENT"))


async def test_a_cancellation_round_trips_through_the_calendar(site: Site) -> None:
    path = "/EG/calendar.ics?settlement=Kranj"
    status, body, headers = await get(site, path)
    assert status == 200 and headers["Content-Type"].startswith("text/calendar")
    (event,) = _events(body)
    uid, sequence = str(event["UID"]), int(event["SEQUENCE"])
    assert str(event["STATUS"]) == "CONFIRMED"
    outage_lifecycle.cancel(site.engine, site.outage_id, actor="bohdan", reason="vreme")
    assert await site.listing.refresh()
    status, body, after = await get(site, path)
    (cancelled,) = _events(body)
    assert str(cancelled["UID"]) == uid and str(cancelled["STATUS"]) == "CANCELLED"
    assert int(cancelled["SEQUENCE"]) > sequence
    assert after["ETag"] != headers["ETag"]
    page = (await get(site, "/EG/?settlement=Kranj"))[1]
    assert "preklicano" in page  # still listed, as cancelled, until its time has passed


async def test_an_amendment_is_public_once_approved_again(site: Site) -> None:
    """Nobody was told yet, so the amended outage leaves the page until it is approved
    again (its new window is not public before); then the same UID, a higher SEQUENCE."""
    ical = "/EG/calendar.ics?settlement=Kranj"
    (before,) = _events((await get(site, ical))[1])
    start = before.decoded("DTSTART")
    new_start = start + timedelta(days=1)
    outage_lifecycle.amend(
        site.engine, site.outage_id, new_start, new_start + timedelta(hours=2), actor="ana"
    )
    assert await site.listing.refresh()
    assert (await get(site, ical))[0] == 404
    with site.engine.connect() as conn:
        warnings = outage_lifecycle.approval_warnings(conn, site.outage_id)
    outage_lifecycle.approve(site.engine, site.outage_id, actor="bohdan", warnings_seen=warnings)
    assert await site.listing.refresh()
    (moved,) = _events((await get(site, ical))[1])
    assert moved.decoded("DTSTART") == new_start
    assert int(moved["SEQUENCE"]) > int(before["SEQUENCE"])
    assert str(moved["UID"]) == str(before["UID"])


async def test_the_listing_stays_up_with_its_as_of_time_when_the_database_is_away(
    site: Site,
) -> None:
    reachable = site.listing.db
    if reachable.dialect.name == "postgresql":
        site.listing.db = create_engine("postgresql+psycopg://nobody@127.0.0.1:1/none")
    else:
        site.listing.db = create_engine("sqlite:////nonexistent-dir/none.sqlite")
    try:
        assert not await site.listing.refresh()
        status, body, _ = await get(site, "/EG/?settlement=Kranj")
        assert status == 200 and "Prešernova ulica" in body
        assert "Seznama ni bilo mogoče osvežiti" in body
        assert json.loads((await get(site, "/health"))[1])["stale"] is True
        status, body, _ = await get(site, "/EG/search?mp=6-100001")
        assert status == 503 and "ni na voljo" in body
    finally:
        site.listing.db.dispose()
        site.listing.db = reachable
    assert await site.listing.refresh()
    assert "Seznama ni bilo" not in (await get(site, "/EG/?settlement=Kranj"))[1]


async def test_a_cancellation_reaches_the_listing_by_itself(site: Site) -> None:
    """The refresher follows the outages' change signal: no periodic refresh within the
    test (60 s), yet the cancellation shows within seconds."""
    task = asyncio.create_task(site.listing.run())
    try:
        await asyncio.sleep(0.5)  # the watcher is counting / listening
        await asyncio.to_thread(
            outage_lifecycle.cancel, site.engine, site.outage_id, actor="bohdan", reason="vreme"
        )
        deadline = time.monotonic() + 10
        while not (await get(site, "/EG/works.json"))[1].count('"cancelled"'):
            assert time.monotonic() < deadline, "the cancellation never reached the listing"
            await asyncio.sleep(0.2)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
