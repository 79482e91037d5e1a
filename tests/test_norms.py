"""The pure case steering rules (S3, S5, S6, P6): unit and property tests, no database."""

from __future__ import annotations

import datetime
from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from filum.followup.rules import (
    DEFAULT_RULES,
    CaseFacts,
    ContactRecord,
    Level,
    Norm,
    RuleSet,
    SegmentPeriod,
    Tally,
    add_months,
    evaluate_case,
    norm_window,
    plan_norm,
    segment_state,
    share_is_met,
    stays_in_intake_2,
    tally_contacts,
)

D = datetime.date
days = datetime.timedelta


def counselling(segment: str, since: D, *, received: D | None = None, **kwargs) -> CaseFacts:
    """A dossier in counselling, in ``segment`` since ``since`` (final decision taken unless
    ``received`` is given)."""
    return CaseFacts(
        stage="counselling",
        opened_on=since - days(200),
        stage_since=received or since,
        received_on=received,
        segments=(SegmentPeriod(segment, since, None, "initial" if received else "final"),),
        **kwargs,
    )


# Entries well inside the time limits (B 24, C 36 months) as of 16.03.2026.
B_SINCE, C_SINCE = D(2025, 1, 1), D(2024, 1, 1)


def f2f(*dates: D) -> list[ContactRecord]:
    return [ContactRecord(d, counts=True, face_to_face=True) for d in dates]


def phone(*dates: D) -> list[ContactRecord]:
    return [ContactRecord(d, counts=True, face_to_face=False) for d in dates]


def codes(evaluation) -> set[str]:
    return {f.code for f in evaluation.findings}


# --- month arithmetic -----------------------------------------------------------------------


def test_s6_add_months_clamps_to_the_end_of_the_month():
    assert add_months(D(2026, 3, 31), -1) == D(2026, 2, 28)
    assert add_months(D(2024, 3, 31), -1) == D(2024, 2, 29)
    assert add_months(D(2024, 2, 29), 12) == D(2025, 2, 28)
    assert add_months(D(2024, 2, 29), -48) == D(2020, 2, 29)
    assert add_months(D(2026, 8, 31), -6) == D(2026, 2, 28)
    assert add_months(D(2026, 1, 15), 25) == D(2028, 2, 15)


@given(st.dates(D(1990, 1, 1), D(2090, 12, 31)), st.integers(-240, 240))
def test_s6_add_months_property(day, months):
    moved = add_months(day, months)
    assert (moved.year * 12 + moved.month) - (day.year * 12 + day.month) == months
    assert moved.day == day.day or (moved.day < day.day and (moved + days(1)).day == 1)


# --- windows and boundaries -----------------------------------------------------------------


def test_s6_window_boundary_contact_exactly_one_period_back_does_not_count():
    as_of = D(2026, 3, 16)
    facts = counselling("B", B_SINCE)
    on_boundary = evaluate_case(
        as_of=as_of,
        facts=facts,
        rules=DEFAULT_RULES,
        contacts=f2f(D(2025, 3, 16), D(2025, 9, 1), D(2026, 1, 5)),
    )
    assert on_boundary.tally.now.face_to_face == 2
    assert on_boundary.level == Level.RED
    day_after = evaluate_case(
        as_of=as_of,
        facts=facts,
        rules=DEFAULT_RULES,
        contacts=f2f(D(2025, 3, 17), D(2025, 9, 1), D(2026, 1, 5)),
    )
    assert day_after.tally.now.face_to_face == 3
    # counted today, but it leaves the window tomorrow: falling behind
    assert day_after.level == Level.ORANGE
    assert codes(day_after) == {"norm_face_to_face_behind"}


def test_s6_contact_on_the_evaluation_date_counts_and_later_ones_do_not():
    as_of = D(2026, 3, 16)
    facts = counselling("C", C_SINCE)
    assert (
        evaluate_case(as_of=as_of, facts=facts, rules=DEFAULT_RULES, contacts=f2f(as_of)).level
        == Level.GREEN
    )
    future = evaluate_case(
        as_of=as_of, facts=facts, rules=DEFAULT_RULES, contacts=f2f(as_of + days(1))
    )
    assert future.level == Level.RED


