"""The monthly delivery of the modernised federal social assistance statistics (SHS, D6).

Facts followed (domain.md section 3): a dossier is one assistance unit; the applicant's status
decides which statistic the whole unit falls under (WSH ordinary social assistance,
SH-FlüStat refugees, SH-AsylStat asylum); a dossier is closed for the statistic 6 months after
the last payment. Filum has no payments yet: the legal closure date stands in for the last
payment (decision 0035). The BFS code lists and message schema are not known here: every coded
value goes through the canton's versioned mapping table (``ShsMappingVersion``); a value the
table does not know is marked in the file and listed as an error, never dropped.
"""

from __future__ import annotations

import calendar
import csv
import datetime
import hashlib
import io
import logging
import re
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from filum.cases.models import Case, Domain
from filum.dates import add_months
from filum.people.models import RelationToHead, UnitMember
from filum.steering.models import ShsDelivery, ShsMappingEntry, ShsMappingVersion
from filum.tenancy.models import Organisation, OrganisationKind

logger = logging.getLogger(__name__)

# The dossier domains that are social assistance in the sense of the SHS.
SHS_DOMAINS = (Domain.ECONOMIC_AID, Domain.ASYLUM_AID)
# Statistical closure: this many months after the last payment (domain.md section 3).
CLOSURE_MONTHS = 6
# SH-FlüStat: recognised refugees (B) for less than 5 years since the asylum application;
# provisionally admitted refugees (F) and SH-AsylStat: provisionally admitted persons for up to
# 7 years' residence. The arrival date stands in for both dates (decision 0035).
REFUGEE_B_YEARS = 5
ADMITTED_YEARS = 7


class Statistic:
    WSH = "wsh"
    REFUGEES = "flue"
    ASYLUM = "asyl"


# The delivery's columns. Coded ones (in MAPPED) go through the mapping table.
COLUMNS = (
    "month",
    "canton",
    "service",
    "dossier",
    "statistic",
    "opened_on",
    "legal_closed_on",
    "statistical_closure_on",
    "closure_reason",
    "person",
    "person_id",
    "relation",
    "sex",
    "birth_year",
    "nationality",
    "residence_status",
)
MAPPED = ("statistic", "closure_reason", "relation", "sex", "residence_status")
UNMAPPED_MARK = "UNMAPPED:"
UNDECIDED = "UNDECIDED"
MONTH_PATTERN = re.compile(r"^(\d{4})-(\d{2})$")


class ShsError(Exception):
    """A delivery that cannot be made; the message is for the person who asked."""


def parse_month(text: str, *, today: datetime.date) -> datetime.date:
    """The first day of the month written ``YYYY-MM``; only a month that has ended."""
    match = MONTH_PATTERN.match(text.strip())
    if not match or not 1 <= int(match.group(2)) <= 12:  # noqa: PLR2004
        raise ShsError(_("The month must be written YYYY-MM, for example 2026-11."))
    month = datetime.date(int(match.group(1)), int(match.group(2)), 1)
    if month_end(month) >= today:
        raise ShsError(
            _("The month %(month)s has not ended yet: it can be delivered from %(day)s on.")
            % {"month": f"{month:%Y-%m}", "day": f"{add_months(month, 1):%d.%m.%Y}"}
        )
    return month


def month_end(month: datetime.date) -> datetime.date:
    return month.replace(day=calendar.monthrange(month.year, month.month)[1])


def statistical_closure(last_payment: datetime.date) -> datetime.date:
    """The day a dossier leaves the statistic: 6 months after its last payment."""
    return add_months(last_payment, CLOSURE_MONTHS)


def full_years(start: datetime.date, end: datetime.date) -> int:
    return end.year - start.year - ((end.month, end.day) < (start.month, start.day))


