"""Bad dates cannot break a dossier (issue 6 §4, R15, decision 0008).

Every date field of every form refuses implausible dates with a message next to the field and
stores nothing; the database refuses them when a form is bypassed; the rules engine evaluates
whatever is stored without raising; and a dossier at the edges of the allowed range shows its
steering page, panel and journal.
"""

from __future__ import annotations

import datetime
import html
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.db import IntegrityError, connection, transaction
from django.urls import reverse
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from filum.cases.models import (
    Case,
    CaseTransition,
    Consent,
    SegmentAssignment,
    SegmentCriterion,
    Share,
    TransferReport,
)
from filum.dates import BIRTH_FLOOR, DATE_FLOOR, STORED_CEILING, add_days, latest_allowed
from filum.followup import lifecycle, segments
from filum.followup.models import Task
from filum.followup.rules import (
    DEFAULT_RULES,
    CaseFacts,
    ContactRecord,
    Level,
    SegmentPeriod,
    add_months,
    evaluate_case,
    plan_norm,
    segment_state,
    tally_contacts,
)
from filum.journal import services as journal
from filum.journal.models import Contact, ServiceAgreement, Topic
from filum.people.models import Person
from tests import factories

MIN, MAX = datetime.date.min, datetime.date.max
ONE_DAY = datetime.timedelta(days=1)


def today() -> datetime.date:
    return timezone.localdate()


def text(response: Any) -> str:
    return html.unescape(response.content.decode())


def extremes() -> list[datetime.date]:
    """The dates the brief names, plus the edges of the stored range."""
    t = today()
    return [
        MIN,
        datetime.date(1, 1, 2),
        BIRTH_FLOOR - ONE_DAY,
        BIRTH_FLOOR,
        DATE_FLOOR - ONE_DAY,
        DATE_FLOOR,
        t,
        t + ONE_DAY,
        t + datetime.timedelta(days=366),
        latest_allowed(t),
        latest_allowed(t) + ONE_DAY,
        STORED_CEILING - ONE_DAY,
        STORED_CEILING,
        MAX - ONE_DAY,
        MAX,
    ]


def outside(earliest: datetime.date, latest: datetime.date) -> st.SearchStrategy[datetime.date]:
    """Dates a field must refuse: the named extremes outside [earliest, latest], and any other
    date before or after."""
    named = [d for d in extremes() if d < earliest or d > latest]
    return st.one_of(
        st.sampled_from(named),
        st.dates(max_value=earliest - ONE_DAY),
        st.dates(min_value=latest + ONE_DAY),
    )


def stored(world: Any) -> tuple[Any, ...]:
    """Everything a date form could write, to show that nothing changed."""
    return (
        list(Case.objects.order_by("pk").values()),
        list(Person.objects.order_by("pk").values()),
        *(
            model.objects.count()
            for model in (
                Contact,
                Consent,
                Share,
                Task,
                ServiceAgreement,
                SegmentAssignment,
                TransferReport,
                CaseTransition,
            )
        ),
    )


def criterion(segment: str) -> SegmentCriterion:
    return SegmentCriterion.objects.filter(segment=segment, is_active=True).first()


def to_confirmed_proposal(world: Any, on: datetime.date | None = None) -> dict[str, Any]:
    """Intake 2 (from ``on``) with a confirmed first segment, ready for the transfer."""
    case = lifecycle.do_accept_intake(
        actor=world.worker.actor, case=world.case, reason="Compétent", on=on
    )
    proposal = segments.do_propose_segment(
        actor=world.worker.actor,
        case=case,
        segment="B",
        criteria=[criterion("B")],
        justification="Besoin de conseils.",
    )
    segments.do_confirm_proposal(actor=world.head.actor, proposal=proposal)
    proposal.refresh_from_db()
    return {"case": case, "proposal": proposal}


def with_contact(world: Any) -> dict[str, Any]:
    contact = journal.do_record_contact(
        actor=world.worker.actor,
        case=world.case,
        kind="interview",
        date=today() - ONE_DAY,
        topic=Topic.objects.get(code="health"),
        duration_minutes=30,
    )
    return {"contact": contact.pk}


