"""Keyset pages behind opaque cursors: the one paging of every API list (decision 0028).

A list names its order as keys (``Key("-date", DAY), Key("-pk", INT)``); the cursor is the
last row's key as URL-safe base64 of JSON, checked against those keys before the database
sees it (a 400 problem otherwise). ``keyset_page`` pages a queryset: the rows after the key,
``limit + 1`` of them, no OFFSET, in one query. Lists paged by a domain function of the pages
(``dossier_page``, ``transfer_page``...) use ``read_cursor`` and ``make_cursor`` around it.
"""

from __future__ import annotations

import base64
import datetime
import json
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from django.db.models import Model, QuerySet
from django.utils import timezone
from ninja import Schema
from pydantic import Field

from filum.api.problems import Problem

MAX_LIMIT = 100
DEFAULT_LIMIT = 25

M = TypeVar("M", bound=Model)


class Paging(Schema):
    cursor: str | None = None
    limit: int = Field(default=DEFAULT_LIMIT, ge=1, le=MAX_LIMIT)


def _aware(value: str) -> datetime.datetime:
    parsed = datetime.datetime.fromisoformat(value)
    if timezone.is_naive(parsed):
        raise ValueError("a cursor's time has its offset")
    return parsed


def _int(value: int) -> int:
    if not 0 <= value < 2**63:
        raise ValueError("out of range")
    return value


@dataclass(frozen=True)
class Kind:
    """How a key's value stands in the cursor's JSON (``json``) and reads back (``parse``)."""

    json: type
    parse: Callable[[Any], Any]


INT = Kind(int, _int)
TEXT = Kind(str, str)
DAY = Kind(str, datetime.date.fromisoformat)
UUID = Kind(str, uuid.UUID)
TIME = Kind(str, _aware)


@dataclass(frozen=True)
class Key:
    """One column of a list's order: its ``order_by`` term and the kind of its value."""

    term: str
    kind: Kind

    @property
    def field(self) -> str:
        return self.term.removeprefix("-")

    @property
    def descending(self) -> bool:
        return self.term.startswith("-")


def _invalid() -> Problem:
    return Problem(400, "The cursor is not one this list gave.", kind="invalid-cursor")


def make_cursor(values: Sequence[Any]) -> str:
    """An opaque cursor: the page's last key, as URL-safe base64 of JSON."""
    raw = json.dumps(list(values), separators=(",", ":"), default=str).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def read_cursor(cursor: str | None, keys: Sequence[Key]) -> tuple[Any, ...] | None:
    """The key a cursor made by ``make_cursor`` holds, as Python values of ``keys``' kinds;
    None without a cursor; a 400 problem for anything this list did not give."""
    if not cursor:
        return None
    try:
        raw = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except ValueError as exc:
        raise _invalid() from exc
    if not isinstance(raw, list) or len(raw) != len(keys):
        raise _invalid()
    values = []
    for value, key in zip(raw, keys, strict=True):
        if type(value) is not key.kind.json:
            raise _invalid()
        try:
            values.append(key.kind.parse(value))
        except ValueError as exc:
            raise _invalid() from exc
    return tuple(values)


def after(qs: QuerySet[M], keys: Sequence[Key], key: Sequence[Any]) -> QuerySet[M]:
    """The rows that come after ``key`` in the order of ``keys`` (one or two columns): a bound
    on the leading column that its index serves, ties excluded by the second."""
    first = keys[0]
    if len(keys) == 1:
        return qs.filter(**{f"{first.field}__{'lt' if first.descending else 'gt'}": key[0]})
    if len(keys) != 2:
        raise ValueError("a keyset of one or two columns")
    second = keys[1]
    qs = qs.filter(**{f"{first.field}__{'lte' if first.descending else 'gte'}": key[0]})
    tie = f"{second.field}__{'gte' if second.descending else 'lte'}"
    return qs.exclude(**{first.field: key[0], tie: key[1]})


def keyset_page(
    qs: QuerySet[M], *, keys: Sequence[Key], key: Sequence[Any] | None, limit: int
) -> tuple[list[M], str | None]:
    """One page of ``qs`` in the order of ``keys`` after ``key`` (read by ``read_cursor``
    before anything else, so that a bad cursor costs no query), in one query, and the cursor
    of the next page (None on the last)."""
    if key is not None:
        qs = after(qs, keys, key)
    rows = list(qs.order_by(*(k.term for k in keys))[: limit + 1])
    if len(rows) <= limit:
        return rows, None
    rows = rows[:limit]
    return rows, make_cursor([getattr(rows[-1], k.field) for k in keys])
