"""The one door to a journal entry: through its dossier's journal section. Missing and
forbidden both answer 404 (R12); a refused existing entry leaves a security event (R14)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from django.db.models import QuerySet
from django.http import Http404

from filum.cases.permissions import CaseAccess, case_access, record_reads
from filum.journal.models import Contact
from filum.records.services import refuse
from filum.tenancy.policy import ActorRequest, Section


def get_contact_for_actor(
    *,
    request: ActorRequest,
    case_id: uuid.UUID,
    contact_id: int,
    write: bool = False,
    reads: Iterable[str] = (),
) -> tuple[Contact, CaseAccess]:
    """An entry of the dossier's journal that the actor may read (or write), with the
    actor's access to the dossier; the sections in ``reads`` are logged as read."""
    contact = (
        Contact.objects.filter(pk=contact_id, case_id=case_id)
        .select_related("topic", "recorded_by", "case", "case__owner", "case__client")
        .first()
    )
    if contact is None:
        raise Http404
    access = case_access(actor=request.actor, case=contact.case)
    allowed = access.can_write(Section.JOURNAL) if write else access.can_read(Section.JOURNAL)
    if not allowed or not access.in_period(contact.date):
        refuse(request, "contact", contact.pk, owner_id=contact.case.owner_id)
    record_reads(request, access, reads)
    return contact, access


def journal_in_reach(access: CaseAccess) -> QuerySet[Contact]:
    """The dossier's current journal entries the access opens: all of them, or for a former
    owner those dated before the cut-over (decision 0026). Every list of a journal (page,
    API) starts here."""
    contacts = Contact.objects.visible().filter(case=access.case)
    if access.period_until is not None:
        contacts = contacts.filter(date__lt=access.period_until)
    return contacts