def nothing(world: Any) -> dict[str, Any]:
    return {}


@dataclass(frozen=True)
class DateField:
    """One date field of one form: where it is posted, by whom, with which otherwise valid
    data, and the range it accepts (relative to today and the dossier's opening)."""

    url: str
    field: str
    data: Callable[[Any], dict[str, Any]]
    accepts: Callable[[Any], tuple[datetime.date, datetime.date]]
    persona: str = "worker"
    prepare: Callable[[Any], dict[str, Any]] = nothing
    method: str = "post"

    def path(self, world: Any, ctx: dict[str, Any]) -> str:
        if self.url in ("person_create", "person_duplicates"):
            return reverse(self.url)
        if self.url == "person_edit":
            return reverse(self.url, args=[world.case.client_id])
        if self.url == "case_create":
            return reverse(self.url, args=[world.case.client_id])
        if self.url == "contact_correct":
            return reverse(self.url, args=[world.case.pk, ctx["contact"]])
        return reverse(self.url, args=[world.case.pk])


def person(world: Any) -> dict[str, Any]:
    return {
        "last_name": "Plausible",
        "first_name": "Date",
        "birth_date": "1985-03-14",
        "sex": "f",
        "nationality": "CH",
        "residence_status": "swiss",
        "arrival_date": "",
        "languages": "fr",
        "ahv_number": "",
        "street": "Rue du Marché 1",
        "postal_code": "2502",
        "city": "Biel/Bienne",
        "phone": "",
        "email": "",
        "confirm_new": "1",
    }


def person_edit(world: Any) -> dict[str, Any]:
    client = world.case.client
    return {**person(world), "version": client.version}


def case_data(world: Any) -> dict[str, Any]:
    return {
        "domain": "economic_aid",
        "title": "Soutien",
        "opened_on": today().isoformat(),
        "responsible": world.worker.user.pk,
        "version": world.case.version,
    }


def contact(world: Any) -> dict[str, Any]:
    return {
        "kind": "interview",
        "date": today().isoformat(),
        "topic": Topic.objects.get(code="health").pk,
        "duration_minutes": "40",
        "participants": "",
        "note": "",
        "correction_reason": "Date",
    }


def past(world: Any) -> tuple[datetime.date, datetime.date]:
    return DATE_FLOOR, today()


def birth(world: Any) -> tuple[datetime.date, datetime.date]:
    return BIRTH_FLOOR, today()


def since_opening(world: Any) -> tuple[datetime.date, datetime.date]:
    return world.case.opened_on, today()


def ahead(world: Any) -> tuple[datetime.date, datetime.date]:
    return DATE_FLOOR, latest_allowed(today())


def from_today(world: Any) -> tuple[datetime.date, datetime.date]:
    return today(), latest_allowed(today())


