"""Querysets compiled once per thread, run many times with other parameters (U4, decision 0015).

Building and compiling a queryset costs far more Python time than PostgreSQL needs to answer
it for one dossier or one user: recording a contact spent two thirds of its CPU compiling the
traffic-light facts query again, and every request compiled the same session, user and door
queries. Their shape never changes, only a few values do. A prepared query builds its
queryset once per thread around placeholders (``RawSQL("%s", (slot,))``, found again in the
compiled parameters by identity), keeps the SQL, Django's converters and, for model
querysets, how a row becomes an instance with its ``select_related`` relations, and binds the
values at each run. The rows and instances are those the same queryset returns: the same SQL,
converters, column order and related objects.

- ``IdsQuery``: a ``values_list`` queryset around one array of ids (``id IN (SELECT
  unnest(%s::uuid[]))``); ``rows(ids)``.
- ``PreparedQuery``: a model queryset (``select_related`` allowed, no ``prefetch_related``)
  around any number of values; ``objects(*values)``.
- ``PreparedRows``: a ``values_list`` queryset around any number of values; ``rows(*values)``.
- ``Shapes``: one prepared query per shape, for a query whose form depends on a few choices
  (the actor's role, a scope, whether a cursor is given) besides its values; the shapes are
  few and fixed by the code, so each is compiled once per thread like any prepared query.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import psycopg
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.backends.postgresql.psycopg_any import (  # type: ignore[import-untyped]
    register_tzloader,
)
from django.db.backends.utils import CursorDebugWrapper
from django.db.models import QuerySet
from django.db.models.expressions import RawSQL
from django.db.models.query import (  # type: ignore[attr-defined]
    ModelIterable,
    ValuesListIterable,
    get_related_populators,
)
from psycopg.postgres import adapters as pg_adapters
from psycopg.pq import Format


class _Slot:
    """Stands for a value while the query is compiled: found again by identity."""


@dataclass(frozen=True)
class _Compiled:
    connection: Any
    compiler: Any
    sql: str
    params: tuple[Any, ...]
    # for each value of a run, the positions of its placeholder in ``params``
    slots: tuple[tuple[int, ...], ...]
    converters: dict[int, Any]

    def execute(self, values: Sequence[Any]) -> list[Any]:
        params = list(self.params)
        for positions, value in zip(self.slots, values, strict=True):
            for position in positions:
                params[position] = value
        with _preparing_cursor(self.connection) as cursor:
            cursor.execute(self.sql, params)
            raw = cursor.fetchall()
        if self.converters:
            return list(self.compiler.apply_converters(raw, self.converters))
        return raw


_TIMESTAMPTZ = pg_adapters.types["timestamptz"].oid


class _Preparing(psycopg.Cursor):  # type: ignore[type-arg,unused-ignore]
    """A cursor binding its parameters on the server, as a prepared statement: PostgreSQL
    parses the query once per connection and, after a few runs, keeps a generic plan. The
    planning of a query joining six tables (the door's dossier with its owner, client, worker,
    team and household) cost more CPU than running it (1.7 ms against a few hundredths).
    Django's own cursors bind on the client (pghistory writes its context into the text of
    every write); these SELECTs carry no context."""

    def execute(self, query: Any, params: Any = None, **kwargs: Any) -> Any:
        return super().execute(query, params, prepare=True)


def _preparing_cursor(connection: Any) -> Any:
    """A ``_Preparing`` cursor on the thread's connection, wrapped as Django wraps its own
    (``BaseDatabaseWrapper._cursor`` and ``_prepare_cursor``, Django 5.2): health check,
    thread check, query log, error mapping, execute wrappers, the connection's time zone."""
    connection.close_if_health_check_failed()
    connection.ensure_connection()
    raw = connection.connection
    if raw.prepare_threshold is None:
        # Django switches psycopg's prepared statements off (None) for connection poolers;
        # only server-binding cursors prepare (Django's own bind on the client and never do)
        raw.prepare_threshold = 5
    with connection.wrap_database_errors:
        cursor = _Preparing(raw)
        loader = connection.connection.adapters.get_loader(_TIMESTAMPTZ, Format.TEXT)
        if connection.timezone != loader.timezone:
            register_tzloader(connection.timezone, cursor)
        connection.validate_thread_sharing()
        if connection.queries_logged:
            return _LoggedPreparing(cursor, connection)
        return connection.make_cursor(cursor)


class _LoggedPreparing(CursorDebugWrapper):
    """Django's query log for a prepared statement: psycopg keeps no text of a query it runs
    by name, so the logged SQL is composed from the statement and its parameters."""

    def execute(self, sql: Any, params: Any = None) -> Any:
        result = super().execute(sql, params)
        logged = self.db.queries_log
        if logged and logged[-1]["sql"] is None:
            logged[-1]["sql"] = self.db.ops.compose_sql(sql, params)
        return result


def as_set(value: RawSQL, db_type: str = "uuid") -> RawSQL:
    """A prepared query's value taken as an array bound in one parameter, for ``__in``
    lookups: ``.filter(pk__in=as_set(ids))`` reads ``id IN (SELECT unnest($1::uuid[]))``."""
    return RawSQL(f"SELECT unnest(({value.sql})::{db_type}[])", value.params)  # noqa: S611


