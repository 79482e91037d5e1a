"""The one door to a dossier: the actor's relation to it per section, the check, and the
log of what the page reads (issue 6 section 2, decision 0012)."""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from django.http import Http404

from filum.cases.models import Case, DossierTransfer, Share
from filum.prepared import PreparedQuery
from filum.records.models import ReadKind
from filum.records.services import log_read, refuse
from filum.tenancy.policy import SECTIONS, Actor, ActorRequest, Relation, Section, is_allowed


@dataclass(frozen=True)
class CaseAccess:
    """What the actor may do with each section of one dossier."""

    case: Case
    relations: dict[str, Relation]
    role: str
    # Reached only through a former owner's share: what is dated before this day (0026).
    period_until: datetime.date | None = None

    def can_read(self, section: str) -> bool:
        return is_allowed(self.role, f"{section}.read", self.relations[section])

    def can_write(self, section: str) -> bool:
        return is_allowed(self.role, f"{section}.write", self.relations[section])

    def may(self, action: str, section: str = Section.CORE) -> bool:
        return is_allowed(self.role, action, self.relations[section])

    @property
    def readable_sections(self) -> list[str]:
        return [s for s in SECTIONS if self.can_read(s)]

    @property
    def writable_sections(self) -> list[str]:
        return [s for s in SECTIONS if self.can_write(s)]

    @property
    def is_owner(self) -> bool:
        return self.relations[Section.CORE] in (Relation.OWN_CASE, Relation.OWN_ORG)

    def in_period(self, day: datetime.date) -> bool:
        """Whether a row dated ``day`` lies in what the actor may see: everything, or for a
        former owner its own period, before the cut-over."""
        return self.period_until is None or day < self.period_until


def period_of(shares: list[Share]) -> datetime.date | None:
    """The end of what the shares open: none (no limit) unless every one is a former
    owner's, then the latest cut-over."""
    if not shares or any(share.period_until is None for share in shares):
        return None
    return max(share.period_until for share in shares if share.period_until is not None)


def relations_for(actor: Actor, case: Case, shares: list[Share]) -> dict[str, Relation]:
    if case.owner_id == actor.organisation_id:
        own = Relation.OWN_CASE if case.responsible_id == actor.user.pk else Relation.OWN_ORG
        return {s: own for s in SECTIONS}
    relations: dict[str, Relation] = {str(s): Relation.OTHER for s in SECTIONS}
    for share in shares:
        for section in share.sections:
            if section not in relations:
                continue
            if share.access == Share.Access.WRITE:
                relations[section] = Relation.SHARED_WRITE
            elif relations[section] == Relation.OTHER:
                relations[section] = Relation.SHARED_READ
    return relations


def case_access(*, actor: Actor, case: Case) -> CaseAccess:
    """The actor's relation to each section of a dossier already fetched (one query for the
    actor's active shares of it, none for the owner). Grants nothing and logs nothing: pages
    go through ``get_case_for_actor``."""
    shares: list[Share] = []
    if case.owner_id != actor.organisation_id:
        shares = list(
            Share.objects.active().filter(case=case, organisation_id=actor.organisation_id)
        )
    return CaseAccess(
        case=case,
        relations=relations_for(actor, case, shares),
        role=actor.role,
        period_until=period_of(shares),
    )


def record_reads(
    request: ActorRequest,
    access: CaseAccess,
    reads: Iterable[str],
    *,
    kind: str = ReadKind.VIEW,
) -> None:
    """Log the read of the sections a page shows, among those the actor may read (X6, R25).

    Only a page that is shown counts: GET requests. A POST either redirects or shows the
    form again that its GET already logged."""
    if request.method != "GET":
        return
    shown = [s for s in reads if access.can_read(s)]
    if shown:
        log_read(
            actor=request.actor,
            case_id=access.case.pk,
            sections=shown,
            kind=kind,
            path=request.path,
        )


# The door's query is the same on every dossier page: compiled once per thread (decision 0015).
_DOOR = PreparedQuery(
    lambda case_id: Case.objects.select_related(
        "owner", "client", "responsible", "team", "assistance_unit"
    ).filter(pk=case_id)
)


def get_case_for_actor(
    *,
    request: ActorRequest,
    case_id: uuid.UUID,
    need: str | None = None,
    write: bool = False,
    reads: Iterable[str] = (),
    action: str | None = None,
) -> CaseAccess:
    """The one door to a dossier: fetch it, check the actor's access and log what it shows.

    ``need`` is the section the page needs to read (or, with ``write``, to write); without
    it the actor needs to read at least one section. ``reads`` names the sections the page
    shows: those the actor may read are logged as read. ``action`` is a dossier action the
    page also needs (checked before anything is logged). Missing and forbidden both raise the
    same 404 (R12); a refused existing dossier leaves a security event (R14)."""
    try:
        key = case_id if isinstance(case_id, uuid.UUID) else uuid.UUID(str(case_id))
    except ValueError:
        raise Http404 from None
    found = _DOOR.objects(key)
    if not found:
        raise Http404
    case = found[0]
    access = case_access(actor=request.actor, case=case)
    if need is None:
        allowed = bool(access.readable_sections)
    elif write:
        allowed = access.can_write(need)
    else:
        allowed = access.can_read(need)
    if action is not None:
        allowed = allowed and access.may(action)
    if not allowed:
        refuse(request, "case", case.pk, owner_id=case.owner_id)
    record_reads(request, access, reads)
    return access


def get_transfer_for_actor(
    *, request: ActorRequest, transfer_id: uuid.UUID, side: str
) -> DossierTransfer:
    """The one door to a dossier transfer offer (decision 0026): for the receiving service
    (``side="receiver"``: accept, decline; action ``case.transfer_decide``), the sending one
    (``"sender"``: withdraw; ``case.transfer_offer``) or either (``"either"``: reading it, as
    the offers list shows it to both; ``case.transfer_decide``). Missing and forbidden answer
    the same 404; a refused existing offer leaves a security event."""
    transfer = (
        DossierTransfer.objects.select_related(
            "case", "case__client", "owner", "receiver", "offered_by"
        )
        .filter(pk=transfer_id)
        .first()
    )
    if transfer is None:
        raise Http404
    actor = request.actor
    if side == "receiver":
        allowed = transfer.receiver_id == actor.organisation_id and actor.may(
            "case.transfer_decide"
        )
    elif side == "sender":
        allowed = transfer.owner_id == actor.organisation_id and actor.may("case.transfer_offer")
    else:
        allowed = actor.organisation_id in (
            transfer.owner_id,
            transfer.receiver_id,
        ) and actor.may("case.transfer_decide")
    if not allowed:
        refuse(request, "transfer", transfer.pk, owner_id=transfer.owner_id)
    return transfer
