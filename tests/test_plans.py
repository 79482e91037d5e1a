"""The integration plan of a dossier (I1, I3, I6): made from the canton's template, with the
CaseNet goals, measures linked to goals with their dates, status, result, notes and
documents, a PDF; reached only through the dossier's plan section."""

from __future__ import annotations

import datetime
import io

import pytest
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from pypdf import PdfReader

from filum.cases.models import Case
from filum.documents.models import Document
from filum.documents.validation import MAX_SIZE
from filum.plans.goals import CrossInstitutionGoal, IntermediateGoal
from filum.plans.models import (
    Measure,
    MeasureDocument,
    MeasureGoal,
    Plan,
    PlanGoal,
    PlanTemplate,
)
from filum.plans.models.plan import GOAL_KEYS
from filum.records.models import ReadLog
from tests import factories
from tests import plan_factories as pf

PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
HTML = b"<!DOCTYPE html><html><body><script>alert(1)</script></body></html>"
# request overhead, the dossier with its access (shares for a partner), the read log, the
# plan, its goals, measures, goal links and bookings (decision 0019); the owner also sees the
# client's assessment synthesis (the dossiers whose assessments it reads, their final values),
# the partner without an assessment share does not; the door logs the plan and assessment
# reads of the dossier in one insert
PLAN_PAGE_OWNER = 10
PLAN_PAGE_PARTNER = 10

INTERMEDIATE_KEYS = [
    "assessment",
    "clarification",
    "health",
    "social_financial",
    "mobilisation",
    "orientation",
    "job_search",
    "employability",
    "job_retention",
    "labour_market",
]
CROSS_INSTITUTION_KEYS = ["client_agreement", "partner_agreement", "coordination", "harmonising"]


@pytest.fixture(autouse=True)
def private_storage(settings, tmp_path):
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "documents")},
        },
    }
    return tmp_path / "documents"


def url(name: str, case: Case, **kwargs) -> str:
    return reverse(name, kwargs={"case_id": case.pk, **kwargs})


def share_plan(world, access: str, sections=("plan",)):
    return factories.ShareFactory(
        case=world.case,
        organisation=world.partner_org,
        sections=list(sections),
        access=access,
        granted_by=world.worker.user,
    )


