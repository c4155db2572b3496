"""Giving newborn people their IIN: the birth date, the sex and the next free serial.

An IIN is ``YYMMDD``, a digit for the century and sex, a 4-digit serial and a control digit
(``shanyraq.core.national_id``). For each birth date and sex an ``IinSerial`` row holds the next
serial to try. Allocating locks the rows it needs (in one order, so two registrations cannot
deadlock), skips serials that can never be issued and IINs that someone in the population
register already holds (people loaded or created with their IIN), and moves the rows past what
it gave out. The rows are locked until the caller's transaction ends: a registration that
fails gives its serials back with its rollback, and no two registrations get the same IIN.
"""

from __future__ import annotations

import datetime
from collections import Counter, defaultdict, deque
from collections.abc import Iterable, Sequence
from functools import reduce
from operator import or_
from typing import cast

from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from shanyraq.core.errors import Conflict
from shanyraq.core.national_id import Sex, make_iin

from .models import IinSerial, Record, Register

__all__ = ["iins_allocate"]

LAST_SERIAL = 9999
# Keys asked about in one query: far below every database's limit on parameters.
_LOOKUP_CHUNK = 2000

# A birth date and a sex ("M" or "F").
Birth = tuple[datetime.date, str]


def _taken(register: Register, iins: Sequence[str]) -> set[str]:
    """The IINs among ``iins`` that are keys in ``register`` (live or closed records)."""
    found: set[str] = set()
    for start in range(0, len(iins), _LOOKUP_CHUNK):
        chunk = iins[start : start + _LOOKUP_CHUNK]
        found.update(
            Record.objects.filter(register=register, key__in=chunk).values_list("key", flat=True)
        )
    return found


def _locked_rows(births: Iterable[Birth]) -> dict[Birth, IinSerial]:
    wanted = sorted(set(births))
    # Rows that do not exist yet are created first; a concurrent creator of the same row makes
    # this insert wait for its commit and then skip the row, which the lock below then waits for.
    IinSerial.objects.bulk_create(
        [IinSerial(birth_date=born, sex=sex) for born, sex in wanted], ignore_conflicts=True
    )
    rows: dict[Birth, IinSerial] = {}
    for start in range(0, len(wanted), _LOOKUP_CHUNK // 2):
        chunk = wanted[start : start + _LOOKUP_CHUNK // 2]
        match = reduce(or_, (Q(birth_date=born, sex=sex) for born, sex in chunk))
        locked = IinSerial.objects.select_for_update().filter(match)
        for row in locked.order_by("birth_date", "sex"):
            rows[(row.birth_date, row.sex)] = row
    return rows


def _exhausted() -> Conflict:
    return Conflict(
        code="iin_exhausted",
        message=_("No IIN is left for people born on this day."),
    )


def iins_allocate(*, register: Register, births: Sequence[Birth]) -> list[str]:
    """A new IIN for each ``(birth date, sex)`` of ``births``, in the same order.

    Runs in the caller's transaction (the serials are taken for good when it commits). Raises
    ``Conflict`` ("iin_exhausted") when the 10,000 serials of a birth date and sex run out, and
    ``ValueError`` for a sex other than M or F or a birth year an IIN cannot encode (before 1800
    or after 2099): the caller checks those first.
    """
    if not births:
        return []
    for born, sex in births:
        if sex not in ("M", "F") or not 1800 <= born.year <= 2099:
            raise ValueError(f"no IIN encodes a birth on {born} of sex {sex!r}")
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("IINs are allocated inside the transaction that uses them")
    rows = _locked_rows(births)
    needed = Counter(births)
    cursor = {birth: rows[birth].next_serial for birth in needed}
    given: dict[Birth, list[str]] = defaultdict(list)
    while needed:
        candidates: dict[str, Birth] = {}
        for birth, count in needed.items():
            born, sex = birth
            serial = cursor[birth]
            for _n in range(count):
                if serial > LAST_SERIAL:
                    raise _exhausted()
                try:
                    iin = make_iin(born, cast(Sex, sex), serial)
                except ValueError:  # no serial from here to the last can be issued
                    raise _exhausted() from None
                candidates[iin] = birth
                serial = int(iin[7:11]) + 1  # make_iin skips serials that cannot be issued
            cursor[birth] = serial
        taken = _taken(register, list(candidates))
        needed = Counter()
        for iin, birth in candidates.items():
            if iin in taken:
                needed[birth] += 1
            else:
                given[birth].append(iin)
    for birth, row in rows.items():
        row.next_serial = cursor.get(birth, row.next_serial)
    IinSerial.objects.bulk_update(list(rows.values()), ["next_serial"])
    queues = {birth: deque(iins) for birth, iins in given.items()}
    return [queues[birth].popleft() for birth in births]
