"""Potential assessments (A1-A7, U1, U2): templates as versioned data per canton, drafts and
final assessments, a person's history and synthesis, PDFs, and who reaches them."""

from __future__ import annotations

import datetime
import io
import re
from pathlib import Path
from typing import Any

import pytest
import time_machine
from django.conf import settings
from django.db import DatabaseError, transaction
from django.urls import reverse
from pypdf import PdfReader

from filum.assessments import services
from filum.assessments.answers import load_structure
from filum.assessments.models import (
    Assessment,
    AssessmentAnswer,
    AssessmentTemplate,
    TemplateField,
    TemplateSection,
    TemplateVersion,
)
from filum.cases.models import Case
from filum.people.models import AssistanceUnit, UnitMember
from filum.records.models import DENIAL, ReadLog, SecurityEvent
from tests import factories
from tests.test_templates_i18n import check_page, strict_templates  # noqa: F401

TODAY = datetime.date(2026, 6, 30)
FIRST = datetime.date(2025, 3, 12)
SECOND = datetime.date(2026, 1, 20)


@pytest.fixture
def frozen() -> Any:
    with time_machine.travel(datetime.datetime(2026, 6, 30, 10, 0, tzinfo=datetime.UTC)):
        yield


@pytest.fixture
def be_version(db: object) -> TemplateVersion:
    """The default template of canton Bern, version 1, put in place by the migration."""
    return TemplateVersion.objects.get(template__canton="BE", template__code="potential_assessment")


@pytest.fixture
def early_case(world: Any) -> Case:
    """The world's dossier, opened early enough for assessments in 2025."""
    Case.objects.filter(pk=world.case.pk).update(opened_on=datetime.date(2024, 11, 4))
    world.case.refresh_from_db()
    return world.case


def url(name: str, *args: Any) -> str:
    return reverse(name, args=args)


def start(client: Any, case: Case, person_id: Any, version: TemplateVersion, day: Any) -> Any:
    response = client.post(
        url("assessment_create", case.pk),
        {"person": str(person_id), "version": version.pk, "assessed_on": day.isoformat()},
    )
    assert response.status_code == 302, response.context["form"].errors
    return Assessment.objects.order_by("-created_at").first()


def answers_post(
    assessment: Assessment,
    *,
    german: tuple[str, str] = ("a1", "pre_a1"),
    action: str = "save",
    **overrides: Any,
) -> dict[str, Any]:
    """A full set of answers to the default template, as the browser posts them."""
    data: dict[str, Any] = {
        "assessed_on": assessment.assessed_on.isoformat(),
        "revision": assessment.revision,
        "action": action,
        "school_years": "9",
        "education_level": "lower_secondary",
        "education_end_year": "2012",
        "diplomas": "Certificat de fin d'études Zyqdiplomawq",
        "diploma_recognition": "not_requested",
        "work_experience": "one_to_five",
        "occupations": "Couturière",
        "work_in_switzerland": "no",
        "first_language": "ti",
        "language_levels_0": "ti",
        "language_levels_1": "c2",
        "language_levels_2": "b1",
        "language_levels_3": "de",
        "language_levels_4": german[0],
        "language_levels_5": german[1],
        "language_source": "course",
        "work_capacity": "full",
        "health_restrictions": "no",
        "care_duties": "yes",
        "dependent_children": "2",
        "availability": "part_time",
        "social_network": "medium",
        "main_goal": "labour_market",
        "motivation": "high",
        "potential": "medium",
        "obstacles": ["childcare", "literacy"],
    }
    for key, value in overrides.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    return data


def finalise(client: Any, assessment: Assessment, **kwargs: Any) -> Any:
    assessment.refresh_from_db()
    return client.post(
        url("assessment_edit", assessment.case_id, assessment.pk),
        answers_post(assessment, action="finalise", **kwargs),
    )


# --- templates (A1, A2) -----------------------------------------------------------------------


def test_a2_the_default_template_of_bern_covers_the_federal_themes(be_version):
    assert be_version.status == "published" and be_version.number == 1
    sections = list(
        TemplateSection.objects.filter(version=be_version).values_list("key", "label_fr")
    )
    assert sections == [
        ("schooling", "Scolarité et formation"),
        ("work", "Expérience professionnelle"),
        ("languages", "Langues"),
        ("health", "Santé et capacité de travail"),
        ("family", "Famille et tâches de prise en charge"),
        ("resources", "Ressources"),
        ("goals", "Objectifs et motivation"),
        ("obstacles", "Obstacles"),
    ]
    structure = load_structure(be_version)
    fields = structure.field_by_key()
    assert {"school_years", "education_level", "diploma_recognition"} <= set(fields)
    assert fields["school_years"].kind == "number"
    assert fields["language_levels"].kind == "language_levels"
    assert fields["language_levels"].required and fields["language_levels"].in_synthesis
    languages = [code for code, _label in structure.choices(fields["language_levels"])]
    assert languages[:4] == ["de", "fr", "it", "en"] and "ti" in languages
    assert [c for c, _l in structure.choices(fields["education_level"])] == [
        "none",
        "primary",
        "lower_secondary",
        "upper_secondary",
        "tertiary",
    ]
    assert fields["education_level"].code_list.ordinal
    for key in ("work_capacity", "care_duties", "social_network", "main_goal", "obstacles"):
        assert key in fields