def measure_form(measure: Measure, **changes) -> dict:
    data = {
        "title": measure.title,
        "category": measure.category,
        "programme": measure.programme_id or "",
        "provider_name": measure.provider_name,
        "planned_start": measure.planned_start.isoformat() if measure.planned_start else "",
        "planned_end": measure.planned_end.isoformat() if measure.planned_end else "",
        "actual_start": measure.actual_start.isoformat() if measure.actual_start else "",
        "actual_end": measure.actual_end.isoformat() if measure.actual_end else "",
        "status": measure.status,
        "abort_reason": measure.abort_reason,
        "result": measure.result,
        "conduct_note": measure.conduct_note,
        "client_view": measure.client_view,
        "version": measure.version,
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


# --- goals -------------------------------------------------------------------------------------


def test_i6_the_goals_are_the_casenet_seeds_in_order():
    assert list(IntermediateGoal.values) == INTERMEDIATE_KEYS
    assert list(CrossInstitutionGoal.values) == CROSS_INSTITUTION_KEYS
    assert list(GOAL_KEYS) == ["reinsertion", *INTERMEDIATE_KEYS, *CROSS_INSTITUTION_KEYS]


def test_i1_i6_plan_made_from_the_cantons_template_shows_the_goals_in_the_seeds_order(world):
    officer = world.officer.client()
    response = officer.post(
        reverse("plan_template_create"),
        {
            "name": "Agenda Intégration Zyr",
            "goals": ["coordination", "health", *INTERMEDIATE_KEYS[:1], "harmonising"],
            "categories": ["language_course", "job_coaching"],
            "is_active": "on",
        },
    )
    assert response.status_code == 302
    template = PlanTemplate.objects.get(name="Agenda Intégration Zyr")
    worker = world.worker.client()
    assert worker.get(url("plan_detail", world.case)).status_code == 200  # no plan yet
    response = worker.post(url("plan_create", world.case), {"template": template.pk})
    assert response.status_code == 302
    plan = Plan.objects.get(case=world.case)
    assert plan.template_id == template.pk
    response = worker.get(url("plan_detail", world.case))
    shown = [row.goal.key for g in response.context["overview"].groups for row in g.rows]
    assert shown == ["reinsertion", "assessment", "health", "coordination", "harmonising"]
    assert {g.status for g in PlanGoal.objects.filter(plan=plan)} == {"aimed"}
    body = response.content.decode()
    assert "Réinsertion socio-professionnelle" in body
    # a later change of the template does not change the plan
    officer.post(
        reverse("plan_template_edit", kwargs={"template_id": template.pk}),
        {"name": "Agenda Intégration Zyr", "goals": ["labour_market"], "is_active": "on"},
    )
    assert PlanGoal.objects.filter(plan=plan).count() == 5
    # a second plan for the dossier is not made
    assert worker.post(url("plan_create", world.case), {}).status_code == 302
    assert Plan.objects.filter(case=world.case).count() == 1


def test_i6_every_goal_can_be_added_once_and_gets_a_status_date_and_note(world):
    plan = pf.plan(world.case, world.worker.user, goals=())
    worker = world.worker.client()
    response = worker.get(url("goal_add", world.case))
    offered = [
        key
        for _group, options in response.context["form"].fields["key"].choices
        for key, _label in options
    ]
    assert offered == INTERMEDIATE_KEYS + CROSS_INSTITUTION_KEYS
    target = timezone.localdate() + datetime.timedelta(days=200)
    response = worker.post(
        url("goal_add", world.case),
        {"key": "job_search", "target_date": target.isoformat(), "note": "Dossier complet"},
    )
    assert response.status_code == 302
    goal = PlanGoal.objects.get(plan=plan, key="job_search")
    assert (goal.status, goal.target_date, goal.note) == ("aimed", target, "Dossier complet")
    assert worker.post(url("goal_add", world.case), {"key": "job_search"}).status_code == 400
    response = worker.post(
        url("goal_edit", world.case, goal_id=goal.pk),
        {"status": "reached", "target_date": "", "note": "Trois entretiens", "version": 1},
    )
    assert response.status_code == 302
    goal.refresh_from_db()
    assert (goal.status, goal.status_on, goal.version) == ("reached", timezone.localdate(), 2)
    # a stale form is refused, nothing is lost
    response = worker.post(
        url("goal_edit", world.case, goal_id=goal.pk),
        {"status": "not_reached", "note": "x", "version": 1},
    )
    assert response.status_code == 409
    goal.refresh_from_db()
    assert goal.status == "reached"


# --- measures ----------------------------------------------------------------------------------


def test_i2_i3_a_measure_linked_to_goals_with_a_programme_goes_on_to_booking(world):
    plan = pf.plan(world.case, world.worker.user, goals=("orientation", "employability"))
    goals = {g.key: g for g in PlanGoal.objects.filter(plan=plan)}
    programme = pf.programme(world.officer.membership.organisation, name="Stage Zyratelier")
    pf.period(programme, places=3)
    start = timezone.localdate() + datetime.timedelta(days=14)
    response = world.worker.client().post(
        url("measure_create", world.case),
        {
            "title": "Stage en atelier",
            "category": "work_placement",
            "goals": [goals["orientation"].pk, goals["employability"].pk],
            "programme": programme.pk,
            "provider_name": "",
            "planned_start": start.isoformat(),
            "planned_end": (start + datetime.timedelta(days=60)).isoformat(),
        },
    )
    measure = Measure.objects.get(title="Stage en atelier")
    assert response.url == url("measure_book", world.case, measure_id=measure.pk)
    assert (measure.status, measure.provider_id) == ("planned", programme.provider_id)
    assert set(MeasureGoal.objects.filter(measure=measure).values_list("goal__key", flat=True)) == {
        "orientation",
        "employability",
    }
    page = world.worker.client().get(url("plan_detail", world.case))
    by_goal = {
        row.goal.key: [m.measure.pk for m in row.measures]
        for group in page.context["overview"].groups
        for row in group.rows
    }
    assert by_goal == {
        "reinsertion": [],
        "orientation": [measure.pk],
        "employability": [measure.pk],
    }


def test_i2_a_provider_outside_the_catalogue_is_named_freely(world):
    pf.plan(world.case, world.worker.user)
    response = world.worker.client().post(
        url("measure_create", world.case),
        {
            "title": "Cours de couture",
            "category": "social_integration",
            "provider_name": "Association Zyrfil",
        },
    )
    measure = Measure.objects.get(title="Cours de couture")
    assert response.url == url("measure_detail", world.case, measure_id=measure.pk)
    assert (measure.provider_id, measure.provider_label) == (None, "Association Zyrfil")


def test_i3_a_measure_ending_before_it_starts_is_refused_by_form_and_database(world):
    plan = pf.plan(world.case, world.worker.user)
    start = timezone.localdate() + datetime.timedelta(days=30)
    response = world.worker.client().post(
        url("measure_create", world.case),
        {
            "title": "Coaching",
            "category": "job_coaching",
            "planned_start": start.isoformat(),
            "planned_end": (start - datetime.timedelta(days=1)).isoformat(),
        },
    )
    assert response.status_code == 400
    assert response.context["form"].errors["planned_end"] == [
        "La fin prévue ne peut pas précéder le début prévu."
    ]
    assert not Measure.objects.exists()
    with (
        pytest.raises(IntegrityError, match="measure_planned_end_after_start"),
        transaction.atomic(),
    ):
        pf.measure(
            plan,
            world.worker.user,
            planned_start=start,
            planned_end=start - datetime.timedelta(days=1),
        )
    with (
        pytest.raises(IntegrityError, match="measure_actual_end_after_start"),
        transaction.atomic(),
    ):
        pf.measure(
            plan,
            world.worker.user,
            status="running",
            actual_start=start,
            actual_end=start - datetime.timedelta(days=1),
        )


def test_i3_a_measure_goes_through_its_lifecycle_with_result_and_notes(world):
    plan = pf.plan(world.case, world.worker.user)
    measure = pf.measure(plan, world.worker.user, title="Allemand A2")
    worker = world.worker.client()
    edit = url("measure_edit", world.case, measure_id=measure.pk)
    today = timezone.localdate()

    # running needs its actual start; a result waits until the end
    response = worker.post(edit, measure_form(measure, status="running", result="reached"))
    assert response.status_code == 400
    assert set(response.context["form"].errors) == {"actual_start", "result"}
    start = today - datetime.timedelta(days=40)
    response = worker.post(
        edit, measure_form(measure, status="running", actual_start=start.isoformat())
    )
    assert response.status_code == 302
    measure.refresh_from_db()
    assert (measure.status, measure.version) == ("running", 2)

    # an actual date in the future is no fact yet
    response = worker.post(
        edit,
        measure_form(
            measure, status="completed", actual_end=(today + datetime.timedelta(days=3)).isoformat()
        ),
    )
    assert response.status_code == 400 and "actual_end" in response.context["form"].errors
    # completed with its end, result and how it went
    response = worker.post(
        edit,
        measure_form(
            measure,
            status="completed",
            actual_end=today.isoformat(),
            result="certificate",
            conduct_note="Assidu, progrès rapides",
            client_view="Se sent plus à l'aise",
        ),
    )
    assert response.status_code == 302
    measure.refresh_from_db()
    assert (measure.status, measure.result, measure.client_view) == (
        "completed",
        "certificate",
        "Se sent plus à l'aise",
    )
    # a completed measure is closed: no way back
    response = worker.post(edit, measure_form(measure, status="running"))
    assert response.status_code == 400 and "status" in response.context["form"].errors
    detail = worker.get(url("measure_detail", world.case, measure_id=measure.pk))
    body = detail.content.decode()
    assert "Assidu, progrès rapides" in body and "Certificat obtenu" in body


def test_i3_an_aborted_measure_needs_a_reason_from_the_list(world):
    plan = pf.plan(world.case, world.worker.user)
    measure = pf.measure(plan, world.worker.user)
    edit = url("measure_edit", world.case, measure_id=measure.pk)
    response = world.worker.client().post(edit, measure_form(measure, status="aborted"))
    assert response.status_code == 400
    assert response.context["form"].errors["abort_reason"] == [
        "Indiquez pourquoi la mesure a été interrompue."
    ]
    response = world.worker.client().post(
        edit, measure_form(measure, status="aborted", abort_reason="invented")
    )
    assert response.status_code == 400
    response = world.worker.client().post(
        edit, measure_form(measure, status="aborted", abort_reason="non_collaboration")
    )
    assert response.status_code == 302
    measure.refresh_from_db()
    assert (measure.status, measure.abort_reason) == ("aborted", "non_collaboration")


def test_r37_a_stale_measure_form_is_refused_with_nothing_lost(world):
    plan = pf.plan(world.case, world.worker.user)
    measure = pf.measure(plan, world.worker.user, title="Original")
    edit = url("measure_edit", world.case, measure_id=measure.pk)
    stale = measure_form(measure, title="Premier")
    assert world.worker.client().post(edit, stale).status_code == 302
    response = world.colleague.client().post(edit, {**stale, "title": "Second"})
    assert response.status_code == 409
    assert Measure.objects.get(pk=measure.pk).title == "Premier"


def test_i3_a_closed_dossiers_plan_is_read_only(world):
    plan = pf.plan(world.case, world.worker.user)
    measure = pf.measure(plan, world.worker.user)
    Case.objects.filter(pk=world.case.pk).update(
        status="closed", closed_on=timezone.localdate(), closure_reason="employment"
    )
    worker = world.worker.client()
    assert "measure_create" not in str(worker.get(url("plan_detail", world.case)).context)
    response = worker.post(url("measure_create", world.case), {"title": "x", "category": "other"})
    assert response.status_code == 400
    assert Measure.objects.count() == 1
    response = worker.post(
        url("measure_edit", world.case, measure_id=measure.pk),
        measure_form(measure, title="Changé"),
    )
    assert response.status_code == 400
    assert Measure.objects.get(pk=measure.pk).title != "Changé"


# --- documents of a measure --------------------------------------------------------------------


def upload(client, case, measure, name: str, content: bytes, kind: str = "certificate"):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return client.post(
        url("measure_document_upload", case, measure_id=measure.pk),
        {"kind": kind, "file": SimpleUploadedFile(name, content)},
    )


def test_i3_certificates_and_reports_are_stored_with_the_measure(world):
    plan = pf.plan(world.case, world.worker.user)
    measure = pf.measure(plan, world.worker.user)
    worker = world.worker.client()
    response = upload(worker, world.case, measure, "attestation-fide.pdf", PDF)
    assert response.status_code == 302
    attachment = MeasureDocument.objects.get(measure=measure)
    document = attachment.document
    assert (attachment.kind, document.case_id, document.original_name) == (
        "certificate",
        world.case.pk,
        "attestation-fide.pdf",
    )
    # a partner reading the plan downloads it, without a share of the documents section
    share_plan(world, "read")
    download = url(
        "measure_document_download", world.case, measure_id=measure.pk, document_id=document.pk
    )
    response = world.partner.client().get(download)
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PDF
    assert response["Content-Disposition"].startswith("attachment")
    assert world.outsider.client().get(download).status_code == 404
    # a document of the dossier that is not the measure's is not served through the measure
    other = Document.objects.create(
        case=world.case,
        owner=world.service_org,
        original_name="x.pdf",
        content_type="application/pdf",
        size=3,
        sha256="0" * 64,
        uploaded_by=world.worker.user,
        uploaded_by_org=world.service_org,
    )
    assert (
        world.worker.client()
        .get(
            url(
                "measure_document_download", world.case, measure_id=measure.pk, document_id=other.pk
            )
        )
        .status_code
        == 404
    )


def test_r21_a_measure_document_of_the_wrong_type_or_size_is_refused_and_nothing_stored(
    world, private_storage
):
    plan = pf.plan(world.case, world.worker.user)
    measure = pf.measure(plan, world.worker.user)
    worker = world.worker.client()
    response = upload(worker, world.case, measure, "rapport.pdf", HTML)
    assert response.status_code == 400
    assert "ne correspond pas" in response.context["form"].errors["file"][0]
    response = upload(worker, world.case, measure, "rapport.exe", b"MZ\x90\x00")
    assert response.status_code == 400
    response = upload(
        worker, world.case, measure, "gros.pdf", PDF + b"0" * (MAX_SIZE + 1 - len(PDF))
    )
    assert response.status_code == 400
    assert "La limite est de 10 Mo." in response.context["form"].errors["file"][0]
    assert not Document.objects.exists() and not MeasureDocument.objects.exists()
    assert not private_storage.exists() or not any(private_storage.rglob("*"))


# --- the PDF -----------------------------------------------------------------------------------


def test_i1_the_plan_prints_as_a_pdf_with_its_goals_and_measures(world):
    plan = pf.plan(world.case, world.worker.user, goals=("health", "coordination"))
    health = PlanGoal.objects.get(plan=plan, key="health")
    measure = pf.measure(
        plan,
        world.worker.user,
        title="Suivi Zyrmed",
        category="health",
        provider_name="Cabinet Zyrdoc",
    )
    MeasureGoal.objects.create(measure=measure, goal=health, owner=world.service_org)
    response = world.worker.client().get(url("plan_pdf", world.case))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Cache-Control"] == "no-store"
    assert response.content.startswith(b"%PDF")
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages)
    text = " ".join(text.split())
    assert "Plan d'intégration" in text
    assert "Stabilisation santé (physique ou psychique)" in text
    assert "Coordonner les actions des partenaires" in text
    assert "Suivi Zyrmed" in text and "Cabinet Zyrdoc" in text
    row = ReadLog.objects.filter(case_id=world.case.pk).latest("id")
    assert (row.section, row.kind, row.user_id) == ("plan", "print", world.worker.user.pk)


