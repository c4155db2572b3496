import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shanyraq.core.calendar import (
    KURBAN_AIT,
    FixedHoliday,
    Transfers,
    WorkingCalendar,
    kazakhstan_calendar,
)
from shanyraq.core.text import TranslatedText

D = datetime.date


@pytest.fixture
def kz() -> WorkingCalendar:
    return kazakhstan_calendar()


def test_holidays_of_2024(kz: WorkingCalendar) -> None:
    assert kz.holidays(2024, "en") == {
        D(2024, 1, 1): "New Year",
        D(2024, 1, 2): "New Year",
        D(2024, 1, 7): "Orthodox Christmas",  # a Sunday, not carried over
        D(2024, 3, 8): "International Women's Day",
        D(2024, 3, 21): "Nauryz",
        D(2024, 3, 22): "Nauryz",
        D(2024, 3, 23): "Nauryz",  # a Saturday ...
        D(2024, 3, 25): "Nauryz (day off carried over)",  # ... so Monday is off
        D(2024, 5, 1): "Kazakhstan People's Unity Day",
        D(2024, 5, 7): "Defender of the Fatherland Day",
        D(2024, 5, 9): "Victory Day",
        D(2024, 6, 17): "Kurban Ait",
        D(2024, 7, 6): "Capital Day",
        D(2024, 7, 8): "Capital Day (day off carried over)",
        D(2024, 8, 30): "Constitution Day",
        D(2024, 10, 25): "Republic Day",
        D(2024, 12, 16): "Independence Day",
    }


def test_holiday_names_in_every_language(kz: WorkingCalendar) -> None:
    assert kz.holidays(2024, "kk")[D(2024, 5, 9)] == "Жеңіс күні"
    assert kz.holidays(2024, "ru")[D(2024, 5, 9)] == "День Победы"
    assert kz.holidays(2023, "ru")[D(2023, 12, 18)] == "День Независимости (перенесённый выходной)"


def test_2024_has_248_working_days_before_any_decree(kz: WorkingCalendar) -> None:
    # 262 weekdays less 14 weekday days off (12 holidays and 2 carried over).
    working = [
        D(2024, 1, 1) + datetime.timedelta(days=i)
        for i in range(366)
        if kz.is_working_day(D(2024, 1, 1) + datetime.timedelta(days=i))
    ]
    assert len(working) == 248
    assert kz.working_days_between(D(2023, 12, 31), D(2024, 12, 31)) == 248


@pytest.mark.parametrize(
    ("day", "working"),
    [
        (D(2024, 5, 1), False),  # Unity Day, a Wednesday
        (D(2024, 5, 2), True),
        (D(2024, 5, 4), False),  # an ordinary Saturday
        (D(2023, 12, 16), False),  # Independence Day on a Saturday ...
        (D(2023, 12, 18), False),  # ... carried over to Monday
        (D(2023, 12, 19), True),
        (D(2024, 1, 7), False),  # Christmas on a Sunday ...
        (D(2024, 1, 8), True),  # ... is not carried over
        (D(2022, 7, 9), False),  # Kurban Ait on a Saturday ...
        (D(2022, 7, 11), True),  # ... is not carried over either
        (D(2023, 6, 28), False),  # Kurban Ait on a Wednesday is a day off
        (D(2022, 1, 3), False),  # New Year on Saturday and Sunday: Monday ...
        (D(2022, 1, 4), False),  # ... and Tuesday off
        (D(2022, 1, 5), True),
        (D(2022, 5, 9), False),  # Victory Day, Monday
        (D(2022, 5, 10), False),  # Defender's Day (Saturday 7 May) carried past Victory Day
        (D(2025, 3, 24), False),  # Nauryz 22 and 23 March on a weekend
        (D(2025, 3, 25), False),
        (D(2025, 3, 26), True),
        (D(2017, 12, 18), False),  # 16-17 December on a weekend, before 2022
        (D(2017, 12, 19), False),
        (D(2021, 12, 17), False),  # 17 December was still a holiday in 2021 ...
        (D(2024, 12, 17), True),  # ... but not from 2022
        (D(2021, 10, 25), True),  # Republic Day only from 2022
        (D(2022, 10, 25), False),
        (D(2021, 12, 1), False),  # First President's Day, 2012-2021
        (D(2022, 12, 1), True),
        (D(2012, 5, 7), True),  # Defender's Day only from 2013
    ],
)
def test_is_working_day(kz: WorkingCalendar, day: datetime.date, working: bool) -> None:
    assert kz.is_working_day(day) is working


def test_kurban_ait_can_be_configured_as_a_working_holiday() -> None:
    calendar = kazakhstan_calendar(kurban_ait_day_off=False)

    assert calendar.is_working_day(D(2023, 6, 28)) is True
    assert calendar.holidays(2023, "en")[D(2023, 6, 28)] == "Kurban Ait"


def test_kurban_ait_is_only_known_for_listed_years(kz: WorkingCalendar) -> None:
    assert KURBAN_AIT[2026] == D(2026, 5, 27)
    assert "Kurban Ait" not in kz.holidays(2030, "en").values()


def test_default_calendar_is_shared() -> None:
    assert kazakhstan_calendar() is kazakhstan_calendar()


