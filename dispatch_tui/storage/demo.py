"""A ready demo database: three utilities shaped like the seed documents.

Elektro Gorenjska (SI), Zakarpattyaoblenergo (UA) and an Electrohold-like
Bulgarian operator, each with a network of regions, substations, feeders and
transformer stations, metering points with addresses and identifiers in the
country's own formats, and subscribers with contacts and consent. "small"
shows the whole flow in seconds; "large" has the size the design promises to
stay fast at (1M metering points, 700k subscribers), so that benchmarks and
the tree have something real to work on.

Everything is drawn from one `random.Random(seed)` (and Faker seeded the
same way) in a fixed order, so one seed always gives identical rows, down to
the timestamps, which count back from a fixed REFERENCE. Rows are plain
dicts with ids assigned here (the database is fresh), written with Core
executemany in batches: ORM objects, or one Faker call per row, would make
the large build take many minutes instead of about one.
"""

from __future__ import annotations

import base64
import contextlib
import random
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from faker import Faker
from sqlalchemy import Connection, Engine, Table, bindparam, func, select, text

from dispatch_tui.domain.identifiers import InvalidIdentifier, eic_check_char
from dispatch_tui.domain.text import address_key
from dispatch_tui.domain.tree_path import child_path
from dispatch_tui.os_user import current_login
from dispatch_tui.storage import audit, counts, search_terms
from dispatch_tui.storage.db import is_sqlite, write_transaction
from dispatch_tui.storage.demo_names import (
    BG_FEMALE_FIRST,
    BG_FEMALE_LAST,
    BG_MALE_FIRST,
    BG_MALE_LAST,
    BG_STREETS,
    ELECTROHOLD,
    GORENJSKA,
    SOFIA_BLOCK_DISTRICTS,
    ZAKARPATTIA,
    RegionNames,
    latin,
)
from dispatch_tui.storage.demo_readings import write_readings
from dispatch_tui.storage.models import User
from dispatch_tui.storage.tables import (
    balance,
    balance_snapshot,
    contact,
    contact_service,
    metering_point,
    node,
    role_change,
    subscriber,
    subscription,
    utility,
)

Progress = Callable[[str, int, int], None]
"""progress(stage, done, total), as the importers report it."""

app_user: Table = User.__table__  # type: ignore[assignment]

BATCH = 20_000
REFERENCE = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)
"""The demo's "now": fixed, so that one seed gives identical timestamps too."""
HISTORY = timedelta(days=6 * 365)
"""Subscribers signed up during the six years before REFERENCE."""

CURRENCIES = {"SI": "EUR", "UA": "UAH", "BG": "BGN"}
BALANCE_SHARE = 0.5
"""Accounts in each utility's newest balance snapshot (billing exports only some)."""
SERVICE_SHARES = {"bill_info": 0.2, "payment_reminder": 0.15, "reading_reminder": 0.2}
"""Opted-in contacts that also chose each service (meter-reading reminders: UA only)."""

BENCH_REGION_CODE = "EH-R01"
"""The region sized by `SizeSpec.bench_region` (the preview benchmark's ~100k)."""
BIG_STATION_CODE = "EH-R01-SS01-F01-TP001"
"""The urban transformer station with `SizeSpec.big_station` metering points."""
SHOWCASE_MP_ID = "6-100001"
SHOWCASE_STREET = "Prešernova ulica"
"""The search dialog's examples: a metering point id, and a street of Kranj (on
the first urban station of the Kranj area) with houses 1, 2, 3, …"""


@dataclass(frozen=True)
class SizeSpec:
    """How big a demo is.

    `regions` caps the regions per utility (the first ones of each list);
    `bench_region` fixes the metering points of BENCH_REGION_CODE and
    `big_station` those of BIG_STATION_CODE, so that benchmarks find the
    same shapes in every build whatever the seed.
    """

    metering_points: int
    regions: int
    bench_region: int
    big_station: int


SIZES: dict[str, SizeSpec] = {
    "small": SizeSpec(metering_points=20_000, regions=2, bench_region=4_000, big_station=500),
    "large": SizeSpec(
        metering_points=1_000_000, regions=6, bench_region=100_000, big_station=5_000
    ),
}


@dataclass(frozen=True)
class DemoSummary:
    utilities: int
    nodes: int
    metering_points: int
    subscribers: int
    contacts: int
    subscriptions: int
    seconds: float

    def __str__(self) -> str:
        return (
            f"{self.utilities} utilities, {self.nodes:,} nodes, "
            f"{self.metering_points:,} metering points, {self.subscribers:,} subscribers, "
            f"{self.contacts:,} contacts, {self.subscriptions:,} subscriptions "
            f"in {self.seconds:.1f} s"
        )


# --- the three utilities ------------------------------------------------------------


@dataclass(frozen=True)
class _Country:
    """What differs between the countries' identifiers and contacts."""

    code: str
    dial: str
    mobile_prefixes: tuple[str, ...]
    mobile_digits: int
    eic_prefix: str
    meter_digits: int
    channel_weights: tuple[tuple[str, float], ...]


