"""eCH-0044 version 4 person identification (X7): out of Filum and into it, with the rules of
the standard's schema (domain.md section H): the AHV number as 13 digits without dots from
7560000000001 to 7569999999999, the local id with its category (at most 20 characters) and id
(at most 36), names of 1 to 100 characters, sex 1 or 2, a date of birth known to the day, the
month or only the year."""

from __future__ import annotations

import datetime
import html
import xml.etree.ElementTree as ET  # noqa: S405 (our own output)

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import translation
from hypothesis import given
from hypothesis import strategies as st

from filum.exchange import ech0044
from filum.exchange.ech0044 import NS, NamedId, PartialDate, PersonIdentification
from filum.people.models import BirthDateKnown, Person
from filum.records.models import ReadLog
from tests import factories

VALID_VN = "7561234567897"


def document(*children: str, root: str = "personIdentificationRoot") -> bytes:
    inner = "".join(children)
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><e:{root} xmlns:e="{NS}">'
        f"<e:personIdentification>{inner}</e:personIdentification></e:{root}>"
    ).encode()


LOCAL = (
    "<e:localPersonId><e:personIdCategory>CH.ZEMIS</e:personIdCategory>"
    "<e:personId>12345678</e:personId></e:localPersonId>"
)


def good(**parts: str) -> bytes:
    """A valid document; ``parts`` replace elements by tag (an empty string drops it)."""
    elements = {
        "vn": f"<e:vn>{VALID_VN}</e:vn>",
        "localPersonId": LOCAL,
        "officialName": "<e:officialName>Ghebremichael</e:officialName>",
        "firstName": "<e:firstName>Selam</e:firstName>",
        "sex": "<e:sex>2</e:sex>",
        "dateOfBirth": "<e:dateOfBirth><e:year>1994</e:year></e:dateOfBirth>",
    }
    elements.update(parts)
    return document(*elements.values())


def problems(data: bytes) -> str:
    """The messages as a French reader gets them (the test pins French wording)."""
    with translation.override("fr"):
        with pytest.raises(ValidationError) as caught:
            ech0044.from_xml(data)
        return " | ".join(caught.value.messages)


# --- reading ---------------------------------------------------------------------------------


def test_x7_a_valid_identification_is_read_with_a_partly_known_birth_date():
    found = ech0044.from_xml(good())
    assert found.vn == VALID_VN and found.local_id == NamedId("CH.ZEMIS", "12345678")
    assert (found.official_name, found.first_name, found.sex) == ("Ghebremichael", "Selam", "2")
    assert found.date_of_birth == PartialDate(1994)
    fields = found.person_fields()
    assert fields["birth_date"] == datetime.date(1994, 1, 1)
    assert fields["birth_date_known"] == BirthDateKnown.YEAR and fields["sex"] == "f"
    month = ech0044.from_xml(
        good(dateOfBirth="<e:dateOfBirth><e:yearMonth>1994-07</e:yearMonth></e:dateOfBirth>")
    )
    assert month.date_of_birth == PartialDate(1994, 7)
    assert month.person_fields()["birth_date"] == datetime.date(1994, 7, 1)


@pytest.mark.parametrize(
    ("vn", "accepted"),
    [
        ("7560000000002", True),  # the lowest number with a correct check digit
        ("7569999999991", True),  # the highest
        ("7559999999999", False),  # below the range
        ("7570000000000", False),  # above it
        ("756.1234.5678.97", False),  # dots are not part of the standard's number
        ("756123456789", False),  # 12 digits
        ("7561234567898", False),  # wrong check digit
    ],
)
def test_x7_the_ahv_number_follows_the_standards_range_and_its_check_digit(vn, accepted):
    data = good(vn=f"<e:vn>{vn}</e:vn>")
    if accepted:
        assert ech0044.from_xml(data).vn == vn
    else:
        assert problems(data).startswith("vn: ")


def test_x7_the_ahv_number_is_optional():
    assert ech0044.from_xml(good(vn="")).vn is None


