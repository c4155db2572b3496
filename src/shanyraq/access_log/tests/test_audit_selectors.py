"""The auditors' reads of the data tracker: every filter, the order, the pages, the export."""

from __future__ import annotations

import datetime
import uuid
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from shanyraq.access_log import selectors
from shanyraq.access_log.models import AccessAction, AccessRecord
from shanyraq.access_log.selectors import AccessFilter
from shanyraq.accounts.models import Role
from shanyraq.testing import factories

pytestmark = pytest.mark.django_db

ALMATY = ZoneInfo("Asia/Almaty")
PERSON, OTHER = "900101400011", "900101400022"


def at(day: int, hour: int = 12, minute: int = 0) -> datetime.datetime:
    """An instant in March 2026, in the platform's time zone."""
    return datetime.datetime(2026, 3, day, hour, minute, tzinfo=ALMATY)


def access(agency, actor=None, *, when=None, iin=PERSON, register="population", **extra):
    values = {
        "actor": actor,
        "actor_name": actor.username if actor else "Tax information system",
        "agency": agency,
        "subject_iin": iin,
        "register": register,
        "record": uuid.uuid4(),
        "action": AccessAction.READ,
        "fields": ["iin"],
        "purpose": "Pension calculation",
        "legal_basis": "Social code, art. 12",
        "created_at": when or at(10),
        **extra,
    }
    return AccessRecord.objects.create(**values)


def found(filters: AccessFilter) -> list[AccessRecord]:
    return list(selectors.accesses_search(filters, page=1, page_size=100))


@pytest.fixture
def log(agency, other_agency, clerk):
    """Five accesses that differ in one thing each from the first."""
    return {
        "base": access(agency, clerk, when=at(10)),
        "person": access(agency, clerk, when=at(10, 13), iin=OTHER),
        "agency": access(other_agency, clerk, when=at(10, 14)),
        "official": access(agency, None, when=at(10, 15)),
        "register": access(agency, clerk, when=at(10, 16), register="real_estate"),
        "purpose": access(agency, clerk, when=at(10, 17), purpose="Tax CHECK of income"),
    }


def test_no_filter_finds_every_access_newest_first(log):
    assert found(AccessFilter()) == [
        log[k] for k in ["purpose", "register", "official", "agency", "person", "base"]
    ]


def test_the_same_instant_is_ordered_by_the_newest_row(agency, clerk):
    first, second = access(agency, clerk), access(agency, clerk)
    assert found(AccessFilter()) == [second, first]


EVERY = {"base", "person", "agency", "official", "register", "purpose"}


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        (AccessFilter(subject_iin=PERSON), EVERY - {"person"}),
        (AccessFilter(subject_iin=OTHER), {"person"}),
        (AccessFilter(subject_iin="000000000000"), set()),
        (AccessFilter(agency="justice"), EVERY - {"agency"}),
        (AccessFilter(agency="health"), {"agency"}),
        (AccessFilter(agency="nowhere"), set()),
        (AccessFilter(official="Tax information system"), set()),  # systems have no username
        (AccessFilter(register="population"), EVERY - {"register"}),
        (AccessFilter(register="real_estate"), {"register"}),
        (AccessFilter(purpose="tax check"), {"purpose"}),
        (AccessFilter(purpose="PENSION"), EVERY - {"purpose"}),
    ],
)
def test_each_filter_narrows_to_exactly_what_it_names(log, filters, expected):
    assert {name for name, row in log.items() if row in found(filters)} == expected


def test_the_official_is_found_by_username(log, clerk):
    assert set(found(AccessFilter(official=clerk.username))) == set(log.values()) - {
        log["official"]
    }
    assert found(AccessFilter(official=clerk.username.upper())) == []


def test_filters_combine(log, clerk):
    filters = AccessFilter(subject_iin=PERSON, agency="justice", register="population")
    assert found(filters) == [log["purpose"], log["official"], log["base"]]
    assert found(AccessFilter(subject_iin=OTHER, agency="health")) == []


