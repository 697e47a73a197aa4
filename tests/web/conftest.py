"""The public web on a real database: sample data, approved outages, a running app.

`site` is a migrated database (SQLite and PostgreSQL) with the CSV sample data
and an outage of region EG-R1 approved through the real lifecycle;
`client` serves the web application on it (aiohttp's test server on
127.0.0.1) after one reading of the listing, with its forms (sign-up,
unsubscribe) writing through a second engine, as `dispatch-tui web` does.
`serve_site` makes one with other settings (rate limits, a trusted proxy).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import Engine

from dispatch_tui.storage.db import create_db_engine
from dispatch_tui.storage.signup import SignupLimits
from dispatch_tui.web.app import Forms, WebConfig, build_app
from dispatch_tui.web.listing import Listing
from dispatch_tui.web.server import read_only
from tests.factories import approved_outage

BASE_URL = "https://outages.example.net"
SECRET = bytes(range(32))
ACTOR = "dispatchweb"


@dataclass
class Site:
    engine: Engine
    """The operators' engine: writes (approve, amend, cancel)."""
    url: str
    outage_id: int
    listing: Listing
    client: TestClient
    writer: Engine
    """The web's writing engine (sign-up, unsubscribe)."""


@asynccontextmanager
async def serve_site(
    engine: Engine,
    db_url: str,
    outage_id: int,
    *,
    limits: SignupLimits | None = None,
    trust_forwarded_for: bool = False,
    actor: str = ACTOR,
) -> AsyncIterator[Site]:
    web_db = create_db_engine(db_url)
    read_only(web_db)
    writer = create_db_engine(db_url)
    listing = Listing(web_db, refresh_seconds=60)
    assert await listing.refresh()
    config = WebConfig(BASE_URL, search_seconds=0.05, trust_forwarded_for=trust_forwarded_for)
    forms = Forms(writer, SECRET, actor, limits or SignupLimits())
    client = TestClient(TestServer(build_app(listing, config, forms), host="127.0.0.1"))
    await client.start_server()
    try:
        yield Site(engine, db_url, outage_id, listing, client, writer)
    finally:
        await client.close()
        web_db.dispose()
        writer.dispose()


@pytest.fixture
async def site(engine: Engine, db_url: str, tmp_path: Path) -> AsyncIterator[Site]:
    oid = approved_outage(engine, tmp_path)
    async with serve_site(engine, db_url, oid) as served:
        yield served
