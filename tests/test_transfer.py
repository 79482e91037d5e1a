"""Dossier transfer between services (P3, P4; decision 0026): offer, accept, decline, withdraw;
the dossier moves whole, the sender keeps its own period, tasks and shares are settled as
chosen, bad input and races change nothing or give one transfer."""

from __future__ import annotations

import datetime
import threading
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation

from filum.cases import transfers
from filum.cases.models import Case, CaseTransition, DossierTransfer, SegmentProposal, Share
from filum.documents.models import Document
from filum.followup.models import Task
from filum.journal.models import Contact, Topic
from filum.records.models import SecurityEvent
from filum.tenancy.models import Membership, OrganisationKind
from tests import factories
from tests.conftest import make_persona

TODAY = timezone.localdate
DAY = datetime.timedelta(days=1)


@pytest.fixture(autouse=True)
def private_storage(settings: Any, tmp_path: Any) -> None:
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path)},
        },
    }


@pytest.fixture(autouse=True)
def reference_data(db: object) -> None:
    """The race test below empties the database when it ends (a transactional test), seeded
    topics included: put them back for a rerun with ``--reuse-db``."""
    if not Topic.objects.exists():
        from django.apps import apps

        from tests.browser.conftest import _seed_functions

        for seed in _seed_functions():
            seed(apps, None)


@pytest.fixture
def thun(world):
    """The receiving service (outsider_org, a social service) gets a section head; its
    social worker ``outsider`` is the worker who takes the dossier over."""
    return make_persona(world.outsider_org, "section_head", "thun_head")


def contact(case: Case, day: datetime.date, note: str) -> Contact:
    return Contact.objects.create(
        case=case,
        owner_id=case.owner_id,
        kind="interview",
        date=day,
        topic=Topic.objects.get(code="health"),
        duration_minutes=30,
        counts=True,
        is_face_to_face=True,
        note=note,
        recorded_by=case.responsible,
    )


def document(case: Case, at: datetime.datetime, name: str) -> Document:
    doc = Document(
        case=case,
        owner_id=case.owner_id,
        original_name=name,
        content_type="application/pdf",
        size=9,
        sha256="0" * 64,
        uploaded_by=case.responsible,
        uploaded_by_org_id=case.owner_id,
        uploaded_at=at,
    )
    doc.file.save(doc.pk.hex, ContentFile(b"%PDF-1.7\n"), save=False)
    doc.save()
    return doc


def offer(world, *, case=None, receiver=None, **kw: Any) -> DossierTransfer:
    data = {
        "kind": "move",
        "note": "Déménagement à Thoune le 1er du mois.",
        "cut_over_on": TODAY(),
        "tasks": "hand_over",
        "shares": "keep",
    } | kw
    return transfers.do_offer_transfer(
        actor=world.head.actor,
        case=case or world.case,
        receiver=receiver or world.outsider_org,
        **data,
    )


def offer_url(case: Case) -> str:
    return reverse("transfer_offer", args=[case.pk])


def post_offer(client: Client, case: Case, receiver_id: int, **kw: Any) -> Any:
    data = {
        "receiver": receiver_id,
        "kind": "move",
        "cut_over_on": TODAY().isoformat(),
        "note": "Le client déménage.",
        "tasks": "hand_over",
        "shares": "keep",
    } | kw
    return client.post(offer_url(case), data)


def state(case: Case) -> tuple:
    """What a transfer changes, to compare before and after one that must change nothing."""
    row = Case.objects.values_list("owner_id", "responsible_id", "domain", "version").get(
        pk=case.pk
    )
    tasks = sorted(Task.objects.filter(case=case).values_list("pk", "owner_id", "status"))
    shares = sorted(
        Share.objects.filter(case=case).values_list("pk", "owner_id", "revoked_at", "kind")
    )
    return row, tasks, shares, CaseTransition.objects.filter(case=case).count()


# --- the whole way: offer, accept, the sender's own period -----------------------------------


