"""Meter readings by SMS on both backends (seed 003): who may send one, every check
with its answer, corrections, the consumption since last time, a meter change by
an operator; the keyword commands still work beside them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select, update
from sqlalchemy.exc import IntegrityError

from dispatch_tui.domain.reading_window import ReadingSettings
from dispatch_tui.storage import inbound, users
from dispatch_tui.storage.bot_chats import handle_chat_message
from dispatch_tui.storage.importers import ImportFailed, import_file
from dispatch_tui.storage.readings import (
    ReadingError,
    readings_of,
    record_meter_change,
    settings_of,
)
from dispatch_tui.storage.tables import (
    audit_log,
    contact,
    inbound_message,
    meter_reading,
    metering_point,
    subscriber,
    utility,
)
from tests.storage.csvdata import load_all, write

NOW = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)  # inside November's window
IVAN = "+380501234567"
"""Іван Коваль's phone (account 100000002: points 100000001 and 100000002)."""
ANA = "+38641123456"
"""Ana Novak's phone (account 100234: points 6-100001 and 6-100002)."""


@pytest.fixture
def loaded(engine: Engine, tmp_path: Path) -> Engine:
    load_all(engine, tmp_path)
    users.bootstrap_admin(engine, "root", actor="root")
    users.add_operator(engine, "ana", "dispatcher", actor="root")
    users.add_operator(engine, "viktor", "viewer", actor="root")
    return engine


def sms(engine: Engine, phone: str, text: str, now: datetime = NOW) -> inbound.InboundResult:
    return inbound.handle_inbound(engine, sender=phone, receiver="5555", text=text, now=now)


def rows(engine: Engine) -> list[tuple[str | None, str, str | None, int | None]]:
    with engine.connect() as conn:
        found = conn.execute(
            select(meter_reading, metering_point.c.mp_id.label("point"))
            .outerjoin(metering_point, metering_point.c.id == meter_reading.c.mp_id)
            .order_by(meter_reading.c.id)
        )
        return [(r.point, r.status, r.reason, r.value_wh) for r in found]


def accepted(engine: Engine) -> list[tuple[str | None, str, str | None, int | None]]:
    return [r for r in rows(engine) if r[1] == "accepted"]


def test_a_reading_by_sms_is_confirmed_with_the_consumption_since_last_time(
    loaded: Engine,
) -> None:
    first = sms(loaded, IVAN, "ПОКАЗИ 100000002 12 345")
    assert first.reply == "Показ 12345 за 11.2026 прийнято. Дякуємо!"
    assert first.command is None and first.outcome == "reading accepted"
    with loaded.connect() as conn:
        row = conn.execute(select(meter_reading)).one()
        came = conn.execute(select(inbound_message).where(inbound_message.c.id == first.inbound_id))
        assert came.one().command == "reading"
    assert (row.channel, row.chat, row.period, row.inbound_id) == (
        "sms",
        IVAN,
        "2026-11",
        first.inbound_id,
    )
    later = NOW + timedelta(days=31)  # 31 December: December's window
    second = sms(loaded, IVAN, "100000002 12 645,5", now=later)
    assert second.reply == ("Показ 12645.5 за 12.2026 прийнято. Спожито з минулого: 300.5 кВт·год.")
    assert accepted(loaded) == [
        ("100000002", "accepted", None, 12_345_000),
        ("100000002", "accepted", None, 12_645_500),
    ]


def test_a_correction_in_the_window_replaces_the_earlier_reading(loaded: Engine) -> None:
    sms(loaded, IVAN, "100000002 12345", now=NOW - timedelta(days=30))  # October's window
    sms(loaded, IVAN, "100000002 12545")
    fixed = sms(loaded, IVAN, "100000002 12445", now=NOW + timedelta(hours=5))
    assert fixed.reply is not None and "замінено" in fixed.reply
    assert "Спожито з минулого: 100 кВт·год" in fixed.reply  # compared with October's
    assert [r[1:] for r in rows(loaded)] == [
        ("accepted", None, 12_345_000),
        ("replaced", None, 12_545_000),
        ("accepted", None, 12_445_000),
    ]


