"""Integration in the demo (issue 8): the canton's provider catalogue, a recognised refugee's
five years, a provisionally admitted family's first years and a young woman whose education
milestone is at risk, each with a plan, measures and assessments, plans of the other asylum
dossiers (bookings, a full course with its waiting list), and CII cases with the invalidity
and unemployment insurance as partners.

Everything is written through the domain services (catalogue, plans, booking, assessments,
CII), as the people who do it: the canton's integration officer keeps the catalogue, the
dossier's worker the plan and the assessments. Two things the services refuse on purpose
are written directly, and marked so: the bookings of measures that ran in the past (a place
in a period that has ended cannot be booked any more) and the dates on which goals were
reached (a goal's new status is dated today). See docs/decisions/0024.

Dates are relative to the day of the seed, so the stories stay in their year five, four and
five whenever the demo is loaded. The texts are in the language of the dossier's organisation.
"""

from __future__ import annotations

import datetime
import random
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from filum.assessments import services as assessment_services
from filum.assessments.models import Assessment, TemplateVersion
from filum.cases import services as case_services
from filum.cases.models import Case, Domain, Stage
from filum.cii import services as cii_services
from filum.cii.models import Body
from filum.demo.seed import LATEST_BIRTH
from filum.demo.seed import org_key as org_key_of
from filum.people.models import AssistanceUnit, Person, RelationToHead, UnitMember
from filum.plans import booking as plan_booking
from filum.plans import catalogue as plan_catalogue
from filum.plans import services as plan_services
from filum.plans.models import (
    Booking,
    BookingStatus,
    Category,
    GoalStatus,
    Measure,
    MeasureStatus,
    Period,
    Plan,
    PlanGoal,
    PlanTemplate,
    Programme,
    ProviderKind,
)
from filum.tenancy.policy import Actor

CANTON = "BE"
PLAN_TEMPLATE = "Integrationsplan AIS / Plan d'intégration AIS"
PLAN_TEMPLATE_GOALS = [
    "assessment",
    "orientation",
    "employability",
    "labour_market",
    "client_agreement",
    "coordination",
]
PLAN_TEMPLATE_CATEGORIES = [
    Category.LANGUAGE_COURSE,
    Category.JOB_COACHING,
    Category.WORK_PLACEMENT,
    Category.TRAINING,
]


@dataclass(frozen=True)
class ProgrammeSpec:
    name: str
    category: str
    cost: int  # CHF per place
    places: int
    weeks: int
    description: str = ""


@dataclass(frozen=True)
class ProviderSpec:
    name: str
    kind: str
    address: str
    phone: str
    programmes: tuple[ProgrammeSpec, ...]