# --- access ------------------------------------------------------------------------------------


def test_x5_a_partner_with_a_plan_write_share_adds_and_updates_measures(world):
    plan = pf.plan(world.case, world.worker.user)
    partner = world.partner.client()
    assert partner.get(url("plan_detail", world.case)).status_code == 404
    share_plan(world, "write")
    assert partner.get(url("plan_detail", world.case)).status_code == 200
    dossier = partner.get(reverse("case_detail", kwargs={"case_id": world.case.pk}))
    assert url("measure_create", world.case) in dossier.content.decode()
    response = partner.post(
        url("measure_create", world.case), {"title": "Bilan de compétences", "category": "training"}
    )
    assert response.status_code == 302
    measure = Measure.objects.get(title="Bilan de compétences")
    assert (measure.owner_id, measure.created_by_org_id) == (
        world.service_org.pk,
        world.partner_org.pk,
    )
    assert measure.plan_id == plan.pk
    response = partner.post(
        url("measure_edit", world.case, measure_id=measure.pk),
        measure_form(measure, conduct_note="Bonne motivation"),
    )
    assert response.status_code == 302
    assert Measure.objects.get(pk=measure.pk).conduct_note == "Bonne motivation"


def test_x5_a_partner_with_a_plan_read_share_reads_but_does_not_write(world):
    plan = pf.plan(world.case, world.worker.user)
    measure = pf.measure(plan, world.worker.user)
    share_plan(world, "read")
    partner = world.partner.client()
    assert partner.get(url("plan_detail", world.case)).status_code == 200
    assert partner.get(url("measure_detail", world.case, measure_id=measure.pk)).status_code == 200
    assert partner.get(url("measure_create", world.case)).status_code == 404
    assert (
        partner.post(
            url("measure_edit", world.case, measure_id=measure.pk), measure_form(measure, title="x")
        ).status_code
        == 404
    )
    assert Measure.objects.get(pk=measure.pk).title != "x"