def test_an_unverified_phone_gets_a_polite_answer_and_nothing_is_taken(loaded: Engine) -> None:
    result = sms(loaded, "+380671112233", "100000002 12345")
    assert result.reply == ("Цей номер не підтверджений для рахунку 100000002. Покази не прийнято.")
    unknown = sms(loaded, "+380671112244", "999999999 12345")  # existence is not told
    assert unknown.reply == "Цей номер не підтверджений для рахунку 999999999. Покази не прийнято."
    assert rows(loaded) == [
        (None, "refused", "unverified", None),
        (None, "refused", "unknown_account", None),
    ]


def test_an_account_with_several_points_names_one(loaded: Engine) -> None:
    result = sms(loaded, ANA, "100234 4512")
    assert result.reply == (
        "Račun ima več merilnih mest. Pošljite <mesto> <stanje>: 6-100001, 6-100002"
    )
    assert sms(loaded, ANA, "6-100001 4512").outcome == "reading accepted"
    assert accepted(loaded) == [("6-100001", "accepted", None, 4_512_000)]


def test_a_verified_phone_reads_as_a_reading_what_is_also_a_client_number(
    loaded: Engine,
) -> None:
    """ "100000002 123" is 12 digits, a Bulgarian client number's sign-up from anyone
    else; from the account's own phone it is a reading."""
    assert sms(loaded, IVAN, "100000002 123").outcome == "reading accepted"
    other = sms(loaded, "+359888000999", "100000002 123")
    assert other.command is not None and other.outcome == "unknown 100000002123"


def test_keywords_still_work_beside_readings(loaded: Engine) -> None:
    assert sms(loaded, IVAN, "100000002 СТОП").outcome.startswith("opted out")
    assert sms(loaded, "+38640999888", "6-100001 prijava").outcome == "opted in 6-100001"
    assert sms(loaded, IVAN, "STOP").outcome.startswith("opted out")
    assert rows(loaded) == []


@pytest.mark.parametrize(
    ("text", "reason", "answer"),
    [
        ("100000002 12a45", None, None),  # not shaped like a reading: the help reply
        ("100000002 12345,6789", "too_precise", "не більше 3 знаків"),
        ("100000002 12345678901", "too_long", "задовгий"),
        ("100000002 4512 1230", "count", "Потрібно 1 показ"),
        ("100000002 4512/", "count", "Потрібно 1 показ"),
    ],
)
def test_bad_readings_get_a_clear_answer_and_nothing_is_taken(
    loaded: Engine, text: str, reason: str | None, answer: str | None
) -> None:
    result = sms(loaded, IVAN, text)
    assert accepted(loaded) == []
    if reason is None:
        assert rows(loaded) == [] and result.reply and "СТАРТ" in result.reply
        return
    assert rows(loaded) == [("100000002", "refused", reason, None)]
    assert result.reply is not None and answer in result.reply


def test_below_the_last_implausible_and_outside_the_window(loaded: Engine) -> None:
    sms(loaded, IVAN, "100000002 12345", now=NOW - timedelta(days=30))
    below = sms(loaded, IVAN, "100000002 12000")
    assert below.reply == "Показ менший за попередній (12345). Перевірте число."
    huge = sms(loaded, IVAN, "100000002 20000", now=NOW + timedelta(minutes=1))
    assert huge.reply == "Показ означає понад 150 кВт·год на добу. Перевірте число."
    outside = sms(loaded, IVAN, "100000002 12400", now=NOW + timedelta(days=10))
    assert outside.reply == "Покази приймаються з 30.12 до 03.01. Надішліть тоді, дякуємо!"
    assert [r[1:3] for r in rows(loaded)] == [
        ("accepted", None),
        ("refused", "below_previous"),
        ("refused", "implausible"),
        ("refused", "outside_window"),
    ]


