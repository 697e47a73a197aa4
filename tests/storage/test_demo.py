"""The demo database: the small build on both backends, checked for shape,
identifier formats, consistent totals and determinism."""

from __future__ import annotations

import base64
import itertools
import re
import shutil
import statistics
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import phonenumbers
import pytest
from sqlalchemy import Connection, Engine, Table, func, insert, inspect, select

from dispatch_tui.config import load_settings
from dispatch_tui.dialogs.search import EXAMPLES
from dispatch_tui.domain import identifiers, templates
from dispatch_tui.domain.draft import OutageDraft
from dispatch_tui.domain.selection import Selection
from dispatch_tui.domain.text import address_key
from dispatch_tui.domain.tree_path import ancestor_ids
from dispatch_tui.storage import audit, counts, demo, outage_lifecycle, outages
from dispatch_tui.storage.affected import (
    affected_condition,
    counted_affected,
    scope_of,
    whole_nodes,
)
from dispatch_tui.storage.db import create_db_engine
from dispatch_tui.storage.importers.subscribers import TELEGRAM_CHAT, VIBER_USER
from dispatch_tui.storage.models import NODE_KINDS
from dispatch_tui.storage.preview import WORST_CANDIDATES, gather_affected
from dispatch_tui.storage.search import PlaceHit, SearchHit, search
from dispatch_tui.storage.tables import (
    audit_log,
    balance,
    balance_snapshot,
    contact,
    contact_service,
    meter_reading,
    metering_point,
    node,
    subscriber,
    subscription,
    utility,
)
from tests.conftest import drop_pg_database, new_pg_database

DUMPED = (
    node,
    metering_point,
    subscriber,
    contact,
    subscription,
    contact_service,
    balance_snapshot,
    balance,
)
CODE = re.compile(r"(EG|ZOE|EH)-R\d\d(-SS\d\d(-F\d\d(-TP\d\d\d)?)?)?")


def rows(engine: Engine, table: Table) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        result = conn.execute(select(table).order_by(*table.primary_key.columns))
        return [dict(row._mapping) for row in result]


def table_counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {
            t.name: conn.execute(select(func.count()).select_from(t)).scalar_one()
            for t in (utility, *DUMPED, audit_log)
        }


def indexes(engine: Engine) -> dict[str, list[Any]]:
    inspector = inspect(engine)
    return {
        t.name: sorted(inspector.get_indexes(t.name), key=lambda ix: str(ix["name"]))
        for t in DUMPED
    }


@dataclass(frozen=True)
class Built:
    engine: Engine
    summary: demo.DemoSummary
    progress: list[tuple[str, int, int]]


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def built(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Built]:
    """The small demo, built once per backend for the read-only checks below,
    with the progress it reported."""
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("demo") / "demo.sqlite"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        url, admin = f"sqlite:///{path}", None
    else:
        url, admin = new_pg_database(request.getfixturevalue("pg_template"))
    engine = create_db_engine(url)
    try:
        before = indexes(engine)
        calls: list[tuple[str, int, int]] = []
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(demo, "current_login", lambda: "dana")
            summary = demo.build_demo(engine, seed=7, progress=lambda *a: calls.append(a))
        assert indexes(engine) == before, "indexes dropped for the load must come back as they were"
        yield Built(engine, summary, calls)
    finally:
        engine.dispose()
        if admin is not None:
            drop_pg_database(url, admin)