@pytest.mark.parametrize(
    ("parts", "expected"),
    [
        ({"sex": "<e:sex>3</e:sex>"}, "sex: 1 (masculin) ou 2 (féminin), pas 3"),
        ({"sex": ""}, "sex: manquant"),
        ({"officialName": ""}, "officialName: manquant"),
        ({"officialName": "<e:officialName>   </e:officialName>"}, "officialName: vide"),
        ({"firstName": f"<e:firstName>{'x' * 101}</e:firstName>"}, "plus de 100 caractères"),
        ({"localPersonId": ""}, "localPersonId: manquant"),
        (
            {
                "localPersonId": "<e:localPersonId><e:personIdCategory>"
                + "C" * 21
                + "</e:personIdCategory><e:personId>1</e:personId></e:localPersonId>"
            },
            "localPersonId/personIdCategory: plus de 20 caractères",
        ),
        (
            {
                "localPersonId": "<e:localPersonId><e:personIdCategory>CH.X</e:personIdCategory>"
                "<e:personId>" + "9" * 37 + "</e:personId></e:localPersonId>"
            },
            "localPersonId/personId: plus de 36 caractères",
        ),
        (
            {
                "dateOfBirth": "<e:dateOfBirth><e:year>1994</e:year>"
                "<e:yearMonth>1994-07</e:yearMonth></e:dateOfBirth>"
            },
            "dateOfBirth: exactement un",
        ),
        (
            {"dateOfBirth": "<e:dateOfBirth><e:yearMonth>1994-13</e:yearMonth></e:dateOfBirth>"},
            "dateOfBirth/yearMonth: pas une date valable",
        ),
        (
            {
                "dateOfBirth": "<e:dateOfBirth><e:yearMonthDay>1994-02-30</e:yearMonthDay>"
                "</e:dateOfBirth>"
            },
            "dateOfBirth/yearMonthDay: pas une date valable",
        ),
        (
            {"dateOfBirth": "<e:dateOfBirth><e:year>2999</e:year></e:dateOfBirth>"},
            "ne peut pas être dans le futur",
        ),
        ({"dateOfBirth": ""}, "dateOfBirth: manquant"),
        ({"vn": "<e:nickname>Sel</e:nickname>"}, "nickname: pas un élément"),
    ],
)
def test_x7_each_broken_rule_is_named_with_its_element_in_the_users_language(parts, expected):
    assert expected in problems(good(**parts))


def test_x7_every_problem_of_a_document_is_reported_at_once():
    found = problems(good(sex="<e:sex>0</e:sex>", officialName="", vn="<e:vn>123</e:vn>"))
    assert "vn:" in found and "sex:" in found and "officialName:" in found


def test_x7_order_duplicates_and_foreign_documents_are_refused():
    swapped = document(
        LOCAL,
        "<e:firstName>A</e:firstName>",
        "<e:officialName>B</e:officialName>",
        "<e:sex>1</e:sex>",
        "<e:dateOfBirth><e:year>1990</e:year></e:dateOfBirth>",
    )
    assert "pas dans l'ordre" in problems(swapped)
    twice = good(sex="<e:sex>1</e:sex><e:sex>2</e:sex>")
    assert "sex: apparaît plusieurs fois" in problems(twice)
    assert "version 4" in problems(b'<root xmlns="http://www.ech.ch/xmlns/eCH-0044/3"/>')
    assert "bien formé" in problems(b"<e:personIdentificationRoot")
    bomb = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><x>&a;</x>'
    assert "DOCTYPE" in problems(bomb)
    assert "trop grand" in problems(b" " * (ech0044.MAX_BYTES + 1))


# --- writing ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_x7_a_person_is_written_in_the_standards_order_and_reads_back_the_same():
    person = factories.PersonFactory(
        last_name="Nazarzada",
        first_name="Farid",
        sex="m",
        ahv_number=VALID_VN,
        birth_date=datetime.date(1979, 3, 1),
        birth_date_known=BirthDateKnown.MONTH,
    )
    data = ech0044.to_xml(ech0044.identification_of(person))
    root = ET.fromstring(data)  # noqa: S314
    tags = [e.tag.removeprefix(f"{{{NS}}}") for e in root[0]]
    assert tags == ["vn", "localPersonId", "officialName", "firstName", "sex", "dateOfBirth"]
    assert root[0].find(f"{{{NS}}}dateOfBirth/{{{NS}}}yearMonth").text == "1979-03"
    back = ech0044.from_xml(data)
    assert back.local_id == NamedId("LOC.FILUM", str(person.pk))
    assert back.person_fields() | {"ahv_number": person.ahv_number} == {
        "last_name": "Nazarzada",
        "first_name": "Farid",
        "sex": "m",
        "birth_date": datetime.date(1979, 3, 1),
        "birth_date_known": "month",
        "ahv_number": VALID_VN,
    }


@pytest.mark.django_db
def test_x7_a_person_the_standard_cannot_describe_is_not_written():
    person = factories.PersonFactory(sex="x", birth_date=None)
    with pytest.raises(ValidationError) as caught:
        ech0044.identification_of(person)
    assert len(caught.value.messages) == 2


names = (
    st.text(alphabet=st.characters(codec="utf-8", categories=["L", "Zs"]), min_size=1, max_size=100)
    .map(lambda s: " ".join(s.split()))
    .filter(bool)
)


