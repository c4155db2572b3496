"""Synthetic registers for demos, tests and benchmarks: consistent people, homes and companies.

The data is made household by household, so that it holds together the way real registers do:

* every IIN is valid and encodes the person's birth date and sex;
* couples are married to each other (``spouse_iin`` both ways); a widow or widower has a
  deceased spouse in the register whose ``spouse_iin`` points back; children name their
  parents and are born when their mother was 19 to 44 and their father an adult;
* names are Kazakh (patronymics in -ұлы/-қызы, some in -ович/-овна) or Russian, with Kazakh
  letters where they belong; addresses are in real regions, cities and villages;
* each home is owned by people of its household, with shares adding up to exactly one
  (privatised flats are shared by everyone who lived there, an inheritance goes to the widow
  six months after the death, as the Civil Code has it); a mortgage names a bank that exists;
* companies have valid BINs whose year and month are those of their registration date, and
  directors and founders who exist and were adults by then.

Everything follows from the seed: the same seed and size give the same records. ``generate``
writes through ``records_create_many`` (a version and a ledger entry for each record) and skips
keys already in the registers, so running it again adds nothing. IIN, BIN, document and cadastral
serials start from a block chosen by the seed, so different seeds rarely meet; should two
records still claim the same key, the one already written stays and the other is skipped.
"""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from fractions import Fraction
from typing import Any, Final

from django.db import transaction

from shanyraq.core.national_id import EntityAttribute, EntityKind, Sex, make_bin, make_iin

from .definitions import registers_define_all
from .models import Record
from .services import records_create_many

__all__ = ["AS_OF", "BASIS", "Synthesiser", "generate", "records"]

AS_OF: Final = date(2026, 1, 1)
"""The day the synthetic registers describe; fixed, so that the output does not depend on
when it is made."""
BASIS: Final = "generator: synthetic data"
POPULATION, REAL_ESTATE, BUSINESS = "population", "real_estate", "business"

Record_ = tuple[str, dict[str, Any]]  # (register code, record data)

# --- names ---------------------------------------------------------------------------------


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


KAZAKH_MALE: Final = _words(
    "Нұрлан Серік Асқар Ерлан Бауыржан Дәурен Қайрат Ержан Мұрат Талғат Ғалым Нұрсұлтан "
    "Әлихан Ернар Дархан Жандос Арман Айдос Бекзат Елдос Мейірхан Руслан Тимур Әділет "
    "Жасұлан Қуаныш Ақжол Санжар Нұрбек Азамат Абылай Ерасыл Әлібек Мирас Ислам Бақыт "
    "Қанат Жеңіс Марат Болат Ғабит Өмірзақ Сұлтан Тұрсын"
)
KAZAKH_FEMALE: Final = _words(
    "Айгүл Гүлнар Динара Жанар Әйгерім Ақмарал Мөлдір Аружан Назерке Айжан Гүлмира Сәуле "
    "Жұлдыз Балжан Перизат Ақбота Томирис Інжу Меруерт Айым Дана Салтанат Райхан Ұлжан "
    "Гаухар Әсел Камила Ләззат Алия Дильназ Қарлығаш Ботагөз Шынар Күләш Үміт Ақерке"
)
KAZAKH_SURNAMES: Final = _words(
    "Ахметов Омаров Сәрсенбаев Жақсыбеков Қасымов Сұлтанбеков Төлеуов Жұмабаев Байжанов "
    "Есенов Ермеков Мұқанов Серікбаев Иманбаев Оспанов Исабеков Қожахметов Бекмұхамбетов "
    "Тұрсынов Сүлейменов Әлиев Жанұзақов Шәкенов Ибраев Нұрпейісов Дүйсенов Құдайбергенов "
    "Мамыров Кенжебаев Әбдірахманов Смағұлов Қалиев Бейсенов Әбілов Рахымжанов Жүсіпов "
    "Өтегенов Мырзахметов Ғабдуллин Тоқтаров Жексенбин Сейітов"
)
RUSSIAN_MALE: Final = _words(
    "Александр Сергей Андрей Алексей Дмитрий Николай Владимир Михаил Евгений Игорь Виктор "
    "Юрий Олег Павел Максим Иван Артём Денис Роман Константин"
)
RUSSIAN_FEMALE: Final = _words(
    "Елена Ольга Наталья Татьяна Ирина Светлана Анна Мария Екатерина Юлия Анастасия "
    "Марина Галина Людмила Оксана Виктория Ксения Дарья Алина Валентина"
)
RUSSIAN_SURNAMES: Final = _words(
    "Иванов Петров Смирнов Кузнецов Попов Васильев Соколов Михайлов Новиков Фёдоров "
    "Морозов Волков Лебедев Козлов Павлов Семёнов Голубев Виноградов Богданов Воробьёв "
    "Ковалёв Зайцев Никитин"
)
# Russian patronymics that do not follow the regular endings.
IRREGULAR_PATRONYMICS: Final = {
    "Михаил": ("Михайлович", "Михайловна"),
    "Дмитрий": ("Дмитриевич", "Дмитриевна"),
    "Евгений": ("Евгеньевич", "Евгеньевна"),
    "Юрий": ("Юрьевич", "Юрьевна"),
}