def test_a1_a_published_version_is_frozen_in_the_database(be_version):
    field = TemplateField.objects.filter(version=be_version).first()
    statements = [
        lambda: TemplateField.objects.filter(pk=field.pk).update(label_fr="Autre"),
        lambda: TemplateField.objects.filter(pk=field.pk).delete(),
        lambda: TemplateSection.objects.create(
            version=be_version, key="extra", label_fr="x", label_de="x"
        ),
        lambda: TemplateVersion.objects.filter(pk=be_version.pk).update(note="changed"),
        lambda: TemplateVersion.objects.filter(pk=be_version.pk).update(status="draft"),
    ]
    for statement in statements:
        with pytest.raises(DatabaseError), transaction.atomic():
            statement()
    field.refresh_from_db()
    assert field.label_fr != "Autre"


def test_a1_officer_starts_on_the_template_list_of_their_canton(world, be_version):
    client = world.officer.client()
    assert client.get("/").url == url("template_list")
    response = client.get(url("template_list"))
    assert response.status_code == 200
    assert "Évaluation du potentiel" in response.content.decode()
    vaud = AssessmentTemplate.objects.create(
        canton="VD", code="bilan", name_fr="Bilan VD", name_de="x"
    )
    assert "Bilan VD" not in client.get(url("template_list")).content.decode()
    assert client.get(url("template_detail", vaud.pk)).status_code == 404
    assert SecurityEvent.objects.filter(
        kind=DENIAL, user=world.officer.user, detail__object_type="template"
    ).exists()
    # a social worker edits no template
    assert world.worker.client().get(url("template_list")).status_code == 404


def _new_draft(client: Any, version: TemplateVersion) -> TemplateVersion:
    response = client.post(url("template_draft_create", version.template_id))
    assert response.status_code == 302
    return TemplateVersion.objects.get(template_id=version.template_id, status="draft")


