"""The bot conversation: account linking only after proof, nothing personal
shown before it whatever is typed, and a bounded number of wrong proofs
that no restart of the conversation resets."""

from __future__ import annotations

from collections import Counter

from hypothesis import given
from hypothesis import strategies as st

from dispatch_tui.domain.bot_dialogue import (
    MAX_PROOF_FAILURES,
    Account,
    Action,
    ChatState,
    Link,
    ProofBudget,
    ProofFailed,
    Reply,
    Step,
    StopAll,
    Unlink,
    proof_matches,
    respond,
)

OLENA = Account(
    "100000001",
    frozenset({"UA-777001"}),
    frozenset({"0001X"}),
    ("Ужгород, вул. Минайська 14",),
)


HELPLINE = "0 800 300 015"


class Book:
    """The accounts, and wrong proofs counted per account and for the one chat
    (what storage keeps in proof_failure)."""

    def __init__(self) -> None:
        self.failures: Counter[str] = Counter()

    def find(self, number: str) -> Account | None:
        return OLENA if number == OLENA.number else None

    def budget(self, number: str) -> ProofBudget:
        spent = max(self.failures[number], self.failures.total())
        return ProofBudget(MAX_PROOF_FAILURES - spent, HELPLINE)

    def apply(self, reply: Reply) -> None:
        for action in reply.actions:
            if isinstance(action, ProofFailed):
                self.failures[action.account] += 1


def chat(
    *messages: str, linked: tuple[Account, ...] = (), book: Book | None = None
) -> list[tuple[list[str], list[Action]]]:
    book = book or Book()
    state = ChatState()
    said = []
    for text in messages:
        reply = respond(state, text, book, linked)
        book.apply(reply)
        state = reply.state
        said.append((reply.texts, list(reply.actions)))
    return said


def test_linking_needs_the_meter_number_or_the_eic_tail() -> None:
    *_, wrong, right = chat("/start", "/add", "100 000 001", "12345", "ua-777001")
    assert wrong[1] == [ProofFailed("100000001")] and "Залишилось спроб: 4" in wrong[0][0]
    assert right[1] == [Link("100000001")] and "Минайська 14" in right[0][0]
    *_, by_eic = chat("/add", "100000001", "0001x")
    assert by_eic[1] == [Link("100000001")]


def test_an_unknown_account_looks_the_same_as_a_wrong_proof() -> None:
    unknown = chat("/add", "999999999", "UA-777001")[-1]
    known = chat("/add", "100000001", "nope")[-1]
    assert unknown[0] == known[0]
    assert unknown[1] == [ProofFailed("999999999")] and known[1] == [ProofFailed("100000001")]


def test_wrong_proofs_end_in_a_lock_that_a_restart_does_not_lift() -> None:
    said = chat("/add", "100000001", *["x"] * MAX_PROOF_FAILURES, "/add", "100000001")
    assert said[-3][0] == [
        f"Забагато невдалих спроб. Щоб додати рахунок, зателефонуйте: {HELPLINE}."
    ]
    assert said[-3][1] == [ProofFailed("100000001")]
    # Starting over asks for nothing more: the account is locked at once.
    assert "зателефонуйте" in said[-1][0][0]


def test_three_hundred_wrong_proofs_then_the_right_one_link_nothing() -> None:
    book = Book()
    guesses = [f"UA-{n:06d}" for n in range(300)]
    said = chat("/add", "100000001", *guesses, "UA-777001", book=book)
    assert book.failures["100000001"] == MAX_PROOF_FAILURES
    assert not any(isinstance(a, Link) for _, actions in said for a in actions)
    # Nor after /add again, with the right proof straight away.
    again = chat("/add", "100000001", "UA-777001", book=book)
    assert not any(isinstance(a, Link) for _, actions in again for a in actions)


def test_a_chat_that_guessed_on_many_accounts_is_stopped_too() -> None:
    book = Book()
    for n in range(MAX_PROOF_FAILURES):
        chat("/add", f"10000010{n}", "x", book=book)
    said = chat("/add", "100000001", book=book)
    assert "зателефонуйте" in said[-1][0][0] and said[-1][1] == []


def test_proofs_compare_without_case_spaces_dashes_or_lookalike_letters() -> None:
    for typed in ("UA-777001", "ua 777001", "UA777001", "UА-777001", " 0001x "):
        assert proof_matches(OLENA, typed), typed
    for typed in ("", "-", "UA-77700", "777001X"):
        assert not proof_matches(OLENA, typed), typed


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
    book = Book()
    for text in messages:
        reply = respond(state, text, book, linked)
        book.apply(reply)
        if any(isinstance(a, Link) for a in reply.actions):
            linked = (OLENA,)
        elif not linked:
            assert not any("Минайська" in t for t in reply.texts)
        state = reply.state


def test_stored_state_round_trips_and_junk_starts_afresh() -> None:
    state = ChatState(Step.PROOF, "en", "100000001", 2)
    assert ChatState.from_dict(state.to_dict()) == state
    junk: object
    for junk in (None, [], {"step": "dancing"}, {"attempts": "many"}):
        assert ChatState.from_dict(junk) == ChatState()


def test_every_language_has_every_text() -> None:
    from dispatch_tui.domain.bot_dialogue import _T

    for language in ("uk", "sl", "bg", "en"):
        assert _T[language].keys() == _T["en"].keys()
        said = chat(f"/lang {language}", "/add")
        assert said[-1][0] == [_T[language]["ask_account"]]
