"""Bad input on person records, optimistic concurrency, duplicate search (P8, R15, R37)."""

from __future__ import annotations

import datetime
import html
from typing import Any

import pytest
from django.urls import reverse
from stdnum import ean

from filum.people.models import Person
from tests import factories


def ahv(serial: int) -> str:
    """A valid AHV number (EAN-13 check digit) in the dotted form people type."""
    digits = f"756{serial:09d}"
    digits += ean.calc_check_digit(digits)
    return f"{digits[:3]}.{digits[3:7]}.{digits[7:11]}.{digits[11:]}"


def text(response: Any) -> str:
    return html.unescape(response.content.decode())


def person_data(**overrides: Any) -> dict[str, Any]:
    data = {
        "last_name": "Berger",
        "first_name": "Anna",
        "birth_date": "1985-03-14",
        "sex": "f",
        "nationality": "CH",
        "residence_status": "swiss",
        "arrival_date": "",
        "languages": "de",
        "ahv_number": "",
        "street": "Bahnhofstrasse 1",
        "postal_code": "2502",
        "city": "Biel/Bienne",
        "phone": "",
        "email": "",
    }
    data.update(overrides)
    return data


def edit_data(person: Person, version: int, **overrides: Any) -> dict[str, Any]:
    data = person_data(
        last_name=person.last_name,
        first_name=person.first_name,
        birth_date=person.birth_date.isoformat() if person.birth_date else "",
        ahv_number=person.ahv_number or "",
        version=version,
    )
    data.update(overrides)
    return data


def test_r15_a_valid_person_is_registered(world):
    response = world.worker.client().post(
        reverse("person_create"), person_data(ahv_number=ahv(123456789), confirm_new="1")
    )
    assert response.status_code == 302
    # the AHV number is unique: other persons named Berger may exist
    person = Person.objects.get(ahv_number="7561234567897")
    assert (person.last_name, person.first_name) == ("Berger", "Anna")
    assert person.registered_by == world.service_org


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("756.1234.5678.9", "Un numéro AVS compte 13 chiffres."),
        ("75612345678977", "Un numéro AVS compte 13 chiffres."),
        ("757.1234.5678.95", "Un numéro AVS commence par 756."),
        ("756.1234.5678.98", "Le chiffre de contrôle de ce numéro AVS est erroné."),
        ("756.ABCD.5678.97", "Un numéro AVS ne contient que des chiffres."),
    ],
)
def test_r15_invalid_ahv_numbers_are_refused_in_french(world, value, message):
    if value.startswith("757"):
        # a correct check digit, so that only the prefix is wrong
        digits = "757123456789"
        value = digits + ean.calc_check_digit(digits)
    before = Person.objects.count()
    response = world.worker.client().post(
        reverse("person_create"), person_data(ahv_number=value, confirm_new="1")
    )
    assert response.status_code == 200
    assert message in text(response)
    assert "ahv_number" in response.context["form"].errors
    assert Person.objects.count() == before


def test_r15_messages_are_in_german_for_german_speakers(world):
    client = world.worker.client()
    response = client.post(
        reverse("person_create"),
        person_data(ahv_number="756.1234.5678.98", confirm_new="1"),
        HTTP_ACCEPT_LANGUAGE="de",
    )
    assert response.status_code == 200
    assert "Die Prüfziffer dieser AHV-Nummer ist falsch." in text(response)
    client.cookies["django_language"] = "de"
    response = client.post(
        reverse("person_create"), person_data(ahv_number="756.1234", confirm_new="1")
    )
    assert "Eine AHV-Nummer hat 13 Ziffern." in text(response)


def test_r15_a_duplicate_ahv_number_is_refused(world):
    factories.PersonFactory(ahv_number="7561234567897", registered_by=world.outsider_org)
    before = Person.objects.count()
    response = world.worker.client().post(
        reverse("person_create"), person_data(ahv_number="756.1234.5678.97", confirm_new="1")
    )
    assert response.status_code == 200
    assert "Une personne avec ce numéro AVS est déjà enregistrée." in text(response)
    assert Person.objects.count() == before


def test_r15_birth_after_arrival_is_refused(world):
    before = Person.objects.count()
    response = world.worker.client().post(
        reverse("person_create"),
        person_data(birth_date="2001-05-01", arrival_date="2000-01-01", confirm_new="1"),
    )
    assert response.status_code == 200
    assert "La date d'arrivée ne peut pas être antérieure à la date de naissance." in text(response)
    assert "arrival_date" in response.context["form"].errors
    assert Person.objects.count() == before


