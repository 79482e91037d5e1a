"""Integration in the ten-year volume (issue 8): the canton's catalogue of 500 programmes
with their periods over the ten years, a plan with measures and bookings for every open
asylum and refugee dossier, one to three assessments of its client, and about 10,000 CII
cases (at Bern's full volume) with entry profiles and, for the closed ones, exits.

Like the rest of the volume, rows are generated in Python and COPYed, with the tables'
triggers off (``volume.BULK_TABLES``): the period counters the booking trigger would keep are
set afterwards with one UPDATE, and the capacity is respected by the generator itself (the
CHECK ``taken <= places`` holds once the counters are set). The first open asylum dossier (in
opening order) is the benchmark's big one: 40 measures and 10 assessments of its client
(``filum.demo.benchsubjects``). See docs/decisions/0024.
"""

from __future__ import annotations

import bisect
import datetime
import json
import random
from collections import defaultdict
from typing import Any

from django.db import connection

from filum.assessments.models import CodeItem, TemplateField, TemplateVersion
from filum.cii.models import GOAL_KEYS as CII_GOALS
from filum.demo.copytext import NULL, CopyPipe, SequenceBlock, copy_text, other_columns
from filum.plans.models import PlanTemplate

PROGRAMMES = 500
PROVIDERS = 60
CII_CASES = 10_000  # at the full volume; scaled down with it
BIG_MEASURES = 40
BIG_ASSESSMENTS = 10
TABLES = (
    "plans_provider",
    "plans_programme",
    "plans_period",
    "plans_plan",
    "plans_plangoal",
    "plans_measure",
    "plans_measuregoal",
    "plans_booking",
    "assessments_assessment",
    "assessments_assessmentanswer",
    "plans_situationentry",
    "cii_ciicase",
)
COLUMNS = {
    "plans_provider": "id, owner_id, canton, name, kind, address, phone, is_active",
    "plans_programme": (
        "id, owner_id, canton, provider_id, name, category, cost_per_place, is_active"
    ),
    "plans_period": "id, owner_id, programme_id, starts_on, ends_on, places, taken, waiting",
    "plans_plan": "id, case_id, owner_id, template_id, created_by_id, created_at",
    "plans_plangoal": "id, plan_id, case_id, owner_id, key, status, status_on, version",
    "plans_measure": (
        "id, plan_id, case_id, owner_id, title, category, programme_id, provider_id, "
        "planned_start, planned_end, actual_start, actual_end, status, abort_reason, result, "
        "created_by_id, created_by_org_id, created_at, updated_at, version"
    ),
    "plans_measuregoal": "measure_id, goal_id, owner_id",
    "plans_booking": (
        "period_id, measure_id, case_id, owner_id, status, queued_at, placed_at, "
        "cancelled_at, booked_by_id, booked_by_org_id"
    ),
    "assessments_assessment": (
        "id, case_id, owner_id, person_id, version_id, assessed_on, status, answers, revision, "
        "created_by_id, created_at, updated_at, finalised_by_id, finalised_at"
    ),
    "assessments_assessmentanswer": (
        "assessment_id, case_id, owner_id, person_id, field_id, field_key, item, dimension, "
        "assessed_on, code, number, rank, scale_max, in_synthesis"
    ),
    "plans_situationentry": (
        "case_id, owner_id, person_id, kind, value, since, note, recorded_by_id, recorded_at"
    ),
    "cii_ciicase": (
        "id, case_id, owner_id, owner_body, coordinator_id, consent_id, opened_on, health, "
        "out_of_work, language_level, education, nationality, debts, goals_aimed, exit_on, "
        "exit_state, goals_reached, version, created_at"
    ),
    "cases_consent": (
        "id, case_id, owner_id, person_id, kind, scope, sections, signed_on, valid_until, "
        "withdrawn_on, recorded_by_id, recorded_at"
    ),
}

