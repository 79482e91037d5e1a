"""Person-level lists (D2, D4; decision 0034): each filter alone and combined against
hand-built data, visibility, read logging, saved lists per user, and bad input. The CSV and
XLSX exports (a background job): tests/test_person_list_exports.py."""

from __future__ import annotations

import datetime
import re
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from filum.assessments.models import (
    Assessment,
    AssessmentAnswer,
    TemplateField,
    TemplateVersion,
)
from filum.cases.models import Case
from filum.people.models import AssistanceUnit, Person, UnitMember
from filum.records.models import ReadLog
from filum.steering import person_lists
from filum.steering.models import SavedPersonList
from filum.steering.person_lists import PersonFilter, ordered_ids, years_before
from filum.tenancy.policy import Relation, is_allowed
from tests import factories
from tests import plan_factories as pf
from tests.conftest import make_persona

URL = "/steering/persons/"


def _answer(case: Case, person: Person, by: Any, key: str, on: datetime.date, **kw: Any) -> None:
    """A final assessment of the person with one flattened value (the default template)."""
    version = TemplateVersion.objects.filter(template__code="potential_assessment").first()
    field = TemplateField.objects.get(version=version, key=key)
    assessment = Assessment.objects.create(
        case=case,
        owner_id=case.owner_id,
        person=person,
        version=version,
        assessed_on=on,
        status="final",
        created_by=by,
        finalised_by=by,
        finalised_at=timezone.now(),
    )
    AssessmentAnswer.objects.create(
        assessment=assessment,
        case=case,
        owner_id=case.owner_id,
        person=person,
        field=field,
        field_key=key,
        assessed_on=on,
        **kw,
    )


@pytest.fixture
def data(world):
    """The service's world case: Amanuel (F, 30, arrived 4 years ago, A2 oral German in his
    latest assessment, driving licence) with his son Dawit (F, 10) in the household; a second
    dossier of the service: Berhane (B, 50, arrived 12 years ago, counselling, segment A, a
    running job coaching); the outsider's dossier (never listed); an outsider dossier shared
    with the service (Selam), first for the journal only."""
    today = timezone.localdate()
    head = world.head
    case = world.case
    Person.objects.filter(pk=case.client_id).update(
        last_name="Tesfay",
        first_name="Amanuel",
        residence_status="F",
        birth_date=years_before(today, 30) - datetime.timedelta(days=10),
        arrival_date=years_before(today, 4) - datetime.timedelta(days=10),
    )
    son = factories.PersonFactory(
        last_name="Tesfay",
        first_name="Dawit",
        residence_status="F",
        birth_date=years_before(today, 10),
        arrival_date=years_before(today, 4) - datetime.timedelta(days=10),
        registered_by=world.service_org,
    )
    unit = AssistanceUnit.objects.create(name="Tesfay", registered_by=world.service_org)
    UnitMember.objects.create(unit=unit, person=case.client, relation="applicant")
    UnitMember.objects.create(unit=unit, person=son, relation="child")
    Case.objects.filter(pk=case.pk).update(assistance_unit=unit)
    second = factories.CaseFactory(
        owner=world.service_org,
        responsible=head.user,
        client__last_name="Berhane",
        client__first_name="Mulu",
        client__residence_status="B",
        client__birth_date=years_before(today, 50),
        client__arrival_date=years_before(today, 12),
        stage="counselling",
        segment="A",
        segment_since=today - datetime.timedelta(days=5),
    )
    plan = pf.plan(second, head.user)
    pf.measure(
        plan,
        head.user,
        category="job_coaching",
        status="running",
        actual_start=today - datetime.timedelta(days=3),
    )
    client = Person.objects.get(pk=case.client_id)
    assessed = today - datetime.timedelta(days=20)
    _answer(
        case,
        client,
        head.user,
        "language_levels",
        assessed,
        item="de",
        dimension="oral",
        code="a2",
        rank=2,
        scale_max=6,
    )
    _answer(case, client, head.user, "driving_licence", assessed, code="yes")
    Person.objects.filter(pk=world.other_case.client_id).update(
        last_name="Outsider", residence_status="F"
    )
    shared = factories.CaseFactory(
        owner=world.outsider_org,
        responsible=world.outsider.user,
        client__last_name="Selam",
        client__residence_status="F",
    )
    share = factories.ShareFactory(
        case=shared,
        organisation=world.service_org,
        sections=["journal"],
        granted_by=world.outsider.user,
    )
    return {"case": case, "son": son, "second": second, "shared": shared, "share": share}


