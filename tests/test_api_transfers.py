"""Dossier transfers through the REST API (P3, P4, X2; decisions 0026 and 0028): the offers
list and one offer, offer, accept, decline and withdraw through the pages' functions and
doors; forbidden and missing are the same 404, a refused state a 409 in the token's language,
bad input a 422 that stores nothing; the offers list is a keyset page of fixed query count."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from filum.api import tokens
from filum.api.models import Scope
from filum.api.paging import DAY, INT, TIME, UUID, Key, make_cursor, read_cursor
from filum.api.problems import Problem
from filum.cases.models import Case, DossierTransfer
from filum.followup.models import Task
from filum.records.models import DENIAL, SecurityEvent
from filum.tenancy.models import Organisation
from tests import factories
from tests.conftest import make_persona

PROBLEM = "application/problem+json"
TODAY = timezone.localdate


def token(persona: Any, scopes: list[str] | None = None) -> Client:
    """An API client with a token of the persona's organisation (made by its super-user)."""
    secret = tokens.do_create_token(
        actor=persona.actor, name="Système", scopes=scopes or list(Scope.values), expires_at=None
    ).secret
    return Client(headers={"Authorization": f"Bearer {secret}"})


def problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == PROBLEM
    return response.json()


def post(client: Client, url: str, body: dict[str, Any] | None = None) -> Any:
    return client.post(url, body or {}, content_type="application/json")


def offer_body(receiver: Organisation, **changes: Any) -> dict[str, Any]:
    return {
        "receiver_id": receiver.pk,
        "kind": "move",
        "cut_over_on": TODAY().isoformat(),
        "note": "Déménagement à Thoune au 1er du mois.",
        "tasks": "hand_over",
        "shares": "keep",
        **changes,
    }


@pytest.fixture
def bienne(world):
    """The sending service's token (its super-user makes it)."""
    return token(world.superuser)


@pytest.fixture
def thun(world):
    """The receiving service (outsider_org, whose social worker takes the dossier over) and
    its token, made by its own super-user."""
    return token(make_persona(world.outsider_org, "super_user", "thun_superuser"))


def offered(world, bienne) -> DossierTransfer:
    response = post(
        bienne, f"/api/v1/cases/{world.case.pk}/transfers", offer_body(world.outsider_org)
    )
    assert response.status_code == 201, response.content
    return DossierTransfer.objects.get(pk=response.json()["id"])


def test_p3_x2_a_token_offers_the_receivers_token_accepts_and_the_dossier_moves(
    world, bienne, thun
):
    case = world.case
    task = Task.objects.create(
        case=case, owner=world.service_org, title="Rappel", due_on=TODAY(), assigned_role="head"
    )
    offer = offered(world, bienne)
    assert (offer.status, offer.owner_id, offer.receiver_id, offer.tasks) == (
        "pending",
        world.service_org.pk,
        world.outsider_org.pk,
        "hand_over",
    )
    assert SecurityEvent.objects.filter(kind="transfer.offered").count() == 1
    # both sides see it: the receiver in its received box, the sender in its sent box
    received = thun.get("/api/v1/transfers").json()
    assert [t["id"] for t in received["items"]] == [str(offer.pk)]
    assert received["items"][0]["case_number"] == case.number
    assert bienne.get("/api/v1/transfers").json()["items"] == []
    assert [t["id"] for t in bienne.get("/api/v1/transfers?box=sent").json()["items"]] == [
        str(offer.pk)
    ]
    for client in (bienne, thun):
        assert client.get(f"/api/v1/transfers/{offer.pk}").json()["status"] == "pending"

    response = post(
        thun, f"/api/v1/transfers/{offer.pk}/accept", {"responsible_id": world.outsider.user.pk}
    )
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "accepted"
    assert response.json()["responsible_id"] == world.outsider.user.pk
    case.refresh_from_db()
    assert (case.owner_id, case.responsible_id) == (world.outsider_org.pk, world.outsider.user.pk)
    # the same settlement as the page's: the sender keeps its period, tasks handed over
    offer.refresh_from_db()
    assert offer.settlement["former_owner_sections"] == ["journal", "documents"]
    task.refresh_from_db()
    assert (task.owner_id, task.assigned_to_id) == (world.outsider_org.pk, world.outsider.user.pk)
    accepted = SecurityEvent.objects.filter(kind="transfer.accepted")
    assert sorted(accepted.values_list("organisation_id", flat=True)) == sorted(
        [world.service_org.pk, world.outsider_org.pk]
    )