def test_dates_are_whole_days_in_the_platforms_time_zone(agency):
    before = access(agency, when=at(9, 23, 59))
    first = access(agency, when=at(10, 0, 0))
    last = access(agency, when=at(11, 23, 59))
    after = access(agency, when=at(12, 0, 0))
    day = datetime.date(2026, 3, 10)
    next_day = datetime.date(2026, 3, 11)
    assert found(AccessFilter(date_from=day, date_to=next_day)) == [last, first]
    assert found(AccessFilter(date_from=next_day)) == [after, last]
    assert found(AccessFilter(date_to=day)) == [first, before]
    assert found(AccessFilter(date_from=day, date_to=day)) == [first]
    assert found(AccessFilter(date_from=next_day, date_to=day)) == []


def test_a_page_is_read_in_two_queries_with_agency_and_official(agency, clerk):
    for hour in range(7):
        access(agency, clerk, when=at(10, hour))
    with CaptureQueriesContext(connection) as queries:
        page = selectors.accesses_search(AccessFilter(), page=2, page_size=3)
        shown = [(a.agency.code, a.actor.username) for a in page]
    assert len(queries) == 2
    assert (page.paginator.count, page.paginator.num_pages, page.number) == (7, 3, 2)
    assert shown == [("justice", clerk.username)] * 3
    assert [a.created_at for a in page] == [at(10, 3), at(10, 2), at(10, 1)]


def test_unusable_page_numbers_give_the_first_or_the_last_page(agency):
    for hour in range(5):
        access(agency, when=at(10, hour))
    assert selectors.accesses_search(AccessFilter(), page="x", page_size=2).number == 1
    assert selectors.accesses_search(AccessFilter(), page=None, page_size=2).number == 1
    assert selectors.accesses_search(AccessFilter(), page=99, page_size=2).number == 3
    assert selectors.accesses_search(AccessFilter(), page=-1, page_size=2).number == 3
    empty = selectors.accesses_search(AccessFilter(subject_iin=OTHER))
    assert (empty.paginator.count, empty.number, list(empty)) == (0, 1, [])


def test_page_links_are_only_for_the_pages_nearby(agency):
    AccessRecord.objects.bulk_create(
        AccessRecord(
            agency=agency,
            subject_iin=PERSON,
            register="population",
            record=uuid.uuid4(),
            action=AccessAction.READ,
            purpose="p",
            legal_basis="b",
        )
        for _ in range(40)
    )
    first = selectors.accesses_search(AccessFilter(), page=1, page_size=2)
    assert first.paginator.page_range == range(1, 6)
    middle = selectors.accesses_search(AccessFilter(), page=10, page_size=2)
    assert middle.paginator.page_range == range(6, 15)
    last = selectors.accesses_search(AccessFilter(), page=20, page_size=2)
    assert last.paginator.page_range == range(16, 21)
    assert selectors.accesses_search(AccessFilter(), page_size=1000).paginator.per_page == 100


def test_the_export_is_the_newest_rows_up_to_the_limit(log, clerk):
    rows = list(selectors.accesses_export(AccessFilter(), limit=4))
    assert rows == [log[k] for k in ["purpose", "register", "official", "agency"]]
    everything = list(selectors.accesses_export(AccessFilter()))
    assert len(everything) == len(log)
    narrowed = list(selectors.accesses_export(AccessFilter(agency="health")))
    assert narrowed == [log["agency"]]
    assert list(selectors.accesses_export(AccessFilter(), limit=0)) == []
    assert selectors.MAX_EXPORT_ROWS == 50_000


def test_the_export_loads_agency_and_official_with_the_rows(agency, clerk):
    official = factories.member(agency, Role.CLERK)
    for hour in range(5):
        access(agency, official if hour % 2 else clerk, when=at(10, hour))
    with CaptureQueriesContext(connection) as queries:
        names = [
            (a.agency.code, a.actor.username) for a in selectors.accesses_export(AccessFilter())
        ]
    assert len(queries) == 1
    assert len(names) == 5


def test_purpose_words_in_other_alphabets(agency):
    """PostgreSQL folds the case of every alphabet; SQLite's LIKE only that of Latin letters."""
    row = access(agency, purpose="Проверка доходов")
    assert found(AccessFilter(purpose="доход")) == [row]
    expected = [row] if connection.vendor == "postgresql" else []
    assert found(AccessFilter(purpose="ПРОВЕРКА")) == expected
