"""The REST API (issue 9 item 6, X2, X6, X7; decision 0028): tokens with scopes, the same
access policy and read log as the pages, cursor pages, problem details, rate limits."""

from __future__ import annotations

import datetime
import hashlib
import json
import re
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from filum.api import tokens
from filum.api.models import ApiToken, Scope
from filum.cases.models import Case
from filum.journal.models import Contact, Topic
from filum.records.models import DENIAL, ReadLog, SecurityEvent
from tests import factories

ALL_SCOPES = list(Scope.values)
PROBLEM = "application/problem+json"


def make_token(world: Any, scopes: list[str] | None = None, *, org: str = "service") -> str:
    persona = world.superuser if org == "service" else world.partner_superuser
    made = tokens.do_create_token(
        actor=persona.actor, name="Test system", scopes=scopes or ALL_SCOPES, expires_at=None
    )
    return made.secret


def api(secret: str | None) -> Client:
    headers = {"Authorization": f"Bearer {secret}"} if secret else {}
    return Client(headers=headers)


def problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == PROBLEM
    body = response.json()
    assert body["status"] == status
    assert {"type", "title", "detail"} <= set(body)
    return body


# --- tokens ----------------------------------------------------------------------------------


def test_x2_a_new_token_is_shown_once_and_stored_as_its_sha256(world):
    client = world.superuser.client()
    response = client.post(
        reverse("api_tokens"), {"name": "Accounting", "scopes": ["cases:read", "journal:read"]}
    )
    assert response.status_code == 200
    secret = re.search(r"filum_[0-9a-f]{8}_[A-Za-z0-9_-]+", response.content.decode()).group(0)
    token = ApiToken.objects.get()
    assert token.token_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in json.dumps(list(ApiToken.objects.values()), default=str)
    assert token.scopes == ["cases:read", "journal:read"]
    assert token.organisation == world.service_org and token.created_by == world.superuser.user
    assert not token.user.has_usable_password() and not token.user.memberships.exists()
    assert (
        SecurityEvent.objects.filter(kind="api_token.created", user=world.superuser.user).count()
        == 1
    )
    # never again: the list shows the prefix only
    again = client.get(reverse("api_tokens")).content.decode()
    assert token.prefix in again and secret not in again
    assert api(secret).get("/api/v1/cases").status_code == 200


def test_x2_token_form_refuses_bad_input_and_stores_nothing(world):
    client = world.superuser.client()
    yesterday = timezone.localdate() - datetime.timedelta(days=1)
    for data in (
        {"name": "", "scopes": ["cases:read"]},
        {"name": "No scope"},
        {"name": "Unknown scope", "scopes": ["admin:all"]},
        {"name": "Past", "scopes": ["cases:read"], "expires_on": yesterday.isoformat()},
    ):
        response = client.post(reverse("api_tokens"), data)
        assert response.status_code == 200
        assert response.context["form"].errors, data
    assert not ApiToken.objects.exists()


def test_x2_only_the_super_user_of_the_organisation_manages_its_tokens(world):
    secret = make_token(world)
    token = ApiToken.objects.get()
    assert world.worker.client().get(reverse("api_tokens")).status_code == 404
    # the partner's super-user cannot revoke another organisation's token
    url = reverse("api_token_revoke", args=[token.pk])
    assert world.partner_superuser.client().post(url).status_code == 404
    assert api(secret).get("/api/v1/cases").status_code == 200


def test_x2_a_revoked_token_answers_401_at_once(world):
    secret = make_token(world)
    token = ApiToken.objects.get()
    assert api(secret).get("/api/v1/cases").status_code == 200
    response = world.superuser.client().post(reverse("api_token_revoke", args=[token.pk]))
    assert response.status_code == 302
    body = problem(api(secret).get("/api/v1/cases"), 401)
    assert body["type"].endswith("/unauthenticated")
    token.refresh_from_db()
    assert token.revoked_by == world.superuser.user
    assert SecurityEvent.objects.filter(kind="api_token.revoked").count() == 1


