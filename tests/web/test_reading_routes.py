"""The meter-reading form over the real aiohttp app, on SQLite and PostgreSQL (also
as the web's own role): a reading taken and confirmed, CSRF, every bad input a clear
answer with nothing accepted, an unknown account and a wrong proof the same bytes."""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.engine import make_url

from dispatch_tui.storage import reading_web
from dispatch_tui.storage.tables import meter_reading, metering_point
from tests.web.conftest import Site, serve_site

NOW = datetime(2026, 11, 30, 10, tzinfo=UTC)
OLENA = {"identifier": "100000001", "proof": "UA-777001", "reading": "12 345,5"}
"""Account 100000001 of ZOE: one metering point, meter UA-777001."""


class _Clock(datetime):
    @classmethod
    def now(cls, tz: object = None) -> _Clock:  # type: ignore[override]
        return cls.fromtimestamp(NOW.timestamp(), UTC)


@pytest.fixture(autouse=True)
def window_open(monkeypatch: pytest.MonkeyPatch) -> None:
    """The form takes the time from the clock: 30 November, inside the window."""
    monkeypatch.setattr(reading_web, "datetime", _Clock)


async def form_token(site: Site) -> str:
    response = await site.client.get("/ZOE/reading")
    assert response.status == 200
    token = re.search(r'name="csrf" value="([^"]+)"', await response.text())
    assert token
    return token[1]


async def send(site: Site, fields: dict[str, str], ip: str = "192.0.2.1") -> tuple[int, str]:
    token = await form_token(site)
    response = await site.client.post(
        "/ZOE/reading", data={"csrf": token, **fields}, headers={"X-Forwarded-For": ip}
    )
    return response.status, await response.text()


def taken(engine: Engine) -> list[tuple[str, str | None, int | None]]:
    with engine.connect() as conn:
        rows = conn.execute(select(meter_reading).order_by(meter_reading.c.id))
        return [(r.status, r.reason, r.value_wh) for r in rows]


async def test_a_reading_by_the_web_form(site: Site) -> None:
    response = await site.client.get("/ZOE/reading")
    body = await response.text()
    assert 'for="reading-value"' in body and "<script" not in body
    status, body = await send(site, OLENA)
    assert status == 200, body
    assert "Показ 12345.5 за 11.2026 прийнято. Дякуємо!" in body
    fixed = await send(site, {**OLENA, "reading": "12346"})
    assert "Попередній показ за 11.2026 замінено" in fixed[1]
    assert taken(site.engine) == [("replaced", None, 12_345_500), ("accepted", None, 12_346_000)]
    with site.engine.connect() as conn:
        row = conn.execute(select(meter_reading).where(meter_reading.c.status == "accepted")).one()
    assert row.channel == "web" and row.chat.startswith("web:") and "192.0.2" not in row.chat


async def test_the_meter_named_by_the_proof_is_the_one_read(site: Site) -> None:
    """Account 100000002 has two metering points: its meter numbers tell them apart."""
    ivan = {"identifier": "100000002", "reading": "4512"}
    first = await send(site, {**ivan, "proof": "UA-777002"})
    second = await send(site, {**ivan, "proof": "ua 777 001", "reading": "800"})
    assert first[0] == second[0] == 200 and "прийнято" in second[1]
    with site.engine.connect() as conn:
        rows = conn.execute(
            select(metering_point.c.mp_id, meter_reading.c.value_wh)
            .join(metering_point, metering_point.c.id == meter_reading.c.mp_id)
            .order_by(meter_reading.c.id)
        ).all()
    assert [tuple(r) for r in rows] == [("100000002", 4_512_000), ("100000001", 800_000)]


async def test_an_unknown_account_and_a_wrong_proof_are_the_same_page(site: Site) -> None:
    """From two addresses (behind a trusted proxy), so each has its own budget."""
    async with serve_site(
        site.engine, site.url, site.outage_id, trust_forwarded_for=True
    ) as proxied:
        wrong = await send(proxied, {**OLENA, "proof": "UA-000000"}, ip="192.0.2.7")
        unknown = await send(proxied, {**OLENA, "identifier": "199999999"}, ip="192.0.2.8")
    assert wrong[0] == unknown[0] == 400
    assert wrong[1].replace("199999999", "100000001") == wrong[1]  # nothing echoed
    assert re.sub(r'value="[^"]{20,}"', "", wrong[1]) == re.sub(
        r'value="[^"]{20,}"', "", unknown[1]
    )
    assert [r[:2] for r in taken(site.engine)] == [("refused", "unknown_account")] * 2


@pytest.mark.parametrize(
    ("fields", "status", "said"),
    [
        ({"reading": "дванадцять"}, 400, "Показ має бути числом"),
        ({"reading": "12345", "night": "1230"}, 400, "Потрібно 1 показ"),
        ({"reading": "12345,6789"}, 400, "не більше 3 знаків"),
        ({"reading": ""}, 400, "Покази лічильника"),
        ({"identifier": "12"}, 400, "neither a metering point id"),
        ({"proof": ""}, 400, "meter number"),
        ({"reading": "1" * 41}, 400, "не більше 40 символів"),
    ],
)
async def test_bad_input_is_answered_and_nothing_is_accepted(
    site: Site, fields: dict[str, str], status: int, said: str
) -> None:
    answer = await send(site, {**OLENA, **fields})
    assert answer[0] == status and said in answer[1], answer[1][-800:]
    assert all(r[0] == "refused" for r in taken(site.engine))


async def test_no_reading_without_the_form_s_token(site: Site) -> None:
    response = await site.client.post("/ZOE/reading", data=OLENA)
    assert response.status == 403
    assert taken(site.engine) == []


async def test_as_the_web_role_on_postgresql(
    backend: str, engine: Engine, db_url: str, tmp_path: object
) -> None:
    if backend != "postgresql":
        pytest.skip("SQLite is one trust domain: it has no database roles")
    from tests.factories import approved_outage

    oid = approved_outage(engine, tmp_path)  # type: ignore[arg-type]
    role = f"pgwebreading_{os.getpid()}"
    with engine.begin() as conn:
        conn.execute(
            text(f"""
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{role}') THEN
        CREATE ROLE {role} LOGIN IN ROLE dispatch_web;
    END IF;
EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
END
$$""")
        )
    web_url = make_url(db_url).set(username=role).render_as_string(hide_password=False)
    async with serve_site(engine, web_url, oid, actor=role) as site:
        assert (await send(site, OLENA))[0] == 200
        fixed = await send(site, {**OLENA, "reading": "12346"})
        assert "замінено" in fixed[1]
        wrong = await send(site, {**OLENA, "proof": "UA-000000"}, ip="192.0.2.9")
        assert wrong[0] == 400
    with engine.connect() as conn:
        rows = conn.execute(
            select(meter_reading.c.status, meter_reading.c.actor).order_by(meter_reading.c.id)
        ).all()
    assert [tuple(r) for r in rows] == [("replaced", role), ("accepted", role), ("refused", role)]
