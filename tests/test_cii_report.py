"""The CII monitoring report (D8): on a small hand-made set in the style of the CaseNet
presentation ("100 % have a health problem, of which 55 % physical and psychological
combined; 80 % out of work for more than 2 years, of which a quarter for more than 4; ...";
"exits 2009, N=13"), the exact figures, the CSV with the same figures, who counts what
(a canton officer the whole canton, a section head their organisation), no names, and a
pinned number of queries whatever the number of cases."""

from __future__ import annotations

import csv
import datetime
import io
from dataclasses import dataclass
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from filum.cases.models import Case, Consent
from filum.cii.models import CiiCase
from filum.cii.report import monitoring_report, percent
from filum.cii.synthetic import make_synthetic_cii_cases
from filum.disclosure import MIN_CELL_SIZE, hidden_in_partition, is_small
from filum.tenancy.models import Organisation
from tests import factories

YEAR = 2025
NAME = "Zycanaryciiwq"
# the report page, a later request of the session: the session, the user with their memberships and
# organisation, and one aggregate query for every figure
REPORT_QUERIES = 3


def d(month: int, day: int, year: int = YEAR) -> datetime.date:
    return datetime.date(year, month, day)


@dataclass(frozen=True)
class Row:
    health: str = ""
    out_of_work: str = ""
    language_level: str = ""
    education: str = ""
    nationality: str = ""
    debts: bool | None = None
    exit_state: str = ""
    goals_aimed: tuple[str, ...] = ()
    goals_reached: tuple[str, ...] = ()


def make_case(
    owner: Organisation,
    coordinator: Any,
    row: Row,
    *,
    opened_on: datetime.date,
    exit_on: datetime.date | None = None,
    closed_on: datetime.date | None = None,
) -> CiiCase:
    dossier = factories.CaseFactory(
        owner=owner, domain="cii", opened_on=opened_on, client__last_name=NAME
    )
    if closed_on is not None:
        Case.objects.filter(pk=dossier.pk).update(
            status="closed", stage="closed", closed_on=closed_on, closure_reason="other"
        )
    consent = Consent.objects.create(
        case=dossier,
        owner=owner,
        person=dossier.client,
        kind="general",
        scope="CII",
        signed_on=opened_on,
        recorded_by=coordinator,
    )
    return CiiCase.objects.create(
        case=dossier,
        owner=owner,
        owner_body="social_assistance",
        coordinator=coordinator,
        consent=consent,
        opened_on=opened_on,
        health=row.health,
        out_of_work=row.out_of_work,
        language_level=row.language_level,
        education=row.education,
        nationality=row.nationality,
        debts=row.debts,
        exit_on=exit_on if row.exit_state else None,
        exit_state=row.exit_state,
        goals_aimed=list(row.goals_aimed),
        goals_reached=list(row.goals_reached),
    )


def seed_style_rows() -> list[Row]:
    """Twenty situations running in 2025, thirteen of which ended in it."""
    health = ["both"] * 11 + ["physical"] * 5 + ["psychological"] * 4
    work = ["over_4"] * 4 + ["2_4"] * 12 + ["1_2"] * 3 + ["under_1"]
    language = (
        ["pre_a1"] + ["a1"] * 3 + ["a2"] * 4 + ["b1"] * 3 + ["b2"] * 2 + ["c1"] * 2 + ["first"] * 5
    )
    education = ["none"] * 11 + ["compulsory"] * 4 + ["vocational"] * 3 + ["higher", ""]
    nationality = ["foreign"] * 11 + ["swiss"] * 9
    debts: list[bool | None] = [True] * 6 + [False] * 10 + [None] * 4
    states = (
        ["labour_market"] * 3
        + ["goals_reached"] * 5
        + ["non_collaboration"] * 2
        + ["criteria_not_met"] * 2
        + ["outside_area"]
        + [""] * 7
    )
    rows = []
    for i in range(20):
        aimed, reached = [], []
        if i < 8:
            aimed.append("health")
            if i >= 3:
                reached.append("health")
        if i in (0, 1, 2, 8, 9, 10):
            aimed.append("employability")
            if i in (0, 1):
                reached.append("employability")
        if i in (0, 1, 2, 11):
            aimed.append("labour_market")
            if i < 3:
                reached.append("labour_market")
        rows.append(
            Row(
                health[i],
                work[i],
                language[i],
                education[i],
                nationality[i],
                debts[i],
                states[i],
                tuple(aimed),
                tuple(reached),
            )
        )
    return rows


