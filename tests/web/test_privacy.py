"""No page or feed of the public web ever contains a name, phone, e-mail or account
number from the subscriber tables, whatever they hold (hypothesis, on SQLite): the
listing, search, feeds, the sign-up and code pages, the unsubscribe page and the
printable entrance notices."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, delete, insert, select

from dispatch_tui.printable.entrance_notices import notices_html
from dispatch_tui.storage.tables import contact, metering_point, subscriber, subscription, utility
from dispatch_tui.web import feeds, pages
from dispatch_tui.web.listing import read
from tests.factories import approved_outage

NAME = st.from_regex(r"[A-ZČŠŽЖЩ][a-zčšžжщю]{5,12} [A-ZČŠŽ][a-zčšžю]{5,12}", fullmatch=True)
PHONE = st.from_regex(r"\+3864[0-9]{7}", fullmatch=True)
EMAIL = st.from_regex(r"[a-z]{6,10}\.[a-z]{6,10}@[a-z]{6,10}\.(si|bg)", fullmatch=True)
ACCOUNT = st.from_regex(r"9[0-9]{9,11}", fullmatch=True)
PERSON = st.tuples(NAME, PHONE, EMAIL, ACCOUNT)
BASE = "https://outages.example.net"
FORM = {"identifier": "", "proof": "", "phone": "", "email": "", "channels": (), "language": ""}


def everything_public(engine: Engine) -> str:
    """Every page and feed the web serves, for every utility, language and settlement,
    and the search answers for every settlement."""
    now = datetime.now(UTC)
    snapshot = read(engine, now)
    out = [pages.index_page(list(snapshot.utilities.values()), "en")]
    out.append(pages.unsubscribe_page("en", "/unsubscribe/" + "A" * 43, ask=True))
    for code, place in snapshot.utilities.items():
        works = snapshot.works[code]
        for language in (place.language, "en"):
            out.append(
                pages.works_page(place, works, language, now=now, as_of=now, stale_since=None)
            )
            out.append(
                pages.signup_page(place, language, as_of=now, stale_since=None, form=FORM, csrf="t")
            )
            out.append(
                pages.codes_page(place, language, as_of=now, stale_since=None, pending=[], csrf="t")
            )
        out.extend(notices_html(engine, w.outage_id) for w in works if not w.cancelled)
        out.append(feeds.json_feed(place, works, BASE).decode())
        out.append(feeds.cap_atom_feed(place, works, BASE).decode())
        for work in works:
            for address in work.addresses:
                out.append(feeds.ical_feed(place, address.settlement, works, BASE).decode())
                out.append(
                    pages.works_page(
                        place,
                        works,
                        "en",
                        now=now,
                        as_of=now,
                        stale_since=None,
                        settlement=address.settlement,
                    )
                )
                form = {"settlement": address.settlement, "street": address.street}
                out.append(
                    pages.search_page(
                        place,
                        "en",
                        now=now,
                        as_of=now,
                        stale_since=None,
                        form=form,
                        found=works,
                    )
                )
    return "\n".join(out)


def test_no_personal_data_in_any_page_or_feed(engine: Engine, db_url: str, tmp_path: Path) -> None:
    if engine.dialect.name != "sqlite":
        pytest.skip("the property is about the queries' columns: SQLite is enough")
    approved_outage(engine, tmp_path)
    with engine.connect() as conn:
        eg = conn.execute(select(utility.c.id).where(utility.c.code == "EG")).scalar_one()
        mps = list(
            conn.scalars(select(metering_point.c.id).where(metering_point.c.utility_id == eg))
        )

    @settings(
        max_examples=15,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(people=st.lists(PERSON, min_size=1, max_size=4, unique_by=lambda p: p[3]))
    def check(people: list[tuple[str, str, str, str]]) -> None:
        now = datetime.now(UTC)
        with engine.begin() as conn:
            ids = []
            for name, phone, email, account in people:
                sid = conn.execute(
                    insert(subscriber)
                    .values(
                        utility_id=eg, account=account, name=name, language="sl", created_at=now
                    )
                    .returning(subscriber.c.id)
                ).scalar_one()
                ids.append(sid)
                for channel, address in (("sms", phone), ("email", email)):
                    conn.execute(
                        insert(contact).values(
                            subscriber_id=sid,
                            channel=channel,
                            address=address,
                            consent="opted_in",
                            consent_at=now,
                            consent_source="test",
                        )
                    )
                conn.execute(
                    insert(subscription),
                    [{"subscriber_id": sid, "mp_id": mp, "created_at": now} for mp in mps],
                )
        try:
            public = everything_public(engine)
            for person in people:
                for secret in person:
                    assert secret not in public, secret
        finally:
            with engine.begin() as conn:
                conn.execute(delete(subscriber).where(subscriber.c.id.in_(ids)))

    check()
