"""The integration cockpit across dossiers (I7, issue 8 item 9, decision 0022): ongoing
measures, next steps, persons per residence status and milestone state, filters by worker,
team and provider; only what the reader may count; a fixed number of queries."""

from __future__ import annotations

import datetime
import re
from types import SimpleNamespace

import pytest
from django.conf import settings
from django.urls import reverse

from filum.cases.models import Case
from filum.followup.models import KeptLight
from filum.followup.nightly import run_nightly_rules
from filum.people.models import Person
from filum.plans.models import MeasureStatus
from filum.records.models import ReadLog
from tests import factories
from tests import plan_factories as pf

# the same frozen day (16.03.2026) as the reminders' tests
from tests.test_measure_reminders import TODAY, days, frozen  # noqa: E402, F401

URL = "/cockpit/integration/"


def dossier(world, owner, *, status: str, name: str, domain="asylum_aid", **kw) -> Case:
    case = factories.CaseFactory(owner=owner, domain=domain, opened_on=TODAY - days(300), **kw)
    Person.objects.filter(pk=case.client_id).update(residence_status=status, last_name=name)
    return case


def milestone(case: Case, code: str) -> None:
    KeptLight.objects.update_or_create(
        case=case,
        defaults={
            "owner_id": case.owner_id,
            "level": 1,
            "findings": [{"code": code, "level": 1, "params": {}, "task_kind": "", "due": None}],
            "has_norm": False,
            "norm_missed": False,
            "info": False,
            "as_of": TODAY,
            "evaluated_at": datetime.datetime(2026, 3, 16, 2, 0, tzinfo=datetime.UTC),
        },
    )


@pytest.fixture
def canton(world):
    """The service's integration dossiers (c1 F, c2 B_FL, c4 C with a plan in economic aid),
    some not counted (no plan, closed), the outsider's own (never counted by the service)
    and one the outsider shares with the service (its plan)."""
    team = world.case.team
    other_team = factories.TeamFactory(organisation=world.service_org, name="Conseil 2")
    p1 = pf.provider(world.service_org, name="École Lingua-Test")
    p2 = pf.provider(world.service_org, name="JobCoach-Test")
    elsewhere = pf.provider(
        factories.OrganisationFactory(name="Service VD", canton="VD"), name="Vaud-Test"
    )
    by = world.worker.user
    c1 = dossier(world, world.service_org, status="F", name="Abebe-Zyx", responsible=by, team=team)
    plan1 = pf.plan(c1, by)
    pf.measure(
        plan1,
        by,
        title="Cours B1",
        provider=p1,
        status=MeasureStatus.RUNNING,
        actual_start=TODAY - days(20),
        planned_end=TODAY + days(60),
    )
    pf.measure(plan1, by, title="Coaching emploi", provider=p2, planned_start=TODAY + days(10))
    pf.measure(
        plan1,
        by,
        title="Stage cuisine",
        provider=p1,
        status=MeasureStatus.COMPLETED,
        actual_start=TODAY - days(100),
        actual_end=TODAY - days(40),
    )
    c2 = dossier(
        world,
        world.service_org,
        status="B_FL",
        name="Tesfay-Zyx",
        responsible=world.colleague.user,
        team=other_team,
    )
    pf.measure(
        pf.plan(c2, by),
        by,
        title="Insertion pro",
        provider=p2,
        status=MeasureStatus.RUNNING,
        actual_start=TODAY - days(5),
    )
    c4 = dossier(
        world,
        world.service_org,
        status="C",
        name="Keller-Zyx",
        domain="economic_aid",
        responsible=by,
        team=team,
    )
    pf.measure(pf.plan(c4, by), by, title="Atelier", planned_start=TODAY - days(5))
    # not counted: economic aid without a plan, a closed asylum dossier
    dossier(world, world.service_org, status="B", name="Nocount-Zyx", domain="economic_aid")
    closed = dossier(world, world.service_org, status="F", name="Closed-Zyx")
    Case.objects.filter(pk=closed.pk).update(
        status="closed", closed_on=TODAY, closure_reason="other"
    )
    # the outsider's dossiers: one of its own, one shared with the service's plan section
    o1 = dossier(
        world, world.outsider_org, status="F", name="Foreign-Zyx", responsible=world.outsider.user
    )
    pf.measure(
        pf.plan(o1, world.outsider.user),
        world.outsider.user,
        title="Secret course",
        status=MeasureStatus.RUNNING,
        actual_start=TODAY - days(3),
    )
    o2 = dossier(
        world, world.outsider_org, status="N", name="Shared-Zyx", responsible=world.outsider.user
    )
    pf.measure(
        pf.plan(o2, world.outsider.user),
        world.outsider.user,
        title="Cours partagé",
        provider=p1,
        status=MeasureStatus.RUNNING,
        actual_start=TODAY - days(3),
    )
    factories.ShareFactory(
        case=o2,
        organisation=world.service_org,
        sections=["plan"],
        access="read",
        granted_by=world.outsider.user,
    )
    run_nightly_rules(as_of=TODAY)
    milestone(c1, "milestone_at_risk")
    milestone(c2, "milestone_missed")
    milestone(o1, "milestone_missed")
    return SimpleNamespace(
        team=team,
        other_team=other_team,
        p1=p1,
        p2=p2,
        elsewhere=elsewhere,
        c1=c1,
        c2=c2,
        c4=c4,
        o1=o1,
        o2=o2,
    )