def test_a1_officer_edits_a_draft_through_forms_and_publishes_it(world, be_version, early_case):
    worker = world.worker.client()
    old = start(worker, early_case, early_case.client_id, be_version, FIRST)
    assert finalise(worker, old).status_code == 302

    officer = world.officer.client()
    draft = _new_draft(officer, be_version)
    assert draft.number == 2
    # the copy has everything version 1 has
    assert (
        TemplateField.objects.filter(version=draft).count()
        == TemplateField.objects.filter(version=be_version).count()
    )
    languages = TemplateSection.objects.get(version=draft, key="languages")
    # a code list with its entries, through the formset
    response = officer.post(
        url("template_codelist_create", draft.pk),
        {
            "list-key": "fide_proof",
            "list-label_fr": "Preuve fide",
            "list-label_de": "fide-Nachweis",
            "items-TOTAL_FORMS": "3",
            "items-INITIAL_FORMS": "0",
            "items-0-code": "test",
            "items-0-label_fr": "test fide",
            "items-0-label_de": "fide-Test",
            "items-0-ORDER": "2",
            "items-1-code": "dossier",
            "items-1-label_fr": "dossier fide",
            "items-1-label_de": "fide-Dossier",
            "items-1-ORDER": "1",
            "items-2-code": "",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    fide = draft.code_lists.get(key="fide_proof")
    assert list(fide.items.order_by("position").values_list("code", flat=True)) == [
        "dossier",
        "test",
    ]
    # a new field in the languages section
    response = officer.post(
        url("template_field_create", languages.pk),
        {
            "key": "fide_proof",
            "kind": "choice",
            "code_list": fide.pk,
            "label_fr": "Preuve fide",
            "label_de": "fide-Nachweis",
            "required": "on",
        },
    )
    assert response.status_code == 302
    added = TemplateField.objects.get(version=draft, key="fide_proof")
    assert added.section_id == languages.pk and added.required
    # changed, moved up, and another field removed
    response = officer.post(
        url("template_field_edit", added.pk),
        {
            "key": "fide_proof",
            "kind": "choice",
            "code_list": fide.pk,
            "label_fr": "Preuve fide (test ou dossier)",
            "label_de": "fide-Nachweis (Test oder Dossier)",
        },
    )
    assert response.status_code == 302
    added.refresh_from_db()
    assert added.label_fr == "Preuve fide (test ou dossier)" and not added.required
    change = url("template_version_change", draft.pk)
    assert officer.post(change, {"op": "field:up", "target": added.pk}).status_code == 302
    keys = list(
        TemplateField.objects.filter(section=languages)
        .order_by("position")
        .values_list("key", flat=True)
    )
    assert keys == ["first_language", "language_levels", "fide_proof", "language_source"]
    source = TemplateField.objects.get(version=draft, key="language_source")
    assert officer.post(change, {"op": "field:remove", "target": source.pk}).status_code == 302
    # a section, moved to the top
    response = officer.post(
        url("template_section_create", draft.pk),
        {"key": "arrival", "label_fr": "Arrivée", "label_de": "Ankunft"},
    )
    assert response.status_code == 302
    arrival = TemplateSection.objects.get(version=draft, key="arrival")
    for _ in range(10):
        officer.post(change, {"op": "section:up", "target": arrival.pk})
    assert TemplateSection.objects.filter(version=draft).order_by("position").first() == arrival
    # publishing an empty section is refused, with the reason
    response = officer.post(url("template_publish", draft.pk), follow=True)
    assert "La section « Arrivée » n’a aucun champ." in response.content.decode() or (
        "Arrivée" in response.content.decode()
    )
    draft.refresh_from_db()
    assert draft.is_draft
    officer.post(
        url("template_field_create", arrival.pk),
        {
            "key": "arrival_year",
            "kind": "year",
            "label_fr": "Année d'arrivée",
            "label_de": "Ankunftsjahr",
        },
    )
    response = officer.post(url("template_publish", draft.pk), {"note": "Preuve fide"})
    assert response.status_code == 302
    draft.refresh_from_db()
    assert draft.status == "published" and draft.published_by == world.officer.user
    # new assessments use version 2; the one made before keeps version 1 and its fields
    form = worker.get(url("assessment_create", early_case.pk)).context["form"]
    assert [c[0] for c in form.fields["version"].choices] == [draft.pk]
    response = worker.post(
        url("assessment_create", early_case.pk),
        {"person": str(early_case.client_id), "version": be_version.pk, "assessed_on": SECOND},
    )
    assert response.status_code == 200 and "version" in response.context["form"].errors
    start(worker, early_case, early_case.client_id, draft, SECOND)
    made = Assessment.objects.order_by("-created_at").first()
    assert made.version_id == draft.pk
    old.refresh_from_db()
    assert old.version_id == be_version.pk and old.status == "final"
    html = worker.get(url("assessment_detail", early_case.pk, old.pk)).content.decode()
    assert "Source de l" in html  # the field version 2 removed is still shown on the old one
    html = worker.get(url("assessment_edit", early_case.pk, made.pk)).content.decode()
    assert "Preuve fide (test ou dossier)" in html and 'name="language_source"' not in html


def test_a1_a_version_removing_or_retyping_a_field_used_by_drafts_is_refused(
    world, be_version, early_case
):
    worker = world.worker.client()
    drafts = [start(worker, early_case, early_case.client_id, be_version, FIRST) for _ in range(2)]
    for draft_assessment in drafts:
        response = worker.post(
            url("assessment_edit", early_case.pk, draft_assessment.pk),
            answers_post(draft_assessment),
        )
        assert response.status_code == 302
    officer = world.officer.client()
    draft = _new_draft(officer, be_version)
    diplomas = TemplateField.objects.get(version=draft, key="diplomas")
    change = url("template_version_change", draft.pk)
    assert officer.post(change, {"op": "field:remove", "target": diplomas.pk}).status_code == 302
    response = officer.post(url("template_publish", draft.pk), follow=True)
    html = response.content.decode()
    assert (
        "Le champ « Diplômes obtenus » (diplomas) est encore utilisé par 2 évaluations en "
        "brouillon" in html
    )
    draft.refresh_from_db()
    assert draft.is_draft
    # the same in German
    german = world.officer.client()
    german.cookies["django_language"] = "de"
    html = german.post(url("template_publish", draft.pk), follow=True).content.decode()
    assert "Das Feld «Erworbene Abschlüsse» (diplomas) wird noch von 2 Entwürfen" in html

    # a field kept with its key but another type is refused as well
    years = TemplateField.objects.get(version=draft, key="school_years")
    response = officer.post(
        url("template_field_edit", years.pk),
        {"key": "school_years", "kind": "text", "label_fr": "Scolarité", "label_de": "Schule"},
    )
    assert response.status_code == 302
    html = officer.post(url("template_publish", draft.pk), follow=True).content.decode()
    assert "(school_years)" in html
    # once the drafts are finished or discarded, the version can be published
    finalise(worker, drafts[0])
    assert worker.post(url("assessment_discard", early_case.pk, drafts[1].pk)).status_code == 302
    officer.post(url("template_publish", draft.pk))
    draft.refresh_from_db()
    assert draft.status == "published"


def test_a1_a_field_without_its_code_list_or_with_a_bad_key_is_refused(world, be_version):
    officer = world.officer.client()
    draft = _new_draft(officer, be_version)
    section = TemplateSection.objects.filter(version=draft).first()
    before = TemplateField.objects.filter(version=draft).count()
    response = officer.post(
        url("template_field_create", section.pk),
        {"key": "Bad Key", "kind": "choice", "label_fr": "x", "label_de": "y"},
    )
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert "key" in errors and "code_list" in errors
    response = officer.post(
        url("template_field_create", section.pk),
        {"key": "school_years", "kind": "number", "label_fr": "x", "label_de": "y"},
    )
    assert response.status_code == 200
    assert "Un autre champ de cette version a cette clé." in response.content.decode()
    assert TemplateField.objects.filter(version=draft).count() == before


# --- assessments (A3-A5, A7) --------------------------------------------------------------------


def test_a3_a5_a_draft_is_saved_incomplete_and_finalised_complete(world, be_version, early_case):
    worker = world.worker.client()
    assessment = start(worker, early_case, early_case.client_id, be_version, FIRST)
    assert assessment.status == "draft" and assessment.created_by == world.worker.user
    assert assessment.owner_id == early_case.owner_id
    # a draft may stay incomplete
    partial = answers_post(assessment, potential=None, main_goal=None)
    response = worker.post(url("assessment_edit", early_case.pk, assessment.pk), partial)
    assert response.status_code == 302
    assessment.refresh_from_db()
    assert assessment.answers["language_levels"] == [
        {"language": "ti", "oral": "c2", "written": "b1"},
        {"language": "de", "oral": "a1", "written": "pre_a1"},
    ]
    assert assessment.answers["school_years"] == "9"
    assert assessment.answers["care_duties"] is True
    assert "potential" not in assessment.answers
    # finalising needs every required field
    response = finalise(worker, assessment, potential=None)
    assert response.status_code == 200
    assert response.context["forms"][6].errors["potential"]
    assessment.refresh_from_db()
    assert assessment.status == "draft" and not AssessmentAnswer.objects.exists()
    response = finalise(worker, assessment)
    assert response.status_code == 302
    assessment.refresh_from_db()
    assert assessment.status == "final" and assessment.finalised_by == world.worker.user
    rows = AssessmentAnswer.objects.filter(assessment=assessment, field_key="language_levels")
    assert sorted(rows.values_list("item", "dimension", "code", "rank")) == [
        ("de", "oral", "a1", 1),
        ("de", "written", "pre_a1", 0),
        ("ti", "oral", "c2", 6),
        ("ti", "written", "b1", 3),
    ]
    level = AssessmentAnswer.objects.get(assessment=assessment, field_key="education_level")
    assert (level.code, level.rank, level.scale_max) == ("lower_secondary", 2, 4)
    assert sorted(
        AssessmentAnswer.objects.filter(assessment=assessment, field_key="obstacles").values_list(
            "code", flat=True
        )
    ) == ["childcare", "literacy"]
    # a final assessment is not edited: the page leads to it, the database refuses
    response = worker.get(url("assessment_edit", early_case.pk, assessment.pk))
    assert response.status_code == 302
    assert response.url == url("assessment_detail", early_case.pk, assessment.pk)
    response = worker.post(
        url("assessment_edit", early_case.pk, assessment.pk), answers_post(assessment)
    )
    assert response.status_code == 302
    with pytest.raises(DatabaseError), transaction.atomic():
        Assessment.objects.filter(pk=assessment.pk).update(answers={})
    with pytest.raises(DatabaseError), transaction.atomic():
        AssessmentAnswer.objects.filter(assessment=assessment).delete()
    assert worker.post(url("assessment_discard", early_case.pk, assessment.pk)).status_code == 302
    assert Assessment.objects.filter(pk=assessment.pk).exists()


def test_a3_bad_input_is_refused_with_a_message_and_nothing_stored(world, be_version, early_case):
    worker = world.worker.client()
    create = url("assessment_create", early_case.pk)
    before = Assessment.objects.count()
    # a date before the dossier's opening, a person outside the dossier
    stranger = factories.PersonFactory(registered_by=world.service_org)
    response = worker.post(
        create,
        {"person": str(stranger.pk), "version": be_version.pk, "assessed_on": "2024-01-02"},
    )
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert "person" in errors and "assessed_on" in errors
    assert Assessment.objects.count() == before
    assessment = start(worker, early_case, early_case.client_id, be_version, FIRST)
    edit = url("assessment_edit", early_case.pk, assessment.pk)
    # a level without a language, the same language twice, a year in the future, letters
    for overrides, field in [
        ({"language_levels_3": ""}, "language_levels"),
        ({"language_levels_3": "ti"}, "language_levels"),
        ({"education_end_year": "2999"}, "education_end_year"),
        ({"school_years": "neuf"}, "school_years"),
        ({"education_level": "doctorate"}, "education_level"),
    ]:
        response = worker.post(edit, answers_post(assessment, **overrides))
        assert response.status_code == 200, overrides
        found = {k for form in response.context["forms"] for k in form.errors}
        assert found == {field}, overrides
    assessment.refresh_from_db()
    assert assessment.answers == {} and assessment.revision == 1
    # a closed dossier starts no new assessment; its drafts can still be finished
    Case.objects.filter(pk=early_case.pk).update(
        status="closed", stage="closed", closed_on=SECOND, closure_reason="moved"
    )
    response = worker.post(
        create,
        {"person": str(early_case.client_id), "version": be_version.pk, "assessed_on": FIRST},
    )
    assert response.status_code == 200
    assert "Le dossier est clos" in response.content.decode()
    assert Assessment.objects.count() == before + 1
    assert finalise(worker, assessment).status_code == 302


def test_r37_two_workers_saving_the_same_draft_lose_nothing(world, be_version, early_case):
    worker, colleague = world.worker.client(), world.colleague.client()
    assessment = start(worker, early_case, early_case.client_id, be_version, FIRST)
    edit = url("assessment_edit", early_case.pk, assessment.pk)
    first = answers_post(assessment, diplomas="Premier")
    second = answers_post(assessment, diplomas="Second")
    assert worker.post(edit, first).status_code == 302
    response = colleague.post(edit, second)
    assert response.status_code == 409
    assessment.refresh_from_db()
    assert assessment.answers["diplomas"] == "Premier" and assessment.revision == 2


def _household(case: Case, registered_by: Any) -> Any:
    """A household for the dossier: its client and a spouse."""
    spouse = factories.PersonFactory(registered_by=registered_by, last_name="Zyspousewq")
    unit = AssistanceUnit.objects.create(name="Ménage", registered_by=registered_by)
    UnitMember.objects.create(unit=unit, person=case.client, relation="applicant")
    UnitMember.objects.create(unit=unit, person=spouse, relation="spouse")
    Case.objects.filter(pk=case.pk).update(assistance_unit=unit)
    case.refresh_from_db()
    return spouse


def test_a3_a_household_member_is_assessed_in_the_dossier(world, be_version, early_case):
    spouse = _household(early_case, world.service_org)
    worker = world.worker.client()
    response = worker.get(url("assessment_create", early_case.pk))
    assert [c[0] for c in response.context["form"].fields["person"].choices] == [
        str(early_case.client_id),
        str(spouse.pk),
    ]
    assessment = start(worker, early_case, spouse.pk, be_version, FIRST)
    assert assessment.person_id == spouse.pk
    # the database refuses an assessment of someone outside the dossier
    stranger = factories.PersonFactory(registered_by=world.service_org)
    with pytest.raises(DatabaseError), transaction.atomic():
        Assessment.objects.create(
            case=early_case,
            owner=early_case.owner,
            person=stranger,
            version=be_version,
            assessed_on=FIRST,
            created_by=world.worker.user,
        )


# --- history, synthesis, PDFs (A4, A6, A7, U1, U2) ------------------------------------------------


def _two_final_assessments(world: Any, be_version: TemplateVersion, case: Case) -> list[Any]:
    """German oral A1 (written pre-A1) in 03.2025, then A2 (written A1) in 01.2026."""
    worker = world.worker.client()
    made = []
    for day, german, motivation in (
        (FIRST, ("a1", "pre_a1"), "low"),
        (SECOND, ("a2", "a1"), "high"),
    ):
        assessment = start(worker, case, case.client_id, be_version, day)
        assert finalise(worker, assessment, german=german, motivation=motivation).status_code == 302
        made.append(assessment)
    return made


def test_a7_history_per_field_shows_german_oral_a1_then_a2(world, be_version, early_case, frozen):
    _two_final_assessments(world, be_version, early_case)
    # a draft is no part of the history
    start(world.worker.client(), early_case, early_case.client_id, be_version, TODAY)
    response = world.worker.client().get(
        url("assessment_person_history", early_case.pk, early_case.client_id)
    )
    assert response.status_code == 200
    lines = {
        line.heading: [(e.text, e.assessed_on) for e in line.entries]
        for line in response.context["lines"]
    }
    assert lines["Niveaux de langue – allemand oral"] == [("A1", FIRST), ("A2", SECOND)]
    assert lines["Niveaux de langue – allemand écrit"] == [("pré-A1", FIRST), ("A1", SECOND)]
    assert lines["Motivation"] == [("faible", FIRST), ("élevé", SECOND)]
    assert lines["Obstacles"] == [("garde des enfants, lecture et écriture", FIRST)] * 1 + [
        ("garde des enfants, lecture et écriture", SECOND)
    ]
    html = response.content.decode()
    assert 'A1 en 03.2025</span>, <span class="history-entry">A2 en 01.2026' in html
    german = world.worker.client()
    german.cookies["django_language"] = "de"
    html = german.get(
        url("assessment_person_history", early_case.pk, early_case.client_id)
    ).content.decode()
    assert "Sprachniveaus – Deutsch mündlich" in html
    assert 'A1 im 03.2025</span>, <span class="history-entry">A2 im 01.2026' in html


def test_a6_synthesis_shows_levels_per_theme_and_the_change(world, be_version, early_case, frozen):
    _two_final_assessments(world, be_version, early_case)
    synthesis = services.synthesis_for(actor=world.worker.actor, person_id=early_case.client_id)
    rows = {row.line.heading: row for theme in synthesis.themes for row in theme.rows}
    assert [t.label for t in synthesis.themes] == [
        "Scolarité et formation",
        "Expérience professionnelle",
        "Langues",
        "Santé et capacité de travail",
        "Famille et tâches de prise en charge",
        "Ressources",
        "Objectifs et motivation",
        "Obstacles",
    ]
    oral = rows["Niveaux de langue – allemand oral"]
    assert (oral.current.text, oral.previous.text, oral.change) == ("A2", "A1", 1)
    assert [s.filled for s in oral.steps] == [True, True, True, False, False, False, False]
    assert [s.previous for s in oral.steps].index(True) == 1
    tigrinya = rows["Niveaux de langue – tigrinya oral"]
    assert (tigrinya.current.text, tigrinya.change) == ("C2", 0)
    motivation = rows["Motivation"]
    assert (motivation.current.rank, motivation.line.scale_max, motivation.change) == (2, 2, 2)
    # categorical values are shown as they are
    obstacles = rows["Obstacles"]
    assert obstacles.steps == [] and obstacles.change is None and not obstacles.changed
    assert synthesis.latest_on == SECOND
    html = (
        world.worker.client()
        .get(url("assessment_person_history", early_case.pk, early_case.client_id))
        .content.decode()
    )
    assert "<svg" in html and "▲ 1 échelon de plus" in html and "▲ 2 échelons de plus" in html


def _pdf_text(response: Any) -> str:
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF-")
    reader = PdfReader(io.BytesIO(response.content))
    return "\n".join(page.extract_text() for page in reader.pages)


def test_a4_u2_one_assessment_and_a_history_print_as_pdf(world, be_version, early_case, frozen):
    first, second = _two_final_assessments(world, be_version, early_case)
    client = world.worker.client()
    response = client.get(url("assessment_pdf", early_case.pk, second.pk))
    assert 'filename="D-' in response["Content-Disposition"]
    text = _pdf_text(response)
    assert early_case.client.last_name in text
    assert "Zyqdiplomawq" in text and "Niveaux de langue" in text and "tigrinya" in text
    assert "20.01.2026" in text
    text = _pdf_text(
        client.get(url("assessment_person_history_pdf", early_case.pk, early_case.client_id))
    )
    assert "A1 en 03.2025" in text and "A2 en 01.2026" in text and "Synthèse" in text
    german = world.worker.client()
    german.cookies["django_language"] = "de"
    text = _pdf_text(german.get(url("assessment_pdf", early_case.pk, first.pk)))
    assert "Sprachniveaus" in text and "Datum der Abklärung" in text
    # printing is logged as such
    kinds = list(
        ReadLog.objects.filter(case_id=early_case.pk, section="assessment").values_list(
            "kind", flat=True
        )
    )
    assert kinds.count("print") == 3


# --- who reaches assessments (R11, R12, R14, R25) ---------------------------------------------


def test_r12_assessments_reach_a_partner_only_through_a_share_of_the_section(
    world, be_version, early_case
):
    assessment = _two_final_assessments(world, be_version, early_case)[0]
    draft = start(world.worker.client(), early_case, early_case.client_id, be_version, TODAY)
    partner = world.partner.client()
    pages = {
        "list": url("case_assessments", early_case.pk),
        "detail": url("assessment_detail", early_case.pk, assessment.pk),
        "pdf": url("assessment_pdf", early_case.pk, assessment.pk),
        "history": url("assessment_person_history", early_case.pk, early_case.client_id),
    }
    writes = {
        "create": url("assessment_create", early_case.pk),
        "edit": url("assessment_edit", early_case.pk, draft.pk),
    }
    for name, page in {**pages, **writes}.items():
        assert partner.get(page).status_code == 404, name
    # a share of the journal opens no assessment
    factories.ShareFactory(
        case=early_case,
        organisation=world.partner_org,
        sections=["journal"],
        granted_by=world.worker.user,
    )
    for name, page in pages.items():
        assert partner.get(page).status_code == 404, name
    factories.ShareFactory(
        case=early_case,
        organisation=world.partner_org,
        sections=["assessment"],
        granted_by=world.worker.user,
    )
    for name, page in pages.items():
        assert partner.get(page).status_code == 200, name
    for name, page in writes.items():
        assert partner.get(page).status_code == 404, name
    html = world.partner.client().get(url("case_detail", early_case.pk)).content.decode()
    assert 'id="section-assessment"' in html and pages["list"] in html
    # a write share lets the partner fill in a draft, not an assessment of someone else
    factories.ShareFactory(
        case=early_case,
        organisation=world.partner_org,
        sections=["assessment"],
        access="write",
        granted_by=world.worker.user,
    )
    assert partner.get(writes["edit"]).status_code == 200


def test_r12_r14_an_assessment_outside_the_users_reach_is_a_404_with_a_security_event(
    world, be_version, early_case
):
    assessment = _two_final_assessments(world, be_version, early_case)[0]
    outsider = world.outsider.client()
    missing = url("assessment_detail", early_case.pk, "00000000-0000-4000-8000-000000000000")
    forbidden = url("assessment_detail", early_case.pk, assessment.pk)
    assert outsider.get(forbidden).status_code == 404
    assert outsider.get(missing).status_code == 404
    assert SecurityEvent.objects.filter(
        kind=DENIAL, user=world.outsider.user, detail__object_type="assessment"
    ).exists()
    # the right assessment in the wrong dossier is no way in either
    other = world.other_case
    assert (
        world.worker.client().get(url("assessment_detail", other.pk, assessment.pk)).status_code
        == 404
    )
    # a person who is not in the dossier has no history there
    stranger = factories.PersonFactory(registered_by=world.service_org)
    assert (
        world.worker.client()
        .get(url("assessment_person_history", early_case.pk, stranger.pk))
        .status_code
        == 404
    )
    # the assistant reads, never writes
    assistant = world.assistant.client()
    assert assistant.get(forbidden).status_code == 200
    assert assistant.get(url("assessment_create", early_case.pk)).status_code == 404


def test_r25_reading_logs_the_assessment_section_of_every_dossier_shown(
    world, be_version, early_case, frozen
):
    _two_final_assessments(world, be_version, early_case)
    # the same person is the client of a dossier of another social service, assessed there
    elsewhere = factories.CaseFactory(
        owner=world.outsider_org,
        client=early_case.client,
        responsible=world.outsider.user,
        opened_on=datetime.date(2025, 1, 6),
    )
    outsider = world.outsider.client()
    there = start(outsider, elsewhere, early_case.client_id, be_version, datetime.date(2026, 2, 2))
    assert finalise(outsider, there, german=("b1", "a2")).status_code == 302
    history = url("assessment_person_history", early_case.pk, early_case.client_id)

    def german_oral(client: Any) -> list[str]:
        lines = client.get(history).context["lines"]
        line = next(x for x in lines if x.heading == "Niveaux de langue – allemand oral")
        return [e.text for e in line.entries]

    worker = world.worker.client()
    before = ReadLog.objects.count()
    assert german_oral(worker) == ["A1", "A2"]
    assert list(
        ReadLog.objects.order_by("id")[before:].values_list("case_id", "section", "kind")
    ) == [(early_case.pk, "assessment", "view")]
    # once the other service shares its assessments, they join the history, and their read
    # is logged for that dossier
    factories.ShareFactory(
        case=elsewhere,
        owner=world.outsider_org,
        organisation=world.service_org,
        sections=["assessment"],
        granted_by=world.outsider.user,
    )
    before = ReadLog.objects.count()
    assert german_oral(worker) == ["A1", "A2", "B1"]
    assert sorted(
        ReadLog.objects.order_by("id")[before:].values_list("case_id", "section"), key=str
    ) == sorted([(early_case.pk, "assessment"), (elsewhere.pk, "assessment")], key=str)
    synthesis = services.synthesis_for(actor=world.worker.actor, person_id=early_case.client_id)
    oral = next(
        r for t in synthesis.themes for r in t.rows if r.line.heading.endswith("allemand oral")
    )
    assert (oral.previous.text, oral.current.text) == ("A2", "B1")
    assert synthesis.case_ids == {early_case.pk, elsewhere.pk}


# --- query counts (U4, decision 0015) ----------------------------------------------------------

# Pinned, request overhead (the session, the user with their memberships) included. The list: the
# dossier, the read log, one keyset page, the household, the links to providers (A8). An assessment:
# itself with its dossier (and the link it came through), the read log, the version's sections,
# fields and codes. A history: the dossier, its household, the values, their codes' labels, the read
# log, the person's links to providers.
LIST_QUERIES = 7
DETAIL_QUERIES = 7
HISTORY_QUERIES = 8


def _count(client: Any, path: str, **headers: Any) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.get(path, headers=headers)  # a first request of the session writes its idle stamp
    with CaptureQueriesContext(connection) as queries:
        assert client.get(path, headers=headers).status_code == 200
    return len(queries)


def test_u4_assessment_pages_cost_the_same_queries_with_more_assessments(
    world, be_version, early_case, frozen
):
    spouse = _household(early_case, world.service_org)
    worker = world.worker.client()
    counts = []
    for extra in (0, 3):
        for n in range(extra):
            person = spouse.pk if n % 2 else early_case.client_id
            made = start(worker, early_case, person, be_version, FIRST + datetime.timedelta(days=n))
            assert finalise(worker, made).status_code == 302
        first, second = _two_final_assessments(world, be_version, early_case)
        counts.append(
            (
                _count(worker, url("case_assessments", early_case.pk)),
                _count(worker, url("case_assessments", early_case.pk), HX_Request="true"),
                _count(worker, url("assessment_detail", early_case.pk, second.pk)),
                _count(
                    worker, url("assessment_person_history", early_case.pk, early_case.client_id)
                ),
            )
        )
    assert counts[0] == counts[1]
    assert counts[0] == (LIST_QUERIES, LIST_QUERIES, DETAIL_QUERIES, HISTORY_QUERIES)


# --- every page renders in French and German (U3, R40) -----------------------------------------


@pytest.mark.usefixtures("strict_templates")
@pytest.mark.parametrize("language", ["fr", "de"])
def test_u3_assessment_and_template_pages_render_without_unknown_variables(
    world, be_version, early_case, language
):
    final, _second = _two_final_assessments(world, be_version, early_case)
    worker = world.worker.client()
    draft = start(worker, early_case, early_case.client_id, be_version, SECOND)
    worker.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    case = early_case.pk
    for page in (
        url("case_detail", case),
        url("case_assessments", case),
        url("assessment_create", case),
        url("assessment_detail", case, final.pk),
        url("assessment_detail", case, draft.pk),
        url("assessment_edit", case, draft.pk),
        url("assessment_person_history", case, early_case.client_id),
    ):
        check_page(worker, page)
    check_page(worker, url("case_assessments", case), headers={"HX-Request": "true"})
    check_page(worker, url("assessment_create", case), method="post", data={})
    check_page(
        worker,
        url("assessment_edit", case, draft.pk),
        method="post",
        data=answers_post(draft, action="finalise", potential=None, language_levels_3=""),
    )
    officer = world.officer.client()
    officer.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    draft_version = _new_draft(officer, be_version)
    section = TemplateSection.objects.filter(version=draft_version).first()
    field = TemplateField.objects.filter(version=draft_version, kind="choice").first()
    for page in (
        url("template_list"),
        url("template_create"),
        url("template_detail", be_version.template_id),
        url("template_version", be_version.pk),
        url("template_version", draft_version.pk),
        url("template_section_create", draft_version.pk),
        url("template_section_edit", section.pk),
        url("template_field_create", section.pk),
        url("template_field_edit", field.pk),
        url("template_codelist_create", draft_version.pk),
        url("template_codelist_edit", field.code_list_id),
    ):
        check_page(officer, page)
    for page in (
        url("template_create"),
        url("template_field_create", section.pk),
        url("template_codelist_create", draft_version.pk),
    ):
        check_page(
            officer,
            page,
            method="post",
            data={"items-TOTAL_FORMS": "1", "items-INITIAL_FORMS": "0"},
        )


def test_r40_assessment_templates_have_no_inline_script_or_style():
    folder = Path(settings.BASE_DIR) / "filum" / "assessments" / "templates"
    offenders = []
    for path in folder.rglob("*.html"):
        text = path.read_text()
        if re.search(r"<script(?![^>]*\ssrc=)[^>]*>", text):
            offenders.append(f"{path}: inline <script>")
        if re.search(r"<style|\sstyle=|\son[a-z]+=", text):
            offenders.append(f"{path}: inline style or event handler")
    assert offenders == []
