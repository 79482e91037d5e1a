"""The REST API, version 1 (issue 9 item 6, decision 0028).

Every operation names its scope (the token must carry it) and goes through the same doors as
the pages: ``get_case_for_actor`` and the other ``get_..._for_actor`` functions check the
policy and log what the answer shows; forbidden and missing answer the same 404. Lists are
keyset pages behind an opaque cursor, visibility first, each in a fixed number of queries.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.http import HttpRequest
from ninja import Query, Router, Status

from filum.api import schemas as s
from filum.api.auth import TokenAuth, actor_of
from filum.api.paging import (
    DAY,
    INT,
    TEXT,
    UUID,
    Key,
    Paging,
    keyset_page,
    make_cursor,
    read_cursor,
)
from filum.api.problems import Problem
from filum.assessments.permissions import get_case_assessments_for_actor
from filum.assessments.services import case_assessments_page
from filum.cases import lists
from filum.cases.models import Case, CaseStatus
from filum.cases.permissions import get_case_for_actor
from filum.followup.models import Task
from filum.followup.texts import task_title
from filum.journal import services as journal_services
from filum.journal.models import Contact, Topic
from filum.journal.permissions import journal_in_reach
from filum.people.models import Person
from filum.people.permissions import get_person_for_actor
from filum.people.search import search_visible
from filum.plans.catalogue import Cursor, catalogue_page
from filum.plans.models import Measure, PlanGoal, Provider
from filum.plans.permissions import get_plan_for_actor
from filum.records.services import log_list_reads, log_person_list_reads
from filum.tenancy.policy import Section

router = Router()

ERRORS = {code: s.ProblemOut for code in (400, 401, 403, 404, 422, 429)}


def _answers(ok: Any, code: int = 200) -> dict[int, Any]:
    return {code: ok, **ERRORS}


# the order of each list (keyset), newest or first due first where that is what is wanted
PERSON_KEYS = (Key("pk", UUID),)
DOSSIER_KEYS = (Key("-opened_on", DAY), Key("-number", INT))
JOURNAL_KEYS = (Key("-date", DAY), Key("-pk", INT))
TASK_KEYS = (Key("due_on", DAY), Key("pk", INT))
ASSESSMENT_KEYS = (Key("-assessed_on", DAY), Key("-pk", UUID))
MEASURE_KEYS = (Key("pk", INT),)
CATALOGUE_KEYS = (Key("name", TEXT), Key("pk", INT))


# --- persons ---------------------------------------------------------------------------------


def _person(person: Person) -> dict[str, Any]:
    return {
        "id": person.pk,
        "last_name": person.last_name,
        "first_name": person.first_name,
        "birth_date": person.birth_date,
        "birth_date_known": person.birth_date_known,
        "sex": person.sex,
    }


@router.get(
    "/persons",
    response=_answers(s.PersonPage),
    auth=TokenAuth("persons:read"),
    url_name="api_persons",
    operation_id="list_persons",
)
def list_persons(request: HttpRequest, paging: Query[Paging]) -> Any:
    """The persons the organisation may see (registered by it, or of a dossier it reads), in
    a stable order (by id). Searching by name is a POST: names stay out of URLs (R32)."""
    actor = actor_of(request, "person.search")
    key = read_cursor(paging.cursor, PERSON_KEYS)
    persons = Person.objects.visible_after(
        actor, after=key[0] if key else None, size=paging.limit + 1
    )
    rows, next_cursor = keyset_page(persons, keys=PERSON_KEYS, key=key, limit=paging.limit)
    log_person_list_reads(actor=actor, person_ids=[p.pk for p in rows], path=request.path)
    return {"items": [_person(p) for p in rows], "next_cursor": next_cursor}


@router.post(
    "/persons/search",
    response=_answers(s.PersonList),
    auth=TokenAuth("persons:read"),
    url_name="api_person_search",
    operation_id="search_persons",
)
def search_persons(request: HttpRequest, body: s.PersonSearchIn) -> Any:
    """The best 50 matches by name among the persons the organisation may see."""
    actor = actor_of(request, "person.search")
    rows = search_visible(actor=actor, text=body.q)
    log_person_list_reads(actor=actor, person_ids=[p.pk for p in rows], path=request.path)
    return {"items": [_person(p) for p in rows]}


@router.get(
    "/persons/{person_id}",
    response=_answers(s.PersonDetailOut),
    auth=TokenAuth("persons:read"),
    url_name="api_person",
    operation_id="get_person",
)
def get_person(request: HttpRequest, person_id: uuid.UUID) -> Any:
    actor_of(request, "core.read")
    person = get_person_for_actor(request=request, person_id=person_id, reads=[Section.CORE])  # type: ignore[arg-type]
    return {
        **_person(person),
        "nationality": person.nationality,
        "residence_status": person.residence_status,
        "ahv_number": person.ahv_number,
        "street": person.street,
        "postal_code": person.postal_code,
        "city": person.city,
    }


# --- dossiers --------------------------------------------------------------------------------


def _dossier(case: Case) -> dict[str, Any]:
    return {
        "id": case.pk,
        "number": case.number,
        "owner_id": case.owner_id,
        "client_id": case.client_id,
        "domain": case.domain,
        "status": case.status,
        "stage": case.stage,
        "segment": case.segment,
        "opened_on": case.opened_on,
        "closed_on": case.closed_on,
        "responsible_id": case.responsible_id,
        "title": case.title,
    }


class DossierFilter(Paging):
    status: CaseStatus | None = None


@router.get(
    "/cases",
    response=_answers(s.DossierPage),
    auth=TokenAuth("cases:read"),
    url_name="api_cases",
    operation_id="list_cases",
)
def list_cases(request: HttpRequest, filters: Query[DossierFilter]) -> Any:
    """The dossiers whose core data the organisation may read (its own and those shared with
    it), newest first: the dossier list of the pages (``filum.cases.lists``)."""
    actor = actor_of(request, "case.list")
    key = read_cursor(filters.cursor, DOSSIER_KEYS)
    page = lists.dossier_page(
        actor,
        scope="org",
        status=filters.status.value if filters.status else "all",
        cursor=(key[0], key[1]) if key else None,
        size=filters.limit,
    )
    log_list_reads(
        actor=actor, case_ids=[c.pk for c in page.rows], section=Section.CORE, path=request.path
    )
    next_cursor = None
    if page.next_cursor:
        day, number = page.next_cursor.split("_")
        next_cursor = make_cursor([day, int(number)])
    return {"items": [_dossier(c) for c in page.rows], "next_cursor": next_cursor}


@router.get(
    "/cases/{case_id}",
    response=_answers(s.DossierOut),
    auth=TokenAuth("cases:read"),
    url_name="api_case",
    operation_id="get_case",
)
def get_case(request: HttpRequest, case_id: uuid.UUID) -> Any:
    actor_of(request, "core.read")
    access = get_case_for_actor(
        request=request,  # type: ignore[arg-type]
        case_id=case_id,
        need=Section.CORE,
        reads=[Section.CORE],
    )
    return _dossier(access.case)


# --- journal ---------------------------------------------------------------------------------


def _contact(contact: Contact) -> dict[str, Any]:
    return {
        "id": contact.pk,
        "date": contact.date,
        "kind": contact.kind,
        "topic": contact.topic.code,
        "participants": contact.participants,
        "duration_minutes": contact.duration_minutes,
        "note": contact.note,
        "counts": contact.counts,
        "is_face_to_face": contact.is_face_to_face,
        "author_organisation_id": contact.author_organisation_id,
        "corrects_id": contact.supersedes_id,
        "recorded_at": contact.recorded_at,
    }


@router.get(
    "/cases/{case_id}/journal",
    response=_answers(s.ContactPage),
    auth=TokenAuth("journal:read"),
    url_name="api_journal",
    operation_id="list_journal",
)
def list_journal(request: HttpRequest, case_id: uuid.UUID, paging: Query[Paging]) -> Any:
    """The dossier's journal (current versions, not retracted), newest first."""
    actor_of(request, "journal.read")
    key = read_cursor(paging.cursor, JOURNAL_KEYS)
    access = get_case_for_actor(
        request=request,  # type: ignore[arg-type]
        case_id=case_id,
        need=Section.JOURNAL,
        reads=[Section.JOURNAL],
    )
    rows, next_cursor = keyset_page(
        journal_in_reach(access).select_related("topic"),
        keys=JOURNAL_KEYS,
        key=key,
        limit=paging.limit,
    )
    return {"items": [_contact(c) for c in rows], "next_cursor": next_cursor}