# Mobile ranges of each country's operators; libphonenumber accepts every number
# in them as a mobile number. Some belong to real people, so the demo must stay on
# the sandbox gateway.
# EIC issuing offices: 62 is Ukraine's (ua.energy: a metering point's Z code is
# "62Z" + 12 random digits + check), 32 Bulgaria's (ESO EAD). For Slovenia we found
# no public source for the office code, so "29" is a stand-in; Slovene bills key on
# the "6-123456" metering point id anyway.
_SI = _Country(
    code="SI",
    dial="+386",
    mobile_prefixes=("30", "31", "40", "41", "51", "64", "68", "69", "70", "71"),
    mobile_digits=6,
    eic_prefix="29Z",
    meter_digits=8,
    channel_weights=(("sms", 0.58), ("email", 0.36), ("viber", 0.04), ("telegram", 0.02)),
)
_UA = _Country(
    code="UA",
    dial="+380",
    mobile_prefixes=("50", "63", "66", "67", "68", "73", "93", "95", "96", "97", "98", "99"),
    mobile_digits=7,
    eic_prefix="62Z",
    meter_digits=10,
    channel_weights=(("telegram", 0.46), ("viber", 0.38), ("sms", 0.1), ("email", 0.06)),
)
_BG = _Country(
    code="BG",
    dial="+359",
    mobile_prefixes=("87", "88", "89", "98"),
    mobile_digits=7,
    eic_prefix="32Z",
    meter_digits=10,
    channel_weights=(("sms", 0.6), ("email", 0.3), ("viber", 0.07), ("telegram", 0.03)),
)

EMAIL_DOMAINS = ("example.com", "example.net", "example.org")
"""RFC 2606 domains: a demo pointed at a real SMTP server cannot mail strangers."""

TELEGRAM_DEMO_BASE = -9 * 10**18
"""Demo Telegram chats are this minus a user-like id: about -9e18, while Telegram promises
at most 52 significant bits (about ±4.5e15) for real ids, so no bot can reach one."""

VIBER_DEMO_PREFIX = "demo-"
"""Demo Viber user ids carry it; real ids are standard base64, which has no "-"."""


@dataclass(frozen=True)
class _UtilitySpec:
    code: str
    name: str
    country: _Country
    timezone: str
    language: str
    contact_phone: str
    sms_sender: str  # alphanumeric sender ids have at most 11 characters
    share: float  # of all metering points
    regions: tuple[RegionNames, ...]


_UTILITIES = (
    _UtilitySpec(
        code="EG",
        name="Elektro Gorenjska",
        country=_SI,
        timezone="Europe/Ljubljana",
        language="sl",
        contact_phone="080 30 19",
        sms_sender="ElektroGor",
        share=0.15,
        regions=GORENJSKA,
    ),
    _UtilitySpec(
        code="ZOE",
        name="Закарпаттяобленерго",
        country=_UA,
        timezone="Europe/Kyiv",
        language="uk",
        contact_phone="0 800 50 16 20",
        sms_sender="ZakOblEnerg",  # "ZakOblEnergo" is 12 characters, one too many
        share=0.38,
        regions=ZAKARPATTIA,
    ),
    _UtilitySpec(
        code="EH",
        name="Електрохолд",
        country=_BG,
        timezone="Europe/Sofia",
        language="bg",
        contact_phone="0700 10 010",
        sms_sender="Electrohold",
        share=0.47,
        regions=ELECTROHOLD,
    ),
)


# --- name pools ------------------------------------------------------------------------


@dataclass(frozen=True)
class _People:
    male_first: tuple[str, ...]
    female_first: tuple[str, ...]
    male_last: tuple[str, ...]
    female_last: tuple[str, ...]
    streets: tuple[str, ...]


def _faker_pool(fake: Faker, method: str, draws: int) -> tuple[str, ...]:
    """Distinct values of one Faker provider, in the order drawn (deterministic)."""
    produce = getattr(fake, method)
    return tuple(dict.fromkeys(str(produce()) for _ in range(draws)))


def _plain_street(name: str) -> bool:
    # Not Ljubljana's numbered "Vrhovci, cesta IX" or "Rudnik II", nor Odesa's "Лінія 42-га".
    numbered = set(name.split()[-1]) <= set("IVXL") or any(ch.isdigit() for ch in name)
    return "," not in name and not numbered


def _ua_street(name: str) -> str:
    # Adjectival masculine names ("Кедровий") are lanes, the rest streets.
    return f"пров. {name}" if name.endswith(("ий", "ій")) else f"вул. {name}"


