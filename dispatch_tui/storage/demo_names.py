"""Hand-written name pools for the demo database.

Faker gives Slovene and Ukrainian person and street names, but its
settlements are spread over the whole country (a Gorenjska region full of
towns from Prekmurje looks wrong to anyone from there) and its bg_BG locale
has no Bulgarian addresses and odd first names. So the places of the three
demo utilities, the Bulgarian streets and names, and the transliteration
tables for e-mail addresses live here. Every sequence is a tuple: the order
matters, because the demo picks from them with a seeded random generator.
"""

from __future__ import annotations

from dataclasses import dataclass


def names(text: str) -> tuple[str, ...]:
    """A comma-separated list, as written below, as a tuple (order kept)."""
    return tuple(" ".join(name.split()) for name in text.split(","))


@dataclass(frozen=True)
class RegionNames:
    """One region of a utility's network.

    `town` gets the urban transformer stations (apartment blocks, many
    metering points each), named after its `districts`; `villages` get the
    small rural ones. `substations` name the region's 110/x kV substations
    before numbered repeats take over.
    """

    name: str
    town: str
    districts: tuple[str, ...]
    villages: tuple[str, ...]
    substations: tuple[str, ...]
    urban_share: float
    weight: float


# --- Elektro Gorenjska (SI): supervision areas ("nadzorništva") -------------

GORENJSKA: tuple[RegionNames, ...] = (
    RegionNames(
        name="Nadzorništvo Kranj",
        town="Kranj",
        districts=names(
            """
            Stražišče, Primskovo, Planina, Zlato polje, Vodovodni stolp, Drulovka, Huje, Čirče,
            Rupa, Struževo, Klanec, Orehek, Center
            """
        ),
        villages=names(
            """
            Naklo, Šenčur, Cerklje na Gorenjskem, Preddvor, Mavčiče, Golnik, Britof, Predoslje,
            Visoko, Voklo, Trboje, Žabnica, Zgornje Bitnje, Spodnje Bitnje, Kokra, Jezersko,
            Duplje, Podbrezje, Kokrica, Tenetiše, Olševek, Voglje, Lahovče, Zalog, Velesovo,
            Pšata, Hrastje
            """
        ),
        substations=names(
            """
            RTP Labore, RTP Primskovo, RTP Zlato polje, RTP Britof, RTP Visoko, RTP Šenčur,
            RTP Naklo, RTP Cerklje, RTP Preddvor, RTP Stražišče
            """
        ),
        urban_share=0.12,
        weight=0.34,
    ),
    RegionNames(
        name="Nadzorništvo Škofja Loka",
        town="Škofja Loka",
        districts=names(
            """
            Podlubnik, Frankovo naselje, Trata, Kamnitnik, Vincarje, Center
            """
        ),
        villages=names(
            """
            Stara Loka, Virmaše, Reteče, Gorenja vas, Poljane nad Škofjo Loko, Javorje, Žiri,
            Železniki, Selca, Dražgoše, Sorica, Lučine, Bukovica, Sv. Duh, Trebija, Todraž, Davča,
            Zminec, Godešič, Crngrob
            """
        ),
        substations=names(
            """
            RTP Škofja Loka, RTP Železniki, RTP Žiri, RTP Gorenja vas, RTP Trata
            """
        ),
        urban_share=0.08,
        weight=0.2,
    ),
    RegionNames(
        name="Nadzorništvo Radovljica",
        town="Radovljica",
        districts=names(
            """
            Predtrg, Gradnikova, Center, Lesce, Bled
            """
        ),
        villages=names(
            """
            Begunje na Gorenjskem, Kropa, Kamna Gorica, Podnart, Gorje, Zasip, Mošnje, Brezje,
            Bohinjska Bistrica, Srednja vas v Bohinju, Stara Fužina, Ribčev Laz, Ljubno, Lancovo,
            Zgoša, Ribno, Bodešče, Koritno, Polje, Češnjica pri Kropi
            """
        ),
        substations=names(
            """
            RTP Radovljica, RTP Bled, RTP Bohinj, RTP Lesce, RTP Kropa
            """
        ),
        urban_share=0.08,
        weight=0.22,
    ),
    RegionNames(
        name="Nadzorništvo Jesenice",
        town="Jesenice",
        districts=names(
            """
            Plavž, Podmežakla, Sp. Plavž, Hrušica, Koroška Bela, Slovenski Javornik
            """
        ),
        villages=names(
            """
            Žirovnica, Breznica, Kranjska Gora, Mojstrana, Dovje, Rateče, Gozd Martuljek,
            Blejska Dobrava, Planina pod Golico, Lipce, Podkoren, Belca, Zgornje Gorje, Smokuč,
            Vrba, Moste, Doslovče, Selo pri Žirovnici
            """
        ),
        substations=names(
            """
            RTP Jesenice, RTP Kranjska Gora, RTP Moste, RTP Hrušica, RTP Mojstrana
            """
        ),
        urban_share=0.1,
        weight=0.16,
    ),
    RegionNames(
        name="Nadzorništvo Tržič",
        town="Tržič",
        districts=names(
            """
            Ravne, Deteljica, Bistrica, Center
            """
        ),
        villages=names(
            """
            Bistrica pri Tržiču, Križe, Senično, Kovor, Loka, Podljubelj, Lom pod Storžičem,
            Brezje pri Tržiču, Žiganja vas, Sebenje, Retnje, Pristava, Zvirče, Hudo, Gozd,
            Jelendol
            """
        ),
        substations=names(
            """
            RTP Tržič, RTP Bistrica, RTP Kovor
            """
        ),
        urban_share=0.08,
        weight=0.08,
    ),
)

