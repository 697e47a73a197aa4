"""Search for places (nodes by name or code, settlements, streets) and metering
points, on the CSV sample data: terms follow the imports, hits are ranked and
say what they are, and each points at the right place in the tree."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, func, select

from dispatch_tui.storage.importers import import_file
from dispatch_tui.storage.search import SearchHit, search, search_places
from dispatch_tui.storage.tables import node, search_term


def _path(engine: Engine, code: str) -> str:
    with engine.connect() as conn:
        return str(conn.execute(select(node.c.path).where(node.c.code == code)).scalar_one())


def _places(engine: Engine, text: str) -> list[tuple[str, str, str]]:
    with engine.connect() as conn:
        return [(h.kind, h.name, h.detail) for h in search_places(conn, text)]


def test_nodes_are_found_by_any_word_of_the_name_and_by_code(loaded: Engine) -> None:
    assert _places(loaded, "Kranj") == [
        ("settlement", "Kranj", ""),
        ("substation", "RTP Kranj", "EG-R1-S1"),
    ]
    assert _places(loaded, "straz") == [
        ("feeder", "Izvod Stražišče", "EG-R1-S1-F1"),
        ("transformer_station", "TP Stražišče 3", "EG-TP1"),
    ]
    assert _places(loaded, "eg-r1-s1-f") == [("feeder", "Izvod Stražišče", "EG-R1-S1-F1")]
    assert _places(loaded, "ЛЮЛИН") == [
        ("substation", "п/ст Люлин", "B-S1"),
        ("transformer_station", "ТП Люлин 5", "B-TP1"),
    ]
    assert _places(loaded, "zzz") == [] and _places(loaded, "  ") == []


def test_streets_name_their_settlement_and_the_node_holding_all_their_points(
    loaded: Engine,
) -> None:
    with loaded.connect() as conn:
        [street] = search_places(conn, "presernova")
        [ua_street] = search_places(conn, "МИНАЙСЬК")  # folded: й → и
    assert (street.kind, street.name, street.detail) == ("street", "Prešernova ulica", "Kranj")
    assert street.metering_points == 2
    assert street.target.path == _path(loaded, "EG-TP1") and street.target.mp is None
    assert ua_street.name == "вул. Минайська" and ua_street.detail == "Ужгород"
    with loaded.connect() as conn:
        [kranj] = search_places(conn, "kranj", utility_id=1)[:1]
    # Kranj's points lie under two stations: the lowest node above both is the feeder.
    assert kranj.kind == "settlement" and kranj.metering_points == 3
    assert kranj.target.path == _path(loaded, "EG-R1-S1-F1")


def test_a_street_and_a_house_number_find_the_house(loaded: Engine) -> None:
    with loaded.connect() as conn:
        hits = search(conn, "Prešernova 5")
    [house] = hits
    assert isinstance(house, SearchHit)
    assert (house.mp_id, house.address, house.matched_on) == (
        "6-100001",
        "Prešernova ulica 5, Kranj",
        "address",
    )
    assert house.target.mp == house.id and house.target.path == _path(loaded, "EG-TP1")


def test_whole_names_come_before_identifiers_before_later_words(loaded: Engine) -> None:
    with loaded.connect() as conn:
        by_id = search(conn, "6-10000")
        by_number = search(conn, "1234")
    assert [h.mp_id for h in by_id if isinstance(h, SearchHit)] == [
        "6-100001",
        "6-100002",
        "6-100003",
    ]
    assert all(isinstance(h, SearchHit) for h in by_id)
    # "1234" is a later word of "ТП 1234 Минай" and no identifier's prefix.
    assert [(type(h).__name__, getattr(h, "name", "")) for h in by_number] == [
        ("PlaceHit", "ТП 1234 Минай")
    ]


def test_terms_follow_a_network_import(loaded: Engine, tmp_path: Path) -> None:
    csv = tmp_path / "network.csv"
    csv.write_text(
        "utility,code,parent,kind,name\n"
        "EG,EG-R1-S1,EG-R1,substation,RTP Primskovo\n"
        "EG,EG-R1-S2,EG-R1,substation,RTP Zlato polje\n",
        encoding="utf-8",
    )
    import_file(loaded, "network", csv, actor="admin")
    assert _places(loaded, "rtp") == [
        ("substation", "RTP Primskovo", "EG-R1-S1"),
        ("substation", "RTP Zlato polje", "EG-R1-S2"),
    ]
    assert _places(loaded, "polje") == [("substation", "RTP Zlato polje", "EG-R1-S2")]
    with loaded.connect() as conn:
        rows = conn.execute(select(func.count()).select_from(search_term)).scalar_one()
    assert rows > 0
