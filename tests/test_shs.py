"""The federal social assistance statistics (SHS, D6; decision 0035): the applicant's status
decides the statistic of the whole unit, the 6-month statistical closure, unmapped values
reported and marked, mapping versions, the command and the scheduler, bad input, the download
and its read log, and the delivery made from the demo data."""

from __future__ import annotations

import csv
import datetime
import io

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import translation

from filum.cases.models import Case
from filum.demo.shs import demo_entries, fill_mapping
from filum.people.models import AssistanceUnit, UnitMember
from filum.records.models import ReadLog
from filum.steering import shs
from filum.steering.models import ShsDelivery
from filum.steering.shs_views import parse_entries
from tests import factories

d = datetime.date
NOV = d(2026, 11, 1)


def rows(delivery: ShsDelivery) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(delivery.content), delimiter=";"))


@pytest.mark.parametrize(
    ("status", "nationality", "arrival", "expected"),
    [
        ("N", "ER", d(2026, 1, 1), "asyl"),
        ("N", "ER", None, "asyl"),
        # provisionally admitted: asylum statistic for the first 7 years' residence
        ("F", "AF", d(2019, 12, 1), "asyl"),  # 6 years 11 months
        ("F", "AF", d(2019, 11, 30), "wsh"),  # 7 years on 30.11.2026
        # provisionally admitted refugees: refugee statistic for 7 years
        ("F_FL", "SY", d(2019, 12, 1), "flue"),
        ("F_FL", "SY", d(2019, 11, 30), "wsh"),
        # recognised refugees (B): refugee statistic for less than 5 years
        ("B_FL", "ER", d(2021, 12, 1), "flue"),  # 4 years 11 months
        ("B_FL", "ER", d(2021, 11, 30), "wsh"),
        ("swiss", "CH", None, "wsh"),
        ("C", "IT", None, "wsh"),
        ("B", "PT", None, "wsh"),
        ("", "CH", None, "wsh"),
        # Filum cannot decide: no status for a foreigner, S (no rule), years unknown
        ("", "ER", None, None),
        ("S", "UA", d(2025, 3, 1), None),
        ("F", "AF", None, None),
    ],
)
def test_the_applicants_status_decides_the_statistic(status, nationality, arrival, expected):
    assert shs.statistic_of(status, nationality, arrival, d(2026, 11, 30)) == expected


def test_the_limits_are_pinned():
    assert shs.CLOSURE_MONTHS == 6
    assert shs.REFUGEE_B_YEARS == 5
    assert shs.ADMITTED_YEARS == 7
    assert shs.statistical_closure(d(2026, 3, 15)) == d(2026, 9, 15)
    assert shs.statistical_closure(d(2026, 3, 31)) == d(2026, 9, 30)


@pytest.fixture
def service(db):
    return factories.OrganisationFactory(name="Service social SHS-Test", canton="BE")


@pytest.fixture
def mapping(db):
    return fill_mapping("BE")


def household(service, applicant_status, others=(), ahv=None, **case_kw):
    applicant = factories.PersonFactory(
        registered_by=service,
        residence_status=applicant_status,
        nationality="ER",
        arrival_date=d(2024, 5, 1),
        last_name="Zycanaryshs",
        ahv_number=ahv,
    )
    unit = AssistanceUnit.objects.create(name="UE", registered_by=service)
    UnitMember.objects.create(unit=unit, person=applicant, relation="applicant")
    for relation, status in others:
        person = factories.PersonFactory(registered_by=service, residence_status=status)
        UnitMember.objects.create(unit=unit, person=person, relation=relation)
    return factories.CaseFactory(owner=service, client=applicant, assistance_unit=unit, **case_kw)


def test_a_dossier_is_a_unit_and_the_applicant_decides_for_everyone(service, mapping):
    case = household(
        service, "N", others=[("spouse", "C"), ("child", "swiss")], opened_on=d(2026, 2, 1)
    )
    delivery = shs.deliver(service, NOV)
    found = [r for r in rows(delivery) if r["dossier"] == str(case.number)]
    assert [r["person"] for r in found] == ["1", "2", "3"]
    assert {r["statistic"] for r in found} == {"ASYL"}
    assert [r["relation"] for r in found] == ["APP", "SPO", "CHI"]
    assert [r["residence_status"] for r in found] == ["N", "C", "SWISS"]
    assert delivery.dossiers == 1
    assert delivery.rows == 3


def test_no_name_and_no_ahv_number_in_the_delivery(service, mapping):
    household(service, "B", ahv="7569217076985", opened_on=d(2026, 2, 1))
    content = shs.deliver(service, NOV).content
    assert "Zycanaryshs" not in content
    assert "7569217076985" not in content
    assert "756.9217" not in content