def test_p3_the_head_offers_the_receiver_accepts_and_the_dossier_moves_whole(world, thun):
    case = world.case
    old = contact(case, TODAY() - 5 * DAY, "Entretien avant le départ")
    before_doc = document(case, timezone.now() - 3 * DAY, "bail.pdf")
    response = post_offer(world.head.client(), case, world.outsider_org.pk)
    assert response.status_code == 302
    pending = DossierTransfer.objects.get(case=case)
    assert (pending.status, pending.owner_id, pending.receiver_id) == (
        "pending",
        world.service_org.pk,
        world.outsider_org.pk,
    )
    # the receiving head sees it in the cockpit and on the offers page
    cockpit = thun.client().get(reverse("cockpit"))
    assert cockpit.context["view"].offers.total == 1
    assert str(pending.pk) in cockpit.content.decode()
    listing = thun.client().get(reverse("transfer_list"))
    assert [o.pk for o in listing.context["rows"]] == [pending.pk]

    response = thun.client().post(
        reverse("transfer_accept", args=[pending.pk]), {"responsible": world.outsider.user.pk}
    )
    assert response.status_code == 302
    case.refresh_from_db()
    assert (case.owner_id, case.responsible_id, case.team_id) == (
        world.outsider_org.pk,
        world.outsider.user.pk,
        None,
    )
    pending.refresh_from_db()
    assert pending.status == "accepted" and pending.responsible_id == world.outsider.user.pk
    assert pending.settlement["sections_handed_over"] == [
        "core",
        "journal",
        "assessment",
        "plan",
        "documents",
        "finances",
    ]
    # history, journal and documents stay with the dossier
    step = CaseTransition.objects.get(case=case, kind="handed_over")
    assert step.owner_id == world.outsider_org.pk and step.effective_on == TODAY()
    assert step.reason_params["from_org"] == world.service_org.name
    assert Contact.objects.filter(case=case).count() == 1
    # the new owner works on: a journal entry of its own period
    new = contact(case, TODAY(), "Premier entretien à Thoune")
    new_doc = document(case, timezone.now(), "contrat.pdf")
    receiver = world.outsider.client()
    journal = receiver.get(reverse("journal_list", args=[case.pk]))
    assert {c.pk for c in journal.context["contacts"]} == {old.pk, new.pk}
    # both organisations find the transfer in their security record
    events = SecurityEvent.objects.filter(kind="transfer.accepted")
    assert sorted(e.organisation_id for e in events) == sorted(
        [world.service_org.pk, world.outsider_org.pk]
    )

    # the sender reads its own period only: the journal and documents dated before the cut-over
    sender = world.worker.client()
    detail = sender.get(reverse("case_detail", args=[case.pk]))
    assert detail.status_code == 200
    assert 'id="former-owner-period"' in detail.content.decode()
    journal = sender.get(reverse("journal_list", args=[case.pk]))
    assert [c.pk for c in journal.context["contacts"]] == [old.pk]
    assert "Premier entretien" not in journal.content.decode()
    history = reverse("contact_history", args=[case.pk, new.pk])
    assert sender.get(history).status_code == 404
    assert sender.get(reverse("contact_history", args=[case.pk, old.pk])).status_code == 200
    docs = sender.get(reverse("case_documents", args=[case.pk]))
    assert [d.pk for d in docs.context["documents"]] == [before_doc.pk]
    assert sender.get(reverse("document_download", args=[new_doc.pk])).status_code == 404
    download = sender.get(reverse("document_download", args=[before_doc.pk]))
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == b"%PDF-1.7\n"
    # nothing else: no core data, no plan, no writing
    assert sender.get(reverse("case_edit", args=[case.pk])).status_code == 404
    assert sender.get(reverse("plan_detail", args=[case.pk])).status_code == 404
    assert sender.get(reverse("contact_create", args=[case.pk])).status_code == 404


def test_p3_the_former_owners_period_share_cannot_be_revoked(world, thun):
    accepted = transfers.do_accept_transfer(
        actor=thun.actor, transfer=offer(world), responsible=world.outsider.user
    )
    share = Share.objects.get(pk=accepted.settlement["former_owner_share"])
    assert (share.kind, share.period_until, share.access, share.sections) == (
        "former_owner",
        TODAY(),
        "read",
        ["journal", "documents"],
    )
    assert share.valid_until == TODAY().replace(year=TODAY().year + 10)
    response = world.outsider.client().post(reverse("share_revoke", args=[world.case.pk, share.pk]))
    assert response.status_code == 302
    share.refresh_from_db()
    assert share.revoked_at is None


# --- tasks and shares settled by the choices of the offer -------------------------------------


