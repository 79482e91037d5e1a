"""Everything that happened to one dossier: reads from the read log, changes from the
pghistory audit tables (with before/after values and the acting user) and refused requests,
presented for the data protection officer: field labels, names instead of ids, labels
instead of codes.

One page is one SQL statement whatever the history's length (U4): each source (every event
table that names the dossier or its client, the read log, the denials) gives its newest
``page_size + 1`` keys after the cursor through an index on (dossier, time, id); the page is
the newest of those, and only its rows are then rendered as JSON and compared with the
object's previous event (pghistory's ``Events`` view computes that for the whole history)."""

from __future__ import annotations

import datetime
import functools
import json
import re
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.apps import apps
from django.contrib.postgres.fields import ArrayField
from django.core.exceptions import FieldDoesNotExist
from django.db import connection, models
from django.utils import formats, timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext as _
from pghistory import core as pghistory_core

from filum.cases.models import Case
from filum.dates import add_days
from filum.people.models import Person
from filum.records.models import DENIAL, ReadKind
from filum.tenancy.models import User
from filum.web.templatetags.filum import section_label

PAGE_SIZE = 50
HIDDEN_FIELDS = {"version", "updated_at", "created_at"}
# Columns of an event row that are not the tracked object's: pghistory's and the hash chain's.
EVENT_COLUMNS = ["pgh_id", "pgh_created_at", "pgh_label", "pgh_context_id", "pgh_obj_id"]
CHAIN_COLUMNS = ["chain_seq", "prev_hash", "row_hash"]
# Reads sort after every event of the same instant, denials just before them (model labels
# are ASCII letters, "~" sorts after them; comparisons are in C collation in SQL and Python).
READ_TAG = "~read"
DENIAL_TAG = "~denied"
CURSOR = re.compile(
    r"^(?P<at>[0-9T:.+\- ]{19,40})\|(?P<tag>[A-Za-z0-9_.~]{1,100})\|(?P<id>[0-9]{1,18})$"
)


class BadCursor(ValueError):
    """A page link that this page did not make (edited or cut off)."""


@dataclass(frozen=True)
class Cursor:
    """Where a page ends: rows strictly after (at, tag, id) in newest-first order."""

    at: datetime.datetime
    tag: str
    id: int

    def __str__(self) -> str:
        return f"{self.at.isoformat()}|{self.tag}|{self.id}"

    @classmethod
    def parse(cls, value: str | None) -> Cursor | None:
        """The cursor of a page link; none for the first page. Raises ``BadCursor`` for
        anything this page would not have written."""
        if not value:
            return None
        match = CURSOR.match(value)
        if match is None or match["tag"] not in tags():
            raise BadCursor(value)
        try:
            at = parse_datetime(match["at"])
        except ValueError:
            at = None
        if at is None or timezone.is_naive(at):
            raise BadCursor(value)
        return cls(at=at, tag=match["tag"], id=int(match["id"]))


@dataclass
class ShownChange:
    label: str
    before: str | None
    after: str | None


@dataclass
class AuditRow:
    at: datetime.datetime
    kind: str  # "read", "change" or "denied"
    user_id: int | None
    what: str
    section: str = ""
    label: str = ""
    changes: list[tuple[str, Any, Any]] = field(default_factory=list)
    user: User | None = None
    model: str = ""  # "app.Model" of the changed object
    model_label: str = ""
    shown: list[ShownChange] = field(default_factory=list)
    key: tuple[str, int] = ("", 0)  # (tag, id): the order among rows of the same instant
    path: str = ""  # the refused request's page

    @property
    def read_label(self) -> str:
        return str(ReadKind(self.what).label) if self.what in ReadKind.values else self.what


@dataclass
class AuditPage:
    rows: list[AuditRow]
    next_cursor: Cursor | None


@dataclass(frozen=True)
class EventSource:
    """An event table whose rows belong to a dossier's history: those whose ``column`` is
    the dossier's id, or, for ``client``, the id of the dossier's client."""

    tag: str  # the event model's label, e.g. "cases.CaseEvent"
    table: str
    column: str
    tracked: str  # the tracked model's label, e.g. "cases.Case"
    client: bool