# (name, category, weeks, cost CHF, places); the language courses come in both languages
_OFFERS: tuple[tuple[str, str, int, int, int], ...] = (
    ("Deutsch A1 intensiv", "language_course", 16, 1480, 14),
    ("Deutsch A2", "language_course", 20, 1380, 14),
    ("Deutsch B1 fide", "language_course", 24, 1720, 12),
    ("Français A1 intensif", "language_course", 16, 1450, 12),
    ("Français A2", "language_course", 20, 1350, 12),
    ("Français B1 fide", "language_course", 24, 1680, 12),
    ("Alphabetisierung", "language_course", 30, 900, 8),
    ("Jobcoaching", "job_coaching", 26, 3900, 8),
    ("Bewerbungswerkstatt", "job_coaching", 6, 880, 12),
    ("Einsatzprogramm", "work_placement", 26, 2400, 10),
    ("Praktikum im Betrieb", "work_placement", 12, 1500, 6),
    ("Integrationsvorlehre", "training", 44, 13800, 12),
    ("Pflegehelfer/in SRK", "training", 14, 2350, 16),
    ("Tagesstruktur", "health", 26, 5400, 8),
    ("Mentoring", "social_integration", 40, 600, 20),
)
_KINDS = ("school", "association", "company", "public")
_TOWNS = ("Bern", "Biel/Bienne", "Thun", "Burgdorf", "Langenthal", "Interlaken", "Köniz", "Lyss")
# the order in which a person's measures usually come
_PATH = ("language_course", "language_course", "job_coaching", "work_placement", "training")
_GOAL_OF = {
    "language_course": "employability",
    "job_coaching": "labour_market",
    "work_placement": "employability",
    "training": "orientation",
    "health": "health",
    "social_integration": "mobilisation",
}
PLAN_GOALS = (
    "reinsertion",
    "assessment",
    "health",
    "mobilisation",
    "orientation",
    "employability",
    "labour_market",
    "client_agreement",
)
_ABORT = ("client_stopped", "health", "non_collaboration", "job_found", "moved", "unsuitable")
_RESULTS = ("reached", "reached", "partly_reached", "certificate", "certificate", "not_reached")
# situation changes on the timeline (decision 0021)
_SITUATIONS = (
    ("education", "bridging"),
    ("education", "post_compulsory"),
    ("work", "second_labour_market"),
    ("work", "first_labour_market"),
)
_LEVELS = ("pre_a1", "a1", "a2", "b1", "b2", "c1", "c2")
_EXITS = (
    ("labour_market", 30),
    ("goals_reached", 25),
    ("non_collaboration", 15),
    ("criteria_not_met", 15),
    ("outside_area", 15),
)


class Writer:
    """COPY lines per table, with the columns the generator leaves to their defaults."""

    def __init__(self, pipe: CopyPipe) -> None:
        self.pipe = pipe
        self.lines: dict[str, list[str]] = {t: [] for t in COLUMNS}
        self.columns: dict[str, str] = {}
        self.suffix: dict[str, str] = {}
        self.counts: dict[str, int] = defaultdict(int)
        for table, columns in COLUMNS.items():
            extra = other_columns(table, {c.strip() for c in columns.split(",")})
            self.columns[table] = ", ".join([columns, *(name for name, _ in extra)])
            self.suffix[table] = "".join(f"\t{value}" for _, value in extra)

    def add(self, table: str, *values: Any) -> None:
        self.lines[table].append(
            "\t".join(NULL if v is NULL else copy_text(v) for v in values) + "\n"
        )

    def flush(self, *, last: bool = False) -> None:
        batches = []
        for table, lines in self.lines.items():
            self.counts[table] += len(lines)
            batches.append((table, self.columns[table], lines.copy(), self.suffix[table]))
            lines.clear()
        self.pipe.submit(batches)
        if last:
            self.pipe.wait()


def _stamp(day: datetime.date, hour: int = 10) -> str:
    return f"{day.isoformat()} {hour:02d}:00:00+01"