def names(client: Any, **query: Any) -> list[str]:
    response = client.get(URL, {"run": "1", **query})
    assert response.status_code == 200
    return [f"{r.person.last_name} {r.person.first_name}" for r in response.context["page"].rows]


def test_d4_the_policy_gives_the_lists_to_section_heads_and_social_workers():
    allowed = {
        role
        for role in (
            "section_head",
            "social_worker",
            "intake_worker",
            "admin_assistant",
            "partner_staff",
            "protection_staff",
            "canton_analyst",
            "dpo",
            "super_user",
        )
        if is_allowed(role, "person.list", Relation.OWN_ORG)
    }
    assert allowed == {"section_head", "social_worker"}


def test_d2_without_a_filter_every_person_of_the_readable_dossiers_one_line_each(world, data):
    client = world.head.client()
    # the page alone shows the form, lists nobody and reads nothing
    response = client.get(URL)
    assert response.status_code == 200 and response.context["page"] is None
    assert not ReadLog.objects.exists()
    listed = names(client)
    # household members are listed as persons (D2); the outsider's and the journal-only
    # shared dossier's persons are not
    assert listed == ["Berhane Mulu", "Tesfay Amanuel", "Tesfay Dawit"]


@pytest.fixture(params=["dossier_set", "reach_walk"])
def both_shapes(request, monkeypatch):
    """Each filter through both query shapes of decision 0034: the persons of a few dossiers
    read as a set, and the walk of the organisation's reach in name order (forced here by
    counting every number of dossiers as many)."""
    if request.param == "reach_walk":
        monkeypatch.setattr(person_lists, "FEW_DOSSIERS", 0)
    return request.param


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"residence_status": "F"}, ["Tesfay Amanuel", "Tesfay Dawit"]),
        ({"residence_status": ["B", "C"]}, ["Berhane Mulu"]),
        ({"age_min": "18"}, ["Berhane Mulu", "Tesfay Amanuel"]),
        ({"age_min": "30", "age_max": "30"}, ["Tesfay Amanuel"]),
        ({"age_max": "17"}, ["Tesfay Dawit"]),
        ({"stay_min": "10"}, ["Berhane Mulu"]),
        ({"stay_max": "4"}, ["Tesfay Amanuel", "Tesfay Dawit"]),
        ({"stage": "counselling"}, ["Berhane Mulu"]),
        ({"stage": "intake_1"}, ["Tesfay Amanuel", "Tesfay Dawit"]),
        ({"segment": "A"}, ["Berhane Mulu"]),
        ({"segment": "B"}, []),
        ({"competence": "mine"}, ["Berhane Mulu"]),
        ({"competence": "own"}, ["Berhane Mulu", "Tesfay Amanuel", "Tesfay Dawit"]),
        ({"competence": "shared"}, []),
        ({"case_status": "closed"}, []),
        ({"measure_category": "job_coaching"}, ["Berhane Mulu"]),
        ({"measure_category": "language_course"}, []),
        ({"measure_status": "running"}, ["Berhane Mulu"]),
        ({"measure_status": "completed"}, []),
        ({"resource": "driving_licence"}, ["Tesfay Amanuel"]),
        ({"resource": "work_capacity"}, []),
        ({"level_min": "a1"}, ["Tesfay Amanuel"]),
        ({"level_min": "a2", "level_max": "a2"}, ["Tesfay Amanuel"]),
        ({"level_min": "b1"}, []),
        ({"level_max": "pre_a1"}, []),
        ({"language": "fr", "level_min": "pre_a1"}, []),
        ({"language": "de", "dimension": "written", "level_min": "pre_a1"}, []),
    ],
)
def test_d4_each_filter_alone(world, data, both_shapes, query, expected):
    assert names(world.head.client(), **query) == expected