@given(
    official=names,
    first=names,
    sex=st.sampled_from(["1", "2"]),
    birth=st.dates(datetime.date(1900, 1, 1), datetime.date(2020, 12, 31)),
    known=st.sampled_from(list(BirthDateKnown)),
    ids=st.lists(
        st.builds(
            NamedId,
            st.from_regex(r"[A-Z]{2}\.[A-Z]{1,10}", fullmatch=True),
            st.from_regex(r"[0-9A-Za-z\-]{1,36}", fullmatch=True),
        ),
        max_size=3,
    ),
)
def test_x7_whatever_is_written_reads_back_the_same(official, first, sex, birth, known, ids):
    identification = PersonIdentification(
        local_id=NamedId("LOC.FILUM", "0b7a3c2e-8f61-4e0a-9d3b-5c1f2a7e9d40"),
        official_name=official,
        first_name=first,
        sex=sex,
        date_of_birth=PartialDate.of(birth, known),
        other_ids=ids,
    )
    assert ech0044.from_xml(ech0044.to_xml(identification)) == identification


# --- the pages --------------------------------------------------------------------------------


def test_x7_the_person_page_downloads_the_identification_and_logs_an_export(world):
    person = world.case.client
    Person.objects.filter(pk=person.pk).update(ahv_number=VALID_VN)
    response = world.worker.client().get(reverse("person_ech0044", args=[person.pk]))
    assert response.status_code == 200 and response["Content-Type"] == "application/xml"
    assert ech0044.from_xml(response.content).vn == VALID_VN
    log = ReadLog.objects.filter(person_id=person.pk).latest("id")
    assert (log.kind, log.section) == ("export", "core")
    assert (
        world.outsider.client().get(reverse("person_ech0044", args=[person.pk])).status_code == 404
    )


def test_x7_a_person_without_a_known_sex_gets_a_message_not_a_file(world):
    person = world.case.client
    Person.objects.filter(pk=person.pk).update(sex="x")
    response = world.worker.client().get(reverse("person_ech0044", args=[person.pk]), follow=True)
    assert "eCH-0044 ne connaît que les sexes masculin et féminin" in html.unescape(
        response.content.decode()
    )
    assert not ReadLog.objects.filter(person_id=person.pk, kind="export").exists()


def upload(data: bytes) -> dict[str, object]:
    return {"file": SimpleUploadedFile("person.xml", data, content_type="application/xml")}


def test_x7_a_file_fills_in_the_registration_form_and_stores_nothing(world):
    before = Person.objects.count()
    client = world.intake.client()
    response = client.post(reverse("person_import_ech0044"), upload(good()))
    assert response.status_code == 200
    form = response.context["form"]
    assert form.initial["last_name"] == "Ghebremichael"
    assert form.initial["birth_date_known"] == "year"
    assert form.initial["ahv_number"] == "756.1234.5678.97"
    page = html.unescape(response.content.decode())
    assert "CH.ZEMIS 12345678" in page
    assert f'action="{reverse("person_create")}"' in page
    assert Person.objects.count() == before


def test_x7_a_bad_file_is_refused_with_its_problems_in_german(world):
    client = world.intake.client()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "de"
    response = client.post(reverse("person_import_ech0044"), upload(good(sex="<e:sex>3</e:sex>")))
    assert response.status_code == 400
    assert "sex: 1 (männlich) oder 2 (weiblich), nicht 3" in html.unescape(
        response.content.decode()
    )


def test_x7_a_partly_known_birth_date_is_stored_as_the_first_day_and_shown_as_known(world):
    client = world.intake.client()
    data = {
        "last_name": "Tesfay-Unique",
        "first_name": "Yonas",
        "birth_date": "1990-06-17",
        "birth_date_known": "year",
        "sex": "m",
        "confirm_new": "1",
    }
    response = client.post(reverse("person_create"), data)
    assert response.status_code == 302, response.content.decode()[:2000]
    person = Person.objects.get(last_name="Tesfay-Unique")
    assert person.birth_date == datetime.date(1990, 1, 1) and person.birth_date_display == "1990"
    page = html.unescape(client.get(reverse("person_detail", args=[person.pk])).content.decode())
    assert "1990" in page
    assert "01.01.1990" not in page


def test_x7_the_database_holds_that_a_partial_birth_date_is_a_first_day(world):
    person = world.case.client
    with pytest.raises(IntegrityError), transaction.atomic():
        Person.objects.filter(pk=person.pk).update(
            birth_date=datetime.date(1990, 6, 17), birth_date_known="month"
        )