def female_surname(surname: str) -> str:
    """The feminine form of a surname: Ахметов -> Ахметова, Ғабдуллин -> Ғабдуллина."""
    if surname.endswith(("ов", "ев", "ёв", "ин", "ын")):
        return surname + "а"
    if surname.endswith("ий"):
        return surname[:-2] + "ая"
    return surname


def patronymic(father: str, sex: Sex, *, russian_style: bool) -> str:
    """Серік -> Серікұлы / Серікқызы; Сергей -> Сергеевич / Сергеевна; Нұрлан -> Нұрланович."""
    if not russian_style:
        return father + ("ұлы" if sex == "M" else "қызы")
    if father in IRREGULAR_PATRONYMICS:
        male, female = IRREGULAR_PATRONYMICS[father]
        return male if sex == "M" else female
    if father.endswith("й"):
        return father[:-1] + ("евич" if sex == "M" else "евна")
    return father + ("ович" if sex == "M" else "овна")


# --- places --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Region:
    code: str  # as in the schemas' address.region
    cadastre: int  # the two leading digits of cadastral numbers made here
    weight: float  # share of the population, in millions of people
    cities: tuple[str, ...]
    villages: tuple[str, ...] = ()


REGIONS: Final = (
    Region("almaty", 20, 2.2, ("Алматы",)),
    Region("astana", 21, 1.4, ("Астана",)),
    Region("shymkent", 22, 1.2, ("Шымкент",)),
    Region("abai", 23, 0.6, ("Семей", "Аягөз", "Курчатов"), ("Үржар", "Бесқарағай")),
    Region("akmola", 1, 0.8, ("Көкшетау", "Степногорск", "Щучинск"), ("Шортанды", "Зеренді")),
    Region("aktobe", 2, 0.9, ("Ақтөбе", "Хромтау", "Қандыағаш"), ("Мартөк", "Шалқар")),
    Region("almaty_region", 3, 1.5, ("Қонаев", "Талғар", "Есік"), ("Ұзынағаш", "Шамалған")),
    Region("atyrau", 4, 0.7, ("Атырау", "Құлсары"), ("Мақат", "Индербор")),
    Region("west_kazakhstan", 5, 0.7, ("Орал", "Ақсай"), ("Тасқала", "Жәнібек")),
    Region("jambyl", 6, 1.2, ("Тараз", "Қаратау", "Шу"), ("Мерке", "Қордай")),
    Region("jetisu", 24, 0.7, ("Талдықорған", "Жаркент", "Текелі"), ("Балпық би", "Сарқан")),
    Region("karaganda", 9, 1.1, ("Қарағанды", "Теміртау", "Балқаш"), ("Ботақара", "Осакаровка")),
    Region("ulytau", 25, 0.2, ("Жезқазған", "Сәтбаев", "Қаражал"), ("Ұлытау",)),
    Region("kostanay", 12, 0.8, ("Қостанай", "Рудный", "Лисаковск"), ("Затобол", "Әулиекөл")),
    Region("kyzylorda", 10, 0.8, ("Қызылорда", "Арал"), ("Жалағаш", "Шиелі")),
    Region("mangystau", 13, 0.8, ("Ақтау", "Жаңаөзен"), ("Бейнеу", "Шетпе")),
    Region("pavlodar", 14, 0.75, ("Павлодар", "Екібастұз", "Ақсу"), ("Ертіс", "Баянауыл")),
    Region("north_kazakhstan", 15, 0.5, ("Петропавл", "Тайынша"), ("Бишкөл", "Сергеевка")),
    Region("turkistan", 19, 2.1, ("Түркістан", "Кентау", "Сарыағаш"), ("Шәуілдір", "Ленгер")),
    Region(
        "east_kazakhstan", 16, 0.7, ("Өскемен", "Риддер", "Зайсан"), ("Үлкен Нарын", "Катонқарағай")
    ),
)
CITY_STREETS: Final = (
    "Абай даңғылы",
    "Достық даңғылы",
    "Тәуелсіздік даңғылы",
    "Республика даңғылы",
    "Әл-Фараби даңғылы",
    "Сәтбаев көшесі",
    "Қабанбай батыр көшесі",
    "Бейбітшілік көшесі",
    "Жібек жолы көшесі",
    "Төле би көшесі",
    "Қонаев көшесі",
    "Байтұрсынұлы көшесі",
    "Желтоқсан көшесі",
    "Әуезов көшесі",
    "Жамбыл көшесі",
    "Сейфуллин көшесі",
    "Мұқанов көшесі",
    "Бөкейхан көшесі",
    "Гагарин көшесі",
    "Пушкин көшесі",
    "Маншүк Мәметова көшесі",
)
VILLAGE_STREETS: Final = (
    "Орталық көшесі",
    "Мектеп көшесі",
    "Бейбітшілік көшесі",
    "Жастар көшесі",
    "Абай көшесі",
    "Жеңіс көшесі",
    "Амангелді көшесі",
    "Тың көшесі",
    "Бірлік көшесі",
    "Достық көшесі",
)
BIRTHPLACES_ABROAD: Final = (("RUS", "Омбы"), ("RUS", "Новосібір"), ("UZB", "Ташкент"))