# Canton Bern's catalogue in the demo: invented providers with realistic offers and prices
# (language courses CHF 900-2,800 per place and level, coaching CHF 2,000-4,500, pre-
# apprenticeships around CHF 14,000 a year). Places are those of one period.
CATALOGUE: tuple[ProviderSpec, ...] = (
    ProviderSpec(
        "Université populaire Bienne-Seeland",
        ProviderKind.SCHOOL,
        "Rue de la Gare 11, 2502 Biel/Bienne",
        "+41 32 322 11 40",
        (
            ProgrammeSpec("Français A1 intensif", Category.LANGUAGE_COURSE, 1450, 12, 16),
            ProgrammeSpec("Français A2", Category.LANGUAGE_COURSE, 1350, 12, 20),
            ProgrammeSpec(
                "Français B1 orienté emploi (fide)", Category.LANGUAGE_COURSE, 1680, 10, 24
            ),
        ),
    ),
    ProviderSpec(
        "Volkshochschule Bern-Mittelland",
        ProviderKind.SCHOOL,
        "Schwarztorstrasse 7, 3007 Bern",
        "+41 31 320 30 30",
        (
            ProgrammeSpec("Deutsch A1 intensiv", Category.LANGUAGE_COURSE, 1480, 14, 16),
            ProgrammeSpec("Deutsch A2", Category.LANGUAGE_COURSE, 1380, 14, 20),
            ProgrammeSpec(
                "Deutsch B1 mit fide-Vorbereitung", Category.LANGUAGE_COURSE, 1720, 12, 24
            ),
        ),
    ),
    ProviderSpec(
        "Sprachschule Aare Thun",
        ProviderKind.SCHOOL,
        "Bälliz 42, 3600 Thun",
        "+41 33 222 45 10",
        (
            ProgrammeSpec("Deutsch A1 mit Kinderbetreuung", Category.LANGUAGE_COURSE, 1950, 8, 20),
            ProgrammeSpec("Deutsch A2 Abendkurs", Category.LANGUAGE_COURSE, 1180, 14, 24),
        ),
    ),
    ProviderSpec(
        "Alpha Seeland – lire et écrire",
        ProviderKind.ASSOCIATION,
        "Rue Centrale 63, 2502 Biel/Bienne",
        "+41 32 341 77 02",
        (
            ProgrammeSpec("Alphabétisation en français", Category.LANGUAGE_COURSE, 900, 8, 30),
            ProgrammeSpec("Alphabetisierung Deutsch", Category.LANGUAGE_COURSE, 900, 8, 30),
        ),
    ),
    ProviderSpec(
        "Job Coaching Seeland",
        ProviderKind.COMPANY,
        "Aarbergstrasse 46, 2503 Biel/Bienne",
        "+41 32 365 20 20",
        (
            ProgrammeSpec("Coaching emploi individuel", Category.JOB_COACHING, 3800, 6, 26),
            ProgrammeSpec("Atelier candidatures et entretien", Category.JOB_COACHING, 950, 10, 6),
        ),
    ),
    ProviderSpec(
        "Integrationscoaching Bern",
        ProviderKind.ASSOCIATION,
        "Effingerstrasse 55, 3008 Bern",
        "+41 31 381 44 60",
        (
            ProgrammeSpec("Jobcoaching für Geflüchtete", Category.JOB_COACHING, 4200, 8, 26),
            ProgrammeSpec("Bewerbungswerkstatt", Category.JOB_COACHING, 880, 12, 6),
        ),
    ),
    ProviderSpec(
        "Arbeitsintegration Oberland",
        ProviderKind.ASSOCIATION,
        "Industriestrasse 12, 3604 Thun",
        "+41 33 334 56 00",
        (
            ProgrammeSpec("Einsatzprogramm Recycling", Category.WORK_PLACEMENT, 2400, 10, 26),
            ProgrammeSpec("Arbeitstraining Holzwerkstatt", Category.WORK_PLACEMENT, 2600, 8, 26),
        ),
    ),
    ProviderSpec(
        "Restaurant-école Le Tremplin",
        ProviderKind.ASSOCIATION,
        "Rue du Marché 8, 2610 Saint-Imier",
        "+41 32 941 12 80",
        (ProgrammeSpec("Stage en cuisine et service", Category.WORK_PLACEMENT, 2900, 6, 20),),
    ),
    ProviderSpec(
        "Croix-Rouge suisse, canton de Berne",
        ProviderKind.ASSOCIATION,
        "Rue du Breuil 3, 2502 Biel/Bienne",
        "+41 32 329 32 72",
        (
            ProgrammeSpec("Auxiliaire de santé CRS", Category.TRAINING, 2350, 16, 14),
            ProgrammeSpec("Pflegehelfer/in SRK", Category.TRAINING, 2350, 16, 14),
        ),
    ),
    ProviderSpec(
        "Centre de formation professionnelle Berne francophone",
        ProviderKind.PUBLIC,
        "Rue Baptiste-Savoye 33, 2610 Saint-Imier",
        "+41 32 942 43 44",
        (
            ProgrammeSpec(
                "Préapprentissage d'intégration santé-social",
                Category.TRAINING,
                14200,
                2,
                44,
                "Une année scolaire : deux jours d'école, trois jours en entreprise.",
            ),
        ),
    ),
    ProviderSpec(
        "Berufsfachschule Bern – Integrationsvorlehre",
        ProviderKind.PUBLIC,
        "Lorrainestrasse 5, 3013 Bern",
        "+41 31 335 91 11",
        (
            ProgrammeSpec(
                "Integrationsvorlehre Gastronomie",
                Category.TRAINING,
                13800,
                12,
                44,
                "Ein Schuljahr: zwei Tage Schule, drei Tage im Betrieb.",
            ),
            ProgrammeSpec(
                "Integrationsvorlehre Logistik",
                Category.TRAINING,
                13800,
                12,
                44,
                "Ein Schuljahr: zwei Tage Schule, drei Tage im Betrieb.",
            ),
        ),
    ),
    ProviderSpec(
        "Brückenangebote Thun",
        ProviderKind.PUBLIC,
        "Mönchstrasse 30, 3600 Thun",
        "+41 33 227 35 00",
        (
            ProgrammeSpec(
                "Berufsvorbereitendes Schuljahr Integration", Category.TRAINING, 9800, 16, 44
            ),
        ),
    ),
    ProviderSpec(
        "Mentoring Arbeit Bern",
        ProviderKind.ASSOCIATION,
        "Laupenstrasse 20, 3008 Bern",
        "+41 31 371 80 80",
        (ProgrammeSpec("Mentoring Berufseinstieg", Category.SOCIAL_INTEGRATION, 600, 20, 40),),
    ),
    ProviderSpec(
        "Femmes-Tische Bienne",
        ProviderKind.ASSOCIATION,
        "Rue du Contrôle 22, 2503 Biel/Bienne",
        "+41 32 322 05 55",
        (
            ProgrammeSpec(
                "Cercles de discussion pour parents", Category.SOCIAL_INTEGRATION, 250, 12, 12
            ),
        ),
    ),
    ProviderSpec(
        "Espace Emploi Jura bernois",
        ProviderKind.ASSOCIATION,
        "Grand-Rue 128, 2720 Tramelan",
        "+41 32 487 60 30",
        (
            ProgrammeSpec("Stage d'observation en entreprise", Category.WORK_PLACEMENT, 1200, 8, 8),
            ProgrammeSpec("Bilan de compétences", Category.JOB_COACHING, 1600, 6, 6),
        ),
    ),
    ProviderSpec(
        "Logistikzentrum Schönbühl Arbeitsintegration",
        ProviderKind.COMPANY,
        "Industriestrasse 3, 3322 Schönbühl",
        "+41 31 852 10 10",
        (
            ProgrammeSpec(
                "Arbeitseinsatz Lager und Logistik", Category.WORK_PLACEMENT, 2200, 10, 26
            ),
        ),
    ),
    ProviderSpec(
        "Transkulturelle Psychiatrie Bern",
        ProviderKind.PUBLIC,
        "Murtenstrasse 21, 3008 Bern",
        "+41 31 632 88 11",
        (ProgrammeSpec("Tagesstruktur und Stabilisierung", Category.HEALTH, 5400, 8, 26),),
    ),
    ProviderSpec(
        "Kinderbetreuung Integration Thun",
        ProviderKind.ASSOCIATION,
        "Frutigenstrasse 8, 3600 Thun",
        "+41 33 221 60 60",
        (
            ProgrammeSpec(
                "Kinderbetreuung während Kursen", Category.SOCIAL_INTEGRATION, 1100, 6, 20
            ),
        ),
    ),
)
# The period that is full with a waiting list: few places, everybody wants it.
FULL_PROGRAMME = "Préapprentissage d'intégration santé-social"


def _days(n: int) -> datetime.timedelta:
    return datetime.timedelta(days=n)


def _monday(day: datetime.date) -> datetime.date:
    return day - _days(day.weekday())