@functools.cache
def event_sources() -> tuple[EventSource, ...]:
    """Every event table that references a dossier (like pghistory's ``references``), and
    the client's own record (``tracks``)."""
    sources = []
    for related, client in ((Case, False), (Person, True)):
        found: list[Any] = (
            pghistory_core.event_models(tracks_model=related)
            if client
            else pghistory_core.event_models(references_model=related)
        )
        for model in found:
            fields: list[Any] = model._meta.fields
            columns: list[str] = [
                f.column
                for f in fields
                if (f.name == "pgh_obj" if client else f.is_relation and f.related_model is related)
            ]
            for column in columns:
                sources.append(
                    EventSource(
                        tag=model._meta.label,
                        table=model._meta.db_table,
                        column=column,
                        tracked=model.pgh_tracked_model._meta.label,
                        client=client,
                    )
                )
    return tuple(sources)


@functools.cache
def tags() -> frozenset[str]:
    return frozenset({READ_TAG, DENIAL_TAG} | {s.tag for s in event_sources()})


def _bounds(
    date_from: datetime.date | None, date_to: datetime.date | None
) -> tuple[datetime.datetime | None, datetime.datetime | None]:
    tz = timezone.get_current_timezone()
    start = datetime.datetime.combine(date_from, datetime.time.min, tz) if date_from else None
    end = (
        datetime.datetime.combine(add_days(date_to, 1), datetime.time.min, tz) if date_to else None
    )
    return start, end


def _after(cursor: Cursor, tag: str, at: str, pk: str) -> tuple[str, list[Any]]:
    """SQL for "after the cursor" in (at desc, tag desc, id desc) order, for a source whose
    rows all carry ``tag``: a range on the source's own (at, id) index."""
    if tag < cursor.tag:
        return f"{at} <= %s", [cursor.at]
    if tag > cursor.tag:
        return f"{at} < %s", [cursor.at]
    return f"({at}, {pk}) < (%s, %s)", [cursor.at, cursor.id]


@dataclass
class _Filter:
    user_id: int | None
    start: datetime.datetime | None
    end: datetime.datetime | None
    cursor: Cursor | None

    def sql(self, tag: str, at: str, pk: str, user: str | None) -> tuple[str, list[Any]]:
        """The conditions every source shares; ``user`` is the column of the acting user
        (``None``: the source's user is in the request context)."""
        parts: list[str] = []
        params: list[Any] = []
        if self.user_id:
            if user is None:  # events: the user is in pghistory's context
                parts.append(
                    "EXISTS (SELECT 1 FROM pghistory_context c WHERE c.id = e.pgh_context_id"
                    " AND c.metadata ->> 'user' = %s)"
                )
                params.append(str(self.user_id))
            else:
                parts.append(f"{user} = %s")
                params.append(self.user_id)
        if self.start:
            parts.append(f"{at} >= %s")
            params.append(self.start)
        if self.end:
            parts.append(f"{at} < %s")
            params.append(self.end)
        if self.cursor:
            condition, values = _after(self.cursor, tag, at, pk)
            parts.append(condition)
            params.extend(values)
        return "".join(f" AND {p}" for p in parts), params