def _people(language: str, seed: int) -> _People:
    """Pools of a few hundred names and streets, drawn once: Faker per row is far too slow."""
    if language == "bg":
        return _People(BG_MALE_FIRST, BG_FEMALE_FIRST, BG_MALE_LAST, BG_FEMALE_LAST, BG_STREETS)
    fake = Faker({"sl": "sl_SI", "uk": "uk_UA"}[language])
    fake.seed_instance(seed)
    streets = [s for s in _faker_pool(fake, "street_name", 1500) if _plain_street(s)]
    return _People(
        male_first=_faker_pool(fake, "first_name_male", 600),
        female_first=_faker_pool(fake, "first_name_female", 600),
        male_last=_faker_pool(fake, "last_name_male", 1200),
        female_last=_faker_pool(fake, "last_name_female", 1200),
        streets=tuple(_ua_street(s) for s in streets) if language == "uk" else tuple(streets),
    )


# --- the network plan ------------------------------------------------------------------


@dataclass
class _Station:
    """A transformer station to be: where it is and how many metering points it feeds."""

    size: int
    urban: bool
    place: str  # the district (urban) or village (rural) it is named after
    settlement: str  # what the addresses under it say
    id: int = 0
    path: str = ""


@dataclass
class _Region:
    code: str
    names: RegionNames
    substations: list[list[list[_Station]]] = field(default_factory=list)
    """substations → feeders → stations"""

    def stations(self) -> Iterator[_Station]:
        for feeders in self.substations:
            for stations in feeders:
                yield from stations

    @property
    def size(self) -> int:
        return sum(station.size for station in self.stations())

    @property
    def node_count(self) -> int:
        return 1 + sum(1 + len(feeders) + sum(map(len, feeders)) for feeders in self.substations)


@dataclass
class _Plan:
    id: int
    spec: _UtilitySpec
    regions: list[_Region]
    first_mp: int = 0
    mp_ids: list[str] = field(default_factory=list)

    @property
    def size(self) -> int:
        return sum(region.size for region in self.regions)


def _region_sizes(spec: _UtilitySpec, size: SizeSpec) -> list[int]:
    """Metering points per region: the bench region fixed, the rest by weight."""
    regions = spec.regions[: size.regions]
    rest = round(size.metering_points * spec.share)
    fixed = []
    if f"{spec.code}-R01" == BENCH_REGION_CODE:
        fixed = [size.bench_region]
        rest -= size.bench_region
        regions = regions[1:]
    weights = [region.weight for region in regions]
    shares = [int(rest * weight / sum(weights)) for weight in weights]
    shares[-1] += rest - sum(shares)
    return fixed + shares


def _plan_region(
    rng: random.Random, code: str, names: RegionNames, target: int, big_station: int
) -> _Region:
    """Stations until `target` metering points, grouped 4-14 per feeder, 4-12 feeders
    per substation. Rural stations feed a hamlet (5-70 points), urban ones blocks of
    flats (80-420); the big station, if any, comes first."""
    stations: list[_Station] = []
    if big_station:
        stations.append(_Station(big_station, True, rng.choice(names.districts), names.town))
    remaining = target - big_station
    while remaining > 0:
        if rng.random() < names.urban_share:
            size = int(rng.triangular(80, 420, 150))
            station = _Station(size, True, rng.choice(names.districts), names.town)
        else:
            village = rng.choice(names.villages)
            station = _Station(int(rng.triangular(5, 70, 20)), False, village, village)
        station.size = min(station.size, remaining)
        stations.append(station)
        remaining -= station.size
    region = _Region(code, names)
    i = 0
    while i < len(stations):
        feeders: list[list[_Station]] = []
        for _ in range(rng.randint(4, 12)):
            if i < len(stations):
                take = rng.randint(4, 14)
                feeders.append(stations[i : i + take])
                i += take
        region.substations.append(feeders)
    return region


def _substation_name(names: RegionNames, index: int, country: str) -> str:
    base = names.substations[(index - 1) % len(names.substations)]
    repeat = (index - 1) // len(names.substations)
    if not repeat:
        return base
    return f"{base}-{repeat + 1}" if country == "UA" else f"{base} {repeat + 1}"


def _feeder_name(country: str, index: int, place: str) -> str:
    """Feeders are named after the place their first station feeds."""
    if country == "SI":
        return f"Izvod {place}"
    if country == "UA":
        return f"Ф-{index} {place}"
    return f"извод {place}"


def _station_name(country: str, station: _Station, per_place: int, number: int) -> str:
    if country == "SI":  # "TP Stražišče 3"
        return f"TP {station.place} {per_place}"
    if country == "UA":  # "ТП 1234 Мукачево"; КТП: a rural kiosk station
        return f"{'ТП' if station.urban else 'КТП'} {number} {station.settlement}"
    # "ТП Люлин 5 №12"; МТП: a rural pole-mounted station
    return f"{'ТП' if station.urban else 'МТП'} {station.place} №{per_place}"


# --- addresses and identifiers ------------------------------------------------------------