def test_x5_a_journal_share_does_not_open_the_plan(world):
    plan = pf.plan(world.case, world.worker.user)
    measure = pf.measure(plan, world.worker.user)
    share_plan(world, "write", sections=("journal",))
    partner = world.partner.client()
    for name, kwargs in (
        ("plan_detail", {}),
        ("measure_detail", {"measure_id": measure.pk}),
        ("plan_pdf", {}),
    ):
        assert partner.get(url(name, world.case, **kwargs)).status_code == 404, name


def test_r12_outsiders_get_404_and_the_assistant_reads_only(world):
    plan = pf.plan(world.case, world.worker.user)
    measure = pf.measure(plan, world.worker.user)
    outsider = world.outsider.client()
    for name, kwargs in (
        ("plan_detail", {}),
        ("measure_detail", {"measure_id": measure.pk}),
        ("measure_edit", {"measure_id": measure.pk}),
        ("plan_pdf", {}),
    ):
        assert outsider.get(url(name, world.case, **kwargs)).status_code == 404, name
    assistant = world.assistant.client()
    assert assistant.get(url("plan_detail", world.case)).status_code == 200
    assert assistant.get(url("measure_create", world.case)).status_code == 404


def test_x6_reading_the_plan_is_logged(world):
    plan = pf.plan(world.case, world.worker.user)
    measure = pf.measure(plan, world.worker.user)
    share_plan(world, "read")
    before = ReadLog.objects.count()
    world.partner.client().get(url("plan_detail", world.case))
    world.head.client().get(url("measure_detail", world.case, measure_id=measure.pk))
    rows = list(ReadLog.objects.order_by("id")[before:])
    assert [(r.user_id, r.organisation_id, r.section, r.kind) for r in rows] == [
        (world.partner.user.pk, world.partner_org.pk, "plan", "view"),
        (world.head.user.pk, world.service_org.pk, "plan", "view"),
    ]


