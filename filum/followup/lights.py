"""Traffic lights per dossier (I5): green, orange or red, always with the reasons in words.

The light is the worst level among the findings of ``rules.evaluate_case``; ``describe`` turns a
finding into a sentence in the active language ("2 of at least 3 face-to-face interviews in
the last 12 months"). ``lights_for_cases`` evaluates a batch of dossiers; the cockpit and the
team view read the kept lights (``filum.followup.kept``), which are stored from it.
"""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext, npgettext

from filum.followup.evaluation import evaluate_cases
from filum.followup.rules import Evaluation, Finding, Level, RuleSet
from filum.plans.labels import milestone_label

LEVEL_LABELS = {
    Level.GREEN: gettext_lazy("on track"),
    Level.ORANGE: gettext_lazy("falling behind or deadline soon"),
    Level.RED: gettext_lazy("action needed"),
}


def _day(value: datetime.date | None) -> str:
    return f"{value:%d.%m.%Y}" if value else ""


def _window(params: dict) -> str:
    if params.get("since"):
        return _("since %(date)s") % {"date": _day(params["since"])}
    months = params["months"]
    return ngettext("in the last month", "in the last %(months)d months", months) % {
        "months": months
    }


def _days(days: int) -> str:
    """The days after "within": German needs the dative ("innert 3 Tagen")."""
    return npgettext("within", "%(days)d day", "%(days)d days", days) % {"days": days}


def _milestone_words(p: dict) -> dict:
    """A milestone finding's words; a finding stored without its parameters still reads."""
    return {
        "person": p.get("person", ""),
        "due_text": p.get("due_text", ""),
        "milestone_text": milestone_label(p.get("milestone", "")),
    }