def test_d4_filters_combine(world, data, both_shapes):
    client = world.head.client()
    assert names(client, residence_status="F", age_min="18") == ["Tesfay Amanuel"]
    assert names(client, residence_status="F", age_min="18", stay_min="5") == []
    assert names(client, stage="intake_1", age_max="17", residence_status="F") == ["Tesfay Dawit"]
    assert names(client, segment="A", measure_status="running", age_min="40") == ["Berhane Mulu"]
    assert names(client, level_min="a1", resource="driving_licence", competence="own") == [
        "Tesfay Amanuel"
    ]


def test_d4_a_shared_dossier_is_listed_only_with_a_share_of_its_core(world, data):
    client = world.head.client()
    assert "Selam" not in " ".join(names(client))
    data["share"].sections = ["core", "journal"]
    data["share"].save()
    assert [n for n in names(client, competence="shared")] == [
        f"Selam {data['shared'].client.first_name}"
    ]
    # the outsider's own dossier is never listed, whatever the filter
    for query in ({}, {"residence_status": "F"}, {"competence": "shared"}):
        assert not any(n.startswith("Outsider") for n in names(client, **query))
    # a social worker of the other organisation sees its own persons, none of the service's
    assert names(world.outsider.client()) == [
        f"Outsider {world.other_case.client.first_name}",
        f"Selam {data['shared'].client.first_name}",
    ]


def test_d4_the_page_logs_the_read_of_each_listed_dossier(world, data):
    client = world.head.client()
    names(client, residence_status="F", level_min="a1")
    logged = set(ReadLog.objects.values_list("case_id", "section", "kind", "user_id"))
    user = world.head.user.pk
    assert logged == {
        (data["case"].pk, "core", "view", user),
        (data["case"].pk, "assessment", "view", user),  # the language level shown
    }
    last = ReadLog.objects.order_by("-id").values_list("id", flat=True)[0]
    names(client, measure_category="job_coaching")
    logged = set(ReadLog.objects.filter(id__gt=last).values_list("case_id", "section"))
    assert logged == {(data["second"].pk, "core"), (data["second"].pk, "plan")}


def test_d4_keyset_pages(world, data, monkeypatch):
    monkeypatch.setattr(person_lists, "PAGE_SIZE", 2)
    client = world.head.client()
    first = client.get(URL, {"run": "1"}).context["page"]
    assert [r.person.first_name for r in first.rows] == ["Mulu", "Amanuel"]
    assert first.next_cursor is not None
    second = client.get(URL, {"run": "1", "after": str(first.next_cursor)}).context["page"]
    assert [r.person.first_name for r in second.rows] == ["Dawit"]
    assert second.next_cursor is None


def test_d4_bad_input_gets_form_errors_in_the_users_language(world, data):
    client = world.head.client()
    for language, words in (("fr", "nombre entier"), ("de", "ganze Zahl")):
        client.cookies["django_language"] = language
        response = client.get(URL, {"run": "1", "age_min": "abc"})
        assert response.context["page"] is None
        assert words in str(response.context["form"].errors["age_min"])
        assert words in response.content.decode()
    client.cookies["django_language"] = "fr"
    response = client.get(URL, {"run": "1", "age_min": "40", "age_max": "20"})
    assert response.context["page"] is None
    assert response.context["form"].errors["age_max"]
    response = client.get(URL, {"run": "1", "level_min": "b1", "level_max": "a1"})
    assert response.context["form"].errors["level_max"]
    response = client.get(URL, {"run": "1", "stage": "nonsense"})
    assert response.context["form"].errors["stage"]
    assert not ReadLog.objects.exists()
    # a filter matching nothing: a clear message, no read
    response = client.get(URL, {"run": "1", "segment": "B"})
    assert "Aucune personne ne correspond" in response.content.decode()
    # a hand-edited cursor is ignored
    assert client.get(URL, {"run": "1", "after": "nonsense"}).status_code == 200


# --- saved lists ---------------------------------------------------------------------------