def test_small_demo_has_the_promised_shape(built: Built) -> None:
    engine, summary = built.engine, built.summary
    assert summary.utilities == 3
    assert summary.metering_points == 20_000
    assert 13_000 <= summary.subscribers <= 15_000
    assert 19_000 <= summary.subscriptions <= 20_000
    assert summary.subscribers <= summary.contacts <= 3 * summary.subscribers
    assert 200 <= summary.nodes <= 1_000
    assert summary.seconds < 30
    with engine.connect() as conn:
        services = dict(
            conn.execute(
                select(contact_service.c.service, func.count()).group_by(contact_service.c.service)
            ).all()
        )
        snapshots = conn.execute(select(func.count()).select_from(balance_snapshot)).scalar()
        overdue = (balance.c.amount_minor > 0) & (balance.c.due_date < date(2025, 2, 28))
        owed = {
            bool(late): count
            for late, count in conn.execute(select(overdue, func.count()).group_by(overdue))
        }
    # Some contacts chose each service; two snapshots a utility, some accounts overdue.
    assert set(services) == {"bill_info", "payment_reminder", "reading_reminder"}
    assert all(count > 500 for count in services.values()), services
    assert snapshots == 6 and owed[True] > 1_000 and owed[False] > 3 * owed[True]
    assert table_counts(engine) == {
        "utility": 3,
        "node": summary.nodes,
        "metering_point": summary.metering_points,
        "subscriber": summary.subscribers,
        "contact": summary.contacts,
        "subscription": summary.subscriptions,
        "contact_service": sum(services.values()),
        "balance_snapshot": 6,
        "balance": sum(owed.values()),
        "audit_log": 1,
    }

    utilities = {u["code"]: u for u in rows(engine, utility)}
    assert set(utilities) == {"EG", "ZOE", "EH"}
    assert utilities["EG"]["contact_phone"] == "080 30 19"
    assert utilities["EH"]["contact_phone"] == "0700 10 010"
    assert [utilities[c]["country"] for c in ("EG", "ZOE", "EH")] == ["SI", "UA", "BG"]
    assert [utilities[c]["timezone"] for c in ("EG", "ZOE", "EH")] == [
        "Europe/Ljubljana",
        "Europe/Kyiv",
        "Europe/Sofia",
    ]
    assert all(re.fullmatch(r"[A-Za-z0-9]{1,11}", u["sms_sender"]) for u in utilities.values())

    with engine.connect() as conn:
        users = dict(conn.execute(select(demo.app_user.c.username, demo.app_user.c.role)).all())
        assert audit.verify(conn).ok
    assert users == {
        "dana": "admin",
        "ana": "dispatcher",
        "bohdan": "shift_lead",
        "viktor": "viewer",
    }

    by_code = {n["code"]: n for n in rows(engine, node)}
    assert by_code[demo.BENCH_REGION_CODE]["mp_count"] == demo.SIZES["small"].bench_region
    assert by_code[demo.BIG_STATION_CODE]["mp_count"] == demo.SIZES["small"].big_station

    stages: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for stage, done, total in built.progress:
        stages[stage].append((done, total))
    assert list(stages) == [
        "network",
        "metering points",
        "subscribers",
        "balances",
        "indexes",
        "totals",
        "search terms",
    ]
    for steps in stages.values():
        assert [d for d, _ in steps] == sorted(d for d, _ in steps)
        assert steps[-1][0] == steps[-1][1]


def test_tree_paths_and_cached_totals_are_consistent(built: Built) -> None:
    engine = built.engine
    nodes = {n["id"]: n for n in rows(engine, node)}
    mps = rows(engine, metering_point)
    for n in nodes.values():
        parent = nodes.get(n["parent_id"]) if n["parent_id"] else None
        depth = len(ancestor_ids(n["path"]))
        assert n["kind"] == NODE_KINDS[depth - 1]
        assert n["path"] == f"{parent['path'] if parent else '/'}{n['id']}/"
        assert CODE.fullmatch(n["code"]) and n["code"].count("-") == depth
        assert parent is None or n["code"].startswith(parent["code"] + "-")
    for mp in mps:
        assert nodes[mp["node_id"]]["kind"] == "transformer_station"
        assert mp["path"] == nodes[mp["node_id"]]["path"]

    # Brute force: every node's totals from the rows themselves.
    mp_total: Counter[int] = Counter()
    under: dict[int, set[int]] = defaultdict(set)
    path_of = {mp["id"]: mp["path"] for mp in mps}
    for mp in mps:
        mp_total.update(ancestor_ids(mp["path"]))
    for sub in rows(engine, subscription):
        for node_id in ancestor_ids(path_of[sub["mp_id"]]):
            under[node_id].add(sub["subscriber_id"])
    for n in nodes.values():
        assert (n["mp_count"], n["subscriber_count"]) == (mp_total[n["id"]], len(under[n["id"]]))
    roots = [n for n in nodes.values() if n["parent_id"] is None]
    assert sum(n["mp_count"] for n in roots) == len(mps)