def _addresses(
    rng: random.Random,
    country: str,
    station: _Station,
    streets: Sequence[str],
    showcase: str | None = None,
) -> Iterator[tuple[str, str]]:
    """(street, house) for each metering point of a station, along real-looking streets.

    Urban stations feed blocks of flats, one building with many meters
    (Bulgarian housing estates address them by block, entrance and flat);
    rural ones feed houses. A street holds 10-60 buildings before the next
    one starts; in Slovene villages the village name itself is the street.
    A `showcase` street comes first, houses numbered 1, 2, 3, … (so that
    the search dialog's example "Prešernova 5" exists).
    """
    n = station.size
    if country == "BG" and station.urban and station.place in SOFIA_BLOCK_DISTRICTS:
        street = f"ж.к. {station.place}"
        block = rng.randint(1, 700)
        while True:
            flat = 0
            for entrance in "АБВГ"[: rng.randint(1, 4)]:
                for _ in range(rng.randint(12, 40)):
                    if n == 0:
                        return
                    flat += 1
                    n -= 1
                    yield street, f"бл. {block}, вх. {entrance}, ап. {flat}"
            block += rng.randint(1, 6)
    village_street = country == "SI" and not station.urban and rng.random() < 0.6
    flats = station.urban and rng.random() < (0.5 if country == "SI" else 0.7)
    flats = flats and showcase is None
    flat_format = {"SI": "{0}", "UA": "{0}, кв. {1}", "BG": "{0}, ап. {1}"}[country]
    letters = "abc" if country == "SI" else "аб"
    while n > 0:
        street = station.settlement if village_street else rng.choice(streets)
        number = rng.randint(1, 20)
        if showcase is not None:
            street, number = showcase, 1
        for _ in range(n if village_street else rng.randint(10, 60)):
            if n == 0:
                return
            if flats:
                for flat in range(1, min(n, rng.randint(8, 60)) + 1):
                    n -= 1
                    yield street, flat_format.format(number, flat)
            else:
                n -= 1
                suffix = rng.choice(letters) if rng.random() < 0.05 and not showcase else ""
                yield street, f"{number}{suffix}"
            number += 1 if showcase else rng.randint(1, 3)
        showcase = None


def _showcase_station(plan: _Plan) -> _Station | None:
    """Elektro Gorenjska's first urban station in Kranj (or its first station at all)."""
    if plan.spec.code != "EG" or not plan.regions:
        return None
    stations = list(plan.regions[0].stations())
    return next((st for st in stations if st.urban), stations[0] if stations else None)