def test_x2_an_expired_token_and_a_wrong_one_answer_401(world):
    secret = make_token(world)
    ApiToken.objects.update(
        created_at=timezone.now() - datetime.timedelta(days=2),
        expires_at=timezone.now() - datetime.timedelta(seconds=1),
    )
    response = api(secret).get("/api/v1/cases")
    problem(response, 401)
    assert response["WWW-Authenticate"].startswith("Bearer")
    for other in (None, "filum_00000000_nothing", secret[:-1] + "x", "Basic abc"):
        problem(api(other).get("/api/v1/cases"), 401)


def test_x2_r31_api_answers_are_not_cached(world):
    client = api(make_token(world))
    for url in ("/api/v1/cases", f"/api/v1/cases/{world.other_case.pk}", "/api/v1/nothing"):
        assert client.get(url)["Cache-Control"] == "no-store", url
    assert api(None).get("/api/v1/cases")["Cache-Control"] == "no-store"


def test_x2_a_token_without_the_scope_gets_403(world):
    secret = make_token(world, ["cases:read"])
    case = world.case
    assert api(secret).get(f"/api/v1/cases/{case.pk}").status_code == 200
    body = problem(api(secret).get(f"/api/v1/cases/{case.pk}/journal"), 403)
    assert "journal:read" in body["detail"]
    problem(api(secret).get("/api/v1/persons"), 403)
    assert not ReadLog.objects.filter(section="journal").exists()