def test_previews_from_node_totals_match_counting(built: Built) -> None:
    """Regions alone and in pairs (their subscribers span regions), and regions
    less a feeder, a substation or a point, or plus a point of another region:
    the counts and the worst-case addresses, from the node totals and the
    shared subscriptions, equal a count of every affected point."""
    with built.engine.connect() as conn:
        regions = list(conn.scalars(select(node.c.id).where(node.c.kind == "region")))
        below = {
            kind: dict(
                conn.execute(
                    select(node.c.path, node.c.id).where(node.c.kind == kind).order_by(node.c.id)
                ).all()
            )
            for kind in ("substation", "feeder")
        }
        paths = dict(conn.execute(select(node.c.id, node.c.path)).all())
        first_point = dict(
            conn.execute(
                select(node.c.id, func.min(metering_point.c.id))
                .join(metering_point, metering_point.c.path.startswith(node.c.path))
                .where(node.c.kind == "region")
                .group_by(node.c.id)
            ).all()
        )
    selections = [Selection(nodes=frozenset(chosen)) for chosen in [*([r] for r in regions)]]
    selections += [Selection(nodes=frozenset(pair)) for pair in itertools.combinations(regions, 2)]
    for region, other in itertools.pairwise([*regions, regions[0]]):
        inside = {
            kind: next(i for p, i in found.items() if p.startswith(paths[region]))
            for kind, found in below.items()
        }
        selections += [
            Selection(nodes=frozenset({region}), excluded_nodes=frozenset({inside["feeder"]})),
            Selection(nodes=frozenset({region}), excluded_nodes=frozenset({inside["substation"]})),
            Selection(
                nodes=frozenset({region}),
                excluded_metering_points=frozenset({first_point[region]}),
            ),
            Selection(nodes=frozenset({region}), metering_points=frozenset({first_point[other]})),
        ]
    for selection in selections:
        found = gather_affected(built.engine, selection)
        with built.engine.connect() as conn:
            assert found.counts == counted_affected(conn, selection), selection
            assert found.worst == worst_by_counting(conn, selection), selection
            if whole_nodes(selection):  # found among the subscribers of several points
                shared = scope_of(conn, selection).on_shared_subscriptions()
                assert counts.top_subscribers(conn, shared, WORST_CANDIDATES) is not None


def worst_by_counting(conn: Connection, selection: Selection) -> dict[str, list[templates.Address]]:
    """Per language, the addresses of the subscriber with the most affected points
    among the WORST_CANDIDATES with the most, from every affected point."""
    rows = conn.execute(
        select(
            subscription.c.subscriber_id,
            subscriber.c.language,
            metering_point.c.settlement,
            metering_point.c.street,
            metering_point.c.house,
        )
        .join(metering_point, metering_point.c.id == subscription.c.mp_id)
        .join(subscriber, subscriber.c.id == subscription.c.subscriber_id)
        .where(affected_condition(conn, selection))
        .order_by(metering_point.c.id)
    ).all()
    points = Counter(row.subscriber_id for row in rows)
    language = {row.subscriber_id: row.language for row in rows}
    chosen: dict[str, int] = {}
    for sub_id in sorted(points, key=lambda s: (-points[s], s))[:WORST_CANDIDATES]:
        chosen.setdefault(language[sub_id], sub_id)
    return {
        lang: [templates.Address(*row[2:]) for row in rows if row.subscriber_id == sub_id]
        for lang, sub_id in chosen.items()
    }