def test_two_registers_and_the_utility_s_own_settings(loaded: Engine) -> None:
    with loaded.begin() as conn:
        conn.execute(
            update(utility)
            .where(utility.c.code == "ZOE")
            .values(reading_registers=2, reading_max_kwh_day=20)
        )
    result = sms(loaded, IVAN, "100000002 4512 1230")
    assert result.reply == "Показ 4512 / 1230 за 11.2026 прийнято. Дякуємо!"
    ambiguous = sms(loaded, IVAN, "100000002 1 234 567", now=NOW + timedelta(minutes=1))
    assert ambiguous.reply is not None and "Незрозуміло" in ambiguous.reply
    with loaded.connect() as conn:
        night = conn.execute(select(meter_reading.c.night_wh)).scalars().first()
    assert night == 1_230_000


def test_a_meter_change_by_an_operator_starts_a_new_count(loaded: Engine) -> None:
    sms(loaded, IVAN, "100000002 12345", now=NOW - timedelta(days=30))
    with loaded.connect() as conn:
        point = conn.execute(
            select(metering_point.c.id).where(metering_point.c.mp_id == "100000002")
        ).scalar_one()
        sid = conn.execute(
            select(subscriber.c.id).where(subscriber.c.account == "100000002")
        ).scalar_one()
    with pytest.raises(ReadingError, match="viewer"):
        record_meter_change(loaded, point, "0", actor="viktor", note="new meter")
    with pytest.raises(ReadingError, match="reason"):
        record_meter_change(loaded, point, "0", actor="ana", note=" ")
    with pytest.raises(ReadingError, match="new meter's reading"):
        record_meter_change(loaded, point, "zero", actor="ana", note="new meter")
    record_meter_change(
        loaded, point, "0", actor="ana", note="meter replaced", now=NOW - timedelta(days=2)
    )
    assert sms(loaded, IVAN, "100000002 150").outcome == "reading accepted"
    with loaded.connect() as conn:
        audited = conn.execute(select(audit_log).where(audit_log.c.action == "meter_change"))
        assert audited.one().actor == "ana"
    history = readings_of(loaded, sid)
    assert [(h.values, h.channel, h.status) for h in history] == [
        ("150", "sms", "accepted"),
        ("0", "operator", "meter change"),
        ("12345", "sms", "accepted"),
    ]


def test_a_stopped_phone_still_gives_readings_but_an_unproven_one_does_not(
    loaded: Engine,
) -> None:
    sms(loaded, IVAN, "STOP")
    assert sms(loaded, IVAN, "100000002 12345").outcome == "reading accepted"
    with loaded.begin() as conn:
        conn.execute(update(contact).where(contact.c.address == IVAN).values(proven=False))
    assert sms(loaded, IVAN, "100000002 12346").outcome == "reading refused: unverified"


def chat(engine: Engine, chat_id: str, *texts: str, now: datetime = NOW) -> list[list[str]]:
    return [
        handle_chat_message(engine, "telegram", chat_id, t, update_id=i, now=now)
        for i, t in enumerate(texts, 1)
    ]


def test_a_reading_by_the_bot_after_verification(loaded: Engine) -> None:
    """Telegram chat 123456789 is Олена's (account 100000001, one point) in the CSV."""
    said = chat(loaded, "123456789", "/reading", "12 345,5")
    assert said[0] == [
        "Надішліть показ лічильника для 100000001, напр. 12345 (день і ніч: 4512 1230)."
    ]
    assert said[1] == ["Показ 12345.5 за 11.2026 прийнято. Дякуємо!"]
    with loaded.connect() as conn:
        row = conn.execute(select(meter_reading)).one()
        came = conn.execute(select(inbound_message).where(inbound_message.c.id == row.inbound_id))
        assert came.one().outcome == "reading accepted"
    assert (row.channel, row.chat, row.status) == ("telegram", "123456789", "accepted")
    # In one message, and a plain text afterwards is no reading any more.
    fixed = handle_chat_message(
        loaded, "telegram", "123456789", "/reading 1 12346", update_id=9, now=NOW
    )
    assert "Попередній показ за 11.2026 замінено" in fixed[0]
    assert (
        "Не зрозуміло"
        in handle_chat_message(loaded, "telegram", "123456789", "12347", update_id=10, now=NOW)[0]
    )