def test_x2_the_token_acts_as_a_technical_user_in_the_audit(world):
    secret = make_token(world)
    token = ApiToken.objects.get()
    response = api(secret).post(
        f"/api/v1/cases/{world.case.pk}/journal",
        {"kind": "phone", "date": timezone.localdate().isoformat(), "topic": "health"},
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    contact = Contact.objects.get(pk=response.json()["id"])
    assert contact.recorded_by == token.user
    assert contact.author_organisation_id == world.service_org.pk
    event = contact.events.get()  # the audit trigger's row names the token's user
    assert event.pgh_context.metadata["user"] == token.user_id
    assert event.pgh_context.metadata["api_token"] == token.pk


# --- the same access policy and read log as the pages ----------------------------------------


def test_x2_x7_another_organisations_dossier_answers_the_same_404_as_a_missing_one(world):
    secret = make_token(world)
    client = api(secret)
    other = client.get(f"/api/v1/cases/{world.other_case.pk}")
    missing = client.get("/api/v1/cases/00000000-0000-4000-8000-000000000000")
    assert problem(other, 404)["detail"] == problem(missing, 404)["detail"]
    for tail in ("journal", "tasks", "assessments", "plan", "measures"):
        problem(client.get(f"/api/v1/cases/{world.other_case.pk}/{tail}"), 404)
    problem(client.get(f"/api/v1/persons/{world.other_case.client_id}"), 404)
    token = ApiToken.objects.get()
    denied = SecurityEvent.objects.filter(kind=DENIAL, user=token.user)
    assert {e.detail["object_id"] for e in denied} >= {str(world.other_case.pk)}
    assert not ReadLog.objects.filter(case_id=world.other_case.pk).exists()
    listed = client.get("/api/v1/cases").json()["items"]
    assert [row["id"] for row in listed] == [str(world.case.pk)]


def test_x2_a_partner_token_sees_what_is_shared_with_its_organisation_only(world):
    secret = make_token(world, org="partner")
    client = api(secret)
    problem(client.get(f"/api/v1/cases/{world.case.pk}/journal"), 404)
    factories.ShareFactory(
        case=world.case,
        organisation=world.partner_org,
        sections=["journal"],
        granted_by=world.worker.user,
    )
    assert client.get(f"/api/v1/cases/{world.case.pk}/journal").status_code == 200
    # the journal only: the core data stay closed
    problem(client.get(f"/api/v1/cases/{world.case.pk}"), 404)
    assert client.get("/api/v1/cases").json()["items"] == []
    # read share: no writing
    problem(
        client.post(
            f"/api/v1/cases/{world.case.pk}/journal",
            {"kind": "phone", "date": timezone.localdate().isoformat(), "topic": "health"},
            content_type="application/json",
        ),
        404,
    )


def test_p3_x2_a_former_owners_token_reads_its_own_period_only(world):
    """After a transfer the sending service reads the journal dated before the cut-over, in
    the API as on the page (decision 0026)."""
    today = timezone.localdate()
    case = world.case
    Case.objects.filter(pk=case.pk).update(opened_on=today - datetime.timedelta(days=60))
    topic = Topic.objects.get(code="health")
    for days in (30, 10):
        Contact.objects.create(
            case=case,
            owner=world.service_org,
            author_organisation=world.service_org,
            kind="phone",
            date=today - datetime.timedelta(days=days),
            topic=topic,
            counts=True,
            is_face_to_face=False,
            recorded_by=world.worker.user,
        )
    factories.ShareFactory(
        case=case,
        organisation=world.partner_org,
        sections=["journal", "documents"],
        access="read",
        kind="former_owner",
        period_until=today - datetime.timedelta(days=20),
        granted_by=world.worker.user,
    )
    client = api(make_token(world, org="partner"))
    body = client.get(f"/api/v1/cases/{case.pk}/journal").json()
    assert [item["date"] for item in body["items"]] == [
        (today - datetime.timedelta(days=30)).isoformat()
    ]
    page = world.partner.client().get(reverse("journal_list", args=[case.pk]))
    assert [c.date for c in page.context["contacts"]] == [today - datetime.timedelta(days=30)]


def test_x6_reads_are_logged_under_the_tokens_user(world):
    secret = make_token(world)
    token = ApiToken.objects.get()
    client = api(secret)
    case = world.case
    assert client.get(f"/api/v1/cases/{case.pk}").status_code == 200
    assert client.get(f"/api/v1/cases/{case.pk}/journal").status_code == 200
    assert client.get(f"/api/v1/persons/{case.client_id}").status_code == 200
    assert client.get("/api/v1/cases").status_code == 200
    rows = ReadLog.objects.filter(user_id=token.user_id).order_by("id")
    assert [(r.case_id, r.person_id, r.section) for r in rows] == [
        (case.pk, None, "core"),
        (case.pk, None, "journal"),
        (None, case.client_id, "core"),
        (case.pk, None, "core"),
    ]
    assert {r.organisation_id for r in rows} == {world.service_org.pk}
    assert rows[0].path == f"/api/v1/cases/{case.pk}"


# --- pages, problems, limits -----------------------------------------------------------------


def test_x2_cursor_pages_have_no_gap_and_no_repeat(world):
    today = timezone.localdate()
    made = [world.case.pk]
    for n in range(9):
        # three dossiers a day: pages end inside a day, too
        made.append(
            factories.CaseFactory(
                owner=world.service_org,
                responsible=world.worker.user,
                opened_on=today - datetime.timedelta(days=n // 3 + 1),
            ).pk
        )
    client = api(make_token(world))
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        params = {"limit": 4} | ({"cursor": cursor} if cursor else {})
        body = client.get("/api/v1/cases", params).json()
        seen += [row["id"] for row in body["items"]]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
        assert re.fullmatch(r"[A-Za-z0-9_-]+", cursor)
    assert pages == 3
    assert len(seen) == len(set(seen)) == 10
    assert set(seen) == {str(pk) for pk in made}
    expected = Case.objects.filter(pk__in=made).order_by("-opened_on", "-number")
    assert seen == [str(c.pk) for c in expected]


def test_x2_a_forged_cursor_or_limit_is_a_problem(world):
    client = api(make_token(world))
    assert problem(client.get("/api/v1/cases", {"cursor": "bm9uc2Vuc2U"}), 400)["type"].endswith(
        "/invalid-cursor"
    )
    problem(client.get("/api/v1/cases", {"cursor": "WyIyMDI2LTAxLTAxIiwtMV0"}), 400)
    problem(client.get("/api/v1/cases", {"limit": 101}), 422)
    problem(client.get("/api/v1/cases", {"limit": 0}), 422)
    problem(client.get("/api/v1/cases/not-a-uuid"), 422)


def test_x2_past_the_rate_limit_a_token_gets_429(world, settings):
    settings.FILUM_API_RATE_LIMIT = 3
    secret = make_token(world)
    client = api(secret)
    for _ in range(3):
        assert client.get("/api/v1/cases").status_code == 200
    response = client.get("/api/v1/cases")
    assert problem(response, 429)["type"].endswith("/rate-limited")
    assert response["Retry-After"] == "60"
    # per token: another token of the same organisation is not held back
    assert api(make_token(world)).get("/api/v1/cases").status_code == 200


# --- bad input: a problem, nothing stored ----------------------------------------------------


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ("{not json", None),
        ('["a list"]', None),
        ({"kind": "phone", "date": "TODAY", "topic": "health", "owner": 1}, "owner"),
        ({"kind": "phone", "topic": "health"}, "date"),
        ({"kind": "shout", "date": "TODAY", "topic": "health"}, "kind"),
        ({"kind": "phone", "date": "TODAY", "topic": "health", "duration_minutes": "x"}, None),
        ({"kind": "phone", "date": "TOMORROW", "topic": "health"}, "date"),
        ({"kind": "interview", "date": "TODAY", "topic": "health"}, "duration_minutes"),
        ({"kind": "phone", "date": "TODAY", "topic": "no-such-topic"}, "topic"),
        ({"kind": "phone", "date": "TODAY", "topic": "health", "note": "a\x00b"}, "note"),
        ({"kind": "phone", "date": "TODAY", "topic": "health", "participants": "\ud8af"}, None),
    ],
    ids=[
        "malformed-json",
        "not-an-object",
        "unknown-field",
        "missing-field",
        "unknown-kind",
        "wrong-type",
        "future-date",
        "interview-without-duration",
        "unknown-topic",
        "nul-character",
        "lone-surrogate",
    ],
)
def test_x2_bad_journal_input_is_a_422_problem_and_stores_nothing(world, body, field):
    client = api(make_token(world))
    today = timezone.localdate()
    if isinstance(body, dict):
        dates = {"TODAY": today, "TOMORROW": today + datetime.timedelta(days=1)}
        body = json.dumps({k: str(dates.get(v, v)) if k == "date" else v for k, v in body.items()})
    response = client.post(
        f"/api/v1/cases/{world.case.pk}/journal", body, content_type="application/json"
    )
    answer = problem(response, 422)
    if field is not None:
        assert any(field in error["loc"] for error in answer["errors"]), answer
    assert not Contact.objects.exists()