def test_identifiers_parse_in_their_country_format(built: Built) -> None:
    engine = built.engine
    country = {u["id"]: u["country"] for u in rows(engine, utility)}
    mps = rows(engine, metering_point)
    for mp in mps:
        scheme = identifiers.scheme_for(country[mp["utility_id"]])
        assert scheme.metering_point(mp["mp_id"]) == mp["mp_id"]
        assert identifiers.parse_eic(mp["eic"]) == mp["eic"]
        assert mp["eic"][:3] == {"SI": "29Z", "UA": "62Z", "BG": "32Z"}[scheme.country]
        assert mp["meter_number"].isdigit()
        assert mp["search_key"] == address_key(mp["street"], mp["house"], mp["settlement"])
    assert len({(mp["utility_id"], mp["eic"]) for mp in mps}) == len(mps)
    assert 10 <= sum(mp["priority"] for mp in mps) <= 100  # ~0.2 %

    subscribers = {s["id"]: s for s in rows(engine, subscriber)}
    for s in subscribers.values():
        assert (
            identifiers.scheme_for(country[s["utility_id"]]).account(s["account"]) == s["account"]
        )
        assert s["name"].strip() and s["created_at"] <= demo.REFERENCE
    languages = Counter(s["language"] for s in subscribers.values())
    assert set(languages) == {"sl", "uk", "bg", "en"}
    assert 0.03 < languages["en"] / len(subscribers) < 0.07

    # Seed 001: a Ukrainian account is the personal account of one of its points.
    mp_id = {mp["id"]: mp["mp_id"] for mp in mps}
    points: dict[int, set[str]] = defaultdict(set)
    for sub in rows(engine, subscription):
        points[sub["subscriber_id"]].add(mp_id[sub["mp_id"]])
    ua = [s for s in subscribers.values() if country[s["utility_id"]] == "UA"]
    assert ua and all(s["account"] in points[s["id"]] for s in ua)
    sizes = Counter(len(p) for p in points.values())
    assert set(sizes) == {1, 2, 3} and 0.65 < sizes[1] / len(points) < 0.75


def test_contacts_are_valid_and_consent_is_mostly_given(built: Built) -> None:
    engine = built.engine
    country = {u["id"]: u["country"] for u in rows(engine, utility)}
    owner = {s["id"]: country[s["utility_id"]] for s in rows(engine, subscriber)}
    created = {s["id"]: s["created_at"] for s in rows(engine, subscriber)}
    contacts = rows(engine, contact)
    channels: dict[str, Counter[str]] = defaultdict(Counter)
    for c in contacts:
        region = owner[c["subscriber_id"]]
        channels[region][c["channel"]] += 1
        address = c["address"]
        if c["channel"] == "sms":
            assert identifiers.parse_phone(address, region, mobile_only=True) == address
            number = phonenumbers.parse(address)
            assert phonenumbers.region_code_for_number(number) == region
            assert phonenumbers.number_type(number) == phonenumbers.PhoneNumberType.MOBILE
        elif c["channel"] == "email":
            assert identifiers.parse_email(address) == address
        elif c["channel"] == "telegram":
            assert TELEGRAM_CHAT.fullmatch(address)  # the importer takes it back
            assert -(2**63) <= int(address) < -(2**52)  # real ids have at most 52 bits
        else:
            assert VIBER_USER.fullmatch(address)
            assert address.startswith(demo.VIBER_DEMO_PREFIX)
            raw = address.removeprefix(demo.VIBER_DEMO_PREFIX)
            assert len(base64.b64decode(raw, validate=True)) == 16
        assert created[c["subscriber_id"]] <= c["consent_at"] <= demo.REFERENCE
        assert c["consent_at"].utcoffset() is not None
        assert c["consent_source"]
    per_subscriber = Counter(c["subscriber_id"] for c in contacts)
    assert set(per_subscriber.values()) <= {1, 2, 3} and len(per_subscriber) == len(owner)

    ua = channels["UA"]
    assert (ua["telegram"] + ua["viber"]) / ua.total() > 0.7
    for region in ("SI", "BG"):
        assert (channels[region]["sms"] + channels[region]["email"]) / channels[
            region
        ].total() > 0.8
    consent = Counter(c["consent"] for c in contacts)
    assert 0.93 < consent["opted_in"] / len(contacts) < 0.97
    assert 0.015 < consent["opted_out"] / len(contacts) < 0.045
    assert 0.01 < consent["pending"] / len(contacts) < 0.035
    sources = Counter(c["consent_source"] for c in contacts)
    assert {"web form", "import", "bot"} <= set(sources)
    assert any(re.fullmatch(r"SMS \d-\d{6} (PRIJAVA|ODJAVA)", s) for s in sources)