def test_d4_saved_lists_are_owned_by_their_user(world, data):
    client = world.head.client()
    response = client.post(
        reverse("person_list_save"),
        {"name": "Réfugiés adultes", "residence_status": ["F", "F_FL"], "age_min": "18"},
    )
    assert response.status_code == 302
    saved = SavedPersonList.objects.get()
    assert (saved.user_id, saved.organisation_id) == (world.head.user.pk, world.service_org.pk)
    assert saved.filters == {"residence_status": ["F", "F_FL"], "age_min": "18"}
    shown = client.get(reverse("person_list"), {"saved": saved.pk}, follow=True)
    assert [r.person.first_name for r in shown.context["page"].rows] == ["Amanuel"]
    # edit: the same list, a new filter and name
    client.post(
        reverse("person_list_save"),
        {"name": "Adultes", "list": saved.pk, "age_min": "40"},
    )
    saved.refresh_from_db()
    assert (saved.name, saved.filters) == ("Adultes", {"age_min": "40"})
    # the same name twice: refused, nothing stored
    client.post(reverse("person_list_save"), {"name": "Adultes", "age_min": "1"})
    assert SavedPersonList.objects.count() == 1
    # another user's list: 404 to show, edit or delete, and it stays
    other = world.worker.client()
    assert other.get(reverse("person_list"), {"saved": saved.pk}).status_code == 404
    assert other.get(reverse("person_list"), {"list": saved.pk}).status_code == 404
    assert other.post(reverse("person_list_save"), {"delete": saved.pk}).status_code == 404
    assert (
        other.post(reverse("person_list_save"), {"name": "Volé", "list": saved.pk}).status_code
        == 404
    )
    saved.refresh_from_db()
    assert saved.name == "Adultes"
    assert "Adultes" not in other.get(reverse("person_list")).content.decode()
    # its owner deletes it
    client.post(reverse("person_list_save"), {"delete": saved.pk})
    assert not SavedPersonList.objects.exists()


# --- exports ---------------------------------------------------------------------------------


def test_d4_an_export_in_small_batches_has_the_rows_and_levels_of_the_pages(world, data):
    """The export finds the persons once, in the list's order, then reads them by batches of
    ids: batches of one give the same rows, levels and dossiers as the list's pages."""
    actor = world.head.actor
    f = PersonFilter(case_status="all")
    pages, cursor = [], None
    while True:
        page = person_lists.person_page(actor, f, cursor=cursor, size=1)
        pages += page.rows
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    ids = person_lists.export_ids(actor, f)
    exported = [row for rows in person_lists.export_batches(actor, f, ids, batch=1) for row in rows]
    assert len(exported) >= 3
    assert [(r.person.pk, r.level, [d.case_id for d in r.dossiers]) for r in exported] == [
        (r.person.pk, r.level, [d.case_id for d in r.dossiers]) for r in pages
    ]


def test_d4_nobody_else_reaches_the_lists(world, data):
    for persona in ("assistant", "intake", "dpo", "analyst", "partner", "superuser", "officer"):
        client = getattr(world, persona).client()
        assert client.get(URL, {"run": "1"}).status_code == 404
        assert client.post(reverse("person_list_export"), {"format": "csv"}).status_code == 404
    assert not ReadLog.objects.exists()


def test_d4_the_query_starts_from_the_readable_dossiers(world, data, monkeypatch):
    """Visibility first, in SQL: a bounded count of the service's matching dossiers, then one
    query. With few dossiers their persons are read from them; with many, from the service's
    reach, probed against its own dossiers; and from the dossiers shared with it."""
    on = timezone.localdate()
    with CaptureQueriesContext(connection) as queries:
        ordered_ids(world.head.actor, PersonFilter(), on=on, limit=51)
    assert len(queries) == 2
    assert "LIMIT 1 OFFSET 1000" in queries[0]["sql"]  # past FEW_DOSSIERS, along the owner
    assert "people_personreach" not in queries[1]["sql"]
    assert f'"owner_id" = {world.service_org.pk}' in queries[1]["sql"]
    monkeypatch.setattr(person_lists, "FEW_DOSSIERS", 0)
    with CaptureQueriesContext(connection) as queries:
        ordered_ids(world.head.actor, PersonFilter(), on=on, limit=51)
    assert len(queries) == 2
    sql = queries[1]["sql"]
    assert f'"people_personreach"."organisation_id" = {world.service_org.pk}' in sql
    assert f'"owner_id" = {world.service_org.pk}' in sql
    assert "cases_share" in sql  # and the dossiers shared with the service
    assert sql.count("ORDER BY 1 ASC, 2 ASC, 3 ASC LIMIT 51") == 3  # each part, then the merge