def test_s6_minimum_exactly_met_is_green():
    as_of = D(2026, 3, 16)
    facts = counselling("B", B_SINCE)
    evaluation = evaluate_case(
        as_of=as_of,
        facts=facts,
        rules=DEFAULT_RULES,
        contacts=f2f(D(2025, 7, 1), D(2025, 11, 1), D(2026, 3, 1)),
    )
    assert evaluation.tally.now.face_to_face == 3 == evaluation.plan.now.required_face_to_face
    assert evaluation.level == Level.GREEN and evaluation.findings == ()


def test_s6_segment_a_semester_norm_4_face_to_face():
    as_of = D(2026, 8, 31)
    facts = counselling("A", D(2026, 1, 1))
    plan = plan_norm(facts, DEFAULT_RULES, as_of)
    assert plan.now.start == D(2026, 2, 28)  # (28.02, 31.08]
    contacts = f2f(D(2026, 3, 1), D(2026, 5, 1), D(2026, 7, 1), D(2026, 8, 20))
    assert (
        evaluate_case(
            as_of=as_of, facts=facts, rules=DEFAULT_RULES, contacts=contacts
        ).plan.now.required_face_to_face
        == 4
    )
    assert (
        evaluate_case(as_of=as_of, facts=facts, rules=DEFAULT_RULES, contacts=contacts[1:]).level
        == Level.RED
    )


def test_s6_leap_year_window_ending_on_29_february():
    facts = counselling("C", D(2022, 1, 1))
    as_of = D(2024, 2, 29)
    plan = plan_norm(facts, DEFAULT_RULES, as_of)
    assert plan.now.start == D(2023, 2, 28)
    assert (
        evaluate_case(
            as_of=as_of, facts=facts, rules=DEFAULT_RULES, contacts=f2f(D(2023, 2, 28))
        ).level
        == Level.RED
    )
    assert (
        evaluate_case(
            as_of=as_of, facts=facts, rules=DEFAULT_RULES, contacts=f2f(D(2023, 3, 1))
        ).tally.now.face_to_face
        == 1
    )


def test_s6_leap_day_contact_counts_in_the_following_year():
    facts = counselling("C", D(2023, 1, 1))
    as_of = D(2025, 2, 28)
    assert plan_norm(facts, DEFAULT_RULES, as_of).now.start == D(2024, 2, 28)
    evaluation = evaluate_case(
        as_of=as_of, facts=facts, rules=DEFAULT_RULES, contacts=f2f(D(2024, 2, 29))
    )
    assert evaluation.tally.now.face_to_face == 1


def test_s6_face_to_face_share_80_percent_of_the_minimum_rounded_up():
    assert DEFAULT_RULES.get("B").min_face_to_face == 3  # 80 % of 3 = 2.4
    assert DEFAULT_RULES.get("A").min_face_to_face == 4  # 80 % of 4 = 3.2
    assert DEFAULT_RULES.get("C").min_face_to_face == 1  # 100 % of 1
    as_of = D(2026, 3, 16)
    facts = counselling("B", B_SINCE)
    contacts = f2f(D(2025, 6, 1), D(2026, 2, 1)) + phone(D(2025, 12, 1), D(2026, 3, 1))
    evaluation = evaluate_case(as_of=as_of, facts=facts, rules=DEFAULT_RULES, contacts=contacts)
    assert evaluation.tally.now.total == 4
    assert codes(evaluation) == {"norm_face_to_face_missed"}
    assert dict(evaluation.findings[0].params)["count"] == 2


def test_s6_low_face_to_face_share_is_orange_when_the_minimum_is_met():
    as_of = D(2026, 3, 16)
    facts = counselling("B", B_SINCE)
    contacts = f2f(D(2025, 12, 1), D(2026, 1, 1), D(2026, 2, 1)) + phone(
        *(D(2026, 3, d) for d in (1, 2))
    )
    evaluation = evaluate_case(as_of=as_of, facts=facts, rules=DEFAULT_RULES, contacts=contacts)
    assert evaluation.level == Level.ORANGE
    assert codes(evaluation) == {"face_to_face_share_low"}
    assert dict(evaluation.findings[0].params)["percent"] == 60


