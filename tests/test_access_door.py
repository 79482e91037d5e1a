"""The one access door (issue 6 section 2, decision 0012): reads logged by the call that grants
them, denials of existing objects recorded once per user, object and hour (R14), tasks that
belong to an organisation, shares that end with their consent (P2, X4), and shares that
identify the person they concern."""

from __future__ import annotations

import datetime
import html
import uuid
from typing import Any

import pytest
from django.db import IntegrityError, transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from filum.cases.models import Case, Consent, Share
from filum.followup.models import Task
from filum.people.models import Person
from filum.records.models import DENIAL, ReadLog, SecurityEvent
from tests import factories

TODAY = timezone.localdate


def text(response: Any) -> str:
    return html.unescape(response.content.decode())


def denials(user: Any) -> list[SecurityEvent]:
    return list(SecurityEvent.objects.filter(kind=DENIAL, user=user).order_by("id"))


def reads(**filters: Any) -> list[tuple[str, str]]:
    return sorted(ReadLog.objects.filter(**filters).values_list("section", "kind"))


# --- denials (R14) ---------------------------------------------------------------------------


@pytest.mark.owner  # ages an event to test the hourly limit: the app role may not
def test_r14_a_refused_existing_dossier_leaves_one_security_event(world):
    outsider = world.outsider.client()
    url = reverse("case_detail", args=[world.case.pk])
    assert outsider.get(url).status_code == 404
    [event] = denials(world.outsider.user)
    assert event.organisation_id == world.outsider_org.pk
    assert event.detail["object_type"] == "case"
    assert event.detail["object_id"] == str(world.case.pk)
    assert event.detail["owner_id"] == world.service_org.pk
    assert event.detail["path"] == url
    # A scan of the same dossier through other pages adds nothing within the hour.
    for name in ("case_detail", "journal_list", "case_steering", "case_documents"):
        assert outsider.get(reverse(name, args=[world.case.pk])).status_code == 404
    assert len(denials(world.outsider.user)) == 1
    # An hour later, the next refusal is recorded again.
    SecurityEvent.objects.filter(pk=event.pk).update(at=event.at - datetime.timedelta(hours=1))
    assert outsider.get(url).status_code == 404
    assert len(denials(world.outsider.user)) == 2


def test_r14_a_missing_object_leaves_no_security_event(world):
    outsider = world.outsider.client()
    for name, kwargs in (
        ("case_detail", {"case_id": uuid.uuid4()}),
        ("person_detail", {"person_id": uuid.uuid4()}),
        ("task_detail", {"task_id": 987654321}),
        ("document_download", {"document_id": uuid.uuid4()}),
        ("contact_history", {"case_id": world.case.pk, "contact_id": 987654321}),
    ):
        assert outsider.get(reverse(name, kwargs=kwargs)).status_code == 404, name
    assert denials(world.outsider.user) == []


def test_r14_refused_person_task_and_owner_pages_leave_events(world):
    outsider = world.outsider.client()
    person_url = reverse("person_detail", args=[world.case.client_id])
    assert outsider.get(person_url).status_code == 404
    task = Task.objects.create(
        case=world.case,
        owner=world.service_org,
        title="Rappel",
        due_on=TODAY(),
        assigned_role="social_worker",
    )
    assert outsider.get(reverse("task_detail", args=[task.pk])).status_code == 404
    found = {(e.detail["object_type"], e.detail["object_id"]) for e in denials(world.outsider.user)}
    assert found == {("person", str(world.case.client_id)), ("task", str(task.pk))}


def test_r14_the_dpo_lists_the_denials_of_their_organisation_page_by_page(world):
    now = timezone.now()
    SecurityEvent.objects.bulk_create(
        [
            SecurityEvent(
                at=now - datetime.timedelta(minutes=n),
                kind=DENIAL,
                user=world.outsider.user,
                organisation_id=world.outsider_org.pk,
                detail={
                    "object_type": "case",
                    "object_id": f"probe-{n}",
                    "owner_id": world.service_org.pk,
                    "path": f"/dossiers/probe-{n}/",
                },
            )
            for n in range(55)
        ]
        + [
            SecurityEvent(
                at=now,
                kind=DENIAL,
                user=world.partner.user,
                organisation_id=world.partner_org.pk,
                detail={"object_type": "case", "object_id": "elsewhere", "owner_id": 0},
            )
        ]
    )
    dpo = world.dpo.client()
    first = dpo.get(reverse("audit_denials"))
    assert first.status_code == 200
    rows = [event for event, _label in first.context["rows"]]
    assert len(rows) == 50
    assert rows[0].detail["object_id"] == "probe-0"
    assert "elsewhere" not in text(first)
    assert str(world.outsider.user) in text(first)
    second = dpo.get(reverse("audit_denials"), {"before": first.context["next_cursor"]})
    rest = [event.detail["object_id"] for event, _label in second.context["rows"]]
    assert rest == [f"probe-{n}" for n in range(50, 55)]
    assert second.context["next_cursor"] is None
    # Other organisations' DPOs see nothing of it; other roles do not reach the page.
    other_dpo = factories.MembershipFactory(organisation=world.partner_org, role="dpo")
    client = Client()
    client.force_login(other_dpo.user)
    listed = [
        e.detail["object_id"] for e, _label in client.get(reverse("audit_denials")).context["rows"]
    ]
    assert listed == ["elsewhere"]
    assert world.worker.client().get(reverse("audit_denials")).status_code == 404