def test_statistical_closure_six_months_after_the_legal_closure(service, mapping):
    """Without payments, the legal closure date stands in for the last payment."""
    case = household(
        service,
        "C",
        opened_on=d(2025, 6, 1),
        status="closed",
        closed_on=d(2026, 3, 15),
        closure_reason="employment",
    )

    def row_of(month: datetime.date) -> dict[str, str] | None:
        found = [r for r in rows(shs.deliver(service, month)) if r["dossier"] == str(case.number)]
        return found[0] if found else None

    august = row_of(d(2026, 8, 1))
    assert august is not None
    assert august["legal_closed_on"] == "2026-03-15"
    assert august["statistical_closure_on"] == ""
    assert august["closure_reason"] == ""
    september = row_of(d(2026, 9, 1))
    assert september is not None
    assert september["statistical_closure_on"] == "2026-09-15"
    assert september["closure_reason"] == "002"  # employment, the demo table's code
    assert row_of(d(2026, 10, 1)) is None
    # before the legal closure the dossier was open in that month's delivery
    february = row_of(d(2026, 2, 1))
    assert february is not None
    assert february["legal_closed_on"] == ""


def test_other_domains_and_unopened_dossiers_are_not_delivered(service, mapping):
    household(service, "C", opened_on=d(2026, 12, 1))  # opened after November
    household(service, "C", opened_on=d(2026, 2, 1), domain="child_protection")
    assert shs.deliver(service, NOV).dossiers == 0


def test_an_unmapped_value_is_reported_and_marked_never_dropped(service, mapping):
    case = household(service, "S", others=[("child", "S")], opened_on=d(2026, 4, 1))
    delivery = shs.deliver(service, NOV)
    found = rows(delivery)
    assert len(found) == 2
    assert found[0]["statistic"] == "UNDECIDED"
    assert found[0]["residence_status"] == "UNMAPPED:S"
    assert found[1]["residence_status"] == "UNMAPPED:S"
    assert {"dossier": case.number, "person": 1, "variable": "statistic", "value": "S"} in (
        delivery.errors
    )
    assert {
        "dossier": case.number,
        "person": 2,
        "variable": "residence_status",
        "value": "S",
    } in delivery.errors
    assert len(delivery.errors) == 3


def test_a_delivery_keeps_its_mapping_version_and_can_be_made_again(service, mapping):
    household(service, "B_FL", opened_on=d(2026, 2, 1))
    first = shs.deliver(service, NOV)
    assert first.mapping == mapping
    assert rows(first)[0]["statistic"] == "FLUE"
    entries = [
        (v, f, "FL-2" if (v, f) == ("statistic", "flue") else c) for v, f, c in demo_entries()
    ]
    second_version = fill_mapping("BE", entries)
    second = shs.deliver(service, NOV)  # the newest version by default
    assert second.mapping == second_version
    assert rows(second)[0]["statistic"] == "FL-2"
    again = shs.deliver(service, NOV, mapping)
    assert again.pk == first.pk
    assert again.content == first.content
    assert again.sha256 == first.sha256
    assert ShsDelivery.objects.filter(organisation=service, month=NOV).count() == 2


@pytest.mark.parametrize("text", ["2026-13", "11-2026", "2026/11", "abc", "", "2026-1"])
def test_a_malformed_month_is_refused_clearly(text):
    with translation.override("fr"), pytest.raises(shs.ShsError, match="AAAA-MM"):
        shs.parse_month(text, today=d(2026, 12, 3))
    with translation.override("de"), pytest.raises(shs.ShsError, match="JJJJ-MM"):
        shs.parse_month(text, today=d(2026, 12, 3))


@pytest.mark.parametrize("text", ["2026-12", "2027-01"])
def test_a_month_that_has_not_ended_is_refused(text):
    with translation.override("fr"), pytest.raises(shs.ShsError, match="pas encore terminé"):
        shs.parse_month(text, today=d(2026, 12, 3))


def test_the_last_day_of_a_month_is_not_yet_the_end():
    with pytest.raises(shs.ShsError):
        shs.parse_month("2026-11", today=d(2026, 11, 30))
    assert shs.parse_month("2026-11", today=d(2026, 12, 1)) == NOV


@pytest.mark.parametrize("month", ["2026-13", "3000-01", "bad"])
def test_the_command_writes_nothing_on_bad_input(service, mapping, month):
    household(service, "C", opened_on=d(2026, 2, 1))
    with pytest.raises(CommandError):
        call_command("shs_delivery", month=month, stdout=io.StringIO())
    assert not ShsDelivery.objects.exists()