def test_s6_non_counting_entries_are_ignored():
    as_of = D(2026, 3, 16)
    facts = counselling("C", C_SINCE)
    drop = [ContactRecord(D(2026, 3, 1), counts=False, face_to_face=False)]
    assert (
        evaluate_case(as_of=as_of, facts=facts, rules=DEFAULT_RULES, contacts=drop).level
        == Level.RED
    )


def test_s6_segment_b_13_months_without_face_to_face_is_red():
    as_of = D(2026, 3, 16)
    facts = counselling("B", D(2024, 6, 1))
    contacts = f2f(D(2025, 2, 10)) + phone(D(2025, 10, 1))
    evaluation = evaluate_case(as_of=as_of, facts=facts, rules=DEFAULT_RULES, contacts=contacts)
    assert evaluation.level == Level.RED
    finding = evaluation.findings[0]
    assert finding.code == "norm_face_to_face_missed" and finding.task_kind == "no_contact"
    assert {k: finding.params[k] for k in ("count", "minimum", "months")} == {
        "count": 0,
        "minimum": 3,
        "months": 12,
    }


def test_s6_segment_change_mid_period_uses_the_new_norm_pro_rated():
    as_of = D(2026, 3, 16)
    periods = (
        SegmentPeriod("C", D(2024, 1, 1), D(2025, 9, 16), "final"),
        SegmentPeriod("B", D(2025, 9, 16), None, "change"),
    )
    facts = CaseFacts(stage="counselling", opened_on=D(2023, 6, 1), segments=periods)
    plan = plan_norm(facts, DEFAULT_RULES, as_of)
    assert (plan.key, plan.entry, plan.now.clamped) == ("B", D(2025, 9, 16), True)
    # 182 of 365 days in B: 3 * 182 // 365 = 1 interview, face to face
    assert (plan.now.required_total, plan.now.required_face_to_face) == (1, 1)
    # contacts from the C period do not count for B
    before_change = f2f(D(2025, 6, 1), D(2025, 9, 15))
    evaluation = evaluate_case(
        as_of=as_of, facts=facts, rules=DEFAULT_RULES, contacts=before_change
    )
    assert evaluation.level == Level.RED
    assert dict(evaluation.findings[0].params)["since"] == D(2025, 9, 16)
    ok = evaluate_case(as_of=as_of, facts=facts, rules=DEFAULT_RULES, contacts=f2f(D(2025, 9, 16)))
    assert ok.tally.now.face_to_face == 1
    assert Level.RED not in {f.level for f in ok.findings}


def test_s6_just_entered_segment_requires_nothing_yet():
    as_of = D(2026, 3, 16)
    facts = counselling("A", as_of)
    plan = plan_norm(facts, DEFAULT_RULES, as_of)
    assert plan.now.required_total == 0
    assert not {"norm_missed", "norm_face_to_face_missed"} & codes(
        evaluate_case(as_of=as_of, facts=facts, rules=DEFAULT_RULES, contacts=[])
    )


def test_seg5_intake_2_has_no_contact_frequency_only_the_face_to_face_share():
    facts = CaseFacts(stage="intake_2", opened_on=D(2025, 10, 1), stage_since=D(2025, 11, 16))
    as_of = D(2026, 3, 16)
    plan = plan_norm(facts, DEFAULT_RULES, as_of)
    assert plan.key == "intake_2" and plan.now.start == D(2025, 11, 15)
    # no minimum at all: four months in Intake 2 without a contact are no finding
    assert (plan.now.required_total, plan.now.required_face_to_face) == (0, 0)
    assert evaluate_case(as_of=as_of, facts=facts, rules=DEFAULT_RULES).findings == ()
    norm = DEFAULT_RULES.get("intake_2")
    assert (norm.period_months, norm.min_interviews, norm.max_interviews) == (None, None, None)
    assert norm.face_to_face_share == Fraction(4, 5)
    # many contacts are no "above the maximum" either: Intake 2 has no frequency
    many = f2f(*(D(2026, 1, d) for d in range(1, 20)))
    assert (
        evaluate_case(as_of=as_of, facts=facts, rules=DEFAULT_RULES, contacts=many).findings == ()
    )