class _Prepared:
    """Compiles ``build(*placeholders)`` once per thread (Django's connections are per thread).

    Every value must appear in the query, unless ``unused`` allows it: queries of one family
    built by the same function from the same values (``Shapes``) may leave some out."""

    iterable: type
    placeholder = "%s"

    def __init__(
        self,
        build: Callable[..., QuerySet[Any]],
        values: int = 1,
        using: str = DEFAULT_DB_ALIAS,
        *,
        unused: bool = False,
    ) -> None:
        self._build = build
        self._values = values
        self._using = using
        self._unused = unused
        self._local = threading.local()

    def _compiled(self) -> _Compiled:
        connection = connections[self._using]
        kept: _Compiled | None = getattr(self._local, "compiled", None)
        if kept is not None and kept.connection is connection:
            return kept
        markers = [_Slot() for _ in range(self._values)]
        # the placeholder is a constant of the class; the values are bound as parameters
        queryset = self._build(*(RawSQL(self.placeholder, (m,)) for m in markers))  # noqa: S611
        if queryset._iterable_class is not self.iterable:
            raise TypeError(f"{type(self).__name__} runs a {self.iterable.__name__} queryset")
        if getattr(queryset, "_prefetch_related_lookups", ()):
            raise TypeError("a prepared query cannot prefetch")
        compiler = queryset.query.get_compiler(self._using)
        sql, params = compiler.as_sql()
        slots = tuple(
            tuple(i for i, param in enumerate(params) if param is marker) for marker in markers
        )
        if not self._unused and not all(slots):
            raise ValueError("every value must appear in the query")
        fields = [s[0] for s in compiler.select[0 : compiler.col_count]]
        kept = _Compiled(
            connection=connection,
            compiler=compiler,
            sql=sql,
            params=tuple(params),
            slots=slots,
            converters=compiler.get_converters(fields),
        )
        self._prepare(kept)
        self._local.compiled = kept
        return kept

    def _prepare(self, compiled: _Compiled) -> None:
        """What a subclass keeps besides the SQL, once per thread."""


class IdsQuery(_Prepared):
    """``build(ids)`` returns a ``values_list`` queryset filtered by ``pk__in=ids``; ``rows``
    runs it for the given ids with the SQL compiled on the thread's first call."""

    iterable = ValuesListIterable
    placeholder = "SELECT unnest(%s::uuid[])"

    def __init__(
        self, build: Callable[[RawSQL], QuerySet[Any]], using: str = DEFAULT_DB_ALIAS
    ) -> None:
        super().__init__(build, 1, using)

    def rows(self, ids: Sequence[Any]) -> list[tuple[Any, ...]]:
        if not ids:
            return []
        # the rows of ``values_list``: tuples in the order of the fields (Django 5.2)
        return [tuple(row) for row in self._compiled().execute([list(ids)])]


class PreparedRows(_Prepared):
    """``build(*values)`` returns a ``values_list`` queryset whose filters take the
    placeholders it is given; ``rows(*values)`` runs it and returns its tuples."""

    iterable = ValuesListIterable

    def rows(self, *values: Any) -> list[tuple[Any, ...]]:
        return [tuple(row) for row in self._compiled().execute(values)]


@dataclass(frozen=True)
class _Instances:
    model: Any
    start: int
    end: int
    init_list: list[str]
    populators: list[Any]
    annotations: dict[str, int]


class PreparedQuery(_Prepared):
    """``build(*values)`` returns a model queryset whose filters take the placeholders it is
    given (``.filter(pk=value)``); ``objects(*values)`` runs it and returns the instances, as
    Django's ``ModelIterable`` makes them (Django 5.2): the model's columns, then each
    ``select_related`` relation populated from its columns, then the annotations."""

    iterable = ModelIterable

    def _prepare(self, compiled: _Compiled) -> None:
        compiler = compiled.compiler
        select, klass_info = compiler.select, compiler.klass_info
        fields = klass_info["select_fields"]
        start, end = fields[0], fields[-1] + 1
        self._local.instances = _Instances(
            model=klass_info["model"],
            start=start,
            end=end,
            init_list=[f[0].target.attname for f in select[start:end]],
            populators=get_related_populators(klass_info, select, self._using),
            annotations=dict(compiler.annotation_col_map or {}),
        )

    def objects(self, *values: Any) -> list[Any]:
        compiled = self._compiled()
        how: _Instances = self._local.instances
        objects = []
        for row in compiled.execute(values):
            obj = how.model.from_db(self._using, how.init_list, row[how.start : how.end])
            for populator in how.populators:
                populator.populate(row, obj)
            for name, position in how.annotations.items():
                setattr(obj, name, row[position])
            objects.append(obj)
        return objects


K = TypeVar("K", bound=Hashable)
P = TypeVar("P")


class Shapes(Generic[K, P]):
    """One prepared query (or a few) per shape: ``make(shape)`` makes it on the first use of
    the shape.
    A shape must be one of a few fixed by the code (a role, a scope, a flag), never a value
    from a request, which would compile a query per value."""

    def __init__(self, make: Callable[[K], P]) -> None:
        self._make = make
        self._kept: dict[K, P] = {}

    def __getitem__(self, shape: K) -> P:
        prepared = self._kept.get(shape)
        if prepared is None:
            prepared = self._kept.setdefault(shape, self._make(shape))
        return prepared