@pytest.fixture
def seeded(world: Any) -> Any:
    coordinator = world.worker.user
    service = world.service_org
    for i, row in enumerate(seed_style_rows()):
        opened = d(2, 1) if i < 13 else d(6, 1, 2024)
        make_case(service, coordinator, row, opened_on=opened, exit_on=d(10, 15))
    # not counted in 2025: ended in 2024, opened in 2026, dossier closed in 2024 without exit
    make_case(
        service,
        coordinator,
        Row(health="both", exit_state="labour_market"),
        opened_on=d(1, 10, 2024),
        exit_on=d(11, 30, 2024),
    )
    make_case(service, coordinator, Row(health="both"), opened_on=d(3, 1, 2026))
    make_case(
        service, coordinator, Row(health="both"), opened_on=d(2, 1, 2024), closed_on=d(12, 20, 2024)
    )
    # counted as running, nothing recorded: its dossier was closed in 2025 without an exit
    make_case(service, coordinator, Row(), opened_on=d(2, 1, 2024), closed_on=d(3, 1))
    # another service of the canton, and one of another canton
    outsider = world.outsider.user
    make_case(
        world.outsider_org,
        outsider,
        Row(health="both", exit_state="outside_area"),
        opened_on=d(1, 5),
        exit_on=d(6, 30),
    )
    fribourg = factories.OrganisationFactory(name="Service social Fribourg-Test", canton="FR")
    make_case(
        fribourg,
        factories.UserFactory(),
        Row(health="physical", exit_state="labour_market"),
        opened_on=d(1, 5),
        exit_on=d(6, 30),
    )
    return world


def figures(report: Any) -> dict[str, Any]:
    return {
        "cases": report.cases,
        "exits": report.exits,
        "profile": [(f.key, f.count, f.base, f.percent) for f in report.profile],
        "exit_states": [(f.key, f.count, f.percent) for f in report.exit_states],
        "goals": [
            (g.key, g.aimed, g.aimed_percent, g.reached, g.reached_percent)
            for g in report.goals
            if g.aimed
        ],
    }


SERVICE_2025 = {
    "cases": 21,
    "exits": 13,
    "profile": [
        ("health_problem", 20, 20, 100),
        ("health_both", 11, 20, 55),
        ("out_of_work_over_2", 16, 20, 80),
        ("out_of_work_over_4", 4, 16, 25),
        ("language_low", 13, 20, 65),
        ("no_education", 11, 19, 58),
        ("foreign", 11, 20, 55),
        ("debts", 6, 16, 38),
    ],
    "exit_states": [
        ("labour_market", 3, 23),
        ("goals_reached", 5, 38),
        ("non_collaboration", 2, 15),
        ("criteria_not_met", 2, 15),
        ("outside_area", 1, 8),
    ],
    "goals": [
        ("health", 8, 62, 5, 63),
        ("employability", 6, 46, 2, 33),
        ("labour_market", 4, 31, 3, 75),
    ],
}


def test_d8_percentages_are_whole_and_rounded_half_up():
    assert [percent(n, 16) for n in (6, 4, 0, 16)] == [38, 25, 0, 100]
    assert percent(1, 8) == 13 and percent(5, 8) == 63 and percent(1, 3) == 33
    assert percent(3, 0) is None


def test_d8_the_section_head_counts_their_organisations_cii_cases(seeded):
    response = seeded.head.client().get(reverse("cii_report"), {"year": YEAR})
    assert response.status_code == 200
    assert figures(response.context["report"]) == SERVICE_2025
    page = response.content.decode()
    assert NAME not in page
    assert "N=13" in page
    assert '<th scope="row">Problème de santé</th>' in page
    assert '<td class="num">55 %</td>' in page and '<td class="num">—</td>' in page
    # the chart data come as JSON, not as an inline script
    assert 'id="chart-cii-profile" type="application/json"' in page


def test_d8_the_canton_officer_sees_only_aggregates_of_their_canton(seeded):
    response = seeded.officer.client().get(reverse("cii_report"), {"year": YEAR})
    assert response.status_code == 200
    report = response.context["report"]
    assert report.canton_wide
    # the outsider's service in the same canton counts; the Fribourg service does not
    found = figures(report)
    assert (found["cases"], found["exits"]) == (22, 14)
    assert found["profile"][:2] == [("health_problem", 21, 21, 100), ("health_both", 12, 21, 57)]
    assert found["exit_states"][-1] == ("outside_area", 2, 14)
    assert found["exit_states"][0] == ("labour_market", 3, 21)
    page = response.content.decode()
    assert NAME not in page and str(seeded.case.client.last_name) not in page
    assert reverse("case_detail", args=[seeded.case.pk]) not in page


def test_d6_small_partitions_hide_a_second_count_so_none_can_be_subtracted():
    assert hidden_in_partition([3, 5, 9]) == {0, 1}
    assert hidden_in_partition([0, 5, 9]) == set()
    assert hidden_in_partition([1, 2, 9]) == {0, 1}
    assert hidden_in_partition([4]) == {0}
    assert [is_small(n) for n in (0, 1, 4, 5)] == [False, True, True, False]
    assert MIN_CELL_SIZE == 5