FIELDS = [
    DateField("person_create", "birth_date", person, birth),
    DateField("person_create", "arrival_date", person, past),
    DateField("person_edit", "birth_date", person_edit, birth),
    DateField("person_duplicates", "birth_date", person, birth),
    DateField("case_create", "opened_on", case_data, past),
    DateField("case_edit", "opened_on", case_data, past),
    DateField(
        "case_close",
        "closed_on",
        lambda w: {"closed_on": "", "reason": "employment", "note": ""},
        since_opening,
    ),
    DateField(
        "share_create",
        "valid_until",
        lambda w: {
            "organisation": w.partner_org.pk,
            "sections": ["journal"],
            "access": "read",
            "basis": "legal",
            "consent": "",
            "reason": "Mandat",
        },
        from_today,
    ),
    *(
        DateField(
            "consent_create",
            name,
            lambda w: {
                "kind": "general",
                "scope": "Tout le dossier",
                "signed_on": (today() - ONE_DAY).isoformat(),
                "valid_until": "",
            },
            accepts,
        )
        for name, accepts in (("signed_on", since_opening), ("valid_until", ahead))
    ),
    DateField("contact_create", "date", contact, since_opening),
    DateField("contact_correct", "date", contact, since_opening, prepare=with_contact),
    *(
        DateField(
            "service_agreement",
            name,
            lambda w: {
                "has_agreement": "yes",
                "signed_on": (today() - ONE_DAY).isoformat(),
                "valid_until": "",
                "summary": "Recherche d'emploi",
            },
            accepts,
        )
        for name, accepts in (("signed_on", since_opening), ("valid_until", ahead))
    ),
    DateField(
        "task_create",
        "due_on",
        lambda w: {"title": "Rappeler", "assignee": f"user:{w.worker.user.pk}"},
        from_today,
    ),
    DateField(
        "intake_decide",
        "on",
        lambda w: {"decision": "accept", "reason": "Compétent"},
        since_opening,
    ),
    DateField(
        "case_transfer",
        "on",
        lambda w: {"to_worker": w.colleague.user.pk, "report": "Situation stable."},
        lambda w: (today(), today()),
        prepare=to_confirmed_proposal,
    ),
    *(
        DateField("audit_case", name, lambda w: {}, ahead, persona="dpo", method="get")
        for name in ("date_from", "date_to")
    ),
]


