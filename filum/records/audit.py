"""Everything that happened to one dossier: reads from the read log, changes from the
pghistory audit tables (with before/after values and the acting user)."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Any

from django.utils import timezone
from pghistory.models import Events

from filum.cases.models import Case
from filum.dates import add_days
from filum.records.models import ReadLog
from filum.tenancy.models import User

MAX_ROWS = 500


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


def _bounds(
    date_from: datetime.date | None, date_to: datetime.date | None
) -> tuple[datetime.datetime | None, datetime.datetime | None]:
    tz = timezone.get_current_timezone()
    start = datetime.datetime.combine(date_from, datetime.time.min, tz) if date_from else None
    end = (
        datetime.datetime.combine(add_days(date_to, 1), datetime.time.min, tz) if date_to else None
    )
    return start, end


def dossier_history(
    case: Case,
    *,
    user_id: int | None = None,
    date_from: datetime.date | None = None,
    date_to: datetime.date | None = None,
) -> list[AuditRow]:
    start, end = _bounds(date_from, date_to)
    reads = ReadLog.objects.filter(case_id=case.pk)
    # references() takes objects of one model only: the dossier (with the rows pointing to
    # it) and the client's own record are two queries.
    event_sets = [Events.objects.references(case), Events.objects.tracks(case.client)]
    if user_id:
        reads = reads.filter(user_id=user_id)
        event_sets = [e.filter(pgh_context__user=user_id) for e in event_sets]
    if start:
        reads = reads.filter(at__gte=start)
        event_sets = [e.filter(pgh_created_at__gte=start) for e in event_sets]
    if end:
        reads = reads.filter(at__lt=end)
        event_sets = [e.filter(pgh_created_at__lt=end) for e in event_sets]
    events = [e for qs in event_sets for e in qs.order_by("-pgh_created_at")[:MAX_ROWS]]
    rows = [
        AuditRow(at=r.at, kind="read", user_id=r.user_id, what=r.kind, section=r.section)
        for r in reads.order_by("-at")[:MAX_ROWS]
    ]
    for event in events:
        context = event.pgh_context or {}
        diff = event.pgh_diff or {}
        changes = [
            (name, values[0], values[1])
            for name, values in sorted(diff.items())
            if name not in {"version", "updated_at"}
        ]
        if not diff and event.pgh_label == "insert":
            changes = [
                (name, None, value)
                for name, value in sorted((event.pgh_data or {}).items())
                if name not in {"version", "updated_at", "created_at"}
            ]
        rows.append(
            AuditRow(
                at=event.pgh_created_at,
                kind="change",
                user_id=context.get("user"),
                what=event.pgh_model.split(".")[-1].removesuffix("Event"),
                label=event.pgh_label,
                changes=changes,
            )
        )
    rows.sort(key=lambda r: r.at, reverse=True)
    rows = rows[:MAX_ROWS]
    users = User.objects.in_bulk({r.user_id for r in rows if r.user_id})
    for row in rows:
        row.user = users.get(row.user_id) if row.user_id else None
    return rows