def test_d6_the_canton_wide_report_hides_counts_below_five(seeded):
    response = seeded.officer.client().get(reverse("cii_report"), {"year": YEAR})
    page = response.content.decode()
    cells = response.context["parts"]
    exits = {label: values for label, values, _sub in cells["exits"].rows}
    # labour market 3 of 14, goals reached 5, the other three 2 each: 5 stays, the rest hidden
    shown = [(v[0][0], v[0][2]) for v in exits.values()]
    assert shown == [(None, True), (5, False), (None, True), (None, True), (None, True)]
    profile = {label: values for label, values, _sub in cells["profile"].rows}
    assert profile["dont depuis plus de 4 ans"] == [
        (None, False, True),
        (16, False, False),
        (None, True, True),
    ]
    assert "&lt; 5</abbr>" in page and "N=14" in page
    assert cells["exits"].chart["series"][0]["data"][0] is None
    csv_rows = list(
        csv.reader(
            io.StringIO(
                seeded.officer.client()
                .get(reverse("cii_report_csv"), {"year": YEAR})
                .content.decode("utf-8")
                .lstrip("\ufeff")
            ),
            delimiter=";",
        )
    )
    labour = [r for r in csv_rows if r[:2] == ["sortie", "Réinsertion sur le marché du travail"]]
    assert labour == [["sortie", "Réinsertion sur le marché du travail", "<5", "14", "<5"]]
    # the section head's own report shows every figure
    own = seeded.head.client().get(reverse("cii_report"), {"year": YEAR}).context["parts"]
    assert all(not hidden for _l, values, _s in own["exits"].rows for _v, _sh, hidden in values)


def test_d8_the_csv_holds_the_same_figures(seeded):
    response = seeded.head.client().get(reverse("cii_report_csv"), {"year": YEAR})
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert 'filename="cii-monitoring-2025.csv"' in response["Content-Disposition"]
    body = response.content.decode("utf-8")
    assert body.startswith("\ufeff") and NAME not in body
    rows = list(csv.reader(io.StringIO(body.lstrip("\ufeff")), delimiter=";"))
    assert rows[0] == ["partie", "chiffre", "nombre", "sur", "pour cent"]
    assert rows[1] == ["cas", "Cas CII en cours dans l'année", "21", "", ""]
    assert rows[2] == ["cas", "Cas CII terminés dans l'année", "13", "", ""]
    assert rows[3] == ["profil", "Problème de santé", "20", "20", "100"]
    assert rows[4] == ["profil", "dont physique et psychique combinés", "11", "20", "55"]
    assert rows[10] == ["profil", "Dettes (dettes d'aide sociale non comptées)", "6", "16", "38"]
    assert rows[11] == ["sortie", "Réinsertion sur le marché du travail", "3", "13", "23"]
    health = [r for r in rows if r[1] == "Stabilisation santé (physique ou psychique)"]
    assert health == [
        ["objectif visé", health[0][1], "8", "13", "62"],
        ["objectif atteint", health[0][1], "5", "8", "63"],
    ]
    never_aimed = [r for r in rows if r[1].startswith("Orientation professionnelle")]
    assert [r[2:] for r in never_aimed] == [["0", "13", "0"], ["0", "0", ""]]


def test_d8_the_report_needs_the_report_right(seeded):
    for persona in ("worker", "partner", "analyst", "outsider"):
        client = getattr(seeded, persona).client()
        assert client.get(reverse("cii_report")).status_code == 404, persona
        assert client.get(reverse("cii_report_csv")).status_code == 404, persona


@pytest.mark.parametrize("year", ["1999", "2027", "abc"])
def test_d8_a_year_out_of_range_is_refused_with_a_message(world, year):
    client = world.head.client()
    response = client.get(reverse("cii_report"), {"year": year})
    assert response.status_code == 200 and response.context["report"] is None
    assert "field-errors" in response.content.decode()
    response = client.get(reverse("cii_report_csv"), {"year": year})
    assert response.status_code == 302 and response["Location"] == reverse("cii_report")


def test_d8_the_report_defaults_to_this_year(world):
    response = world.head.client().get(reverse("cii_report"))
    assert response.status_code == 200
    assert response.context["report"].year == datetime.date.today().year


def test_d8_the_report_costs_a_fixed_number_of_queries(world, django_assert_num_queries):
    client = world.officer.client()
    client.get(reverse("cii_report"), {"year": YEAR})  # the session's first request
    with django_assert_num_queries(REPORT_QUERIES):
        client.get(reverse("cii_report"), {"year": YEAR})
    make_synthetic_cii_cases(
        200, owner=world.service_org, coordinator=world.worker.user, years=(2024, 2026), seed=3
    )
    with django_assert_num_queries(REPORT_QUERIES):
        response = client.get(reverse("cii_report"), {"year": YEAR})
    assert response.context["report"].cases > 50


def test_d8_synthetic_cases_are_valid_and_counted(world):
    made = make_synthetic_cii_cases(
        120, owner=world.service_org, coordinator=world.worker.user, years=(2024, 2025), seed=7
    )
    assert made == 120 == CiiCase.objects.count()
    with CaptureQueriesContext(connection) as captured:
        report = monitoring_report(
            cases=CiiCase.objects.countable_by(organisation=world.service_org, canton_wide=False),
            year=2025,
            canton_wide=False,
        )
    assert len(captured.captured_queries) == 1
    assert 0 < report.exits <= report.cases <= 120
    assert all(g.reached <= g.aimed <= report.exits for g in report.goals)
