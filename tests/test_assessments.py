"""Potential assessments (A1-A7, U1, U2): templates as versioned data per canton, drafts and
final assessments, a person's history and synthesis, PDFs, and who reaches them."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
import time_machine
from django.db import DatabaseError, transaction
from django.urls import reverse

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
from filum.records.models import DENIAL, SecurityEvent
from tests import factories

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
