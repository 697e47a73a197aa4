"""The per-node totals (storage.counts) stay exact through every kind of write.

Random sequences of the writes that change subscribers, contacts or consent,
each through its real path (re-imports of subscribers and metering points, an
operator's opt-out, SMS sign-up, ODJAVA, STOP and START, a bot's verified
link and /stop), on a small tree whose subscribers have points under several
nodes. After each write the totals kept equal a full recount (and the
shared subscriptions the subscriptions); after the last, the sum over whole
nodes (every node, every pair of nodes, all leaves) equals the
distinct-subscriber pass, and the subscribers with the most points there
(the preview's worst case) are those a count of every point finds.
"""

from __future__ import annotations

import itertools
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Connection, Engine, delete, select, update

from dispatch_tui.domain.selection import Selection
from dispatch_tui.storage import consent, counts, inbound
from dispatch_tui.storage.affected import (
    affected_counts,
    counted_affected,
    iter_affected_subscribers,
    scope_of,
)
from dispatch_tui.storage.bot_chats import handle_chat_message
from dispatch_tui.storage.db import write_transaction
from dispatch_tui.storage.importers import import_file
from dispatch_tui.storage.tables import (
    bot_chat,
    contact,
    inbound_message,
    message,
    metering_point,
    node,
    node_contacts,
    proof_failure,
    shared_subscription,
    subscription,
    utility,
)
from tests.storage.csvdata import eic

NOW = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)
STATIONS = ["T1", "T2", "T3", "T4"]
NETWORK = """utility,code,parent,kind,name
EG,R1,,region,Gorenjska
EG,S1,R1,substation,RTP Kranj
EG,S2,R1,substation,RTP Labore
EG,F1,S1,feeder,Izvod 1
EG,F2,S2,feeder,Izvod 2
EG,T1,F1,transformer_station,TP 1
EG,T2,F1,transformer_station,TP 2
EG,T3,F2,transformer_station,TP 3
EG,T4,F2,transformer_station,TP 4
"""
POINTS = 10
ACCOUNTS = 6
PHONES = ["041 200 001", "041 200 002", "041 200 003"]
CHATS = ["901", "902"]


def mp_code(k: int) -> str:
    return f"6-{100001 + k}"


def account(k: int) -> str:
    return str(200001 + k)


def meter(k: int) -> str:
    return str(50001 + k)


def write_points(tmp: Path, stations: list[int]) -> Path:
    lines = ["utility,mp_id,node,settlement,street,house,eic,meter_number,priority"]
    lines += [
        f"EG,{mp_code(k)},{STATIONS[s]},Kranj,Cesta,{k + 1},{eic('24Z', k + 1)},{meter(k)},"
        f"{'yes' if k % 4 == 0 else 'no'}"
        for k, s in enumerate(stations)
    ]
    path = tmp / "points.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def write_subscribers(tmp: Path, subs: dict[int, tuple[str, list[int], list[str]]]) -> Path:
    lines = ["utility,account,name,language,phone,email,telegram,viber,metering_points"]
    for k, (language, points, channels) in sorted(subs.items()):
        phone = f"041 300 {k:03d}" if "sms" in channels else ""
        mail = f"s{k}@example.si" if "email" in channels else ""
        viber = f"{k:011d}A=" if "viber" in channels else ""
        codes = ";".join(mp_code(p) for p in points)
        lines.append(f"EG,{account(k)},Name {k},{language},{phone},{mail},,{viber},{codes}")
    path = tmp / "subscribers.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


