"""Rows written with PostgreSQL's COPY as the app role (decision 0029, "Store path").

COPY into a table fires its row triggers and checks like INSERT does: the audit records every
row. The audit's context is set in the transaction first, because COPY does not pass through
Django's cursor wrappers (where ``pghistory.context`` sets it for every other statement).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Sequence
from typing import Any

import pghistory
from django.db import connection, models
from django.db.models.expressions import DatabaseDefault
from django.db.models.fields import NOT_PROVIDED
from django.utils import timezone
from pghistory import config as pgh_config


def set_audit_context(context: pghistory.runtime.Context | None) -> None:
    """Make the rows written next in this transaction carry ``context`` (like every statement
    run inside ``pghistory.context``)."""
    if context is None:
        return
    metadata = json.dumps(context.metadata, cls=pgh_config.json_encoder())
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT set_config('pghistory.context_id', %s, true), "
            "set_config('pghistory.context_metadata', %s, true)",
            [str(context.id), metadata],
        )


def new_pks(model: type[models.Model], count: int) -> list[Any]:
    """Primary keys for ``count`` new rows: drawn from the table's sequence in one statement
    (or fresh UUIDs), so that rows can name each other before they are written."""
    pk = model._meta.pk
    if isinstance(pk, models.UUIDField):
        return [uuid.uuid4() for _ in range(count)]
    if count == 0:
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
            [model._meta.db_table, pk.column, count],
        )
        return [row[0] for row in cursor.fetchall()]


def _fields(model: type[models.Model]) -> list[models.Field[Any, Any]]:
    return [f for f in model._meta.concrete_fields if not getattr(f, "generated", False)]


def _is_auto_time(field: models.Field[Any, Any]) -> bool:
    return bool(getattr(field, "auto_now_add", False) or getattr(field, "auto_now", False))


# Fields whose Python value COPY can take as it is (psycopg renders it as text and
# PostgreSQL parses it for the column): Django's conversion per value and row was a third of
# the import's time in Python (decision 0038). Exact classes only: a subclass may convert.
_AS_IS = (
    models.AutoField,
    models.BigAutoField,
    models.BigIntegerField,
    models.BooleanField,
    models.CharField,
    models.DateField,
    models.DateTimeField,
    models.DecimalField,
    models.EmailField,
    models.IntegerField,
    models.PositiveIntegerField,
    models.PositiveSmallIntegerField,
    models.SmallIntegerField,
    models.TextField,
    models.UUIDField,
)


def _as_is(field: models.Field[Any, Any]) -> bool:
    if field.is_relation and field.many_to_one:
        return _as_is(field.target_field)  # type: ignore[attr-defined]
    return type(field) in _AS_IS


def copy_objects(model: type[models.Model], objects: Sequence[models.Model]) -> None:
    """Write unsaved objects (their primary keys set) with one COPY. A time Django would set on
    saving (``auto_now_add``) keeps the value the object carries; only an empty one is now."""
    if not objects:
        return
    now = timezone.now()
    fields = [
        f
        for f in _fields(model)
        if not all(isinstance(getattr(o, f.attname), DatabaseDefault) for o in objects)
    ]
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    table = connection.ops.quote_name(model._meta.db_table)
    # (attribute, a time set when empty, None or the conversion Django makes on saving)
    plan = [
        (f.attname, _is_auto_time(f), None if _as_is(f) else f.get_db_prep_save) for f in fields
    ]
    with connection.cursor() as cursor:
        with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
            for obj in objects:
                state = obj.__dict__
                row = []
                for attname, auto_time, convert in plan:
                    value = state[attname]
                    if value is None and auto_time:
                        value = now
                        setattr(obj, attname, value)
                    row.append(value if convert is None else convert(value, connection))
                copy.write_row(row)


class Written:
    """A row written by ``copy_values``: its primary key and its fields' values by attribute
    name (``case_id``, ``recorded_at``), like the unsaved object it stands for."""

    def __init__(self, values: dict[str, Any]) -> None:
        self.__dict__.update(values)

    @property
    def pk(self) -> Any:
        return self.__dict__["__pk"]


def _row_plan(
    model: type[models.Model], keys: frozenset[str]
) -> list[tuple[models.Field[Any, Any], str | None, bool]]:
    """(field, the key of its value or None for its default, whether the value may be a
    model instance) for each column written, given the keys of the values."""
    plan: list[tuple[models.Field[Any, Any], str | None, bool]] = []
    attnames = {f.attname for f in _fields(model)}
    names = {f.name for f in _fields(model)}
    unknown = keys - attnames - names
    if unknown:
        raise TypeError(f"{model.__name__}: no field {sorted(unknown)}")
    for f in _fields(model):
        if f.primary_key:
            plan.append((f, None, False))
        elif f.attname in keys:
            plan.append((f, f.attname, False))
        elif f.name in keys:
            plan.append((f, f.name, bool(f.is_relation)))
        elif f.db_default is not NOT_PROVIDED and not f.has_default():
            continue  # the database's own default, as Django leaves it on creating
        else:
            plan.append((f, None, False))
    return plan


def copy_values(
    model: type[models.Model], pks: Sequence[Any], rows: Sequence[dict[str, Any]]
) -> list[Written]:
    """Write new rows given as field values (by name or attribute name, a related object or
    its key), without a model instance each: what Django would do on creating the object and
    ``copy_objects`` on writing it (a field's default where no value is given, an empty
    ``auto_now_add`` time is now, the same conversions), with one COPY. All rows have the same
    keys. Returns each row's values by attribute name, its primary key ``pk``."""
    if not rows:
        return []
    now = timezone.now()
    plan = _row_plan(model, frozenset(rows[0]))
    pk_field = model._meta.pk
    columns = ", ".join(connection.ops.quote_name(f.column) for f, _k, _r in plan)
    table = connection.ops.quote_name(model._meta.db_table)
    steps = [
        (
            f.attname,
            key,
            related,
            f is pk_field,
            f._get_default,  # type: ignore[attr-defined]
            _is_auto_time(f),
            None if _as_is(f) else f.get_db_prep_save,
        )
        for f, key, related in plan
    ]
    written = []
    with connection.cursor() as cursor:
        with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
            for pk, values in zip(pks, rows, strict=True):
                state: dict[str, Any] = {"__pk": pk}
                row = []
                for attname, key, related, is_pk, default, auto_time, convert in steps:
                    if is_pk:
                        value = pk
                    elif key is None:
                        value = default()
                    else:
                        value = values[key]
                        if related and isinstance(value, models.Model):
                            value = value.pk
                    if value is None and auto_time:
                        value = now
                    state[attname] = value
                    row.append(value if convert is None else convert(value, connection))
                copy.write_row(row)
                written.append(Written(state))
    return written


def copy_rows(table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """Plain rows into ``table`` with one COPY."""
    names = ", ".join(connection.ops.quote_name(c) for c in columns)
    sql = f"COPY {connection.ops.quote_name(table)} ({names}) FROM STDIN"
    with connection.cursor() as cursor:
        with cursor.cursor.copy(sql) as copy:
            for row in rows:
                copy.write_row(row)