def statistic_of(
    status: str, nationality: str, arrival: datetime.date | None, on: datetime.date
) -> str | None:
    """The statistic an applicant's status puts the whole assistance unit in on a day, or
    None when Filum cannot decide it (reported as an error)."""
    if status == "N":
        return Statistic.ASYLUM
    if status in ("F", "F_FL", "B_FL"):
        if arrival is None:
            return None
        years = full_years(arrival, on)
        if status == "B_FL":
            return Statistic.REFUGEES if years < REFUGEE_B_YEARS else Statistic.WSH
        if years < ADMITTED_YEARS:
            return Statistic.REFUGEES if status == "F_FL" else Statistic.ASYLUM
        return Statistic.WSH
    if status in ("swiss", "C", "B", "L", "G", "other"):
        return Statistic.WSH
    if status == "" and nationality == "CH":
        return Statistic.WSH
    return None  # no status recorded, or S (protection status): no rule in domain.md


@dataclass
class Mapping:
    version: ShsMappingVersion | None  # None: an empty table (the bench without one)
    codes: dict[tuple[str, str], str]

    @classmethod
    def load(cls, version: ShsMappingVersion) -> Mapping:
        entries = ShsMappingEntry.objects.filter(version=version).values_list(
            "variable", "filum_value", "shs_code"
        )
        return cls(version, {(var, value): code for var, value, code in entries})


def current_mapping(canton: str) -> ShsMappingVersion:
    version = ShsMappingVersion.objects.filter(canton=canton).order_by("-number").first()
    if version is None:
        raise ShsError(
            _("Canton %(canton)s has no SHS mapping table yet: it must be filled in first.")
            % {"canton": canton}
        )
    return version


@dataclass
class Built:
    content: str
    dossiers: int
    rows: int
    errors: list[dict[str, Any]] = field(default_factory=list)
    case_ids: list[Any] = field(default_factory=list)


_RELATION_ORDER = {value: i for i, value in enumerate(RelationToHead.values)}


def in_scope(organisation: Organisation, month: datetime.date) -> Any:
    """The service's social assistance dossiers counted in the month: opened by its end and
    not statistically closed before it began."""
    start, end = month, month_end(month)
    return Case.objects.filter(
        owner=organisation, domain__in=SHS_DOMAINS, opened_on__lte=end
    ).filter(Q(closed_on__isnull=True) | Q(closed_on__gte=add_months(start, -CLOSURE_MONTHS)))


def build(organisation: Organisation, month: datetime.date, mapping: Mapping) -> Built:
    """The delivery file of one service for one month (two queries)."""
    end = month_end(month)
    cases = list(
        in_scope(organisation, month)
        .order_by("number")
        .values(
            "pk",
            "number",
            "opened_on",
            "closed_on",
            "closure_reason",
            "assistance_unit_id",
            "client_id",
            "client__sex",
            "client__birth_date",
            "client__nationality",
            "client__residence_status",
            "client__arrival_date",
        )
    )
    members: dict[Any, list[dict[str, Any]]] = defaultdict(list)
    units = [c["assistance_unit_id"] for c in cases if c["assistance_unit_id"]]
    for m in UnitMember.objects.filter(unit_id__in=units).values(
        "unit_id",
        "relation",
        "person_id",
        "person__sex",
        "person__birth_date",
        "person__nationality",
        "person__residence_status",
        "person__arrival_date",
    ):
        members[m["unit_id"]].append(dict(m))
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\n")
    writer.writerow(COLUMNS)
    built = Built("", dossiers=len(cases), rows=0)
    for case in cases:
        persons = _persons(case, members.get(case["assistance_unit_id"], []))
        built.case_ids.append(case["pk"])
        for row in _rows(organisation, month, end, case, persons, mapping, built.errors):
            writer.writerow(row)
            built.rows += 1
    built.content = out.getvalue()
    return built