@pytest.mark.parametrize("q", ["Meier\x00", "\ud8af(AF"], ids=["nul", "lone-surrogate"])
def test_x2_a_search_text_the_database_cannot_hold_is_a_422_problem(world, q):
    """Found by schemathesis: a NUL character in the search text was a server error."""
    response = api(make_token(world)).post(
        "/api/v1/persons/search", json.dumps({"q": q}), content_type="application/json"
    )
    problem(response, 422)


def test_x2_a_journal_entry_is_recorded_with_the_pages_rules(world):
    client = api(make_token(world))
    response = client.post(
        f"/api/v1/cases/{world.case.pk}/journal",
        {
            "kind": "interview",
            "date": timezone.localdate().isoformat(),
            "topic": "health",
            "duration_minutes": 45,
            "note": "Entretien",
        },
        content_type="application/json",
    )
    assert response.status_code == 201
    contact = Contact.objects.get()
    assert contact.topic == Topic.objects.get(code="health")
    assert contact.is_face_to_face and contact.counts
    listed = client.get(f"/api/v1/cases/{world.case.pk}/journal").json()["items"]
    assert [row["id"] for row in listed] == [contact.pk]


# --- schema and docs -------------------------------------------------------------------------


def test_x2_schema_and_docs_need_a_session_and_keep_the_csp(world):
    assert Client().get("/api/openapi.json").status_code == 302
    assert Client().get("/api/docs").status_code == 302
    client = world.worker.client()
    schema = client.get("/api/openapi.json").json()
    assert schema["openapi"].startswith("3.")
    operations = {op["operationId"] for path in schema["paths"].values() for op in path.values()}
    assert "list_cases" in operations and "create_journal_entry" in operations
    error = schema["paths"]["/api/v1/cases"]["get"]["responses"]["404"]["content"]
    assert list(error) == [PROBLEM]
    docs = client.get("/api/docs")
    assert docs.status_code == 200
    html = docs.content.decode()
    assert "cdn" not in html.lower()
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", html, re.S)
    # only external scripts of our own, and the JSON settings block (no code runs inline)
    for attrs, _content in scripts:
        assert 'src="/static/' in attrs or 'type="application/json"' in attrs, attrs
    assert "script-src 'self'" in docs["Content-Security-Policy"]


