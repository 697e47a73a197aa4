"""The public pages' words in the utilities' languages and English, and which one to use.

A page is in its utility's language or English: `?lang=` (the visible switch)
wins, then the browser's Accept-Language, then the utility's language.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Final

from dispatch_tui.domain.languages import LANGUAGE_NAMES

FALLBACK: Final = "en"

TEXTS: Final[Mapping[str, Mapping[str, str]]] = {
    "en": {
        "settlements": "Settlements with planned works",
        "streets_count": "streets: {n}",
        "planned_works": "Planned works",
        "utilities": "Planned power outages",
        "choose_utility": "Choose your distribution company",
        "last_updated": "Last updated",
        "stale": "The listing could not be refreshed; it is shown as it was at {time}.",
        "no_works": "No planned works are announced.",
        "street": "Street",
        "houses": "Houses",
        "start": "Start",
        "end": "Expected end",
        "type": "Type",
        "change": "Last change",
        "planned": "planned",
        "urgent": "urgent",
        "cancelled": "cancelled",
        "moved_from": "moved from {window}",
        "whole_settlement": "(no street names)",
        "reason": "Reason",
        "search": "Is my address affected?",
        "search_hint": "Works in the next 30 days on a street, or at a metering point.",
        "settlement": "Settlement",
        "street_optional": "Street (optional)",
        "metering_point": "Metering point id",
        "or": "or",
        "find": "Search",
        "found": "Planned works that touch it in the next 30 days:",
        "none_found": "No planned works touch it in the next 30 days.",
        "feeds": "Subscribe",
        "feed_ical": "Calendar of {settlement} (iCalendar)",
        "feed_json": "All works as JSON",
        "feed_cap": "Alerts (Atom with CAP 1.2)",
        "contact": "Questions: {phone}",
        "skip": "Skip to the listing",
        "language": "Language",
        "times_local": "Times are local time ({zone}).",
        "back": "Back to the planned works",
        "error": "Something is not right",
        "err_missing": "Give a settlement (and a street if you like) or a metering point id.",
        "err_both": "Search by address or by metering point id, not both at once.",
        "err_street_alone": "A street needs its settlement.",
        "err_too_long": "{field} is too long (at most {limit} characters).",
        "err_control": "{field} contains characters that are not text.",
        "err_language": "Unknown language {lang}; this page is available in {choices}.",
        "err_unknown_utility": "There is no distribution company {code} here.",
        "err_unknown_settlement": "No planned works are listed for the settlement {name}.",
        "err_not_found": "There is no such page.",
        "err_parameter": "Unknown parameter {name}.",
        "err_unavailable": "The search is unavailable for a moment; try again shortly.",
    },
    "sl": {
        "settlements": "Naselja z načrtovanimi deli",
        "streets_count": "ulic: {n}",
        "planned_works": "Načrtovana dela",
        "utilities": "Načrtovani izklopi elektrike",
        "choose_utility": "Izberite svoje distribucijsko podjetje",
        "last_updated": "Zadnja posodobitev",
        "stale": "Seznama ni bilo mogoče osvežiti; prikazan je, kot je bil ob {time}.",
        "no_works": "Ni napovedanih načrtovanih del.",
        "street": "Ulica",
        "houses": "Hišne številke",
        "start": "Začetek",
        "end": "Predviden konec",
        "type": "Vrsta",
        "change": "Zadnja sprememba",
        "planned": "načrtovano",
        "urgent": "nujno",
        "cancelled": "preklicano",
        "moved_from": "prestavljeno s termina {window}",
        "whole_settlement": "(brez imen ulic)",
        "reason": "Razlog",
        "search": "Ali bo moj naslov brez elektrike?",
        "search_hint": "Dela v naslednjih 30 dneh na ulici ali na merilnem mestu.",
        "settlement": "Naselje",
        "street_optional": "Ulica (neobvezno)",
        "metering_point": "Številka merilnega mesta",
        "or": "ali",
        "find": "Išči",
        "found": "Načrtovana dela, ki ga zadevajo v naslednjih 30 dneh:",
        "none_found": "V naslednjih 30 dneh ga ne zadeva nobeno načrtovano delo.",
        "feeds": "Naročite se",
        "feed_ical": "Koledar za {settlement} (iCalendar)",
        "feed_json": "Vsa dela v obliki JSON",
        "feed_cap": "Opozorila (Atom s CAP 1.2)",
        "contact": "Vprašanja: {phone}",
        "skip": "Na seznam",
        "language": "Jezik",
        "times_local": "Časi so po lokalnem času ({zone}).",
        "back": "Nazaj na načrtovana dela",
        "error": "Nekaj ni v redu",
        "err_missing": "Vpišite naselje (in po želji ulico) ali številko merilnega mesta.",
        "err_both": "Iščite po naslovu ali po številki merilnega mesta, ne po obojem hkrati.",
        "err_street_alone": "Ulica potrebuje naselje.",
        "err_too_long": "{field} je predolgo (največ {limit} znakov).",
        "err_control": "{field} vsebuje znake, ki niso besedilo.",
        "err_language": "Neznan jezik {lang}; stran je na voljo v jezikih {choices}.",
        "err_unknown_utility": "Distribucijskega podjetja {code} tu ni.",
        "err_unknown_settlement": "Za naselje {name} ni napovedanih del.",
        "err_not_found": "Te strani ni.",
        "err_parameter": "Neznan parameter {name}.",
        "err_unavailable": "Iskanje trenutno ni na voljo; poskusite znova čez nekaj časa.",
    },
    "uk": {
        "settlements": "Населені пункти з плановими роботами",
        "streets_count": "вулиць: {n}",
        "planned_works": "Планові роботи",
        "utilities": "Планові відключення електроенергії",
        "choose_utility": "Оберіть свого оператора системи розподілу",
        "last_updated": "Оновлено",
        "stale": "Перелік не вдалося оновити; показано стан на {time}.",
        "no_works": "Планових робіт не оголошено.",
        "street": "Вулиця",
        "houses": "Будинки",
        "start": "Початок",
        "end": "Орієнтовне завершення",
        "type": "Тип",
        "change": "Остання зміна",
        "planned": "планове",
        "urgent": "термінове",
        "cancelled": "скасовано",
        "moved_from": "перенесено з {window}",
        "whole_settlement": "(без назв вулиць)",
        "reason": "Причина",
        "search": "Чи торкнеться це моєї адреси?",
        "search_hint": "Роботи на найближчі 30 днів на вулиці або на точці обліку.",
        "settlement": "Населений пункт",
        "street_optional": "Вулиця (необов'язково)",
        "metering_point": "Особовий рахунок (точка обліку)",
        "or": "або",
        "find": "Шукати",
        "found": "Планові роботи, що її стосуються, на найближчі 30 днів:",
        "none_found": "Протягом найближчих 30 днів планових робіт за цією адресою немає.",
        "feeds": "Підписатися",
        "feed_ical": "Календар: {settlement} (iCalendar)",
        "feed_json": "Усі роботи у форматі JSON",
        "feed_cap": "Попередження (Atom із CAP 1.2)",
        "contact": "Питання: {phone}",
        "skip": "До переліку",
        "language": "Мова",
        "times_local": "Час місцевий ({zone}).",
        "back": "Назад до планових робіт",
        "error": "Щось не так",
        "err_missing": "Вкажіть населений пункт (і, за бажання, вулицю) або особовий рахунок.",
        "err_both": "Шукайте за адресою або за особовим рахунком, а не за обома одразу.",
        "err_street_alone": "Вулиця потребує населеного пункту.",
        "err_too_long": "{field}: занадто довго (не більше {limit} символів).",
        "err_control": "{field}: містить символи, які не є текстом.",
        "err_language": "Невідома мова {lang}; сторінка доступна мовами: {choices}.",
        "err_unknown_utility": "Оператора {code} тут немає.",
        "err_unknown_settlement": "Для населеного пункту {name} робіт не оголошено.",
        "err_not_found": "Такої сторінки немає.",
        "err_parameter": "Невідомий параметр {name}.",
        "err_unavailable": "Пошук тимчасово недоступний; спробуйте трохи згодом.",
    },
    "bg": {
        "settlements": "Населени места с планирани работи",
        "streets_count": "улици: {n}",
        "planned_works": "Планирани работи",
        "utilities": "Планирани прекъсвания на електрозахранването",
        "choose_utility": "Изберете своето електроразпределително дружество",
        "last_updated": "Последна актуализация",
        "stale": "Списъкът не можа да се обнови; показан е както беше в {time}.",
        "no_works": "Няма обявени планирани работи.",
        "street": "Улица",
        "houses": "Номера",
        "start": "Начало",
        "end": "Очакван край",
        "type": "Вид",
        "change": "Последна промяна",
        "planned": "планирано",
        "urgent": "спешно",
        "cancelled": "отменено",
        "moved_from": "преместено от {window}",
        "whole_settlement": "(без имена на улици)",
        "reason": "Причина",
        "search": "Засегнат ли е моят адрес?",
        "search_hint": "Работи през следващите 30 дни на улица или на обект.",
        "settlement": "Населено място",
        "street_optional": "Улица (по избор)",
        "metering_point": "Номер на обекта",
        "or": "или",
        "find": "Търсене",
        "found": "Планирани работи, които го засягат през следващите 30 дни:",
        "none_found": "През следващите 30 дни няма планирани работи, които да го засягат.",
        "feeds": "Абонамент",
        "feed_ical": "Календар за {settlement} (iCalendar)",
        "feed_json": "Всички работи във формат JSON",
        "feed_cap": "Предупреждения (Atom с CAP 1.2)",
        "contact": "Въпроси: {phone}",
        "skip": "Към списъка",
        "language": "Език",
        "times_local": "Часовете са местно време ({zone}).",
        "back": "Обратно към планираните работи",
        "error": "Нещо не е наред",
        "err_missing": "Въведете населено място (и улица, ако желаете) или номер на обекта.",
        "err_both": "Търсете по адрес или по номер на обекта, не по двете едновременно.",
        "err_street_alone": "Улицата трябва да има населено място.",
        "err_too_long": "{field}: твърде дълго (най-много {limit} знака).",
        "err_control": "{field}: съдържа знаци, които не са текст.",
        "err_language": "Непознат език {lang}; страницата е достъпна на {choices}.",
        "err_unknown_utility": "Тук няма дружество {code}.",
        "err_unknown_settlement": "За населеното място {name} няма обявени работи.",
        "err_not_found": "Няма такава страница.",
        "err_parameter": "Непознат параметър {name}.",
        "err_unavailable": "Търсенето временно не е достъпно; опитайте отново след малко.",
    },
}


def text(language: str, key: str, **values: object) -> str:
    """The page text `key` in `language` (English where a language lacks it)."""
    template = TEXTS.get(language, TEXTS[FALLBACK]).get(key) or TEXTS[FALLBACK][key]
    return template.format(**values) if values else template


def languages_for(utility_language: str) -> tuple[str, ...]:
    """A utility's pages: its own language first, then English."""
    return tuple(dict.fromkeys((utility_language, FALLBACK)))


def accepted(header: str) -> list[str]:
    """Accept-Language's primary tags by preference ("sl-SI;q=0.8, en" → ["en", "sl"]);
    malformed entries are skipped, never an error."""
    ranked: list[tuple[float, int, str]] = []
    for index, part in enumerate(header.split(",")[:20]):
        tag, _, params = part.strip().partition(";")
        tag = tag.strip().lower().split("-")[0]
        if not tag.isalpha() or len(tag) > 8:
            continue
        quality = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if quality > 0:
            ranked.append((-quality, index, tag))
    return [tag for _, _, tag in sorted(ranked)]


def negotiate(header: str, available: Sequence[str]) -> str:
    """The first of `available` the browser accepts, else the first of `available`."""
    for tag in accepted(header):
        if tag in available:
            return tag
    return available[0]


def name(language: str) -> str:
    """A language named in itself, for the switch."""
    return LANGUAGE_NAMES.get(language, language)