def _share_codes(facts: CaseFacts, as_of: D, face: int, other: int) -> set[str]:
    """Findings of ``face`` face-to-face and ``other`` phone contacts spread over the window."""
    dates = [as_of - days(3 * i + 1) for i in range(face + other)]
    contacts = f2f(*dates[:face]) + phone(*dates[face:])
    return codes(evaluate_case(as_of=as_of, facts=facts, rules=DEFAULT_RULES, contacts=contacts))


def test_s6_face_to_face_shares_are_exact_at_the_boundary_of_each_segment():
    as_of = D(2026, 3, 16)
    intake_2 = CaseFacts(stage="intake_2", opened_on=D(2025, 1, 1), stage_since=D(2025, 6, 1))
    cases = {
        "A": counselling("A", D(2026, 1, 1)),
        "B": counselling("B", B_SINCE),
        "intake_2": intake_2,
    }
    for name, facts in cases.items():
        # 80 % exactly is enough; 75 % is not, although it rounds to 80 % in steps of 1/4
        assert "face_to_face_share_low" not in _share_codes(facts, as_of, 4, 1), name
        assert "face_to_face_share_low" in _share_codes(facts, as_of, 3, 1), name
        # 79 of 100 would round up to 80 %: no rounding in the client's favour
        assert not share_is_met(Fraction(4, 5), Tally(100, 79)), name
        assert share_is_met(Fraction(4, 5), Tally(5, 4)), name
    c = counselling("C", C_SINCE)
    assert "face_to_face_share_low" not in _share_codes(c, as_of, 2, 0)
    # C is 100 %: one phone call among three contacts misses it
    assert "face_to_face_share_low" in _share_codes(c, as_of, 2, 1)
    assert not share_is_met(Fraction(1), Tally(100, 99))


def test_s6_above_the_upper_bound_informs_the_section_head_without_a_red_light():
    as_of = D(2026, 3, 16)
    for segment, since, maximum in (
        ("A", D(2025, 12, 1), 6),
        ("B", B_SINCE, 5),
        ("C", C_SINCE, 3),
    ):
        facts = counselling(segment, since)
        dates = [as_of - days(7 * i + 1) for i in range(maximum + 1)]
        at_max = evaluate_case(
            as_of=as_of, facts=facts, rules=DEFAULT_RULES, contacts=f2f(*dates[:maximum])
        )
        assert "norm_above_maximum" not in codes(at_max), segment
        above = evaluate_case(as_of=as_of, facts=facts, rules=DEFAULT_RULES, contacts=f2f(*dates))
        finding = next(f for f in above.findings if f.code == "norm_above_maximum")
        assert finding.level == Level.GREEN and not finding.task_kind
        assert dict(finding.params)["maximum"] == maximum
        assert above.level == at_max.level  # information, the light does not change


def test_seg5_intake_1_time_limit_applies_to_advances_only():
    opened = D(2025, 10, 1)
    plain = CaseFacts(stage="intake_1", opened_on=opened)
    assert evaluate_case(as_of=D(2026, 6, 1), facts=plain, rules=DEFAULT_RULES).findings == ()
    advance = CaseFacts(stage="intake_1", opened_on=opened, short_term_advance=True)
    late = evaluate_case(as_of=D(2026, 1, 2), facts=advance, rules=DEFAULT_RULES)
    assert codes(late) == {"intake_overdue"} and late.deadlines["intake"] == D(2026, 1, 1)


def test_seg5_exit_potential_within_6_months_keeps_the_dossier_in_intake_2():
    today = D(2026, 3, 16)

    def stays(potential: str, by: D | None) -> bool:
        return stays_in_intake_2(
            exit_potential=potential, exit_expected_by=by, as_of=today, rules=DEFAULT_RULES
        )

    assert stays("labour_market", D(2026, 9, 16))
    assert stays("social_insurance", D(2026, 4, 1))
    assert not stays("labour_market", D(2026, 9, 17))
    assert not stays("none", None) and not stays("", None)
    # the expected exit is the dossier's deadline in Intake 2
    facts = CaseFacts(
        stage="intake_2",
        opened_on=D(2025, 10, 1),
        stage_since=D(2025, 11, 1),
        exit_expected_by=D(2026, 3, 1),
    )
    evaluation = evaluate_case(as_of=today, facts=facts, rules=DEFAULT_RULES)
    assert codes(evaluation) == {"exit_overdue"} and evaluation.level == Level.RED
    assert evaluation.tasks[0].rule_key == "intake_overdue:intake_2:2026-03-01"