def _history_sql(case: Case, filters: _Filter, take: int) -> tuple[str, list[Any]]:
    keys: list[str] = []
    params: list[Any] = []
    order = "ORDER BY at DESC, id DESC LIMIT %s"
    for source in event_sources():
        where, values = filters.sql(source.tag, "e.pgh_created_at", "e.pgh_id", None)
        keys.append(
            "(SELECT %s::text AS tag, e.pgh_id::bigint AS id, e.pgh_created_at AS at,"  # noqa: S608 (registry names)
            " NULL::bigint AS user_id, e.pgh_label::text AS what, ''::text AS section,"
            " ''::text AS path, e.pgh_context_id AS context_id"
            f' FROM "{source.table}" e WHERE e."{source.column}" = %s{where} {order})'
        )
        params += [source.tag, case.client_id if source.client else case.pk, *values, take]
    where, values = filters.sql(READ_TAG, "r.at", "r.id", "r.user_id")
    keys.append(
        "(SELECT %s::text, r.id, r.at, r.user_id, r.kind::text, r.section::text, '', NULL::uuid"  # noqa: S608 (registry names)
        f" FROM records_readlog r WHERE r.case_id = %s{where} {order})"
    )
    params += [READ_TAG, case.pk, *values, take]
    for object_type, object_id in (("case", case.pk), ("person", case.client_id)):
        where, values = filters.sql(DENIAL_TAG, "s.at", "s.id", "s.user_id")
        keys.append(
            "(SELECT %s::text, s.id, s.at, s.user_id, 'denied', '', s.detail ->> 'path', NULL::uuid"  # noqa: S608 (registry names)
            " FROM records_securityevent s WHERE s.kind = %s"
            " AND (s.detail ->> 'object_type') = %s AND (s.detail ->> 'object_id') = %s"
            f"{where} {order})"
        )
        params += [DENIAL_TAG, DENIAL, object_type, str(object_id), *values, take]
    params.append(take)  # the page's own limit
    # Only the page's events are rendered as JSON and compared with their previous event.
    strip = [*EVENT_COLUMNS, *CHAIN_COLUMNS]
    content = []
    for tag, table in dict((s.tag, s.table) for s in event_sources()).items():
        content.append(
            "SELECT to_jsonb(e) - %s::text[] AS data,"  # noqa: S608 (registry names)
            f' (SELECT to_jsonb(b) - %s::text[] FROM "{table}" b'
            " WHERE b.pgh_obj_id = e.pgh_obj_id AND b.pgh_id < e.pgh_id"
            " ORDER BY b.pgh_id DESC LIMIT 1) AS previous"
            f' FROM "{table}" e WHERE p.tag = %s AND e.pgh_id = p.id'
        )
        params += [strip, strip, tag]
    sql = (
        f"WITH page AS MATERIALIZED (SELECT * FROM ({' UNION ALL '.join(keys)}) k"  # noqa: S608 (registry names)
        ' ORDER BY at DESC, tag COLLATE "C" DESC, id DESC LIMIT %s)'
        " SELECT p.tag, p.id, p.at, coalesce(p.user_id::text, c.metadata ->> 'user'),"
        " p.what, p.section, p.path, x.data, x.previous"
        " FROM page p LEFT JOIN pghistory_context c ON c.id = p.context_id"
        f" LEFT JOIN LATERAL ({' UNION ALL '.join(content)}) x ON true"
        ' ORDER BY p.at DESC, p.tag COLLATE "C" DESC, p.id DESC'
    )
    return sql, params


def dossier_history(
    case: Case,
    *,
    user_id: int | None = None,
    date_from: datetime.date | None = None,
    date_to: datetime.date | None = None,
    cursor: Cursor | None = None,
    page_size: int | None = None,
) -> AuditPage:
    """One page of the dossier's reads, changes and refused requests, newest first (keyset
    pagination: one query whatever the page and the history's length)."""
    page_size = page_size or PAGE_SIZE
    start, end = _bounds(date_from, date_to)
    sql, params = _history_sql(case, _Filter(user_id, start, end, cursor), page_size + 1)
    with connection.cursor() as db:
        db.execute(sql, params)
        found = db.fetchall()
    rows = [_row(*values) for values in found]
    next_cursor = None
    if len(rows) > page_size:
        rows = rows[:page_size]
        last = rows[-1]
        next_cursor = Cursor(at=last.at, tag=last.key[0], id=last.key[1])
    _present(rows)
    return AuditPage(rows=rows, next_cursor=next_cursor)


def _row(
    tag: str,
    pk: int,
    at: datetime.datetime,
    user: str | None,
    what: str,
    section: str,
    path: str | None,
    data: str | None,
    previous: str | None,
) -> AuditRow:
    user_id = int(user) if user and user.isdigit() else None
    if tag == READ_TAG:
        return AuditRow(
            at=at, kind="read", user_id=user_id, what=what, section=section, key=(tag, pk)
        )
    if tag == DENIAL_TAG:
        return AuditRow(
            at=at, kind="denied", user_id=user_id, what=what, path=path or "", key=(tag, pk)
        )
    now: dict[str, Any] = _json(data) or {}
    before: dict[str, Any] | None = _json(previous)
    # pghistory's diff: the fields whose value differs from the object's previous event
    changes = [
        (name, before[name], value)
        for name, value in sorted(now.items())
        if before is not None and name in before and before[name] != value
    ]
    if not changes and what == "insert":
        changes = [(name, None, value) for name, value in sorted(now.items())]
    return AuditRow(
        at=at,
        kind="change",
        user_id=user_id,
        what=tag.split(".")[-1].removesuffix("Event"),
        label=what,
        changes=[c for c in changes if c[0] not in HIDDEN_FIELDS],
        model=_tracked()[tag],
        key=(tag, pk),
    )


