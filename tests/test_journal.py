"""The journal (S6, S7, S9): contact types, topics, durations, dates, versions, agreements."""

from __future__ import annotations

import datetime

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.db import DatabaseError, IntegrityError, transaction
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase as HypothesisTestCase

from filum.journal import services
from filum.journal.models import (
    FACE_TO_FACE_KINDS,
    NOT_A_CONTACT_KINDS,
    Contact,
    ContactEvent,
    ContactKind,
    ServiceAgreement,
    Topic,
)
from tests import factories
from tests.conftest import make_persona

TODAY = datetime.date(2026, 3, 16)


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(datetime.datetime(2026, 3, 16, 10, 0), tick=False):
        yield


def topic(code: str = "health") -> Topic:
    return Topic.objects.get(code=code)


def record(world, **kwargs) -> Contact:
    data = {
        "kind": ContactKind.INTERVIEW,
        "date": TODAY - datetime.timedelta(days=2),
        "topic": topic(),
        "duration_minutes": 45,
        "participants": "Cliente, AS",
        "note": "Point sur la santé.",
    }
    data.update(kwargs)
    return services.do_record_contact(actor=world.worker.actor, case=world.case, **data)


def test_s6_face_to_face_types_count_as_face_to_face(world):
    for kind in sorted(FACE_TO_FACE_KINDS):
        contact = record(world, kind=kind)
        assert contact.counts and contact.is_face_to_face
    for kind in (ContactKind.PHONE, ContactKind.EMAIL):
        contact = record(world, kind=kind, duration_minutes=None)
        assert contact.counts and not contact.is_face_to_face
    # a letter is no interview (seed 003, section 6)
    letter = record(world, kind=ContactKind.LETTER, duration_minutes=None)
    assert not letter.counts and not letter.is_face_to_face


def test_s6_document_drop_off_is_no_contact(world):
    drop = record(world, kind=ContactKind.DOCUMENT_DROP, duration_minutes=None)
    assert not drop.counts and not drop.is_face_to_face
    # an interview whose topic is only dropping off documents does not count either
    documents = record(world, kind=ContactKind.INTERVIEW, topic=topic("documents"))
    assert not documents.counts and not documents.is_face_to_face
    assert list(Contact.objects.filter(case=world.case).counted()) == []


def test_s6_document_drop_off_never_counts_in_the_database(world):
    with pytest.raises(IntegrityError), transaction.atomic():
        Contact.objects.create(
            case=world.case,
            owner=world.service_org,
            kind=ContactKind.DOCUMENT_DROP,
            date=TODAY,
            topic=topic(),
            counts=True,
            is_face_to_face=False,
            recorded_by=world.worker.user,
        )


def test_s7_face_to_face_interview_needs_a_duration(world):
    with pytest.raises(ValidationError) as exc:
        record(world, duration_minutes=None)
    assert "duration_minutes" in exc.value.message_dict
    assert not Contact.objects.filter(case=world.case).exists()
    with pytest.raises(IntegrityError), transaction.atomic():
        Contact.objects.create(
            case=world.case,
            owner=world.service_org,
            kind=ContactKind.HOME_VISIT,
            date=TODAY,
            topic=topic(),
            counts=True,
            is_face_to_face=True,
            recorded_by=world.worker.user,
        )


def test_s7_short_interviews_are_fine_and_phone_needs_no_duration(world):
    assert record(world, duration_minutes=5).duration_minutes == 5
    assert record(world, kind=ContactKind.PHONE, duration_minutes=None).duration_minutes is None


def test_s6_contact_dated_in_the_future_is_refused(world):
    with pytest.raises(ValidationError) as exc:
        record(world, date=TODAY + datetime.timedelta(days=1))
    assert "date" in exc.value.message_dict
    assert not Contact.objects.filter(case=world.case).exists()
    assert record(world, date=TODAY).date == TODAY


def test_s6_topic_is_required(world):
    with pytest.raises(ValidationError) as exc:
        record(world, topic=None)
    assert "topic" in exc.value.message_dict


def test_s6_contact_on_a_closed_dossier_is_refused(world):
    from filum.followup import lifecycle

    lifecycle.do_close(actor=world.worker.actor, case=world.case, closed_on=TODAY, reason="moved")
    world.case.refresh_from_db()
    with pytest.raises(ValidationError):
        record(world)