def test_a_canton_without_a_table_gets_a_clear_error_and_nothing(db):
    service = factories.OrganisationFactory(name="Service social Tessin", canton="TI")
    with pytest.raises(CommandError, match="TI"):
        call_command("shs_delivery", month="2026-10", organisation=service.pk)
    assert not ShsDelivery.objects.exists()


def test_the_command_makes_a_file_per_service(service, mapping):
    household(service, "C", opened_on=d(2026, 2, 1))
    other = factories.OrganisationFactory(name="Sozialdienst SHS-Test", canton="BE")
    household(other, "N", opened_on=d(2026, 2, 1))
    out = io.StringIO()
    call_command("shs_delivery", month="2026-11", stdout=out)
    assert ShsDelivery.objects.filter(month=NOV).count() == 2
    assert f"shs-2026-11-{service.pk}-v1.csv: 1 dossiers, 1 rows" in out.getvalue()


def test_the_scheduler_delivers_the_last_ended_month_once(service, mapping):
    household(service, "C", opened_on=d(2026, 2, 1))
    assert shs.due_month(d(2026, 12, 3)) == NOV
    assert shs.due_month(d(2027, 1, 1)) == d(2026, 12, 1)
    made = shs.deliver_due(d(2026, 12, 3))
    assert [(x.organisation_id, x.month) for x in made] == [(service.pk, NOV)]
    assert shs.deliver_due(d(2026, 12, 4)) == []


def test_the_section_head_downloads_and_the_export_is_logged(world, mapping):
    shs_case = household(world.service_org, "C", opened_on=d(2026, 2, 1))
    delivery = shs.deliver(world.service_org, NOV)
    url = reverse("shs_delivery_download", args=[delivery.pk])
    response = world.head.client().get(url)
    assert response.status_code == 200
    assert response.content.decode() == delivery.content
    logged = ReadLog.objects.filter(user=world.head.user, kind="export")
    assert set(logged.values_list("case_id", flat=True)) == set(delivery.case_ids)
    assert shs_case.pk in delivery.case_ids
    listing = world.head.client().get(reverse("shs_deliveries"))
    assert delivery.filename in listing.content.decode()
    # a worker may not; another service's section head does not see it (the same 404)
    assert world.worker.client().get(url).status_code == 404
    other = factories.MembershipFactory(organisation=world.outsider_org, role="section_head")
    client = factories_client(other.user)
    assert client.get(url).status_code == 404
    assert client.get(reverse("shs_delivery_download", args=[987654])).status_code == 404


def factories_client(user):
    from django.test import Client

    client = Client()
    client.force_login(user)
    return client


@translation.override("fr")
def test_the_mapping_table_is_read_line_by_line():
    entries, errors = parse_entries("statistic;wsh;WSH\n\nsex;f;2\n")
    assert entries == [("statistic", "wsh", "WSH"), ("sex", "f", "2")]
    assert errors == []
    _entries, errors = parse_entries("statistic;wsh\nnope;a;b\nsex;f;\nsex;m;1\nsex;m;1")
    assert len(errors) == 4
    assert errors[0].startswith("Ligne 1")
    assert errors[1].startswith("Ligne 2")


def test_the_delivery_of_the_demo_data(db):
    """The demo seed makes a delivery for every social service of the last ended month, with
    a row per person of each unit and the unmapped status S reported."""
    from django.utils import timezone

    from filum.demo.seed import seed_demo
    from filum.tenancy.models import Organisation, OrganisationKind

    seed_demo()
    month = shs.due_month(timezone.localdate())
    services = Organisation.objects.filter(kind=OrganisationKind.SOCIAL_SERVICE)
    deliveries = ShsDelivery.objects.filter(month=month)
    assert deliveries.count() == services.count() == 4
    for delivery in deliveries:
        found = rows(delivery)
        assert delivery.rows == len(found) > 0
        in_scope = shs.in_scope(delivery.organisation, month)
        assert delivery.dossiers == in_scope.count()
        assert {int(r["dossier"]) for r in found} == set(in_scope.values_list("number", flat=True))
        for case in in_scope.select_related("assistance_unit"):
            members = case.assistance_unit.members.count() if case.assistance_unit else 1
            assert sum(r["dossier"] == str(case.number) for r in found) == max(members, 1)
    errors = [e for dl in deliveries for e in dl.errors]
    assert errors
    assert {e["value"] for e in errors if e["variable"] == "residence_status"} == {"S"}
    assert Case.objects.filter(client__residence_status="S", domain__in=shs.SHS_DOMAINS).exists()


def test_the_scheduler_skips_a_canton_without_a_table_and_says_so(db, caplog):
    factories.OrganisationFactory(name="Service social Tessin", canton="TI")
    assert shs.deliver_due(d(2026, 12, 3)) == []
    assert "Service social Tessin skipped" in caplog.text
    assert not ShsDelivery.objects.exists()
