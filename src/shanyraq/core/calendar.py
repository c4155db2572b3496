"""Working days, for deadlines that the law counts in working days.

The default calendar is Kazakhstan's (Labour Code; Law "On holidays"), with a five-day week:

* A public holiday is a day off. When one falls on a Saturday or Sunday, the next working day
  becomes a day off instead ("carried over"), one for each holiday so affected.
* Religious holidays, 7 January (Orthodox Christmas) and the first day of Kurban Ait, are days
  off too but are never carried over. ``kazakhstan_calendar(kurban_ait_day_off=False)`` keeps
  Kurban Ait as a holiday that is worked, for employers who need that view.
* Kurban Ait follows the lunar calendar; its date is set each year, so it is listed per year
  in ``KURBAN_AIT`` and must be added for years beyond the table.
* The government moves days off by decree, usually to bridge a single working day between a
  holiday and a weekend (a Saturday becomes a working day and a Friday a day off). Decrees
  cannot be derived from rules; pass them in as ``Transfers``.

The rules are modelled from 2013 (when 7 May became a holiday); earlier years are not.
"""

from __future__ import annotations

import bisect
import datetime
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from types import MappingProxyType
from typing import Final

from shanyraq.core.text import TranslatedText

__all__ = [
    "KAZAKHSTAN_HOLIDAYS",
    "KURBAN_AIT",
    "DatedHoliday",
    "FixedHoliday",
    "Holiday",
    "Transfers",
    "WorkingCalendar",
    "kazakhstan_calendar",
]

_DAY: Final = datetime.timedelta(days=1)
_SATURDAY, _SUNDAY = 5, 6


@dataclass(frozen=True, slots=True)
class FixedHoliday:
    """A holiday on a fixed day of the year, in force from ``first_year`` to ``last_year``."""

    name: TranslatedText
    month: int
    day: int
    first_year: int = datetime.MINYEAR
    last_year: int = datetime.MAXYEAR
    carried_over: bool = True
    """When it falls on a weekend, the next working day is a day off."""
    day_off: bool = True
    """False for a holiday that is celebrated but worked."""

    def date_in(self, year: int) -> datetime.date | None:
        if not self.first_year <= year <= self.last_year:
            return None
        return datetime.date(year, self.month, self.day)


@dataclass(frozen=True, slots=True)
class DatedHoliday:
    """A holiday whose date is fixed anew every year (a lunar-calendar holiday)."""

    name: TranslatedText
    dates: Mapping[int, datetime.date]
    carried_over: bool = False
    day_off: bool = True

    def date_in(self, year: int) -> datetime.date | None:
        return self.dates.get(year)


Holiday = FixedHoliday | DatedHoliday


@dataclass(frozen=True, slots=True)
class Transfers:
    """Days moved by government decree: extra days off, and weekend days made working days."""

    days_off: frozenset[datetime.date] = field(default_factory=frozenset)
    working_days: frozenset[datetime.date] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        both = self.days_off & self.working_days
        if both:
            raise ValueError(f"days both off and working: {sorted(both)}")

    @classmethod
    def from_mapping(cls, data: Mapping[str, Mapping[str, Iterable[str]]]) -> Transfers:
        """Read ``{"2023": {"days_off": ["2023-07-07"], "working_days": ["2023-07-01"]}}``.

        Each date must fall in the year it is listed under. Raises ``ValueError``.
        """
        days_off: set[datetime.date] = set()
        working_days: set[datetime.date] = set()
        for year_text, decree in data.items():
            year = int(year_text)
            unknown = set(decree) - {"days_off", "working_days"}
            if unknown:
                raise ValueError(f"{year}: unknown keys {sorted(unknown)}")
            for key, target in (("days_off", days_off), ("working_days", working_days)):
                for text in decree.get(key, ()):
                    day = datetime.date.fromisoformat(text)
                    if day.year != year:
                        raise ValueError(f"{day} is listed under {year}")
                    target.add(day)
        return cls(days_off=frozenset(days_off), working_days=frozenset(working_days))


def _text(kk: str, ru: str, en: str) -> TranslatedText:
    return TranslatedText(kk=kk, ru=ru, en=en)


_NEW_YEAR = _text("Жаңа жыл", "Новый год", "New Year")
_INDEPENDENCE = _text("Тәуелсіздік күні", "День Независимости", "Independence Day")