def test_p3_open_tasks_are_handed_to_the_new_worker_and_shares_kept(world, thun):
    case = world.case
    task = Task.objects.create(
        case=case, owner=world.service_org, title="Rappel", due_on=TODAY(), assigned_role="head"
    )
    partner_task = Task.objects.create(
        case=case,
        owner=world.partner_org,
        title="Bilan",
        due_on=TODAY(),
        assigned_to=None,
        assigned_role="partner_staff",
    )
    kept = factories.ShareFactory(case=case, organisation=world.partner_org)
    to_receiver = factories.ShareFactory(case=case, organisation=world.outsider_org)
    accepted = transfers.do_accept_transfer(
        actor=thun.actor, transfer=offer(world), responsible=world.outsider.user
    )
    task.refresh_from_db()
    assert (task.owner_id, task.assigned_to_id, task.assigned_role, task.status) == (
        world.outsider_org.pk,
        world.outsider.user.pk,
        "",
        "open",
    )
    partner_task.refresh_from_db()
    assert partner_task.owner_id == world.partner_org.pk  # a partner's task stays the partner's
    kept.refresh_from_db()
    to_receiver.refresh_from_db()
    assert kept.revoked_at is None and kept.owner_id == world.outsider_org.pk
    assert to_receiver.revoked_at is not None  # the receiver owns the dossier now
    assert accepted.settlement["tasks_handed_over"] == [task.pk]
    assert accepted.settlement["shares_kept"] == [str(kept.pk)]
    assert accepted.settlement["shares_ended"] == [str(to_receiver.pk)]


def test_p3_open_tasks_closed_and_shares_ended_when_the_offer_says_so(world, thun):
    case = world.case
    task = Task.objects.create(
        case=case, owner=world.service_org, title="Rappel", due_on=TODAY(), assigned_role="head"
    )
    share = factories.ShareFactory(case=case, organisation=world.partner_org)
    proposal = SegmentProposal.objects.create(
        case=case,
        owner=world.service_org,
        kind="initial",
        segment="B",
        justification="Besoin de conseils",
        proposed_by=world.worker.user,
    )
    transfers.do_accept_transfer(
        actor=thun.actor,
        transfer=offer(world, tasks="close", shares="end"),
        responsible=world.outsider.user,
    )
    task.refresh_from_db()
    share.refresh_from_db()
    proposal.refresh_from_db()
    assert (task.status, task.owner_id) == ("cancelled", world.service_org.pk)
    assert share.revoked_at is not None
    assert proposal.status == "cancelled"
    # the partner's access ends with the share
    assert world.partner.client().get(reverse("journal_list", args=[case.pk])).status_code == 404


# --- P4: phases and statuses -----------------------------------------------------------------


def test_p4_refugee_assistance_moves_to_ordinary_social_assistance(world, thun):
    Case.objects.filter(pk=world.case.pk).update(domain="asylum_aid")
    world.case.refresh_from_db()
    accepted = transfers.do_accept_transfer(
        actor=thun.actor,
        transfer=offer(world, kind="refugee_to_ordinary"),
        responsible=world.outsider.user,
    )
    world.case.refresh_from_db()
    assert world.case.domain == "economic_aid"
    assert accepted.settlement["domain"] == ["asylum_aid", "economic_aid"]
    assert accepted.settlement["kind"] == "refugee_to_ordinary"
    assert accepted.settlement["former_owner_sections"] == ["journal", "documents"]
    step = CaseTransition.objects.get(case=world.case, kind="handed_over")
    with translation.override("fr"):
        from filum.followup.texts import transition_reason

        assert "aide sociale ordinaire" in transition_reason(step)


def test_p4_only_an_asylum_dossier_moves_to_ordinary_assistance(world):
    with pytest.raises(ValidationError) as caught:
        offer(world, kind="refugee_to_ordinary")
    assert "kind" in caught.value.message_dict
    assert not DossierTransfer.objects.exists()


def test_p4_cantonal_phase_to_the_commune_is_recorded_as_such(world, thun):
    accepted = transfers.do_accept_transfer(
        actor=thun.actor,
        transfer=offer(world, kind="canton_to_commune"),
        responsible=world.outsider.user,
    )
    assert accepted.kind == "canton_to_commune"
    assert accepted.settlement["from"] == world.service_org.pk
    assert accepted.settlement["to"] == world.outsider_org.pk


# --- bad input --------------------------------------------------------------------------------


def test_p3_offer_to_a_service_without_worker_says_so_in_french_and_german(world):
    empty = factories.OrganisationFactory(name="Service social Vide")
    make_persona(empty, "super_user", "vide_admin")  # a member, but no caseworker
    for language, words in (("fr", "aucun"), ("de", "keine")):
        with translation.override(language):
            with pytest.raises(ValidationError) as caught:
                offer(world, receiver=empty)
            message = caught.value.message_dict["receiver"][0]
            assert "Service social Vide" in message and words in message.lower()
    response = post_offer(world.head.client(), world.case, empty.pk)
    assert response.status_code == 200
    assert "Service social Vide" in response.content.decode()
    assert not DossierTransfer.objects.exists()