def describe(finding: Finding) -> str:
    """The finding as one sentence in the active language."""
    p = dict(finding.params)
    for key in ("due", "entry", "received", "since", "until", "start", "end"):
        if key in p and isinstance(p[key], datetime.date):
            p[f"{key}_text"] = _day(p[key])
    code = finding.code
    if code == "norm_face_to_face_missed":
        return ngettext(
            "%(count)d of at least %(minimum)d face-to-face interview %(window)s",
            "%(count)d of at least %(minimum)d face-to-face interviews %(window)s",
            p["minimum"],
        ) % {**p, "window": _window(p)}
    if code == "norm_missed":
        return ngettext(
            "%(count)d of at least %(minimum)d interview %(window)s",
            "%(count)d of at least %(minimum)d interviews %(window)s",
            p["minimum"],
        ) % {**p, "window": _window(p)}
    if code == "norm_face_to_face_behind":
        return ngettext(
            "%(count)d of at least %(minimum)d face-to-face interview %(window)s: without a new "
            "one the norm is missed within %(days)s",
            "%(count)d of at least %(minimum)d face-to-face interviews %(window)s: without a new "
            "one the norm is missed within %(days)s",
            p["minimum"],
        ) % {**p, "window": _window(p), "days": _days(p["days"])}
    if code == "norm_behind":
        return ngettext(
            "%(count)d of at least %(minimum)d interview %(window)s: without a new one the norm "
            "is missed within %(days)s",
            "%(count)d of at least %(minimum)d interviews %(window)s: without a new one the norm "
            "is missed within %(days)s",
            p["minimum"],
        ) % {**p, "window": _window(p), "days": _days(p["days"])}
    if code == "face_to_face_share_low":
        return _(
            "%(percent)d%% of the contacts %(window)s were face to face; at least %(target)d%% "
            "are expected"
        ) % {**p, "window": _window(p)}
    if code == "time_limit_expired":
        return (
            ngettext(
                "Time limit of segment %(segment)s (%(months)d month since %(entry_text)s) "
                "passed on %(due_text)s: a keep-or-move proposal is due",
                "Time limit of segment %(segment)s (%(months)d months since %(entry_text)s) "
                "passed on %(due_text)s: a keep-or-move proposal is due",
                p["months"],
            )
            % p
        )
    if code == "time_limit_soon":
        return (
            _(
                "Time limit of segment %(segment)s ends on %(due_text)s: prepare a keep-or-move "
                "proposal"
            )
            % p
        )
    if code == "review_pending":
        return (
            _(
                "Time limit of segment %(segment)s (%(due_text)s): the keep-or-move proposal "
                "awaits the section head's decision"
            )
            % p
        )
    if code == "decision_overdue":
        return (
            _("Final segment decision overdue since %(due_text)s (received on %(received_text)s)")
            % p
        )
    if code == "decision_due_soon":
        return _("Final segment decision due by %(due_text)s (received on %(received_text)s)") % p
    if code == "decision_pending":
        return _("Final segment decision proposed, awaiting the section head's confirmation")
    if code == "intake_overdue":
        return (
            _(
                "Short-term advance in Intake 1 since %(entry_text)s: the limit passed on "
                "%(due_text)s"
            )
            % p
        )
    if code == "intake_due_soon":
        return (
            _("Short-term advance in Intake 1 since %(entry_text)s: the limit ends on %(due_text)s")
            % p
        )
    if code == "exit_overdue":
        return (
            _(
                "In Intake 2 for an exit expected by %(due_text)s, which has passed: close the "
                "dossier or propose a segment"
            )
            % p
        )
    if code == "exit_due_soon":
        return _("In Intake 2 for an exit expected by %(due_text)s") % p
    if code == "norm_above_maximum":
        return _(
            "%(count)d interviews %(window)s, above the guide value of at most %(maximum)d "
            "(for the section head's information)"
        ) % {**p, "window": _window(p)}
    if code == "segment_beyond_maximum":
        if p.get("until"):
            return (
                _(
                    "In segment %(segment)s since %(entry_text)s, beyond its %(months)d months "
                    "(%(due_text)s): kept by exception until %(until_text)s"
                )
                % p
            )
        return (
            _(
                "In segment %(segment)s since %(entry_text)s, beyond its maximum of %(months)d "
                "months (%(due_text)s)"
            )
            % p
        )
    if code == "exception_expired":
        return (
            _("The exception for segment %(segment)s ended on %(due_text)s: move the dossier") % p
        )
    if code == "exception_ends_soon":
        return _("The exception for segment %(segment)s ends on %(due_text)s") % p
    if code == "measure_starts_soon":
        return _("Measure “%(measure)s” starts on %(start_text)s") % p
    if code == "measure_start_overdue":
        return (
            _(
                "Measure “%(measure)s” was to start on %(start_text)s and has not started: "
                "record its start or change the plan"
            )
            % p
        )
    if code == "measure_result_missing":
        return (
            _("Measure “%(measure)s” ended on %(end_text)s: record its result by %(due_text)s") % p
        )
    if code == "measure_result_overdue":
        return (
            _(
                "Measure “%(measure)s” ended on %(end_text)s and its result is still missing "
                "(due on %(due_text)s)"
            )
            % p
        )
    if code == "milestone_at_risk":
        return _(
            "AIS milestone of %(person)s at risk, due on %(due_text)s: %(milestone_text)s"
        ) % _milestone_words(p)
    if code == "milestone_missed":
        return _(
            "AIS milestone of %(person)s missed on %(due_text)s: %(milestone_text)s"
        ) % _milestone_words(p)
    if code == "no_segment":
        return _("In counselling without a segment")
    if code == "dates_out_of_range":
        return _("A date of this dossier lies outside the plausible range: correct it")
    return code


@dataclass(frozen=True)
class CaseLight:
    case_id: uuid.UUID
    evaluation: Evaluation

    @property
    def level(self) -> Level:
        return self.evaluation.level

    @property
    def css(self) -> str:
        return self.level.css

    @property
    def label(self) -> str:
        return str(LEVEL_LABELS[self.level])

    @property
    def reasons(self) -> list[str]:
        """Every reason, worst first, in the active language."""
        return [describe(f) for f in self.evaluation.findings]

    @property
    def reason_levels(self) -> list[tuple[str, str]]:
        return [(f.level.css, describe(f)) for f in self.evaluation.findings]

    @property
    def segment(self) -> str:
        return self.evaluation.segment


def lights_for_cases(
    case_ids: Iterable[uuid.UUID],
    as_of: datetime.date | None = None,
    *,
    rules: RuleSet | None = None,
) -> dict[uuid.UUID, CaseLight]:
    """Lights for a page of dossiers with a fixed number of queries (four). The caller has
    already restricted ``case_ids`` to dossiers the actor may see."""
    as_of = as_of or timezone.localdate()
    evaluations = evaluate_cases(case_ids, as_of=as_of, rules=rules)
    return {case_id: CaseLight(case_id, ev) for case_id, ev in evaluations.items()}


def light_for_case(case_id: uuid.UUID, as_of: datetime.date | None = None) -> CaseLight:
    return lights_for_cases([case_id], as_of)[case_id]