KAZAKHSTAN_HOLIDAYS: Final[tuple[FixedHoliday, ...]] = (
    FixedHoliday(_NEW_YEAR, 1, 1),
    FixedHoliday(_NEW_YEAR, 1, 2),
    FixedHoliday(
        _text("Православиелік Рождество", "Православное Рождество", "Orthodox Christmas"),
        1,
        7,
        carried_over=False,
    ),
    FixedHoliday(
        _text(
            "Халықаралық әйелдер күні",
            "Международный женский день",
            "International Women's Day",
        ),
        3,
        8,
    ),
    *(
        FixedHoliday(_text("Наурыз мейрамы", "Наурыз мейрамы", "Nauryz"), 3, day)
        for day in (21, 22, 23)
    ),
    FixedHoliday(
        _text(
            "Қазақстан халқының бірлігі мерекесі",
            "Праздник единства народа Казахстана",
            "Kazakhstan People's Unity Day",
        ),
        5,
        1,
    ),
    FixedHoliday(
        _text("Отан қорғаушы күні", "День защитника Отечества", "Defender of the Fatherland Day"),
        5,
        7,
        first_year=2013,
    ),
    FixedHoliday(_text("Жеңіс күні", "День Победы", "Victory Day"), 5, 9),
    FixedHoliday(_text("Астана күні", "День Столицы", "Capital Day"), 7, 6),
    FixedHoliday(
        _text("Конституция күні", "День Конституции", "Constitution Day"),
        8,
        30,
    ),
    FixedHoliday(
        _text("Республика күні", "День Республики", "Republic Day"),
        10,
        25,
        first_year=2022,
    ),
    FixedHoliday(
        _text("Тұңғыш Президент күні", "День Первого Президента", "First President's Day"),
        12,
        1,
        first_year=2012,
        last_year=2021,
    ),
    FixedHoliday(_INDEPENDENCE, 12, 16),
    FixedHoliday(_INDEPENDENCE, 12, 17, last_year=2021),
)

# First day of Kurban Ait as set for Kazakhstan each year. Add a year once it is announced;
# the Spiritual Administration's advance date (2026 here) can still move by a day.
KURBAN_AIT: Final[Mapping[int, datetime.date]] = MappingProxyType(
    {
        2015: datetime.date(2015, 9, 24),
        2016: datetime.date(2016, 9, 12),
        2017: datetime.date(2017, 9, 1),
        2018: datetime.date(2018, 8, 21),
        2019: datetime.date(2019, 8, 11),
        2020: datetime.date(2020, 7, 31),
        2021: datetime.date(2021, 7, 20),
        2022: datetime.date(2022, 7, 9),
        2023: datetime.date(2023, 6, 28),
        2024: datetime.date(2024, 6, 17),
        2025: datetime.date(2025, 6, 6),
        2026: datetime.date(2026, 5, 27),
    }
)

_KURBAN_AIT_NAME = _text("Құрбан айт", "Курбан айт", "Kurban Ait")


def _carried_over_name(name: TranslatedText) -> TranslatedText:
    return _text(
        f"{name.kk} (ауыстырылған демалыс күні)",
        f"{name.ru} (перенесённый выходной)",
        f"{name.en} (day off carried over)",
    )


_DECREE_NAME = _text(
    "Үкімет қаулысымен ауыстырылған демалыс күні",
    "Выходной, перенесённый постановлением Правительства",
    "Day off moved by government decree",
)


@dataclass(frozen=True, slots=True)
class _Year:
    working_days: tuple[datetime.date, ...]  # sorted
    working_set: frozenset[datetime.date]
    names: dict[datetime.date, TranslatedText]