# --- read logging in the door (X6, R25) ------------------------------------------------------


@pytest.mark.owner  # empties the read log between pages: the app role may not
def test_x6_pages_that_showed_content_without_logging_now_log_their_reads(world):
    worker = world.worker.client()
    case = world.case
    pages = {
        "case_steering": ["core"],
        "case_steering_panel": ["core"],
        "case_edit": ["core"],
        "service_agreement": ["journal"],
    }
    for name, sections in pages.items():
        ReadLog.objects.all().delete()
        assert worker.get(reverse(name, args=[case.pk])).status_code == 200, name
        assert reads(case_id=case.pk, user=world.worker.user) == [(s, "view") for s in sections], (
            name
        )
    task = Task.objects.create(
        case=case,
        owner=world.service_org,
        title="Appeler",
        due_on=TODAY(),
        assigned_role="social_worker",
    )
    ReadLog.objects.all().delete()
    assert worker.get(reverse("task_detail", args=[task.pk])).status_code == 200
    assert reads(case_id=case.pk) == [("core", "view"), ("documents", "view")]
    ReadLog.objects.all().delete()
    assert world.dpo.client().get(reverse("audit_case", args=[case.pk])).status_code == 200
    assert {k for _s, k in reads(case_id=case.pk, user=world.dpo.user)} == {"audit"}
    # A refused request logs nothing.
    ReadLog.objects.all().delete()
    assert world.outsider.client().get(reverse("case_steering", args=[case.pk])).status_code == 404
    assert not ReadLog.objects.exists()


# --- tasks belong to an organisation ---------------------------------------------------------


@pytest.fixture
def journal_write_share(world):
    return factories.ShareFactory(
        case=world.case,
        organisation=world.partner_org,
        sections=["journal"],
        access="write",
        granted_by=world.worker.user,
    )


def test_i5_a_partner_with_a_journal_share_cannot_reach_the_owners_tasks(
    world, journal_write_share
):
    owners = Task.objects.create(
        case=world.case,
        owner=world.service_org,
        title="Décision de segment",
        due_on=TODAY(),
        assigned_to=world.worker.user,
    )
    partner = world.partner.client()
    assert partner.get(reverse("task_detail", args=[owners.pk])).status_code == 404
    for name in ("task_done", "task_cancel"):
        assert partner.post(reverse(name, args=[owners.pk])).status_code == 404, name
    owners.refresh_from_db()
    assert owners.status == "open"
    assert "Décision de segment" not in text(partner.get(reverse("task_list")))
    # The partner's own task on the shared dossier works, and belongs to the partner.
    response = partner.post(
        reverse("task_create", args=[world.case.pk]),
        {
            "title": "Bilan du stage",
            "due_on": (TODAY() + datetime.timedelta(days=3)).isoformat(),
            "assignee": f"user:{world.partner.user.pk}",
            "description": "",
        },
    )
    assert response.status_code == 302
    own = Task.objects.get(title="Bilan du stage")
    assert own.owner_id == world.partner_org.pk
    assert partner.get(reverse("task_detail", args=[own.pk])).status_code == 200
    assert "Bilan du stage" in text(partner.get(reverse("task_list")))
    assert partner.post(reverse("task_done", args=[own.pk])).status_code == 302
    own.refresh_from_db()
    assert own.status == "done"
    # The owner's worker does not see the partner's task among theirs.
    assert "Bilan du stage" not in text(
        world.worker.client().get(reverse("task_list") + "?status=done")
    )


def test_i5_a_partner_cannot_assign_a_task_to_the_owners_staff(world, journal_write_share):
    response = world.partner.client().post(
        reverse("task_create", args=[world.case.pk]),
        {
            "title": "Pour l'AS",
            "due_on": (TODAY() + datetime.timedelta(days=3)).isoformat(),
            "assignee": f"user:{world.worker.user.pk}",
        },
    )
    assert response.status_code == 200
    assert "assignee" in response.context["form"].errors
    assert not Task.objects.filter(title="Pour l'AS").exists()


# --- shares end with their consent (P2, X4) --------------------------------------------------


def consent_until(world: Any, valid_until: datetime.date) -> Consent:
    return Consent.objects.create(
        case=world.case,
        owner=world.service_org,
        person=world.case.client,
        kind="general",
        scope="Échange avec le partenaire d'insertion",
        signed_on=TODAY() - datetime.timedelta(days=30),
        valid_until=valid_until,
        recorded_by=world.worker.user,
    )


def share_post(world: Any, consent: Consent, valid_until: datetime.date) -> dict[str, Any]:
    return {
        "organisation": world.partner_org.pk,
        "sections": ["journal"],
        "access": "read",
        "basis": "consent",
        "consent": consent.pk,
        "reason": "Consentement du 1er mars",
        "valid_until": valid_until.isoformat(),
    }