def test_x2_correction_is_a_new_version_and_the_old_text_stays(world):
    original = record(world, note="Texte original")
    corrected = services.do_correct_contact(
        actor=world.colleague.actor,
        contact=original,
        reason="Faute de frappe",
        kind=ContactKind.INTERVIEW,
        date=original.date,
        topic=topic("finances"),
        duration_minutes=30,
        note="Texte corrigé",
    )
    original.refresh_from_db()
    assert original.note == "Texte original" and original.superseded_at is not None
    assert corrected.supersedes == original and corrected.correction_reason == "Faute de frappe"
    assert list(Contact.objects.filter(case=world.case).visible()) == [corrected]
    assert [c.note for c in services.contact_versions(corrected)] == [
        "Texte corrigé",
        "Texte original",
    ]
    assert ContactEvent.objects.filter(pgh_obj=original, note="Texte original").exists()
    with pytest.raises(ValidationError):
        services.do_correct_contact(
            actor=world.worker.actor,
            contact=original,
            reason="encore",
            kind=ContactKind.PHONE,
            date=original.date,
            topic=topic(),
        )


def test_x2_correction_needs_a_reason(world):
    original = record(world)
    with pytest.raises(ValidationError):
        services.do_correct_contact(
            actor=world.worker.actor,
            contact=original,
            reason="",
            kind=ContactKind.INTERVIEW,
            date=original.date,
            topic=topic(),
            duration_minutes=10,
        )
    original.refresh_from_db()
    assert original.superseded_at is None


def test_x2_stored_entries_cannot_be_edited_in_place(world):
    contact = record(world, note="Original")
    with pytest.raises(DatabaseError), transaction.atomic():
        Contact.objects.filter(pk=contact.pk).update(note="Réécrit")
    contact.refresh_from_db()
    assert contact.note == "Original"


def test_x2_retraction_hides_but_keeps_the_entry(world):
    contact = record(world)
    retracted = services.do_retract_contact(
        actor=world.worker.actor, contact=contact, reason="Mauvais dossier"
    )
    assert retracted.is_retracted and retracted.supersedes == contact
    assert not Contact.objects.filter(case=world.case).visible().exists()
    assert Contact.objects.filter(case=world.case).count() == 2


def test_s9_service_agreement_or_the_reason_why_none(world):
    with pytest.raises(ValidationError):
        services.do_record_no_service_agreement(
            actor=world.worker.actor, case=world.case, reason=" "
        )
    none = services.do_record_no_service_agreement(
        actor=world.worker.actor, case=world.case, reason="Situation de crise, pas encore possible"
    )
    assert not none.exists and services.current_service_agreement(world.case) == none
    with pytest.raises(ValidationError) as exc:
        services.do_record_service_agreement(
            actor=world.worker.actor,
            case=world.case,
            signed_on=TODAY + datetime.timedelta(days=1),
            summary="",
        )
    assert {"signed_on", "summary"} <= set(exc.value.message_dict)
    signed = services.do_record_service_agreement(
        actor=world.worker.actor,
        case=world.case,
        signed_on=TODAY,
        summary="Recherche d'emploi, cours de français",
        valid_until=TODAY + datetime.timedelta(days=180),
    )
    assert services.current_service_agreement(world.case) == signed
    with pytest.raises(IntegrityError), transaction.atomic():
        ServiceAgreement.objects.create(
            case=world.case, owner=world.service_org, recorded_by=world.worker.user
        )


def test_s6_topics_are_data_in_french_and_german(db):
    from django.utils import translation

    housing = Topic.objects.get(code="housing")
    with translation.override("de"):
        assert housing.name == "Wohnen"
    with translation.override("fr"):
        assert housing.name == "Logement"
    assert not Topic.objects.get(code="documents").is_social_work