def test_s5_segment_a_lasts_at_most_6_months_and_a_review_does_not_restart_the_clock():
    entry = D(2025, 6, 1)
    periods = (
        SegmentPeriod("A", entry, D(2025, 11, 20), "final"),
        SegmentPeriod("A", D(2025, 11, 20), None, "review"),
    )
    facts = CaseFacts(stage="counselling", opened_on=D(2025, 1, 1), segments=periods)
    evaluation = evaluate_case(as_of=D(2026, 1, 1), facts=facts, rules=DEFAULT_RULES)
    expired = next(f for f in evaluation.findings if f.code == "time_limit_expired")
    assert expired.due == D(2025, 12, 1) and evaluation.level == Level.RED
    assert "segment_beyond_maximum" in codes(evaluation)
    assert evaluation.deadlines["time_limit"] == D(2025, 12, 1)
    # B's time limit, by contrast, restarts with a review that keeps B
    b = CaseFacts(
        stage="counselling",
        opened_on=D(2022, 1, 1),
        segments=(
            SegmentPeriod("B", D(2022, 6, 1), D(2024, 6, 1), "final"),
            SegmentPeriod("B", D(2024, 6, 1), None, "review"),
        ),
    )
    assert evaluate_case(as_of=D(2026, 1, 1), facts=b, rules=DEFAULT_RULES).deadlines == {
        "time_limit": D(2026, 6, 1)
    }


def test_s5_segment_a_exception_keeps_a_until_its_end_then_red_again():
    entry = D(2025, 6, 1)
    periods = (
        SegmentPeriod("A", entry, D(2025, 11, 25), "final"),
        SegmentPeriod("A", D(2025, 11, 25), None, "exception", kept_until=D(2026, 3, 31)),
    )
    facts = CaseFacts(stage="counselling", opened_on=D(2025, 1, 1), segments=periods)
    contacts = f2f(*(D(2026, 1, d) for d in (5, 12, 19, 26)))
    during = evaluate_case(as_of=D(2026, 2, 1), facts=facts, rules=DEFAULT_RULES, contacts=contacts)
    assert during.level == Level.GREEN
    beyond = next(f for f in during.findings if f.code == "segment_beyond_maximum")
    assert dict(beyond.params)["entry"] == entry  # the clock was not restarted
    assert dict(beyond.params)["until"] == D(2026, 3, 31)
    after = evaluate_case(as_of=D(2026, 4, 1), facts=facts, rules=DEFAULT_RULES, contacts=contacts)
    assert "exception_expired" in codes(after) and after.level == Level.RED


# --- deadlines ------------------------------------------------------------------------------


def test_s3_final_decision_overdue_after_3_months_is_red():
    received = D(2025, 12, 16)
    facts = counselling("B", received, received=received)
    contacts = f2f(D(2026, 1, 10), D(2026, 2, 10), D(2026, 3, 10))
    on_due = evaluate_case(
        as_of=D(2026, 3, 16), facts=facts, rules=DEFAULT_RULES, contacts=contacts
    )
    assert on_due.level == Level.ORANGE and codes(on_due) == {"decision_due_soon"}
    late = evaluate_case(as_of=D(2026, 3, 17), facts=facts, rules=DEFAULT_RULES, contacts=contacts)
    assert late.level == Level.RED
    finding = next(f for f in late.findings if f.code == "decision_overdue")
    assert (finding.task_kind, finding.due, finding.rule_key) == (
        "decision_due",
        D(2026, 3, 16),
        "decision_due:2026-03-16",
    )


def test_s3_final_decision_taken_clears_the_flag_and_pending_is_orange():
    received = D(2025, 12, 16)
    decided = CaseFacts(
        stage="counselling",
        opened_on=D(2025, 6, 1),
        received_on=received,
        segments=(
            SegmentPeriod("B", received, D(2026, 2, 1), "initial"),
            SegmentPeriod("B", D(2026, 2, 1), None, "final"),
        ),
    )
    contacts = f2f(D(2026, 1, 10), D(2026, 2, 10), D(2026, 3, 10))
    assert (
        evaluate_case(
            as_of=D(2026, 6, 1), facts=decided, rules=DEFAULT_RULES, contacts=contacts
        ).findings
        == ()
    )
    pending = CaseFacts(
        stage="counselling",
        opened_on=D(2025, 6, 1),
        received_on=received,
        segments=(SegmentPeriod("B", received, None, "initial"),),
        pending_final=True,
    )
    evaluation = evaluate_case(
        as_of=D(2026, 6, 1), facts=pending, rules=DEFAULT_RULES, contacts=contacts
    )
    assert codes(evaluation) == {"decision_pending"}


