"""The one door to a document: through its dossier's documents section. Missing and forbidden
both answer 404 (R12); a refused existing document leaves a security event (R14)."""

from __future__ import annotations

import uuid

from django.http import Http404
from django.utils import timezone

from filum.cases.permissions import case_access, record_reads
from filum.documents.models import Document
from filum.records.services import refuse
from filum.tenancy.policy import ActorRequest, Section


def get_document_for_actor(*, request: ActorRequest, document_id: uuid.UUID) -> Document:
    """A document the actor may read; fetching it logs the read of the documents section."""
    document = (
        Document.objects.select_related("case", "case__owner", "case__client")
        .filter(pk=document_id)
        .first()
    )
    if document is None:
        raise Http404
    access = case_access(actor=request.actor, case=document.case)
    uploaded_on = timezone.localdate(document.uploaded_at)
    if not access.can_read(Section.DOCUMENTS) or not access.in_period(uploaded_on):
        refuse(request, "document", document.pk, owner_id=document.case.owner_id)
    record_reads(request, access, [Section.DOCUMENTS])
    return document