class Integration:
    """The integration demo on one ``SeedContext`` (see ``step_integration``)."""

    def __init__(self, ctx: Any) -> None:
        self.ctx = ctx
        self.today: datetime.date = ctx.today
        # its own stream: the demo's other data do not change with it
        self.rng = random.Random(ctx.seed * 1000 + 8)  # noqa: S311 (demo data)
        self.officer: Actor = ctx.actors["integration.canton"]
        self.programmes: dict[str, Programme] = {}
        self.template: PlanTemplate | None = None
        self.version = TemplateVersion.objects.filter(
            template__canton=CANTON, template__code="potential_assessment", status="published"
        ).latest("number")

    # --- the catalogue ----------------------------------------------------------------------

    def catalogue(self) -> None:
        for spec in CATALOGUE:
            provider = plan_catalogue.do_save_provider(
                actor=self.officer,
                provider=None,
                data={
                    "name": spec.name,
                    "kind": spec.kind,
                    "contact_name": "",
                    "email": "",
                    "phone": spec.phone,
                    "address": spec.address,
                    "is_active": True,
                },
            )
            for p in spec.programmes:
                programme = plan_catalogue.do_save_programme(
                    actor=self.officer,
                    programme=None,
                    data={
                        "provider": provider,
                        "name": p.name,
                        "category": p.category,
                        "description": p.description,
                        "is_active": True,
                        "cost_per_place": Decimal(p.cost),
                    },
                )
                self.programmes[p.name] = programme
                self.periods(programme, p)
        self.template = plan_catalogue.do_save_template(
            actor=self.officer,
            template=None,
            data={
                "name": PLAN_TEMPLATE,
                "goals": PLAN_TEMPLATE_GOALS,
                "categories": [str(c) for c in PLAN_TEMPLATE_CATEGORIES],
                "is_active": True,
            },
        )
        self.ctx.counts["catalogue programmes"] = len(self.programmes)

    def periods(self, programme: Programme, spec: ProgrammeSpec) -> None:
        """A period that ended, one running now and the next one."""
        length = _days(7 * spec.weeks - 3)
        running_since = _monday(
            self.today - _days(self.rng.randrange(14, 7 * spec.weeks // 2 + 15))
        )
        starts = [
            running_since - _days(7 * spec.weeks + 7 * self.rng.randrange(2, 10)),
            running_since,
            running_since + length + _days(7 * self.rng.randrange(2, 8)),
        ]
        for start in starts:
            plan_catalogue.do_save_period(
                actor=self.officer,
                programme=programme,
                period=None,
                data={
                    "starts_on": start,
                    "ends_on": start + length,
                    "places": spec.places,
                    "note": "",
                },
            )

    def period_for(self, name: str, *, starts: datetime.date, weeks: int) -> Period:
        """A period of the programme from ``starts`` (made when the catalogue lacks it)."""
        programme = self.programmes[name]
        found = programme.periods.filter(starts_on=starts).first()
        if found is not None:
            return found
        period, _moved = plan_catalogue.do_save_period(
            actor=self.officer,
            programme=programme,
            period=None,
            data={
                "starts_on": starts,
                "ends_on": starts + _days(7 * weeks - 3),
                "places": Period.objects.filter(programme=programme)
                .values_list("places", flat=True)
                .first()
                or 10,
                "note": "",
            },
        )
        return period

    def next_period(self, name: str) -> Period:
        return Period.objects.filter(
            programme=self.programmes[name], starts_on__gt=self.today
        ).order_by("starts_on").first() or Period.objects.filter(
            programme=self.programmes[name]
        ).latest("starts_on")

    def current_period(self, name: str) -> Period:
        return Period.objects.filter(
            programme=self.programmes[name],
            starts_on__lte=self.today,
            ends_on__gte=self.today,
        ).order_by("starts_on").first() or self.next_period(name)

    # --- persons and dossiers ---------------------------------------------------------------

    def person(self, actor: Actor, **values: Any) -> Person:
        spec = self.ctx.org_specs[org_key_of(self.ctx, actor.organisation_id)]
        commune = spec.communes[0]
        from filum.demo.seed import COMMUNE_BY_BFS

        place = COMMUNE_BY_BFS[commune]
        defaults = {
            "registered_by_id": actor.organisation_id,
            "postal_code": place.postal_code,
            "city": place.name,
        }
        person = Person.objects.create(**(defaults | values))
        self.ctx.counts["persons"] += 1
        return person

    def dossier(
        self,
        actor: Actor,
        client: Person,
        opened_on: datetime.date,
        *,
        domain: str = Domain.ASYLUM_AID,
        unit: AssistanceUnit | None = None,
    ) -> Case:
        from filum.demo.seed import title_for

        language = self.ctx.org_specs[org_key_of(self.ctx, actor.organisation_id)].language
        case = case_services.do_open_case(
            actor=actor,
            client=client,
            domain=domain,
            opened_on=opened_on,
            responsible=actor.user,
            assistance_unit=unit,
            title=title_for(domain, language),
        )
        Case.objects.filter(pk=case.pk).update(stage=Stage.COUNSELLING)
        case.stage = Stage.COUNSELLING
        self.ctx.cases.append(case)
        return case

    # --- plans ------------------------------------------------------------------------------

    def plan(self, actor: Actor, case: Case, goals: list[str]) -> Plan:
        plan = plan_services.do_create_plan(actor=actor, case=case, template=self.template)
        have = set(plan.goals.values_list("key", flat=True))
        for key in goals:
            if key not in have:
                plan_services.do_add_goal(
                    actor=actor, plan=plan, key=key, target_date=None, note=""
                )
        # the plan was made a few weeks after the opening (the services date it today)
        Plan.objects.filter(pk=plan.pk).update(
            created_at=datetime.datetime.combine(
                case.opened_on + _days(21), datetime.time(10), tzinfo=datetime.UTC
            )
        )
        PlanGoal.objects.filter(plan=plan).update(status_on=case.opened_on + _days(21))
        return plan

    def goals(self, plan: Plan, *keys: str) -> list[PlanGoal]:
        by_key = {g.key: g for g in PlanGoal.objects.filter(plan=plan)}
        return [by_key[k] for k in keys]

    def set_goal(
        self, actor: Actor, plan: Plan, key: str, status: str, on: datetime.date, note: str = ""
    ) -> None:
        goal = PlanGoal.objects.get(plan=plan, key=key)
        plan_services.do_update_goal(
            actor=actor,
            goal=goal,
            version=goal.version,
            status=status,
            target_date=goal.target_date,
            note=note,
        )
        # reached on that day, not on the day the demo was loaded
        PlanGoal.objects.filter(pk=goal.pk).update(status_on=on)

    def measure(
        self,
        actor: Actor,
        plan: Plan,
        title: str,
        category: str,
        goals: list[PlanGoal],
        *,
        programme: str | None = None,
        provider_name: str = "",
        start: datetime.date,
        end: datetime.date,
        status: str,
        result: str = "",
        abort_reason: str = "",
        actual_end: datetime.date | None = None,
        conduct: str = "",
        client_view: str = "",
        person: Person | None = None,
    ) -> Measure:
        started = status in (MeasureStatus.RUNNING, MeasureStatus.COMPLETED) or (
            status == MeasureStatus.ABORTED and start <= self.today
        )
        closed = status in (MeasureStatus.COMPLETED, MeasureStatus.ABORTED)
        data = plan_services.MeasureData(
            title=title,
            category=category,
            goals=goals,
            programme=self.programmes[programme] if programme else None,
            provider_name=provider_name,
            planned_start=start,
            planned_end=end,
            actual_start=start if started else None,
            actual_end=(actual_end or end) if closed and started else None,
            status=status,
            abort_reason=abort_reason,
            result=result,
            conduct_note=conduct,
            client_view=client_view,
            person=person,
        )
        measure = plan_services.do_create_measure(actor=actor, plan=plan, data=data)
        self.ctx.counts["measures"] += 1
        return measure

    def past_booking(self, actor: Actor, measure: Measure, weeks: int) -> None:
        """The place a measure of the past held: booked directly, since the booking service
        refuses periods that have ended (they are closed for new bookings)."""
        if measure.programme is None or measure.planned_start is None:
            raise ValueError("a past booking needs the measure's programme and start")
        period = self.period_for(measure.programme.name, starts=measure.planned_start, weeks=weeks)
        queued = datetime.datetime.combine(
            measure.planned_start - _days(30), datetime.time(9), tzinfo=datetime.UTC
        )
        aborted = measure.status == MeasureStatus.ABORTED
        end = measure.actual_end or measure.planned_end or measure.planned_start
        Booking.objects.create(
            period=period,
            measure=measure,
            case_id=measure.case_id,
            owner_id=measure.owner_id,
            status=BookingStatus.CANCELLED if aborted else BookingStatus.PLACED,
            queued_at=queued,
            placed_at=queued,
            cancelled_at=(
                datetime.datetime.combine(end, datetime.time(16), tzinfo=datetime.UTC)
                if aborted
                else None
            ),
            booked_by=actor.user,
            booked_by_org_id=actor.organisation_id,
        )

    def book(self, actor: Actor, measure: Measure, period: Period) -> Booking:
        booking = plan_booking.do_book_measure(actor=actor, measure=measure, period=period)
        self.ctx.counts["bookings"] += 1
        return booking

    # --- assessments ------------------------------------------------------------------------

    def assessment(
        self,
        actor: Actor,
        case: Case,
        person: Person,
        on: datetime.date,
        answers: dict[str, Any],
        *,
        final: bool = True,
    ) -> Assessment:
        assessment = assessment_services.do_start_assessment(
            actor=actor, case=case, person=person, version=self.version, assessed_on=on
        )
        if final:
            assessment_services.do_finalise(
                actor=actor, assessment=assessment, answers=answers, assessed_on=on, revision=1
            )
        else:
            assessment_services.do_save_draft(
                assessment=assessment, answers=answers, assessed_on=on, revision=1
            )
        self.ctx.counts["assessments"] += 1
        return assessment


def situations(
    it: Integration, actor: Actor, case: Case, person: Person, *entries: tuple[str, str, Any]
) -> None:
    """A person's situation changes for the timeline (decision 0021): (kind, value, from)."""
    for kind, value, on in entries:
        plan_services.do_record_situation(
            actor=actor, case=case, person=person, kind=kind, value=value, on=on
        )
        it.ctx.counts["situation entries"] += 1


def levels(*rows: tuple[str, str, str]) -> list[dict[str, str]]:
    return [{"language": lang, "oral": oral, "written": written} for lang, oral, written in rows]


# --- the stories ---------------------------------------------------------------------------

# Unique names (no name pool holds them): tests and the user guide find the stories by them.
REFUGEE = ("Weldemariam", "Senait")
FAMILY = ("Hotaki", ("Farid", "Mariam", "Omid", "Sahar"))
YOUNG = ("Warsame", "Hodan")


def refugee_story(it: Integration) -> Case:
    """Senait Weldemariam, from Eritrea, recognised refugee (B), arrived in Switzerland four
    years and ten months ago: her French from pre-A1 to B1, a job coaching she broke off when
    her daughter fell ill, a work placement and the Red Cross care assistant course, and the
    pre-apprenticeship she waits for."""
    ctx, today = it.ctx, it.today
    actor = ctx.actors["as.bienne"]
    arrival = today - _days(5 * 365 - 60)
    person = it.person(
        actor,
        last_name=REFUGEE[0],
        first_name=REFUGEE[1],
        sex="f",
        birth_date=datetime.date(today.year - 31, 3, 14),
        nationality="ER",
        residence_status="B_FL",
        arrival_date=arrival,
        languages="ti, fr",
        street="Rue du Moulin 14",
        phone="+41 78 614 22 90",
    )
    opened = arrival + _days(112)  # after the federal asylum centre, the canton takes over
    case = it.dossier(actor, person, opened)
    plan = it.plan(
        actor,
        case,
        ["assessment", "orientation", "employability", "labour_market", "client_agreement"],
    )
    g = {goal.key: goal for goal in PlanGoal.objects.filter(plan=plan)}

    def start(months: float) -> datetime.date:
        return _monday(opened + _days(int(30.4 * months)))

    fr = "Français"
    m1 = it.measure(
        actor,
        plan,
        f"{fr} A1 intensif",
        Category.LANGUAGE_COURSE,
        [g["employability"]],
        programme=f"{fr} A1 intensif",
        start=start(1),
        end=start(1) + _days(7 * 16 - 3),
        status=MeasureStatus.COMPLETED,
        result="certificate",
        conduct="Très assidue, aucune absence. Attestation A1 oral obtenue ; l'écrit reste "
        "difficile (peu de scolarité en tigrinya).",
        client_view="Contente de pouvoir faire ses courses et parler avec la voisine.",
    )
    it.past_booking(actor, m1, 16)
    m2 = it.measure(
        actor,
        plan,
        f"{fr} A2",
        Category.LANGUAGE_COURSE,
        [g["employability"]],
        programme=f"{fr} A2",
        start=start(7),
        end=start(7) + _days(7 * 20 - 3),
        status=MeasureStatus.COMPLETED,
        result="reached",
        conduct="Progrès réguliers ; test de fin de cours A2 oral réussi, écrit A1.",
        client_view="Trouve le rythme soutenu avec sa fille à la crèche, mais veut continuer.",
    )
    it.past_booking(actor, m2, 20)
    m3 = it.measure(
        actor,
        plan,
        "Coaching emploi individuel",
        Category.JOB_COACHING,
        [g["orientation"], g["labour_market"]],
        programme="Coaching emploi individuel",
        start=start(15),
        end=start(15) + _days(7 * 26 - 3),
        status=MeasureStatus.ABORTED,
        abort_reason="health",
        result="not_reached",
        actual_end=start(15) + _days(63),
        conduct="Interrompu après neuf semaines : la fille de Mme Weldemariam a été "
        "hospitalisée, elle n'était plus disponible.",
        client_view="Regrette l'interruption ; souhaite reprendre plus tard.",
    )
    it.past_booking(actor, m3, 26)
    m4 = it.measure(
        actor,
        plan,
        "Stage d'observation en EMS",
        Category.WORK_PLACEMENT,
        [g["orientation"]],
        programme="Stage d'observation en entreprise",
        start=start(22),
        end=start(22) + _days(53),
        status=MeasureStatus.COMPLETED,
        result="reached",
        conduct="Stage de huit semaines au home La Lisière : retours très positifs de "
        "l'équipe soignante, ponctuelle et attentive aux résidents.",
        client_view="A trouvé sa voie : veut travailler dans les soins.",
    )
    it.past_booking(actor, m4, 8)
    m5 = it.measure(
        actor,
        plan,
        "Auxiliaire de santé CRS",
        Category.TRAINING,
        [g["employability"], g["orientation"]],
        programme="Auxiliaire de santé CRS",
        start=start(30),
        end=start(30) + _days(7 * 14 - 3),
        status=MeasureStatus.COMPLETED,
        result="certificate",
        conduct="Certificat CRS obtenu, stage pratique de 12 jours réussi.",
        client_view="Fière du certificat ; cherche un emploi à temps partiel dans un EMS.",
    )
    it.past_booking(actor, m5, 14)
    m6 = it.measure(
        actor,
        plan,
        f"{fr} B1 orienté emploi (fide)",
        Category.LANGUAGE_COURSE,
        [g["employability"], g["labour_market"]],
        programme=f"{fr} B1 orienté emploi (fide)",
        start=start(50),
        end=start(50) + _days(7 * 24 - 3),
        status=MeasureStatus.RUNNING,
        conduct="Suit le cours deux soirs par semaine à côté de son travail d'auxiliaire.",
    )
    it.past_booking(actor, m6, 24)
    # the next step: the pre-apprenticeship, whose next year is full: she waits for a place
    m7 = it.measure(
        actor,
        plan,
        "Préapprentissage d'intégration santé-social",
        Category.TRAINING,
        [g["employability"], g["labour_market"]],
        start=it.next_period(FULL_PROGRAMME).starts_on,
        end=it.next_period(FULL_PROGRAMME).ends_on,
        status=MeasureStatus.PLANNED,
        provider_name="",
        programme=FULL_PROGRAMME,
    )
    it.measure(
        actor,
        plan,
        "Accueil extrascolaire de la fille",
        Category.SOCIAL_INTEGRATION,
        [g["employability"]],
        provider_name="Crèche municipale Bienne",
        start=start(6),
        end=today + _days(400),
        status=MeasureStatus.RUNNING,
        conduct="Place en crèche trois jours par semaine, condition pour les cours et le stage.",
    )
    # the goals reached on the way
    it.set_goal(actor, plan, "assessment", GoalStatus.REACHED, opened + _days(80))
    it.set_goal(
        actor,
        plan,
        "client_agreement",
        GoalStatus.REACHED,
        opened + _days(95),
        note="Objectifs discutés et signés avec la cliente et l'interprète.",
    )
    it.set_goal(actor, plan, "orientation", GoalStatus.REACHED, start(24))
    # the assessments: French from pre-A1 to B1 oral, Tigrinya first language
    base: dict[str, Any] = {
        "school_years": "6",
        "education_level": "primary",
        "diploma_recognition": "no_diploma",
        "first_language": "ti",
        "occupations": "Vente au marché d'Asmara, soins aux grands-parents.",
        "work_in_switzerland": False,
        "work_capacity": "full",
        "health_restrictions": False,
        "care_duties": True,
        "dependent_children": "1",
        "main_goal": "vocational_training",
        "driving_licence": False,
    }
    steps = [
        (
            50,
            "pre_a1",
            "pre_a1",
            "worker",
            "part_time",
            "medium",
            "medium",
            ["childcare", "literacy"],
            "low",
        ),
        (
            410,
            "a1",
            "pre_a1",
            "course",
            "part_time",
            "high",
            "medium",
            ["childcare", "literacy"],
            "low",
        ),
        (800, "a2", "a1", "course", "part_time", "high", "medium", ["childcare"], "medium"),
        (1250, "b1", "a2", "fide", "full_time", "high", "high", ["childcare"], "medium"),
    ]
    for days, oral, written, source, availability, motivation, potential, obstacles, net in steps:
        answers = base | {
            "language_levels": levels(
                ("fr", oral, written), ("ti", "c2", "b1"), ("en", "a2", "a1")
            ),
            "language_source": source,
            "availability": availability,
            "motivation": motivation,
            "potential": potential,
            "obstacles": obstacles,
            "social_network": net,
            "work_experience": "one_to_five",
        }
        if days > 900:
            answers["work_in_switzerland"] = True
            answers["goal_note"] = "Devenir assistante en soins et santé communautaire (ASSC)."
        it.assessment(actor, case, person, opened + _days(days), answers)
    # today's assessment, still a draft
    it.assessment(
        actor,
        case,
        person,
        today - _days(6),
        base
        | {
            "language_levels": levels(("fr", "b1", "b1"), ("ti", "c2", "b1")),
            "language_source": "course",
            "work_experience": "one_to_five",
            "work_in_switzerland": True,
        },
        final=False,
    )
    # her timeline: the refugee status from the arrival, the Red Cross course, then part-time
    # work as a care assistant in a nursing home (her A1 milestone is met)
    situations(
        it,
        actor,
        case,
        person,
        ("residence", "B_FL", arrival),
        ("education", "bridging", start(30)),
        ("work", "first_labour_market", start(34)),
    )
    # booked last: the pre-apprenticeship's next year is full, she goes on its waiting list
    it.book(actor, m7, it.next_period(FULL_PROGRAMME))
    return case


def family_story(it: Integration) -> Case:
    """The Hotaki family from Afghanistan, provisionally admitted (F) three years and two
    months ago, in Thun: German courses for both parents (the mother's with childcare), a
    work programme for the father, the integration pre-apprenticeship for the eldest son, who
    is 16 to 25 and aims at a post-compulsory education within five years."""
    ctx, today = it.ctx, it.today
    actor = ctx.actors["sa.thun"]
    arrival = today - _days(3 * 365 + 60)
    last, (father, mother, son, daughter) = FAMILY
    births = {
        father: datetime.date(today.year - 42, 6, 2),
        mother: datetime.date(today.year - 37, 1, 20),
        # the demo's persons are born by LATEST_BIRTH (the eldest is 18 in the seed's year)
        son: min(datetime.date(today.year - 18, 9, 9), LATEST_BIRTH),
        daughter: min(datetime.date(today.year - 15, 4, 30), LATEST_BIRTH),
    }
    sexes = {father: "m", mother: "f", son: "m", daughter: "f"}
    relations = {
        father: RelationToHead.APPLICANT,
        mother: RelationToHead.SPOUSE,
        son: RelationToHead.CHILD,
        daughter: RelationToHead.CHILD,
    }
    persons = {
        name: it.person(
            actor,
            last_name=last,
            first_name=name,
            sex=sexes[name],
            birth_date=births[name],
            nationality="AF",
            residence_status="F",
            arrival_date=arrival,
            languages="prs, fa",
            street="Frutigenstrasse 41",
            phone="+41 79 372 18 44" if name == father else "",
        )
        for name in births
    }
    unit = AssistanceUnit.objects.create(
        name=f"Haushalt {last} {father}", registered_by_id=actor.organisation_id
    )
    UnitMember.objects.bulk_create(
        [UnitMember(unit=unit, person=persons[n], relation=relations[n]) for n in persons]
    )
    opened = arrival + _days(45)
    case = it.dossier(actor, persons[father], opened, unit=unit)
    plan = it.plan(
        actor,
        case,
        ["assessment", "orientation", "employability", "labour_market", "coordination"],
    )
    g = {goal.key: goal for goal in PlanGoal.objects.filter(plan=plan)}

    def start(months: float) -> datetime.date:
        return _monday(opened + _days(int(30.4 * months)))

    m = it.measure(
        actor,
        plan,
        f"Deutsch A1 intensiv – {father}",
        Category.LANGUAGE_COURSE,
        [g["employability"]],
        programme="Deutsch A1 intensiv",
        start=start(2),
        end=start(2) + _days(7 * 16 - 3),
        status=MeasureStatus.COMPLETED,
        result="reached",
        conduct="Regelmässig anwesend, A1 mündlich erreicht.",
        client_view="Möchte schnell arbeiten, der Kurs sei ihm zu langsam.",
    )
    it.past_booking(actor, m, 16)
    m = it.measure(
        actor,
        plan,
        f"Deutsch A2 Abendkurs – {father}",
        Category.LANGUAGE_COURSE,
        [g["employability"]],
        programme="Deutsch A2 Abendkurs",
        start=start(9),
        end=start(9) + _days(7 * 24 - 3),
        status=MeasureStatus.COMPLETED,
        result="partly_reached",
        conduct="Wegen des Einsatzprogramms oft müde; A2 mündlich knapp, schriftlich A1.",
    )
    it.past_booking(actor, m, 24)
    m = it.measure(
        actor,
        plan,
        f"Einsatzprogramm Recycling – {father}",
        Category.WORK_PLACEMENT,
        [g["employability"], g["labour_market"]],
        programme="Einsatzprogramm Recycling",
        start=start(12),
        end=start(12) + _days(7 * 26 - 3),
        status=MeasureStatus.COMPLETED,
        result="reached",
        conduct="Zuverlässig, hilft neuen Teilnehmenden. Zeugnis liegt vor.",
        client_view="Froh, jeden Tag eine Arbeit zu haben.",
    )
    it.past_booking(actor, m, 26)
    it.measure(
        actor,
        plan,
        f"Arbeitseinsatz Lager und Logistik – {father}",
        Category.WORK_PLACEMENT,
        [g["labour_market"]],
        programme="Arbeitseinsatz Lager und Logistik",
        start=it.current_period("Arbeitseinsatz Lager und Logistik").starts_on,
        end=it.current_period("Arbeitseinsatz Lager und Logistik").ends_on,
        status=MeasureStatus.RUNNING,
        conduct="Staplerausweis im Einsatz erworben; Festanstellung wird geprüft.",
    )
    m = it.measure(
        actor,
        plan,
        f"Deutsch A1 mit Kinderbetreuung – {mother}",
        Category.LANGUAGE_COURSE,
        [g["employability"]],
        person=persons[mother],
        programme="Deutsch A1 mit Kinderbetreuung",
        start=start(4),
        end=start(4) + _days(7 * 20 - 3),
        status=MeasureStatus.COMPLETED,
        result="reached",
    )
    it.past_booking(actor, m, 20)
    mother_a2 = it.measure(
        actor,
        plan,
        f"Deutsch A2 – {mother}",
        Category.LANGUAGE_COURSE,
        [g["employability"]],
        person=persons[mother],
        start=it.next_period("Deutsch A2 Abendkurs").starts_on,
        end=it.next_period("Deutsch A2 Abendkurs").ends_on,
        status=MeasureStatus.PLANNED,
    )
    m = it.measure(
        actor,
        plan,
        f"Berufsvorbereitendes Schuljahr – {son}",
        Category.TRAINING,
        [g["orientation"]],
        person=persons[son],
        programme="Berufsvorbereitendes Schuljahr Integration",
        start=start(10),
        end=start(10) + _days(7 * 44 - 3),
        status=MeasureStatus.COMPLETED,
        result="training",
        conduct="Schnuppertage in Küche und Logistik; Lehrstelle als Koch in Aussicht.",
        client_view="Will Koch werden.",
    )
    it.past_booking(actor, m, 44)
    son_invol = it.measure(
        actor,
        plan,
        f"Integrationsvorlehre Gastronomie – {son}",
        Category.TRAINING,
        [g["orientation"], g["employability"]],
        person=persons[son],
        start=it.next_period("Integrationsvorlehre Gastronomie").starts_on,
        end=it.next_period("Integrationsvorlehre Gastronomie").ends_on,
        status=MeasureStatus.PLANNED,
    )
    it.set_goal(actor, plan, "assessment", GoalStatus.REACHED, opened + _days(70))
    # assessments: the father twice, the mother and the son once or twice
    family_base: dict[str, Any] = {
        "first_language": "prs",
        "work_capacity": "full",
        "care_duties": True,
        "main_goal": "labour_market",
    }
    it.assessment(
        actor,
        case,
        persons[father],
        opened + _days(40),
        family_base
        | {
            "school_years": "8",
            "education_level": "lower_secondary",
            "work_experience": "over_five",
            "occupations": "Bauarbeiter, Fahrer.",
            "language_levels": levels(
                ("de", "pre_a1", "pre_a1"), ("prs", "c2", "b2"), ("fa", "c1", "b1")
            ),
            "potential": "medium",
            "availability": "full_time",
            "dependent_children": "2",
        },
    )
    it.assessment(
        actor,
        case,
        persons[father],
        opened + _days(430),
        family_base
        | {
            "school_years": "8",
            "education_level": "lower_secondary",
            "work_experience": "over_five",
            "work_in_switzerland": True,
            "language_levels": levels(("de", "a2", "a1"), ("prs", "c2", "b2"), ("fa", "c1", "b1")),
            "potential": "high",
            "availability": "full_time",
            "dependent_children": "2",
            "language_source": "course",
        },
    )
    it.assessment(
        actor,
        case,
        persons[mother],
        opened + _days(60),
        family_base
        | {
            "school_years": "4",
            "education_level": "primary",
            "work_experience": "none",
            "language_levels": levels(("de", "pre_a1", "pre_a1"), ("prs", "c2", "a2")),
            "potential": "medium",
            "availability": "part_time",
            "main_goal": "language",
            "obstacles": ["childcare", "literacy"],
            "dependent_children": "2",
        },
    )
    it.assessment(
        actor,
        case,
        persons[son],
        opened + _days(60),
        family_base
        | {
            "school_years": "7",
            "education_level": "lower_secondary",
            "work_experience": "none",
            "care_duties": False,
            "main_goal": "vocational_training",
            "language_levels": levels(
                ("de", "pre_a1", "pre_a1"), ("prs", "c1", "b2"), ("en", "a2", "a2")
            ),
            "potential": "high",
        },
    )
    it.assessment(
        actor,
        case,
        persons[son],
        opened + _days(700),
        family_base
        | {
            "school_years": "9",
            "education_level": "lower_secondary",
            "work_experience": "none",
            "care_duties": False,
            "main_goal": "vocational_training",
            "language_levels": levels(("de", "b1", "a2"), ("prs", "c1", "b2"), ("en", "b1", "a2")),
            "potential": "high",
            "language_source": "course",
        },
    )
    it.book(actor, mother_a2, it.next_period("Deutsch A2 Abendkurs"))
    it.book(actor, son_invol, it.next_period("Integrationsvorlehre Gastronomie"))
    # their timelines: the father's work programme, the son's bridging year (his education
    # milestone falls due in the fifth year), the daughter at school
    situations(
        it,
        actor,
        case,
        persons[father],
        ("residence", "F", arrival),
        ("work", "second_labour_market", start(12)),
        ("work", "none", start(12) + _days(7 * 26)),
    )
    situations(it, actor, case, persons[son], ("education", "bridging", start(10)))
    situations(it, actor, case, persons[daughter], ("education", "compulsory", opened))
    return case


def young_story(it: Integration) -> Case:
    """Hodan Warsame, from Somalia, provisionally admitted (F) four years and three months ago
    at 15, now 19, in Bern: a German course (A2 at her second assessment, so her A1
    milestone is met), a bridging year now and a mentoring booked; her education milestone
    (16 to 25, five years after the arrival) falls due in about nine months and is *at risk*.
    An apprenticeship was recorded by mistake (a trial week only): the entry is marked as
    recorded in error and corrected (decision 0021)."""
    ctx, today = it.ctx, it.today
    actor = ctx.actors["sa.bern"]
    arrival = today - _days(4 * 365 + 91)
    person = it.person(
        actor,
        last_name=YOUNG[0],
        first_name=YOUNG[1],
        sex="f",
        birth_date=min(datetime.date(today.year - 19, 2, 11), LATEST_BIRTH),
        nationality="SO",
        residence_status="F",
        arrival_date=arrival,
        languages="so, de",
        street="Holligenstrasse 27",
    )
    opened = arrival + _days(60)
    case = it.dossier(actor, person, opened)
    plan = it.plan(actor, case, ["assessment", "orientation", "employability"])
    g = {goal.key: goal for goal in PlanGoal.objects.filter(plan=plan)}

    def start(months: float) -> datetime.date:
        return _monday(opened + _days(int(30.4 * months)))

    m = it.measure(
        actor,
        plan,
        "Deutsch A1 intensiv",
        Category.LANGUAGE_COURSE,
        [g["employability"]],
        programme="Deutsch A1 intensiv",
        start=start(2),
        end=start(2) + _days(7 * 16 - 3),
        status=MeasureStatus.COMPLETED,
        result="reached",
        conduct="Lernt schnell, A1 mündlich nach einem Kurs.",
    )
    it.past_booking(actor, m, 16)
    # the bridging year started four months ago: she is not yet in post-compulsory education
    bridging = _monday(today - _days(120))
    it.measure(
        actor,
        plan,
        "Berufsvorbereitendes Schuljahr",
        Category.TRAINING,
        [g["orientation"]],
        provider_name="BFF Bern, Brückenangebote",
        start=bridging,
        end=bridging + _days(7 * 44 - 3),
        status=MeasureStatus.RUNNING,
        conduct="Schnupperwoche als Fachfrau Gesundheit; noch keine Lehrstelle.",
        client_view="Möchte Fachfrau Gesundheit werden.",
    )
    mentoring = it.measure(
        actor,
        plan,
        "Mentoring Berufseinstieg",
        Category.SOCIAL_INTEGRATION,
        [g["orientation"]],
        programme="Mentoring Berufseinstieg",
        start=it.next_period("Mentoring Berufseinstieg").starts_on,
        end=it.next_period("Mentoring Berufseinstieg").ends_on,
        status=MeasureStatus.PLANNED,
    )
    it.book(actor, mentoring, it.next_period("Mentoring Berufseinstieg"))
    it.set_goal(actor, plan, "assessment", GoalStatus.REACHED, opened + _days(50))
    base: dict[str, Any] = {
        "first_language": "so",
        "school_years": "6",
        "education_level": "primary",
        "work_experience": "none",
        "work_capacity": "full",
        "care_duties": False,
        "main_goal": "vocational_training",
        "potential": "high",
    }
    it.assessment(
        actor,
        case,
        person,
        opened + _days(40),
        base | {"language_levels": levels(("de", "pre_a1", "pre_a1"), ("so", "c2", "b1"))},
    )
    it.assessment(
        actor,
        case,
        person,
        opened + _days(600),
        base
        | {
            "school_years": "8",
            "language_levels": levels(("de", "a2", "a2"), ("so", "c2", "b1")),
            "language_source": "course",
        },
    )
    situations(
        it,
        actor,
        case,
        person,
        ("residence", "F", arrival),
        ("education", "compulsory", opened),
    )
    # recorded in error (a trial week, no apprenticeship contract), then corrected: the
    # wrong entry stays struck through and no longer meets the milestone
    wrong = plan_services.do_record_situation(
        actor=actor,
        case=case,
        person=person,
        kind="education",
        value="post_compulsory",
        on=bridging,
        note="Lehre Fachfrau Gesundheit",
    )
    plan_services.do_mark_situation_in_error(
        actor=actor,
        case=case,
        entry=wrong,
        reason="Nur eine Schnupperwoche, kein Lehrvertrag: sie besucht das Brückenangebot.",
        correction=plan_services.SituationChange("education", "bridging", bridging),
    )
    ctx.counts["situation entries"] += 2
    return case


# Measures of the other asylum dossiers' plans: (title, programme, category, goal)
_OTHER_MEASURES = {
    "fr": (
        ("Français A1 intensif", Category.LANGUAGE_COURSE, "employability"),
        ("Français A2", Category.LANGUAGE_COURSE, "employability"),
        ("Alphabétisation en français", Category.LANGUAGE_COURSE, "employability"),
        ("Atelier candidatures et entretien", Category.JOB_COACHING, "labour_market"),
        ("Stage en cuisine et service", Category.WORK_PLACEMENT, "employability"),
        ("Cercles de discussion pour parents", Category.SOCIAL_INTEGRATION, "orientation"),
    ),
    "de": (
        ("Deutsch A1 intensiv", Category.LANGUAGE_COURSE, "employability"),
        ("Deutsch A2", Category.LANGUAGE_COURSE, "employability"),
        ("Alphabetisierung Deutsch", Category.LANGUAGE_COURSE, "employability"),
        ("Jobcoaching für Geflüchtete", Category.JOB_COACHING, "labour_market"),
        ("Einsatzprogramm Recycling", Category.WORK_PLACEMENT, "employability"),
        ("Mentoring Berufseinstieg", Category.SOCIAL_INTEGRATION, "orientation"),
    ),
}


def other_plans(it: Integration) -> None:
    """A plan with one to three measures for the other open asylum dossiers: a course that
    ended, one running, one booked for the next period; the pre-apprenticeship's next year
    fills up and its waiting list grows."""
    rng = it.rng
    cases = (
        Case.objects.filter(
            pk__in=[c.pk for c in it.ctx.cases],
            status="open",
            domain=Domain.ASYLUM_AID,
            stage=Stage.COUNSELLING,
        )
        .select_related("client")
        .order_by("opened_on", "number")
    )
    wanted = 0
    for case in cases:
        actor = next(a for a in it.ctx.actors.values() if a.user.pk == case.responsible_id)
        language = it.ctx.org_specs[org_key_of(it.ctx, case.owner_id)].language
        plan = it.plan(actor, case, ["assessment", "employability", "labour_market"])
        goals = {goal.key: goal for goal in PlanGoal.objects.filter(plan=plan)}
        offers = _OTHER_MEASURES["fr" if language == "fr" else "de"]
        picked = rng.sample(offers, rng.randrange(1, 4))
        for n, (name, category, goal) in enumerate(picked):
            goal_key = goal if goal in goals else "employability"
            if n == 0 and case.opened_on < it.today - _days(200):
                period = it.period_for(name, starts=_monday(case.opened_on + _days(30)), weeks=12)
                measure = it.measure(
                    actor,
                    plan,
                    name,
                    category,
                    [goals[goal_key]],
                    programme=name,
                    start=period.starts_on,
                    end=period.ends_on,
                    status=MeasureStatus.COMPLETED,
                    result=rng.choice(("reached", "reached", "partly_reached", "certificate")),
                )
                it.past_booking(actor, measure, 12)
                continue
            period = it.current_period(name) if n == 1 else it.next_period(name)
            running = n == 1 and period.starts_on <= it.today
            measure = it.measure(
                actor,
                plan,
                name,
                category,
                [goals[goal_key]],
                start=period.starts_on,
                end=period.ends_on,
                status=MeasureStatus.RUNNING if running else MeasureStatus.PLANNED,
                programme=None if not running else name,
            )
            if running:
                it.past_booking(actor, measure, 0)
            else:
                it.book(actor, measure, period)
        # a few of them want the pre-apprenticeship too: the first two take its next year's
        # places, the others wait
        wanted += language == "fr"
        if language == "fr" and (wanted <= 2 or rng.random() < 0.2):
            measure = it.measure(
                actor,
                plan,
                FULL_PROGRAMME,
                Category.TRAINING,
                [goals["employability"]],
                start=it.next_period(FULL_PROGRAMME).starts_on,
                end=it.next_period(FULL_PROGRAMME).ends_on,
                status=MeasureStatus.PLANNED,
            )
            it.book(actor, measure, it.next_period(FULL_PROGRAMME))
        # the first assessment, a few weeks after the opening
        local = "fr" if language == "fr" else "de"
        first = rng.choice(("pre_a1", "pre_a1", "a1", "a2"))
        it.assessment(
            actor,
            case,
            case.client,
            min(case.opened_on + _days(rng.randrange(20, 60)), it.today),
            {
                "school_years": str(rng.randrange(0, 13)),
                "education_level": rng.choice(
                    ("none", "primary", "lower_secondary", "upper_secondary")
                ),
                "work_experience": rng.choice(("none", "under_one", "one_to_five", "over_five")),
                "language_levels": levels((local, first, rng.choice(("pre_a1", first)))),
                "work_capacity": rng.choice(("full", "full", "over_half", "up_to_half")),
                "care_duties": rng.random() < 0.5,
                "main_goal": rng.choice(("labour_market", "language", "vocational_training")),
                "potential": rng.choice(("low", "medium", "medium", "high")),
            },
        )
        it.ctx.counts["plans"] += 1


# --- CII cases -----------------------------------------------------------------------------


@dataclass(frozen=True)
class CiiStory:
    login: str
    client: tuple[str, str, str, int]  # last name, first name, sex, age
    opened_days_ago: int
    partners: tuple[str, ...]  # "iv", "rav"
    coordinator: str  # a login
    profile: dict[str, Any]
    exit: tuple[int, str, list[str]] | None = None  # days ago, state, goals reached


CII_STORIES: tuple[CiiStory, ...] = (
    CiiStory(
        "as.bienne",
        ("Rochat", "Patrick", "m", 54),
        240,
        ("iv", "rav"),
        "as.bienne",
        {
            "health": "physical",
            "out_of_work": "2_4",
            "language_level": "first",
            "education": "vocational",
            "debts": True,
            "goals_aimed": ["clarification", "health", "employability"],
        },
    ),
    CiiStory(
        "as.bienne",
        ("Benhamou", "Yasmina", "f", 38),
        610,
        ("iv",),
        "iv.bern",
        {
            "health": "psychological",
            "out_of_work": "1_2",
            "language_level": "b2",
            "education": "compulsory",
            "debts": False,
            "goals_aimed": ["assessment", "health", "mobilisation"],
        },
        (35, "goals_reached", ["assessment", "mobilisation"]),
    ),
    CiiStory(
        "sa.thun",
        ("Zbinden", "Markus", "m", 47),
        540,
        ("iv",),
        "sa.thun",
        {
            "health": "both",
            "out_of_work": "over_4",
            "language_level": "first",
            "education": "vocational",
            "debts": True,
            "goals_aimed": ["clarification", "job_search", "labour_market"],
        },
        (60, "labour_market", ["clarification", "job_search", "labour_market"]),
    ),
    CiiStory(
        "as2.bienne",
        ("Krasniqi", "Arben", "m", 29),
        120,
        ("rav",),
        "orp.bienne",
        {
            "health": "none",
            "out_of_work": "under_1",
            "language_level": "a2",
            "education": "none",
            "debts": False,
            "goals_aimed": ["orientation", "job_search"],
        },
    ),
)
CII_BODIES = {"iv": Body.INVALIDITY, "rav": Body.UNEMPLOYMENT}
CII_NUMBERS = {"iv": "IV-756.{:04d}.{:04d}", "rav": "RAV-BE-{:04d}-{:04d}"}


def cii_cases(it: Integration) -> None:
    from filum.tenancy.models import User

    ctx, today = it.ctx, it.today
    for n, story in enumerate(CII_STORIES):
        actor = ctx.actors[story.login]
        language = ctx.org_specs[org_key_of(ctx, actor.organisation_id)].language
        last, first, sex, age = story.client
        client = it.person(
            actor,
            last_name=last,
            first_name=first,
            sex=sex,
            birth_date=datetime.date(today.year - age, 1 + n * 3, 10),
            nationality="CH" if n % 2 == 0 else "XK" if n == 3 else "DZ",
            residence_status="swiss" if n % 2 == 0 else "C",
            languages=language,
        )
        signed = today - _days(story.opened_days_ago)
        fr = language == "fr"
        record = cii_services.do_open_cii_case(
            actor=actor,
            client=client,
            dossier=None,
            owner_body=Body.SOCIAL_ASSISTANCE,
            coordinator=User.objects.get(username=story.coordinator),
            partners=[
                cii_services.PartnerSpec(
                    organisation=ctx.orgs[key],
                    body=CII_BODIES[key],
                    case_number=CII_NUMBERS[key].format(4471 + n, 815 + 7 * n),
                )
                for key in story.partners
            ],
            authorisation=cii_services.AuthorisationSpec(
                kind="general",
                sections=["journal", "plan"],
                scope=(
                    "Collaboration interinstitutionnelle entre aide sociale, AI et ORP"
                    if fr
                    else "Interinstitutionelle Zusammenarbeit Sozialhilfe, IV und RAV"
                ),
                signed_on=signed,
                valid_until=None,
            ),
        )
        Case.objects.filter(pk=record.case_id).update(stage=Stage.COUNSELLING)
        record = cii_services.do_update_profile(
            actor=actor, record=record, version=record.version, data=story.profile
        )
        if story.exit is not None:
            days, state, reached = story.exit
            record.case.refresh_from_db()
            cii_services.do_close_cii_case(
                actor=actor,
                record=record,
                exit_on=today - _days(days),
                exit_state=state,
                goals_aimed=story.profile["goals_aimed"],
                goals_reached=reached,
            )
        ctx.counts["CII cases"] += 1


def step_integration(ctx: Any) -> None:
    """A step of ``filum.demo.seed.DEMO_STEPS`` (after the shares, before case steering, so
    the stories' dossiers get their steering too)."""
    it = Integration(ctx)
    it.catalogue()
    # the others first: they fill the pre-apprenticeship's next year before Senait asks
    other_plans(it)
    refugee_story(it)
    family_story(it)
    young_story(it)
    cii_cases(it)