def _eics(rng: random.Random, prefix: str, count: int) -> list[str]:
    """Distinct valid EICs: prefix + 12 random digits + check character.

    About 1 body in 37 would need '-' as check character, which ENTSO-E
    forbids; those are skipped, so a few more bodies are drawn than needed.
    """
    out: list[str] = []
    for value in rng.sample(range(10**12), count + count // 20 + 50):
        body = f"{prefix}{value:012d}"
        with contextlib.suppress(InvalidIdentifier):
            out.append(body + eic_check_char(body))
        if len(out) == count:
            return out
    raise AssertionError("ran out of EIC bodies")  # pragma: no cover


def _mp_ids(rng: random.Random, country: str, regions: list[_Region]) -> list[str]:
    """Metering point ids in the country's format, distinct within the utility."""
    count = sum(region.size for region in regions)
    if country == "SI":
        # "6-123456": the first digit stands for the area, 6 digits unique within it.
        ids: list[str] = []
        for area, region in zip((6, 4, 5, 7, 8, 3, 2, 9, 1), regions, strict=False):
            ids.extend(f"{area}-{v:06d}" for v in rng.sample(range(10**6), region.size))
        if ids and SHOWCASE_MP_ID not in ids:
            ids[0] = SHOWCASE_MP_ID
        return ids
    if country == "UA":  # the 9-digit personal account of seed 001
        return [str(v) for v in rng.sample(range(10**8, 10**9), count)]
    return [str(v) for v in rng.sample(range(10**6, 10**7), count)]  # BG: 7 digits


def _accounts(rng: random.Random, plan: _Plan, groups: list[list[int]]) -> list[str]:
    country = plan.spec.country.code
    if country == "UA":
        # Seed 001: the personal account is the one of a supply address.
        return [plan.mp_ids[group[0] - plan.first_mp] for group in groups]
    if country == "SI":
        return [str(v) for v in rng.sample(range(10**6, 10**7), len(groups))]
    # Seed 002: 12-digit client numbers like "300012345678".
    return [str(300_000_000_000 + v) for v in rng.sample(range(10**10), len(groups))]


def _consent_source(
    rng: random.Random, country: str, channel: str, consent: str, account: str, mp_id: str
) -> str:
    """How the consent came about, along the sign-up paths of the seed documents."""
    if channel in ("telegram", "viber"):
        return "bot"
    if rng.random() < 0.15:
        return "import"  # carried over from the utility's older system
    if channel == "sms" and rng.random() < 0.5:
        if country == "SI":  # seed 000: "6-123456 PRIJAVA" / "6-123456 ODJAVA"
            return f"SMS {mp_id} {'ODJAVA' if consent == 'opted_out' else 'PRIJAVA'}"
        if country == "BG":  # seed 002: the 12-digit client number to 170077
            return "SMS STOP" if consent == "opted_out" else f"SMS {account}"
    return "web form"


# --- the builder -----------------------------------------------------------------------------


class _Writer:
    """Buffers rows and writes them with executemany, a batch at a time.

    All buffers are flushed together, in the order their tables were first
    used, so a parent row (a subscriber) always reaches the database before
    the rows that reference it (its contacts and subscriptions).
    """

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.buffers: dict[Table, list[dict[str, Any]]] = {}
        self.written: dict[str, int] = {}

    def add(self, table: Table, row: dict[str, Any]) -> None:
        rows = self.buffers.setdefault(table, [])
        rows.append(row)
        if len(rows) >= BATCH:
            self.flush()

    def flush(self) -> None:
        for table, rows in self.buffers.items():
            if rows:
                self.conn.execute(table.insert(), rows)
                self.written[table.name] = self.written.get(table.name, 0) + len(rows)
                rows.clear()


class _Builder:
    def __init__(self, conn: Connection, size: SizeSpec, seed: int, progress: Progress) -> None:
        self.conn = conn
        self.rng = random.Random(seed)
        # The account services draw from their own stream: the rest of the demo (names,
        # numbers, consent) stays what it was before they existed.
        self.services_rng = random.Random(seed * 1_000_003 + 14)
        self.subscriber_ranges: list[tuple[_Plan, range]] = []
        self.progress = progress
        self.out = _Writer(conn)
        self.people = {language: _people(language, seed) for language in ("sl", "uk", "bg")}
        self.next_node = 1
        self.next_mp = 1
        self.next_subscriber = 1
        self.next_contact = 1
        self.plans: list[_Plan] = []
        for uid, spec in enumerate(_UTILITIES, 1):
            regions = []
            for index, target in enumerate(_region_sizes(spec, size), 1):
                code = f"{spec.code}-R{index:02d}"
                big = size.big_station if code == BENCH_REGION_CODE else 0
                names = spec.regions[index - 1]
                regions.append(_plan_region(self.rng, code, names, target, big))
            self.plans.append(_Plan(uid, spec, regions))

    def write(self) -> None:
        self.conn.execute(
            utility.insert(),
            [
                {
                    "id": plan.id,
                    "code": plan.spec.code,
                    "name": plan.spec.name,
                    "country": plan.spec.country.code,
                    "timezone": plan.spec.timezone,
                    "language": plan.spec.language,
                    "contact_phone": plan.spec.contact_phone,
                    "sms_sender": plan.spec.sms_sender,
                }
                for plan in self.plans
            ],
        )
        self.write_network()
        self.write_metering_points()
        self.write_subscribers()
        self.write_balances()
        self.write_users()

    def refresh_totals(self) -> None:
        for done, plan in enumerate(self.plans):
            self.progress("totals", done, len(self.plans))
            counts.fill_shared(self.conn, plan.id)
            counts.refresh(self.conn, plan.id)
        self.progress("totals", len(self.plans), len(self.plans))

    def refresh_search_terms(self) -> None:
        for done, plan in enumerate(self.plans):
            self.progress("search terms", done, len(self.plans))
            search_terms.refresh(self.conn, plan.id)
        self.progress("search terms", len(self.plans), len(self.plans))

    # network -------------------------------------------------------------------------

    def _node(
        self, uid: int, parent: tuple[int, str] | None, kind: str, code: str, name: str
    ) -> tuple[int, str]:
        node_id = self.next_node
        self.next_node += 1
        path = child_path(parent[1] if parent else None, node_id)
        row = {
            "id": node_id,
            "utility_id": uid,
            "parent_id": parent[0] if parent else None,
            "kind": kind,
            "code": code,
            "name": name,
            "path": path,
            "mp_count": 0,  # counts.refresh() fills both totals at the end
            "subscriber_count": 0,
        }
        self.out.add(node, row)
        return node_id, path

    def write_network(self) -> None:
        total = sum(region.node_count for plan in self.plans for region in plan.regions)
        self.progress("network", 0, total)
        for plan in self.plans:
            country = plan.spec.country.code
            per_place: dict[str, int] = {}
            number = 999
            for region in plan.regions:
                r = self._node(plan.id, None, "region", region.code, region.names.name)
                for si, feeders in enumerate(region.substations, 1):
                    s_code = f"{region.code}-SS{si:02d}"
                    s_name = _substation_name(region.names, si, country)
                    s = self._node(plan.id, r, "substation", s_code, s_name)
                    for fi, stations in enumerate(feeders, 1):
                        f_code = f"{s_code}-F{fi:02d}"
                        f_name = _feeder_name(country, fi, stations[0].place)
                        f = self._node(plan.id, s, "feeder", f_code, f_name)
                        for ti, station in enumerate(stations, 1):
                            number += 1
                            per_place[station.place] = per_place.get(station.place, 0) + 1
                            name = _station_name(country, station, per_place[station.place], number)
                            code = f"{f_code}-TP{ti:03d}"
                            station.id, station.path = self._node(
                                plan.id, f, "transformer_station", code, name
                            )
                self.progress("network", self.next_node - 1, total)
        self.out.flush()
        self.progress("network", total, total)

    # metering points -----------------------------------------------------------------

    def write_metering_points(self) -> None:
        rng = self.rng
        total = sum(plan.size for plan in self.plans)
        self.progress("metering points", 0, total)
        for plan in self.plans:
            country = plan.spec.country
            streets = self.people[plan.spec.language].streets
            plan.first_mp = self.next_mp
            plan.mp_ids = _mp_ids(rng, country.code, plan.regions)
            eics = _eics(rng, country.eic_prefix, plan.size)
            low = 10 ** (country.meter_digits - 1)
            meters = rng.sample(range(low, 10 * low), plan.size)
            stations = [st for region in plan.regions for st in region.stations()]
            showcase = _showcase_station(plan)
            for station in stations:
                settlement = station.settlement
                street_first = SHOWCASE_STREET if station is showcase else None
                addresses = _addresses(rng, country.code, station, streets, street_first)
                for street, house in addresses:
                    i = self.next_mp - plan.first_mp
                    row = {
                        "id": self.next_mp,
                        "utility_id": plan.id,
                        "node_id": station.id,
                        "path": station.path,
                        "mp_id": plan.mp_ids[i],
                        "settlement": settlement,
                        "street": street,
                        "house": house,
                        "search_key": address_key(street, house, settlement),
                        "eic": eics[i],
                        "meter_number": str(meters[i]),
                        "priority": rng.random() < 0.002,  # life support, hospitals
                    }
                    self.out.add(metering_point, row)
                    self.next_mp += 1
                    if self.next_mp % BATCH == 0:
                        self.progress("metering points", self.next_mp - 1, total)
        self.out.flush()
        self.progress("metering points", total, total)

    # subscribers ---------------------------------------------------------------------

    def _groups(self, plan: _Plan) -> list[list[int]]:
        """Metering point ids per subscriber: ~70 % one, the rest two or three.

        About 2 % of metering points have no subscriber. Half of those with
        several own neighbouring points (flats of one building, houses of one
        street: one notice lists several addresses); the others have a place
        elsewhere too, swapped in from the points not yet given out.
        """
        rng = self.rng
        order = [plan.first_mp + k for k in range(plan.size) if rng.random() >= 0.02]
        groups: list[list[int]] = []
        i = 0
        while i < len(order):
            roll = rng.random()
            k = min(1 if roll < 0.70 else 2 if roll < 0.90 else 3, len(order) - i)
            if k > 1 and i + k < len(order) and rng.random() < 0.5:
                j = rng.randrange(i + k, len(order))  # from the points not yet given out
                order[i + 1], order[j] = order[j], order[i + 1]
            groups.append(order[i : i + k])
            i += k
        return groups

    def write_subscribers(self) -> None:
        rng = self.rng
        grouped = [self._groups(plan) for plan in self.plans]
        total = sum(map(len, grouped))
        self.progress("subscribers", 0, total)
        history = int(HISTORY.total_seconds())
        for plan, groups in zip(self.plans, grouped, strict=True):
            spec = plan.spec
            self.subscriber_ranges.append(
                (plan, range(self.next_subscriber, self.next_subscriber + len(groups)))
            )
            people = self.people[spec.language]
            channels = [channel for channel, _ in spec.country.channel_weights]
            weights = [weight for _, weight in spec.country.channel_weights]
            for group, account in zip(groups, _accounts(rng, plan, groups), strict=True):
                sid = self.next_subscriber
                self.next_subscriber += 1
                if rng.random() < 0.5:
                    first, last = rng.choice(people.male_first), rng.choice(people.male_last)
                else:
                    first, last = rng.choice(people.female_first), rng.choice(people.female_last)
                created = REFERENCE - timedelta(seconds=rng.randrange(history))
                row = {
                    "id": sid,
                    "utility_id": plan.id,
                    "account": account,
                    "name": f"{first} {last}",
                    "language": "en" if rng.random() < 0.05 else spec.language,
                    "created_at": created,
                }
                self.out.add(subscriber, row)
                for n, mp in enumerate(group):
                    since = created if n == 0 else created + (REFERENCE - created) * rng.random()
                    self.out.add(
                        subscription, {"subscriber_id": sid, "mp_id": mp, "created_at": since}
                    )
                roll = rng.random()
                picked: list[str] = []
                for _ in range(1 if roll < 0.55 else 2 if roll < 0.9 else 3):
                    channel = rng.choices(channels, weights)[0]
                    if channel not in picked:
                        picked.append(channel)
                mp_id = plan.mp_ids[group[0] - plan.first_mp]
                for channel in picked:
                    address = self._address(channel, spec, first, last)
                    self._contact(sid, channel, address, spec, created, account, mp_id)
                if sid % BATCH == 0:
                    self.progress("subscribers", sid, total)
        self.out.flush()
        self.progress("subscribers", total, total)

    def _address(self, channel: str, spec: _UtilitySpec, first: str, last: str) -> str:
        rng = self.rng
        if channel == "sms":
            country = spec.country
            number = rng.randrange(10**country.mobile_digits)
            prefix = rng.choice(country.mobile_prefixes)
            return f"{country.dial}{prefix}{number:0{country.mobile_digits}d}"
        if channel == "email":
            separator = rng.choice((".", "", "_"))
            suffix = str(rng.randint(1, 99)) if rng.random() < 0.4 else ""
            local = f"{latin(first, spec.language)}{separator}{latin(last, spec.language)}"
            return f"{local}{suffix}@{rng.choice(EMAIL_DOMAINS)}"
        if channel == "telegram":  # shaped like a user's id, outside the range of real ones
            return str(TELEGRAM_DEMO_BASE - rng.randrange(10**8, 8 * 10**9))
        return VIBER_DEMO_PREFIX + base64.b64encode(rng.randbytes(16)).decode("ascii")

    def _contact(
        self,
        sid: int,
        channel: str,
        address: str,
        spec: _UtilitySpec,
        created: datetime,
        account: str,
        mp_id: str,
    ) -> None:
        rng = self.rng
        roll = rng.random()
        consent = "opted_in" if roll < 0.95 else "opted_out" if roll < 0.98 else "pending"
        since = min(created + timedelta(seconds=rng.randrange(30 * 86400)), REFERENCE)
        row = {
            "id": self.next_contact,
            "subscriber_id": sid,
            "channel": channel,
            "address": address,
            "consent": consent,
            "consent_at": since,
            "consent_source": _consent_source(
                rng, spec.country.code, channel, consent, account, mp_id
            ),
        }
        self.out.add(contact, row)
        if consent == "opted_in":
            self._services(self.next_contact, spec.country.code, since)
        self.next_contact += 1

    def _services(self, contact_id: int, country: str, since: datetime) -> None:
        """Some opted-in contacts also chose bill information or reminders."""
        rng = self.services_rng
        for service, share in SERVICE_SHARES.items():
            if service == "reading_reminder" and country != "UA":
                continue
            if rng.random() < share:
                self.out.add(
                    contact_service,
                    {
                        "contact_id": contact_id,
                        "service": service,
                        "consent": "opted_in",
                        "consent_at": since,
                        "consent_source": "demo: chosen with the sign-up",
                    },
                )

    # balances --------------------------------------------------------------------------

    def write_balances(self) -> None:
        """Per utility, billing's snapshot of the day before REFERENCE (half the accounts:
        most paid, some due soon, some overdue) and the month before's for every tenth of
        them, so the Subscribers screen shows a history."""
        rng = self.services_rng
        newest = REFERENCE - timedelta(days=1)
        older = newest - timedelta(days=28)
        total = sum(len(ids) for _plan, ids in self.subscriber_ranges)
        self.progress("balances", 0, total)
        snapshot_id = 0
        for plan, ids in self.subscriber_ranges:
            currency = CURRENCIES[plan.spec.country.code]
            chosen = [sid for sid in ids if rng.random() < BALANCE_SHARE]
            history = chosen[::10]
            for as_of, accounts in ((older, history), (newest, chosen)):
                snapshot_id += 1
                self.conn.execute(
                    balance_snapshot.insert(),
                    {
                        "id": snapshot_id,
                        "utility_id": plan.id,
                        "as_of": as_of,
                        "imported_at": as_of,
                        "imported_by": "demo",
                        "source": f"demo-{plan.spec.code.lower()}-{as_of:%Y-%m-%d}.csv",
                        "rows": len(accounts),
                    },
                )
                for sid in accounts:
                    self.out.add(balance, self._balance(snapshot_id, sid, currency, as_of))
            self.progress("balances", ids.stop - 1, total)
        self.out.flush()
        self.progress("balances", total, total)

    def _balance(
        self, snapshot_id: int, sid: int, currency: str, as_of: datetime
    ) -> dict[str, Any]:
        rng = self.services_rng
        roll = rng.random()
        day = as_of.date()
        if roll < 0.55:  # paid: nothing due until the next bill
            amount, due = 0, day + timedelta(days=rng.randrange(5, 30))
            paid = day - timedelta(days=rng.randrange(1, 25))
        elif roll < 0.8:  # billed, due soon
            amount, due, paid = (
                rng.randrange(1500, 30000),
                day + timedelta(days=rng.randrange(1, 20)),
                None,
            )
        else:  # overdue by a few days to two months
            amount = rng.randrange(2000, 60000)
            due, paid = day - timedelta(days=rng.randrange(1, 60)), None
        return {
            "snapshot_id": snapshot_id,
            "subscriber_id": sid,
            "amount_minor": amount,
            "currency": currency,
            "due_date": due,
            "last_payment_date": paid,
        }

    # users -----------------------------------------------------------------------------

    def write_users(self) -> None:
        """The OS user building the demo (its real uid) as admin, plus one demo
        operator per other role, each with the role history the send path checks
        (an approval by a user without one sends nothing)."""
        builder = current_login()
        wanted = [
            (builder, "admin"),
            ("ana", "dispatcher"),
            ("bohdan", "shift_lead"),
            ("viktor", "viewer"),
        ]
        existing = set(self.conn.execute(select(app_user.c.username)).scalars())
        next_id = (self.conn.execute(select(func.max(app_user.c.id))).scalar() or 0) + 1
        rows = []
        for username, role in wanted:
            if username not in existing:
                existing.add(username)
                rows.append(
                    {"id": next_id, "username": username, "role": role, "created_at": REFERENCE}
                )
                next_id += 1
        if rows:
            self.conn.execute(app_user.insert(), rows)
            history = [
                {"username": r["username"], "role": r["role"], "changed_at": REFERENCE}
                for r in rows
            ]
            self.conn.execute(role_change.insert().values(changed_by=builder), history)


_BULK_TABLES = ("node", "metering_point", "subscriber", "contact", "subscription")


def _secondary_indexes(conn: Connection) -> list[tuple[str, str]]:
    """(name, CREATE statement) of each plain index on the bulk-loaded tables,
    read from the database itself so that recreating them restores exactly
    what the migrations made. Indexes behind PRIMARY KEY/UNIQUE stay."""
    if is_sqlite(conn):
        query = text(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
            "AND tbl_name IN :tables ORDER BY name"
        )
    else:
        query = text(
            "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() "
            "AND tablename IN :tables AND indexname NOT IN (SELECT conname FROM pg_constraint) "
            "ORDER BY indexname"
        )
    query = query.bindparams(bindparam("tables", expanding=True))
    return [(name, ddl) for name, ddl in conn.execute(query, {"tables": list(_BULK_TABLES)})]


def _reset_sequences(conn: Connection) -> None:
    """PostgreSQL: move each id sequence past the ids assigned here."""
    tables = ("utility", "node", "metering_point", "subscriber", "contact", "app_user")
    for table in (*tables, "balance_snapshot"):
        conn.execute(
            text(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"COALESCE(MAX(id), 1), MAX(id) IS NOT NULL) FROM {table}"
            )
        )


def _quiet(stage: str, done: int, total: int) -> None:
    return None


def build_demo(
    engine: Engine,
    *,
    size: str = "small",
    seed: int = 0,
    progress: Progress | None = None,
) -> DemoSummary:
    """Fill a freshly migrated database with the demo, all in one transaction.

    Refuses a database that already has utilities: the ids are assigned
    here and the demo would mix with real data, so the caller decides
    whether to build a fresh file instead.
    """
    spec = SIZES.get(size)
    if spec is None:
        raise ValueError(f"unknown demo size {size!r}: choose one of {', '.join(SIZES)}")
    report = progress or _quiet
    started = time.perf_counter()
    with write_transaction(engine) as conn:
        if conn.execute(select(utility.c.id).limit(1)).first() is not None:
            raise ValueError(
                "the database already has utilities; build the demo into a new, empty database"
            )
        if is_sqlite(conn):
            # The large build touches every page of a ~700 MB file: allow up to 1 GiB
            # of page cache instead of 2 MB, for this connection, put back below.
            old_cache = int(conn.exec_driver_sql("PRAGMA cache_size").scalar_one())
            conn.exec_driver_sql("PRAGMA cache_size=-1048576")
        try:
            builder = _Builder(conn, spec, seed, report)
            # Building an index once over all rows is far cheaper than keeping it
            # up to date through a million inserts in random key order.
            indexes = _secondary_indexes(conn)
            for name, _ in indexes:
                conn.execute(text(f'DROP INDEX "{name}"'))
            builder.write()
            for done, (_, ddl) in enumerate(indexes):
                report("indexes", done, len(indexes))
                conn.execute(text(ddl))
            report("indexes", len(indexes), len(indexes))
            if not is_sqlite(conn):
                # Fresh statistics for the planner, here and for the first queries after.
                conn.execute(text(f"ANALYZE {', '.join(_BULK_TABLES)}"))
            builder.refresh_totals()
            builder.refresh_search_terms()
            write_readings(conn, country="UA", reference=REFERENCE, seed=seed)
            if not is_sqlite(conn):
                _reset_sequences(conn)
            written = builder.out.written
            made = {
                "utilities": len(builder.plans),
                "nodes": written["node"],
                "metering_points": written["metering_point"],
                "subscribers": written["subscriber"],
                "contacts": written["contact"],
                "subscriptions": written["subscription"],
            }
            audit.append(
                conn,
                actor=current_login(),
                action="import",
                entity="demo",
                entity_id=size,
                detail={"seed": seed, **made},
            )
        finally:
            if is_sqlite(conn):
                conn.exec_driver_sql(f"PRAGMA cache_size={old_cache}")
    return DemoSummary(**made, seconds=time.perf_counter() - started)
