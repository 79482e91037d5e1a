"""The number of SQL queries of every list and detail page is pinned, and does not grow with
the data: the same page costs the same number of queries with 3 and with 30 dossiers (each with
a household, shares and lifecycle entries). A failure here means a new N+1 query (or a new
query per page that should be a conscious decision: then update the pinned number)."""

from __future__ import annotations

import datetime

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from filum.cases import services as case_services
from filum.cases.models import Case, Share
from filum.people.models import AssistanceUnit, Person, UnitMember
from filum.records.services import log_read
from tests import factories

# Pinned query counts per page (request overhead included: the session, the user with their
# memberships (one query, filum.tenancy.backends), and the
# idle stamp a fresh sign-in's first request writes, which later requests within a minute skip:
# see test_u4_requests_within_a_minute_save_no_session).
PERSON_SEARCH = 7  # the similar names of the typed word, then the search
PERSON_DETAIL = 11
# The dossier list (decision 0015): the request's own queries, one per source for the keys
# of the page (the organisation's dossiers once per status, the dossiers shared with it) and
# one for the page's rows with their client, worker and owner.
CASE_LIST_BASE = 5 + 1
CASE_LIST = {
    ("worker", "mine", "open"): CASE_LIST_BASE + 2,
    ("worker", "mine", "all"): CASE_LIST_BASE + 3,
    ("head", "org", "open"): CASE_LIST_BASE + 2,
    ("head", "org", "closed"): CASE_LIST_BASE + 2,
    ("head", "org", "all"): CASE_LIST_BASE + 3,
    ("partner", "shared", "open"): CASE_LIST_BASE + 1,
    ("partner", "org", "open"): CASE_LIST_BASE + 1,  # a partner owns none: no query for that
}
CASE_DETAIL_OWNER = 11
CASE_DETAIL_PARTNER = 10
# the DPO's own read is logged (0012); the history is one query, the names on it one more (U4)
AUDIT_CASE = 10
# an older page, requested right after the first: a later request of the session (no idle
# stamp written, nothing loaded for the first time); fixed whatever the history's length
AUDIT_CASE_NEXT_PAGE = 7


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


@pytest.mark.parametrize("page", ["first", "later"])
@pytest.mark.parametrize(("persona", "scope", "status"), list(CASE_LIST))
def test_p1_u4_case_list_queries_do_not_grow(
    populated, django_assert_num_queries, persona, scope, status, page
):
    """Per scope and status, on the first page and after a cursor; the service also holds
    as many dossiers shared with it by another organisation, some closed."""
    world, _ = populated
    today = timezone.localdate()
    count = Case.objects.filter(owner=world.service_org).count()
    for n in range(count):
        foreign = factories.CaseFactory(
            owner=world.outsider_org,
            responsible=world.worker.user if n % 2 else None,
            opened_on=today - datetime.timedelta(days=n + 1),
        )
        factories.ShareFactory(
            case=foreign,
            organisation=world.service_org,
            sections=["core"],
            granted_by=world.outsider.user,
        )
    closing = list(Case.objects.order_by("number").values_list("pk", flat=True))[::3]
    Case.objects.filter(pk__in=closing).update(
        status="closed", closed_on=today, closure_reason="other"
    )
    client = getattr(world, persona).client()
    data = {"scope": scope, "status": status}
    if page == "later":
        data["after"] = f"{today.isoformat()}_{2**40}"
    with django_assert_num_queries(CASE_LIST[(persona, scope, status)]):
        response = client.get(reverse("case_list"), data)
    assert response.status_code == 200
    assert response.context["rows"]


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


def test_u4_requests_within_a_minute_save_no_session(world):
    """The idle stamp is written once a minute, not per request (U4): a page shortly after the
    previous one saves no session row, one a minute later does."""
    client = world.worker.client()
    start = timezone.now()

    def session_writes(at: datetime.datetime) -> list[str]:
        with time_machine.travel(at, tick=False), CaptureQueriesContext(connection) as queries:
            get_ok(client, reverse("case_list"))
        return [q["sql"] for q in queries if q["sql"].startswith('UPDATE "django_session"')]

    assert session_writes(start)  # the first request stamps the session
    assert not session_writes(start + datetime.timedelta(seconds=30))
    assert not session_writes(start + datetime.timedelta(seconds=59))
    assert session_writes(start + datetime.timedelta(seconds=61))


@pytest.fixture(params=[5, 80], ids=["short-history", "long-history"])
def long_history(request, world):
    """The world's dossier with ``request.param`` rounds of reads, changes and refused
    requests: a short history fits one page, a long one fills several."""
    case = world.case
    for n in range(request.param):
        log_read(actor=world.colleague.actor, case_id=case.pk, sections=["core", "journal"])
        Case.objects.filter(pk=case.pk).update(title=f"Aide {n}", responsible=world.worker.user)
    world.outsider.client().get(reverse("case_detail", args=[case.pk]))
    return world, case


def test_u4_audit_page_queries_do_not_grow_with_the_history(
    long_history, django_assert_num_queries
):
    world, case = long_history
    client = world.dpo.client()
    with django_assert_num_queries(AUDIT_CASE):
        get_ok(client, reverse("audit_case", args=[case.pk]))
    older = client.get(reverse("audit_case", args=[case.pk])).context["next_query"]
    if older:  # the next page costs a fixed number too
        with django_assert_num_queries(AUDIT_CASE_NEXT_PAGE):
            get_ok(client, reverse("audit_case", args=[case.pk]) + "?" + older)


# The person list (decision 0034): the request's own queries, the programmes of the filter
# form, the user's saved lists, the user's recent exports, a bounded count of the matching
# dossiers (decision 0034, which shape), the page's persons, their dossiers
# and one insert of the core reads; the same with a cursor and with three filters.
PERSON_LIST = 12
# the next page, right after the first: a later request of the session (no idle stamp written,
# nothing loaded for the first time), as AUDIT_CASE_NEXT_PAGE
PERSON_LIST_NEXT_PAGE = 9


@pytest.mark.parametrize(
    "query",
    [
        {"run": "1"},
        {"run": "1", "after": "first row"},
        {"run": "1", "residence_status": "F", "age_min": "18", "stage": "intake_1"},
    ],
    ids=["first", "later", "three-filters"],
)
def test_d4_person_list_queries_do_not_grow(populated, django_assert_num_queries, query):
    world, _ = populated
    Person.objects.update(residence_status="F")
    client = world.head.client()
    expected = PERSON_LIST
    if query.get("after"):
        first = client.get(reverse("person_list"), {"run": "1"}).context["page"].rows[0]
        query = {**query, "after": str(first.person.pk)}
        expected = PERSON_LIST_NEXT_PAGE
    with django_assert_num_queries(expected):
        response = client.get(reverse("person_list"), query)
    assert response.status_code == 200
    assert response.context["page"].rows
