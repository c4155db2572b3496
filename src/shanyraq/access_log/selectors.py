"""Reading the data tracker: the accesses to one person's data, newest first."""

from __future__ import annotations

import math
from dataclasses import dataclass

from .models import AccessRecord

__all__ = ["AccessPage", "accesses_of"]

MAX_PAGE_SIZE = 100


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