class WorkingCalendar:
    """Which days are working days, and deadline arithmetic over them.

    Work is done per calendar year and cached, so lookups are a set/bisect away.
    """

    def __init__(
        self,
        holidays: Iterable[Holiday],
        *,
        transfers: Transfers | None = None,
        weekend: Collection[int] = (_SATURDAY, _SUNDAY),
    ) -> None:
        self._holidays: tuple[Holiday, ...] = tuple(holidays)
        self._transfers = transfers if transfers is not None else Transfers()
        self._weekend = frozenset(weekend)
        if not self._weekend <= set(range(7)) or len(self._weekend) == 7:
            raise ValueError("weekend must be some, but not all, of the weekdays 0-6")
        self._years: dict[int, _Year] = {}

    def _observed(self, year: int) -> list[tuple[datetime.date, Holiday]]:
        observed = []
        for holiday in self._holidays:
            day = holiday.date_in(year)
            if day is not None:
                observed.append((day, holiday))
        return observed

    def _days_off(
        self, years: Iterable[int]
    ) -> tuple[dict[datetime.date, TranslatedText], set[datetime.date]]:
        """Holidays of ``years`` (consecutive) with their carried-over days, by date."""
        observed = sorted(
            (item for year in years for item in self._observed(year)), key=lambda item: item[0]
        )
        names: dict[datetime.date, TranslatedText] = {}
        days_off: set[datetime.date] = set()
        for day, holiday in observed:
            names.setdefault(day, holiday.name)
            if holiday.day_off:
                days_off.add(day)
        # Walk in date order so that two holidays on one weekend take consecutive weekdays.
        for day, holiday in observed:
            if not (holiday.day_off and holiday.carried_over and day.weekday() in self._weekend):
                continue
            substitute = day + _DAY
            while substitute.weekday() in self._weekend or substitute in days_off:
                substitute += _DAY
            days_off.add(substitute)
            names[substitute] = _carried_over_name(holiday.name)
        return names, days_off

    def _year(self, year: int) -> _Year:
        cached = self._years.get(year)
        if cached is not None:
            return cached
        # Last year's holidays can carry a day off into this year.
        span = range(max(year - 1, datetime.MINYEAR), year + 1)
        all_names, all_off = self._days_off(span)
        names = {day: name for day, name in all_names.items() if day.year == year}
        for day in self._transfers.days_off:
            if day.year == year:
                names.setdefault(day, _DECREE_NAME)
        off = {day for day in all_off if day.year == year} | {
            day for day in self._transfers.days_off if day.year == year
        }
        working = []
        day = datetime.date(year, 1, 1)
        while day.year == year:
            if day in self._transfers.working_days or (
                day.weekday() not in self._weekend and day not in off
            ):
                working.append(day)
            day += _DAY
        result = _Year(
            working_days=tuple(working),
            working_set=frozenset(working),
            names=dict(sorted(names.items())),
        )
        # A race only computes the same table twice; dict.setdefault keeps one.
        return self._years.setdefault(year, result)

    def is_working_day(self, day: datetime.date) -> bool:
        return day in self._year(day.year).working_set

    def holidays(self, year: int, lang: str | None = None) -> dict[datetime.date, str]:
        """Holidays of ``year`` by date, with carried-over and decreed days off, named in
        ``lang`` (Django's active language when None). Ordinary weekends are not listed;
        a holiday on a weekend is.
        """
        return {day: name.get(lang) for day, name in self._year(year).names.items()}

    def add_working_days(self, start: datetime.date, n: int) -> datetime.date:
        """The date ``n`` working days after ``start`` (before it, for negative ``n``).

        ``start`` itself is not counted, whether or not it is a working day: a 3-working-day
        deadline from Friday 5 January 2024 ends on Wednesday 10 January. ``n == 0`` gives
        ``start``.
        """
        if n == 0:
            return start
        year = start.year
        working = self._year(year).working_days
        if n > 0:
            target = bisect.bisect_right(working, start) + n - 1
            while target >= len(working):
                target -= len(working)
                year += 1
                working = self._year(year).working_days
        else:
            target = bisect.bisect_left(working, start) + n
            while target < 0:
                year -= 1
                working = self._year(year).working_days
                target += len(working)
        return working[target]

    def working_days_between(self, a: datetime.date, b: datetime.date) -> int:
        """Working days after ``a`` up to and including ``b``; negative when ``b`` < ``a``.

        The inverse of ``add_working_days``: ``working_days_between(d, add_working_days(d, n))``
        is ``n`` for ``n >= 0``, and for ``n < 0`` when ``d`` is a working day.
        """
        if b < a:
            return -self.working_days_between(b, a)
        total = sum(len(self._year(year).working_days) for year in range(a.year, b.year))
        return (
            total
            + bisect.bisect_right(self._year(b.year).working_days, b)
            - bisect.bisect_right(self._year(a.year).working_days, a)
        )


@cache
def kazakhstan_calendar(
    transfers: Transfers | None = None, *, kurban_ait_day_off: bool = True
) -> WorkingCalendar:
    """Kazakhstan's calendar, shared per set of arguments.

    ``kurban_ait_day_off=False`` keeps Kurban Ait listed as a holiday but makes it a working day.
    """
    kurban_ait = DatedHoliday(_KURBAN_AIT_NAME, KURBAN_AIT, day_off=kurban_ait_day_off)
    return WorkingCalendar((*KAZAKHSTAN_HOLIDAYS, kurban_ait), transfers=transfers)