# --- query counts (U4): a list costs the same whatever its length ----------------------------

# the token, the rate-limit upsert, then per list: the dossier (its door), the read-log insert,
# the keys and rows (the dossier list: one query per status and one for the shares; the
# programmes: their periods)
LIST_QUERIES = {
    "/api/v1/cases": 7,
    "/api/v1/persons": 4,
    "/api/v1/cases/{case}/journal": 5,
    "/api/v1/cases/{case}/tasks": 5,
    "/api/v1/cases/{case}/assessments": 5,
    "/api/v1/cases/{case}/measures": 6,
    "/api/v1/providers": 3,
    "/api/v1/programmes": 4,
}


def _fill(world: Any, n: int) -> None:
    from filum.followup.models import Task
    from filum.plans.models import Period, Programme, Provider

    today = timezone.localdate()
    case = world.case
    Case.objects.filter(pk=case.pk).update(opened_on=today - datetime.timedelta(days=400))
    case.refresh_from_db()
    topic = Topic.objects.get(code="health")
    office = world.officer.membership.organisation
    for i in range(n):
        factories.CaseFactory(owner=world.service_org, responsible=world.worker.user)
        Contact.objects.create(
            case=case,
            owner=world.service_org,
            author_organisation=world.service_org,
            kind="phone",
            date=today - datetime.timedelta(days=i),
            topic=topic,
            counts=True,
            is_face_to_face=False,
            recorded_by=world.worker.user,
        )
        Task.objects.create(
            case=case,
            owner=world.service_org,
            kind="manual",
            title=f"Tâche {i}",
            due_on=today + datetime.timedelta(days=i),
            assigned_to=world.worker.user,
            created_by=world.worker.user,
        )
        provider = Provider.objects.create(
            owner=office, canton="BE", name=f"Prestataire {i}", kind="association"
        )
        programme = Programme.objects.create(
            owner=office,
            canton="BE",
            provider=provider,
            name=f"Programme {i}",
            category="coaching",
            cost_per_place=100,
        )
        Period.objects.create(
            owner=office,
            programme=programme,
            starts_on=today,
            ends_on=today + datetime.timedelta(days=30),
            places=5,
        )


@pytest.mark.parametrize("n", [3, 30])
def test_u4_x2_api_lists_cost_a_fixed_number_of_queries(world, n):
    _fill(world, n)
    client = api(make_token(world))
    counts = {}
    for template in LIST_QUERIES:
        url = template.format(case=world.case.pk)
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url, {"limit": 100})
        assert response.status_code == 200, (url, response.content)
        counts[template] = len(queries)
    assert counts == LIST_QUERIES, counts


def test_r5_x2_every_api_operation_authenticates_by_token_only():
    """R5: the documented ways in; the API has one, the organisation's bearer token."""
    from filum.api.auth import TokenAuth
    from filum.api.endpoints import router

    operations = [op for view in router.path_operations.values() for op in view.operations]
    assert len(operations) == 13
    for operation in operations:
        assert [type(cb) for cb in operation.auth_callbacks] == [TokenAuth], operation.view_func
        assert operation.auth_callbacks[0].scope in Scope.values
