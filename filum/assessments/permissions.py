"""The doors to assessments and templates (decision 0012).

Assessments live in their dossier's ``assessment`` section: the dossier's organisation reads and
writes them per the policy, another organisation only through a share of that section.
Templates belong to a canton: the canton's integration officers (``template.manage``) edit those
of their own organisation's canton. Missing and forbidden both answer 404 (R12); a refused
existing object leaves a security event (R14).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from django.http import Http404

from filum.assessments import services
from filum.assessments.models import (
    Assessment,
    AssessmentLink,
    AssessmentTemplate,
    CodeList,
    TemplateField,
    TemplateSection,
    TemplateVersion,
)
from filum.cases.models import Case
from filum.cases.permissions import CaseAccess, case_access, get_case_for_actor, record_reads
from filum.people.models import Person
from filum.records.models import ReadKind
from filum.records.services import log_list_reads, refuse
from filum.tenancy.policy import ActorRequest, Section

ASSESSMENT = Section.ASSESSMENT


def get_case_assessments_for_actor(
    *, request: ActorRequest, case_id: uuid.UUID, write: bool = False, reads: Iterable[str] = ()
) -> CaseAccess:
    """A dossier whose assessment section the actor may read (write)."""
    return get_case_for_actor(
        request=request, case_id=case_id, need=ASSESSMENT, write=write, reads=reads
    )


def get_assessment_for_actor(
    *,
    request: ActorRequest,
    case_id: uuid.UUID,
    assessment_id: uuid.UUID,
    write: bool = False,
    reads: Iterable[str] = (ASSESSMENT,),
    kind: str = ReadKind.VIEW,
) -> tuple[Assessment, CaseAccess]:
    """An assessment of the dossier that the actor may read (or write), with the actor's
    access to the dossier; the sections in ``reads`` are logged as read."""
    assessment = (
        Assessment.objects.filter(pk=assessment_id, case_id=case_id)
        .select_related(
            "case__owner",
            "case__client",
            "person",
            "version__template",
            "created_by",
            "finalised_by",
            "reviewed_by",
            "third_party_link__provider",
        )
        .first()
    )
    if assessment is None:
        raise Http404
    access = case_access(actor=request.actor, case=assessment.case)
    allowed = access.can_write(ASSESSMENT) if write else access.can_read(ASSESSMENT)
    if not allowed:
        refuse(request, "assessment", assessment.pk, owner_id=assessment.case.owner_id)
    record_reads(request, access, reads, kind=kind)
    return assessment, access


def get_link_for_actor(
    *, request: ActorRequest, case_id: uuid.UUID, link_id: uuid.UUID
) -> tuple[AssessmentLink, CaseAccess]:
    """A third-party link of the dossier that the actor may manage (write access to the
    dossier's assessments). Nothing of the dossier is shown, so no read is logged."""
    link = (
        AssessmentLink.objects.filter(pk=link_id, case_id=case_id)
        .select_related("case__owner", "case__client")
        .first()
    )
    if link is None:
        raise Http404
    access = case_access(actor=request.actor, case=link.case)
    if not access.can_write(ASSESSMENT):
        refuse(request, "link", link.pk, owner_id=link.case.owner_id)
    return link, access


def _person_of_case(
    request: ActorRequest, case_id: uuid.UUID, person_id: uuid.UUID
) -> tuple[Person, CaseAccess]:
    """The client or a household member of a dossier whose assessment section the actor may
    read. A refusal is recorded against the person (the page is about them)."""
    case = (
        Case.objects.select_related("owner", "client", "assistance_unit").filter(pk=case_id).first()
    )
    if case is None:
        raise Http404
    access = case_access(actor=request.actor, case=case)
    person = next((p for p in services.persons_of_case(case) if p.pk == person_id), None)
    if not access.can_read(ASSESSMENT):
        refuse(request, "person", person_id, owner_id=case.owner_id)
    if person is None:
        if Person.objects.filter(pk=person_id).exists():
            refuse(request, "person", person_id, owner_id=case.owner_id)
        raise Http404
    return person, access


def _log_assessment_reads(
    request: ActorRequest,
    access: CaseAccess,
    case_ids: Iterable[uuid.UUID],
    kind: str = ReadKind.VIEW,
    *,
    entry: bool = True,
) -> None:
    """The read of the entry dossier's assessments (unless ``entry`` is false: its door
    logged it), and of every other dossier whose assessments the page shows (all of them
    readable: they came through ``readable_cases``)."""
    if entry:
        record_reads(request, access, [ASSESSMENT], kind=kind)
    if request.method != "GET":
        return
    others = sorted(set(case_ids) - {access.case.pk}, key=str)
    log_list_reads(
        actor=request.actor, case_ids=others, section=ASSESSMENT, kind=kind, path=request.path
    )


@dataclass
class PersonAssessments:
    access: CaseAccess
    history: services.PersonHistory
    synthesis: services.Synthesis


def get_person_history_for_actor(
    *,
    request: ActorRequest,
    case_id: uuid.UUID,
    person_id: uuid.UUID,
    kind: str = ReadKind.VIEW,
) -> PersonAssessments:
    """A person's assessment history and synthesis, reached through one of their dossiers,
    from every dossier whose assessment section the actor may read; each dossier shown is
    logged as read."""
    person, access = _person_of_case(request, case_id, person_id)
    history = services.person_history(actor=request.actor, person=person)
    synthesis = services.synthesis_from_lines(person.pk, history.lines)
    _log_assessment_reads(request, access, history.case_ids, kind)
    return PersonAssessments(access=access, history=history, synthesis=synthesis)


def get_synthesis_for_actor(
    *, request: ActorRequest, case_id: uuid.UUID, person_id: uuid.UUID
) -> services.Synthesis:
    """The synthesis of a person of a dossier (for a page such as the integration plan that
    includes ``assessments/_synthesis.html``); the dossiers it draws on are logged as read."""
    person, access = _person_of_case(request, case_id, person_id)
    synthesis = services.synthesis_for(actor=request.actor, person_id=person.pk)
    _log_assessment_reads(request, access, synthesis.case_ids)
    return synthesis


def synthesis_for_access(
    request: ActorRequest, access: CaseAccess, *, entry_logged: bool = False
) -> services.Synthesis:
    """The synthesis of the client of a dossier the page already opened through its door
    (the integration plan): the entry dossier's and the other dossiers' assessment reads are
    logged (the entry dossier's not again when the door logged it: ``entry_logged``)."""
    synthesis = services.synthesis_for(actor=request.actor, person_id=access.case.client_id)
    _log_assessment_reads(request, access, synthesis.case_ids, entry=not entry_logged)
    return synthesis


# --- templates --------------------------------------------------------------------------------


def _own_canton(request: ActorRequest, canton: str, kind: str, pk: int) -> None:
    if canton != request.actor.organisation.canton:
        refuse(request, kind, pk)


def get_template_for_actor(*, request: ActorRequest, template_id: int) -> AssessmentTemplate:
    template = AssessmentTemplate.objects.filter(pk=template_id).first()
    if template is None:
        raise Http404
    _own_canton(request, template.canton, "template", template.pk)
    return template


def get_version_for_actor(*, request: ActorRequest, version_id: int) -> TemplateVersion:
    version = (
        TemplateVersion.objects.filter(pk=version_id)
        .select_related("template", "created_by", "published_by")
        .first()
    )
    if version is None:
        raise Http404
    _own_canton(request, version.template.canton, "version", version.pk)
    return version


def get_section_for_actor(*, request: ActorRequest, section_id: int) -> TemplateSection:
    section = (
        TemplateSection.objects.filter(pk=section_id).select_related("version__template").first()
    )
    if section is None:
        raise Http404
    _own_canton(request, section.version.template.canton, "section", section.pk)
    return section


def get_field_for_actor(*, request: ActorRequest, field_id: int) -> TemplateField:
    found = (
        TemplateField.objects.filter(pk=field_id)
        .select_related("version__template", "section", "code_list")
        .first()
    )
    if found is None:
        raise Http404
    _own_canton(request, found.version.template.canton, "field", found.pk)
    return found


def get_code_list_for_actor(*, request: ActorRequest, codelist_id: int) -> CodeList:
    code_list = CodeList.objects.filter(pk=codelist_id).select_related("version__template").first()
    if code_list is None:
        raise Http404
    _own_canton(request, code_list.version.template.canton, "codelist", code_list.pk)
    return code_list
