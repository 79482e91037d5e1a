"""The one access path to a dossier: relation of the actor to it, per section."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from django.http import Http404

from filum.cases.models import Case, Share
from filum.tenancy.policy import SECTIONS, Actor, Relation, Section, is_allowed


@dataclass(frozen=True)
class CaseAccess:
    """What the actor may do with each section of one dossier."""

    case: Case
    relations: dict[str, Relation]
    role: str

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


def get_case_access(
    *, actor: Actor, case_id: uuid.UUID, section: str | None = None, write: bool = False
) -> CaseAccess:
    """Fetch a dossier with the actor's access to it.

    Without ``section`` the actor needs to read at least one section; with it, they need to
    read (or write) that section. Missing and forbidden both raise the same 404 (R12)."""
    case = (
        Case.objects.select_related("owner", "client", "responsible", "team", "assistance_unit")
        .filter(pk=case_id)
        .first()
    )
    if case is None:
        raise Http404
    shares = []
    if case.owner_id != actor.organisation_id:
        shares = list(
            Share.objects.active().filter(case=case, organisation_id=actor.organisation_id)
        )
    access = CaseAccess(case=case, relations=relations_for(actor, case, shares), role=actor.role)
    if section is None:
        allowed = bool(access.readable_sections)
    elif write:
        allowed = access.can_write(section)
    else:
        allowed = access.can_read(section)
    if not allowed:
        raise Http404
    return access