@router.post(
    "/cases/{case_id}/journal",
    response=_answers(s.ContactOut, 201),
    auth=TokenAuth("journal:write"),
    url_name="api_journal_create",
    operation_id="create_journal_entry",
)
def create_journal_entry(request: HttpRequest, case_id: uuid.UUID, body: s.ContactIn) -> Any:
    """Record a journal entry; the same rules as the page (S6, S7): no future date, none
    before the dossier was opened, an active topic, a duration for face-to-face interviews."""
    actor = actor_of(request, "journal.write")
    access = get_case_for_actor(
        request=request,  # type: ignore[arg-type]
        case_id=case_id,
        need=Section.JOURNAL,
        write=True,
    )
    topic = Topic.objects.filter(code=body.topic).first()
    if topic is None:
        raise Problem(
            422,
            "The entry was not recorded.",
            kind="invalid-input",
            errors=[{"loc": ["body", "topic"], "msg": "Unknown topic."}],
        )
    try:
        with transaction.atomic():
            contact = journal_services.do_record_contact(
                actor=actor,
                case=access.case,
                kind=body.kind,
                date=body.date,
                topic=topic,
                participants=body.participants,
                duration_minutes=body.duration_minutes,
                note=body.note,
            )
    except DjangoValidationError as exc:
        raise Problem(
            422,
            "The entry was not recorded.",
            kind="invalid-input",
            errors=[
                {"loc": ["body", field], "msg": str(message)}
                for field, messages in exc.message_dict.items()
                for message in messages
            ],
        ) from exc
    contact.topic = topic
    return Status(201, _contact(contact))