def test_x6_plan_page_logs_the_plan_and_the_synthesis_reads_in_one_insert(world):
    """The owner's plan page shows the plan and the client's assessment synthesis: both
    sections of the dossier are in the read log, written by the door in one insert; the
    partner with a plan share only (no synthesis shown) reads the plan."""
    pf.plan(world.case, world.worker.user)
    share_plan(world, "read")
    before = ReadLog.objects.count()
    world.worker.client().get(url("plan_detail", world.case))
    world.partner.client().get(url("plan_detail", world.case))
    rows = list(ReadLog.objects.order_by("id")[before:])
    assert [(r.user_id, r.case_id, r.section) for r in rows] == [
        (world.worker.user.pk, world.case.pk, "plan"),
        (world.worker.user.pk, world.case.pk, "assessment"),
        (world.partner.user.pk, world.case.pk, "plan"),
    ]
    assert rows[0].at == rows[1].at  # one insert


# --- query counts ------------------------------------------------------------------------------


@pytest.mark.parametrize("count", [2, 20])
def test_u4_plan_page_queries_do_not_grow_with_the_plan(world, django_assert_num_queries, count):
    plan = pf.plan(world.case, world.worker.user, goals=tuple(INTERMEDIATE_KEYS))
    goals = list(PlanGoal.objects.filter(plan=plan))
    programme = pf.programme(world.officer.membership.organisation)
    period = pf.period(programme, places=count // 2)
    from filum.plans.booking import do_book_measure

    for n in range(count):
        measure = pf.measure(
            plan, world.worker.user, programme=programme, provider=programme.provider
        )
        MeasureGoal.objects.create(
            measure=measure, goal=goals[n % len(goals)], owner=world.service_org
        )
        do_book_measure(actor=world.worker.actor, measure=measure, period=period)
    share_plan(world, "read")
    for persona, expected in (("worker", PLAN_PAGE_OWNER), ("partner", PLAN_PAGE_PARTNER)):
        client = getattr(world, persona).client()
        client.get(url("plan_detail", world.case))
        with django_assert_num_queries(expected):
            response = client.get(url("plan_detail", world.case))
        assert response.status_code == 200
        assert len(response.context["overview"].measures) == count


# --- every page in both languages -----------------------------------------------------------------


@pytest.mark.parametrize("language", ["fr", "de"])
def test_u3_plan_and_catalogue_pages_render_without_unknown_variables(world, settings, language):
    from tests.test_templates_i18n import INVALID, FieldLabels

    def check_page(client, page, *, method="get", data=None):
        response = getattr(client, method)(page, data or {})
        assert response.status_code in (200, 400, 404), (page, response.status_code)
        html = response.content.decode()
        assert "@@INVALID:" not in html, (page, html[html.index("@@INVALID:") :][:120])
        parser = FieldLabels()
        parser.feed(html)
        assert (parser.main, parser.html_lang, parser.unlabelled()) == (1, language, []), page

    templates = [dict(t) for t in settings.TEMPLATES]
    templates[0]["OPTIONS"] = {**templates[0]["OPTIONS"], "string_if_invalid": INVALID}
    settings.TEMPLATES = templates
    office = world.officer.membership.organisation
    template = pf.template(office, goals=["health"])
    programme = pf.programme(office, name="Cours Zyrpage")
    period = pf.period(programme, places=1)
    plan = pf.plan(world.case, world.worker.user, goals=("health", "coordination"))
    goal = PlanGoal.objects.get(plan=plan, key="health")
    booked = pf.measure(plan, world.worker.user, programme=programme, provider=programme.provider)
    MeasureGoal.objects.create(measure=booked, goal=goal, owner=world.service_org)
    from filum.plans.booking import do_book_measure

    do_book_measure(actor=world.worker.actor, measure=booked, period=period)
    free = pf.measure(plan, world.worker.user, provider_name="Zyrfree")
    upload(world.worker.client(), world.case, free, "rapport.pdf", PDF, kind="report")
    worker = world.worker.client()
    worker.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    measure_urls = [
        url(name, world.case, measure_id=m.pk)
        for m in (booked, free)
        for name in ("measure_detail", "measure_edit", "measure_book", "measure_document_upload")
    ]
    for page in (
        url("plan_detail", world.case),
        url("plan_detail", world.other_case),
        url("goal_add", world.case),
        url("goal_edit", world.case, goal_id=goal.pk),
        url("measure_create", world.case),
        *measure_urls,
        reverse("catalogue"),
        reverse("programme_detail", kwargs={"programme_id": programme.pk}),
        reverse("case_detail", kwargs={"case_id": world.case.pk}),
    ):
        check_page(worker, page)
    # forms with errors
    check_page(worker, url("goal_add", world.case), method="post", data={})
    check_page(worker, url("measure_create", world.case), method="post", data={})
    check_page(worker, url("measure_edit", world.case, measure_id=free.pk), method="post", data={})
    check_page(
        worker, url("measure_book", world.case, measure_id=booked.pk), method="post", data={}
    )
    other = factories.CaseFactory(owner=world.service_org, responsible=world.worker.user)
    check_page(worker, url("plan_detail", other))
    check_page(worker, url("plan_create", other))
    officer = world.officer.client()
    officer.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    for page in (
        reverse("catalogue"),
        reverse("provider_list"),
        reverse("provider_create"),
        reverse("provider_edit", kwargs={"provider_id": programme.provider_id}),
        reverse("programme_create"),
        reverse("programme_edit", kwargs={"programme_id": programme.pk}),
        reverse("programme_detail", kwargs={"programme_id": programme.pk}),
        reverse("period_create", kwargs={"programme_id": programme.pk}),
        reverse("period_edit", kwargs={"period_id": period.pk}),
        reverse("plan_templates"),
        reverse("plan_template_create"),
        reverse("plan_template_edit", kwargs={"template_id": template.pk}),
    ):
        check_page(officer, page)
    check_page(officer, reverse("provider_create"), method="post", data={})
    check_page(
        officer,
        reverse("period_create", kwargs={"programme_id": programme.pk}),
        method="post",
        data={},
    )
    check_page(officer, reverse("plan_template_create"), method="post", data={})