class TestContactProperties(HypothesisTestCase):
    """Whatever is entered, the stored flags follow S6 and S7."""

    @classmethod
    def setUpTestData(cls):
        org = factories.OrganisationFactory()
        cls.persona = make_persona(org, "social_worker", "prop_worker")
        cls.case = factories.CaseFactory(
            owner=org, responsible=cls.persona.user, opened_on=datetime.date(2020, 1, 1)
        )

    @settings(max_examples=60, deadline=None)
    @given(
        kind=st.sampled_from(ContactKind.values),
        offset=st.integers(-5, 400),
        duration=st.one_of(st.none(), st.integers(0, 300)),
        topic_code=st.sampled_from(["health", "housing", "documents", "administration"]),
    )
    def test_s6_s7_property(self, kind, offset, duration, topic_code):
        with time_machine.travel(datetime.datetime(2026, 3, 16, 10, 0), tick=False):
            day = TODAY - datetime.timedelta(days=offset)
            chosen = Topic.objects.get(code=topic_code)
            try:
                contact = services.do_record_contact(
                    actor=self.persona.actor,
                    case=self.case,
                    kind=kind,
                    date=day,
                    topic=chosen,
                    duration_minutes=duration,
                )
            except ValidationError as exc:
                errors = exc.message_dict
                assert (
                    day > TODAY or (kind in FACE_TO_FACE_KINDS and not duration) or duration == 0
                ), errors
                return
            assert day <= TODAY
            assert contact.counts == (kind not in NOT_A_CONTACT_KINDS and chosen.is_social_work)
            assert contact.is_face_to_face == (contact.counts and kind in FACE_TO_FACE_KINDS)
            if kind in FACE_TO_FACE_KINDS:
                assert contact.duration_minutes and contact.duration_minutes > 0


@pytest.mark.parametrize("language", ["fr", "de"])
@pytest.mark.parametrize(
    "data", [None, {"kind": "phone", "topic": "first"}, {"kind": "<b>", "topic": "x\"'"}]
)
def test_u4_contact_form_selects_render_as_djangos(db, language, data):
    """The contact form's selects are written in Python (filum.web.forms.Select, U4): the same
    HTML as Django's templates, with the chosen option selected and bad input escaped."""
    from django import forms as django_forms
    from django.utils.translation import override

    from filum.journal.forms import ContactForm
    from filum.journal.models import Topic

    if data and data["topic"] == "first":
        data = {**data, "topic": str(Topic.objects.filter(is_active=True).first().pk)}
    with override(language):
        form = ContactForm(data)
        for name in ("kind", "topic"):
            field = form[name]
            extra = {"aria-describedby": f"id_{name}_helptext", "required": True, "hidden": False}
            ours = field.as_widget(attrs=extra)
            attrs = {**field.build_widget_attrs(extra), "id": field.auto_id}
            django = django_forms.Select.render(
                field.field.widget, field.html_name, field.value(), attrs, form.renderer
            )
            assert ours == django
            phone = bool(data and data["kind"] == "phone")
            assert ('<option value="phone" selected>' in ours) == (name == "kind" and phone)
            assert "<b>" not in ours


# the journal page: the request's own (the session, the user with their memberships), the
# door's dossier and the read log, the entries, the summary of the last 12 months and the
# service agreement (U4)
JOURNAL_PAGE_QUERIES = 7


def test_s6_u4_journal_summary_of_the_last_12_months_in_one_query(world, django_assert_num_queries):
    from django.urls import reverse

    from filum.cases.models import Case

    Case.objects.filter(pk=world.case.pk).update(opened_on=TODAY - datetime.timedelta(days=800))
    world.case.refresh_from_db()
    client = world.worker.client()
    url = reverse("journal_list", args=[world.case.pk])
    empty = client.get(url).context["summary"]
    assert empty == {"total": 0, "face_to_face": 0, "last_face_to_face": None}
    days = datetime.timedelta
    record(world, date=TODAY - days(10))  # face to face
    record(world, kind=ContactKind.PHONE, duration_minutes=None, date=TODAY - days(20))
    record(world, date=TODAY - days(400))  # face to face, more than a year ago
    record(world, kind=ContactKind.LETTER, duration_minutes=None, date=TODAY - days(5))
    with django_assert_num_queries(JOURNAL_PAGE_QUERIES):
        response = client.get(url)
    assert response.context["summary"] == {
        "total": 2,
        "face_to_face": 1,
        "last_face_to_face": TODAY - days(10),
    }