# --- tasks, assessments, plans ---------------------------------------------------------------


@router.get(
    "/cases/{case_id}/tasks",
    response=_answers(s.TaskPage),
    auth=TokenAuth("tasks:read"),
    url_name="api_tasks",
    operation_id="list_tasks",
)
def list_tasks(request: HttpRequest, case_id: uuid.UUID, paging: Query[Paging]) -> Any:
    """The dossier's tasks that belong to the organisation (decision 0012), by due date."""
    actor = actor_of(request, "core.read")
    key = read_cursor(paging.cursor, TASK_KEYS)
    access = get_case_for_actor(
        request=request,  # type: ignore[arg-type]
        case_id=case_id,
        need=Section.CORE,
        reads=[Section.CORE],
    )
    rows, next_cursor = keyset_page(
        Task.objects.filter(case=access.case, owner_id=actor.organisation_id),
        keys=TASK_KEYS,
        key=key,
        limit=paging.limit,
    )
    items = [
        {
            "id": t.pk,
            "kind": t.kind,
            "title": task_title(t),
            "due_on": t.due_on,
            "status": t.status,
            "assigned_to_id": t.assigned_to_id,
            "assigned_role": t.assigned_role,
            "closed_at": t.closed_at,
        }
        for t in rows
    ]
    return {"items": items, "next_cursor": next_cursor}


@router.get(
    "/cases/{case_id}/assessments",
    response=_answers(s.AssessmentPage),
    auth=TokenAuth("assessments:read"),
    url_name="api_assessments",
    operation_id="list_assessments",
)
def list_assessments(request: HttpRequest, case_id: uuid.UUID, paging: Query[Paging]) -> Any:
    """The dossier's assessments of record, newest first (the page's list)."""
    actor_of(request, "assessment.read")
    key = read_cursor(paging.cursor, ASSESSMENT_KEYS)
    before = (key[0], key[1]) if key else None
    access = get_case_assessments_for_actor(
        request=request,  # type: ignore[arg-type]
        case_id=case_id,
        reads=[Section.ASSESSMENT],
    )
    rows, last = case_assessments_page(access.case, before=before, size=paging.limit)
    items = [
        {
            "id": a.pk,
            "person_id": a.person_id,
            "template": a.version.template.code,
            "assessed_on": a.assessed_on,
            "status": a.status,
            "finalised_at": a.finalised_at,
        }
        for a in rows
    ]
    return {
        "items": items,
        "next_cursor": make_cursor(last) if last else None,
    }