def _json(value: Any) -> Any:
    """jsonb from a raw cursor: Django has psycopg hand it over as text."""
    return json.loads(value) if isinstance(value, str) else value


@functools.cache
def _tracked() -> dict[str, str]:
    return {s.tag: s.tracked for s in event_sources()}


# --- presentation ------------------------------------------------------------------------


def _model(label: str) -> type[models.Model] | None:
    try:
        return apps.get_model(label)
    except (LookupError, ValueError):
        return None


def _field(model: type[models.Model] | None, name: str) -> Any:
    if model is None:
        return None
    for candidate in (name, name.removesuffix("_id")):
        try:
            return model._meta.get_field(candidate)
        except FieldDoesNotExist:
            continue
    return None


def _present(rows: list[AuditRow]) -> None:
    """Labels for models and fields, and readable values: related objects by name (one
    query for the whole page), choices by label, dates in local time."""
    wanted: dict[type[models.Model], set[Any]] = defaultdict(set)
    wanted[User] = {r.user_id for r in rows if r.user_id}
    for row in rows:
        model = _model(row.model)
        row.model_label = str(model._meta.verbose_name) if model is not None else row.what
        for name, before, after in row.changes:
            fld = _field(model, name)
            if fld is not None and fld.is_relation and fld.many_to_one:
                wanted[fld.related_model].update(v for v in (before, after) if v is not None)
    found = _objects(wanted)
    names = {
        related: {pk: str(obj) for pk, obj in objects.items()} for related, objects in found.items()
    }
    users: dict[str, Any] = found.get(User, {})
    for row in rows:
        row.user = users.get(str(row.user_id)) if row.user_id else None
        model = _model(row.model)
        row.shown = []
        for name, before, after in row.changes:
            fld = _field(model, name)
            label = str(fld.verbose_name) if fld is not None else name
            row.shown.append(
                ShownChange(
                    label=label[:1].upper() + label[1:],
                    before=_value(fld, before, names),
                    after=_value(fld, after, names),
                )
            )


def _objects(
    wanted: dict[type[models.Model], set[Any]],
) -> dict[type[models.Model], dict[str, models.Model]]:
    """The objects a page names, of every model in one query (so the page's query count does
    not depend on what its rows name): each row as JSON, turned back into an instance."""
    parts: list[str] = []
    params: list[Any] = []
    for related, ids in wanted.items():
        pk: Any = related._meta.pk
        table, column = (connection.ops.quote_name(n) for n in (related._meta.db_table, pk.column))
        parts.append(
            f"SELECT %s::text, to_jsonb(t) FROM {table} t"  # noqa: S608 (registry names)
            f" WHERE t.{column} = ANY(%s::text[]::{pk.rel_db_type(connection)}[])"
        )
        params += [related._meta.label, [str(i) for i in ids]]
    found: dict[type[models.Model], dict[str, models.Model]] = defaultdict(dict)
    if not parts:
        return found
    with connection.cursor() as db:
        db.execute(" UNION ALL ".join(parts), params)
        for label, text in db.fetchall():
            related, data = apps.get_model(label), _json(text)
            values = {
                f.attname: f.to_python(data.get(f.column)) for f in related._meta.concrete_fields
            }
            obj = related(**values)
            obj._state.adding = False
            found[related][str(obj.pk)] = obj
    return found


def _value(fld: Any, value: Any, names: dict[Any, dict[str, str]]) -> str | None:
    if value is None:
        return None
    if fld is None:
        return str(value)
    if fld.is_relation and fld.many_to_one:
        return names.get(fld.related_model, {}).get(str(value), _("deleted (%s)") % value)
    if isinstance(fld, ArrayField):
        return ", ".join(_value(fld.base_field, v, names) or "" for v in value or [])
    if fld.name in {"section", "sections"}:  # section keys are an enum, not field choices
        return section_label(str(value))
    if fld.choices:
        return str(dict(fld.flatchoices).get(value, value))
    if isinstance(fld, models.BooleanField):
        return _("yes") if value else _("no")
    if isinstance(fld, models.DateTimeField):
        moment = parse_datetime(str(value))
        if moment is not None:
            return formats.date_format(timezone.localtime(moment), "SHORT_DATETIME_FORMAT")
    elif isinstance(fld, models.DateField):
        day = parse_date(str(value)[:10])
        if day is not None:
            return formats.date_format(day, "SHORT_DATE_FORMAT")
    if value == "":
        return "—"
    return str(value)
