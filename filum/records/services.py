"""Recording reads and security events."""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from typing import Any

from django.db import connection
from django.http import HttpRequest
from django.utils import timezone

from filum.records.models import ReadLog, SecurityEvent
from filum.tenancy.policy import Actor


def log_read(
    *,
    actor: Actor,
    sections: Iterable[str],
    kind: str = "view",
    case_id: Any = None,
    person_id: Any = None,
    path: str = "",
) -> None:
    """Record that the actor read these sections of a dossier (or a person record)."""
    now = timezone.now()
    ReadLog.objects.bulk_create(
        [
            ReadLog(
                at=now,
                user_id=actor.user.pk,
                organisation_id=actor.organisation_id,
                case_id=case_id,
                person_id=person_id,
                section=str(section),
                kind=kind,
                path=path[:300],
            )
            for section in sections
        ]
    )


def log_security_event(
    kind: str,
    *,
    request: HttpRequest | None = None,
    user: Any = None,
    organisation_id: int | None = None,
    **detail: Any,
) -> SecurityEvent:
    ip = None
    if request is not None:
        ip = request.META.get("REMOTE_ADDR")
        actor = getattr(request, "actor", None)
        if actor is not None and organisation_id is None:
            organisation_id = actor.organisation_id
        if user is None and getattr(request, "user", None) is not None:
            if request.user.is_authenticated:
                user = request.user
    return SecurityEvent.objects.create(
        kind=kind, user=user, organisation_id=organisation_id, detail=detail, ip_address=ip
    )


def _month_start(day: datetime.date) -> datetime.date:
    return day.replace(day=1)


def _add_months(day: datetime.date, months: int) -> datetime.date:
    index = day.year * 12 + day.month - 1 + months
    return datetime.date(index // 12, index % 12 + 1, 1)


def ensure_read_log_partitions(*, start: datetime.date, months: int) -> list[str]:
    """Create the monthly partitions of the read log from ``start``'s month on. Idempotent.

    Runs as the app role, which may not create tables: the owner's function
    ``filum_create_readlog_partition`` does it (migration 0004)."""
    created = []
    first = _month_start(start)
    with connection.cursor() as cursor:
        for offset in range(months):
            lower = _add_months(first, offset)
            cursor.execute("SELECT filum_create_readlog_partition(%s)", [lower])
            if cursor.fetchone()[0]:
                created.append(f"records_readlog_{lower:%Y%m}")
    return created