def test_d4_a_new_member_of_another_organisation_sees_nothing(world, data):
    other = make_persona(world.outsider_org, "section_head", "outsider_head")
    client = other.client()
    assert names(client) == [
        f"Outsider {world.other_case.client.first_name}",
        f"Selam {data['shared'].client.first_name}",
    ]


def test_d4_the_demo_section_heads_saved_lists_are_valid_filters(world):
    from collections import Counter
    from types import SimpleNamespace

    from filum.demo.person_lists import DEMO_LISTS, step_person_lists
    from filum.steering.list_forms import PersonFilterForm, as_query

    ctx = SimpleNamespace(
        actors={"rs.bienne": world.head.actor, "bl.thun": world.outsider.actor},
        counts=Counter(),
    )
    step_person_lists(ctx)
    step_person_lists(ctx)  # the seed may run twice: nothing doubles
    assert set(DEMO_LISTS) == {"rs.bienne", "bl.thun"}
    assert SavedPersonList.objects.filter(user=world.head.user).count() == 3
    assert SavedPersonList.objects.filter(user=world.outsider.user).count() == 3
    for saved in SavedPersonList.objects.all():
        form = PersonFilterForm(as_query(saved.filters), canton="BE")
        assert form.is_valid(), (saved.name, form.errors)
    # the French section head's first list opens and runs
    first = SavedPersonList.objects.filter(user=world.head.user).order_by("pk").first()
    response = world.head.client().get(URL, {"saved": first.pk}, follow=True)
    assert response.context["page"] is not None and response.context["saved"] == first


@pytest.mark.parametrize("language", ["fr", "de"])
@pytest.mark.parametrize(
    "data",
    [
        None,
        {"residence_status": ["F", "B_FL"], "stage": "counselling", "competence": "mine"},
        {"residence_status": ['"><b>x'], "segment": "Z", "level_min": "<i>"},
    ],
)
def test_u4_the_filters_checkboxes_and_selects_render_as_djangos(db, language, data):
    """The filter form's checkboxes and selects are written in Python (``filum.web.forms``,
    U4): the same HTML as Django's templates, character for character, with the chosen
    values ticked or selected and bad input escaped."""
    from django import forms as django_forms
    from django.http import QueryDict
    from django.utils.translation import override

    from filum.steering.list_forms import PersonFilterForm

    query = QueryDict(mutable=True)
    for name, value in (data or {}).items():
        query.setlist(name, value if isinstance(value, list) else [value])
    with override(language):
        form = PersonFilterForm(query if data else None, canton="BE")
        form.is_valid()
        kinds = {"checkboxes": 0, "selects": 0}
        for field in form:
            widget = field.field.widget
            if isinstance(widget, django_forms.CheckboxSelectMultiple):
                django_render = django_forms.CheckboxSelectMultiple.render
                kinds["checkboxes"] += 1
            elif type(widget).__name__ == "Select" and field.name != "measure_programme":
                django_render = django_forms.Select.render
                kinds["selects"] += 1
            else:
                continue
            ours = field.as_widget()
            attrs = {**field.build_widget_attrs({}), "id": field.auto_id}
            assert ours == django_render(widget, field.html_name, field.value(), attrs), field.name
            assert "<b>" not in ours and "<i>" not in ours
        assert kinds == {"checkboxes": 6, "selects": 6}
        ticks = form["residence_status"].as_widget()
        chosen = set((data or {}).get("residence_status", [])) & {"F", "B_FL"}
        for code in ("F", "B_FL"):
            box = re.search(
                f'<input type="checkbox" name="residence_status" value="{code}"[^>]*>', ticks
            )
            assert box is not None
            assert (code in chosen) == box.group(0).endswith(" checked>")