def get(persona, params=None, language="fr"):
    client = persona.client()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    response = client.get(URL, params or {})
    assert response.status_code == 200
    return response, response.content.decode()


def figure(page: str, name: str) -> int:
    match = re.search(rf'data-figure="{name}">(\d+)<', page)
    assert match, name
    return int(match.group(1))


def status_row(page: str, code: str) -> list[int] | None:
    match = re.search(rf'<tr data-status="{code}">(.*?)</tr>', page, re.S)
    if not match:
        return None
    return [int(n) for n in re.findall(r'<td class="num">(\d+)</td>', match.group(1))]


def test_i7_the_section_head_counts_the_services_integration_dossiers(world, canton):
    assert reverse("cockpit_integration") == URL
    _, page = get(world.head)
    assert figure(page, "persons") == 4  # c1, c2, c4 and the shared o2
    assert status_row(page, "F") == [1, 1, 0]
    assert status_row(page, "B_FL") == [1, 0, 1]
    assert status_row(page, "C") == [1, 0, 0]
    assert status_row(page, "N") == [1, 0, 0]
    assert status_row(page, "B") is None  # economic aid without a plan
    assert figure(page, "at_risk") == 1 and figure(page, "missed") == 1
    assert figure(page, "running") == 3  # c1, c2 and the shared o2
    assert figure(page, "starting") == 1
    assert figure(page, "start_overdue") == 1
    assert figure(page, "results") == 1
    assert figure(page, "tasks") == 3  # c1 start and result, c4 start; not the outsider's
    for shown in ("Cours B1", "Insertion pro", "Cours partagé", "Coaching emploi", "Atelier"):
        assert shown in page
    assert "Stage cuisine" in page and "Abebe-Zyx" in page
    assert "Shared-Zyx" in page  # a partner share of the plan counts


def test_i7_another_organisations_dossiers_are_never_counted(world, canton):
    for persona in (world.head, world.worker):
        _, page = get(persona)
        assert "Foreign-Zyx" not in page and "Secret course" not in page
        assert "Closed-Zyx" not in page and "Nocount-Zyx" not in page
        assert figure(page, "missed") == 1  # o1's missed milestone is the outsider's
    _, page = get(world.outsider)
    assert figure(page, "persons") == 2  # its own o1 and o2
    assert "Abebe-Zyx" not in page and "Cours B1" not in page


def test_i7_a_revoked_share_drops_the_dossier(world, canton):
    from filum.cases.models import Share

    Share.objects.filter(case=canton.o2).update(
        revoked_at=datetime.datetime(2026, 3, 1, tzinfo=datetime.UTC)
    )
    _, page = get(world.head)
    assert figure(page, "persons") == 3 and "Shared-Zyx" not in page


def test_i7_filter_by_worker(world, canton):
    _, page = get(world.head, {"worker": world.colleague.user.pk})
    assert figure(page, "persons") == 1 and status_row(page, "B_FL") == [1, 0, 1]
    assert figure(page, "running") == 1 and "Insertion pro" in page and "Cours B1" not in page
    assert figure(page, "tasks") == 0


def test_i7_filter_by_team(world, canton):
    _, page = get(world.head, {"team": canton.team.pk})
    assert figure(page, "persons") == 2  # c1 and c4
    assert figure(page, "running") == 1 and figure(page, "tasks") == 3
    _, page = get(world.head, {"team": canton.other_team.pk})
    assert figure(page, "persons") == 1 and "Tesfay-Zyx" in page and "Abebe-Zyx" not in page


def test_i7_filter_by_provider(world, canton):
    _, page = get(world.head, {"provider": canton.p2.pk})
    # dossiers with an open measure of the provider: c1 (starting) and c2 (running)
    assert figure(page, "persons") == 2
    assert figure(page, "running") == 1 and figure(page, "starting") == 1
    assert "Insertion pro" in page and "Cours B1" not in page
    _, page = get(world.head, {"provider": canton.p1.pk})
    assert figure(page, "running") == 2  # c1's course and the shared o2's
    assert figure(page, "results") == 1