def test_an_unverified_chat_is_refused(loaded: Engine) -> None:
    said = chat(loaded, "999", "/reading", "/reading 100000001 12345", "12345")
    assert said[0] == [
        "Спершу підтвердіть рахунок: /add. Покази приймаються лише від підтверджених."
    ]
    assert said[1] == said[0]
    assert "Не зрозуміло" in said[2][0]
    # Verified for another account: the reading names an account it has not verified.
    chat(loaded, "555", "/add", "100000002", "UA-777002")
    refused = handle_chat_message(
        loaded, "telegram", "555", "/reading 6-100001 12345", update_id=9, now=NOW
    )
    assert refused == ["Цей номер не підтверджений для рахунку 6-100001. Покази не прийнято."]
    assert accepted(loaded) == []
    assert [r[1:3] for r in rows(loaded)] == [("refused", "unverified")]


def test_a_bot_reading_with_bad_numbers_is_answered_and_not_taken(loaded: Engine) -> None:
    said = chat(loaded, "123456789", "/reading", "дванадцять")
    assert said[1] == ["Показ має бути числом, напр. 12345 або 12345,6."]
    assert [r[1:3] for r in rows(loaded)] == [("refused", "not_a_number")]


def test_a_utility_s_reading_settings_come_with_its_import(loaded: Engine, tmp_path: Path) -> None:
    header = "code,name,country,timezone,language,contact_phone,sms_sender,"
    header += "reading_registers,reading_opens_days,reading_closes_day,reading_max_kwh_day\n"
    good = header + "ZOE,Закарпаттяобленерго,UA,Europe/Kyiv,uk,0 800 300 015,ZOE,2,3,5,40\n"
    import_file(loaded, "utilities", write(tmp_path, "u.csv", good), actor="root")
    with loaded.connect() as conn:
        zoe = conn.execute(select(utility.c.id).where(utility.c.code == "ZOE")).scalar_one()
        assert settings_of(conn, zoe) == ("Europe/Kyiv", ReadingSettings(2, 3, 5, 40))
    for bad, said in (
        ("3,2,3,150", "registers must be 1 or 2"),
        ("1,0,3,150", "opens_days must be 1 to 15"),
        ("1,15,15,150", r"opens_days \+ closes_day must be at most 28"),
        ("1,2,x,150", "reading_closes_day 'x' must be a whole number"),
    ):
        text = header + f"ZOE,Закарпаттяобленерго,UA,Europe/Kyiv,uk,0 800 300 015,ZOE,{bad}\n"
        with pytest.raises(ImportFailed, match=said):
            import_file(loaded, "utilities", write(tmp_path, "bad.csv", text), actor="root")
    with loaded.connect() as conn:
        assert settings_of(conn, zoe) == ("Europe/Kyiv", ReadingSettings(2, 3, 5, 40))


@pytest.mark.parametrize(
    "bad",
    [
        {"reading_opens_days": 15, "reading_closes_day": 15},
        {"reading_registers": 3},
        {"reading_closes_day": 0},
        {"reading_max_kwh_day": 0},
    ],
)
def test_the_database_refuses_reading_settings_the_import_refuses(
    loaded: Engine, bad: dict[str, int]
) -> None:
    """A colleague with psql (or sqlite3) cannot give a utility a window that
    overlaps the next one in February, or settings the import would refuse."""
    with pytest.raises(IntegrityError, match="reading"), loaded.begin() as conn:
        conn.execute(update(utility).values(**bad))
    with loaded.connect() as conn:
        assert set(conn.scalars(select(utility.c.reading_opens_days))) == {2}