def _persons(case: dict[str, Any], members: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The unit's persons, the applicant first (the client when the unit names none)."""
    if not any(m["relation"] == RelationToHead.APPLICANT for m in members):
        client = {k.replace("client__", "person__"): v for k, v in case.items()}
        client |= {"relation": RelationToHead.APPLICANT, "person_id": case["client_id"]}
        members = [client, *(m for m in members if m["person_id"] != case["client_id"])]
    return sorted(
        members,
        key=lambda m: (
            _RELATION_ORDER.get(m["relation"], 99),
            m["person__birth_date"] or datetime.date.min,
            str(m["person_id"]),
        ),
    )


def _rows(
    organisation: Organisation,
    month: datetime.date,
    end: datetime.date,
    case: dict[str, Any],
    persons: list[dict[str, Any]],
    mapping: Mapping,
    errors: list[dict[str, Any]],
) -> list[list[str]]:
    number = case["number"]

    def code(variable: str, value: str, person: int) -> str:
        found = mapping.codes.get((variable, value))
        if found is not None:
            return found
        errors.append({"dossier": number, "person": person, "variable": variable, "value": value})
        return f"{UNMAPPED_MARK}{value}"

    applicant = persons[0]
    statistic = statistic_of(
        applicant["person__residence_status"],
        applicant["person__nationality"],
        applicant["person__arrival_date"],
        end,
    )
    closed_on = case["closed_on"] if case["closed_on"] and case["closed_on"] <= end else None
    closure = statistical_closure(closed_on) if closed_on else None
    closes_now = closure is not None and closure <= end
    rows: list[list[str]] = []
    for index, person in enumerate(persons, start=1):
        if statistic is None:
            if index == 1:
                errors.append(
                    {
                        "dossier": number,
                        "person": 1,
                        "variable": "statistic",
                        "value": applicant["person__residence_status"],
                    }
                )
            stat_cell = UNDECIDED
        else:
            stat_cell = code("statistic", statistic, index) if index == 1 else rows[0][4]
        reason = ""
        if closes_now and statistic == Statistic.WSH:
            reason = code("closure_reason", case["closure_reason"], index) if index == 1 else ""
        birth = person["person__birth_date"]
        rows.append(
            [
                f"{month:%Y-%m}",
                organisation.canton,
                str(organisation.pk),
                str(number),
                stat_cell,
                case["opened_on"].isoformat(),
                closed_on.isoformat() if closed_on else "",
                closure.isoformat() if closes_now and closure else "",
                reason,
                str(index),
                str(person["person_id"]),
                code("relation", person["relation"], index),
                code("sex", person["person__sex"], index),
                str(birth.year) if birth else "",
                person["person__nationality"],
                code("residence_status", person["person__residence_status"], index),
            ]
        )
    return rows


def deliver(
    organisation: Organisation, month: datetime.date, version: ShsMappingVersion | None = None
) -> ShsDelivery:
    """Make (or make again) the service's delivery for the month, in one transaction."""
    version = version or current_mapping(organisation.canton)
    if version.canton != organisation.canton:
        raise ShsError(_("This mapping version belongs to another canton."))
    built = build(organisation, month, Mapping.load(version))
    with transaction.atomic():
        delivery, _created = ShsDelivery.objects.update_or_create(
            organisation=organisation,
            month=month,
            mapping=version,
            defaults={
                "content": built.content,
                "sha256": hashlib.sha256(built.content.encode()).hexdigest(),
                "dossiers": built.dossiers,
                "rows": built.rows,
                "errors": built.errors,
                "case_ids": built.case_ids,
            },
        )
    return delivery


def services() -> Any:
    return Organisation.objects.filter(kind=OrganisationKind.SOCIAL_SERVICE, is_active=True)


def due_month(today: datetime.date) -> datetime.date:
    """The month the scheduler delivers: the last one that has ended."""
    return add_months(today.replace(day=1), -1)


def deliver_due(today: datetime.date) -> list[ShsDelivery]:
    """The scheduler's run: the last ended month for every service that has no delivery of it
    yet (a service whose canton has no mapping table yet is skipped)."""
    month = due_month(today)
    done = set(ShsDelivery.objects.filter(month=month).values_list("organisation_id", flat=True))
    made = []
    for organisation in services().exclude(pk__in=done).order_by("pk"):
        try:
            made.append(deliver(organisation, month))
        except ShsError as exc:  # no table for the canton yet: said in the log, tried again
            logger.warning("SHS delivery %s of %s skipped: %s", f"{month:%Y-%m}", organisation, exc)
    return made
