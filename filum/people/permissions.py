"""The one door to a person record. Missing and forbidden both answer 404 (R12); a refused
existing person leaves a security event (R14)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from django.http import Http404

from filum.people.models import Person
from filum.records.services import log_read, refuse
from filum.tenancy.policy import ActorRequest


def get_person_for_actor(
    *,
    request: ActorRequest,
    person_id: uuid.UUID,
    write: bool = False,
    reads: Iterable[str] = (),
) -> Person:
    """A person the actor may see (or change). ``reads`` names the sections of the person
    record a page shows (``core``); on GET they are logged as read."""
    actor = request.actor
    person = Person.objects.visible_to(actor, write=write).filter(pk=person_id).first()
    if person is None:
        registered_by = (
            Person.objects.filter(pk=person_id).values_list("registered_by_id", flat=True).first()
        )
        if registered_by is not None:
            refuse(request, "person", person_id, owner_id=registered_by)
        raise Http404
    sections = list(reads)
    if sections and request.method == "GET":
        log_read(actor=actor, person_id=person.pk, sections=sections, path=request.path)
    return person
