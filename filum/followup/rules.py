"""The case steering rules as pure functions: no database, no clock, no translation.

Everything is evaluated *as of* a date given by the caller, from plain data: the dossier's
facts (stage, dates, segment history), the rule parameters (``RuleSet``, loaded from the
``NormRule`` table) and its contacts, either one by one (``ContactRecord``) or already counted
per window (``ContactTally``, what the nightly run gets from SQL). The exact definitions are
in docs/decisions/0002-case-steering-rules.md; in short:

* Month arithmetic: ``add_months`` keeps the day of the month and clamps it to the month's last
  day (31 March minus one month is 28 or 29 February). All arithmetic goes through
  ``filum.dates`` and clamps at ``date.min``/``date.max`` instead of raising; a dossier whose
  dates lie outside the stored bounds gets the one finding ``dates_out_of_range``.
* The norm window ending at ``as_of`` is ``(add_months(as_of, -period), as_of]``, and never
  starts before the entry into the current segment (or stage, for Intake 2). When it is cut by
  the entry, the minimum is pro-rated by days and rounded down.
* The face-to-face minimum is ``ceil(share * minimum)``: "2 of at least 3 face-to-face
  interviews" for segment B (80 % of 3 = 2.4). The share of the contacts in the window is
  compared exactly (3 of 4 is 75 %, below 80 %). Intake 2 has a share and no minimum.
* Above the upper bound (A 6 per semester, B 5 and C 3 a year) a finding informs the section
  head; it does not change the light.
* Segment A's time limit is a maximum: a review does not restart it; keeping A beyond it is an
  exception a section head records with a reason and an end date.
* A deadline D is red from the day after D, orange from ``D - warning_days`` to D.
* Falling behind (orange): the norm is met today but, without a new contact, would be missed
  ``warning_days`` from now.
"""

from __future__ import annotations

import datetime
import enum
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

# Overflow-safe arithmetic and the stored bounds live in one module for the whole project;
# ``add_months`` is re-exported because callers know it from here.
from filum.dates import add_days, is_storable
from filum.dates import add_months as add_months
from filum.plans.milestones import (
    AT_RISK,
    MISSED,
    MilestoneNorm,
    PersonFacts,
    milestone_states,
    norms_on,
)

# Stage and segment values, as stored on Case (kept here as strings so this module imports
# no models; filum.dates needs only Django's translation and validation utilities).
INTAKE_1, INTAKE_2, COUNSELLING, CLOSED = "intake_1", "intake_2", "counselling", "closed"
FINAL_DECISION = "final_decision"
FINAL_KIND, REVIEW_KIND, EXCEPTION_KIND = "final", "review", "exception"
# Exit potential recorded at Intake 2 (Case.exit_potential).
EXIT_LABOUR_MARKET, EXIT_SOCIAL_INSURANCE = "labour_market", "social_insurance"
EXIT_KINDS = frozenset({EXIT_LABOUR_MARKET, EXIT_SOCIAL_INSURANCE})
# Findings that inform the section head without changing the light (level GREEN).
INFO_CODES = frozenset({"norm_above_maximum", "segment_beyond_maximum"})
# Reminders on the measures of an integration plan (I5, decision 0022): their windows are
# norm rules too (``warning_days`` of these keys), so a canton can change them.
MEASURE_START, MEASURE_RESULT = "measure_start", "measure_result"
MEASURE_NOT_STARTED = frozenset({"planned", "registered"})
MEASURE_STARTED = frozenset({"running", "completed"})


class Level(enum.IntEnum):
    GREEN = 0
    ORANGE = 1
    RED = 2

    @property
    def css(self) -> str:
        return self.name.lower()


