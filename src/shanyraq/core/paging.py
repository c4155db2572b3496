"""Pages of long lists: links near the current page only, and counts that stop early.

A busy queue or the platform's access log runs to thousands of pages. A link to each would
make the page huge and its list of links useless to a screen reader, so only the pages near
the current one are linked (previous and next cover the rest). Counting every matching row of
a million-row table costs more than showing a page of it, so a paginator may be told to stop
counting at ``count_limit``: the list then says "more than N" and the pages end there, which
is where a person filters instead of paging.
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, Any

from django.core.paginator import Page, Paginator

__all__ = ["NearbyPages"]

if TYPE_CHECKING:
    _Paginator = Paginator[Any]
else:
    _Paginator = Paginator  # generic only to the type checker


class NearbyPages(_Paginator):
    """A paginator linking ``links_each_side`` pages around the current one."""

    current = 1

    def __init__(
        self,
        object_list: Any,
        per_page: int,
        *,
        links_each_side: int = 3,
        count_limit: int | None = None,
    ) -> None:
        super().__init__(object_list, per_page)
        self.links_each_side = links_each_side
        self.count_limit = count_limit

    @cached_property
    def _counted(self) -> tuple[int, bool]:
        if self.count_limit is None:
            return int(super().count), False
        found = int(self.object_list[: self.count_limit + 1].count())  # type: ignore[attr-defined]
        return min(found, self.count_limit), found > self.count_limit

    @property
    def count(self) -> int:
        """The number of items, at most ``count_limit`` (see ``capped``)."""
        return self._counted[0]

    @property
    def capped(self) -> bool:
        """Whether there are more items than ``count`` (counting stopped at the limit)."""
        return self._counted[1]

    def page(self, number: int | str) -> Page[Any]:
        self.current = self.validate_number(number)
        return super().page(self.current)

    @property
    def page_range(self) -> range:
        first = max(1, self.current - self.links_each_side)
        last = min(self.num_pages, self.current + self.links_each_side)
        return range(first, last + 1)
