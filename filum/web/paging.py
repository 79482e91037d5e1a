"""Keyset cursors in list URLs: one parser for every list, so a hand-edited cursor is
ignored instead of reaching the database out of range."""

from __future__ import annotations

import datetime

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
