"""Keyset cursors in list URLs: one parser for every list, so a hand-edited cursor is
ignored instead of reaching the database out of range."""

from __future__ import annotations

import datetime
import itertools
from collections.abc import Callable, Hashable, Iterable
from typing import Any, TypeVar

T = TypeVar("T")

BIGINT_MAX = 2**63 - 1


def parse_date_cursor(value: str) -> tuple[datetime.date, int] | None:
    """``"YYYY-MM-DD_N"`` as (date, N); None for anything else, N within PostgreSQL's bigint."""
    try:
        day, number = value.split("_", 1)
        parsed = datetime.date.fromisoformat(day), int(number)
    except ValueError:
        return None
    if not 0 <= parsed[1] <= BIGINT_MAX:
        return None
    return parsed


def merge_newest_first(
    sources: Iterable[Iterable[T]],
    *,
    key: Callable[[T], Any],
    ident: Callable[[T], Hashable],
    size: int,
) -> tuple[list[T], T | None]:
    """One keyset page over several sources, each already ordered newest first by ``key``
    and limited to ``size + 1`` rows: the rows merged by ``key`` (descending), a row found in
    two sources taken once from the first, and the page's last row if another page follows
    (its key is the next cursor). The union's first ``size + 1`` rows are always among the
    sources' first ``size + 1``, so no row is skipped or repeated across pages."""
    seen: set[Hashable] = set()
    rows: list[T] = []
    for row in sorted(itertools.chain.from_iterable(sources), key=key, reverse=True):
        if ident(row) not in seen:
            seen.add(ident(row))
            rows.append(row)
    if len(rows) > size:
        return rows[:size], rows[size - 1]
    return rows, None
