"""A small, valid set of CSV files in the README's formats, and a table dump
to prove that a rejected import changed nothing."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, select

from dispatch_tui.domain.identifiers import eic_check_char
from dispatch_tui.storage.importers import import_file
from dispatch_tui.storage.models import Base

UTILITIES = """code,name,country,timezone,language,contact_phone,sms_sender
EG,Elektro Gorenjska,SI,Europe/Ljubljana,sl,080 30 19,ElektroGor
ZOE,Закарпаттяобленерго,UA,Europe/Kyiv,uk,0 800 300 015,ZOE
EH,Електрохолд,BG,Europe/Sofia,bg,0700 10 010,Electrohold
"""

NETWORK = """utility,code,parent,kind,name
EG,EG-R1,,region,Gorenjska
EG,EG-R1-S1,EG-R1,substation,RTP Kranj
EG,EG-R1-S1-F1,EG-R1-S1,feeder,Izvod Stražišče
EG,EG-TP1,EG-R1-S1-F1,transformer_station,TP Stražišče 3
EG,EG-TP2,EG-R1-S1-F1,transformer_station,TP Labore
ZOE,Z-R1,,region,Ужгородський РЕМ
ZOE,Z-S1,Z-R1,substation,ПС Ужгород-1
ZOE,Z-F1,Z-S1,feeder,Фідер 10 кВ №4
ZOE,Z-TP1,Z-F1,transformer_station,ТП 1234 Минай
EH,B-R1,,region,София-град
EH,B-S1,B-R1,substation,п/ст Люлин
EH,B-F1,B-S1,feeder,Извод Младост
EH,B-TP1,B-F1,transformer_station,ТП Люлин 5
"""


def eic(prefix: str, serial: int) -> str:
    first15 = f"{prefix}{serial:012d}"
    return first15 + eic_check_char(first15)


METERING_POINTS = f"""utility,mp_id,node,settlement,street,house,eic,meter_number,priority
EG,6-100001,EG-TP1,Kranj,Prešernova ulica,5,{eic("24Z", 1)},10001,no
EG,6-100002,EG-TP1,Kranj,Prešernova ulica,7,{eic("24Z", 2)},10002,
EG,6-100003,EG-TP2,Kranj,Labore,12a,{eic("24Z", 3)},10003,yes
ZOE,100000001,Z-TP1,Ужгород,вул. Минайська,14,{eic("62Z", 1)},UA-777001,no
ZOE,100000002,Z-TP1,Ужгород,вул. Минайська,16,{eic("62Z", 2)},UA-777002,no
EH,1000001,B-TP1,София,ул. Васил Левски,3,{eic("32Z", 1)},BG555001,no
"""

SUBSCRIBERS = """utility,account,name,language,phone,email,telegram,viber,metering_points
EG,100234,Ana Novak,sl,041 123 456,ana.novak@example.si,,,6-100001;6-100002
EG,100235,Janez Kranjc,en,+386 31 555 666,,,,6-100003
ZOE,100000001,Олена Петренко,uk,,,123456789,01234567890A=,100000001
ZOE,100000002,Іван Коваль,uk,050 123 4567,,,,100000001 100000002
EH,300000000001,Мария Иванова,bg,0888 123 456,maria@example.bg,,,1000001
"""

FILES = {
    "utilities": UTILITIES,
    "network": NETWORK,
    "metering-points": METERING_POINTS,
    "subscribers": SUBSCRIBERS,
}


def write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    path = tmp_path / name
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8")
    else:
        path.write_bytes(content)
    return path


def load_all(engine: Engine, tmp_path: Path, upto: str = "subscribers") -> None:
    for kind, content in FILES.items():
        import_file(engine, kind, write(tmp_path, f"{kind}.csv", content), actor="tester")
        if kind == upto:
            return


def dump(engine: Engine) -> dict[str, list[tuple[object, ...]]]:
    """Every row of every table, in a stable order."""
    with engine.connect() as conn:
        return {
            table.name: sorted(map(tuple, conn.execute(select(table))), key=repr)
            for table in Base.metadata.sorted_tables
        }
