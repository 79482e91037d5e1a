"""The one door to a CII record: through its dossier (``filum.cases.permissions``).

The CII record page needs the dossier's **plan** section (decision 0020): the owner's
caseworkers reach it as their organisation's, the partner institutions through the share of
the journal and plan made for them on the CII authorisation, and nobody else. Forms that only
the owner may use (partners, lead coordinator, exit) name the extra action. Missing and
forbidden both answer 404 (R12); a refused existing record leaves a security event (R14)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from django.http import Http404

from filum.cases.permissions import CaseAccess, case_access, record_reads
from filum.cii.models import BODIES_OF_KIND, CiiCase
from filum.records.services import refuse
from filum.tenancy.policy import Actor, ActorRequest, Section


def may_open_cii_case(actor: Actor) -> bool:
    """Whether the actor may open a CII case for a person: an organisation that can be one
    of the three bodies, and the rights to open a dossier and share it."""
    return (
        actor.organisation.kind in BODIES_OF_KIND
        and actor.may("case.create")
        and actor.may("share.manage")
    )


def get_cii_case_for_actor(
    *,
    request: ActorRequest,
    case_id: uuid.UUID,
    need: str = Section.PLAN,
    write: bool = False,
    action: str | None = None,
    reads: Iterable[str] = (),
) -> tuple[CiiCase, CaseAccess]:
    """The CII record of a dossier whose section ``need`` the actor may read (or write), and,
    with ``action``, on which the policy allows that action too; the sections in ``reads``
    are logged as read."""
    record = (
        CiiCase.objects.filter(case_id=case_id)
        .select_related(
            "case",
            "case__owner",
            "case__client",
            "case__responsible",
            "case__team",
            "case__assistance_unit",
            "coordinator",
            "consent",
        )
        .first()
    )
    if record is None:
        raise Http404
    access = case_access(actor=request.actor, case=record.case)
    allowed = access.can_write(need) if write else access.can_read(need)
    if allowed and action is not None:
        allowed = access.may(action, need)
    if not allowed:
        refuse(request, "case", record.case_id, owner_id=record.owner_id)
    record_reads(request, access, reads)
    return record, access