def test_p3_x2_accepted_twice_is_a_409_in_the_tokens_language_and_one_transfer(world, bienne):
    world.outsider_org.language = "de"
    world.outsider_org.save()
    thun = token(make_persona(world.outsider_org, "super_user", "thun_superuser"))
    offer = offered(world, bienne)
    url = f"/api/v1/transfers/{offer.pk}/accept"
    body = {"responsible_id": world.outsider.user.pk}
    assert post(thun, url, body).status_code == 200
    again = problem(post(thun, url, body), 409)
    assert again["type"].endswith("/conflict")
    assert again["detail"] == (
        "Dieses Angebot wurde bereits erledigt (angenommen). Nichts wurde geändert."
    )
    # the sender cannot withdraw it any more either (in French, its language)
    late = problem(post(bienne, f"/api/v1/transfers/{offer.pk}/withdraw"), 409)
    assert "Rien n'a été modifié." in late["detail"]
    assert DossierTransfer.objects.filter(case=world.case, status="accepted").count() == 1
    assert Case.objects.get(pk=world.case.pk).owner_id == world.outsider_org.pk


def test_p3_x2_withdrawn_or_declined_offers_change_nothing_and_refuse_a_second_step(
    world, bienne, thun
):
    offer = offered(world, bienne)
    response = post(bienne, f"/api/v1/transfers/{offer.pk}/withdraw")
    assert response.status_code == 200 and response.json()["status"] == "withdrawn"
    problem(post(bienne, f"/api/v1/transfers/{offer.pk}/withdraw"), 409)
    accept = post(
        thun, f"/api/v1/transfers/{offer.pk}/accept", {"responsible_id": world.outsider.user.pk}
    )
    assert "retiré" in problem(accept, 409)["detail"]

    second = offered(world, bienne)
    declined = post(
        thun, f"/api/v1/transfers/{second.pk}/decline", {"reason": "not_moved", "note": "Non."}
    )
    assert declined.status_code == 200, declined.content
    assert (declined.json()["status"], declined.json()["decline_reason"]) == (
        "declined",
        "not_moved",
    )
    problem(post(thun, f"/api/v1/transfers/{second.pk}/decline", {"reason": "other"}), 409)
    case = Case.objects.get(pk=world.case.pk)
    assert (case.owner_id, case.responsible_id) == (world.service_org.pk, world.worker.user.pk)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"receiver_id": 987654321}, "receiver_id"),
        ({"note": "   "}, "note"),
        ({"cut_over_on": "2001-01-01"}, "cut_over_on"),
        ({"kind": "refugee_to_ordinary"}, "kind"),
    ],
)
def test_p3_x2_a_bad_offer_is_a_422_naming_the_field_and_stores_nothing(
    world, bienne, changes, field
):
    url = f"/api/v1/cases/{world.case.pk}/transfers"
    body = problem(post(bienne, url, offer_body(world.outsider_org, **changes)), 422)
    assert body["errors"][0]["loc"] == ["body", field], body
    assert not DossierTransfer.objects.exists()


def test_p3_x2_offer_to_its_own_service_or_an_unknown_field_is_a_422(world, bienne):
    url = f"/api/v1/cases/{world.case.pk}/transfers"
    own = problem(post(bienne, url, offer_body(world.service_org)), 422)
    assert own["errors"][0]["msg"] == "Ce dossier ne peut pas être transféré à cette organisation."
    problem(post(bienne, url, offer_body(world.outsider_org, owner_id=1)), 422)
    assert not DossierTransfer.objects.exists()


def test_p3_x2_a_second_offer_of_the_same_dossier_is_a_409(world, bienne):
    offered(world, bienne)
    url = f"/api/v1/cases/{world.case.pk}/transfers"
    body = problem(post(bienne, url, offer_body(world.outsider_org)), 409)
    assert "Retirez" in body["detail"] or "retir" in body["detail"].lower()
    assert DossierTransfer.objects.count() == 1


def test_p3_x2_accepting_with_a_worker_of_another_service_is_a_422(world, bienne, thun):
    offer = offered(world, bienne)
    for worker in (world.worker.user.pk, 987654321):
        body = problem(
            post(thun, f"/api/v1/transfers/{offer.pk}/accept", {"responsible_id": worker}), 422
        )
        assert body["errors"][0]["loc"] == ["body", "responsible_id"]
    offer.refresh_from_db()
    assert offer.status == "pending"


def test_r12_p3_x2_forbidden_and_missing_offers_answer_the_same_404(world, bienne, thun):
    offer = offered(world, bienne)
    partner = token(world.partner_superuser)
    missing = "00000000-0000-4000-8000-000000000000"
    cases = [
        # the sender cannot decide its own offer; the receiver cannot withdraw it
        (bienne, "accept", {"responsible_id": world.worker.user.pk}),
        (bienne, "decline", {"reason": "other"}),
        (thun, "withdraw", None),
        (partner, "accept", {"responsible_id": world.partner.user.pk}),
    ]
    for client, step, body in cases:
        refused = post(client, f"/api/v1/transfers/{offer.pk}/{step}", body)
        absent = post(client, f"/api/v1/transfers/{missing}/{step}", body)
        one, two = problem(refused, 404), problem(absent, 404)
        assert one["detail"] == two["detail"] and one["type"] == two["type"]
    problem(partner.get(f"/api/v1/transfers/{offer.pk}"), 404)
    problem(partner.get(f"/api/v1/transfers/{missing}"), 404)
    # a dossier of another service cannot be offered: the dossier's 404
    problem(
        post(thun, f"/api/v1/cases/{world.case.pk}/transfers", offer_body(world.partner_org)), 404
    )
    offer.refresh_from_db()
    assert offer.status == "pending"
    # one denial per token, object and hour: Bienne, Thun and the partner on the offer, Thun on
    # the dossier
    assert SecurityEvent.objects.filter(kind=DENIAL).count() == 4


