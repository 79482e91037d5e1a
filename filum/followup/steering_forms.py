"""Forms of the case steering screens: intake decision, segment proposals and decisions,
transfer to counselling. They check the shape of the input; the rules (four eyes, stage,
criteria of the chosen segment, justification) are checked by filum.followup.segments and
filum.followup.lifecycle, whose messages are shown on the form."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from filum.cases.models import (
    Case,
    ClosureReason,
    ExitPotential,
    Segment,
    SegmentCriterion,
    SegmentObjective,
)
from filum.people.forms import DateInput
from filum.tenancy.models import Role, Team, User
from filum.web.forms import limit_dates

SEGMENT_CHOICES = [(s.value, s.label) for s in Segment]


class IntakeDecisionForm(forms.Form):
    decision = forms.ChoiceField(
        label=_("Decision"),
        choices=[
            ("accept", _("Accept: the service is competent and the aid subsidiary (to Intake 2)")),
            ("reject", _("Reject the request (the dossier is closed)")),
        ],
        widget=forms.RadioSelect,
    )
    reason = forms.CharField(
        label=_("Reason"),
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("Competence and subsidiarity: why the request is accepted or rejected."),
    )
    on = forms.DateField(
        label=_("Date of the decision"), widget=DateInput(), initial=timezone.localdate
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        limit_dates(self, "on")


class SegmentForm(forms.Form):
    """A segment with its criteria and the written justification (S1)."""

    segment = forms.ChoiceField(
        label=_("Segment"), choices=SEGMENT_CHOICES, widget=forms.RadioSelect
    )
    criteria = forms.ModelMultipleChoiceField(
        label=_("Criteria"),
        queryset=SegmentCriterion.objects.none(),
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text=_("Tick the criteria of the chosen segment that apply."),
    )
    justification = forms.CharField(
        label=_("Professional justification"),
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_("Why this segment: the situation, the need for counselling, the prospects."),
    )

    objectives = forms.ModelMultipleChoiceField(
        label=_("Objectives reached"),
        queryset=SegmentObjective.objects.none(),
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text=_("Tick the objectives of the current segment that were reached."),
    )

    def __init__(
        self,
        *args: Any,
        segments: tuple[str, ...] = ("A", "B", "C"),
        objectives_of: str = "",
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        choices = [c for c in SEGMENT_CHOICES if c[0] in segments]
        self.fields["segment"].choices = choices  # type: ignore[attr-defined]
        self.fields["criteria"].queryset = SegmentCriterion.objects.filter(  # type: ignore[attr-defined]
            is_active=True, segment__in=segments
        ).order_by("segment", "position", "code")
        if objectives_of:
            # S13: at the review, the objectives of the current segment.
            self.fields["objectives"].queryset = SegmentObjective.objects.filter(  # type: ignore[attr-defined]
                is_active=True, segment=objectives_of
            )
        else:
            del self.fields["objectives"]

    def criteria_groups(self) -> list[dict[str, Any]]:
        """The criteria checkboxes grouped by segment, for the template."""
        groups: dict[str, dict[str, Any]] = {}
        labels = dict(SEGMENT_CHOICES)
        for option in self["criteria"]:
            criterion = option.data["value"].instance
            group = groups.setdefault(
                criterion.segment,
                {"segment": criterion.segment, "label": labels[criterion.segment], "options": []},
            )
            group["options"].append(option)
        return list(groups.values())


class RequestForm(forms.Form):
    """The administrative assistant's request that a C dossier move to A or B (S4)."""

    segment = forms.ChoiceField(
        label=_("Requested segment"),
        choices=[c for c in SEGMENT_CHOICES if c[0] in ("A", "B")],
        widget=forms.RadioSelect,
    )
    justification = forms.CharField(
        label=_("Reason for the request"),
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("What you observed that calls for more counselling."),
    )


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(
        label=_("Decision"),
        choices=[("confirm", _("Confirm")), ("reject", _("Refuse"))],
        widget=forms.RadioSelect,
    )
    note = forms.CharField(
        label=_("Note"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Required when you refuse: the reason goes back to the author."),
    )
    kept_until = forms.DateField(
        label=_("Kept in the segment until"),
        required=False,
        widget=DateInput(),
        help_text=_(
            "Segment A lasts at most 6 months: keeping it longer is an exception. Give the "
            "reason in the note and the date until which the dossier stays in A."
        ),
    )

    def __init__(self, *args: Any, exception: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not exception:
            del self.fields["kept_until"]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("decision") == "reject" and not (data.get("note") or "").strip():
            self.add_error("note", _("Give the reason for the refusal."))
        return data


class RequestAnswerForm(forms.Form):
    """The responsible worker's answer to the assistant's request (S4): accepting means a
    change proposal with criteria and justification, refusing needs the reason."""

    decision = forms.ChoiceField(
        label=_("Decision"),
        choices=[
            ("accept", _("Accept: propose the change to the section head")),
            ("reject", _("Refuse")),
        ],
        widget=forms.RadioSelect,
    )
    criteria = forms.ModelMultipleChoiceField(
        label=_("Criteria"),
        queryset=SegmentCriterion.objects.none(),
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text=_("When you accept: the criteria of the requested segment that apply."),
    )
    justification = forms.CharField(
        label=_("Professional justification or reason for the refusal"),
        widget=forms.Textarea(attrs={"rows": 4}),
    )

    def __init__(self, *args: Any, segment: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["criteria"].queryset = SegmentCriterion.objects.filter(  # type: ignore[attr-defined]
            is_active=True, segment=segment
        ).order_by("position", "code")


class ExitPotentialForm(forms.Form):
    potential = forms.ChoiceField(
        label=_("Exit potential"), choices=ExitPotential.choices, widget=forms.RadioSelect
    )
    expected_by = forms.DateField(
        label=_("Exit expected by"),
        required=False,
        widget=DateInput(),
        help_text=_(
            "Within six months the dossier stays in Intake 2 and is not assigned to a segment."
        ),
    )
    reason = forms.CharField(
        label=_("Assessment"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )


def caseworkers_of(case: Case) -> Any:
    return (
        User.objects.filter(
            is_active=True,
            memberships__organisation_id=case.owner_id,
            memberships__is_active=True,
            memberships__role__in=[Role.SOCIAL_WORKER, Role.SECTION_HEAD],
        )
        .distinct()
        .order_by("last_name", "first_name")
    )


class TransferForm(forms.Form):
    to_team = forms.ModelChoiceField(
        label=_("Receiving team"), queryset=Team.objects.none(), required=False
    )
    to_worker = forms.ModelChoiceField(
        label=_("Receiving social worker"), queryset=User.objects.none()
    )
    report = forms.CharField(
        label=_("Transfer report"),
        widget=forms.Textarea(attrs={"rows": 8}),
        help_text=_("The situation, what was clarified in the intake, open questions."),
    )
    assessment = forms.CharField(
        label=_("Assessment of the social worker"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("Your assessment of the proposed segment, for the receiving worker."),
    )
    on = forms.DateField(label=_("Transferred on"), widget=DateInput(), initial=timezone.localdate)

    def __init__(self, *args: Any, case: Case, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["to_team"].queryset = Team.objects.filter(  # type: ignore[attr-defined]
            Q(organisation_id=case.owner_id)
        ).order_by("name")
        self.fields["to_worker"].queryset = caseworkers_of(case)  # type: ignore[attr-defined]
        limit_dates(self, "on")


class CloseCaseForm(forms.Form):
    closed_on = forms.DateField(label=_("Closed on"), widget=DateInput())
    reason = forms.ChoiceField(label=_("Exit reason"), choices=ClosureReason.choices)
    note = forms.CharField(
        label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Not before the opening nor in the future: checked by the service, in its own words.
        limit_dates(self, "closed_on")