# --- Zakarpattyaoblenergo (UA): district networks (РЕМ) -----------------

ZAKARPATTIA: tuple[RegionNames, ...] = (
    RegionNames(
        name="Ужгородський РЕМ",
        town="Ужгород",
        districts=names(
            """
            Радванка, Боздош, Шахта, Горяни, Дравці, Новий район, Галагов, Центр
            """
        ),
        villages=names(
            """
            Минай, Оноківці, Розівка, Сторожниця, Баранинці, Холмок, Камʼяниця, Середнє, Тарновці,
            Соломоново, Чоп, Невицьке, Ірлява, Барвінок, Великі Лази, Малі Лази, Концово,
            Худльово, Анталовці, Порошково, Перечин, Зарічево, Турʼя-Ремета
            """
        ),
        substations=names(
            """
            ПС Ужгород, ПС Радванка, ПС Минай, ПС Чоп, ПС Середнє, ПС Перечин, ПС Камʼяниця,
            ПС Барвінок
            """
        ),
        urban_share=0.12,
        weight=0.24,
    ),
    RegionNames(
        name="Мукачівський РЕМ",
        town="Мукачево",
        districts=names(
            """
            Паланок, Росвигово, Підгоряни, Центр, Підмонастир
            """
        ),
        villages=names(
            """
            Чинадієво, Кольчино, Верхній Коропець, Нижній Коропець, Ракошино, Іванівці, Лавки,
            Пістрялово, Ключарки, Страбичово, Горонда, Дерцен, Барбово, Великі Лучки, Чопівці,
            Бобовище, Ромочевиця, Шенборн, Кузьмино, Новоселиця, Сусково, Грабово, Жденієво,
            Пасіка
            """
        ),
        substations=names(
            """
            ПС Мукачево, ПС Мукачево-Західна, ПС Чинадієво, ПС Кольчино, ПС Великі Лучки,
            ПС Ракошино, ПС Жденієво
            """
        ),
        urban_share=0.11,
        weight=0.24,
    ),
    RegionNames(
        name="Берегівський РЕМ",
        town="Берегове",
        districts=names(
            """
            Центр, Балажер, Нове місто
            """
        ),
        villages=names(
            """
            Вилок, Косонь, Батьово, Велика Бийгань, Мужієво, Гать, Астей, Дийда, Вари, Кідьош,
            Бене, Вузлове, Велика Бакта, Четфалва, Гут, Мала Бийгань, Яноші, Свобода, Запсонь, Шом
            """
        ),
        substations=names(
            """
            ПС Берегове, ПС Батьово, ПС Вилок, ПС Вари, ПС Косонь
            """
        ),
        urban_share=0.08,
        weight=0.16,
    ),
    RegionNames(
        name="Хустський РЕМ",
        town="Хуст",
        districts=names(
            """
            Центр, Хустець, Кіреші, Заріччя
            """
        ),
        villages=names(
            """
            Велятино, Вишково, Драгово, Іза, Копашново, Кошельово, Нижнє Селище, Горінчово, Липча,
            Сокирниця, Данилово, Золотарьово, Крайниково, Рокосово, Стеблівка, Шаян, Теребля,
            Нанково, Липецька Поляна
            """
        ),
        substations=names(
            """
            ПС Хуст, ПС Вишково, ПС Драгово, ПС Теребля, ПС Іза
            """
        ),
        urban_share=0.08,
        weight=0.18,
    ),
    RegionNames(
        name="Рахівський РЕМ",
        town="Рахів",
        districts=names(
            """
            Центр, Вишній кінець, Білий потік
            """
        ),
        villages=names(
            """
            Ясіня, Великий Бичків, Кваси, Богдан, Ділове, Костилівка, Білин, Луги, Лазещина,
            Вільховатий, Чорна Тиса, Бребоя, Косівська Поляна, Верхнє Водяне, Кобилецька Поляна,
            Середнє Водяне, Говерла
            """
        ),
        substations=names(
            """
            ПС Рахів, ПС Ясіня, ПС Великий Бичків, ПС Ділове
            """
        ),
        urban_share=0.06,
        weight=0.1,
    ),
    RegionNames(
        name="Тячівський РЕМ",
        town="Тячів",
        districts=names(
            """
            Центр, Новобудова
            """
        ),
        villages=names(
            """
            Тересва, Дубове, Солотвино, Буштино, Углі, Нересниця, Усть-Чорна, Калини, Бедевля,
            Грушово, Тарасівка, Дулово, Вонігово, Німецька Мокра, Лопухів, Руське Поле,
            Новоселиця, Глиняний
            """
        ),
        substations=names(
            """
            ПС Тячів, ПС Тересва, ПС Солотвино, ПС Буштино, ПС Дубове
            """
        ),
        urban_share=0.07,
        weight=0.08,
    ),
)

