"""The unsubscribe link (RFC 8058) and the printable entrance notices on the public web,
on SQLite and PostgreSQL; and the form secret's file."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import pytest
from aiohttp import FormData
from sqlalchemy import func, select

from dispatch_tui.storage import outage_lifecycle
from dispatch_tui.storage.tables import audit_log, contact
from dispatch_tui.storage.unsubscribe import tokens_for
from dispatch_tui.web import csrf
from tests.web.conftest import Site

ANA_MAIL = "ana.novak@example.si"


def token_of(site: Site) -> tuple[int, str]:
    with site.engine.begin() as conn:
        ana = conn.execute(select(contact.c.id).where(contact.c.address == ANA_MAIL)).scalar_one()
        [token] = tokens_for(conn, [ana], now=datetime.now(UTC)).values()
    return ana, token


def consent(site: Site, contact_id: int) -> str:
    with site.engine.connect() as conn:
        return str(
            conn.execute(select(contact.c.consent).where(contact.c.id == contact_id)).scalar_one()
        )


def unsubscribes(site: Site) -> int:
    with site.engine.connect() as conn:
        return int(
            conn.execute(
                select(func.count()).where(audit_log.c.action == "unsubscribe")
            ).scalar_one()
        )


async def test_a_get_only_asks_and_the_one_click_post_unsubscribes(site: Site) -> None:
    ana, token = token_of(site)
    path = f"/unsubscribe/{token}"
    response = await site.client.get(path, headers={"Accept-Language": "sl"})
    body = await response.text()
    assert response.status == 200 and 'name="List-Unsubscribe" value="One-Click"' in body
    assert "Odjava" in body and consent(site, ana) == "opted_in"  # a link scanner: nothing
    for bad in (b"", b"List-Unsubscribe=One-Click&x=1", b"List-Unsubscribe=Yes"):
        response = await site.client.post(
            path, data=bad, headers={"Content-Type": "application/x-www-form-urlencoded"}
        )
        assert response.status == 400 and "List-Unsubscribe=One-Click" in await response.text()
    response = await site.client.post(
        path, data=b"List-Unsubscribe=One-Click", headers={"Content-Type": "text/plain"}
    )
    assert response.status == 400 and consent(site, ana) == "opted_in"
    # What a mail client sends (no cookie, no CSRF token: the link's token is the secret).
    response = await site.client.post(path, data={"List-Unsubscribe": "One-Click"})
    assert response.status == 200 and "You are unsubscribed" in await response.text()
    assert consent(site, ana) == "opted_out" and unsubscribes(site) == 1
    form = FormData({"List-Unsubscribe": "One-Click"})
    form.add_field("x", b"", filename="x")  # multipart, and one field too many
    response = await site.client.post(path, data=form)
    assert response.status == 400
    multipart = FormData(quote_fields=False)
    multipart.add_field("List-Unsubscribe", "One-Click")
    multipart.add_field("List-Unsubscribe", "One-Click", content_type="text/plain")
    response = await site.client.post(path + "?lang=bg", data=multipart)
    assert response.status == 400 and 'lang="bg"' in await response.text()
    response = await site.client.post(path, data={"List-Unsubscribe": "One-Click"})
    assert response.status == 200 and "already unsubscribed" in await response.text()
    assert unsubscribes(site) == 1


async def test_unknown_and_malformed_tokens(site: Site) -> None:
    for path, status in (
        ("/unsubscribe/" + "A" * 43, 404),
        ("/unsubscribe/short", 404),
        ("/unsubscribe/" + "A" * 43 + "?x=1", 400),
    ):
        response = await site.client.post(path, data={"List-Unsubscribe": "One-Click"})
        assert response.status == status, path
    response = await site.client.get("/unsubscribe/" + "!" * 43)
    assert response.status == 404
    assert unsubscribes(site) == 0


async def test_the_listing_links_the_notices_and_the_sign_up(site: Site) -> None:
    response = await site.client.get("/EG/?settlement=Kranj")
    body = await response.text()
    assert f'href="/EG/outage/{site.outage_id}/notices"' in body
    assert 'href="/EG/signup?lang=sl"' in body
    response = await site.client.get("/EG/search?mp=6-100001")
    assert "/notices" not in await response.text()  # it would name the streets


async def test_printable_notices_of_an_approved_outage_only(site: Site) -> None:
    path = f"/EG/outage/{site.outage_id}/notices"
    response = await site.client.get(path)
    body = await response.text()
    assert response.status == 200 and "Prešernova ulica 5" in body and "<style>" in body
    policy = response.headers["Content-Security-Policy"]
    assert "style-src 'sha256-" in policy and "unsafe-inline" not in policy
    for other in (
        f"/ZOE/outage/{site.outage_id}/notices",  # another utility's number
        "/EG/outage/999999/notices",
        "/EG/outage/x/notices",
        f"/EG/outage/{site.outage_id}/notices?x=1",
    ):
        assert (await site.client.get(other)).status in (400, 404), other
    outage_lifecycle.cancel(site.engine, site.outage_id, actor="bohdan", reason="vreme")
    assert await site.listing.refresh()
    assert (await site.client.get(path)).status == 404


def test_the_form_secret_is_made_private_and_kept(tmp_path: Path) -> None:
    path = tmp_path / "dir" / "web-secret"
    first = csrf.load_secret(path)
    assert (path.stat().st_mode & 0o777) == 0o600 and csrf.load_secret(path) == first
    os.chmod(path, 0o644)
    with pytest.raises(csrf.SecretError, match="chmod 600"):
        csrf.load_secret(path)
    os.chmod(path, 0o600)
    path.write_text("not hex\n")
    with pytest.raises(csrf.SecretError, match="not a web secret"):
        csrf.load_secret(path)