@pytest.mark.parametrize(
    ("language", "message"),
    [
        ("fr", "Le consentement prend fin le {date} : le partage ne peut pas durer au-delà."),
        ("de", "Die Einwilligung endet am {date}: Die Freigabe kann nicht länger dauern."),
    ],
)
def test_x4_p2_a_share_cannot_outlast_its_consent(world, language, message):
    end = TODAY() + datetime.timedelta(days=10)
    consent = consent_until(world, end)
    client = world.worker.client()
    client.cookies["django_language"] = language
    url = reverse("share_create", args=[world.case.pk])
    response = client.post(url, share_post(world, consent, end + datetime.timedelta(days=1)))
    assert response.status_code == 200
    assert message.format(date=f"{end:%d.%m.%Y}") in text(response)
    assert not Share.objects.exists()
    # Up to the consent's last day is fine.
    assert client.post(url, share_post(world, consent, end)).status_code == 302
    assert Share.objects.get().valid_until == end


def test_x4_p2_the_database_refuses_a_share_past_its_consent(world):
    end = TODAY() + datetime.timedelta(days=10)
    consent = consent_until(world, end)
    share = factories.ShareFactory(
        case=world.case,
        organisation=world.partner_org,
        basis="consent",
        consent=consent,
        valid_until=end,
        granted_by=world.worker.user,
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        Share.objects.filter(pk=share.pk).update(valid_until=end + datetime.timedelta(days=1))
    with pytest.raises(IntegrityError), transaction.atomic():
        factories.ShareFactory(
            case=world.case,
            organisation=world.partner_org,
            basis="consent",
            consent=consent,
            valid_until=end + datetime.timedelta(days=5),
            granted_by=world.worker.user,
        )


def test_x4_p2_an_active_share_stops_on_the_consents_last_day(world):
    """Boundary: on the consent's last day the share is in force; the day after it is not,
    in every visibility filter (dossier page, lists, persons, tasks)."""
    today = TODAY()
    consent = consent_until(world, today + datetime.timedelta(days=30))
    share = factories.ShareFactory(
        case=world.case,
        organisation=world.partner_org,
        sections=["core", "journal"],
        access="write",
        basis="consent",
        consent=consent,
        valid_until=today + datetime.timedelta(days=30),
        granted_by=world.worker.user,
    )
    task = Task.objects.create(
        case=world.case,
        owner=world.partner_org,
        title="Suivi du stage",
        due_on=today,
        assigned_to=world.partner.user,
    )
    partner = world.partner.client()
    actor = world.partner.actor

    def visible() -> dict[str, bool]:
        return {
            "detail": partner.get(reverse("case_detail", args=[world.case.pk])).status_code == 200,
            "list": Case.objects.visible_to(actor).filter(pk=world.case.pk).exists(),
            "shared_list": world.case.reference
            in text(partner.get(reverse("case_list"), {"scope": "shared"})),
            "person": Person.objects.visible_to(actor).filter(pk=world.case.client_id).exists(),
            "task": partner.get(reverse("task_detail", args=[task.pk])).status_code == 200,
            "share_active": Share.objects.active().filter(pk=share.pk).exists(),
        }

    # The consent ends today (its last day): the share is still in force.
    Consent.objects.filter(pk=consent.pk).update(valid_until=today)
    assert all(visible().values()), visible()
    share.refresh_from_db()
    assert share.ends_on == today and share.is_active
    # The consent ended yesterday: the share stops although its own end is in 30 days.
    Consent.objects.filter(pk=consent.pk).update(valid_until=today - datetime.timedelta(days=1))
    assert not any(visible().values()), visible()
    share.refresh_from_db()
    assert not share.is_active


# --- a share identifies the person it concerns -----------------------------------------------


def test_p2_a_journal_share_shows_the_clients_name_and_birth_date(world):
    Person.objects.filter(pk=world.case.client_id).update(
        last_name="Zyidentwq", birth_date=datetime.date(1984, 5, 17)
    )
    Case.objects.filter(pk=world.case.pk).update(title="Zysubjectwq")
    factories.ShareFactory(
        case=world.case,
        organisation=world.partner_org,
        sections=["journal"],
        granted_by=world.worker.user,
    )
    partner = world.partner.client()
    listing = text(partner.get(reverse("case_list"), {"scope": "shared"}))
    assert "Zyidentwq" in listing and "17.05.1984" in listing
    assert "Zysubjectwq" not in listing
    detail = text(partner.get(reverse("case_detail", args=[world.case.pk])))
    assert "Zyidentwq" in detail and "17.05.1984" in detail
    assert "Zysubjectwq" not in detail
    journal = text(partner.get(reverse("journal_list", args=[world.case.pk])))
    assert "Zyidentwq" in journal
    # The rest of the core data stays behind the core section: the person page is refused.
    assert partner.get(reverse("person_detail", args=[world.case.client_id])).status_code == 404
