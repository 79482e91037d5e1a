"""Queries compiled once per thread (filum/prepared.py) and what uses them on every request:
the session, the signed-in user with their memberships, the dossier door and the dossier
page (U4, decision 0015). Each gives what the queryset built each time gives."""

from __future__ import annotations

import datetime
import threading
import uuid

import pytest
from django.contrib.auth import BACKEND_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.models import Session
from django.db import connection
from django.db.models import Value
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from filum.cases.models import Case, CaseTransition, Share
from filum.prepared import PreparedQuery, PreparedRows, Shapes, as_set
from filum.tenancy.backends import ModelBackend
from filum.tenancy.middleware import memberships_of
from filum.tenancy.models import Membership
from filum.tenancy.sessions import SessionStore
from tests import factories

FIELDS = [f.attname for f in Case._meta.concrete_fields]


def as_values(obj) -> list[object]:
    return [getattr(obj, name) for name in FIELDS]


def test_u4_prepared_instances_equal_the_querysets(world):
    """Same rows, fields, related objects (read without a query) and annotations; the values
    are bound anew at each run; a run without a match gives nothing."""
    query = PreparedQuery(
        lambda owner, status: (
            Case.objects.filter(owner_id=owner, status=status)
            .select_related("owner", "client", "responsible")
            .annotate(marker=Value(7))
            .order_by("number")
        ),
        values=2,
    )
    factories.CaseFactory(
        owner=world.service_org,
        status="closed",
        closed_on=timezone.localdate(),
        closure_reason="other",
    )
    for owner, status in [
        (world.service_org.pk, "open"),
        (world.service_org.pk, "closed"),
        (world.outsider_org.pk, "open"),
    ]:
        built = list(
            Case.objects.filter(owner_id=owner, status=status)
            .select_related("owner", "client", "responsible")
            .order_by("number")
        )
        prepared = query.objects(owner, status)
        assert built  # every pair has dossiers: the comparison is not between two empty lists
        assert [as_values(c) for c in prepared] == [as_values(c) for c in built]
        with CaptureQueriesContext(connection) as queries:
            assert [c.owner.name for c in prepared] == [c.owner.name for c in built]
            assert [c.client.last_name for c in prepared] == [c.client.last_name for c in built]
            assert {c.marker for c in prepared} == {7}
        assert len(queries) == 0
    assert query.objects(world.partner_org.pk, "open") == []


def test_u4_a_prepared_query_is_compiled_once_per_thread(world):
    query = PreparedQuery(lambda pk: Case.objects.filter(pk=pk))
    assert [c.pk for c in query.objects(world.case.pk)] == [world.case.pk]
    kept = query._local.compiled
    assert [c.pk for c in query.objects(world.other_case.pk)] == [world.other_case.pk]
    assert query._local.compiled is kept  # the same SQL, other value
    seen: list[object] = []

    def other_thread() -> None:
        seen.append(query._compiled())
        connection.close()

    thread = threading.Thread(target=other_thread)
    thread.start()
    thread.join()
    assert seen and seen[0] is not kept  # its own connection, its own compiled query


def test_u4_a_prepared_query_refuses_what_it_cannot_keep(db):
    with pytest.raises(TypeError):
        PreparedQuery(lambda pk: Case.objects.filter(pk=pk).prefetch_related("shares")).objects(1)
    with pytest.raises(TypeError):
        PreparedQuery(lambda pk: Case.objects.filter(pk=pk).values("pk")).objects(1)
    with pytest.raises(ValueError, match="every value"):
        PreparedQuery(lambda a, b: Case.objects.filter(pk=a), values=2).objects(1, 2)


