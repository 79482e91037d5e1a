"""Recording reads and security events."""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Iterable
from typing import Any, NoReturn

from django.db import connection
from django.http import Http404, HttpRequest
from django.utils import timezone

from filum.records.models import DENIAL, ReadLog, SecurityEvent
from filum.tenancy.policy import Actor, ActorRequest


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
    _log_reads(actor, [(case_id, person_id, section) for section in sections], kind, path)


def log_list_reads(
    *, actor: Actor, case_ids: Iterable[Any], section: str, kind: str = "view", path: str = ""
) -> None:
    """Record that a page listing dossiers showed one section of each of them (one insert)."""
    _log_reads(actor, [(case_id, None, section) for case_id in case_ids], kind, path)


def log_person_list_reads(
    *, actor: Actor, person_ids: Iterable[Any], kind: str = "view", path: str = ""
) -> None:
    """Record that a list showed the core data of each of these persons (one insert)."""
    _log_reads(actor, [(None, person_id, "core") for person_id in person_ids], kind, path)


# One statement, in the request's own autocommit (no transaction of its own around it): the
# read log is written on almost every page (U4, decision 0015). Same columns as ``ReadLog``.
_INSERT_READS = f"""
INSERT INTO {ReadLog._meta.db_table}
    (at, user_id, organisation_id, case_id, person_id, section, kind, path)
SELECT %s, %s, %s, r.case_id, r.person_id, r.section, %s, %s
FROM unnest(%s::uuid[], %s::uuid[], %s::text[]) AS r(case_id, person_id, section)
"""  # noqa: S608 (the table name is the model's)


def _log_reads(actor: Actor, reads: list[tuple[Any, Any, str]], kind: str, path: str) -> None:
    if not reads:
        return
    case_ids, person_ids, sections = zip(*reads, strict=True)
    with connection.cursor() as cursor:
        cursor.execute(
            _INSERT_READS,
            [
                timezone.now(),
                actor.user.pk,
                actor.organisation_id,
                str(kind),
                path[:300],
                [_uuid(c) for c in case_ids],
                [_uuid(p) for p in person_ids],
                [str(section) for section in sections],
            ],
        )


def _uuid(value: Any) -> uuid.UUID | None:
    if value is None or isinstance(value, uuid.UUID):
        return value
    return uuid.UUID(str(value))


def log_denial(
    *, request: ActorRequest, object_type: str, object_id: Any, owner_id: int | None = None
) -> None:
    """A refused request for an existing object (R14): one event per user, object and hour.

    The unique index ``securityevent_denial_once_per_hour`` decides in SQL; a repeated denial
    inserts nothing (ON CONFLICT DO NOTHING), so scanning one object cannot flood the table."""
    actor = request.actor
    event = SecurityEvent(
        at=timezone.now(),
        kind=DENIAL,
        user_id=actor.user.pk,
        organisation_id=actor.organisation_id,
        detail={
            "object_type": object_type,
            "object_id": str(object_id),
            # The organisation the object belongs to: its DPO sees who was refused, too.
            "owner_id": owner_id,
            "path": request.path[:300],
        },
        ip_address=request.META.get("REMOTE_ADDR"),
    )
    SecurityEvent.objects.bulk_create([event], ignore_conflicts=True)


def refuse(
    request: ActorRequest, object_type: str, object_id: Any, *, owner_id: int | None = None
) -> NoReturn:
    """Refuse an existing object: record the denial (R14), answer as for a missing one (R12)."""
    log_denial(request=request, object_type=object_type, object_id=object_id, owner_id=owner_id)
    raise Http404


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
