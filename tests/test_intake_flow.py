"""The intake flow (P1, P6): register a person, open their dossier, decide Intake 1, each step
leading straight to the next one."""

from __future__ import annotations

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from filum.cases.models import Case, Stage
from filum.people.models import Person
from tests.test_people import person_data

pytestmark = pytest.mark.django_db


def _unique_person(**overrides: str) -> dict[str, str]:
    return person_data(last_name="Quarenghi-Flux", first_name="Ottilie", **overrides)


def test_p1_registering_with_open_a_dossier_leads_to_the_new_dossier_form(world):
    response = world.intake.client().post(reverse("person_create"), _unique_person(then="case"))
    person = Person.objects.get(last_name="Quarenghi-Flux")
    assert response.status_code == 302
    assert response["Location"] == reverse("case_create", args=[person.pk])


def test_p1_registering_only_leads_to_the_person(world):
    response = world.intake.client().post(reverse("person_create"), _unique_person(then="person"))
    person = Person.objects.get(last_name="Quarenghi-Flux")
    assert response["Location"] == reverse("person_detail", args=[person.pk])


def test_p1_confirming_past_the_duplicate_hints_keeps_the_chosen_next_step(world):
    client = world.intake.client()
    duplicate = _unique_person(then="case")
    client.post(reverse("person_create"), duplicate)
    response = client.post(reverse("person_create"), duplicate)
    assert response.status_code == 200  # the hints are shown first
    assert 'name="then" value="case"' in response.content.decode()
    response = client.post(reverse("person_create"), {**duplicate, "confirm_new": "1"})
    newest = Person.objects.filter(last_name="Quarenghi-Flux").order_by("-created_at").first()
    assert response["Location"] == reverse("case_create", args=[newest.pk])


def test_p6_opening_a_dossier_leads_to_the_intake_decision(world):
    person = world.case.client
    response = world.intake.client().post(
        reverse("case_create", args=[person.pk]),
        {
            "domain": "economic_aid",
            "title": "Demande flux",
            "opened_on": timezone.localdate().isoformat(),
            "responsible": world.worker.user.pk,
        },
    )
    case = Case.objects.get(title="Demande flux")
    assert case.stage == Stage.INTAKE_1
    assert response["Location"] == reverse("intake_decide", args=[case.pk])


def test_p6_an_assistant_opening_a_dossier_lands_on_the_dossier(world):
    # the administrative assistant may open dossiers but not take the intake decision
    person = world.case.client
    response = world.assistant.client().post(
        reverse("case_create", args=[person.pk]),
        {
            "domain": "economic_aid",
            "title": "Demande assistant",
            "opened_on": (timezone.localdate() - datetime.timedelta(days=1)).isoformat(),
            "responsible": world.worker.user.pk,
        },
    )
    case = Case.objects.get(title="Demande assistant")
    assert response["Location"] == reverse("case_detail", args=[case.pk])