# --- Electrohold (BG): regions of western Bulgaria ------------------------

SOFIA_BLOCK_DISTRICTS = names(
    """
    Люлин 1, Люлин 3, Люлин 5, Люлин 7, Люлин 10, Младост 1, Младост 2, Младост 3, Младост 4,
    Надежда 1, Надежда 2, Надежда 4, Дружба 1, Дружба 2, Красно село, Овча купел 1, Овча купел 2,
    Лозенец, Изгрев, Студентски град, Обеля 1, Обеля 2, Красна поляна 1, Красна поляна 3,
    Гео Милев, Хаджи Димитър, Сухата река, Зона Б-5, Банишора, Хиподрума, Бели брези, Стрелбище,
    Слатина, Подуяне, Яворов, Разсадника, Западен парк, Света Троица, Дианабад, Борово,
    Гоце Делчев, Манастирски ливади, Сердика, Илинден, Връбница 1, Толстой, Фондови жилища,
    Левски В, Левски Г
    """
)
"""Housing estates ("ж.к."): their addresses are blocks, entrances and flats."""

ELECTROHOLD: tuple[RegionNames, ...] = (
    RegionNames(
        name="Регион София-град",
        town="София",
        districts=SOFIA_BLOCK_DISTRICTS,
        villages=names(
            """
            Бояна, Драгалевци, Симеоново, Княжево, Горна баня, Суходол, Малинова долина, Бусманци,
            Кривина, Панчарево, Кокаляне, Бистрица, Железница, Владая, Мърчаево, Лозен, Казичене,
            Чепинци, Нови Искър, Кубратово, Войняговци, Мировяне, Волуяк, Герман
            """
        ),
        substations=names(
            """
            п/ст Люлин, п/ст Младост, п/ст Надежда, п/ст Дружба, п/ст Красно село,
            п/ст Овча купел, п/ст Изток, п/ст Бояна, п/ст Обеля, п/ст Хаджи Димитър, п/ст Сердика,
            п/ст Подуяне, п/ст Слатина, п/ст Лозенец, п/ст Витоша, п/ст Казичене,
            п/ст Красна поляна, п/ст Банишора, п/ст Илиянци, п/ст Европа, п/ст Захарна фабрика,
            п/ст Орион, п/ст Аерогара, п/ст Телевизионна кула, п/ст Студентска
            """
        ),
        urban_share=0.45,
        weight=0.0,  # sized by SizeSpec.bench_region, not by weight
    ),
    RegionNames(
        name="Регион София-област",
        town="Ботевград",
        districts=names(
            """
            Саранск, Васил Левски, Център
            """
        ),
        villages=names(
            """
            Елин Пелин, Своге, Ихтиман, Самоков, Костинброд, Божурище, Сливница, Горна Малина,
            Пирдоп, Златица, Етрополе, Правец, Костенец, Долна баня, Годеч, Драгоман, Вакарел,
            Белчин, Равно поле, Новачене, Гара Елин Пелин, Мусачево, Хераково, Петърч,
            Алдомировци, Доганово, Чавдар, Мирково
            """
        ),
        substations=names(
            """
            п/ст Ботевград, п/ст Елин Пелин, п/ст Самоков, п/ст Ихтиман, п/ст Костинброд,
            п/ст Своге, п/ст Пирдоп, п/ст Сливница, п/ст Етрополе
            """
        ),
        urban_share=0.08,
        weight=0.24,
    ),
    RegionNames(
        name="Регион Перник",
        town="Перник",
        districts=names(
            """
            Изток, Тева, Мошино, Център, Твърди ливади, Проучване
            """
        ),
        villages=names(
            """
            Радомир, Брезник, Трън, Батановци, Земен, Ковачевци, Дивотино, Рударци, Кладница,
            Студена, Яребковица, Боснек, Драгичево, Люлин, Долна Диканя, Кошарево, Извор, Мещица,
            Вискяр, Богданов дол
            """
        ),
        substations=names(
            """
            п/ст Перник, п/ст Радомир, п/ст Брезник, п/ст Батановци, п/ст Люлин-Перник, п/ст Трън
            """
        ),
        urban_share=0.12,
        weight=0.16,
    ),
    RegionNames(
        name="Регион Кюстендил",
        town="Кюстендил",
        districts=names(
            """
            Запад, Изток, Герена, Център
            """
        ),
        villages=names(
            """
            Дупница, Бобов дол, Сапарева баня, Рила, Кочериново, Невестино, Трекляно, Бобошево,
            Шишковци, Ябълково, Коняво, Жабокрът, Гюешево, Скриняно, Копиловци, Пиперков чифлик,
            Самораново, Крайници, Червен брег
            """
        ),
        substations=names(
            """
            п/ст Кюстендил, п/ст Дупница, п/ст Бобов дол, п/ст Сапарева баня, п/ст Рила,
            п/ст Невестино
            """
        ),
        urban_share=0.08,
        weight=0.14,
    ),
    RegionNames(
        name="Регион Благоевград",
        town="Благоевград",
        districts=names(
            """
            Струмско, Еленово, Вароша, Грамада, Освобождение, Център
            """
        ),
        villages=names(
            """
            Петрич, Сандански, Гоце Делчев, Разлог, Банско, Симитли, Кресна, Якоруда, Белица,
            Хаджидимово, Струмяни, Сатовча, Гърмен, Бачево, Добринище, Кулата, Рупите, Катунци,
            Дамяница, Покровник, Логодаж, Бучино, Селище, Церово
            """
        ),
        substations=names(
            """
            п/ст Благоевград, п/ст Петрич, п/ст Сандански, п/ст Гоце Делчев, п/ст Разлог,
            п/ст Банско, п/ст Симитли, п/ст Кресна
            """
        ),
        urban_share=0.08,
        weight=0.24,
    ),
    RegionNames(
        name="Регион Плевен",
        town="Плевен",
        districts=names(
            """
            Дружба, Сторгозия, Мара Денчева, Кайлъка, Широк център, Девети квартал
            """
        ),
        villages=names(
            """
            Червен бряг, Левски, Кнежа, Белене, Никопол, Славяново, Гулянци, Искър,
            Долна Митрополия, Тръстеник, Пордим, Долни Дъбник, Койнаре, Ясен, Бохот, Буковлък,
            Гривица, Опанец, Търнене, Ралево, Брестовец, Къшин
            """
        ),
        substations=names(
            """
            п/ст Плевен, п/ст Плевен-Изток, п/ст Червен бряг, п/ст Левски, п/ст Кнежа,
            п/ст Белене, п/ст Долни Дъбник
            """
        ),
        urban_share=0.1,
        weight=0.22,
    ),
)

