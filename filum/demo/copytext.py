"""PostgreSQL ``COPY`` text format helpers shared by the volume and the steering demo data."""

from __future__ import annotations

import datetime
import threading
import time
from typing import Any

from django.apps import apps
from django.db import connection, models
from django.db.models import NOT_PROVIDED

NULL = "\\N"  # NULL in COPY's text format


def copy_text(value: object) -> str:
    if value is None:
        return NULL
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, list | tuple):
        return "{" + ",".join(str(v) for v in value) + "}"
    if isinstance(value, datetime.date):
        return value.isoformat()
    text = str(value)
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")


def other_columns(table: str, generated: set[str]) -> list[tuple[str, str]]:
    """Columns the generator does not fill (added by later features): each gets its field's
    default (or NULL), so the load keeps working when a model grows."""
    model = next(m for m in apps.get_models() if m._meta.db_table == table)
    extra = []
    for model_field in model._meta.concrete_fields:
        column = model_field.column
        if column in generated or model_field.db_default is not NOT_PROVIDED:
            continue
        if model_field.primary_key and isinstance(model_field, models.AutoField):
            continue
        if model_field.null:
            extra.append((column, NULL))
        elif model_field.has_default() or model_field.empty_strings_allowed:
            extra.append((column, copy_text(model_field.get_default())))
        else:
            raise RuntimeError(f"seed_demo does not know what to put in {table}.{column}")
    return extra


class CopyPipe:
    """COPY in a background thread on the load's own connection (same transaction), so that
    PostgreSQL stores one chunk while Python generates the next: on two cores, generation and
    storage then run side by side. ``submit`` waits for the previous chunk first; call
    ``wait`` before anything else uses the connection (a query, the end of the load)."""

    PIECE = 5_000  # lines per write

    def __init__(self) -> None:
        connection.ensure_connection()
        self.raw = connection.connection
        self.thread: threading.Thread | None = None
        self.error: BaseException | None = None
        self.waited = 0.0  # seconds the generator waited for PostgreSQL

    def submit(self, batches: list[tuple[str, str, list[str], str]]) -> None:
        """COPY each (table, column list, lines, suffix) in turn, in the background; the
        suffix (columns the lines leave to their defaults) is added to each line there."""
        self.wait()
        batches = [batch for batch in batches if batch[2]]
        if batches:
            self.thread = threading.Thread(target=self._copy, args=(batches,), daemon=True)
            self.thread.start()

    def _copy(self, batches: list[tuple[str, str, list[str], str]]) -> None:
        try:
            with self.raw.cursor() as cursor:
                for table, columns, lines, suffix in batches:
                    with cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                        for start in range(0, len(lines), self.PIECE):
                            data = "".join(lines[start : start + self.PIECE])
                            if suffix:
                                data = data.replace("\n", suffix + "\n")
                            copy.write(data)
        except BaseException as error:  # raised again in the loading thread by wait()
            self.error = error

    def wait(self) -> None:
        if self.thread is not None:
            started = time.perf_counter()
            self.thread.join()
            self.waited += time.perf_counter() - started
            self.thread = None
        if self.error is not None:
            error, self.error = self.error, None
            raise error


class SequenceBlock:
    """Ids taken from a table's sequence a block at a time (gaps are harmless): rows whose id
    other rows point to can be written as COPY lines. ``pipe`` is waited for before a block is
    reserved, since the reservation is a query on the same connection."""

    def __init__(self, table: str, column: str = "id", *, block: int = 100_000, pipe: Any = None):
        self.sequence = f"pg_get_serial_sequence('{table}', '{column}')"
        self.block = block
        self.pipe = pipe
        self.next_id = 0
        self.last = -1

    def take(self) -> int:
        if self.next_id > self.last:
            if self.pipe is not None:
                self.pipe.wait()
            self.next_id = reserve(self.sequence, self.block)
            self.last = self.next_id + self.block - 1
        self.next_id += 1
        return self.next_id - 1


def reserve(sequence_sql: str, count: int) -> int:
    """Reserve ``count`` values of a sequence; returns the first."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT nextval({sequence_sql})")  # noqa: S608 (constant)
        first = int(cursor.fetchone()[0])
        cursor.execute(f"SELECT setval({sequence_sql}, %s)", [first + max(count, 1) - 1])  # noqa: S608
    return first
