"""Querysets compiled once, run many times with another array of ids (U4, decision 0015).

Building and compiling a queryset with many subqueries (the facts the traffic-light rules read:
pending proposals, reminded measures, the AIS milestone facts) costs far more Python time than
PostgreSQL needs to answer it for one dossier: recording a contact spent two thirds of its CPU
compiling that query again. Its shape never changes; only the dossiers do. ``IdsQuery`` builds
the queryset once per thread around one parameter, an array of ids (``id IN (SELECT
unnest(%s::uuid[]))``), keeps its SQL and Django's converters, and binds the ids at each run.
The rows are those the same ``values_list`` queryset returns: the same SQL, converters and
column order.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import QuerySet
from django.db.models.expressions import RawSQL
from django.db.models.query import ValuesListIterable


class _Slot:
    """Stands for the array of ids while the query is compiled: found again by identity."""


@dataclass(frozen=True)
class _Compiled:
    connection: Any
    compiler: Any
    sql: str
    params: tuple[Any, ...]
    slot: int
    converters: dict[int, Any]


class IdsQuery:
    """``build(ids)`` returns a ``values_list`` queryset filtered by ``pk__in=ids``; ``rows``
    runs it for the given ids with the SQL compiled on the thread's first call."""

    def __init__(
        self, build: Callable[[RawSQL], QuerySet[Any]], using: str = DEFAULT_DB_ALIAS
    ) -> None:
        self._build = build
        self._using = using
        self._local = threading.local()

    def _compiled(self) -> _Compiled:
        # a thread's own connection (Django's connections are per thread), compiled once
        connection = connections[self._using]
        kept: _Compiled | None = getattr(self._local, "compiled", None)
        if kept is not None and kept.connection is connection:
            return kept
        queryset = self._build(RawSQL("SELECT unnest(%s::uuid[])", (_marker,)))
        if queryset._iterable_class is not ValuesListIterable:
            raise TypeError("IdsQuery runs a values_list() queryset (not flat, not named)")
        query = queryset.query
        compiler = query.get_compiler(self._using)
        sql, params = compiler.as_sql()
        slots = [i for i, param in enumerate(params) if param is _marker]
        if len(slots) != 1:
            raise ValueError("the ids must appear once in the query")
        fields = [s[0] for s in compiler.select[0 : compiler.col_count]]
        kept = _Compiled(
            connection=connection,
            compiler=compiler,
            sql=sql,
            params=tuple(params),
            slot=slots[0],
            converters=compiler.get_converters(fields),
        )
        self._local.compiled = kept
        return kept

    def rows(self, ids: Sequence[Any]) -> list[tuple[Any, ...]]:
        if not ids:
            return []
        compiled = self._compiled()
        params = list(compiled.params)
        params[compiled.slot] = list(ids)
        with compiled.connection.cursor() as cursor:
            cursor.execute(compiled.sql, params)
            raw = cursor.fetchall()
        rows = (
            compiled.compiler.apply_converters(raw, compiled.converters)
            if compiled.converters
            else raw
        )
        # the rows of ``values_list``: tuples in the order of the fields (Django 5.2)
        return [tuple(row) for row in rows]


_marker = _Slot()
