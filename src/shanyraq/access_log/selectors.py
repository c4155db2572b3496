"""Reading the data tracker.

A person reads the accesses to their own data (``accesses_of``). Auditors read the accesses to
everyone's data, narrowed by person, agency, official, register, purpose and dates
(``accesses_search`` one page at a time, ``accesses_export`` for a file).
"""

from __future__ import annotations

import datetime
import math
from collections.abc import Iterator
from dataclasses import dataclass

from django.core.paginator import Page
from django.db.models import QuerySet
from django.utils import timezone

from shanyraq.core.paging import NearbyPages

from .models import AccessRecord

__all__ = [
    "AUDIT_PAGE_SIZE",
    "MAX_EXPORT_ROWS",
    "AccessFilter",
    "AccessPage",
    "accesses_export",
    "accesses_of",
    "accesses_search",
]

MAX_PAGE_SIZE = 100
AUDIT_PAGE_SIZE = 25
MAX_EXPORT_ROWS = 50_000
PAGE_LINKS_EACH_SIDE = 4


@dataclass(frozen=True)
class AccessPage:
    count: int
    page: int
    page_size: int
    items: list[AccessRecord]

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.count / self.page_size))

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def has_previous(self) -> bool:
        return 1 < self.page <= self.pages


def accesses_of(iin: str, *, page: int = 1, page_size: int = 20) -> AccessPage:
    """The reads of the data of the person with ``iin``, with each agency loaded (2 queries)."""
    page = max(1, page)
    page_size = min(max(1, page_size), MAX_PAGE_SIZE)
    if not iin:
        return AccessPage(count=0, page=page, page_size=page_size, items=[])
    records = AccessRecord.objects.filter(subject_iin=iin)
    count = records.count()
    start = (page - 1) * page_size
    items = list(
        records.select_related("agency").order_by("-created_at", "-id")[start : start + page_size]
    )
    return AccessPage(count=count, page=page, page_size=page_size, items=items)


@dataclass(frozen=True)
class AccessFilter:
    """What an auditor narrows the data tracker to; an empty value does not narrow.

    The values are taken as given (the IIN already checked, the dates in order): a filter that
    matches nothing simply finds nothing.
    """

    subject_iin: str = ""
    agency: str = ""  # the agency's code
    official: str = ""  # the official's username; agency systems have none
    register: str = ""
    purpose: str = ""  # words somewhere in the stated purpose, in any letter case
    date_from: datetime.date | None = None  # in the platform's time zone, included
    date_to: datetime.date | None = None  # included


def _start_of(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def _filtered(filters: AccessFilter) -> QuerySet[AccessRecord]:
    records = AccessRecord.objects.all()
    if filters.subject_iin:
        records = records.filter(subject_iin=filters.subject_iin)
    if filters.agency:
        records = records.filter(agency__code=filters.agency)
    if filters.official:
        records = records.filter(actor__username=filters.official)
    if filters.register:
        records = records.filter(register=filters.register)
    if filters.purpose:
        # Case-insensitive for every alphabet on PostgreSQL, for Latin letters only on SQLite.
        records = records.filter(purpose__icontains=filters.purpose)
    # Whole days in the platform's time zone, compared as instants so an index can serve them.
    if filters.date_from is not None:
        records = records.filter(created_at__gte=_start_of(filters.date_from))
    if filters.date_to is not None:
        next_day = filters.date_to + datetime.timedelta(days=1)
        records = records.filter(created_at__lt=_start_of(next_day))
    return records.select_related("agency", "actor").order_by("-created_at", "-id")


def accesses_search(
    filters: AccessFilter, *, page: int | str | None = 1, page_size: int = AUDIT_PAGE_SIZE
) -> Page[AccessRecord]:
    """One page of the accesses ``filters`` match, newest first, with each record's agency and
    official loaded (2 queries: the count and the page).

    A page number that is not a number gives the first page, one past the end the last.
    """
    page_size = min(max(1, page_size), MAX_PAGE_SIZE)
    return NearbyPages(
        _filtered(filters), page_size, links_each_side=PAGE_LINKS_EACH_SIDE
    ).get_page(page)


def accesses_export(
    filters: AccessFilter, *, limit: int = MAX_EXPORT_ROWS
) -> Iterator[AccessRecord]:
    """The newest ``limit`` accesses ``filters`` match, newest first, read in chunks so that a
    large export never sits in memory whole."""
    return _filtered(filters)[: max(0, limit)].iterator(chunk_size=2000)
