"""The data protection officer's door to a dossier's history (X2, X6)."""

from __future__ import annotations

import uuid

from django.http import Http404

from filum.cases.models import Case
from filum.records.models import ReadKind
from filum.records.services import log_read, refuse
from filum.tenancy.policy import SECTIONS, ActorRequest


def get_audited_case_for_actor(*, request: ActorRequest, case_id: uuid.UUID) -> Case:
    """A dossier of the actor's own organisation, for its audit. The audit shows the history
    of every section, so opening it logs a read of every section, of kind "audit": the DPO's
    reads are on the record like everyone else's. Anything else answers 404."""
    actor = request.actor
    case = Case.objects.select_related("client").filter(pk=case_id).first()
    if case is None:
        raise Http404
    if case.owner_id != actor.organisation_id or not actor.may("audit.read"):
        refuse(request, "case", case.pk, owner_id=case.owner_id)
    if request.method == "GET":
        log_read(
            actor=actor, case_id=case.pk, sections=SECTIONS, kind=ReadKind.AUDIT, path=request.path
        )
    return case