class World:
    """What was imported last, so a re-import changes one thing of it."""

    def __init__(self, engine: Engine, tmp: Path) -> None:
        self.engine = engine
        self.tmp = tmp
        self.stations = [k % len(STATIONS) for k in range(POINTS)]
        self.subs: dict[int, tuple[str, list[int], list[str]]] = {
            0: ("sl", [0, 5], ["sms"]),  # T1 and T2: under F1 twice
            1: ("en", [1, 3, 6], ["email", "sms"]),  # T2, T4, T3: both substations
            2: ("sl", [2], ["viber"]),
        }
        self.clock = itertools.count(1)

    def now(self) -> datetime:
        return NOW + timedelta(seconds=next(self.clock))

    def import_points(self) -> None:
        import_file(
            self.engine, "metering-points", write_points(self.tmp, self.stations), actor="t"
        )

    def import_subscribers(self) -> None:
        path = write_subscribers(self.tmp, self.subs)
        import_file(self.engine, "subscribers", path, actor="t")


def reset(engine: Engine, tmp: Path) -> World:
    with engine.begin() as conn:
        conn.execute(update(inbound_message).values(reply_message_id=None))
        for table in (message, inbound_message, bot_chat, proof_failure, utility):
            conn.execute(delete(table))
    for kind, content in (
        (
            "utilities",
            "code,name,country,timezone,language,contact_phone,sms_sender\n"
            "EG,Elektro Gorenjska,SI,Europe/Ljubljana,sl,080 30 19,ElektroGor\n",
        ),
        ("network", NETWORK),
    ):
        path = tmp / f"{kind}.csv"
        path.write_text(content, encoding="utf-8")
        import_file(engine, kind, path, actor="t")
    world = World(engine, tmp)
    world.import_points()
    world.import_subscribers()
    return world


def apply(world: World, step: tuple[str, int, int]) -> None:
    kind, a, b = step
    engine = world.engine
    if kind == "subscriber":  # a new subscriber, or one gains a point, a channel, a language
        language, points, channels = world.subs.get(a % ACCOUNTS, ("sl", [], []))
        extra = ["sms", "email", "viber"][b % 3]
        world.subs[a % ACCOUNTS] = (
            ["sl", "en"][b % 2] if b % 5 == 0 else language,
            sorted({*points, b % POINTS}),
            sorted({*channels, extra}),
        )
        world.import_subscribers()
    elif kind == "move":  # a metering point moves to another station
        world.stations[a % POINTS] = b % len(STATIONS)
        world.import_points()
    elif kind == "operator_opt_out":
        with write_transaction(engine) as conn:
            ids = list(conn.scalars(select(contact.c.id).order_by(contact.c.id)))
            if ids:
                consent.opt_out(conn, [ids[a % len(ids)]], now=world.now(), source="operator")
    elif kind in ("sms_sign_up", "sms_leave", "sms_stop", "sms_start"):
        text = {
            "sms_sign_up": f"{mp_code(b % POINTS)} prijava",
            "sms_leave": f"{mp_code(b % POINTS)} odjava",
            "sms_stop": "STOP",
            "sms_start": "START",
        }[kind]
        phone = PHONES[a % len(PHONES)]
        inbound.handle_inbound(engine, sender=phone, receiver="1", text=text, now=world.now())
    elif kind == "bot_link":
        k = b % ACCOUNTS
        if k in world.subs and world.subs[k][1]:
            proof = meter(world.subs[k][1][0])
            for text in ("/add", account(k), proof):
                handle_chat_message(
                    engine,
                    "telegram",
                    CHATS[a % 2],
                    text,
                    update_id=next(world.clock),
                    now=world.now(),
                )
    elif kind == "bot_stop":
        handle_chat_message(
            engine, "telegram", CHATS[a % 2], "/stop", update_id=next(world.clock), now=world.now()
        )


