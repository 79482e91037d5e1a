from __future__ import annotations

import uuid

from django.http import Http404

from filum.people.models import Person
from filum.tenancy.policy import Actor


def get_person_for_actor(*, actor: Actor, person_id: uuid.UUID, write: bool = False) -> Person:
    """A person the actor may see (or change); missing and forbidden both answer 404."""
    qs = Person.objects.visible_to(actor, write=write)
    try:
        return qs.get(pk=person_id)
    except Person.DoesNotExist as exc:
        raise Http404 from exc
