"""The public listing's grouping, visibility, search match and calendar sequence; the
web's language choice."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from dispatch_tui.domain.public_works import (
    PublicAddress,
    PublicWork,
    affecting,
    affecting_address,
    sections,
    streets,
)
from dispatch_tui.web import i18n

NOW = datetime(2025, 3, 10, 8, 0, tzinfo=UTC)


def work(
    oid: int = 1,
    *,
    start: timedelta = timedelta(days=2),
    hours: int = 3,
    cancelled: bool = False,
    moved_from: tuple[datetime, datetime] | None = None,
    revision: int = 1,
    addresses: tuple[PublicAddress, ...] = (),
) -> PublicWork:
    return PublicWork(
        outage_id=oid,
        utility_code="EG",
        starts_at=NOW + start,
        ends_at=NOW + start + timedelta(hours=hours),
        urgent=False,
        cancelled=cancelled,
        reason="dela",
        revision=revision,
        changed_at=NOW,
        moved_from=moved_from,
        addresses=addresses,
    )


def a(settlement: str, street: str, house: str) -> PublicAddress:
    return PublicAddress(settlement, street, house)


def test_streets_list_houses_naturally_with_ranges_and_villages_without_streets() -> None:
    found = streets(
        [
            a("Kranj", "Prešernova ulica", "9"),
            a("Kranj", "Prešernova ulica", "10"),
            a("Kranj", "Prešernova ulica", "11"),
            a("Kranj", "Prešernova ulica", "2"),
            a("Kranj", "Labore", "12a"),
            a("Velesovo", "Velesovo", "18"),
            a("Velesovo", "Velesovo", "4"),
        ]
    )
    assert found == {
        "Kranj": {"Labore": "12a", "Prešernova ulica": "2, 9-11"},
        "Velesovo": {"": "4, 18"},
    }


def test_sections_order_settlements_streets_then_start() -> None:
    late = work(2, start=timedelta(days=5), addresses=(a("Kranj", "Labore", "1"),))
    early = work(1, addresses=(a("Kranj", "Labore", "2"), a("Bled", "Cesta", "1")))
    found = sections([late, early], NOW)
    assert [s.settlement for s in found] == ["Bled", "Kranj"]
    assert [line.work.outage_id for line in found[1].lines] == [1, 2]


def test_ended_works_leave_and_changes_stay_until_the_original_time() -> None:
    assert not work(start=-timedelta(hours=4), hours=3).visible(NOW)
    assert work(start=-timedelta(hours=1), hours=3).visible(NOW)
    old = (NOW + timedelta(hours=1), NOW + timedelta(hours=2))
    moved = work(start=timedelta(days=3), moved_from=old, revision=2)
    assert moved.moved_visible(NOW) and not moved.moved_visible(NOW + timedelta(hours=3))
    cancelled = work(start=timedelta(hours=1), cancelled=True)
    assert cancelled.visible(NOW) and not cancelled.visible(NOW + timedelta(hours=5))


def test_sequence_rises_with_each_amendment_and_with_a_cancellation() -> None:
    assert work().sequence == 0
    assert work(cancelled=True).sequence == 1
    assert work(revision=2).sequence == 2
    assert work(revision=2, cancelled=True).sequence == 3


def test_affecting_matches_folded_words_within_30_days() -> None:
    here = (a("Kranj", "Prešernova ulica", "5"),)
    soon = work(1, addresses=here)
    later = work(2, start=timedelta(days=31), addresses=here)
    assert affecting([soon, later], "KRANJ", "presernova", NOW) == (soon,)
    assert affecting([soon], "Kranj", "ulica", NOW) == (soon,)
    assert affecting([soon], "Kranj", "", NOW) == (soon,)
    assert affecting([soon], "Kranj", "Labore", NOW) == ()
    assert affecting([soon], "Naklo", "", NOW) == ()
    assert affecting_address([soon, later], here[0], NOW) == (soon,)
    assert affecting_address([soon], a("Kranj", "Prešernova ulica", "7"), NOW) == ()


def test_language_follows_accept_language_preferences() -> None:
    assert i18n.negotiate("sl-SI,sl;q=0.9,en;q=0.8", ("sl", "en")) == "sl"
    assert i18n.negotiate("de-DE, en;q=0.5", ("sl", "en")) == "en"
    assert i18n.negotiate("en;q=0.2, sl;q=0.9", ("sl", "en")) == "sl"
    assert i18n.negotiate("", ("uk", "en")) == "uk"
    assert i18n.negotiate("en;q=0, *", ("uk", "en")) == "uk"


@given(st.text(max_size=200))
def test_any_accept_language_header_gives_an_offered_language(header: str) -> None:
    assert i18n.negotiate(header, ("bg", "en")) in ("bg", "en")


def test_every_language_has_every_text() -> None:
    for language, texts in i18n.TEXTS.items():
        assert set(texts) == set(i18n.TEXTS["en"]), language