# --- organisations -------------------------------------------------------------------------

COMPANY_WORDS: Final = (
    "Алтын Дала",
    "Көктем",
    "Береке",
    "Жұлдыз",
    "Самұрық",
    "Тұлпар",
    "Ақ Жол",
    "Сарыарқа",
    "Шаңырақ",
    "Нұр",
    "Жетісу",
    "Бәйтерек",
    "Арай",
    "Ақ Орда",
    "Қазына",
    "Дала",
    "Ордабасы",
    "Атамекен",
    "Ұлан",
    "Кербез",
)
COMPANY_TRADES: Final = (
    ("Құрылыс", "Строй", ("41.20.0", "43.21.0", "43.99.0")),
    ("Агро", "Агро", ("01.11.0", "01.41.0", "46.21.0")),
    ("Сауда", "Трейд", ("46.90.0", "47.19.0", "47.11.0")),
    ("Сервис", "Сервис", ("45.20.0", "96.02.0", "81.21.0")),
    ("Логистика", "Логистик", ("49.41.0", "52.10.0")),
    ("IT", "IT", ("62.01.0", "62.02.0", "63.11.0")),
    ("Тамақ", "Фуд", ("56.10.0", "10.71.0")),
    ("Білім", "Образование", ("85.59.0", "85.51.0")),
    ("Медицина", "Медицина", ("86.23.0", "86.90.0")),
    ("Консалтинг", "Консалтинг", ("69.20.0", "70.22.0")),
)
FARM_CODES: Final = ("01.11.0", "01.41.0", "01.45.0", "01.13.0")
BANK_NAMES: Final = (
    "Алтын Қазына Банк",
    "Сарыарқа Банк",
    "Дала Банк",
    "Тұран Капитал Банк",
    "Жетісу Халық Банкі",
)
BAILIFFS: Final = "Сот орындаушылары департаменті"


# --- dates ---------------------------------------------------------------------------------


def years_between(born: date, on: date) -> int:
    """Full years from ``born`` to ``on`` (an age)."""
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February in a year that has none
        return day.replace(year=day.year + years, day=28)


def fraction_text(share: Fraction) -> str:
    return f"{share.numerator}/{share.denominator}"


# --- the synthesiser -----------------------------------------------------------------------


@dataclass
class Person:
    """A person being made, with what their relatives and homes need to know about them."""

    iin: str
    sex: Sex
    born: date
    first_name: str
    last_name: str
    data: dict[str, Any] = field(repr=False)
    died: date | None = None

    @property
    def alive(self) -> bool:
        return self.died is None

    def age(self, on: date = AS_OF) -> int:
        return years_between(self.born, on)


@dataclass(frozen=True)
class Home:
    region: Region
    locality: str
    urban: bool
    address: dict[str, Any]


@dataclass(frozen=True)
class Organisation:
    bin: str
    name: str
    registered: date


@dataclass
class Household:
    home: Home
    russian: bool
    members: list[Person] = field(default_factory=list)

    def living_adults(self, on: date = AS_OF) -> list[Person]:
        return [p for p in self.members if p.alive and p.age(on) >= 18]


