"""One way to page and sort the long lists of the pages (CompStat rows, near-repeat alert zones).

A page shows :data:`PAGE_ROWS` rows; ``?page=N`` (1-based, see :data:`PAGE`) picks one, a number past
the end shows the last page. The template macro ``pager`` of ``_pager.html`` draws "N rows · page i
of n" with previous and next links; downloads (CSV, JSON, GeoJSON, print) keep every row.

>>> page = page_of(list(range(120)), 3)
>>> (page.rows[0], len(page.rows), page.number, page.pages, page.total)
(100, 20, 3, 3, 120)
>>> page_of([], 5).number, page_of([], 5).pages
(1, 1)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Generic, TypeVar

from fastapi import Query

__all__ = ["PAGE", "PAGE_ROWS", "Page", "page_of"]

T = TypeVar("T")

#: Rows of a list per page.
PAGE_ROWS = 50

#: The ``page`` query parameter: 1 … 10,000.
PAGE = Annotated[int, Query(ge=1, le=10_000, description="Page of the list, from 1 (past the end: the last page).")]


@dataclass(frozen=True)
class Page(Generic[T]):
    """The rows of one page, its number (from 1), the number of pages and the rows in all."""

    rows: list[T]
    number: int
    pages: int
    total: int


def page_of(rows: Sequence[T], number: int, size: int = PAGE_ROWS) -> Page[T]:
    """Page ``number`` (from 1, clamped to the last page) of ``rows``, ``size`` rows a page."""
    pages = max(1, -(-len(rows) // size))
    number = min(max(number, 1), pages)
    return Page(list(rows[(number - 1) * size : number * size]), number, pages, len(rows))