def test_u4_prepared_rows_and_shapes(world):
    """``PreparedRows`` runs a ``values_list`` queryset with its values bound; a family built
    by one function may leave values out only when it says so; ``Shapes`` makes one prepared
    query per shape, once."""
    made: list[str] = []

    def make(field: str) -> PreparedRows:
        made.append(field)
        return PreparedRows(
            lambda pk, owner: Case.objects.filter(pk__in=as_set(pk)).values_list(field),
            values=2,
            unused=True,
        )

    shapes: Shapes[str, PreparedRows] = Shapes(make)
    ids = [world.case.pk, world.other_case.pk]
    assert sorted(shapes["number"].rows(ids, None)) == sorted(
        (c.number,) for c in (world.case, world.other_case)
    )
    assert shapes["number"].rows([], None) == []
    assert shapes["owner"].rows([world.case.pk], None) == [(world.case.owner_id,)]
    assert made == ["number", "owner"]  # each shape made once
    strict = PreparedRows(lambda pk, owner: Case.objects.filter(pk=pk).values_list("pk"), values=2)
    with pytest.raises(ValueError, match="every value"):
        strict.rows(world.case.pk, None)


def test_r12_the_door_answers_404_for_a_malformed_id(world):
    """The door binds the id itself: a malformed one is missing (404), not a server error."""
    from django.http import Http404

    from filum.cases.permissions import get_case_for_actor

    class Request:
        actor = world.worker.actor
        method = "GET"
        path = "/"

    for bad in ["not-a-uuid", "", str(uuid.uuid4())]:
        with pytest.raises(Http404):
            get_case_for_actor(request=Request(), case_id=bad)  # type: ignore[arg-type]
    assert get_case_for_actor(request=Request(), case_id=str(world.case.pk)).case == world.case


# --- the session and the signed-in user ---------------------------------------------------


def test_u4_the_user_and_their_memberships_are_one_query(world):
    """The backend reads the user with their active memberships, in the switcher's order;
    the middleware takes them from the user."""
    user = world.worker.user
    second = Membership.objects.create(
        user=user, organisation=world.partner_org, role="partner_staff"
    )
    Membership.objects.create(
        user=user, organisation=world.outsider_org, role="social_worker", is_active=False
    )
    with CaptureQueriesContext(connection) as queries:
        loaded = ModelBackend().get_user(user.pk)
    assert len(queries) == 1
    assert loaded == user
    assert [m.pk for m in loaded.filum_memberships] == [m.pk for m in memberships_of(user)]
    assert {m.pk for m in loaded.filum_memberships} == {world.worker.membership.pk, second.pk}
    assert all(m.user is loaded for m in loaded.filum_memberships)
    # a page: the request's user and memberships come from the one query
    client = world.worker.client()
    with CaptureQueriesContext(connection) as queries:
        assert client.get(reverse("case_list")).status_code == 200
    sql = [q["sql"] for q in queries]
    assert sum('FROM "tenancy_membership"' in q for q in sql) == 1
    assert not any(q.startswith('SELECT "tenancy_user"') for q in sql)


def test_r5_an_inactive_user_or_membership_signs_nobody_in(world):
    user = world.worker.user
    backend = ModelBackend()
    # no active membership: the user as Django reads them, with no memberships
    Membership.objects.filter(user=user).update(is_active=False)
    loaded = backend.get_user(user.pk)
    assert loaded == user and loaded.filum_memberships == []
    # an inactive user: nobody
    Membership.objects.filter(user=user).update(is_active=True)
    type(user).objects.filter(pk=user.pk).update(is_active=False)
    assert backend.get_user(user.pk) is None
    assert backend.get_user("not a number") is None
    assert backend.get_user(10**9) is None


def test_r6_the_session_is_read_as_django_reads_it_and_expires_on_time(world):
    store = SessionStore()
    store[SESSION_KEY] = str(world.worker.user.pk)
    store[BACKEND_SESSION_KEY] = "filum.tenancy.backends.ModelBackend"
    store.create()
    key = store.session_key
    assert SessionStore(key).load()[SESSION_KEY] == str(world.worker.user.pk)
    # expired: empty, and the key is dropped (a new session would get a new key)
    Session.objects.filter(session_key=key).update(
        expire_date=timezone.now() - datetime.timedelta(seconds=1)
    )
    expired = SessionStore(key)
    assert expired.load() == {}
    assert expired.session_key is None
    assert SessionStore("x" * 40).load() == {}  # unknown key
    assert SessionStore(None).load() == {}