# -- deadlines ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "n", "deadline"),
    [
        (D(2024, 1, 5), 3, D(2024, 1, 10)),  # Fri; weekend with Christmas; Mon, Tue, Wed
        (D(2024, 1, 5), 1, D(2024, 1, 8)),
        (D(2023, 12, 29), 1, D(2024, 1, 3)),  # across New Year
        (D(2023, 12, 15), 1, D(2023, 12, 19)),  # across the carried-over Monday
        (D(2023, 12, 16), 1, D(2023, 12, 19)),  # starting on a day off
        (D(2024, 5, 6), 1, D(2024, 5, 8)),  # skips 7 May
        (D(2024, 5, 6), 3, D(2024, 5, 13)),  # skips 7 and 9 May and the weekend
        (D(2024, 5, 2), 0, D(2024, 5, 2)),
        (D(2024, 5, 4), 0, D(2024, 5, 4)),  # zero days: the start, working or not
        (D(2024, 1, 3), -1, D(2023, 12, 29)),  # counting backwards
        (D(2024, 1, 8), -2, D(2024, 1, 4)),
        (D(2024, 1, 1), 248, D(2024, 12, 31)),
        (D(2024, 1, 1), 249, D(2025, 1, 3)),
        (D(2024, 12, 31), -248, D(2023, 12, 29)),
    ],
)
def test_add_working_days(
    kz: WorkingCalendar, start: datetime.date, n: int, deadline: datetime.date
) -> None:
    assert kz.add_working_days(start, n) == deadline


def test_working_days_between(kz: WorkingCalendar) -> None:
    assert kz.working_days_between(D(2024, 1, 5), D(2024, 1, 10)) == 3
    assert kz.working_days_between(D(2024, 1, 10), D(2024, 1, 5)) == -3
    assert kz.working_days_between(D(2024, 5, 4), D(2024, 5, 4)) == 0
    assert kz.working_days_between(D(2024, 5, 3), D(2024, 5, 6)) == 1


dates = st.dates(min_value=D(2013, 1, 1), max_value=D(2030, 12, 31))


@given(start=dates, n=st.integers(-600, 600))
def test_add_and_between_are_inverse(start: datetime.date, n: int) -> None:
    calendar = kazakhstan_calendar()
    deadline = calendar.add_working_days(start, n)

    if n >= 0 or calendar.is_working_day(start):
        assert calendar.working_days_between(start, deadline) == n
    else:
        # Backwards from a day off, that day is not there to be counted.
        assert calendar.working_days_between(start, deadline) == n + 1
    if n != 0:
        assert calendar.is_working_day(deadline)
        assert (deadline > start) is (n > 0)


@given(a=dates, b=dates)
def test_between_counts_working_days_one_by_one(a: datetime.date, b: datetime.date) -> None:
    calendar = kazakhstan_calendar()
    low, high = min(a, b), max(a, b)
    days = (low + datetime.timedelta(days=i) for i in range(1, (high - low).days + 1))
    count = sum(1 for day in days if calendar.is_working_day(day))

    assert calendar.working_days_between(low, high) == count
    assert calendar.working_days_between(high, low) == -count


# -- decrees and custom calendars --------------------------------------------------------------


def test_decreed_transfers() -> None:
    # 2023: the day off of Saturday 1 July moved to Friday 7 July, next to Capital Day.
    transfers = Transfers.from_mapping(
        {"2023": {"days_off": ["2023-07-07"], "working_days": ["2023-07-01"]}}
    )
    calendar = kazakhstan_calendar(transfers)

    assert calendar.is_working_day(D(2023, 7, 1)) is True
    assert calendar.is_working_day(D(2023, 7, 7)) is False
    assert calendar.holidays(2023, "en")[D(2023, 7, 7)] == "Day off moved by government decree"
    assert D(2023, 7, 1) not in calendar.holidays(2023, "en")
    assert calendar.add_working_days(D(2023, 6, 30), 1) == D(2023, 7, 1)
    assert calendar.add_working_days(D(2023, 7, 5), 1) == D(2023, 7, 10)
    # The statutory calendar is untouched.
    assert kazakhstan_calendar().is_working_day(D(2023, 7, 7)) is True


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"2023": {"days_off": ["2024-01-05"]}}, "listed under 2023"),
        ({"2023": {"holidays": ["2023-01-05"]}}, "unknown keys"),
        ({"2023": {"days_off": ["2023-07-07"], "working_days": ["2023-07-07"]}}, "both"),
        ({"2023": {"days_off": ["7 July"]}}, "Invalid isoformat"),
    ],
)
def test_transfers_reject_bad_data(data: dict[str, dict[str, list[str]]], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Transfers.from_mapping(data)


def test_custom_calendar_with_friday_saturday_weekend() -> None:
    name = TranslatedText(kk="Мереке", ru="Праздник", en="Holiday")
    calendar = WorkingCalendar([FixedHoliday(name, 6, 14)], weekend=(4, 5))

    # 14 June 2024 is a Friday, a weekend day here, so Sunday 16 June is the day off.
    assert calendar.is_working_day(D(2024, 6, 16)) is False
    assert calendar.is_working_day(D(2024, 6, 17)) is True
    assert calendar.holidays(2024, "en") == {
        D(2024, 6, 14): "Holiday",
        D(2024, 6, 16): "Holiday (day off carried over)",
    }


def test_a_day_off_carried_into_the_next_year() -> None:
    name = TranslatedText(kk="Жыл соңы", ru="Конец года", en="Year end")
    calendar = WorkingCalendar([FixedHoliday(name, 12, 31)])

    # 31 December 2023 is a Sunday: Monday 1 January 2024 is the day off.
    assert calendar.is_working_day(D(2024, 1, 1)) is False
    assert calendar.holidays(2024, "en") == {
        D(2024, 1, 1): "Year end (day off carried over)",
        D(2024, 12, 31): "Year end",
    }


def test_weekend_must_leave_working_days() -> None:
    with pytest.raises(ValueError, match="weekend"):
        WorkingCalendar([], weekend=range(7))
    with pytest.raises(ValueError, match="weekend"):
        WorkingCalendar([], weekend=(7,))