def test_r37_concurrent_person_edits_keep_the_first_and_refuse_the_second(world):
    person = world.case.client
    url = reverse("person_edit", args=[person.pk])
    first, second = world.worker.client(), world.colleague.client()
    version = first.get(url).context["form"]["version"].value()
    assert second.get(url).context["form"]["version"].value() == version
    response = first.post(url, edit_data(person, version, city="Thun"))
    assert response.status_code == 302
    response = second.post(url, edit_data(person, version, city="Lyss"))
    assert response.status_code == 409
    assert "Quelqu'un d'autre a modifié cette personne entre-temps." in text(response)
    person.refresh_from_db()
    assert person.city == "Thun"
    assert person.version == version + 1


def test_r35_person_edit_ignores_fields_that_are_not_in_the_form(world):
    person = world.case.client
    url = reverse("person_edit", args=[person.pk])
    response = world.worker.client().post(
        url,
        edit_data(
            person,
            person.version,
            registered_by=world.outsider_org.pk,
            id="00000000-0000-0000-0000-000000000000",
            created_at="2000-01-01T00:00:00Z",
        ),
    )
    assert response.status_code == 302
    person.refresh_from_db()
    assert person.registered_by == world.service_org
    assert Person.objects.filter(pk=person.pk).exists()


# ---------------------------------------------------------------------------------------------
# Duplicate search (P8)


def test_p8_duplicates_found_without_accents_and_with_the_birth_date(world):
    factories.PersonFactory(
        last_name="Müller",
        first_name="Jürg",
        birth_date=datetime.date(1980, 5, 2),
        registered_by=world.service_org,
    )
    response = world.worker.client().post(
        reverse("person_duplicates"),
        {"last_name": "Muller", "first_name": "Jurg", "birth_date": "1980-05-02"},
    )
    assert response.status_code == 200
    assert "Müller Jürg" in text(response)
    assert "02.05.1980" in text(response)


def test_p8_duplicates_found_by_ahv_number_alone(world):
    person = factories.PersonFactory(
        last_name="Müller",
        first_name="Jürg",
        ahv_number="7561234567897",
        registered_by=world.service_org,
    )
    response = world.worker.client().post(
        reverse("person_duplicates"), {"last_name": "", "ahv_number": "756.1234.5678.97"}
    )
    assert response.status_code == 200
    assert [c.person.pk for c in response.context["candidates"]] == [person.pk]
    assert "Müller Jürg" in text(response)


def test_p8_person_create_shows_the_duplicates_before_registering(world):
    factories.PersonFactory(
        last_name="Müller",
        first_name="Jürg",
        birth_date=datetime.date(1980, 5, 2),
        registered_by=world.service_org,
    )
    before = Person.objects.count()
    client = world.worker.client()
    data = person_data(last_name="Muller", first_name="Jurg", birth_date="1980-05-02")
    response = client.post(reverse("person_create"), data)
    assert response.status_code == 200
    assert "Müller Jürg" in text(response)
    assert Person.objects.count() == before
    response = client.post(reverse("person_create"), {**data, "confirm_new": "1"})
    assert response.status_code == 302
    assert Person.objects.count() == before + 1


def test_p8_a_candidate_of_another_organisation_is_only_hinted(world):
    hidden = factories.PersonFactory(
        last_name="Schnyder",
        first_name="Käthi",
        birth_date=datetime.date(1975, 11, 3),
        ahv_number=ahv(987654321).replace(".", ""),
        registered_by=world.outsider_org,
    )
    factories.CaseFactory(owner=world.outsider_org, client=hidden)
    response = world.worker.client().post(
        reverse("person_duplicates"),
        {"last_name": "Schnyder", "first_name": "Kathi", "birth_date": "1975-11-03"},
    )
    assert response.status_code == 200
    body = text(response)
    assert "Une personne aux données similaires est connue d'une autre organisation." in body
    for detail in ("Schnyder", "Käthi", "03.11.1975", str(hidden.pk)):
        assert detail not in body
    assert [c.visible for c in response.context["candidates"]] == [False]


def test_p8_person_search_shows_only_visible_persons(world):
    factories.PersonFactory(
        last_name="Zumbrunnen", first_name="Eva", registered_by=world.service_org
    )
    factories.PersonFactory(
        last_name="Zumbrunnen", first_name="Ida", registered_by=world.outsider_org
    )
    response = world.worker.client().post(reverse("person_search"), {"q": "Zumbrunnen"})
    assert response.status_code == 200
    body = text(response)
    assert "Eva" in body and "Ida" not in body
    assert [p.first_name for p in response.context["results"]] == ["Eva"]