def test_u4_the_dossier_page_reads_what_its_relations_hold(world):
    """The dossier page's prepared queries show the household, the lifecycle, the shares and
    the consents the related managers would give."""
    from filum.cases.views import _CONSENTS, _EVENTS, _SHARES

    case = world.case
    share = factories.ShareFactory(case=case, organisation=world.partner_org)
    assert (
        [s.pk for s in _SHARES.objects(case.pk)]
        == [s.pk for s in Share.objects.filter(case=case)]
        == [share.pk]
    )
    assert _SHARES.objects(case.pk)[0].organisation == world.partner_org
    CaseTransition.objects.create(
        case=case, owner=case.owner, kind="stage", to_stage=case.stage, actor=world.worker.user
    )
    events = _EVENTS.objects(case.pk)
    assert events and [e.pk for e in events] == [
        e.pk for e in CaseTransition.objects.filter(case=case)[:50]
    ]
    assert events[0].actor == world.worker.user
    assert _CONSENTS.objects(case.pk) == list(case.consents.all())
    page = world.worker.client().get(reverse("case_detail", args=[case.pk]))
    assert page.status_code == 200
    assert world.partner_org.name in page.content.decode()


def test_u4_prepared_queries_are_prepared_statements_with_a_kept_plan(world):
    """The door's query is parsed once per connection and, after PostgreSQL's five custom
    plans, runs on its generic plan: no planning per request (its planning cost more than
    running it). Django's own queries stay unprepared (they bind on the client)."""
    from filum.cases.permissions import _DOOR

    for _ in range(8):
        assert [c.pk for c in _DOOR.objects(world.case.pk)] == [world.case.pk]
    list(Case.objects.filter(pk=world.case.pk))
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement, generic_plans, custom_plans FROM pg_prepared_statements")
        prepared = cursor.fetchall()
    door = [
        row for row in prepared if 'FROM "cases_case"' in row[0] and "LEFT OUTER JOIN" in row[0]
    ]
    assert len(door) == 1
    assert door[0][1] >= 3 and door[0][2] == 5
    assert not any(
        row[0].startswith('SELECT "cases_case"."id", "cases_case"."number"')
        and "JOIN" not in row[0]
        for row in prepared
    )


def test_u4_the_journals_first_page_is_the_built_querysets(world):
    """The journal page as it opens runs a prepared query: the same entries, in the same
    order, as ``journal_in_reach`` gives (corrected and retracted entries left out), with
    their topics and authors; a filtered or later page is built as before."""
    from filum.cases.permissions import case_access
    from filum.journal.models import Contact, ContactKind, Topic
    from filum.journal.permissions import journal_in_reach
    from filum.journal.views import _FIRST_PAGE

    topic = Topic.objects.get(code="health")
    today = timezone.localdate()
    made = [
        Contact.objects.create(
            case=world.case,
            owner=world.service_org,
            kind=ContactKind.PHONE,
            date=today - datetime.timedelta(days=n % 4),
            topic=topic,
            counts=True,
            is_face_to_face=False,
            recorded_by=world.worker.user,
            # the journal is append-only: a retracted and a replaced entry, as stored
            is_retracted=n == 0,
            superseded_at=timezone.now() if n == 1 else None,
        )
        for n in range(7)
    ]
    assert len(made) == 7
    access = case_access(actor=world.worker.actor, case=world.case)
    built = list(journal_in_reach(access).order_by("-date", "-pk"))
    prepared = _FIRST_PAGE.objects(world.case.pk)
    assert len(built) == 5
    assert [c.pk for c in prepared] == [c.pk for c in built]
    assert {c.topic.code for c in prepared} == {"health"}
    assert {c.recorded_by for c in prepared} == {world.worker.user}
    page = world.worker.client().get(reverse("journal_list", args=[world.case.pk]))
    assert page.status_code == 200
    assert [c.pk for c in page.context["contacts"]] == [c.pk for c in built]