class Synthesiser:
    """Makes households one after another; all randomness comes from the seed."""

    def __init__(self, seed: int = 1) -> None:
        self.seed = seed
        self.rng = random.Random(seed)
        # Serial blocks chosen by the seed keep the keys of different seeds apart.
        self._iin_base = (seed % 40) * 250
        self._bin_base = (seed % 20) * 5000
        self._cadastre_district = 100 + (seed % 900)
        self._iin_serials: dict[tuple[date, str], int] = {}
        self._bin_serials: dict[tuple[int, int, int], int] = {}
        self._plots: dict[int, int] = {}
        self._documents = (seed % 100) * 1_000_000
        self._adults: deque[Person] = deque(maxlen=4000)  # recent living adults
        self._companies: deque[Organisation] = deque(maxlen=500)
        self._banks: list[Organisation] = []
        self._region_weights = [r.weight for r in REGIONS]

    # identifiers

    def _iin(self, born: date, sex: Sex) -> str:
        key = (born, sex)
        serial = self._iin_serials.get(key, self._iin_base)
        try:
            iin = make_iin(born, sex, serial % 10_000)
        except ValueError:  # the serials above this one are used up or cannot be issued
            iin = make_iin(born, sex, 0)
        self._iin_serials[key] = int(iin[7:11]) + 1
        return iin

    def _bin(self, registered: date, attribute: EntityAttribute) -> str:
        key = (registered.year % 100, registered.month, int(attribute))
        serial = self._bin_serials.get(key, self._bin_base)
        try:
            value = make_bin(
                registered.year, registered.month, EntityKind.RESIDENT, attribute, serial % 100_000
            )
        except ValueError:
            value = make_bin(registered.year, registered.month, EntityKind.RESIDENT, attribute, 0)
        self._bin_serials[key] = int(value[6:11]) + 1
        return value

    def _document_number(self) -> str:
        self._documents += 1
        return f"{self._documents % 1_000_000_000:09d}"

    def _cadastral_plot(self, region: Region) -> str:
        """A new land plot: region, district, quarter and plot numbers."""
        n = self._plots.get(region.cadastre, 0)
        self._plots[region.cadastre] = n + 1
        district = (self._cadastre_district + n // 1_000_000) % 1000
        quarter, plot = (n // 1000) % 1000, n % 1000
        return f"{region.cadastre:02d}:{district:03d}:{quarter:03d}:{plot:03d}"

    # random pieces

    def _day_between(self, first: date, last: date) -> date:
        if last <= first:
            return first
        return first + timedelta(days=self.rng.randint(0, (last - first).days))

    def _born_aged(self, age: int) -> date:
        """A birth date of someone who is ``age`` years old on AS_OF."""
        latest = add_years(AS_OF, -age) - timedelta(days=1)
        return self._day_between(add_years(AS_OF, -age - 1) + timedelta(days=1), latest)

    def _home(self) -> Home:
        region = self.rng.choices(REGIONS, weights=self._region_weights)[0]
        urban = not region.villages or self.rng.random() < 0.6
        locality = self.rng.choice(region.cities if urban else region.villages)
        address: dict[str, Any] = {
            "region": region.code,
            "locality": locality,
            "street": self.rng.choice(CITY_STREETS if urban else VILLAGE_STREETS),
            "building": str(self.rng.randint(1, 150 if urban else 90)),
        }
        if urban and self.rng.random() < 0.8:
            address["flat"] = str(self.rng.randint(1, 180))
        return Home(region, locality, urban, address)

    def _birth_place(self, home: Home, russian: bool, born: date) -> dict[str, Any]:
        if russian and born.year < 1975 and self.rng.random() < 0.3:
            country, locality = self.rng.choice(BIRTHPLACES_ABROAD)
            return {"country": country, "locality": locality}
        region = home.region if self.rng.random() < 0.7 else self.rng.choice(REGIONS)
        return {
            "country": "KAZ",
            "region": region.code,
            "locality": self.rng.choice(region.cities + region.villages),
        }

    def _first_name(self, sex: Sex, russian: bool) -> str:
        if russian:
            return self.rng.choice(RUSSIAN_MALE if sex == "M" else RUSSIAN_FEMALE)
        return self.rng.choice(KAZAKH_MALE if sex == "M" else KAZAKH_FEMALE)

    def _surname(self, russian: bool) -> str:
        return self.rng.choice(RUSSIAN_SURNAMES if russian else KAZAKH_SURNAMES)

    # people

    def _person(
        self,
        household: Household,
        *,
        sex: Sex,
        born: date,
        surname: str,
        father_name: str,
        russian_names: bool,
        russian_patronymic: bool,
        parents: Sequence[Person] = (),
        died: date | None = None,
    ) -> Person:
        first = self._first_name(sex, russian_names)
        last = surname if sex == "M" else female_surname(surname)
        iin = self._iin(born, sex)
        data: dict[str, Any] = {
            "iin": iin,
            "last_name": last,
            "first_name": first,
            "middle_name": patronymic(father_name, sex, russian_style=russian_patronymic),
            "birth_date": born.isoformat(),
            "birth_place": self._birth_place(household.home, household.russian, born),
            "sex": sex,
            "citizenship": "KAZ",
            "registered_address": dict(household.home.address),
            "registered_since": self._day_between(
                max(born, add_years(AS_OF, -30)), (died or AS_OF) - timedelta(days=1)
            ).isoformat(),
            "parents": [
                {"iin": p.iin, "relation": "father" if p.sex == "M" else "mother"} for p in parents
            ],
            "spouse_iin": None,
            "marital_status": "single",
            "date_of_death": died.isoformat() if died else None,
        }
        if died is None:
            data["identity_document"] = self._identity_document(born)
        person = Person(iin, sex, born, first, last, data, died)
        household.members.append(person)
        return person

    def _identity_document(self, born: date) -> dict[str, Any]:
        if years_between(born, AS_OF) < 16:
            return {
                "kind": "birth_certificate",
                "number": self._document_number(),
                "issued_on": self._day_between(born, born + timedelta(days=60)).isoformat(),
                "valid_until": None,
            }
        issued = self._day_between(max(add_years(born, 16), add_years(AS_OF, -10)), AS_OF)
        passport = self.rng.random() < 0.3
        number = self._document_number()
        return {
            "kind": "passport" if passport else "id_card",
            "number": ("N" + number[1:]) if passport else number,
            "issued_on": issued.isoformat(),
            "valid_until": add_years(issued, 10).isoformat(),
        }

    @staticmethod
    def _marry(a: Person, b: Person) -> None:
        """Marry two people; if one has died, the other is widowed (and married to no one)."""
        for person, other in ((a, b), (b, a)):
            widowed = person.alive and not other.alive
            person.data["marital_status"] = "widowed" if widowed else "married"
            person.data["spouse_iin"] = None if widowed else other.iin

    def _patronymic_style(self, russian: bool) -> bool:
        return russian or self.rng.random() < 0.3

    def household(self, room: int) -> Household:
        """One household of at most ``room`` people (at least one)."""
        russian = self.rng.random() < 0.2
        household = Household(self._home(), russian)
        roll = self.rng.random()
        if room >= 2 and roll < 0.6:
            self._family(household, room)
        elif room >= 2 and roll < 0.72:
            self._widowed(household)
        elif roll < 0.82:
            self._divorced(household, room)
        else:
            sex: Sex = self.rng.choice(("M", "F"))
            self._person(
                household,
                sex=sex,
                born=self._born_aged(int(self.rng.triangular(18, 60, 24))),
                surname=self._surname(russian),
                father_name=self._first_name("M", russian),
                russian_names=russian,
                russian_patronymic=self._patronymic_style(russian),
            )
        for person in household.living_adults():
            if 21 <= person.age() <= 70:
                self._adults.append(person)
        return household

    def _family(self, household: Household, room: int) -> None:
        russian = household.russian
        style = self._patronymic_style(russian)
        husband_age = int(self.rng.triangular(21, 85, 34))
        wife_age = max(19, husband_age - self.rng.randint(-3, 8))
        surname = self._surname(russian)
        grandparents: list[Person] = []
        if room >= 6 and husband_age <= 55 and self.rng.random() < 0.15:
            grandparents = self._grandparents(household, surname, husband_age)
        husband_born = self._born_aged(husband_age)
        husband = self._person(
            household,
            sex="M",
            born=husband_born,
            surname=surname,
            father_name=(
                grandparents[0].first_name if grandparents else self._first_name("M", russian)
            ),
            russian_names=russian,
            russian_patronymic=style,
            parents=grandparents,
        )
        wife = self._person(
            household,
            sex="F",
            born=self._born_aged(wife_age),
            surname=surname if self.rng.random() < 0.7 else self._surname(russian),
            father_name=self._first_name("M", russian),
            russian_names=russian,
            russian_patronymic=self._patronymic_style(russian),
        )
        self._marry(husband, wife)
        self._children(household, mother=wife, father=husband, room=room - len(household.members))

    def _grandparents(self, household: Household, surname: str, child_age: int) -> list[Person]:
        """The husband's late father and widowed mother, who lives with the family."""
        russian = household.russian
        grandma_age = min(95, child_age + self.rng.randint(22, 38))
        grandpa_age = grandma_age + self.rng.randint(0, 5)
        child_born_latest = add_years(AS_OF, -child_age)
        died = self._day_between(
            child_born_latest + timedelta(days=400), AS_OF - timedelta(days=30)
        )
        grandpa = self._person(
            household,
            sex="M",
            born=self._born_aged(grandpa_age),
            surname=surname,
            father_name=self._first_name("M", russian),
            russian_names=russian,
            russian_patronymic=self._patronymic_style(russian),
            died=died,
        )
        grandma = self._person(
            household,
            sex="F",
            born=self._born_aged(grandma_age),
            surname=surname,
            father_name=self._first_name("M", russian),
            russian_names=russian,
            russian_patronymic=self._patronymic_style(russian),
        )
        self._marry(grandpa, grandma)
        return [grandpa, grandma]

    def _children(
        self, household: Household, *, mother: Person, father: Person | None, room: int
    ) -> None:
        wanted = self.rng.choices((0, 1, 2, 3, 4), weights=(15, 25, 30, 20, 10))[0]
        style = self._patronymic_style(household.russian)
        surname = father.last_name if father else mother.last_name
        if father is None and surname.endswith("а") and female_surname(surname[:-1]) == surname:
            surname = surname[:-1]  # the masculine form, for sons
        father_name = father.first_name if father else self._first_name("M", household.russian)
        for _ in range(min(wanted, room)):
            mother_age = self.rng.randint(19, 44)
            born = self._day_between(
                add_years(mother.born, mother_age), add_years(mother.born, mother_age + 1)
            )
            too_old = years_between(born, AS_OF) > 24
            if born >= AS_OF or too_old:
                continue
            if father is not None and years_between(father.born, born) < 18:
                continue
            if mother.died and born >= mother.died:
                continue
            parents = [mother] if father is None else [father, mother]
            sex: Sex = self.rng.choice(("M", "F"))
            self._person(
                household,
                sex=sex,
                born=born,
                surname=surname,
                father_name=father_name,
                russian_names=household.russian,
                russian_patronymic=style,
                parents=parents,
            )

    def _widowed(self, household: Household) -> None:
        """A widow or widower, and the spouse who died."""
        russian = household.russian
        survivor_sex: Sex = "F" if self.rng.random() < 0.75 else "M"
        survivor_age = int(self.rng.triangular(45, 92, 72))
        surname = self._surname(russian)
        survivor = self._person(
            household,
            sex=survivor_sex,
            born=self._born_aged(survivor_age),
            surname=surname,
            father_name=self._first_name("M", russian),
            russian_names=russian,
            russian_patronymic=self._patronymic_style(russian),
        )
        late_age = max(42, survivor_age + self.rng.randint(-4, 6))
        late_born = self._born_aged(late_age)
        died = self._day_between(
            max(add_years(late_born, 40), add_years(AS_OF, -15)), AS_OF - timedelta(days=20)
        )
        late = self._person(
            household,
            sex="M" if survivor_sex == "F" else "F",
            born=late_born,
            surname=surname,
            father_name=self._first_name("M", russian),
            russian_names=russian,
            russian_patronymic=self._patronymic_style(russian),
            died=died,
        )
        self._marry(survivor, late)

    def _divorced(self, household: Household, room: int) -> None:
        """A divorced parent (most often the mother) and the children living with her."""
        russian = household.russian
        mother = self._person(
            household,
            sex="F",
            born=self._born_aged(int(self.rng.triangular(24, 60, 35))),
            surname=self._surname(russian),
            father_name=self._first_name("M", russian),
            russian_names=russian,
            russian_patronymic=self._patronymic_style(russian),
        )
        mother.data["marital_status"] = "divorced"
        self._children(household, mother=mother, father=None, room=room - 1)

    # property

    def properties(self, household: Household) -> list[dict[str, Any]]:
        """The household's home (and sometimes a garden plot), owned by its members."""
        adults = household.living_adults()
        if not adults or self.rng.random() < 0.25:
            return []
        made: list[dict[str, Any]] = []
        home = household.home
        flat = home.urban and "flat" in home.address
        owners = self._owners(household, adults, flat=flat)
        # Built before anyone acquired it.
        acquired = min(int(o["acquired_on"][:4]) for o in owners)
        if flat:
            plot = self._cadastral_plot(home.region)
            built = self.rng.randint(1960, max(1960, acquired))
            floors = self.rng.choice((5, 9, 12, 16)) if built < 2000 else self.rng.randint(5, 22)
            rooms = self.rng.randint(1, 4)
            made.append(
                {
                    "cadastral_number": f"{plot}:1/{home.address['flat']}",
                    "kind": "flat",
                    "address": dict(home.address),
                    "area_m2": round(18 + rooms * self.rng.uniform(14, 22), 1),
                    "purpose": "residential",
                    "rooms": rooms,
                    "floor": self.rng.randint(1, floors),
                    "floors": floors,
                    "year_built": built,
                    "owners": owners,
                }
            )
        else:
            plot = self._cadastral_plot(home.region)
            made.append(
                {
                    "cadastral_number": plot,
                    "kind": "land_plot",
                    "address": dict(home.address),
                    "area_m2": float(self.rng.randrange(400, 2500, 50)),
                    "purpose": "individual_housing",
                    "owners": [dict(o) for o in owners],
                }
            )
            made.append(
                {
                    "cadastral_number": f"{plot}:1",
                    "kind": "building",
                    "address": dict(home.address),
                    "area_m2": round(self.rng.uniform(55, 260), 1),
                    "purpose": "individual_housing",
                    "rooms": self.rng.randint(2, 7),
                    "floors": self.rng.choice((1, 1, 1, 2)),
                    "year_built": self.rng.randint(1955, max(1955, acquired)),
                    "owners": [dict(o) for o in owners],
                }
            )
        self._encumber(made[-1], owners)
        if self.rng.random() < 0.05:
            made.append(self._garden(household, adults))
        return made

    def _owners(
        self, household: Household, adults: list[Person], *, flat: bool
    ) -> list[dict[str, Any]]:
        for late in household.members:
            if late.died is None:
                continue
            # Heirs accept an inheritance six months after the death.
            inherited = late.died + timedelta(days=183)
            heirs = [a for a in adults if a.iin == late.data["spouse_iin"]]
            if heirs and inherited < AS_OF:
                return self._shared(heirs, "inheritance", inherited)
        privatised = self._day_between(date(1992, 6, 1), date(1998, 12, 31))
        if self.rng.random() < 0.2 and flat:
            # Flats were privatised to everyone registered in them, children too.
            sharing = [p for p in household.members if p.alive and p.born < privatised]
            if sharing:
                return self._shared(sharing, "privatisation", privatised)
        owners = adults[:2] if self.rng.random() < 0.6 else adults[:1]
        adult_since = max(add_years(p.born, 18) for p in owners)
        acquired = self._day_between(max(adult_since, date(1999, 1, 1)), AS_OF - timedelta(days=1))
        basis = self.rng.choice(("purchase", "purchase", "purchase", "gift", "construction"))
        return self._shared(owners, basis, acquired)

    def _shared(self, owners: list[Person], basis: str, acquired: date) -> list[dict[str, Any]]:
        if len(owners) == 2 and self.rng.random() < 0.2:
            first = Fraction(self.rng.randint(1, 9), 10)
            shares = [first, 1 - first]
        else:
            shares = [Fraction(1, len(owners))] * len(owners)
        return [
            {
                "iin": p.iin,
                "share": fraction_text(s),
                "acquisition_basis": basis,
                "acquired_on": acquired.isoformat(),
            }
            for p, s in zip(owners, shares, strict=True)
        ]

    def _encumber(self, item: dict[str, Any], owners: list[dict[str, Any]]) -> None:
        acquired = date.fromisoformat(owners[0]["acquired_on"])
        roll = self.rng.random()
        encumbrances: list[dict[str, Any]] = []
        if roll < 0.25 and self._banks and owners[0]["acquisition_basis"] == "purchase":
            until = add_years(acquired, self.rng.choice((10, 15, 20)))
            bank = self.rng.choice(self._banks)
            if until > AS_OF and bank.registered <= acquired:
                encumbrances.append(
                    {
                        "kind": "mortgage",
                        "holder": {"name": bank.name, "bin": bank.bin},
                        "registered_on": acquired.isoformat(),
                        "until": until.isoformat(),
                        "basis": f"Ипотекалық шарт № {self.rng.randint(1000, 99999)}",
                    }
                )
        elif roll < 0.28 and self._adults:
            tenant = self.rng.choice(self._adults)
            since = self._day_between(add_years(AS_OF, -2), AS_OF - timedelta(days=1))
            if tenant.iin not in {o.get("iin") for o in owners}:
                encumbrances.append(
                    {
                        "kind": "lease",
                        "holder": {
                            "name": f"{tenant.last_name} {tenant.first_name}",
                            "iin": tenant.iin,
                        },
                        "registered_on": since.isoformat(),
                        "until": add_years(since, 3).isoformat(),
                    }
                )
        elif roll < 0.29:
            encumbrances.append(
                {
                    "kind": "arrest",
                    "holder": {"name": BAILIFFS},
                    "registered_on": self._day_between(acquired, AS_OF).isoformat(),
                    "until": None,
                    "basis": f"Атқарушылық іс № {self.rng.randint(10000, 999999)}",
                }
            )
        if encumbrances:
            item["encumbrances"] = encumbrances

    def _garden(self, household: Household, adults: list[Person]) -> dict[str, Any]:
        owner = adults[0]
        region = household.home.region
        locality = self.rng.choice(region.villages or region.cities)
        acquired = self._day_between(
            max(add_years(owner.born, 18), date(1995, 1, 1)), AS_OF - timedelta(days=1)
        )
        return {
            "cadastral_number": self._cadastral_plot(region),
            "kind": "land_plot",
            "address": {
                "region": region.code,
                "locality": locality,
                "street": "«" + self.rng.choice(COMPANY_WORDS) + "» бағбандық серіктестігі",
                "building": str(self.rng.randint(1, 400)),
            },
            "area_m2": float(self.rng.randrange(400, 1200, 50)),
            "purpose": "garden",
            "owners": self._shared([owner], "purchase", acquired),
        }

    # companies

    def companies(self, household: Household) -> list[dict[str, Any]]:
        made: list[dict[str, Any]] = []
        if len(self._banks) < len(BANK_NAMES) and len(self._adults) >= 10:
            made.append(self._bank(BANK_NAMES[len(self._banks)]))
        founders = [a for a in household.living_adults() if 21 <= a.age() <= 70]
        if founders and self.rng.random() < 0.08:
            made.append(self._company(household, founders[0]))
        return made

    def _register_date(self, people: Sequence[Person], earliest: date) -> date:
        adult = max(add_years(p.born, 21) for p in people)
        return self._day_between(max(adult, earliest), AS_OF - timedelta(days=30))

    def _bank(self, name: str) -> dict[str, Any]:
        directors = self.rng.sample(list(self._adults), 2)
        registered = self._register_date(directors, date(1993, 1, 1))
        value = self._bin(registered, EntityAttribute.HEAD_OFFICE)
        self._banks.append(Organisation(value, f"«{name}» АҚ", registered))
        return {
            "bin": value,
            "name": {"kk": f"«{name}» АҚ", "ru": f"АО «{name}»", "en": f"{name} JSC"},
            "legal_form": "jsc",
            "registration_date": registered.isoformat(),
            "address": dict(directors[0].data["registered_address"]),
            "activity_codes": ["64.19.0"],
            "directors": [
                {"iin": directors[0].iin, "since": registered.isoformat(), "position": "chairman"},
                {"iin": directors[1].iin, "since": registered.isoformat(), "position": "director"},
            ],
            "founders": [],
            "charter_capital_kzt": float(self.rng.randint(10, 200) * 1_000_000_000),
            "status": "active",
            "liquidated_on": None,
        }

    def _company(self, household: Household, founder: Person) -> dict[str, Any]:
        farm = not household.home.urban and self.rng.random() < 0.5
        partners = [founder]
        if not farm and self.rng.random() < 0.35 and self._adults:
            partner = self.rng.choice(self._adults)
            if partner.iin != founder.iin and partner.alive:
                partners.append(partner)
        registered = self._register_date(partners, date(1995, 1, 1))
        attribute = EntityAttribute.PEASANT_FARM if farm else EntityAttribute.HEAD_OFFICE
        value = self._bin(registered, attribute)
        word = self.rng.choice(COMPANY_WORDS)
        if farm:
            name = {"kk": f"«{word}» шаруа қожалығы", "ru": f"Крестьянское хозяйство «{word}»"}
            codes = self.rng.sample(FARM_CODES, self.rng.randint(1, 2))
            legal_form, capital = "peasant_farm", 0.0
        else:
            kk_trade, ru_trade, trade_codes = self.rng.choice(COMPANY_TRADES)
            name = {"kk": f"«{word} {kk_trade}» ЖШС", "ru": f"ТОО «{word} {ru_trade}»"}
            codes = self.rng.sample(trade_codes, self.rng.randint(1, len(trade_codes)))
            legal_form, capital = "llp", float(self.rng.choice((100_000, 500_000, 1_000_000)))
        holders: list[dict[str, Any]] = [{"iin": p.iin} for p in partners]
        if not farm and self._companies and self.rng.random() < 0.1:
            parent = self.rng.choice(self._companies)  # a subsidiary of an older company
            if parent.registered < registered:
                holders.append({"bin": parent.bin})
        shares = [Fraction(1, len(holders))] * len(holders)
        if len(holders) == 2 and self.rng.random() < 0.5:
            first = Fraction(self.rng.randint(5, 9), 10)
            shares = [first, 1 - first]
        founders = [
            {**h, "share": fraction_text(s), "since": registered.isoformat()}
            for h, s in zip(holders, shares, strict=True)
        ]
        status = self.rng.choices(
            ("active", "liquidated", "in_liquidation", "suspended"), weights=(85, 8, 4, 3)
        )[0]
        liquidated = None
        if status == "liquidated" and registered + timedelta(days=365) < AS_OF:
            liquidated = self._day_between(registered + timedelta(days=365), AS_OF)
        elif status == "liquidated":
            status = "active"
        director = founder if self.rng.random() < 0.7 else self.rng.choice(partners)
        self._companies.append(Organisation(value, name["ru"], registered))
        return {
            "bin": value,
            "name": name,
            "legal_form": legal_form,
            "registration_date": registered.isoformat(),
            "address": dict(household.home.address),
            "activity_codes": codes,
            "directors": [
                {
                    "iin": director.iin,
                    "since": registered.isoformat(),
                    "position": "head" if farm else "director",
                }
            ],
            "founders": founders,
            "charter_capital_kzt": capital,
            "status": status,
            "liquidated_on": liquidated.isoformat() if liquidated else None,
        }

    # all of it

    def records(self, persons: int) -> Iterator[Record_]:
        """Every record, household by household: people first, then homes, then companies."""
        made = 0
        while made < persons:
            household = self.household(persons - made)
            made += len(household.members)
            for person in household.members:
                yield POPULATION, person.data
            for item in self.properties(household):
                yield REAL_ESTATE, item
            for company in self.companies(household):
                yield BUSINESS, company


def records(persons: int, seed: int = 1) -> Iterator[Record_]:
    """The records ``generate`` would write for ``persons`` people, without writing them."""
    return Synthesiser(seed).records(persons)


def _write(chunk: list[Record_], counts: dict[str, int], key_fields: dict[str, str]) -> None:
    by_register: dict[str, dict[str, dict[str, Any]]] = {}
    for code, data in chunk:
        key = data[key_fields[code]]
        fresh = by_register.setdefault(code, {})
        if key in fresh:
            counts["skipped"] += 1  # the synthesiser made the same key twice
            continue
        fresh[key] = data
    with transaction.atomic():
        for code, fresh in by_register.items():
            taken = Record.objects.filter(register__code=code, key__in=list(fresh)).values_list(
                "key", flat=True
            )
            for key in taken:
                del fresh[key]
                counts["skipped"] += 1
            if fresh:
                records_create_many(
                    register=code, items=list(fresh.values()), actor=None, agency=None, basis=BASIS
                )
                counts[code] += len(fresh)


def generate(persons: int, seed: int = 1, batch: int = 1000) -> dict[str, int]:
    """Write ``persons`` people with their homes and companies; return what was written.

    Records go through ``records_create_many`` (each with its version and ledger entry),
    ``batch`` of them per transaction. Keys already in a register are skipped and counted as such.
    """
    if persons < 0 or batch < 1:
        raise ValueError("persons must be >= 0 and batch >= 1")
    registers = registers_define_all()
    key_fields = {r.code: r.key_field for r in registers}
    counts = {POPULATION: 0, REAL_ESTATE: 0, BUSINESS: 0, "skipped": 0}
    chunk: list[Record_] = []
    for item in records(persons, seed):
        chunk.append(item)
        if len(chunk) >= batch:
            _write(chunk, counts, key_fields)
            chunk = []
    if chunk:
        _write(chunk, counts, key_fields)
    return counts
