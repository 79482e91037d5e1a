"""The number of SQL queries of every list and detail page is pinned, and does not grow with
the data: the same page costs the same number of queries with 3 and with 30 dossiers (each with
a household, shares and lifecycle entries). A failure here means a new N+1 query (or a new
query per page that should be a conscious decision: then update the pinned number)."""

from __future__ import annotations

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from filum.cases import services as case_services
from filum.cases.models import Case, Share
from filum.people.models import AssistanceUnit, UnitMember
from filum.records.services import log_read
from tests import factories

# Pinned query counts per page (request overhead included: session, user, membership, ...).
PERSON_SEARCH = 8
PERSON_DETAIL = 13
CASE_LIST = 8
CASE_DETAIL_OWNER = 13
CASE_DETAIL_PARTNER = 12
AUDIT_CASE = 19  # the DPO's own read is logged (0012); one query per kind of object named (§6)


def populate(world, dossiers: int) -> Case:
    """``dossiers`` dossiers for the worker, each with a household of three, a share to the
    partner and lifecycle entries; the world's own case gets as many of everything."""
    worker = world.worker
    today = timezone.localdate()
    case = world.case
    for n in range(dossiers):
        other = factories.CaseFactory(
            owner=world.service_org,
            responsible=worker.user,
            team=worker.membership.team,
            client__last_name=f"Rochat{n}",
            opened_on=today - datetime.timedelta(days=n + 1),
        )
        unit = AssistanceUnit.objects.create(name=f"Ménage {n}", registered_by=world.service_org)
        relatives = factories.PersonFactory.create_batch(2, registered_by=world.service_org)
        UnitMember.objects.bulk_create(
            [UnitMember(unit=unit, person=other.client, relation="applicant")]
            + [UnitMember(unit=unit, person=p, relation="child") for p in relatives]
        )
        Case.objects.filter(pk=other.pk).update(assistance_unit=unit)
        factories.ShareFactory(
            case=other,
            organisation=world.partner_org,
            sections=["core", "journal"],
            granted_by=worker.user,
        )
        # the world's case: one more relative, share, lifecycle entry and read per dossier
        person = factories.PersonFactory(registered_by=world.service_org)
        if case.assistance_unit_id is None:
            case.assistance_unit = AssistanceUnit.objects.create(
                name="Ménage", registered_by=world.service_org
            )
            case.save(update_fields=["assistance_unit"])
            UnitMember.objects.create(
                unit=case.assistance_unit, person=case.client, relation="applicant"
            )
        UnitMember.objects.create(unit=case.assistance_unit, person=person, relation="child")
        case_services.do_share_case(
            actor=worker.actor,
            case=case,
            organisation=world.partner_org,
            sections=["core", "journal"],
            access=Share.Access.READ,
            basis=Share.Basis.LEGAL,
            reason=f"Mandat {n}",
            valid_until=today + datetime.timedelta(days=30),
        )
        log_read(actor=world.colleague.actor, case_id=case.pk, sections=["core"], path="/")
    return case


@pytest.fixture(params=[3, 30], ids=["3-dossiers", "30-dossiers"])
def populated(request, world):
    return world, populate(world, request.param)


def get_ok(client, url: str, data: dict | None = None, *, post: bool = False) -> None:
    response = client.post(url, data or {}) if post else client.get(url)
    assert response.status_code == 200


def test_p8_person_search_queries_do_not_grow(populated, django_assert_num_queries):
    world, _ = populated
    # one query for the results, whether they come from the organisation's reach or from
    # shares (the partner), and whatever their number (U4)
    for persona in (world.worker, world.partner):
        client = persona.client()
        with django_assert_num_queries(PERSON_SEARCH):
            get_ok(client, reverse("person_search"), {"q": "Rochat"}, post=True)


def test_p7_person_detail_queries_do_not_grow(populated, django_assert_num_queries):
    world, case = populated
    client = world.worker.client()
    with django_assert_num_queries(PERSON_DETAIL):
        get_ok(client, reverse("person_detail", args=[case.client_id]))


def test_p1_case_list_queries_do_not_grow(populated, django_assert_num_queries):
    world, _ = populated
    client = world.worker.client()
    with django_assert_num_queries(CASE_LIST):
        get_ok(client, reverse("case_list"))


def test_p1_case_detail_for_owner_queries_do_not_grow(populated, django_assert_num_queries):
    world, case = populated
    client = world.worker.client()
    with django_assert_num_queries(CASE_DETAIL_OWNER):
        get_ok(client, reverse("case_detail", args=[case.pk]))


def test_p2_case_detail_for_partner_with_share_queries_do_not_grow(
    populated, django_assert_num_queries
):
    world, case = populated
    client = world.partner.client()
    with django_assert_num_queries(CASE_DETAIL_PARTNER):
        get_ok(client, reverse("case_detail", args=[case.pk]))


def test_x2_audit_page_queries_do_not_grow(populated, django_assert_num_queries):
    world, case = populated
    client = world.dpo.client()
    with django_assert_num_queries(AUDIT_CASE):
        get_ok(client, reverse("audit_case", args=[case.pk]))
