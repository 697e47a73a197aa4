"""Sign-up by code through the public web's routes, on SQLite and PostgreSQL: the form,
the code from the outbox, confirmation and a new code; CSRF on every form; every bad
input a 4xx naming the field with nothing changed; the storage's rate limits as 429;
an unknown account and a wrong proof answered with the same bytes."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, func, select, text, update
from sqlalchemy.engine import make_url

from dispatch_tui.storage.signup import SignupLimits
from dispatch_tui.storage.tables import contact, message, signup, signup_attempt
from dispatch_tui.storage.unsubscribe import tokens_for
from dispatch_tui.web import csrf
from tests.web.conftest import Site, serve_site

SI = {
    "identifier": "6-100001",
    "proof": "10001",
    "phone": "040 999 888",
    "channels": "sms",
    "language": "sl",
}
PHONE = "+38640999888"
ANA = "ana.novak@example.si"


async def form_token(site: Site, utility: str = "EG") -> str:
    """Open the form as a browser does: its cookie kept, its hidden token returned."""
    response = await site.client.get(f"/{utility}/signup")
    assert response.status == 200
    body = await response.text()
    token = re.search(r'name="csrf" value="([^"]+)"', body)
    assert token and site.client.session.cookie_jar.filter_cookies(site.client.make_url("/"))
    return token[1]


async def post(
    site: Site, path: str, fields: Mapping[str, str] | list[tuple[str, str]], **headers: str
) -> tuple[int, str]:
    response = await site.client.post(path, data=fields, headers=headers)
    return response.status, await response.text()


def last_code(engine: Engine, address: str = PHONE) -> str:
    with engine.connect() as conn:
        body = conn.execute(
            select(message.c.body)
            .where(message.c.address == address, message.c.inbound_id.is_not(None))
            .order_by(message.c.id.desc())
        ).first()
    assert body is not None
    return re.findall(r"\d{6}", body[0])[0]


def hidden(body: str, name: str) -> list[str]:
    return re.findall(rf'name="{name}" value="([^"]*)"', body)


def counts(engine: Engine) -> tuple[int, int, int]:
    with engine.connect() as conn:
        return (
            conn.execute(select(func.count()).select_from(signup)).scalar_one(),
            conn.execute(select(func.count()).select_from(message)).scalar_one(),
            conn.execute(select(func.count()).select_from(signup_attempt)).scalar_one(),
        )


async def start(site: Site, fields: Mapping[str, str] = SI) -> str:
    token = await form_token(site)
    status, body = await post(site, "/EG/signup", {"csrf": token, **fields})
    assert status == 200, body
    return body


def code_form(body: str) -> dict[str, str | list[str]]:
    return {"csrf": hidden(body, "csrf")[0], "token": hidden(body, "token")[0]}


async def confirm(site: Site, body: str, code: str) -> tuple[int, str]:
    fields = [*code_form(body).items(), ("code", code)]
    fields += [("pending", p) for p in dict.fromkeys(hidden(body, "pending"))]
    return await post(site, "/EG/signup/confirm", fields)  # type: ignore[arg-type]


async def test_sign_up_confirm_with_the_code_from_the_outbox(site: Site) -> None:
    token = await form_token(site)
    fields = {"csrf": token, **SI, "email": "mojca@example.si"}
    status, body = await post(site, "/EG/signup", fields)
    assert status == 400 and "E-poštni naslov" in body  # an address without its channel
    both = [*SI.items(), ("channels", "email"), ("email", "mojca@example.si")]
    status, body = await post(site, "/EG/signup", [("csrf", token), *both])
    assert status == 200 and "Šestmestno kodo smo poslali" in body
    assert len(set(hidden(body, "pending"))) == 2  # a code form per address
    status, done = await confirm(site, body, last_code(site.engine))
    assert status == 200 and "Urejeno" in done, done[-1500:]
    assert len(set(hidden(done, "pending"))) == 1 and done.count('name="code"') == 1
    status, done = await confirm(site, done, last_code(site.engine, "mojca@example.si"))
    assert status == 200 and "Urejeno: m…@example.si" in done and 'name="code"' not in done
    with site.engine.connect() as conn:
        consent = conn.execute(
            select(contact.c.consent).where(contact.c.address == PHONE)
        ).scalar_one()
    assert consent == "opted_in"


async def test_a_new_code_replaces_the_old(site: Site) -> None:
    body = await start(site)
    old = last_code(site.engine)
    status, again = await post(site, "/EG/signup/resend", code_form(body))
    assert status == 200 and "Šestmestno kodo smo poslali" in again
    new = last_code(site.engine)
    if old != new:
        status, said = await confirm(site, body, old)
        assert status == 400 and "Koda ni pravilna" in said
    assert (await confirm(site, body, new))[0] == 200


async def test_every_form_needs_its_csrf_token(site: Site) -> None:
    token = await form_token(site)
    before = counts(site.engine)
    other = csrf.new_token(b"\x01" * 32)
    for fields, cookie in (
        ({**SI}, token),  # no field
        ({**SI, "csrf": "x"}, token),  # a field that is not the cookie's
        ({**SI, "csrf": other}, other),  # a pair signed with another secret
        ({**SI, "csrf": token}, None),  # no cookie
    ):
        site.client.session.cookie_jar.clear()
        if cookie is not None:
            site.client.session.cookie_jar.update_cookies({csrf.COOKIE: cookie})
        for path in ("/EG/signup", "/EG/signup/confirm", "/EG/signup/resend"):
            status, body = await post(site, path, fields)
            assert status == 403 and "Osvežite stran" in body and 'lang="sl"' in body, path
    assert counts(site.engine) == before
    site.client.session.cookie_jar.clear()
    await start(site)  # the page's own token, signed with the server's secret, works


async def test_bad_input_names_the_field_and_changes_nothing(site: Site) -> None:
    token = await form_token(site)
    before = counts(site.engine)
    bad: list[tuple[list[tuple[str, str]], int, str]] = [
        ([("identifier", "x" * 41)], 400, "Številka merilnega mesta ali številka odjemalca"),
        ([("identifier", "nope")], 400, "Številka merilnega mesta"),
        ([("identifier", "6-100001\x07")], 400, "znake, ki niso besedilo"),
        ([("proof", "")], 400, "Številka števca"),
        ([("phone", "01 234 56 78")], 400, "Mobilni telefon"),
        ([("channels", "fax")], 400, "Obvestila pošiljajte po"),
        ([("language", "xx")], 400, "Jezik obvestil"),
        ([("colour", "red")], 400, "Neznan parameter &#39;colour"),
        ([("identifier", "6-100001"), ("identifier", "6-100002")], 400, "&#39;identifier&#39;"),
    ]
    for change, status, said in bad:
        names = {name for name, _ in change}
        fields = [("csrf", token), *((k, v) for k, v in SI.items() if k not in names), *change]
        got, body = await post(site, "/EG/signup", fields)
        assert (got, said in body) == (status, True), (change, body[-600:])
    response = await site.client.post(
        "/EG/signup", data=b"{}", headers={"Content-Type": "application/json"}
    )
    assert response.status == 415
    assert counts(site.engine)[:2] == before[:2]  # no sign-up, no message


async def test_codes_bad_wrong_five_times_and_expired(site: Site) -> None:
    body = await start(site)
    right = last_code(site.engine)
    status, said = await confirm(site, body, "12ab")
    assert status == 400 and "Preverite »Koda«" in said
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    for left in (4, 3, 2, 1):
        status, said = await confirm(site, body, wrong)
        assert status == 400 and f"še {left} poskusov" in said
    status, said = await confirm(site, body, wrong)
    assert status == 400 and "Preveč napačnih kod" in said
    assert "Preveč napačnih kod" in (await confirm(site, body, right))[1]
    # A new code, let run out: expired.
    assert (await post(site, "/EG/signup/resend", code_form(body)))[0] == 200
    with site.engine.begin() as conn:
        conn.execute(
            update(signup).values(code_issued_at=datetime.now(UTC) - timedelta(minutes=16))
        )
    status, said = await confirm(site, body, last_code(site.engine))
    assert status == 400 and "Koda je potekla" in said
    forged = body.replace(hidden(body, "token")[0], "A" * 43)
    status, said = await confirm(site, forged, right)
    assert status == 400 and "Te prijave ne poznamo" in said


async def test_rate_limits_answer_429(engine: Engine, db_url: str, tmp_path: object) -> None:
    from tests.factories import approved_outage

    oid = approved_outage(engine, tmp_path)  # type: ignore[arg-type]
    limits = SignupLimits(
        per_ip_hour=3, codes_per_address_hour=1, per_account_hour=2, confirms_per_ip_hour=2
    )
    async with serve_site(engine, db_url, oid, limits=limits) as site:
        token = await form_token(site)
        first = await post(site, "/EG/signup", {**SI, "csrf": token})
        assert first[0] == 200
        other_phone = {**SI, "phone": "040 999 801", "csrf": token}
        for fields, said in (
            ({**SI, "csrf": token}, "Na ta telefon ali naslov smo poslali preveč kod"),
            (other_phone, "Preveč prijav za ta račun"),
            (other_phone, "Preveč prijav z vaše povezave"),
        ):
            status, body = await post(site, "/EG/signup", fields)
            assert status == 429 and said in body, said
        for _ in range(2):
            assert (await confirm(site, first[1], "000000"))[0] == 400
        status, body = await confirm(site, first[1], "000000")
        assert status == 429 and "Z vaše povezave je bilo vpisanih preveč kod" in body
        status, body = await post(site, "/EG/signup/resend", code_form(first[1]))
        assert status == 429 and "Na ta telefon ali naslov" in body


async def test_unknown_account_and_wrong_proof_get_the_same_bytes(
    engine: Engine, db_url: str, tmp_path: object
) -> None:
    from tests.factories import approved_outage

    oid = approved_outage(engine, tmp_path)  # type: ignore[arg-type]
    async with serve_site(engine, db_url, oid, trust_forwarded_for=True) as site:
        token = await form_token(site, "ZOE")
        common = {"csrf": token, "phone": "050 987 6543", "channels": "sms", "language": "uk"}
        wrong = {**common, "identifier": "100000002", "proof": "UA-000000"}
        unknown = {**common, "identifier": "100000099", "proof": "UA-000000"}
        said_wrong = await post(site, "/ZOE/signup", wrong, **{"X-Forwarded-For": "192.0.2.1"})
        said_unknown = await post(site, "/ZOE/signup", unknown, **{"X-Forwarded-For": "192.0.2.2"})
    assert said_wrong == said_unknown
    assert said_wrong[0] == 400 and "залишилось спроб: 4" in said_wrong[1]
    assert "100000002" not in said_wrong[1]


async def test_as_the_web_role_on_postgresql(
    backend: str, engine: Engine, db_url: str, tmp_path: object
) -> None:
    """The whole flow as `dispatch-tui web` runs on PostgreSQL: a login role in
    dispatch_web, which leaves activation to the engine and unsubscribes by token."""
    if backend != "postgresql":
        pytest.skip("SQLite is one trust domain: it has no database roles")
    from tests.factories import approved_outage

    oid = approved_outage(engine, tmp_path)  # type: ignore[arg-type]
    role = f"pgwebroutes_{os.getpid()}"
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
        ana = conn.execute(select(contact.c.id).where(contact.c.address == ANA)).scalar_one()
        [token] = tokens_for(conn, [ana], now=datetime.now(UTC)).values()
    web_url = make_url(db_url).set(username=role).render_as_string(hide_password=False)
    # Its audit rows name the session user, which `dispatch-tui web` checks is its login.
    async with serve_site(engine, web_url, oid, actor=role) as site:
        body = await start(site)
        status, done = await confirm(site, body, last_code(site.engine))
        assert status == 200 and "bo v minuti začel prejemati" in done  # the engine activates
        response = await site.client.post(
            f"/unsubscribe/{token}", data={"List-Unsubscribe": "One-Click"}
        )
        assert response.status == 200
        assert (await site.client.get(f"/EG/outage/{oid}/notices")).status == 200
    with engine.connect() as conn:
        said = conn.execute(select(contact.c.consent).where(contact.c.id == ana)).scalar_one()
    assert said == "opted_out"