def test_s5_time_limit_gives_a_task_at_expiry_and_red_after():
    entry = D(2025, 9, 16)
    facts = counselling("A", entry)
    contacts = f2f(*(D(2026, m, 1) for m in (1, 2, 3)), D(2025, 12, 1))
    month_before = evaluate_case(
        as_of=D(2026, 2, 13), facts=facts, rules=DEFAULT_RULES, contacts=contacts
    )
    assert "time_limit_soon" not in codes(month_before)
    at_expiry = evaluate_case(
        as_of=D(2026, 3, 16), facts=facts, rules=DEFAULT_RULES, contacts=contacts
    )
    finding = next(f for f in at_expiry.findings if f.code == "time_limit_soon")
    assert (finding.task_kind, finding.due, finding.level) == (
        "review_due",
        D(2026, 3, 16),
        Level.ORANGE,
    )
    after = evaluate_case(as_of=D(2026, 3, 17), facts=facts, rules=DEFAULT_RULES, contacts=contacts)
    assert "time_limit_expired" in codes(after) and after.level == Level.RED
    # the same task key throughout, so the nightly run creates it once
    assert (
        next(f for f in after.findings if f.task_kind == "review_due").rule_key == finding.rule_key
    )


def test_s5_time_limits_per_segment_counted_from_entry():
    for segment, months in (("A", 6), ("B", 24), ("C", 36)):
        entry = D(2022, 1, 31)
        facts = counselling(segment, entry)
        expiry = add_months(entry, months)
        evaluation = evaluate_case(
            as_of=expiry + days(1), facts=facts, rules=DEFAULT_RULES, contacts=[]
        )
        assert "time_limit_expired" in codes(evaluation)
        assert next(f for f in evaluation.findings if f.code == "time_limit_expired").due == expiry


def test_s5_review_keeping_the_segment_restarts_the_clock_but_not_the_entry():
    periods = (
        SegmentPeriod("B", D(2023, 1, 1), D(2025, 1, 1), "final"),
        SegmentPeriod("B", D(2025, 1, 1), None, "review"),
    )
    state = segment_state(periods, D(2026, 3, 16))
    assert (state.segment, state.entry, state.clock_start) == ("B", D(2023, 1, 1), D(2025, 1, 1))
    facts = CaseFacts(stage="counselling", opened_on=D(2022, 6, 1), segments=periods)
    evaluation = evaluate_case(as_of=D(2026, 3, 16), facts=facts, rules=DEFAULT_RULES, contacts=[])
    assert not {"time_limit_expired", "time_limit_soon"} & codes(evaluation)


def test_s5_pending_review_is_orange_not_red():
    facts = counselling("A", D(2025, 1, 1), pending_review=True)
    evaluation = evaluate_case(
        as_of=D(2026, 3, 16),
        facts=facts,
        rules=DEFAULT_RULES,
        contacts=f2f(*(D(2026, m, 1) for m in (1, 2, 3, 3))),
    )
    assert "review_pending" in codes(evaluation) and "time_limit_expired" not in codes(evaluation)


def test_p6_short_term_advance_beyond_3_months_in_intake_1_is_red():
    facts = CaseFacts(stage="intake_1", opened_on=D(2025, 12, 10), short_term_advance=True)
    assert (
        evaluate_case(as_of=D(2026, 3, 10), facts=facts, rules=DEFAULT_RULES).level == Level.ORANGE
    )
    late = evaluate_case(as_of=D(2026, 3, 11), facts=facts, rules=DEFAULT_RULES)
    assert late.level == Level.RED and codes(late) == {"intake_overdue"}
    assert dict(late.findings[0].params)["advance"] is True


