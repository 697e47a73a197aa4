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
        "signup_link": "Get notices of planned works by SMS or e-mail",
        "signup_title": "Sign up for notices",
        "signup_intro": (
            "We send a message before planned works at your address. Nothing starts until you "
            "enter the code we send you."
        ),
        "identifier": "Metering point id or account number",
        "proof": "Meter number, or the last 5 characters of the EIC",
        "phone": "Mobile phone",
        "email": "E-mail address",
        "channels": "Send notices by",
        "channel_sms": "SMS",
        "channel_email": "E-mail",
        "notice_language": "Language of the notices",
        "send_code": "Send me a code",
        "code_sent": "We sent a 6-digit code to {to}.",
        "code_for": "Code sent to {to}",
        "code_hint": "The code is valid for 15 minutes; 5 tries.",
        "code": "Code",
        "confirm": "Confirm",
        "resend": "Send a new code",
        "signed_up": "Done: {to} will get notices of planned works.",
        "signed_up_soon": "Done: {to} will get notices of planned works within a minute.",
        "no_match": (
            "We found no such metering point or account with that meter number or EIC. Check both"
            " and try again ({n} tries left)."
        ),
        "locked": "Too many wrong tries for this account. Please call {phone}.",
        "wrong_code": "That code is not right ({n} tries left).",
        "code_expired": "The code has expired. Ask for a new one.",
        "code_spent": "Too many wrong codes. Ask for a new one.",
        "unknown_signup": "This sign-up is not known or has finished. Please start again.",
        "rate_ip": "Too many sign-ups from your connection. Please try again in an hour.",
        "rate_address": (
            "Too many codes were sent to this phone or address. Please try again later."
        ),
        "rate_account": "Too many sign-ups for this account. Please try again in an hour.",
        "rate_confirm": "Too many codes entered from your connection. Please try again in an hour.",
        "err_csrf": (
            "This form has expired or did not come from this site. Reload the page and send it "
            "again."
        ),
        "err_check": "Check “{field}”: {problem}",
        "err_form": "The form could not be read.",
        "unsubscribe_title": "Unsubscribe from e-mail notices",
        "unsubscribe_ask": (
            "Stop sending notices of planned works to the e-mail address this link came to?"
        ),
        "unsubscribe_button": "Unsubscribe",
        "unsubscribed": "You are unsubscribed: this address gets no more notices.",
        "unsubscribe_already": "This address was already unsubscribed.",
        "unsubscribe_unknown": "This unsubscribe link is not known.",
        "err_one_click": "The request must be List-Unsubscribe=One-Click.",
        "reading_link": "Send a meter reading",
        "reading_title": "Send a meter reading",
        "reading_intro": (
            "No registration: your account or metering point id, the meter number (or the last "
            "5 characters of the EIC) and what the meter shows."
        ),
        "reading": "Meter reading (kWh; day tariff on a two-tariff meter)",
        "night": "Night reading (two-tariff meters only)",
        "send_reading": "Send the reading",
        "notices": "Notices to print for the entrances",
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
        "signup_link": "Obvestila o načrtovanih delih po SMS ali e-pošti",
        "signup_title": "Prijava na obvestila",
        "signup_intro": (
            "Pred načrtovanimi deli na vašem naslovu vam pošljemo sporočilo. Prijava začne "
            "veljati, ko vpišete kodo, ki vam jo pošljemo."
        ),
        "identifier": "Številka merilnega mesta ali številka odjemalca",
        "proof": "Številka števca ali zadnjih 5 znakov EIC",
        "phone": "Mobilni telefon",
        "email": "E-poštni naslov",
        "channels": "Obvestila pošiljajte po",
        "channel_sms": "SMS",
        "channel_email": "E-pošti",
        "notice_language": "Jezik obvestil",
        "send_code": "Pošljite mi kodo",
        "code_sent": "Šestmestno kodo smo poslali na {to}.",
        "code_for": "Koda, poslana na {to}",
        "code_hint": "Koda velja 15 minut; 5 poskusov.",
        "code": "Koda",
        "confirm": "Potrdi",
        "resend": "Pošljite novo kodo",
        "signed_up": "Urejeno: {to} bo prejemal obvestila o načrtovanih delih.",
        "signed_up_soon": (
            "Urejeno: {to} bo v minuti začel prejemati obvestila o načrtovanih delih."
        ),
        "no_match": (
            "Takega merilnega mesta ali odjemalca s to številko števca ali EIC nismo našli. "
            "Preverite oboje in poskusite znova (še {n} poskusov)."
        ),
        "locked": "Preveč napačnih poskusov za ta račun. Pokličite {phone}.",
        "wrong_code": "Koda ni pravilna (še {n} poskusov).",
        "code_expired": "Koda je potekla. Zahtevajte novo.",
        "code_spent": "Preveč napačnih kod. Zahtevajte novo.",
        "unknown_signup": "Te prijave ne poznamo ali je že končana. Začnite znova.",
        "rate_ip": "Preveč prijav z vaše povezave. Poskusite znova čez eno uro.",
        "rate_address": "Na ta telefon ali naslov smo poslali preveč kod. Poskusite znova pozneje.",
        "rate_account": "Preveč prijav za ta račun. Poskusite znova čez eno uro.",
        "rate_confirm": "Z vaše povezave je bilo vpisanih preveč kod. Poskusite znova čez eno uro.",
        "err_csrf": (
            "Obrazec je potekel ali ni prišel s te strani. Osvežite stran in ga pošljite znova."
        ),
        "err_check": "Preverite »{field}«: {problem}",
        "err_form": "Obrazca ni bilo mogoče prebrati.",
        "unsubscribe_title": "Odjava od obvestil po e-pošti",
        "unsubscribe_ask": (
            "Ne pošiljamo več obvestil o načrtovanih delih na naslov, na katerega je prišla ta "
            "povezava?"
        ),
        "unsubscribe_button": "Odjava",
        "unsubscribed": "Odjavljeni ste: ta naslov ne bo več prejemal obvestil.",
        "unsubscribe_already": "Ta naslov je bil že odjavljen.",
        "unsubscribe_unknown": "Te povezave za odjavo ne poznamo.",
        "err_one_click": "Zahteva mora biti List-Unsubscribe=One-Click.",
        "reading_link": "Sporočite stanje števca",
        "reading_title": "Sporočite stanje števca",
        "reading_intro": (
            "Brez registracije: številka računa ali merilnega mesta, številka števca (ali "
            "zadnjih 5 znakov EIC) in stanje na števcu."
        ),
        "reading": "Stanje števca (kWh; pri dvotarifnem VT)",
        "night": "Stanje MT (le dvotarifni števci)",
        "send_reading": "Pošlji stanje",
        "notices": "Obvestila za vhode (za tiskanje)",
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
        "signup_link": "Сповіщення про планові роботи в SMS або e-mail",
        "signup_title": "Підписка на сповіщення",
        "signup_intro": (
            "Ми надішлемо повідомлення перед плановими роботами за вашою адресою. Підписка діє "
            "після того, як ви введете надісланий код."
        ),
        "identifier": "Номер точки обліку або особового рахунку",
        "proof": "Номер лічильника або останні 5 символів EIC",
        "phone": "Мобільний телефон",
        "email": "Адреса e-mail",
        "channels": "Надсилати сповіщення через",
        "channel_sms": "SMS",
        "channel_email": "E-mail",
        "notice_language": "Мова сповіщень",
        "send_code": "Надіслати код",
        "code_sent": "Ми надіслали 6-значний код на {to}.",
        "code_for": "Код надіслано на {to}",
        "code_hint": "Код дійсний 15 хвилин; 5 спроб.",
        "code": "Код",
        "confirm": "Підтвердити",
        "resend": "Надіслати новий код",
        "signed_up": "Готово: {to} отримуватиме сповіщення про планові роботи.",
        "signed_up_soon": "Готово: за хвилину {to} почне отримувати сповіщення про планові роботи.",
        "no_match": (
            "Не знайдено такої точки обліку чи рахунку з цим номером лічильника або EIC. "
            "Перевірте обидва та спробуйте знову (залишилось спроб: {n})."
        ),
        "locked": "Забагато помилкових спроб для цього рахунку. Зателефонуйте {phone}.",
        "wrong_code": "Код неправильний (залишилось спроб: {n}).",
        "code_expired": "Термін дії коду минув. Запросіть новий.",
        "code_spent": "Забагато неправильних кодів. Запросіть новий.",
        "unknown_signup": "Ця підписка невідома або вже завершена. Почніть знову.",
        "rate_ip": "Забагато підписок з вашого з'єднання. Спробуйте через годину.",
        "rate_address": "На цей телефон чи адресу надіслано забагато кодів. Спробуйте пізніше.",
        "rate_account": "Забагато підписок для цього рахунку. Спробуйте через годину.",
        "rate_confirm": "З вашого з'єднання введено забагато кодів. Спробуйте через годину.",
        "err_csrf": (
            "Форма застаріла або надійшла не з цього сайту. Оновіть сторінку та надішліть її знову."
        ),
        "err_check": "Перевірте «{field}»: {problem}",
        "err_form": "Не вдалося прочитати форму.",
        "unsubscribe_title": "Відписка від сповіщень e-mail",
        "unsubscribe_ask": (
            "Більше не надсилати сповіщення про планові роботи на адресу, куди прийшло це "
            "посилання?"
        ),
        "unsubscribe_button": "Відписатися",
        "unsubscribed": "Ви відписалися: ця адреса більше не отримуватиме сповіщень.",
        "unsubscribe_already": "Цю адресу вже було відписано.",
        "unsubscribe_unknown": "Це посилання для відписки невідоме.",
        "err_one_click": "Запит має бути List-Unsubscribe=One-Click.",
        "reading_link": "Передати покази лічильника",
        "reading_title": "Передати покази лічильника",
        "reading_intro": (
            "Без реєстрації: особовий рахунок, номер лічильника (або останні 5 символів EIC) "
            "і покази."
        ),
        "reading": "Покази лічильника (кВт·год; для двозонного — день)",
        "night": "Покази ніч (лише двозонні лічильники)",
        "send_reading": "Передати покази",
        "notices": "Оголошення для під'їздів (для друку)",
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
        "signup_link": "Известия за планови работи по SMS или e-mail",
        "signup_title": "Абонамент за известия",
        "signup_intro": (
            "Изпращаме съобщение преди планови работи на вашия адрес. Абонаментът започва, след "
            "като въведете изпратения код."
        ),
        "identifier": "Номер на точка на измерване или клиентски номер",
        "proof": "Номер на електромера или последните 5 знака от EIC",
        "phone": "Мобилен телефон",
        "email": "Имейл адрес",
        "channels": "Изпращайте известия по",
        "channel_sms": "SMS",
        "channel_email": "Имейл",
        "notice_language": "Език на известията",
        "send_code": "Изпратете ми код",
        "code_sent": "Изпратихме 6-цифрен код на {to}.",
        "code_for": "Код, изпратен на {to}",
        "code_hint": "Кодът е валиден 15 минути; 5 опита.",
        "code": "Код",
        "confirm": "Потвърди",
        "resend": "Изпратете нов код",
        "signed_up": "Готово: {to} ще получава известия за планови работи.",
        "signed_up_soon": (
            "Готово: до минута {to} ще започне да получава известия за планови работи."
        ),
        "no_match": (
            "Не намерихме такава точка на измерване или клиент с този номер на електромер или "
            "EIC. Проверете и опитайте отново (остават {n} опита)."
        ),
        "locked": "Твърде много грешни опити за този клиент. Обадете се на {phone}.",
        "wrong_code": "Кодът не е верен (остават {n} опита).",
        "code_expired": "Кодът е изтекъл. Поискайте нов.",
        "code_spent": "Твърде много грешни кодове. Поискайте нов.",
        "unknown_signup": "Този абонамент не е известен или е приключил. Започнете отначало.",
        "rate_ip": "Твърде много абонаменти от вашата връзка. Опитайте отново след час.",
        "rate_address": (
            "Изпратени са твърде много кодове на този телефон или адрес. Опитайте по-късно."
        ),
        "rate_account": "Твърде много абонаменти за този клиент. Опитайте отново след час.",
        "rate_confirm": (
            "От вашата връзка са въведени твърде много кодове. Опитайте отново след час."
        ),
        "err_csrf": (
            "Формулярът е изтекъл или не е от този сайт. Презаредете страницата и го изпратете "
            "отново."
        ),
        "err_check": "Проверете „{field}“: {problem}",
        "err_form": "Формулярът не може да бъде прочетен.",
        "unsubscribe_title": "Отписване от известия по имейл",
        "unsubscribe_ask": (
            "Да спрем ли известията за планови работи до адреса, на който дойде тази връзка?"
        ),
        "unsubscribe_button": "Отписване",
        "unsubscribed": "Отписахте се: този адрес няма да получава повече известия.",
        "unsubscribe_already": "Този адрес вече е отписан.",
        "unsubscribe_unknown": "Тази връзка за отписване не е известна.",
        "err_one_click": "Заявката трябва да е List-Unsubscribe=One-Click.",
        "reading_link": "Подайте показание на електромера",
        "reading_title": "Подайте показание на електромера",
        "reading_intro": (
            "Без регистрация: клиентски номер, номер на електромера (или последните 5 знака "
            "на EIC) и показанието."
        ),
        "reading": "Показание (kWh; дневна тарифа при двутарифен)",
        "night": "Нощно показание (само двутарифни)",
        "send_reading": "Изпрати показанието",
        "notices": "Съобщения за входовете (за печат)",
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