def test_every_example_of_the_search_dialog_is_found(built: Built) -> None:
    with built.engine.connect() as conn:
        found = {text: search(conn, text) for text in EXAMPLES}
    assert all(found.values()), [text for text, hits in found.items() if not hits]
    kranj = [(h.kind, h.name) for h in found["Kranj"] if isinstance(h, PlaceHit)]
    assert kranj[:2] == [("settlement", "Kranj"), ("region", "Nadzorništvo Kranj")]
    first = {text: hits[0] for text, hits in found.items()}
    assert isinstance(first["RTP Labore"], PlaceHit) and first["RTP Labore"].kind == "substation"
    assert isinstance(first["EG-R01-SS01"], PlaceHit) and first["EG-R01-SS01"].whole_name
    house = first["Prešernova 5"]
    assert isinstance(house, SearchHit) and house.address == "Prešernova ulica 5, Kranj"
    assert isinstance(first["6-100001"], SearchHit) and first["6-100001"].mp_id == "6-100001"
    assert isinstance(first["62Z"], SearchHit) and first["62Z"].matched_on == "EIC"


ONE_WORD_REASON = {"sl": "vzdrževanje", "uk": "ремонт", "bg": "ремонт"}


def test_a_typical_notice_fits_the_sms_cap_in_its_own_alphabet(built: Built) -> None:
    """Every subscriber's advance SMS in the utility's language, untransliterated,
    with a one-word reason: the median fits the default cap with its whole address
    list, and so does every subscriber whose addresses are on one street (flats
    of one block, neighbouring houses): no "and N more" for them."""
    cap = load_settings(env={}, user_file=Path("/nonexistent/config.toml")).sms_max_segments
    assert cap == 3
    with built.engine.connect() as conn:
        utilities = conn.execute(select(utility)).all()
        rows = conn.execute(
            select(
                subscriber.c.id,
                subscriber.c.utility_id,
                metering_point.c.settlement,
                metering_point.c.street,
                metering_point.c.house,
            )
            .join(subscription, subscription.c.subscriber_id == subscriber.c.id)
            .join(metering_point, metering_point.c.id == subscription.c.mp_id)
            .order_by(subscriber.c.id)
        ).all()
    addresses: dict[int, list[templates.Address]] = defaultdict(list)
    owner: dict[int, int] = {}
    for sub_id, utility_id, settlement, street, house in rows:
        addresses[sub_id].append(templates.Address(settlement, street, house))
        owner[sub_id] = utility_id
    for u in utilities:
        ctx = templates.NoticeContext(
            utility_name=u.name,
            contact_phone=u.contact_phone,
            timezone=u.timezone,
            starts_at=datetime(2025, 3, 12, 7, tzinfo=UTC),
            ends_at=datetime(2025, 3, 12, 11, tzinfo=UTC),
            reason=ONE_WORD_REASON[u.language],
            title="",
            kind="advance",
        )
        segments: list[int] = []
        for sub_id in [s for s, o in owner.items() if o == u.id][:1500]:
            listed = addresses[sub_id]
            notice = templates.render(ctx, listed, u.language, "sms", max_sms_segments=cap)
            whole = notice.addresses_shown == notice.addresses_total
            segments.append(notice.segments if whole else cap + 1)
            if len({(a.settlement, a.street) for a in listed}) == 1:
                assert whole and notice.segments <= cap, notice.body
        assert statistics.median(segments) <= cap, u.code
        # The rest have places far apart (two settlements, each named in full):
        # about 5 % in Bulgaria, where they get "and N more" or the worst case.
        assert sum(n <= cap for n in segments) / len(segments) > 0.9, u.code


def test_second_build_is_refused_and_changes_nothing(built: Built) -> None:
    engine = built.engine
    before = table_counts(engine)
    with pytest.raises(ValueError, match="already has utilities"):
        demo.build_demo(engine)
    assert table_counts(engine) == before