def ceil_fraction(value: Fraction) -> int:
    return -(-value.numerator // value.denominator)


@dataclass(frozen=True)
class Norm:
    """Parameters of one rule key (a segment, a stage, or the final decision)."""

    key: str
    period_months: int | None = None
    min_interviews: int | None = None
    max_interviews: int | None = None
    face_to_face_share: Fraction | None = None
    time_limit_months: int | None = None
    warning_days: int = 30
    # True for segment A: "au maximum 6 mois"; a review does not restart the time limit.
    limit_is_maximum: bool = False

    @property
    def has_contact_norm(self) -> bool:
        """A minimum number of interviews per period (segments A, B, C)."""
        return bool(self.period_months) and self.min_interviews is not None

    @property
    def has_share_norm(self) -> bool:
        """A face-to-face share of the contacts (A, B, C and Intake 2, which has no minimum)."""
        return self.face_to_face_share is not None

    @property
    def min_face_to_face(self) -> int:
        return ceil_fraction((self.face_to_face_share or Fraction(0)) * (self.min_interviews or 0))


@dataclass(frozen=True)
class RuleSet:
    norms: Mapping[str, Norm]

    def get(self, key: str) -> Norm | None:
        return self.norms.get(key)


# The norms of the concept as the followup data migrations seed them (a test compares this
# copy with the seeded rows). Intake 1: the 3 months apply to advances (short-term aid).
# Intake 2: no contact frequency, only the face-to-face share; its 6 months are the horizon of
# an exit potential that keeps a dossier in Intake 2 without a segment.
DEFAULT_RULES = RuleSet(
    norms={
        "A": Norm("A", 6, 4, 6, Fraction(4, 5), 6, limit_is_maximum=True),
        "B": Norm("B", 12, 3, 5, Fraction(4, 5), 24),
        "C": Norm("C", 12, 1, 3, Fraction(1), 36),
        INTAKE_1: Norm(INTAKE_1, time_limit_months=3),
        INTAKE_2: Norm(INTAKE_2, face_to_face_share=Fraction(4, 5), time_limit_months=6),
        FINAL_DECISION: Norm(FINAL_DECISION, time_limit_months=3),
        # a planned or registered measure starting within 14 days; a result within 30 days
        # of a measure's end
        MEASURE_START: Norm(MEASURE_START, warning_days=14),
        MEASURE_RESULT: Norm(MEASURE_RESULT, warning_days=30),
    }
)


@dataclass(frozen=True)
class SegmentPeriod:
    """One row of the segment history: the segment from ``since`` (inclusive) to ``until``
    (exclusive; None = still current)."""

    segment: str
    since: datetime.date
    until: datetime.date | None = None
    kind: str = "initial"
    kept_until: datetime.date | None = None  # kind "exception": kept beyond the maximum until

    def covers(self, day: datetime.date) -> bool:
        return self.since <= day and (self.until is None or day < self.until)

    @property
    def is_empty(self) -> bool:
        return self.until is not None and self.until <= self.since


@dataclass(frozen=True)
class MeasureFacts:
    """One measure of the dossier's integration plan, reduced to what the reminders need.
    ``ends_on`` is the actual end, or the planned end while there is none."""

    id: int
    title: str
    status: str
    planned_start: datetime.date | None = None
    ends_on: datetime.date | None = None
    has_result: bool = False


@dataclass(frozen=True)
class CaseFacts:
    stage: str
    opened_on: datetime.date
    stage_since: datetime.date | None = None
    received_on: datetime.date | None = None
    short_term_advance: bool = False
    exit_expected_by: datetime.date | None = None  # Intake 2: exit potential expected by
    segments: tuple[SegmentPeriod, ...] = ()
    pending_review: bool = False  # a keep-or-move proposal awaits the section head
    pending_final: bool = False  # a final decision (change) awaits the section head
    # case steering applies: social-assistance dossiers of social services (not CII ones)
    steered: bool = True
    measures: tuple[MeasureFacts, ...] = ()  # the plan's measures the reminders look at
    # the AIS milestones (decision 0021): the persons of a dossier with a plan who are in an
    # AIS period, and the milestone rules of the dossier's canton (valid_from, canton, norm)
    persons: tuple[PersonFacts, ...] = ()
    milestone_rules: tuple[tuple[datetime.date, str, MilestoneNorm], ...] = ()

    @property
    def stage_entry(self) -> datetime.date:
        return self.stage_since or self.opened_on


@dataclass(frozen=True)
class ContactRecord:
    """One current journal entry, reduced to what the norms need."""

    date: datetime.date
    counts: bool = True
    face_to_face: bool = True


@dataclass(frozen=True)
class Tally:
    total: int = 0
    face_to_face: int = 0


@dataclass(frozen=True)
class ContactTally:
    """Counted contacts in the window as of today (``now``) and in the part of the window
    ``warning_days`` ahead that already lies in the past (``soon``)."""

    now: Tally = Tally()
    soon: Tally = Tally()
    last_face_to_face: datetime.date | None = None


@dataclass(frozen=True)
class Window:
    """Contacts with ``start < date <= end`` count; ``required_*`` are the (pro-rated)
    minimums for this window."""

    start: datetime.date
    end: datetime.date
    months: int
    clamped: bool
    required_total: int
    required_face_to_face: int


@dataclass(frozen=True)
class NormPlan:
    key: str
    norm: Norm
    entry: datetime.date
    now: Window
    soon: Window  # as of ``as_of + warning_days``, counting only contacts up to ``as_of``


@dataclass(frozen=True)
class SegmentState:
    segment: str
    entry: datetime.date  # start of the uninterrupted stay in this segment
    clock_start: datetime.date  # entry, or the last confirmed review that kept the segment
    kept_until: datetime.date | None = None  # the latest exception beyond a maximum


@dataclass(frozen=True)
class Finding:
    """One reason for a light, with the task it calls for. ``code`` and ``params`` are turned
    into words by filum.followup.lights.describe."""

    code: str
    level: Level
    params: Mapping[str, Any] = field(default_factory=dict)
    task_kind: str = ""
    due: datetime.date | None = None
    rule_key: str = ""


@dataclass(frozen=True)
class Evaluation:
    as_of: datetime.date
    level: Level
    findings: tuple[Finding, ...]
    rule_key: str = ""  # which norm applied (segment, intake_2) or ""
    segment: str = ""
    plan: NormPlan | None = None
    tally: ContactTally | None = None
    # The dates the rules work with, whether or not a finding is due yet: "time_limit" (of
    # the segment, or the end of an exception), "final_decision", "intake", "exit_expected".
    deadlines: Mapping[str, datetime.date] = field(default_factory=dict)

    @property
    def tasks(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.task_kind)


# --- segment history ------------------------------------------------------------------------


def segment_state(periods: Iterable[SegmentPeriod], as_of: datetime.date) -> SegmentState | None:
    """The segment on ``as_of``, when the dossier entered it, and when its time limit started."""
    rows = sorted((p for p in periods if not p.is_empty), key=lambda p: p.since)
    current = next((i for i, p in enumerate(rows) if p.covers(as_of)), None)
    if current is None:
        return None
    segment = rows[current].segment
    first = current
    while (
        first > 0
        and rows[first - 1].segment == segment
        and rows[first - 1].until == rows[first].since
    ):
        first -= 1
    clock = rows[first].since
    kept_until = None
    for row in rows[first : current + 1]:
        if row.kind == REVIEW_KIND:
            clock = row.since
        if row.kind == EXCEPTION_KIND and row.kept_until is not None:
            kept_until = row.kept_until
    return SegmentState(
        segment=segment, entry=rows[first].since, clock_start=clock, kept_until=kept_until
    )


def has_final_decision(facts: CaseFacts) -> bool:
    if facts.received_on is None:
        return False
    return any(
        p.kind == FINAL_KIND and p.since >= facts.received_on and not p.is_empty
        for p in facts.segments
    )


def facts_in_range(facts: CaseFacts) -> bool:
    """Whether every date of the dossier lies within the stored bounds. Outside them (data
    from before the constraints, or a bug) the rules make no deadlines out of it."""
    days = [facts.opened_on, facts.stage_since, facts.received_on]
    for period in facts.segments:
        days += [period.since, period.until]
    return all(is_storable(day) for day in days)


# --- windows --------------------------------------------------------------------------------


def norm_window(norm: Norm, entry: datetime.date, as_of: datetime.date) -> Window:
    if not norm.has_contact_norm:
        if not norm.has_share_norm:
            raise ValueError(f"rule {norm.key} has no contact norm")
        # A share without a period (Intake 2): every contact since the entry, no minimum.
        start = add_days(entry, -1)
        return Window(start, as_of, 0, True, 0, 0)
    period, minimum = norm.period_months or 0, norm.min_interviews or 0
    full_start = add_months(as_of, -period)
    start = max(full_start, add_days(entry, -1))
    # Never zero, even when both ends are clamped at date.min.
    period_days = max((as_of - full_start).days, 1)
    covered_days = max((as_of - start).days, 0)
    required = minimum * covered_days // period_days
    share = norm.face_to_face_share or Fraction(0)
    return Window(
        start=start,
        end=as_of,
        months=period,
        clamped=start > full_start,
        required_total=required,
        required_face_to_face=ceil_fraction(share * required),
    )


def plan_norm(facts: CaseFacts, rules: RuleSet, as_of: datetime.date) -> NormPlan | None:
    """Which contact norm applies on ``as_of`` and over which windows, or None."""
    if facts.stage == INTAKE_2:
        key, entry = INTAKE_2, facts.stage_entry
    elif facts.stage == COUNSELLING:
        state = segment_state(facts.segments, as_of)
        if state is None:
            return None
        key, entry = state.segment, state.entry
    else:
        return None
    norm = rules.get(key)
    if (
        norm is None
        or not (norm.has_contact_norm or norm.has_share_norm)
        or entry > as_of
        or not facts_in_range(facts)
    ):
        return None
    soon_as_of = add_days(as_of, norm.warning_days)
    soon = norm_window(norm, entry, soon_as_of)
    return NormPlan(
        key=key,
        norm=norm,
        entry=entry,
        now=norm_window(norm, entry, as_of),
        soon=Window(
            start=soon.start,
            end=as_of,
            months=soon.months,
            clamped=soon.clamped,
            required_total=soon.required_total,
            required_face_to_face=soon.required_face_to_face,
        ),
    )


def tally_contacts(plan: NormPlan, contacts: Iterable[ContactRecord]) -> ContactTally:
    """Count contacts per window in Python (the nightly run does the same in SQL). The last
    face-to-face interview is looked for inside the window only."""
    now_total = now_f2f = soon_total = soon_f2f = 0
    last_f2f: datetime.date | None = None
    for contact in contacts:
        if not contact.counts or contact.date > plan.now.end:
            continue
        if contact.date > plan.now.start:
            if contact.face_to_face and (last_f2f is None or contact.date > last_f2f):
                last_f2f = contact.date
            now_total += 1
            now_f2f += contact.face_to_face
        if contact.date > plan.soon.start:
            soon_total += 1
            soon_f2f += contact.face_to_face
    return ContactTally(
        now=Tally(now_total, now_f2f), soon=Tally(soon_total, soon_f2f), last_face_to_face=last_f2f
    )


# --- AIS milestones (I4, I5, decision 0021) -------------------------------------------------

MILESTONE_TASK = "milestone"


def milestone_findings(facts: CaseFacts, as_of: datetime.date) -> list[Finding]:
    """A finding per milestone at risk (orange) or missed (red) of the dossier's persons; the
    task's key names the milestone, the person and the due date, so orange and red share one
    task."""
    if not facts.persons:
        return []
    norms = norms_on(facts.milestone_rules, as_of)
    findings = []
    for person in facts.persons:
        for state in milestone_states(person, norms, as_of):
            if state.state not in (AT_RISK, MISSED):
                continue
            findings.append(
                Finding(
                    "milestone_at_risk" if state.state == AT_RISK else "milestone_missed",
                    Level.ORANGE if state.state == AT_RISK else Level.RED,
                    {
                        "milestone": state.key,
                        "person": person.name,
                        "person_id": person.id,
                        "due": state.due,
                    },
                    task_kind=MILESTONE_TASK,
                    # a milestone due before the dossier opened is due at its opening
                    due=max(state.due, facts.opened_on),
                    rule_key=f"{MILESTONE_TASK}:{state.key}:{person.id}:{state.due}",
                )
            )
    return findings


# --- measure reminders (I5, decision 0022) --------------------------------------------------


def _measure_finding(
    code: str, level: Level, measure: MeasureFacts, *, kind: str, due: datetime.date, on: str
) -> Finding:
    """A reminder on one measure; its task's key names the measure and the date it is about
    (``on``: its start or its end), so orange and red share one task and a moved date makes
    a new one."""
    day = measure.planned_start if on == "start" else measure.ends_on
    return Finding(
        code,
        level,
        {"measure": measure.title, "measure_id": measure.id, on: day, "due": due},
        task_kind=kind,
        due=due,
        rule_key=f"{kind}:{measure.id}:{day}",
    )


def measure_starts_soon(measure: MeasureFacts, norm: Norm, as_of: datetime.date) -> Finding | None:
    """A planned or registered measure starting within ``warning_days`` (14): orange from
    ``start - 14`` to the start day, with a task due on the start."""
    start = measure.planned_start
    if measure.status not in MEASURE_NOT_STARTED or start is None:
        return None
    if not add_days(start, -norm.warning_days) <= as_of <= start:
        return None
    return _measure_finding(
        "measure_starts_soon", Level.ORANGE, measure, kind=MEASURE_START, due=start, on="start"
    )


def measure_start_overdue(measure: MeasureFacts, as_of: datetime.date) -> Finding | None:
    """The planned start has passed and the measure is still planned or registered: red from
    the day after the start. The task is the one of ``measure_starts_soon`` (same key)."""
    start = measure.planned_start
    if measure.status not in MEASURE_NOT_STARTED or start is None or as_of <= start:
        return None
    return _measure_finding(
        "measure_start_overdue", Level.RED, measure, kind=MEASURE_START, due=start, on="start"
    )


def _result_due(measure: MeasureFacts, norm: Norm) -> datetime.date | None:
    """The day by which a started measure's result should be recorded (its end plus
    ``warning_days``, 30), or None when no result is awaited."""
    if measure.status not in MEASURE_STARTED or measure.has_result or measure.ends_on is None:
        return None
    return add_days(measure.ends_on, norm.warning_days)


def measure_result_missing(
    measure: MeasureFacts, norm: Norm, as_of: datetime.date
) -> Finding | None:
    """The measure has ended (its end lies before today) without a result, up to
    ``warning_days`` (30) after the end: orange, with a task due on the 30th day."""
    due = _result_due(measure, norm)
    if due is None or measure.ends_on is None or not measure.ends_on < as_of <= due:
        return None
    return _measure_finding(
        "measure_result_missing", Level.ORANGE, measure, kind=MEASURE_RESULT, due=due, on="end"
    )


def measure_result_overdue(
    measure: MeasureFacts, norm: Norm, as_of: datetime.date
) -> Finding | None:
    """More than ``warning_days`` (30) after the end and still no result: red."""
    due = _result_due(measure, norm)
    if due is None or as_of <= due:
        return None
    return _measure_finding(
        "measure_result_overdue", Level.RED, measure, kind=MEASURE_RESULT, due=due, on="end"
    )


def measure_findings(
    measures: Iterable[MeasureFacts], rules: RuleSet, as_of: datetime.date
) -> list[Finding]:
    """The reminders on a dossier's measures; a rule key missing from the norm rules (not in
    force on ``as_of``) gives none of its findings."""
    start_norm, result_norm = rules.get(MEASURE_START), rules.get(MEASURE_RESULT)
    findings: list[Finding] = []
    for measure in measures:
        candidates: list[Finding | None] = []
        if start_norm is not None:
            candidates += [
                measure_starts_soon(measure, start_norm, as_of),
                measure_start_overdue(measure, as_of),
            ]
        if result_norm is not None:
            candidates += [
                measure_result_missing(measure, result_norm, as_of),
                measure_result_overdue(measure, result_norm, as_of),
            ]
        findings += [finding for finding in candidates if finding is not None]
    return findings


# --- evaluation -----------------------------------------------------------------------------


def _deadline(
    *,
    due: datetime.date,
    as_of: datetime.date,
    warning_days: int,
    codes: tuple[str, str],
    task_kind: str,
    rule_key: str,
    params: dict[str, Any],
) -> Finding | None:
    """Red after ``due``, orange from ``warning_days`` before; the task from the orange day."""
    if as_of > due:
        code, level = codes[0], Level.RED
    elif as_of >= add_days(due, -warning_days):
        code, level = codes[1], Level.ORANGE
    else:
        return None
    return Finding(
        code=code,
        level=level,
        params={**params, "due": due},
        task_kind=task_kind,
        due=due,
        rule_key=rule_key,
    )


def share_is_met(share: Fraction | None, tally: Tally) -> bool:
    """At least ``share`` of the counted contacts face to face, compared exactly: no rounding
    (3 of 4 is 75 %, below 80 %; in C one phone call among the contacts misses 100 %)."""
    if share is None or tally.total == 0:
        return True
    return Fraction(tally.face_to_face, tally.total) >= share


def _norm_findings(plan: NormPlan, tally: ContactTally, as_of: datetime.date) -> list[Finding]:
    now, soon, norm = plan.now, plan.soon, plan.norm
    base = {
        "key": plan.key,
        "months": now.months,
        "since": add_days(now.start, 1) if now.clamped else None,
    }
    findings = []
    if norm.max_interviews is not None and tally.now.total > norm.max_interviews:
        # The upper guide value (S6): information for the section head, not a red light.
        findings.append(
            Finding(
                "norm_above_maximum",
                Level.GREEN,
                {**base, "count": tally.now.total, "maximum": norm.max_interviews},
            )
        )
    task_key = f"no_contact:{plan.key}:{plan.entry}:{tally.last_face_to_face or '-'}"
    if tally.now.face_to_face < now.required_face_to_face:
        return [
            *findings,
            Finding(
                "norm_face_to_face_missed",
                Level.RED,
                {**base, "count": tally.now.face_to_face, "minimum": now.required_face_to_face},
                task_kind="no_contact",
                due=as_of,
                rule_key=task_key,
            ),
        ]
    if tally.now.total < now.required_total:
        return [
            *findings,
            Finding(
                "norm_missed",
                Level.RED,
                {**base, "count": tally.now.total, "minimum": now.required_total},
                task_kind="no_contact",
                due=as_of,
                rule_key=task_key,
            ),
        ]
    if tally.soon.face_to_face < soon.required_face_to_face:
        findings.append(
            Finding(
                "norm_face_to_face_behind",
                Level.ORANGE,
                {
                    **base,
                    "count": tally.now.face_to_face,
                    "minimum": now.required_face_to_face,
                    "days": norm.warning_days,
                },
            )
        )
    elif tally.soon.total < soon.required_total:
        findings.append(
            Finding(
                "norm_behind",
                Level.ORANGE,
                {
                    **base,
                    "count": tally.now.total,
                    "minimum": now.required_total,
                    "days": norm.warning_days,
                },
            )
        )
    share = norm.face_to_face_share
    if share is not None and not share_is_met(share, tally.now):
        findings.append(
            Finding(
                "face_to_face_share_low",
                Level.ORANGE,
                {
                    **base,
                    "percent": 100 * tally.now.face_to_face // tally.now.total,
                    "target": int(share * 100),
                },
            )
        )
    return findings


def stays_in_intake_2(
    *,
    exit_potential: str,
    exit_expected_by: datetime.date | None,
    as_of: datetime.date,
    rules: RuleSet,
) -> bool:
    """SEG 5: a dossier with an exit potential (labour market or social insurance) within six
    months stays in Intake 2 and is not segmented."""
    norm = rules.get(INTAKE_2)
    if exit_potential not in EXIT_KINDS or exit_expected_by is None:
        return False
    if norm is None or not norm.time_limit_months:
        return False
    return exit_expected_by <= add_months(as_of, norm.time_limit_months)


def _segment_time_limit(
    facts: CaseFacts, state: SegmentState, norm: Norm, as_of: datetime.date
) -> tuple[list[Finding], datetime.date]:
    """The time limit of the current segment (S5). B and C: from the entry or the last review
    that kept the segment. A: a maximum from the entry; beyond it only a section head's
    exception keeps the dossier in A, until the date it names."""
    segment, months = state.segment, norm.time_limit_months or 0
    findings: list[Finding] = []
    params: dict[str, Any]
    if norm.limit_is_maximum:
        limit = add_months(state.entry, months)
        params = {"segment": segment, "entry": state.entry, "months": months}
        if as_of > limit:
            findings.append(
                Finding(
                    "segment_beyond_maximum",
                    Level.GREEN,
                    {**params, "due": limit, "until": state.kept_until},
                )
            )
        if state.kept_until is not None and state.kept_until > limit:
            due, codes = state.kept_until, ("exception_expired", "exception_ends_soon")
            params["until"] = state.kept_until
        else:
            due, codes = limit, ("time_limit_expired", "time_limit_soon")
    else:
        due = add_months(state.clock_start, months)
        codes = ("time_limit_expired", "time_limit_soon")
        params = {"segment": segment, "entry": state.clock_start, "months": months}
    if facts.pending_review and as_of >= add_days(due, -norm.warning_days):
        findings.append(Finding("review_pending", Level.ORANGE, {**params, "due": due}))
        return findings, due
    finding = _deadline(
        due=due,
        as_of=as_of,
        warning_days=norm.warning_days,
        codes=codes,
        task_kind="review_due",
        rule_key=f"review_due:{segment}:{due}",
        params=params,
    )
    return ([*findings, finding] if finding else findings), due


def _with_level(as_of: datetime.date, findings: list[Finding]) -> Evaluation:
    findings = sorted(findings, key=lambda f: -f.level)
    level = findings[0].level if findings else Level.GREEN
    return Evaluation(as_of=as_of, level=level, findings=tuple(findings))


def evaluate_case(
    *,
    as_of: datetime.date,
    facts: CaseFacts,
    rules: RuleSet,
    contacts: Sequence[ContactRecord] | None = None,
    tally: ContactTally | None = None,
) -> Evaluation:
    """All findings for one dossier as of a date; the light is the worst of them. The case
    steering rules apply to steered dossiers only (social assistance, not CII); the measure
    reminders to every open dossier with a plan."""
    if facts.stage == CLOSED:
        return Evaluation(as_of=as_of, level=Level.GREEN, findings=())
    reminders = measure_findings(facts.measures, rules, as_of) + milestone_findings(facts, as_of)
    if not facts.steered:
        return _with_level(as_of, reminders)
    if not facts_in_range(facts):
        return _with_level(as_of, [Finding("dates_out_of_range", Level.ORANGE), *reminders])
    findings: list[Finding] = []
    plan = plan_norm(facts, rules, as_of)
    if plan is not None:
        if tally is None:
            tally = tally_contacts(plan, contacts or ())
        findings += _norm_findings(plan, tally, as_of)

    segment = ""
    deadlines: dict[str, datetime.date] = {}
    if facts.stage == INTAKE_1 and facts.short_term_advance:
        # SEG 5: only advances (short-term aid) are limited to 3 months in Intake 1.
        norm = rules.get(INTAKE_1)
        if norm and norm.time_limit_months:
            due = deadlines["intake"] = add_months(facts.stage_entry, norm.time_limit_months)
            finding = _deadline(
                due=due,
                as_of=as_of,
                warning_days=norm.warning_days,
                codes=("intake_overdue", "intake_due_soon"),
                task_kind="intake_overdue",
                rule_key=f"intake_overdue:{facts.stage}:{due}",
                params={
                    "stage": facts.stage,
                    "entry": facts.stage_entry,
                    "months": norm.time_limit_months,
                    "advance": True,
                },
            )
            if finding:
                findings.append(finding)
    elif facts.stage == INTAKE_2 and facts.exit_expected_by is not None:
        # A dossier kept in Intake 2 for its exit potential: the exit was expected by a date.
        norm = rules.get(INTAKE_2)
        deadlines["exit_expected"] = facts.exit_expected_by
        finding = _deadline(
            due=facts.exit_expected_by,
            as_of=as_of,
            warning_days=norm.warning_days if norm else 30,
            codes=("exit_overdue", "exit_due_soon"),
            task_kind="intake_overdue",
            rule_key=f"intake_overdue:{facts.stage}:{facts.exit_expected_by}",
            params={"stage": facts.stage, "entry": facts.stage_entry},
        )
        if finding:
            findings.append(finding)
    elif facts.stage == COUNSELLING:
        state = segment_state(facts.segments, as_of)
        if state is None:
            findings.append(Finding("no_segment", Level.ORANGE))
        else:
            segment = state.segment
            norm = rules.get(state.segment)
            if norm and norm.time_limit_months:
                limit_findings, deadlines["time_limit"] = _segment_time_limit(
                    facts, state, norm, as_of
                )
                findings += limit_findings
        decision = rules.get(FINAL_DECISION)
        if (
            facts.received_on
            and decision
            and decision.time_limit_months
            and not has_final_decision(facts)
        ):
            due = deadlines["final_decision"] = add_months(
                facts.received_on, decision.time_limit_months
            )
            params = {"received": facts.received_on, "months": decision.time_limit_months}
            if facts.pending_final:
                findings.append(Finding("decision_pending", Level.ORANGE, {**params, "due": due}))
            else:
                finding = _deadline(
                    due=due,
                    as_of=as_of,
                    warning_days=decision.warning_days,
                    codes=("decision_overdue", "decision_due_soon"),
                    task_kind="decision_due",
                    rule_key=f"decision_due:{due}",
                    params=params,
                )
                if finding:
                    findings.append(finding)

    findings += reminders
    findings.sort(key=lambda f: -f.level)
    level = findings[0].level if findings else Level.GREEN
    return Evaluation(
        as_of=as_of,
        level=level,
        findings=tuple(findings),
        rule_key=plan.key if plan else "",
        segment=segment,
        plan=plan,
        tally=tally,
        deadlines=deadlines,
    )