@pytest.mark.parametrize("spec", FIELDS, ids=lambda s: f"{s.url}.{s.field}")
def test_r15_every_date_field_refuses_implausible_dates(world, spec):
    """The form answers with an error beside the field; nothing stored changes."""
    ctx = spec.prepare(world)
    world.case.refresh_from_db()
    client = getattr(world, spec.persona).client()
    url = spec.path(world, ctx)
    earliest, latest = spec.accepts(world)
    before = stored(world)

    @settings(
        max_examples=12,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(day=outside(earliest, latest))
    def check(day: datetime.date) -> None:
        data = {**spec.data(world), spec.field: day.isoformat()}
        response = getattr(client, spec.method)(url, data)
        assert response.status_code == 200, (day, response.status_code)
        form = response.context["form"]
        # Beside the field, or at the top where a service words a rule of several fields.
        assert form.errors.get(spec.field) or form.non_field_errors(), (day, form.errors)
        assert stored(world) == before, day

    check()


@pytest.mark.parametrize(
    ("language", "message"),
    [
        ("fr", "Saisissez une date à partir du 01.01.1950."),
        ("de", "Geben Sie ein Datum ab dem 01.01.1950 ein."),
    ],
)
def test_r15_the_dossier_opened_on_year_one_is_refused_in_the_users_language(
    world, language, message
):
    client = world.worker.client()
    client.cookies["django_language"] = language
    # The date picker offers the same range.
    form = text(client.get(reverse("case_edit", args=[world.case.pk])))
    assert 'min="1950-01-01"' in form and f'max="{latest_allowed(today()).isoformat()}"' in form
    response = client.post(
        reverse("case_edit", args=[world.case.pk]),
        {**case_data(world), "opened_on": "0001-01-01"},
    )
    assert response.status_code == 200
    assert message in text(response)
    world.case.refresh_from_db()
    assert world.case.opened_on == today() - datetime.timedelta(days=30)


@pytest.mark.parametrize(
    ("language", "message"),
    [
        ("fr", "La date ne peut pas être antérieure à l'ouverture du dossier le"),
        ("de", "Das Datum darf nicht vor der Eröffnung des Dossiers am"),
    ],
)
def test_r15_a_task_cannot_be_due_before_the_opening_in_the_users_language(
    world, language, message
):
    Case.objects.filter(pk=world.case.pk).update(opened_on=today())
    client = world.worker.client()
    client.cookies["django_language"] = language
    response = client.post(
        reverse("task_create", args=[world.case.pk]),
        {
            "title": "Rappeler",
            "assignee": f"user:{world.worker.user.pk}",
            "due_on": (today() - ONE_DAY).isoformat(),
        },
    )
    assert response.status_code == 200
    assert message in text(response)
    assert not Task.objects.exists()


def test_r15_the_opening_cannot_move_after_a_date_recorded_in_the_dossier(world):
    with_contact(world)
    response = world.worker.client().post(
        reverse("case_edit", args=[world.case.pk]),
        {**case_data(world), "opened_on": today().isoformat()},
    )
    assert response.status_code == 200
    assert "La date d'ouverture ne peut pas être postérieure" in text(response)
    world.case.refresh_from_db()
    assert world.case.opened_on == today() - datetime.timedelta(days=30)


# --- the database refuses what a form would have refused ------------------------------------


def _refused(write: Callable[[], Any]) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        write()


def test_r15_the_database_refuses_implausible_dates_forced_past_the_forms(world):
    case, client = world.case, world.case.client
    _refused(lambda: Case.objects.filter(pk=case.pk).update(opened_on=MIN))
    _refused(lambda: Case.objects.filter(pk=case.pk).update(opened_on=DATE_FLOOR - ONE_DAY))
    _refused(lambda: Case.objects.filter(pk=case.pk).update(stage_since=case.opened_on - ONE_DAY))
    _refused(lambda: Person.objects.filter(pk=client.pk).update(birth_date=BIRTH_FLOOR - ONE_DAY))
    _refused(lambda: Person.objects.filter(pk=client.pk).update(arrival_date=MAX))
    with connection.cursor() as cursor:
        _refused(
            lambda: cursor.execute(
                "UPDATE cases_case SET opened_on = %s WHERE id = %s", [STORED_CEILING, case.pk]
            )
        )
    task = Task.objects.create(
        case=case,
        owner=case.owner,
        title="Rappeler",
        due_on=today(),
        assigned_to=world.worker.user,
    )
    _refused(lambda: Task.objects.filter(pk=task.pk).update(due_on=STORED_CEILING))
    # Across tables (triggers): nothing of a dossier lies before its opening, and the opening
    # cannot move after what is recorded.
    _refused(lambda: Task.objects.filter(pk=task.pk).update(due_on=case.opened_on - ONE_DAY))
    _refused(
        lambda: Contact.objects.create(
            case=case,
            owner=case.owner,
            kind="phone",
            date=case.opened_on - ONE_DAY,
            topic=Topic.objects.get(code="health"),
            counts=True,
            is_face_to_face=False,
            recorded_by=world.worker.user,
        )
    )
    with_contact(world)  # dated yesterday
    _refused(lambda: Case.objects.filter(pk=case.pk).update(opened_on=today()))
    # The boundaries themselves are stored.
    Person.objects.filter(pk=client.pk).update(birth_date=BIRTH_FLOOR)
    Task.objects.filter(pk=task.pk).update(due_on=STORED_CEILING - ONE_DAY)
    Case.objects.filter(pk=case.pk).update(opened_on=DATE_FLOOR)


# --- the rules engine evaluates whatever is stored ------------------------------------------

any_date = st.one_of(
    st.sampled_from([MIN, MAX, BIRTH_FLOOR, DATE_FLOOR, STORED_CEILING]), st.dates()
)
stages = st.sampled_from(["intake_1", "intake_2", "counselling", "closed"])


@st.composite
def facts(draw: st.DrawFn) -> CaseFacts:
    starts = sorted(draw(st.lists(any_date, max_size=3)))
    periods = tuple(
        SegmentPeriod(
            draw(st.sampled_from("ABC")),
            since,
            starts[i + 1] if i + 1 < len(starts) else draw(st.one_of(st.none(), any_date)),
            draw(st.sampled_from(["initial", "final", "change", "review"])),
        )
        for i, since in enumerate(starts)
    )
    return CaseFacts(
        stage=draw(stages),
        opened_on=draw(any_date),
        stage_since=draw(st.one_of(st.none(), any_date)),
        received_on=draw(st.one_of(st.none(), any_date)),
        short_term_advance=draw(st.booleans()),
        segments=periods,
        pending_review=draw(st.booleans()),
        pending_final=draw(st.booleans()),
    )


@settings(max_examples=400, deadline=None)
@given(
    facts=facts(),
    as_of=any_date,
    contacts=st.lists(any_date, max_size=4),
    months=st.integers(-130_000, 130_000),
    days=st.integers(-4_000_000, 4_000_000),
)
def test_r15_the_rules_evaluate_extreme_dates_without_raising(facts, as_of, contacts, months, days):
    evaluation = evaluate_case(
        as_of=as_of,
        facts=facts,
        rules=DEFAULT_RULES,
        contacts=[ContactRecord(day) for day in contacts],
    )
    assert evaluation.level in tuple(Level)
    segment_state(facts.segments, as_of)
    plan = plan_norm(facts, DEFAULT_RULES, as_of)
    if plan is not None:
        tally_contacts(plan, [ContactRecord(day) for day in contacts])
    assert MIN <= add_months(as_of, months) <= MAX
    assert MIN <= add_days(as_of, days) <= MAX


def test_r15_a_dossier_with_dates_out_of_range_gets_one_orange_finding():
    evaluation = evaluate_case(
        as_of=datetime.date(2026, 3, 1),
        facts=CaseFacts(stage="intake_2", opened_on=MIN),
        rules=DEFAULT_RULES,
    )
    assert evaluation.level == Level.ORANGE
    assert [f.code for f in evaluation.findings] == ["dates_out_of_range"]


# --- a dossier at the edges of the allowed range shows its pages ----------------------------


def _pages_answer(world: Any, case: Case) -> None:
    client = world.worker.client()
    for name in ("case_steering", "case_steering_panel", "journal_list", "case_detail"):
        response = client.get(reverse(name, args=[case.pk]))
        assert response.status_code == 200, name


def test_r15_a_dossier_at_the_earliest_allowed_dates_shows_steering_panel_and_journal(world):
    Person.objects.filter(pk=world.case.client_id).update(birth_date=BIRTH_FLOOR)
    Case.objects.filter(pk=world.case.pk).update(opened_on=DATE_FLOOR)
    world.case.refresh_from_db()
    _pages_answer(world, world.case)  # Intake 1, time limit long past
    intake_2 = to_confirmed_proposal(world, on=DATE_FLOOR)
    case, proposal = intake_2["case"], intake_2["proposal"]
    journal.do_record_contact(
        actor=world.worker.actor,
        case=case,
        kind="interview",
        date=DATE_FLOOR,
        topic=Topic.objects.get(code="health"),
        duration_minutes=30,
    )
    _pages_answer(world, case)  # Intake 2 with its norm window at the floor
    lifecycle.do_transfer_to_counselling(
        actor=world.worker.actor,
        case=case,
        proposal=proposal,
        to_worker=world.worker.user,
        to_team=None,
        report="Rapport",
        on=DATE_FLOOR,
    )
    case.refresh_from_db()
    assert (case.segment_since, case.received_on) == (DATE_FLOOR, DATE_FLOOR)
    _pages_answer(world, case)  # counselling since 1950


def test_r15_a_dossier_at_the_latest_allowed_dates_shows_steering_panel_and_journal(world):
    latest = latest_allowed(today())
    Case.objects.filter(pk=world.case.pk).update(opened_on=today())
    world.case.refresh_from_db()
    case = lifecycle.do_accept_intake(
        actor=world.worker.actor, case=world.case, reason="Compétent", on=today()
    )
    Task.objects.create(
        case=case, owner=case.owner, title="Plus tard", due_on=latest, assigned_to=world.worker.user
    )
    factories.ShareFactory(
        case=case,
        organisation=world.partner_org,
        valid_until=latest,
        granted_by=world.worker.user,
    )
    journal.do_record_service_agreement(
        actor=world.worker.actor,
        case=case,
        signed_on=today(),
        summary="Recherche d'emploi",
        valid_until=latest,
    )
    _pages_answer(world, case)