def test_p6_closed_dossier_is_green_without_findings():
    facts = CaseFacts(stage="closed", opened_on=D(2020, 1, 1))
    assert evaluate_case(as_of=D(2026, 3, 16), facts=facts, rules=DEFAULT_RULES).findings == ()


def test_s6_rules_are_data_a_canton_can_change():
    stricter = RuleSet(norms={**DEFAULT_RULES.norms, "C": Norm("C", 12, 2, 4, Fraction(1), 36)})
    facts = counselling("C", C_SINCE)
    contacts = f2f(D(2026, 1, 1))
    assert (
        evaluate_case(
            as_of=D(2026, 3, 16), facts=facts, rules=DEFAULT_RULES, contacts=contacts
        ).level
        == Level.GREEN
    )
    assert (
        evaluate_case(as_of=D(2026, 3, 16), facts=facts, rules=stricter, contacts=contacts).level
        == Level.RED
    )


# --- properties -----------------------------------------------------------------------------

dates = st.dates(D(2015, 1, 1), D(2035, 12, 31))
contact_lists = st.lists(
    st.builds(ContactRecord, dates, st.booleans(), st.booleans()).filter(
        lambda c: c.counts or not c.face_to_face
    ),
    max_size=25,
)
segments = st.sampled_from(["A", "B", "C"])


@settings(max_examples=300)
@given(segment=segments, entry=dates, as_of=dates, contacts=contact_lists)
def test_s6_property_level_is_the_worst_finding(segment, entry, as_of, contacts):
    facts = counselling(segment, entry)
    evaluation = evaluate_case(as_of=as_of, facts=facts, rules=DEFAULT_RULES, contacts=contacts)
    assert evaluation.level == max((f.level for f in evaluation.findings), default=Level.GREEN)
    assert all(f.rule_key for f in evaluation.findings if f.task_kind)


@settings(max_examples=300)
@given(
    segment=segments,
    entry=dates,
    as_of=dates,
    contacts=contact_lists,
    extra_offset=st.integers(0, 400),
)
def test_s6_property_another_face_to_face_interview_never_makes_the_norm_worse(
    segment, entry, as_of, contacts, extra_offset
):
    facts = counselling(segment, entry)
    before = evaluate_case(as_of=as_of, facts=facts, rules=DEFAULT_RULES, contacts=contacts)
    extra = ContactRecord(as_of - days(extra_offset), True, True)
    after = evaluate_case(
        as_of=as_of, facts=facts, rules=DEFAULT_RULES, contacts=[*contacts, extra]
    )
    norm_codes = {"norm_missed", "norm_face_to_face_missed"}

    def norm_level(ev):
        return max((f.level for f in ev.findings if f.code in norm_codes), default=Level.GREEN)

    assert norm_level(after) <= norm_level(before)


@settings(max_examples=300)
@given(segment=segments, entry=dates, as_of=dates, contacts=contact_lists)
def test_s6_property_window_bounds_exclusive_start_inclusive_end(segment, entry, as_of, contacts):
    facts = counselling(segment, entry)
    plan = plan_norm(facts, DEFAULT_RULES, as_of)
    if plan is None:
        assert entry > as_of
        return
    tally = tally_contacts(plan, contacts)
    expected = [
        c for c in contacts if c.counts and plan.now.start < c.date <= as_of and c.date >= entry
    ]
    assert tally.now.total == len(expected)
    assert tally.now.face_to_face == sum(c.face_to_face for c in expected)
    norm = DEFAULT_RULES.get(segment)
    assert plan.now.start >= add_months(as_of, -norm.period_months)
    assert 0 <= plan.now.required_total <= norm.min_interviews
    assert plan.now.required_face_to_face <= norm.min_face_to_face
    if not plan.now.clamped:
        assert plan.now.required_total == norm.min_interviews


@settings(max_examples=200)
@given(entry=dates, span=st.integers(0, 800), segment=segments)
def test_s6_property_pro_rated_minimum_grows_with_time_in_segment(entry, span, segment):
    norm = DEFAULT_RULES.get(segment)
    earlier = norm_window(norm, entry, entry + days(span))
    later = norm_window(norm, entry, entry + days(span + 1))
    assert earlier.required_total <= later.required_total + 1  # month lengths vary by a day
    assert later.required_total <= norm.min_interviews