def test_p3_a_second_pending_offer_of_the_same_dossier_is_refused(world):
    offer(world)
    other = factories.OrganisationFactory(name="Service social Berne-Test")
    make_persona(other, "social_worker", "berne_worker")
    response = post_offer(world.head.client(), world.case, other.pk)
    assert response.status_code == 200
    assert "already offered" in response.content.decode() or "déjà" in response.content.decode()
    assert DossierTransfer.objects.count() == 1


def test_p3_the_database_refuses_two_pending_offers(world):
    first = offer(world)
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        DossierTransfer.objects.create(
            case=world.case,
            owner=world.service_org,
            receiver=world.outsider_org,
            kind="move",
            note="x",
            cut_over_on=TODAY(),
            tasks="close",
            shares="end",
            offered_by=world.head.user,
        )
    assert list(DossierTransfer.objects.values_list("pk", flat=True)) == [first.pk]


def test_p3_a_closed_dossier_cannot_be_offered(world):
    Case.objects.filter(pk=world.case.pk).update(
        status="closed", stage="closed", closed_on=TODAY(), closure_reason="moved"
    )
    world.case.refresh_from_db()
    with pytest.raises(ValidationError):
        offer(world)
    assert not DossierTransfer.objects.exists()


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("cut_over_on", "past"),  # before the opening
        ("cut_over_on", "far"),  # more than 180 days ahead
        ("note", "   "),
        ("receiver", "partner"),  # an integration partner takes no dossier over
        ("receiver", "self"),
    ],
)
def test_p3_bad_offers_store_nothing(world, field, value):
    receiver = world.outsider_org.pk
    data: dict[str, Any] = {}
    if field == "cut_over_on":
        day = world.case.opened_on - DAY if value == "past" else TODAY() + 181 * DAY
        data["cut_over_on"] = day.isoformat()
    elif field == "note":
        data["note"] = value
    else:
        receiver = world.partner_org.pk if value == "partner" else world.service_org.pk
    response = post_offer(world.head.client(), world.case, receiver, **data)
    assert response.status_code == 200
    assert field in response.context["form"].errors
    assert not DossierTransfer.objects.exists()


def test_p3_accepting_before_the_cut_over_or_with_an_outside_worker_changes_nothing(world, thun):
    later = offer(world, cut_over_on=TODAY() + 10 * DAY)
    before = state(world.case)
    with pytest.raises(ValidationError):
        transfers.do_accept_transfer(
            actor=thun.actor, transfer=later, responsible=world.outsider.user
        )
    transfers.do_withdraw_transfer(actor=world.head.actor, transfer=later)
    now = offer(world)
    response = thun.client().post(
        reverse("transfer_accept", args=[now.pk]), {"responsible": world.worker.user.pk}
    )
    assert response.status_code == 200  # not a worker of the receiving service
    assert "responsible" in response.context["form"].errors
    assert state(world.case) == before
    now.refresh_from_db()
    assert now.status == "pending"


def test_p3_declined_or_withdrawn_offers_change_nothing(world, thun):
    Task.objects.create(
        case=world.case,
        owner=world.service_org,
        title="Rappel",
        due_on=TODAY(),
        assigned_role="head",
    )
    factories.ShareFactory(case=world.case, organisation=world.partner_org)
    before = state(world.case)
    declined = offer(world, tasks="close", shares="end")
    response = thun.client().post(
        reverse("transfer_decline", args=[declined.pk]), {"reason": "", "note": ""}
    )
    assert response.status_code == 200 and "reason" in response.context["form"].errors
    response = thun.client().post(
        reverse("transfer_decline", args=[declined.pk]),
        {"reason": "not_moved", "note": "Pas d'annonce d'arrivée."},
    )
    assert response.status_code == 302
    declined.refresh_from_db()
    assert (declined.status, declined.decline_reason) == ("declined", "not_moved")
    withdrawn = offer(world)
    response = world.head.client().post(reverse("transfer_withdraw", args=[withdrawn.pk]))
    assert response.status_code == 302
    withdrawn.refresh_from_db()
    assert withdrawn.status == "withdrawn"
    assert state(world.case) == before
    # a decided offer cannot be accepted any more
    with pytest.raises(ValidationError):
        transfers.do_accept_transfer(
            actor=thun.actor, transfer=withdrawn, responsible=world.outsider.user
        )
    assert state(world.case) == before