class IntegrationVolume:
    def __init__(self, vctx: Any) -> None:
        self.vctx = vctx
        base = vctx.base
        self.today: datetime.date = base.today
        self.rng = random.Random(base.seed * 1000 + 88)  # noqa: S311 (benchmark data)
        # its own generator: the situation entries change no other generated value
        self.situation_rng = random.Random(base.seed * 1000 + 89)  # noqa: S311
        self.pipe = CopyPipe()
        self.w = Writer(self.pipe)
        self.canton = base.orgs["canton"]
        self.languages = {p.org.pk: p.spec.language for p in vctx.plans}
        self.ids = {
            table: SequenceBlock(table, pipe=self.pipe, block=20_000)
            for table in ("plans_plan", "plans_plangoal", "plans_measure", "cii_ciicase")
        }
        # programmes: (id, provider id, name, category, weeks); periods per programme
        self.programmes: list[tuple[int, int, str, str, int]] = []
        self.by_category: dict[str, list[int]] = defaultdict(list)
        self.period_starts: list[list[datetime.date]] = []
        self.period_rows: list[list[tuple[int, datetime.date, datetime.date, int]]] = []
        self.taken: dict[int, int] = defaultdict(int)

    def uuid(self) -> str:
        value = (self.rng.getrandbits(128) & ~((0xF << 76) | (0xC << 60))) | (4 << 76) | (0x8 << 60)
        return f"{value:032x}"

    # --- the catalogue ----------------------------------------------------------------------

    def catalogue(self) -> None:
        rng, w, canton = self.rng, self.w, self.canton
        from filum.demo.copytext import reserve

        first_provider = reserve("pg_get_serial_sequence('plans_provider', 'id')", PROVIDERS)
        for n in range(PROVIDERS):
            town = _TOWNS[n % len(_TOWNS)]
            w.add(
                "plans_provider",
                first_provider + n,
                canton.pk,
                "BE",
                f"Bildungs- und Integrationsanbieter {n + 1:02d} {town}",
                _KINDS[n % len(_KINDS)],
                f"Bahnhofstrasse {n + 1}, {town}",
                f"+41 31 {300 + n} 10 {10 + n % 80}",
                True,
            )
        first_programme = reserve("pg_get_serial_sequence('plans_programme', 'id')", PROGRAMMES)
        periods = SequenceBlock("plans_period", pipe=self.pipe, block=50_000)
        # a programme runs one session after the other: the catalogue lists the running one
        # and the next one or two
        horizon = self.today + datetime.timedelta(days=240)
        for n in range(PROGRAMMES):
            name, category, weeks, cost, places = _OFFERS[n % len(_OFFERS)]
            provider = first_provider + n % PROVIDERS
            pid = first_programme + n
            w.add(
                "plans_programme",
                pid,
                canton.pk,
                "BE",
                provider,
                f"{name} {n // len(_OFFERS) + 1:02d}",
                category,
                f"{cost + rng.randrange(-10, 11) * 20}.00",
                True,
            )
            self.programmes.append((pid, provider, name, category, weeks))
            self.by_category[category].append(n)
            starts: list[datetime.date] = []
            rows: list[tuple[int, datetime.date, datetime.date, int]] = []
            day = self.today - datetime.timedelta(days=3700 + rng.randrange(0, 120))
            length = datetime.timedelta(days=7 * weeks - 3)
            while day < horizon:
                period_id = periods.take()
                seats = max(4, places + rng.randrange(-2, 5))
                rows.append((period_id, day, day + length, seats))
                starts.append(day)
                day += datetime.timedelta(days=7 * max(8, weeks + rng.randrange(1, 9)))
            self.period_starts.append(starts)
            self.period_rows.append(rows)
        self.w.flush()
        self.vctx.rows["catalogue programmes"] += PROGRAMMES

    def write_periods(self) -> None:
        for n, rows in enumerate(self.period_rows):
            pid = self.programmes[n][0]
            for period_id, start, end, seats in rows:
                self.w.add("plans_period", period_id, self.canton.pk, pid, start, end, seats, 0, 0)

    def period_from(
        self, n: int, day: datetime.date
    ) -> tuple[int, datetime.date, datetime.date, int]:
        starts = self.period_starts[n]
        i = min(bisect.bisect_left(starts, day), len(starts) - 1)
        return self.period_rows[n][i]

    # --- plans ------------------------------------------------------------------------------

    def plans(self) -> None:
        self.pipe.wait()  # the queries below share the load's connection
        template = PlanTemplate.objects.filter(canton="BE").order_by("pk").first()
        if template is None:
            template = PlanTemplate.objects.create(
                owner=self.canton,
                canton="BE",
                name="Integrationsplan AIS",
                goals=list(PLAN_GOALS[1:]),
                categories=["language_course", "job_coaching", "work_placement", "training"],
            )
        version = TemplateVersion.objects.filter(
            template__canton="BE", template__code="potential_assessment", status="published"
        ).latest("number")
        self.fields = {
            f.key: f
            for f in TemplateField.objects.filter(version=version).select_related("code_list")
        }
        self.positions: dict[int, dict[str, int]] = defaultdict(dict)
        self.list_size: dict[int, int] = defaultdict(int)
        for item in CodeItem.objects.filter(version=version).order_by(
            "code_list", "position", "pk"
        ):
            self.positions[item.code_list_id][item.code] = self.list_size[item.code_list_id]
            self.list_size[item.code_list_id] += 1
        self.version_id = version.pk
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT c.id, c.owner_id, c.client_id, c.responsible_id, c.opened_on "
                "FROM cases_case c JOIN tenancy_organisation o ON o.id = c.owner_id "
                "WHERE c.status = 'open' AND c.domain = 'asylum_aid' "
                "AND o.kind = 'social_service' AND c.responsible_id IS NOT NULL "
                "ORDER BY c.opened_on, c.number"
            )
            dossiers = cursor.fetchall()
        for index, row in enumerate(dossiers):
            self.plan(row, template.pk, big=index == 0)
            if index % 5000 == 4999:
                self.w.flush()
        self.w.flush()
        self.vctx.rows["plans"] += len(dossiers)

    def plan(self, row: tuple[Any, ...], template_id: int, *, big: bool) -> None:
        case_id, owner, client, worker, opened = row
        rng, w, today = self.rng, self.w, self.today
        age = (today - opened).days
        plan_id = self.ids["plans_plan"].take()
        made = min(opened + datetime.timedelta(days=21), today)
        w.add("plans_plan", plan_id, case_id, owner, template_id, worker, _stamp(made))
        goals: dict[str, int] = {}
        for key in PLAN_GOALS:
            if key in ("health", "mobilisation") and not big and rng.random() < 0.7:
                continue
            goal_id = self.ids["plans_plangoal"].take()
            goals[key] = goal_id
            reached = key in ("assessment", "client_agreement") and age > 120
            status_on = opened + datetime.timedelta(days=90) if reached else made
            w.add(
                "plans_plangoal",
                goal_id,
                plan_id,
                case_id,
                owner,
                key,
                "reached" if reached else "aimed",
                min(status_on, today),
                1,
            )
        count = BIG_MEASURES if big else max(1, min(12, 1 + age // 220 + rng.randrange(0, 3)))
        step = max(7, age // (BIG_MEASURES + 2)) if big else 0
        cursor = opened + datetime.timedelta(days=rng.randrange(20, 60))
        for k in range(count):
            category = (
                _PATH[k]
                if k < len(_PATH) and not big
                else rng.choice((*_PATH, "health", "social_integration"))
            )
            n = rng.choice(self.by_category[category])
            period_id, start, end, seats = self.period_from(n, cursor)
            if start > today + datetime.timedelta(days=300) and not big:
                break
            self.measure(
                plan_id, case_id, owner, worker, goals, n, (period_id, start, end, seats), made
            )
            if big:
                cursor = opened + datetime.timedelta(days=step * (k + 1))
            else:
                cursor = start + (end - start) * rng.uniform(0.7, 1.15)
        assessments = (
            BIG_ASSESSMENTS if big else 1 + min(2, age // 365) - (rng.random() < 0.15 and age > 365)
        )
        language = "fr" if self.languages.get(owner) == "fr" else "de"
        first = rng.randrange(0, 2)
        span = max(1, age - 30)
        for k in range(assessments):
            day = opened + datetime.timedelta(days=20 + span * k // assessments)
            draft = k == assessments - 1 and assessments > 1 and rng.random() < 0.1
            self.assessment(
                case_id, owner, client, worker, min(day, today), language, first + k, draft
            )
        self.situations(case_id, owner, client, worker, opened, big=big)

    def situations(
        self,
        case_id: str,
        owner: int,
        client: str,
        worker: int,
        opened: datetime.date,
        *,
        big: bool,
    ) -> None:
        """Situation changes of the client for the timeline: a third of those a year in have
        one, the benchmark's big one three."""
        rng, today = self.situation_rng, self.today
        age = (today - opened).days
        entries = 3 if big else (1 if age > 365 and rng.random() < 0.35 else 0)
        for k in range(entries):
            day = min(opened + datetime.timedelta(days=200 + 300 * k), today)
            kind, value = rng.choice(_SITUATIONS)
            self.w.add(
                "plans_situationentry",
                case_id,
                owner,
                client,
                kind,
                value,
                day,
                "",
                worker,
                _stamp(day, 14),
            )

    def measure(
        self,
        plan_id: int,
        case_id: str,
        owner: int,
        worker: int,
        goals: dict[str, int],
        n: int,
        period: tuple[int, datetime.date, datetime.date, int],
        made: datetime.date,
    ) -> None:
        rng, w, today = self.rng, self.w, self.today
        programme_id, provider_id, name, category, _weeks = self.programmes[n]
        period_id, start, end, seats = period
        measure_id = self.ids["plans_measure"].take()
        has_place = self.taken[period_id] < seats
        if end < today:
            aborted = rng.random() < 0.12
            status = "aborted" if aborted else "completed"
            actual_start, actual_end = start, end
            if aborted:
                actual_end = start + (end - start) * rng.uniform(0.1, 0.8)
            reason = rng.choice(_ABORT) if aborted else ""
            result = "not_reached" if aborted else rng.choice(_RESULTS)
        elif start <= today:
            status, actual_start, actual_end, reason, result = "running", start, None, "", ""
        else:
            status = "registered" if has_place else "planned"
            actual_start, actual_end, reason, result = None, None, "", ""
        # a measure of the past without a place held none (it ran elsewhere or not at all)
        booked = has_place or status in ("planned", "registered")
        stamp = _stamp(max(min(start - datetime.timedelta(days=30), today), made))
        w.add(
            "plans_measure",
            measure_id,
            plan_id,
            case_id,
            owner,
            name,
            category,
            programme_id,
            provider_id,
            start,
            end,
            actual_start,
            actual_end,
            status,
            reason,
            result,
            worker,
            owner,
            stamp,
            stamp,
            1,
        )
        goal = goals.get(_GOAL_OF[category]) or goals["employability"]
        w.add("plans_measuregoal", measure_id, goal, owner)
        if not booked:
            return
        if status == "aborted":
            booking_status = "cancelled"
        elif has_place:
            booking_status = "placed"
            self.taken[period_id] += 1
        else:
            booking_status = "waiting"
        w.add(
            "plans_booking",
            period_id,
            measure_id,
            case_id,
            owner,
            booking_status,
            stamp,
            stamp if booking_status != "waiting" else NULL,
            _stamp(min(actual_end or today, today), 16) if booking_status == "cancelled" else NULL,
            worker,
            owner,
        )

    # --- assessments ------------------------------------------------------------------------

    def assessment(
        self,
        case_id: str,
        owner: int,
        person: str,
        worker: int,
        day: datetime.date,
        language: str,
        step: int,
        draft: bool,
    ) -> None:
        rng = self.rng
        level = _LEVELS[min(step, 5)]
        written = _LEVELS[max(0, min(step, 5) - rng.randrange(0, 2))]
        answers: dict[str, Any] = {
            "school_years": str(rng.randrange(0, 13)),
            "education_level": rng.choice(
                ("none", "primary", "lower_secondary", "upper_secondary")
            ),
            "work_experience": rng.choice(("none", "under_one", "one_to_five", "over_five")),
            "language_levels": [{"language": language, "oral": level, "written": written}],
            "work_capacity": rng.choice(("full", "full", "over_half", "up_to_half")),
            "care_duties": rng.random() < 0.45,
            "main_goal": rng.choice(("labour_market", "language", "vocational_training")),
            "potential": rng.choice(("low", "medium", "medium", "high")),
        }
        assessment_id = self.uuid()
        stamp = _stamp(day, 11)
        self.w.add(
            "assessments_assessment",
            assessment_id,
            case_id,
            owner,
            person,
            self.version_id,
            day,
            "draft" if draft else "final",
            json.dumps(answers, ensure_ascii=False, sort_keys=True),
            2,
            worker,
            stamp,
            stamp,
            NULL if draft else worker,
            NULL if draft else stamp,
        )
        self.vctx.rows["assessments"] += 1
        if draft:
            return
        for key, value in answers.items():
            f = self.fields[key]
            common = (assessment_id, case_id, owner, person, f.pk, key)
            if key == "language_levels":
                for dimension, code in (("oral", level), ("written", written)):
                    self.w.add(
                        "assessments_assessmentanswer",
                        *common,
                        language,
                        dimension,
                        day,
                        code,
                        NULL,
                        _LEVELS.index(code),
                        len(_LEVELS) - 1,
                        f.in_synthesis,
                    )
                continue
            code, number = "", NULL
            rank: int | str = NULL
            scale: int | str = NULL
            if f.kind == "number":
                number = value
            elif f.kind == "yes_no":
                code = "yes" if value else "no"
            else:
                code = value
                if f.code_list_id is not None and f.code_list is not None and f.code_list.ordinal:
                    rank = self.positions[f.code_list_id][code]
                    scale = self.list_size[f.code_list_id] - 1
            self.w.add(
                "assessments_assessmentanswer",
                *common,
                "",
                "",
                day,
                code,
                number,
                rank,
                scale,
                f.in_synthesis,
            )

    # --- CII cases --------------------------------------------------------------------------

    def cii(self) -> None:
        rng, w = self.rng, self.w
        wanted = max(20, round(CII_CASES * self.vctx.scale))
        self.pipe.wait()
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT c.id, c.owner_id, c.client_id, c.responsible_id, c.opened_on, "
                "c.closed_on, p.nationality FROM cases_case c "
                "JOIN tenancy_organisation o ON o.id = c.owner_id "
                "JOIN people_person p ON p.id = c.client_id "
                "WHERE c.domain = 'cii' AND o.kind = 'social_service' "
                "AND c.responsible_id IS NOT NULL ORDER BY c.opened_on, c.number"
            )
            dossiers = cursor.fetchall()
        every = max(1, len(dossiers) // wanted)
        chosen = dossiers[::every][:wanted]
        consents = SequenceBlock("cases_consent", pipe=self.pipe, block=20_000)
        exits = [state for state, weight in _EXITS for _ in range(weight)]
        for case_id, owner, client, worker, opened, closed, nationality in chosen:
            consent = consents.take()
            language = self.languages.get(owner, "de")
            w.add(
                "cases_consent",
                consent,
                case_id,
                owner,
                client,
                "general",
                "Collaboration interinstitutionnelle (CII)"
                if language == "fr"
                else "Interinstitutionelle Zusammenarbeit (IIZ)",
                "{journal,plan}",
                opened,
                closed,
                NULL,
                worker,
                _stamp(opened),
            )
            aimed = sorted(rng.sample(CII_GOALS, rng.randrange(1, 5)), key=CII_GOALS.index)
            state, reached = "", []
            if closed is not None:
                state = rng.choice(exits)
                reached = [g for g in aimed if rng.random() < 0.5]
                if state == "goals_reached" and not reached:
                    reached = aimed[:1]
            w.add(
                "cii_ciicase",
                self.ids["cii_ciicase"].take(),
                case_id,
                owner,
                "social_assistance",
                worker,
                consent,
                opened,
                rng.choice(("none", "physical", "physical", "psychological", "both")),
                rng.choice(("under_1", "1_2", "2_4", "over_4")),
                rng.choice(("first", "first", "pre_a1", "a1", "a2", "b1", "b2")),
                rng.choice(("none", "compulsory", "compulsory", "vocational", "higher", "")),
                "swiss" if nationality == "CH" else "foreign" if nationality else "",
                rng.choice((True, False, False, None)),
                "{" + ",".join(aimed) + "}",
                closed,
                state,
                "{" + ",".join(reached) + "}",
                1,
                _stamp(opened),
            )
        self.w.flush()
        self.vctx.rows["CII cases"] += len(chosen)

    def counters(self) -> None:
        """The periods' counters, as the bookings' trigger would have kept them."""
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE plans_period p SET taken = b.taken, waiting = b.waiting FROM ("
                "  SELECT period_id, count(*) FILTER (WHERE status = 'placed') AS taken,"
                "         count(*) FILTER (WHERE status = 'waiting') AS waiting"
                "  FROM plans_booking GROUP BY period_id) b WHERE b.period_id = p.id"
            )


def step_integration_volume(vctx: Any) -> None:
    """A step of ``filum.demo.volume.VOLUME_STEPS`` (after the dossiers and their steering)."""
    volume = IntegrationVolume(vctx)
    volume.catalogue()
    volume.write_periods()
    volume.w.flush()
    volume.plans()
    volume.cii()
    volume.w.flush(last=True)
    volume.counters()
    for table, count in volume.w.counts.items():
        vctx.rows[table] += count