@router.get(
    "/cases/{case_id}/plan",
    response=_answers(s.PlanOut),
    auth=TokenAuth("plans:read"),
    url_name="api_plan",
    operation_id="get_plan",
)
def get_plan(request: HttpRequest, case_id: uuid.UUID) -> Any:
    """The dossier's integration plan and its goals; 404 while no plan is made."""
    actor_of(request, "plan.read")
    plan_access = get_plan_for_actor(request=request, case_id=case_id)  # type: ignore[arg-type]
    plan = plan_access.plan
    if plan is None:
        raise Problem(404, "Not found.")
    goals = PlanGoal.objects.filter(plan=plan).order_by("pk")
    return {
        "id": plan.pk,
        "template_id": plan.template_id,
        "created_at": plan.created_at,
        "goals": [
            {
                "id": g.pk,
                "key": g.key,
                "status": g.status,
                "status_on": g.status_on,
                "target_date": g.target_date,
            }
            for g in goals
        ],
    }


@router.get(
    "/cases/{case_id}/measures",
    response=_answers(s.MeasurePage),
    auth=TokenAuth("plans:read"),
    url_name="api_measures",
    operation_id="list_measures",
)
def list_measures(request: HttpRequest, case_id: uuid.UUID, paging: Query[Paging]) -> Any:
    """The measures of the dossier's plan, in the order they were made."""
    actor_of(request, "plan.read")
    key = read_cursor(paging.cursor, MEASURE_KEYS)
    plan_access = get_plan_for_actor(request=request, case_id=case_id)  # type: ignore[arg-type]
    rows, next_cursor = keyset_page(
        Measure.objects.filter(case_id=plan_access.case.pk),
        keys=MEASURE_KEYS,
        key=key,
        limit=paging.limit,
    )
    items = [
        {
            "id": m.pk,
            "title": m.title,
            "category": m.category,
            "status": m.status,
            "programme_id": m.programme_id,
            "provider_id": m.provider_id,
            "planned_start": m.planned_start,
            "planned_end": m.planned_end,
            "actual_start": m.actual_start,
            "actual_end": m.actual_end,
            "result": m.result,
        }
        for m in rows
    ]
    return {"items": items, "next_cursor": next_cursor}


# --- the canton's catalogue ------------------------------------------------------------------


@router.get(
    "/providers",
    response=_answers(s.ProviderPage),
    auth=TokenAuth("catalogue:read"),
    url_name="api_providers",
    operation_id="list_providers",
)
def list_providers(request: HttpRequest, paging: Query[Paging]) -> Any:
    """The providers of the organisation's canton, by name."""
    actor = actor_of(request, "catalogue.read")
    key = read_cursor(paging.cursor, CATALOGUE_KEYS)
    rows, next_cursor = keyset_page(
        Provider.objects.filter(canton=actor.organisation.canton),
        keys=CATALOGUE_KEYS,
        key=key,
        limit=paging.limit,
    )
    items = [
        {"id": p.pk, "name": p.name, "kind": p.kind, "canton": p.canton, "is_active": p.is_active}
        for p in rows
    ]
    return {"items": items, "next_cursor": next_cursor}


@router.get(
    "/programmes",
    response=_answers(s.ProgrammePage),
    auth=TokenAuth("catalogue:read"),
    url_name="api_programmes",
    operation_id="list_programmes",
)
def list_programmes(request: HttpRequest, paging: Query[Paging]) -> Any:
    """The active programmes of the organisation's canton by name, with their periods that
    have not ended and the places taken: the catalogue page's list."""
    actor = actor_of(request, "catalogue.read")
    key = read_cursor(paging.cursor, CATALOGUE_KEYS)
    page = catalogue_page(
        canton=actor.organisation.canton,
        cursor=Cursor(name=key[0], pk=key[1]) if key else None,
        size=paging.limit,
    )
    items = [
        {
            "id": row.programme.pk,
            "name": row.programme.name,
            "category": row.programme.category,
            "provider_id": row.programme.provider_id,
            "cost_per_place": str(row.programme.cost_per_place),
            "periods": [
                {
                    "id": p.pk,
                    "starts_on": p.starts_on,
                    "ends_on": p.ends_on,
                    "places": p.places,
                    "taken": p.taken,
                    "waiting": p.waiting,
                }
                for p in row.periods
            ],
        }
        for row in page.rows
    ]
    last = page.next_cursor
    return {
        "items": items,
        "next_cursor": make_cursor([last.name, last.pk]) if last else None,
    }