@pytest.mark.parametrize(
    "params",
    [
        {"worker": "abc"},
        {"worker": "99999999999999999999999"},
        {"team": "-1"},
        {"provider": "1e3"},
    ],
)
def test_i7_bad_filter_input_is_ignored_with_a_message(world, canton, params):
    _, page = get(world.head, params, "fr")
    assert "a été ignoré" in page
    assert figure(page, "persons") == 4
    _, page = get(world.head, params, "de")
    assert "wurde ignoriert" in page


def test_i7_a_filter_of_another_organisation_or_canton_is_ignored(world, canton):
    other_team = factories.TeamFactory(organisation=world.outsider_org, name="Thun 1")
    _, page = get(world.head, {"team": other_team.pk})
    assert "a été ignoré" in page and figure(page, "persons") == 4
    _, page = get(world.head, {"worker": world.outsider.user.pk})
    assert "a été ignoré" in page and figure(page, "persons") == 4
    _, page = get(world.head, {"provider": canton.elsewhere.pk}, "de")
    assert "Anbieter" in page and "wurde ignoriert" in page


def test_i7_the_canton_officer_sees_the_cantons_figures_without_names(world, canton):
    _, page = get(world.officer)
    assert figure(page, "persons") == 5  # every integration dossier of the canton
    assert figure(page, "missed") == 2 and figure(page, "running") == 4
    for name in ("Abebe-Zyx", "Tesfay-Zyx", "Foreign-Zyx", "Shared-Zyx", "Cours B1"):
        assert name not in page
    assert 'name="worker"' not in page and 'name="team"' not in page
    _, page = get(world.officer, {"provider": canton.p1.pk})
    assert figure(page, "running") == 2
    _, page = get(world.officer, {"worker": world.worker.user.pk})
    assert "a été ignoré" in page


def test_i7_who_may_open_it(world, canton):
    for persona in ("head", "worker", "officer", "outsider"):
        assert getattr(world, persona).client().get(URL).status_code == 200
    for persona in ("assistant", "intake", "partner", "superuser", "dpo", "analyst"):
        assert getattr(world, persona).client().get(URL).status_code == 404


def test_i7_linked_from_the_cockpit_and_the_navigation(world, canton):
    page = world.worker.client().get(reverse("cockpit")).content.decode()
    assert page.count(f'href="{URL}"') == 2
    page = world.intake.client().get(reverse("cockpit")).content.decode()
    assert f'href="{URL}"' not in page
    page = world.officer.client().get(reverse("cii_report")).content.decode()
    assert f'href="{URL}"' in page


def test_i7_x6_the_listed_dossiers_plan_reads_are_logged(world, canton):
    before = ReadLog.objects.count()
    get(world.head)
    logged = set(ReadLog.objects.order_by("id")[before:].values_list("case_id", "section"))
    assert logged == {
        (canton.c1.pk, "plan"),
        (canton.c2.pk, "plan"),
        (canton.c4.pk, "plan"),
        (canton.o2.pk, "plan"),
    }
    before = ReadLog.objects.count()
    get(world.officer)
    assert ReadLog.objects.count() == before


# Sign-in and actor (the session, the user with their memberships: 2), the choices (workers, teams,
# providers: 3), the rules (1), the three aggregates (measures, tasks, statuses: 3), four lists (4)
# and the read log of the listed dossiers (1). The canton office: no worker or team choices, no
# list, no read.
INTEGRATION_QUERIES = 14
INTEGRATION_QUERIES_OFFICER = 7


def test_i7_u4_the_page_queries_do_not_grow(world, canton, django_assert_num_queries):
    client = world.head.client()
    client.get(URL)  # the first request after sign-in also saves the session
    with django_assert_num_queries(INTEGRATION_QUERIES):
        assert client.get(URL).status_code == 200
    # more dossiers, measures and tasks: the same number
    for n in range(6):
        case = dossier(
            world, world.service_org, status="F", name=f"More{n}-Zyx", responsible=world.worker.user
        )
        plan = pf.plan(case, world.worker.user)
        pf.measure(plan, world.worker.user, planned_start=TODAY + days(n))
        pf.measure(
            plan,
            world.worker.user,
            status=MeasureStatus.RUNNING,
            actual_start=TODAY - days(n + 1),
            provider=canton.p1,
        )
    run_nightly_rules(as_of=TODAY)
    with django_assert_num_queries(INTEGRATION_QUERIES):
        response = client.get(URL, {"provider": canton.p1.pk, "team": canton.team.pk})
        assert response.status_code == 200
    officer = world.officer.client()
    officer.get(URL)
    with django_assert_num_queries(INTEGRATION_QUERIES_OFFICER):
        assert officer.get(URL).status_code == 200