# --- Bulgarian streets and people ------------------------------------------------

BG_STREETS = names(
    """
    ул. Васил Левски, ул. Христо Ботев, ул. Георги Раковски, ул. Иван Вазов,
    ул. Христо Смирненски, ул. Цар Симеон, ул. Княз Борис I, ул. Шипка, ул. Витоша, ул. Оборище,
    ул. Граф Игнатиев, ул. Пирин, ул. Рила, ул. Стара планина, ул. Родопи, ул. Хан Аспарух,
    ул. Хан Крум, ул. Цар Самуил, ул. Неофит Рилски, ул. Паисий Хилендарски, ул. Любен Каравелов,
    ул. Алеко Константинов, ул. Петко Р. Славейков, ул. Пейо Яворов, ул. Димчо Дебелянов,
    ул. Елин Пелин, ул. Йордан Йовков, ул. Никола Вапцаров, ул. Ген. Гурко, ул. Ген. Скобелев,
    ул. Цар Освободител, ул. Александър Стамболийски, ул. Св. Климент Охридски,
    ул. Св. св. Кирил и Методий, ул. Стефан Стамболов, ул. Сан Стефано, ул. Освобождение,
    ул. Съединение, ул. Независимост, ул. Дунав, ул. Искър, ул. Струма, ул. Марица, ул. Янтра,
    ул. Тунджа, ул. Осъм, ул. Вит, ул. Огоста, ул. Липа, ул. Бреза, ул. Явор, ул. Здравец,
    ул. Божур, ул. Роза, ул. Зора, ул. Изгрев, ул. Мир, ул. Пролет, ул. Тракия, ул. Добруджа,
    ул. Гео Милев, ул. Асен Златаров, ул. Капитан Петко войвода, ул. Панайот Волов, ул. Бачо Киро,
    ул. Баба Тонка, ул. Тодор Каблешков, ул. Райна Княгиня, ул. Георги Бенковски,
    ул. Ангел Кънчев, ул. Филип Тотю, ул. Хаджи Димитър, ул. Стефан Караджа, ул. Ивайло,
    ул. Цар Калоян, ул. Кракра, ул. Средна гора, ул. Опълченска, ул. Априлско въстание,
    ул. Ботьо Петков, ул. Чавдар войвода, ул. Патриарх Евтимий, ул. Отец Паисий, ул. Иван Асен II,
    ул. Дякон Игнатий, ул. Захари Стоянов, ул. Емилиян Станев, ул. Вела Благоева, ул. Борово,
    ул. Черковна, ул. Училищна, ул. Гарова, ул. Стадионска, ул. Лозарска, ул. Овощарска,
    ул. Тинтява, ул. Мусала, ул. Вихрен, ул. Мургаш, бул. България, бул. Христо Ботев,
    бул. Васил Левски, бул. Цар Освободител
    """
)
BG_MALE_FIRST = names(
    """
    Георги, Иван, Димитър, Николай, Петър, Христо, Стоян, Тодор, Васил, Александър, Стефан,
    Йордан, Никола, Атанас, Илия, Красимир, Валентин, Пламен, Любомир, Цветан, Емил, Борислав,
    Мартин, Даниел, Калоян, Виктор, Владимир, Кирил, Методи, Ангел, Асен, Борис, Веселин, Живко,
    Здравко, Иво, Огнян, Радослав, Симеон, Явор, Теодор, Росен, Светослав, Митко, Костадин,
    Благой, Крум, Милен, Бойко, Румен
    """
)
BG_FEMALE_FIRST = names(
    """
    Мария, Иванка, Елена, Йорданка, Пенка, Даниела, Виолета, Галина, Снежана, Цветанка, Надежда,
    Радка, Стефка, Румяна, Десислава, Гергана, Полина, Теодора, Виктория, Николета, Анна, Ивелина,
    Петя, Светла, Милена, Росица, Красимира, Антоанета, Валентина, Диана, Зорница, Бистра, Калина,
    Силвия, Кристина, Габриела, Ралица, Евгения, Веселина, Лиляна, Величка, Донка, Станка,
    Мариана, Катя, Таня, Ваня, Яна, Боряна, Емилия
    """
)
BG_MALE_LAST = names(
    """
    Иванов, Георгиев, Димитров, Петров, Николов, Христов, Стоянов, Тодоров, Илиев, Василев,
    Атанасов, Петков, Ангелов, Колев, Йорданов, Маринов, Стефанов, Попов, Михайлов, Кръстев,
    Костов, Павлов, Александров, Станчев, Томов, Цветков, Найденов, Младенов, Симеонов, Лазаров,
    Борисов, Янков, Ненов, Русев, Кирилов, Станков, Денев, Дончев, Ганев, Радев, Велков, Митев,
    Спасов, Киров, Славов, Стойчев, Марков, Енчев, Вълчев, Желязков, Панайотов, Игнатов, Гечев,
    Кацаров, Бонев, Филипов, Динев, Цонев, Трифонов, Генчев
    """
)
BG_FEMALE_LAST = tuple(name + "а" for name in BG_MALE_LAST)

