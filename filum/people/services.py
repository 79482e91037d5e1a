"""Creating and changing person records."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from filum.dates import check_dates
from filum.people.models import Person
from filum.tenancy.policy import Actor


class EditConflict(Exception):
    """Someone else saved the record after it was loaded (optimistic concurrency, R37)."""


def check_person_dates(data: dict[str, Any]) -> None:
    today = timezone.localdate()
    check_dates({"birth_date": data.get("birth_date")}, today=today, birth=True, future=False)
    check_dates({"arrival_date": data.get("arrival_date")}, today=today, future=False)


@transaction.atomic
def do_create_person(*, actor: Actor, data: dict[str, Any]) -> Person:
    check_person_dates(data)
    return Person.objects.create(registered_by_id=actor.organisation_id, **data)


@transaction.atomic
def do_update_person(*, person: Person, version: int, data: dict[str, Any]) -> Person:
    check_person_dates(data)
    updated = Person.objects.filter(pk=person.pk, version=version).update(
        **data, version=F("version") + 1
    )
    if updated == 0:
        raise EditConflict
    person.refresh_from_db()
    return person