def test_x2_transfer_steps_need_transfers_write_and_the_list_transfers_read(world, bienne):
    offer = offered(world, bienne)
    reader = token(world.superuser, ["transfers:read"])
    assert reader.get(f"/api/v1/transfers/{offer.pk}").status_code == 200
    problem(post(reader, f"/api/v1/transfers/{offer.pk}/withdraw"), 403)
    writer = token(world.superuser, ["transfers:write"])
    problem(writer.get("/api/v1/transfers"), 403)
    assert post(writer, f"/api/v1/transfers/{offer.pk}/withdraw").status_code == 200


@pytest.fixture
def offers(world) -> list[DossierTransfer]:
    """Five offers made to the receiving service at the same moment (ties broken by id)."""
    at = timezone.now()
    made = []
    for _ in range(5):
        case = factories.CaseFactory(owner=world.service_org, responsible=world.worker.user)
        made.append(
            DossierTransfer.objects.create(
                case=case,
                owner=world.service_org,
                receiver=world.outsider_org,
                kind="move",
                note="Déménagement",
                cut_over_on=TODAY(),
                tasks="hand_over",
                shares="keep",
                offered_by=world.head.user,
                offered_at=at,
            )
        )
    return made


def test_p3_x2_the_offers_list_pages_by_cursor_in_a_fixed_number_of_queries(world, thun, offers):
    seen: list[str] = []
    url = "/api/v1/transfers?limit=2"
    counts = []
    while url:
        with CaptureQueriesContext(connection) as queries:
            page = thun.get(url).json()
        counts.append(len(queries))
        seen += [t["id"] for t in page["items"]]
        url = (
            f"/api/v1/transfers?limit=2&cursor={page['next_cursor']}" if page["next_cursor"] else ""
        )
    assert seen == [str(o.pk) for o in sorted(offers, key=lambda o: o.pk, reverse=True)]
    # token and rate limit (2), the page (1); whatever the page holds
    assert counts == [3, 3, 3]
    problem(thun.get("/api/v1/transfers?cursor=bm90LWEtY3Vyc29y"), 400)


def test_x2_paging_reads_back_only_the_cursors_it_made():
    keys = (Key("-offered_at", TIME), Key("-id", UUID))
    at = datetime.datetime(2026, 3, 1, 8, 30, tzinfo=datetime.UTC)
    key = read_cursor(make_cursor([at.isoformat(), "6f1c2c1e-8c7e-4b5e-9a53-5a0c1f8b2f10"]), keys)
    assert key is not None and key[0] == at and str(key[1]).startswith("6f1c2c1e")
    day_keys = (Key("-date", DAY), Key("-pk", INT))
    assert read_cursor(make_cursor(["2026-03-01", 7]), day_keys) == (datetime.date(2026, 3, 1), 7)
    for bad, kind in (
        (make_cursor(["2026-03-01T08:30:00", "6f1c2c1e-8c7e-4b5e-9a53-5a0c1f8b2f10"]), keys),
        (make_cursor([at.isoformat(), "not-a-uuid"]), keys),
        (make_cursor([at.isoformat()]), keys),
        (make_cursor(["2026-02-30", 1]), day_keys),
        (make_cursor(["2026-03-01", 2**63]), day_keys),
        (make_cursor(["2026-03-01", "1"]), day_keys),
        (make_cursor({"a": 1}), day_keys),
        ("%%%", day_keys),
    ):
        with pytest.raises(Problem) as raised:
            read_cursor(bad, kind)
        assert raised.value.status == 400, bad


def test_x2_journal_pages_with_equal_dates_show_each_entry_once(world):
    """The helper's two-column keyset: ties on the date are broken by id, no entry twice or
    lost across pages."""
    from filum.journal import services as journal_services
    from filum.journal.models import Topic

    day = TODAY() - datetime.timedelta(days=1)
    for n in range(5):
        journal_services.do_record_contact(
            actor=world.worker.actor,
            case=world.case,
            kind="phone",
            date=day if n % 2 else TODAY(),
            topic=Topic.objects.get(code="health"),
            note=f"Appel {n}",
        )
    client = token(world.superuser)
    url = f"/api/v1/cases/{world.case.pk}/journal?limit=2"
    seen: list[int] = []
    while url:
        page = client.get(url).json()
        seen += [c["id"] for c in page["items"]]
        cursor = page["next_cursor"]
        url = f"/api/v1/cases/{world.case.pk}/journal?limit=2&cursor={cursor}" if cursor else ""
    assert len(seen) == len(set(seen)) == 5