def test_later_inserts_get_fresh_ids(built: Built) -> None:
    """On PostgreSQL the id sequences were moved past the ids the demo assigned."""
    engine, summary = built.engine, built.summary
    with engine.connect() as conn, conn.begin() as transaction:
        new_id = conn.execute(
            insert(node)
            .values(utility_id=1, parent_id=None, kind="region", code="EG-NEW", name="Nova",
                    path="/0/", mp_count=0, subscriber_count=0)
            .returning(node.c.id)
        ).scalar_one()  # fmt: skip
        transaction.rollback()  # the other checks share this database
    assert new_id > summary.nodes


def test_same_seed_gives_identical_content(
    engine: Engine, tmp_path: Path, sqlite_template: Path
) -> None:
    """Built into the backend under test and into a second SQLite file: the seed
    alone decides the content, whatever the database."""
    demo.build_demo(engine, seed=3)
    other_path = tmp_path / "other.sqlite"
    shutil.copyfile(sqlite_template, other_path)
    other = create_db_engine(f"sqlite:///{other_path}")
    try:
        demo.build_demo(other, seed=3)
        for table in DUMPED:
            assert rows(engine, table) == rows(other, table), table.name
    finally:
        other.dispose()


def test_another_seed_gives_other_content(tmp_path: Path, sqlite_template: Path) -> None:
    dumps = []
    for seed in (1, 2):
        path = tmp_path / f"seed{seed}.sqlite"
        shutil.copyfile(sqlite_template, path)
        engine = create_db_engine(f"sqlite:///{path}")
        demo.build_demo(engine, seed=seed)
        dumps.append([mp["mp_id"] for mp in rows(engine, metering_point)])
        engine.dispose()
    assert dumps[0] != dumps[1]


def test_unknown_size_is_refused(engine: Engine) -> None:
    with pytest.raises(ValueError, match=r"unknown demo size 'huge'.*small, large"):
        demo.build_demo(engine, size="huge")


def test_the_demos_operators_get_a_notice_sent(built: Built) -> None:
    """ana drafts, bohdan approves: the send path finds the role bohdan held
    then, so the demo's approvals send (its users come with their history)."""
    engine = built.engine
    with engine.connect() as conn:
        feeder = conn.execute(
            select(node.c.id, node.c.utility_id)
            .join(utility, utility.c.id == node.c.utility_id)
            .where(utility.c.code == "EG", node.c.kind == "feeder")
            .order_by(node.c.id)
            .limit(1)
        ).one()
    start = datetime.now(UTC).replace(hour=7, minute=0, second=0, microsecond=0)
    start += timedelta(days=10)
    draft = OutageDraft(
        utility_id=feeder.utility_id,
        title="Demo",
        reason="vzdrževalna dela",
        starts_at=start,
        ends_at=start + timedelta(hours=2),
        selection=Selection(nodes=frozenset({feeder.id})),
    )
    outage_id = outage_lifecycle.create_draft(engine, draft, actor="ana")
    outage_lifecycle.submit(engine, outage_id, actor="ana")
    outage_lifecycle.approve(engine, outage_id, actor="bohdan")
    with engine.connect() as conn:
        assert outage_id in conn.scalars(outages.sendable_outage_ids()).all()


def test_the_demo_has_a_meter_reading_history(built: Built) -> None:
    """Seed 003: three windows of readings for Ukrainian customers, by every channel,
    a few corrected or refused; what the Subscribers screen and the export show."""
    with built.engine.connect() as conn:
        rows = conn.execute(
            select(meter_reading.c.period, meter_reading.c.status, meter_reading.c.channel)
        ).all()
    accepted = [r for r in rows if r.status == "accepted"]
    assert {r.period for r in accepted} == {"2024-12", "2025-01", "2025-02"}
    assert len(accepted) == 3 * 150
    assert {r.channel for r in rows} == {"sms", "telegram", "viber", "web"}
    assert {r.status for r in rows} == {"accepted", "replaced", "refused"}
