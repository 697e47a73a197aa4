"""The tree, search and affected-set queries against a brute-force Python
computation on random networks and selections, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, delete, insert, select

from dispatch_tui.domain.selection import Selection
from dispatch_tui.domain.text import address_key
from dispatch_tui.domain.tree_path import child_path
from dispatch_tui.storage import counts
from dispatch_tui.storage.affected import affected_counts, iter_affected_subscribers
from dispatch_tui.storage.models import NODE_KINDS, Base
from dispatch_tui.storage.search import search_metering_points
from dispatch_tui.storage.tables import contact, node, subscriber, subscription, utility
from dispatch_tui.storage.tables import metering_point as mp
from dispatch_tui.storage.tree import children

NOW = datetime(2026, 1, 1, tzinfo=UTC)
CHANNELS = ("sms", "email", "telegram", "viber")
LANGS = ("sl", "en")
CONSENTS = ("opted_in", "opted_out", "pending")


@dataclass
class World:
    parents: list[int | None]  # node i's parent (index), None for a root
    mp_nodes: list[int]  # metering point j hangs under node mp_nodes[j]
    subs: list[tuple[str, list[int], list[tuple[str, str]]]]  # language, mps, (channel, consent)

    def ancestors(self, node_index: int) -> list[int]:
        chain: list[int] = []
        current: int | None = node_index
        while current is not None:
            chain.append(current)
            current = self.parents[current]
        return chain


@st.composite
def worlds(draw: st.DrawFn) -> World:
    n_nodes = draw(st.integers(1, 14))
    parents: list[int | None] = [None]
    for i in range(1, n_nodes):
        parents.append(draw(st.one_of(st.none(), st.integers(0, i - 1))))
    mp_nodes = draw(st.lists(st.integers(0, n_nodes - 1), max_size=25))
    mp_ids = st.integers(0, len(mp_nodes) - 1) if mp_nodes else st.nothing()
    subs = draw(
        st.lists(
            st.tuples(
                st.sampled_from(LANGS),
                st.lists(mp_ids, max_size=3, unique=True) if mp_nodes else st.just([]),
                st.lists(
                    st.tuples(st.sampled_from(CHANNELS), st.sampled_from(CONSENTS)), max_size=3
                ),
            ),
            max_size=20,
        )
    )
    return World(parents, mp_nodes, [(lang, m, c) for lang, m, c in subs])


def store(engine: Engine, world: World) -> tuple[list[int], list[int]]:
    """Write the world; returns the database ids of nodes and metering points."""
    with engine.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            if table.name != "audit_log":  # append-only (PostgreSQL refuses); never written here
                conn.execute(delete(table))
        uid = conn.execute(
            insert(utility).returning(utility.c.id),
            {
                "code": "T",
                "name": "Test",
                "country": "SI",
                "timezone": "Europe/Ljubljana",
                "language": "sl",
                "contact_phone": "1",
                "sms_sender": "T",
            },
        ).scalar_one()
        node_ids: list[int] = []
        paths: list[str] = []
        for i, parent in enumerate(world.parents):
            depth = len(world.ancestors(i)) - 1
            new_id = conn.execute(
                insert(node).returning(node.c.id),
                {
                    "utility_id": uid,
                    "parent_id": node_ids[parent] if parent is not None else None,
                    "kind": NODE_KINDS[min(depth, 3)],
                    "code": f"N{i}",
                    "name": f"node {i:02d}",
                    "path": "",
                    "mp_count": 0,
                    "subscriber_count": 0,
                },
            ).scalar_one()
            path = child_path(paths[parent] if parent is not None else None, new_id)
            conn.execute(node.update().where(node.c.id == new_id).values(path=path))
            node_ids.append(new_id)
            paths.append(path)
        mp_ids: list[int] = []
        for j, at in enumerate(world.mp_nodes):
            mp_ids.append(
                conn.execute(
                    insert(mp).returning(mp.c.id),
                    {
                        "utility_id": uid,
                        "node_id": node_ids[at],
                        "path": paths[at],
                        "mp_id": f"6-{j:06d}",
                        "settlement": "Kranj",
                        "street": f"Ulica {j}",
                        "house": str(j),
                        "search_key": address_key(f"Ulica {j}", str(j), "Kranj"),
                        "eic": None,
                        "meter_number": f"M{j:04d}",
                        "priority": j % 5 == 0,
                    },
                ).scalar_one()
            )
        for k, (lang, points, contacts) in enumerate(world.subs):
            sid = conn.execute(
                insert(subscriber).returning(subscriber.c.id),
                {
                    "utility_id": uid,
                    "account": f"{k:06d}",
                    "name": "",
                    "language": lang,
                    "created_at": NOW,
                },
            ).scalar_one()
            for point in points:
                conn.execute(
                    insert(subscription),
                    {"subscriber_id": sid, "mp_id": mp_ids[point], "created_at": NOW},
                )
            for c, (channel, consent) in enumerate(contacts):
                conn.execute(
                    insert(contact),
                    {
                        "subscriber_id": sid,
                        "channel": channel,
                        "address": f"{k}-{c}",
                        "consent": consent,
                        "consent_at": NOW,
                        "consent_source": "test",
                    },
                )
        counts.fill_shared(conn, uid)
        counts.refresh(conn, uid)
    return node_ids, mp_ids


Chosen = tuple[set[int], set[int], set[int], set[int]]


def brute_affected(world: World, selection: Chosen) -> set[int]:
    inc_nodes, inc_mps, exc_nodes, exc_mps = selection
    result = set()
    for j, at in enumerate(world.mp_nodes):
        chain = set(world.ancestors(at))
        if (chain & inc_nodes or j in inc_mps) and not chain & exc_nodes and j not in exc_mps:
            result.add(j)
    return result


def index_sets(world: World) -> st.SearchStrategy[Chosen]:
    nodes = st.sets(st.integers(0, len(world.parents) - 1), max_size=4)
    mps = st.sets(st.integers(0, max(0, len(world.mp_nodes) - 1)), max_size=4)
    if not world.mp_nodes:
        mps = st.just(set())
    return st.tuples(nodes, mps, nodes, mps)


SETTINGS = settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@SETTINGS
@given(data=st.data())
def test_affected_counts_match_brute_force(engine: Engine, data: st.DataObject) -> None:
    world = data.draw(worlds())
    node_ids, mp_ids = store(engine, world)
    chosen = data.draw(index_sets(world))
    inc_nodes, inc_mps, exc_nodes, exc_mps = chosen
    selection = Selection(
        frozenset(node_ids[i] for i in inc_nodes),
        frozenset(mp_ids[j] for j in inc_mps),
        frozenset(node_ids[i] for i in exc_nodes),
        frozenset(mp_ids[j] for j in exc_mps),
    )
    affected = brute_affected(world, chosen)
    subs = {k for k, (_l, points, _c) in enumerate(world.subs) if set(points) & affected}
    expected_contacts = Counter(
        (channel, world.subs[k][0])
        for k in subs
        for channel, consent in world.subs[k][2]
        if consent == "opted_in"
    )
    with engine.connect() as conn:
        got = affected_counts(conn, selection)
        streamed = list(iter_affected_subscribers(conn, selection, batch_size=3))
    assert got.metering_points == len(affected)
    assert got.priority_metering_points == sum(1 for j in affected if j % 5 == 0)
    assert got.subscribers == len(subs)
    assert got.contacts == dict(expected_contacts)
    assert len(streamed) == len(subs) == len({s.subscriber_id for s in streamed})
    by_account = {s.subscriber_id: {a.mp_id for a in s.addresses} for s in streamed}
    expected_addresses = sorted(
        sorted(f"6-{j:06d}" for j in set(world.subs[k][1]) & affected) for k in subs
    )
    assert sorted(sorted(v) for v in by_account.values()) == expected_addresses


@SETTINGS
@given(world=worlds(), page=st.integers(1, 7))
def test_children_and_totals_match_brute_force(engine: Engine, world: World, page: int) -> None:
    node_ids, _ = store(engine, world)
    with engine.connect() as conn:
        uid = conn.execute(select(utility.c.id)).scalar_one()
        for i, db_id in enumerate([None, *node_ids]):
            index = None if db_id is None else i - 1
            expected_nodes = sorted(
                (f"node {c:02d}", node_ids[c]) for c, p in enumerate(world.parents) if p == index
            )
            expected_mps = sorted(
                f"6-{j:06d}"
                for j, at in enumerate(world.mp_nodes)
                if index is not None and at == index
            )
            entries = []
            offset = 0
            while True:
                got = children(conn, uid, db_id, offset=offset, limit=page)
                assert got.total == len(expected_nodes) + len(expected_mps)
                entries += got.entries
                offset += len(got.entries)
                if not got.remaining:
                    break
            assert [(e.label, e.id) for e in entries if e.kind != "mp"] == expected_nodes
            assert [e.code for e in entries if e.kind == "mp"] == expected_mps
            for entry in entries:
                if entry.kind == "mp":
                    continue
                under = {
                    j
                    for j, at in enumerate(world.mp_nodes)
                    if node_ids.index(entry.id) in world.ancestors(at)
                }
                subs = {k for k, s in enumerate(world.subs) if set(s[1]) & under}
                assert (entry.mp_count, entry.subscriber_count) == (len(under), len(subs))


@SETTINGS
@given(world=worlds(), prefix=st.text("6-0123456789", min_size=1, max_size=8))
def test_search_by_id_prefix_matches_brute_force(engine: Engine, world: World, prefix: str) -> None:
    store(engine, world)
    with engine.connect() as conn:
        hits = search_metering_points(conn, prefix, limit=1000)
    found = {h.mp_id for h in hits if h.matched_on == "metering point"}
    candidates = [prefix]
    if prefix.isdigit() and len(prefix) > 1:
        candidates.append(f"{prefix[0]}-{prefix[1:]}")
    expected = {
        f"6-{j:06d}"
        for j in range(len(world.mp_nodes))
        if any(f"6-{j:06d}".startswith(c) for c in candidates)
    }
    assert found == expected


def test_search_finds_by_address_eic_meter_and_account(engine: Engine) -> None:
    world = World([None], [0, 0, 0], [("sl", [1], [("sms", "opted_in")])])
    store(engine, world)
    with engine.connect() as conn:
        assert [h.mp_id for h in search_metering_points(conn, "ulica 2")] == ["6-000002"]
        assert [h.mp_id for h in search_metering_points(conn, "ULICA 1 1 kr")] == ["6-000001"]
        assert [h.mp_id for h in search_metering_points(conn, "m0002")] == ["6-000002"]
        assert [(h.mp_id, h.matched_on) for h in search_metering_points(conn, "000000")] == [
            ("6-000001", "account")
        ]
        assert search_metering_points(conn, "   ") == []
