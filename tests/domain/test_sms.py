"""SMS encoding, segments, cost and GSM-7 transliteration."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from dispatch_tui.domain.sms import (
    GSM7_BASIC,
    GSM7_EXTENSION,
    TYPOGRAPHIC,
    analyse,
    estimate_cost,
    transliterate,
)

GSM_CHARS = sorted(GSM7_BASIC | GSM7_EXTENSION)
gsm_text = st.text(alphabet=st.sampled_from(GSM_CHARS))
# Arbitrary text, weighted towards what notices contain: Cyrillic, Latin with
# diacritics, typographic marks, extension characters and emoji.
mixed_text = st.text(
    alphabet=st.one_of(
        st.characters(),
        st.characters(min_codepoint=0x0400, max_codepoint=0x04FF),
        st.sampled_from("čšžćđČŠŽĆĐ’ʼ'“”„–—…\u00a0€[]{}|^~\\"),
        st.characters(min_codepoint=0x1F300, max_codepoint=0x1FAFF),
    )
)
languages = st.sampled_from(["sl", "uk", "bg", "en"])


# --- analyse: examples -------------------------------------------------------


def test_gsm_alphabet_sizes() -> None:
    assert len(GSM7_BASIC) == 127  # 128 positions minus the escape
    assert sorted(GSM7_EXTENSION) == sorted("\f^{}\\[~]|€")
    assert not GSM7_BASIC & GSM7_EXTENSION


def test_plain_slovene_is_gsm() -> None:
    info = analyse("Izklop elektrike")
    assert (info.encoding, info.segments, info.per_segment) == ("GSM-7", 1, 160)
    assert info.characters == info.units == 16
    assert info.non_gsm == ()


def test_caron_forces_ucs2_and_is_named() -> None:
    info = analyse("Načrtovan izklop")
    assert info.encoding == "UCS-2"
    assert info.non_gsm == ("č",)
    assert (info.segments, info.per_segment) == (1, 70)


def test_non_gsm_is_distinct_in_order_of_appearance() -> None:
    assert analyse("žčžšč ok").non_gsm == ("ž", "č", "š")


def test_gsm_segment_boundaries() -> None:
    assert (analyse("a" * 160).segments, analyse("a" * 160).per_segment) == (1, 160)
    info = analyse("a" * 161)
    assert (info.segments, info.per_segment) == (2, 153)
    assert analyse("a" * 306).segments == 2
    assert analyse("a" * 307).segments == 3


def test_ucs2_segment_boundaries() -> None:
    assert (analyse("ж" * 70).segments, analyse("ж" * 70).per_segment) == (1, 70)
    info = analyse("ж" * 71)
    assert (info.encoding, info.segments, info.per_segment) == ("UCS-2", 2, 67)
    assert analyse("ж" * 134).segments == 2
    assert analyse("ж" * 135).segments == 3


def test_euro_costs_two_septets() -> None:
    info = analyse("€")
    assert (info.encoding, info.characters, info.units) == ("GSM-7", 1, 2)
    assert analyse("€" * 80).segments == 1
    assert analyse("€" * 80 + "a").segments == 2


def test_emoji_costs_two_units() -> None:
    info = analyse("😀")
    assert (info.encoding, info.characters, info.units) == ("UCS-2", 1, 2)
    assert info.non_gsm == ("😀",)


def test_extension_pair_is_not_split_across_parts() -> None:
    # 152 septets, then "€" (2) would straddle the 153 boundary: it moves whole
    # to part 2, so 152 + 2 + 152 = 306 septets need 3 parts, not 2.
    info = analyse("a" * 152 + "€" + "a" * 152)
    assert info.units == 306
    assert info.segments == 3


def test_surrogate_pair_is_not_split_across_parts() -> None:
    info = analyse("ж" * 66 + "😀" + "ж" * 66)
    assert info.units == 134
    assert info.segments == 3
    # A pair given as two surrogate code points is kept together too.
    assert analyse("ж" * 66 + "\ud83d\ude00" + "ж" * 66).segments == 3


def test_empty_text_is_nothing_to_send() -> None:
    info = analyse("")
    assert (info.encoding, info.units, info.segments) == ("GSM-7", 0, 0)


# --- analyse: properties -----------------------------------------------------


@given(st.text(), st.lists(st.sampled_from(GSM_CHARS), max_size=400))
def test_segments_monotone_when_appending_gsm(text: str, appended: list[str]) -> None:
    previous = analyse(text).segments
    for ch in appended:
        text += ch
        current = analyse(text).segments
        assert current >= previous
        previous = current


@given(gsm_text)
def test_gsm_units_count_extension_twice(text: str) -> None:
    info = analyse(text)
    assert info.encoding == "GSM-7"
    assert info.units == len(text) + sum(ch in GSM7_EXTENSION for ch in text)


@given(mixed_text)
def test_ucs2_units_are_utf16_code_units(text: str) -> None:
    info = analyse(text)
    if info.encoding == "UCS-2":
        # st.characters() yields lone surrogates too; each is one code unit.
        assert info.units == len(text.encode("utf-16-le", "surrogatepass")) // 2
        assert info.non_gsm
    else:
        assert not info.non_gsm


@given(st.one_of(mixed_text, gsm_text))
def test_segments_hold_the_units(text: str) -> None:
    info = analyse(text)
    assert info.segments * info.per_segment >= info.units
    assert info.characters == len(text)
    assert info.per_segment in ((160, 153) if info.encoding == "GSM-7" else (70, 67))
    assert (info.segments <= 1) == (info.per_segment in (160, 70))


@given(st.text(st.characters()))  # includes lone surrogates
@example("\ud800")
@example("\udfff\ud800")
def test_analyse_never_raises(text: str) -> None:
    analyse(text)


# --- transliterate: examples -------------------------------------------------


@pytest.mark.parametrize(
    ("text", "language", "expected"),
    [
        ("Заплановане відключення", "uk", "Zaplanovane vidkliuchennia"),
        ("Щастя", "uk", "Shchastia"),
        ("Київ", "uk", "Kyiv"),
        ("ЩО", "uk", "SHCHO"),
        ("Що", "uk", "Shcho"),
        ("Згорани", "uk", "Zghorany"),
        ("Розгон", "uk", "Rozghon"),
        ("Жовква", "uk", "Zhovkva"),
        ("Знам’янка", "uk", "Znamianka"),
        ("п'ять", "uk", "piat"),
        (
            "Юрій Яготин Єнакієве Їжакевич Йосипівка",
            "uk",
            "Yurii Yahotyn Yenakiieve Yizhakevych Yosypivka",
        ),
        ("Гусятин Ґорґани Харків Біла Церква", "uk", "Husiatyn Gorgany Kharkiv Bila Tserkva"),
        ("Львів, вул. Січових Стрільців", "uk", "Lviv, vul. Sichovykh Striltsiv"),
        ("Планирано прекъсване", "bg", "Planirano prekasvane"),
        ("София", "bg", "Sofia"),
        ("СОФИЯ", "bg", "SOFIA"),
        ("София-Град", "bg", "Sofia-Grad"),
        ("България", "bg", "Bulgaria"),
        (
            "Щастие Юлия Явор Жельо Хасково Цанко Йордан",
            "bg",
            "Shtastie Yulia Yavor Zhelyo Haskovo Tsanko Yordan",
        ),
        ("ЩЕ", "bg", "SHTE"),
        ("Prešernova ulica", "sl", "Presernova ulica"),
        ("ČŠŽĆĐ čšžćđ", "sl", "CSZCDZ cszcdz"),
        ("Đurđevac", "sl", "Dzurdzevac"),
        ("„Izklop“ – 8:00—12:00…", "sl", '"Izklop" - 8:00-12:00...'),
        ("Kranj\u00a05\u202fkm", "en", "Kranj 5 km"),
        ("Outage 😀", "en", "Outage ?"),
        ("Київ", "en", "Kyiv"),
        ("Варна", "sl", "Varna"),
        ("Cost €5 [x]", "en", "Cost €5 [x]"),
    ],
)
def test_transliterate_examples(text: str, language: str, expected: str) -> None:
    assert transliterate(text, language) == expected
    assert analyse(transliterate(text, language)).encoding == "GSM-7"


def test_transliteration_saves_segments() -> None:
    text = "Заплановане відключення електроенергії " * 3  # 120 characters
    assert analyse(text).segments == 2
    assert analyse(transliterate(text, "uk")).segments == 1


def test_decomposed_input_is_composed_first() -> None:
    assert transliterate("Кии\u0306в", "uk") == "Kyiv"  # й as и + combining breve
    assert transliterate("Pres\u030cernova", "sl") == "Presernova"


def test_unknown_language_is_an_error() -> None:
    with pytest.raises(ValueError, match="unknown language 'de'"):
        transliterate("Hallo", "de")


# --- transliterate: properties -----------------------------------------------


@given(st.one_of(mixed_text, st.text()), languages)
@example("\ud800", "uk")
def test_transliteration_is_always_gsm(text: str, language: str) -> None:
    result = transliterate(text, language)
    assert analyse(result).encoding == "GSM-7"
    assert transliterate(result, language) == result


@given(gsm_text, languages)
def test_transliteration_keeps_gsm_text(text: str, language: str) -> None:
    assert analyse(text).encoding == "GSM-7"
    assert not set(text) & TYPOGRAPHIC.keys()
    assert transliterate(text, language) == text


@given(st.text(), languages)
def test_transliteration_is_identity_on_any_gsm_text(text: str, language: str) -> None:
    if analyse(text).encoding == "GSM-7" and not set(text) & TYPOGRAPHIC.keys():
        assert transliterate(text, language) == text


# --- cost ---------------------------------------------------------------------


def test_estimate_cost() -> None:
    assert estimate_cost(3, Decimal("0.045")) == Decimal("0.135")
    assert estimate_cost(0, Decimal("0.045")) == 0
    with pytest.raises(ValueError, match="segments"):
        estimate_cost(-1, Decimal("0.01"))
    with pytest.raises(ValueError, match="price"):
        estimate_cost(1, Decimal("-0.01"))
    with pytest.raises(ValueError, match="price"):
        estimate_cost(1, Decimal("NaN"))


@given(st.integers(0, 10_000), st.decimals(min_value=0, max_value=10, places=4))
def test_cost_is_linear_in_segments(segments: int, price: Decimal) -> None:
    assert estimate_cost(segments, price) == price * segments
    assert estimate_cost(segments + 1, price) >= estimate_cost(segments, price)


def _reference(text: str) -> tuple[str, int, int, tuple[str, ...]]:
    """The plain definition, piece by piece, for the fast path to agree with."""
    from dispatch_tui.domain.sms import _gsm_costs, _pack, _ucs2_costs

    non_gsm = tuple(dict.fromkeys(ch for ch in text if ch not in GSM7_BASIC | GSM7_EXTENSION))
    costs = list(_ucs2_costs(text) if non_gsm else _gsm_costs(text))
    single, multi = (70, 67) if non_gsm else (160, 153)
    units = sum(costs)
    segments = (1 if units else 0) if units <= single else _pack(costs, multi)
    return ("UCS-2" if non_gsm else "GSM-7", units, segments, non_gsm)


@given(
    st.text(alphabet=st.sampled_from("ab €[čшй😀\ud83d\ude00-"), max_size=400)
    | st.text(max_size=300)
)
def test_fast_path_agrees_with_the_definition(text: str) -> None:
    info = analyse(text)
    assert (info.encoding, info.units, info.segments, info.non_gsm) == _reference(text)