def check_sums(engine: Engine) -> None:
    """Every node, every pair of nodes and all leaves, whole; every node less
    every other (under it, above it or beside it), less a point, plus a point;
    pairs of nodes less pairs of others (one subscriber cut out twice, or on both
    sides of the cut): as the distinct pass counts them."""
    with engine.connect() as conn:
        ids = list(conn.scalars(select(node.c.id).order_by(node.c.id)))
        leaves = list(conn.scalars(select(node.c.id).where(node.c.kind == "transformer_station")))
        points = list(conn.scalars(select(metering_point.c.id).order_by(metering_point.c.id)))
        selections = [
            Selection(nodes=frozenset(chosen))
            for chosen in [*([i] for i in ids), *itertools.combinations(ids, 2), leaves]
        ]
        for chosen, other in itertools.permutations(ids, 2):
            selections.append(
                Selection(nodes=frozenset({chosen}), excluded_nodes=frozenset({other}))
            )
        pairs = list(itertools.combinations(ids, 2))
        for chosen, cut in itertools.product(pairs, pairs[:: max(1, len(pairs) // 4)]):
            if not set(chosen) & set(cut):
                selections.append(Selection(nodes=frozenset(chosen), excluded_nodes=frozenset(cut)))
        for chosen, point in itertools.product(ids, points[:: max(1, len(points) // 4)]):
            selections += [
                Selection(nodes=frozenset({chosen}), excluded_metering_points=frozenset({point})),
                Selection(nodes=frozenset({chosen}), metering_points=frozenset({point})),
            ]
        for selection in selections:
            assert affected_counts(conn, selection) == counted_affected(conn, selection), selection
            check_top(conn, selection)


def check_kept(engine: Engine) -> None:
    """What the writes kept equals a full recount, and the shared subscriptions are current."""
    with engine.connect() as conn:
        kept = stored(conn)
        links = conn.execute(
            select(subscription.c.subscriber_id, subscription.c.mp_id, metering_point.c.path).join(
                metering_point, metering_point.c.id == subscription.c.mp_id
            )
        ).all()
        several = Counter(sub_id for sub_id, _, _ in links)
        shared = set(map(tuple, conn.execute(select(shared_subscription))))
        assert shared == {tuple(link) for link in links if several[link[0]] > 1}
    with engine.connect() as conn:
        recount = conn.begin()
        counts.refresh(conn)
        assert stored(conn) == kept
        recount.rollback()


def check_top(conn: Connection, selection: Selection) -> None:
    """The subscribers with the most affected points, as the preview's
    worst case takes them, equal those found by counting every point."""
    points = {s.subscriber_id: len(s.addresses) for s in iter_affected_subscribers(conn, selection)}
    ranked = sorted(points, key=lambda sub_id: (-points[sub_id], sub_id))
    for limit in (1, 2, 3):
        several = [sub_id for sub_id in ranked[:limit] if points[sub_id] > 1]
        expected = several if len(several) == limit else None
        shared = scope_of(conn, selection).on_shared_subscriptions()
        assert counts.top_subscribers(conn, shared, limit) == expected


def stored(conn: Connection) -> tuple[list[tuple[int, ...]], set[tuple[object, ...]]]:
    nodes = conn.execute(
        select(node.c.id, node.c.mp_count, node.c.priority_count, node.c.subscriber_count).order_by(
            node.c.id
        )
    ).all()
    rows = conn.execute(select(node_contacts).where(node_contacts.c.contacts != 0)).all()
    return [tuple(n) for n in nodes], {tuple(r) for r in rows}


STEPS = st.tuples(
    st.sampled_from(
        [
            "subscriber",
            "move",
            "operator_opt_out",
            "sms_sign_up",
            "sms_leave",
            "sms_stop",
            "sms_start",
            "bot_link",
            "bot_stop",
        ]
    ),
    st.integers(0, 20),
    st.integers(0, 20),
)


@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(steps=st.lists(STEPS, min_size=1, max_size=6))
def test_node_sums_stay_exact_through_every_write(
    engine: Engine, tmp_path: Path, steps: list[tuple[str, int, int]]
) -> None:
    world = reset(engine, tmp_path)
    check_kept(engine)
    for step in steps:
        apply(world, step)
        check_kept(engine)
    check_sums(engine)