def test_p3_non_members_of_either_side_get_404(world, thun):
    pending = offer(world)
    accept = reverse("transfer_accept", args=[pending.pk])
    decline = reverse("transfer_decline", args=[pending.pk])
    withdraw = reverse("transfer_withdraw", args=[pending.pk])
    bystander = make_persona(
        factories.OrganisationFactory(kind=OrganisationKind.SOCIAL_SERVICE),
        "section_head",
        "bystander_head",
    )
    for persona in (world.head, world.worker, world.outsider, world.partner, bystander):
        client = persona.client()
        assert client.get(accept).status_code == 404
        assert client.post(decline, {"reason": "other"}).status_code == 404
    for persona in (thun, world.worker, bystander):
        assert persona.client().post(withdraw).status_code == 404
    assert world.worker.client().get(offer_url(world.case)).status_code == 404
    assert thun.client().get(offer_url(world.case)).status_code == 404
    pending.refresh_from_db()
    assert pending.status == "pending"


# --- two acceptances at the same moment: one transfer ----------------------------------------


@pytest.mark.django_db(transaction=True)
def test_p3_accepted_twice_at_the_same_moment_gives_one_transfer(world):
    heads = [
        make_persona(world.outsider_org, "section_head", "thun_head_1"),
        make_persona(world.outsider_org, "section_head", "thun_head_2"),
    ]
    pending = offer(world)
    start = threading.Barrier(2)
    outcomes: list[str] = []
    errors: list[BaseException] = []

    def accept(actor) -> None:
        try:
            start.wait(timeout=20)
            transfers.do_accept_transfer(
                actor=actor, transfer=pending, responsible=world.outsider.user
            )
            outcomes.append("accepted")
        except ValidationError:
            outcomes.append("refused")
        except BaseException as exc:  # reported below: a thread's error must fail the test
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=accept, args=(h.actor,)) for h in heads]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert sorted(outcomes) == ["accepted", "refused"]
    assert Share.objects.filter(case=world.case, kind="former_owner").count() == 1
    assert CaseTransition.objects.filter(case=world.case, kind="handed_over").count() == 1
    assert Case.objects.get(pk=world.case.pk).owner_id == world.outsider_org.pk


# --- the offers page and the cockpit panel: fixed query counts ---------------------------------


def make_offers(world, n: int) -> None:
    for i in range(n):
        case = factories.CaseFactory(owner=world.service_org, responsible=world.worker.user)
        offer(world, case=case, note=f"Note {i}")


# request overhead (the session, the user with their memberships, ...) + one query for the page
TRANSFER_LIST_QUERIES = 3
# a section head's cockpit without dossiers of their own: its queries and one for the panel
HEAD_COCKPIT_QUERIES = 6


@pytest.mark.parametrize("offers", [2, 30])
def test_p3_u4_the_offers_page_has_a_fixed_query_count(
    world, thun, offers, django_assert_num_queries
):
    make_offers(world, offers)
    client = thun.client()
    client.get(reverse("transfer_list"))  # warm the session
    with django_assert_num_queries(TRANSFER_LIST_QUERIES):
        response = client.get(reverse("transfer_list"))
    rows = response.context["rows"]
    assert len(rows) == min(offers, transfers.PAGE_SIZE)
    if offers > transfers.PAGE_SIZE:
        after = response.context["next_cursor"]
        with django_assert_num_queries(TRANSFER_LIST_QUERIES):
            second = client.get(reverse("transfer_list"), {"after": after})
        ids = {o.pk for o in rows} | {o.pk for o in second.context["rows"]}
        assert len(ids) == offers  # no gap, no repeat
    sent = world.head.client().get(reverse("transfer_list"), {"box": "sent"})
    assert len(sent.context["rows"]) == min(offers, transfers.PAGE_SIZE)


@pytest.mark.parametrize("offers", [2, 12])
def test_p3_u4_the_cockpit_panel_costs_one_query(world, thun, offers, django_assert_num_queries):
    make_offers(world, offers)
    client = thun.client()
    client.get(reverse("cockpit"))
    with django_assert_num_queries(HEAD_COCKPIT_QUERIES) as queries:
        response = client.get(reverse("cockpit"))
    panel_queries = [q for q in queries.captured_queries if "cases_dossiertransfer" in q["sql"]]
    assert len(panel_queries) == 1
    panel = response.context["view"].offers
    assert panel.total == offers
    assert len(panel.rows) == min(offers, transfers.PANEL_SIZE)
    # oldest first: the first offered waits longest
    assert panel.rows[0].offered_at <= panel.rows[-1].offered_at
    # a worker's cockpit has no panel and no extra query
    assert world.worker.client().get(reverse("cockpit")).context["view"].offers is None


def test_p3_a_worker_without_caseworkers_membership_is_no_receiver(world):
    """Inactive memberships do not count as workers."""
    Membership.objects.filter(organisation=world.outsider_org).update(is_active=False)
    with pytest.raises(ValidationError):
        offer(world)
