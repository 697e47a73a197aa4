"""The bot conversation: account linking only after proof, and nothing
personal shown before it, whatever is typed."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from dispatch_tui.domain.bot_dialogue import (
    MAX_ATTEMPTS,
    Account,
    ChatState,
    Link,
    Step,
    StopAll,
    Unlink,
    respond,
)

OLENA = Account(
    "100000001",
    frozenset({"UA-777001"}),
    frozenset({"0001X"}),
    ("Ужгород, вул. Минайська 14",),
)


class Book:
    def find(self, number: str) -> Account | None:
        return OLENA if number == OLENA.number else None


def chat(*messages: str, linked: tuple[Account, ...] = ()) -> list[tuple[list[str], list[object]]]:
    state = ChatState()
    said = []
    for text in messages:
        reply = respond(state, text, Book(), linked)
        state = reply.state
        said.append((reply.texts, list(reply.actions)))
    return said


def test_linking_needs_the_meter_number_or_the_eic_tail() -> None:
    *_, wrong, right = chat("/start", "/add", "100 000 001", "12345", "ua-777001")
    assert wrong[1] == [] and "Залишилось спроб: 2" in wrong[0][0]
    assert right[1] == [Link("100000001")] and "Минайська 14" in right[0][0]
    *_, by_eic = chat("/add", "100000001", "0001x")
    assert by_eic[1] == [Link("100000001")]


def test_an_unknown_account_looks_the_same_as_a_wrong_proof() -> None:
    unknown = chat("/add", "999999999", "UA-777001")[-1]
    known = chat("/add", "100000001", "nope")[-1]
    assert unknown[0] == known[0] and unknown[1] == known[1] == []


def test_too_many_wrong_proofs_start_over() -> None:
    said = chat("/add", "100000001", *["x"] * MAX_ATTEMPTS, "UA-777001")
    assert "Забагато спроб" in said[-2][0][0]
    assert said[-1][1] == []  # the right proof after the reset links nothing


def test_list_remove_language_and_stop() -> None:
    linked = (OLENA,)
    listed = chat("/list", linked=linked)[0][0][0]
    assert "100000001" in listed and "Минайська" in listed
    assert chat("/remove 1", linked=linked)[0][1] == [Unlink("100000001")]
    assert chat("/remove 100000001", linked=linked)[0][1] == [Unlink("100000001")]
    assert chat("/remove 7", linked=linked)[0][1] == []
    english = chat("/lang en", "/add")
    assert english[-1][0] == ["Enter your personal account number (9 digits)."]
    assert chat("/stop")[0][1] == [StopAll()]
    assert "Команди" in chat("what?")[0][0][0]


@given(
    st.lists(
        st.one_of(
            st.sampled_from(["/add", "/list", "100000001", "/start", "UA-777001", "0001X"]),
            st.text(),
        ),
        max_size=12,
    )
)
def test_nothing_personal_before_a_link(messages: list[str]) -> None:
    state = ChatState()
    linked: tuple[Account, ...] = ()
    for text in messages:
        reply = respond(state, text, Book(), linked)
        if any(isinstance(a, Link) for a in reply.actions):
            linked = (OLENA,)
        elif not linked:
            assert not any("Минайська" in t for t in reply.texts)
        state = reply.state


def test_stored_state_round_trips_and_junk_starts_afresh() -> None:
    state = ChatState(Step.PROOF, "en", "100000001", 2)
    assert ChatState.from_dict(state.to_dict()) == state
    for junk in (None, [], {"step": "dancing"}, {"attempts": "many"}):
        assert ChatState.from_dict(junk) == ChatState()


def test_every_language_has_every_text() -> None:
    from dispatch_tui.domain.bot_dialogue import _T

    for language in ("uk", "sl", "bg", "en"):
        assert _T[language].keys() == _T["en"].keys()
        said = chat(f"/lang {language}", "/add")
        assert said[-1][0] == [_T[language]["ask_account"]]
