"""``people_reaching_age``: who turns 18 or 65 today, for the platform's daily task."""

from __future__ import annotations

import datetime
import itertools

import pytest

from shanyraq.access_log.models import AccessRecord
from shanyraq.core.national_id import make_iin
from shanyraq.registries import selectors, services
from shanyraq.registries.definitions import registers_define_all
from shanyraq.registries.tests.records import person

pytestmark = pytest.mark.django_db

_serials = itertools.count(500)


def born(day: str, **overrides) -> str:
    """Load a person born on ``day``; their IIN."""
    iin = make_iin(datetime.date.fromisoformat(day), "F", next(_serials))
    services.records_create_many(
        register="population",
        items=[person(iin, birth_date=day, **overrides)],
        actor=None,
        agency=None,
        basis="test",
    )
    return iin


@pytest.fixture
def population():
    registers_define_all()


def test_people_turning_the_ages_asked_for_today(population):
    adult = born("2007-03-15")
    pensioner = born("1960-03-15")
    born("2007-03-16")  # a day too young
    born("2000-03-15")  # turns 25: not asked for
    born("1960-03-15", date_of_death="2024-11-02")
    living_with_a_null_death = born("1960-03-15", date_of_death=None)
    closed = born("2007-03-15")
    services.record_delete(
        register="population",
        key=closed,
        expected_version=1,
        actor=None,
        agency=None,
        basis="duplicate",
    )
    found = selectors.people_reaching_age(datetime.date(2025, 3, 15), [65, 18])
    pensioners = sorted([(pensioner, 65), (living_with_a_null_death, 65)])
    assert found == [(adult, 18), *pensioners]


def test_29_february_birthdays_are_on_28_february_in_other_years(population):
    leapling = born("2008-02-29")
    same_year = born("2008-02-28")
    year_before = born("2007-02-28")
    march = born("2008-03-01")
    ages = [17, 18]
    seventeen = sorted([(leapling, 17), (same_year, 17)])
    assert selectors.people_reaching_age(datetime.date(2025, 2, 28), ages) == [
        *seventeen,
        (year_before, 18),
    ]
    assert selectors.people_reaching_age(datetime.date(2025, 3, 1), [17]) == [(march, 17)]
    # In a leap year the birthday is the day itself.
    assert selectors.people_reaching_age(datetime.date(2024, 2, 28), [16]) == [(same_year, 16)]
    assert selectors.people_reaching_age(datetime.date(2024, 2, 29), [16]) == [(leapling, 16)]


def test_the_index_finds_them_in_two_queries_and_no_access_is_recorded(
    population, django_assert_num_queries
):
    for _n in range(3):
        born("2007-03-15")
    with django_assert_num_queries(2):
        few = selectors.people_reaching_age(datetime.date(2025, 3, 15), [18])
    for _n in range(20):
        born("2007-03-15")
    with django_assert_num_queries(2):
        many = selectors.people_reaching_age(datetime.date(2025, 3, 15), [18])
    assert (len(few), len(many)) == (3, 23)
    assert AccessRecord.objects.count() == 0


def test_nothing_to_find(db):
    assert selectors.people_reaching_age(datetime.date(2025, 3, 15), [18]) == []
    registers_define_all()
    assert selectors.people_reaching_age(datetime.date(2025, 3, 15), []) == []
    with pytest.raises(ValueError):
        selectors.people_reaching_age(datetime.date(2025, 3, 15), [-1])
