"""Everything that happened to one dossier: reads from the read log, changes from the
pghistory audit tables (with before/after values and the acting user), presented for the
data protection officer: field labels, names instead of ids, labels instead of codes."""

from __future__ import annotations

import datetime
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.apps import apps
from django.contrib.postgres.fields import ArrayField
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Collate
from django.utils import formats, timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext as _
from pghistory.models import Events

from filum.cases.models import Case
from filum.dates import add_days
from filum.records.models import ReadKind, ReadLog
from filum.tenancy.models import User
from filum.web.templatetags.filum import section_label

PAGE_SIZE = 200
HIDDEN_FIELDS = {"version", "updated_at", "created_at"}
# Reads sort after every event of the same instant (model labels are lower-case ASCII).
READ_TAG = "~read"


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
        """A cursor from the page's link; anything malformed starts at the newest row."""
        at_text, _sep, rest = (value or "").partition("|")
        tag, _sep, id_text = rest.rpartition("|")
        at = parse_datetime(at_text) if at_text else None
        if at is None or timezone.is_naive(at) or not tag or not id_text.isdigit():
            return None
        return cls(at=at, tag=tag, id=int(id_text))


@dataclass
class ShownChange:
    label: str
    before: str | None
    after: str | None


@dataclass
class AuditRow:
    at: datetime.datetime
    kind: str  # "read" or "change"
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

    @property
    def read_label(self) -> str:
        return str(ReadKind(self.what).label) if self.what in ReadKind.values else self.what


@dataclass
class AuditPage:
    rows: list[AuditRow]
    next_cursor: Cursor | None


def _bounds(
    date_from: datetime.date | None, date_to: datetime.date | None
) -> tuple[datetime.datetime | None, datetime.datetime | None]:
    tz = timezone.get_current_timezone()
    start = datetime.datetime.combine(date_from, datetime.time.min, tz) if date_from else None
    end = (
        datetime.datetime.combine(add_days(date_to, 1), datetime.time.min, tz) if date_to else None
    )
    return start, end


def _after(cursor: Cursor, at: str, tag: Any, pk: str) -> Q:
    """Rows after the cursor in (at desc, tag desc, id desc) order; ``tag`` is a constant
    for the read log and the C-collated model label for events (so SQL and Python agree)."""
    same_instant = Q(**{at: cursor.at})
    if isinstance(tag, str):  # the whole source has one tag
        if tag < cursor.tag:
            return Q(**{f"{at}__lt": cursor.at}) | same_instant
        if tag > cursor.tag:
            return Q(**{f"{at}__lt": cursor.at})
        return Q(**{f"{at}__lt": cursor.at}) | (same_instant & Q(**{f"{pk}__lt": cursor.id}))
    return (
        Q(**{f"{at}__lt": cursor.at})
        | (same_instant & Q(tag_c__lt=cursor.tag))
        | (same_instant & Q(tag_c=cursor.tag) & Q(**{f"{pk}__lt": cursor.id}))
    )


def dossier_history(
    case: Case,
    *,
    user_id: int | None = None,
    date_from: datetime.date | None = None,
    date_to: datetime.date | None = None,
    cursor: Cursor | None = None,
    page_size: int = PAGE_SIZE,
) -> AuditPage:
    """One page of the dossier's reads and changes, newest first (keyset pagination: a
    fixed number of queries whatever the page)."""
    start, end = _bounds(date_from, date_to)
    reads = ReadLog.objects.filter(case_id=case.pk)
    # references() takes objects of one model only: the dossier (with the rows pointing to
    # it) and the client's own record are two queries.
    event_sets = [
        qs.annotate(tag_c=Collate(F("pgh_model"), "C"))
        for qs in (Events.objects.references(case), Events.objects.tracks(case.client))
    ]
    if user_id:
        reads = reads.filter(user_id=user_id)
        event_sets = [e.filter(pgh_context__user=user_id) for e in event_sets]
    if start:
        reads = reads.filter(at__gte=start)
        event_sets = [e.filter(pgh_created_at__gte=start) for e in event_sets]
    if end:
        reads = reads.filter(at__lt=end)
        event_sets = [e.filter(pgh_created_at__lt=end) for e in event_sets]
    if cursor:
        reads = reads.filter(_after(cursor, "at", READ_TAG, "id"))
        after = _after(cursor, "pgh_created_at", None, "pgh_id")
        event_sets = [e.filter(after) for e in event_sets]
    take = page_size + 1
    rows = [
        AuditRow(
            at=r.at,
            kind="read",
            user_id=r.user_id,
            what=r.kind,
            section=r.section,
            key=(READ_TAG, r.id),
        )
        for r in reads.order_by("-at", "-id")[:take]
    ]
    for qs in event_sets:
        for event in qs.order_by("-pgh_created_at", "-tag_c", "-pgh_id")[:take]:
            rows.append(_change_row(event))
    rows.sort(key=lambda r: (r.at, r.key), reverse=True)
    next_cursor = None
    if len(rows) > page_size:
        rows = rows[:page_size]
        last = rows[-1]
        next_cursor = Cursor(at=last.at, tag=last.key[0], id=last.key[1])
    _present(rows)
    return AuditPage(rows=rows, next_cursor=next_cursor)


def _change_row(event: Any) -> AuditRow:
    context = event.pgh_context or {}
    diff = event.pgh_diff or {}
    changes = [
        (name, values[0], values[1])
        for name, values in sorted(diff.items())
        if name not in HIDDEN_FIELDS
    ]
    if not diff and event.pgh_label == "insert":
        changes = [
            (name, None, value)
            for name, value in sorted((event.pgh_data or {}).items())
            if name not in HIDDEN_FIELDS
        ]
    return AuditRow(
        at=event.pgh_created_at,
        kind="change",
        user_id=context.get("user"),
        what=event.pgh_model.split(".")[-1].removesuffix("Event"),
        label=event.pgh_label,
        changes=changes,
        model=event.pgh_obj_model or "",
        key=(event.tag_c, event.pgh_id),
    )


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
    query per related model for the whole page), choices by label, dates in local time."""
    wanted: dict[type[models.Model], set[Any]] = defaultdict(set)
    wanted[User] = {r.user_id for r in rows if r.user_id}
    for row in rows:
        model = _model(row.model)
        row.model_label = str(model._meta.verbose_name) if model is not None else row.what
        for name, before, after in row.changes:
            fld = _field(model, name)
            if fld is not None and fld.is_relation and fld.many_to_one:
                wanted[fld.related_model].update(v for v in (before, after) if v is not None)
    found = {related: related._default_manager.in_bulk(ids) for related, ids in wanted.items()}
    names = {
        related: {str(pk): str(obj) for pk, obj in objects.items()}
        for related, objects in found.items()
    }
    users: dict[Any, Any] = found[User]
    for row in rows:
        row.user = users.get(row.user_id) if row.user_id else None
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