# --- transliteration for e-mail local parts ------------------------------------

_UK_LATIN = {
    "а": "a", "б": "b", "в": "v", "г": "h", "ґ": "g", "д": "d", "е": "e", "є": "ie",
    "ж": "zh", "з": "z", "и": "y", "і": "i", "ї": "i", "й": "i", "к": "k", "л": "l",
    "м": "m", "н": "n", "о": "o", "п": "p", "р": "r", "с": "s", "т": "t", "у": "u",
    "ф": "f", "х": "kh", "ц": "ts", "ч": "ch", "ш": "sh", "щ": "shch", "ь": "", "ю": "iu",
    "я": "ia", "'": "", "ʼ": "", "’": "",
}  # fmt: skip
"""Ukrainian national romanization (2010), lower case, as people spell their mailbox."""

_BG_LATIN = {
    "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ж": "zh", "з": "z",
    "и": "i", "й": "y", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o", "п": "p",
    "р": "r", "с": "s", "т": "t", "у": "u", "ф": "f", "х": "h", "ц": "ts", "ч": "ch",
    "ш": "sh", "щ": "sht", "ъ": "a", "ь": "y", "ю": "yu", "я": "ya",
}  # fmt: skip
"""Bulgarian streamlined system (Transliteration Act 2009), lower case."""

_SL_LATIN = {"č": "c", "š": "s", "ž": "z", "ć": "c", "đ": "dj"}

LATIN: dict[str, dict[str, str]] = {"uk": _UK_LATIN, "bg": _BG_LATIN, "sl": _SL_LATIN}


def latin(text: str, language: str) -> str:
    """Lower-case ASCII spelling of a name, for an e-mail local part."""
    table = LATIN[language]
    out = "".join(table.get(ch, ch) for ch in text.lower())
    return "".join(ch for ch in out if ch.isascii() and (ch.isalnum() or ch in ".-"))
