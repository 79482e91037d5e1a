"""Forms of the plans app. They validate what a field can say alone; the rules across fields
of a measure live in ``services.check_measure`` (the views show its errors on the form)."""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Sequence
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from filum.dates import DATE_FLOOR, add_months
from filum.documents.forms import UploadForm
from filum.people.models import Person
from filum.plans.models import (
    AbortReason,
    Category,
    DocumentKind,
    GoalKind,
    GoalStatus,
    Measure,
    MeasureResult,
    MeasureStatus,
    MilestoneRule,
    Period,
    PlanGoal,
    PlanTemplate,
    Programme,
    Provider,
    SituationKind,
    goal_kind,
    goal_label,
)
from filum.plans.models.plan import GOAL_ORDER, SELECTABLE_GOALS
from filum.plans.models.timeline import SITUATION_VALUES
from filum.plans.services import MeasureData, SituationChange

# The Integration Agenda Switzerland applies from 1 May 2019.
AIS_START = datetime.date(2019, 5, 1)
# Plans look ahead over the AIS horizon (7 years for provisionally admitted persons).
PLAN_HORIZON_MONTHS = 84
DATE_INPUT = {"type": "date"}


def _text(day: datetime.date) -> str:
    return f"{day:%d.%m.%Y}"


class PlanDateValidator:
    """A planned or target date: from 1950 to the AIS horizon ahead of today."""

    def __init__(self, today: datetime.date) -> None:
        self.latest = add_months(today, PLAN_HORIZON_MONTHS)

    def __call__(self, value: datetime.date) -> None:
        if value < DATE_FLOOR:
            raise ValidationError(
                gettext("Enter a date from %(date)s on.") % {"date": _text(DATE_FLOOR)}
            )
        if value > self.latest:
            raise ValidationError(
                gettext("Enter a date up to %(date)s.") % {"date": _text(self.latest)}
            )


def _date_field(label: str | Any, *, past_only: bool = False) -> forms.DateField:
    today = timezone.localdate()
    latest = today if past_only else add_months(today, PLAN_HORIZON_MONTHS)
    field = forms.DateField(
        label=label,
        required=False,
        widget=forms.DateInput(
            attrs={**DATE_INPUT, "min": DATE_FLOOR.isoformat(), "max": latest.isoformat()},
            format="%Y-%m-%d",
        ),
    )
    if past_only:
        field.validators.append(_not_in_future)
    field.validators.append(PlanDateValidator(today))
    return field


def _not_in_future(value: datetime.date) -> None:
    if value > timezone.localdate():
        raise ValidationError(gettext("The date cannot be in the future."))


def goal_choices(goals: Iterable[PlanGoal]) -> list[tuple[str, str]]:
    ordered = sorted(goals, key=lambda g: GOAL_ORDER[g.key])
    return [(str(goal.pk), goal.label) for goal in ordered]


def grouped_goal_keys(keys: Sequence[str]) -> list[tuple[str, list[tuple[str, str]]]]:
    """Goal keys as option groups by kind, in the seed's order."""
    groups: dict[str, list[tuple[str, str]]] = {}
    for key in sorted(keys, key=GOAL_ORDER.__getitem__):
        groups.setdefault(goal_kind(key), []).append((key, goal_label(key)))
    return [(str(GoalKind(kind).label), options) for kind, options in groups.items()]


def programme_choices(programmes: Iterable[Programme]) -> list[Any]:
    """The canton's programmes grouped by category: "Programme – Provider"."""
    groups: dict[str, list[tuple[str, str]]] = {}
    for programme in programmes:
        label = f"{programme.name} – {programme.provider.name}"
        groups.setdefault(programme.category, []).append((str(programme.pk), label))
    choices: list[Any] = [("", gettext("— not from the catalogue —"))]
    for category in Category.values:
        if category in groups:
            choices.append((str(Category(category).label), groups[category]))
    return choices


class PlanCreateForm(forms.Form):
    template = forms.ModelChoiceField(
        label=_("Plan template"),
        queryset=PlanTemplate.objects.none(),
        required=False,
        empty_label=_("No template: the ultimate goal only"),
        help_text=_("The template proposes the first goals; you can add others afterwards."),
    )

    def __init__(self, *args: Any, templates: Sequence[PlanTemplate], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["template"].queryset = PlanTemplate.objects.filter(  # type: ignore[attr-defined]
            pk__in=[t.pk for t in templates]
        ).order_by("name", "pk")
        if len(templates) == 1:
            self.fields["template"].initial = templates[0].pk


class GoalAddForm(forms.Form):
    key = forms.ChoiceField(label=_("Goal"))
    note = forms.CharField(label=_("Note"), required=False, widget=forms.Textarea({"rows": 3}))

    def __init__(self, *args: Any, present: Iterable[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        missing = [key for key in SELECTABLE_GOALS if key not in set(present)]
        self.fields["key"].choices = grouped_goal_keys(missing)  # type: ignore[attr-defined]
        self.fields["target_date"] = _date_field(_("Target date"))
        self.order_fields(["key", "target_date", "note"])


class GoalEditForm(forms.Form):
    status = forms.ChoiceField(label=_("Status"), choices=GoalStatus.choices)
    note = forms.CharField(label=_("Note"), required=False, widget=forms.Textarea({"rows": 3}))
    version = forms.IntegerField(widget=forms.HiddenInput)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["target_date"] = _date_field(_("Target date"))
        self.order_fields(["status", "target_date", "note", "version"])


class MeasureForm(forms.Form):
    """A new measure (``measure=None``) or the whole record of an existing one."""

    title = forms.CharField(
        label=_("Measure"),
        max_length=200,
        help_text=_("What the client does, for example “German course A2, evenings”."),
    )
    category = forms.ChoiceField(label=_("Kind of measure"), choices=Category.choices)
    goals = forms.MultipleChoiceField(
        label=_("Goals it serves"), required=False, widget=forms.CheckboxSelectMultiple
    )
    programme = forms.ChoiceField(label=_("Programme from the catalogue"), required=False)
    provider_name = forms.CharField(
        label=_("Provider outside the catalogue"),
        max_length=200,
        required=False,
        help_text=_("Only when the catalogue does not list the provider."),
    )

    def __init__(
        self,
        *args: Any,
        goals: Sequence[PlanGoal],
        programmes: Sequence[Programme],
        measure: Measure | None = None,
        persons: Sequence[Person] = (),
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.measure = measure
        self._goals = {str(goal.pk): goal for goal in goals}
        # For whom (I4): asked on a new measure of a dossier whose unit has other members.
        self._persons = {str(person.pk): person for person in persons[1:]}
        if self._persons:
            client = persons[0]
            self.fields["person"] = forms.ChoiceField(
                label=_("For whom"),
                choices=[
                    ("", gettext("%(name)s (the client)") % {"name": client}),
                    *((pk, str(person)) for pk, person in self._persons.items()),
                ],
                required=False,
                help_text=_("The member of the assistance unit the measure is for."),
            )
            self.order_fields(["title", "person"])
        self._programmes = {str(p.pk): p for p in programmes}
        self.fields["goals"].choices = goal_choices(goals)  # type: ignore[attr-defined]
        self.fields["programme"].choices = programme_choices(programmes)  # type: ignore[attr-defined]
        self.fields["planned_start"] = _date_field(_("Planned start"))
        self.fields["planned_end"] = _date_field(_("Planned end"))
        if measure is not None:
            self.fields["actual_start"] = _date_field(_("Actual start"), past_only=True)
            self.fields["actual_end"] = _date_field(_("Actual end"), past_only=True)
            statuses = [measure.status, *measure.next_statuses()]
            self.fields["status"] = forms.ChoiceField(
                label=_("Status"),
                choices=[(s, MeasureStatus(s).label) for s in statuses],
            )
            self.fields["abort_reason"] = forms.ChoiceField(
                label=_("Reason for aborting"),
                choices=[("", "—"), *AbortReason.choices],
                required=False,
            )
            self.fields["result"] = forms.ChoiceField(
                label=_("Result"), choices=[("", "—"), *MeasureResult.choices], required=False
            )
            self.fields["conduct_note"] = forms.CharField(
                label=_("How it went"), required=False, widget=forms.Textarea({"rows": 4})
            )
            self.fields["client_view"] = forms.CharField(
                label=_("How the client perceives it"),
                required=False,
                widget=forms.Textarea({"rows": 4}),
            )
            self.fields["version"] = forms.IntegerField(widget=forms.HiddenInput)

    def clean_goals(self) -> list[PlanGoal]:
        return [self._goals[pk] for pk in self.cleaned_data["goals"]]

    def clean_programme(self) -> Programme | None:
        value = self.cleaned_data["programme"]
        return self._programmes[value] if value else None

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("programme") is not None and data.get("provider_name"):
            self.add_error(
                "provider_name",
                gettext("Either a programme from the catalogue or a provider outside it."),
            )
        return data

    def measure_data(self) -> MeasureData:
        data = self.cleaned_data
        status = data.get("status", MeasureStatus.PLANNED)
        return MeasureData(
            title=data["title"],
            category=data["category"],
            goals=data["goals"],
            programme=data["programme"],
            provider_name=data["provider_name"],
            planned_start=data.get("planned_start"),
            planned_end=data.get("planned_end"),
            actual_start=data.get("actual_start"),
            actual_end=data.get("actual_end"),
            status=status,
            abort_reason=data.get("abort_reason", ""),
            result=data.get("result", ""),
            conduct_note=data.get("conduct_note", ""),
            client_view=data.get("client_view", ""),
            person=self._persons.get(data.get("person") or ""),
        )

    @staticmethod
    def initial_for(measure: Measure, goal_ids: Iterable[int]) -> dict[str, Any]:
        return {
            "title": measure.title,
            "category": measure.category,
            "goals": [str(pk) for pk in goal_ids],
            "programme": str(measure.programme_id or ""),
            "provider_name": measure.provider_name,
            "planned_start": measure.planned_start,
            "planned_end": measure.planned_end,
            "actual_start": measure.actual_start,
            "actual_end": measure.actual_end,
            "status": measure.status,
            "abort_reason": measure.abort_reason,
            "result": measure.result,
            "conduct_note": measure.conduct_note,
            "client_view": measure.client_view,
            "version": measure.version,
        }


class BookForm(forms.Form):
    period = forms.ChoiceField(label=_("Period"), widget=forms.RadioSelect)

    def __init__(self, *args: Any, periods: Sequence[Period], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._periods = {str(p.pk): p for p in periods}
        self.fields["period"].choices = [  # type: ignore[attr-defined]
            (str(p.pk), period_label(p)) for p in periods
        ]

    def clean_period(self) -> Period:
        return self._periods[self.cleaned_data["period"]]


def period_label(period: Period) -> str:
    dates = f"{_text(period.starts_on)} – {_text(period.ends_on)}"
    if period.is_full:
        state = gettext("full, %(waiting)s on the waiting list") % {"waiting": period.waiting}
    else:
        state = gettext("%(free)s of %(places)s places free") % {
            "free": period.free,
            "places": period.places,
        }
    note = f" ({period.note})" if period.note else ""
    return f"{dates}{note}: {state}"


class MeasureDocumentForm(UploadForm):
    kind = forms.ChoiceField(label=_("Kind of document"), choices=DocumentKind.choices)

    field_order = ["kind", "file"]


# --- the catalogue and the templates (canton integration office) ----------------------------


class ProviderForm(forms.ModelForm):
    class Meta:
        model = Provider
        fields = ["name", "kind", "contact_name", "email", "phone", "address", "is_active"]


class ProgrammeForm(forms.ModelForm):
    class Meta:
        model = Programme
        fields = ["provider", "name", "category", "description", "cost_per_place", "is_active"]
        widgets = {"description": forms.Textarea({"rows": 4})}

    def __init__(self, *args: Any, canton: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["provider"].queryset = Provider.objects.filter(  # type: ignore[attr-defined]
            canton=canton, is_active=True
        ).order_by("name", "pk")
        self.fields["cost_per_place"].validators.append(_not_negative)


def _not_negative(value: Any) -> None:
    if value is not None and value < 0:
        raise ValidationError(gettext("The cost cannot be negative."))


class PeriodForm(forms.Form):
    places = forms.IntegerField(label=_("Places"), min_value=1, max_value=10000)
    note = forms.CharField(
        label=_("Note"),
        max_length=200,
        required=False,
        help_text=_("For example days and times."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["starts_on"] = _date_field(_("Starts on"))
        self.fields["ends_on"] = _date_field(_("Ends on"))
        self.fields["starts_on"].required = True
        self.fields["ends_on"].required = True
        self.order_fields(["starts_on", "ends_on", "places", "note"])

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("starts_on"), data.get("ends_on")
        if start and end and end < start:
            self.add_error("ends_on", gettext("The end cannot be before the start."))
        return data


class TemplateForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200)
    goals = forms.MultipleChoiceField(
        label=_("Proposed goals"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("A new plan starts with the ultimate goal and these goals."),
    )
    categories = forms.MultipleChoiceField(
        label=_("Suggested kinds of measures"),
        choices=Category.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    is_active = forms.BooleanField(label=_("Active"), required=False, initial=True)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["goals"].choices = [  # type: ignore[attr-defined]
            (key, goal_label(key)) for key in SELECTABLE_GOALS
        ]


def situation_choices() -> list[Any]:
    """One choice per situation, grouped by kind: ``<kind>:<value>``."""
    return [
        ("", "—"),
        *[
            (
                SituationKind(kind).label,
                [(f"{kind}:{value}", label) for value, label in values.choices],
            )
            for kind, values in SITUATION_VALUES.items()
        ],
    ]


class SituationForm(forms.Form):
    """A change of a person's education, work or residence status from a date."""

    situation = forms.ChoiceField(label=_("New situation"), choices=situation_choices)
    on = forms.DateField(
        label=_("From"),
        widget=forms.DateInput(attrs=DATE_INPUT, format="%Y-%m-%d"),
    )
    note = forms.CharField(label=_("Note"), max_length=300, required=False)

    def situation_data(self) -> tuple[str, str]:
        kind, _sep, value = self.cleaned_data["situation"].partition(":")
        return kind, value


class SituationErrorForm(forms.Form):
    """Mark a situation entry as recorded in error, why, and optionally the right situation
    (decision 0021). The reason is checked by the service, in its own words."""

    reason = forms.CharField(
        label=_("Why was the entry recorded in error?"), max_length=300, required=False
    )
    situation = forms.ChoiceField(
        label=_("Right situation (optional)"), choices=situation_choices, required=False
    )
    on = forms.DateField(
        label=_("From"),
        required=False,
        widget=forms.DateInput(attrs=DATE_INPUT, format="%Y-%m-%d"),
    )
    note = forms.CharField(label=_("Note"), max_length=300, required=False)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("situation") and data.get("on") is None and "on" not in self.errors:
            self.add_error("on", gettext("Give the date from which the right situation holds."))
        if data.get("on") is not None and not data.get("situation"):
            self.add_error(
                "situation", gettext("Choose the right situation, or leave the date empty.")
            )
        return data

    def correction(self) -> SituationChange | None:
        if not self.cleaned_data.get("situation"):
            return None
        kind, _sep, value = self.cleaned_data["situation"].partition(":")
        return SituationChange(kind, value, self.cleaned_data["on"], self.cleaned_data["note"])


class MilestoneRuleForm(forms.ModelForm):
    """A new row of the canton's milestone rules, valid from a date (decision 0021)."""

    class Meta:
        model = MilestoneRule
        fields = ["key", "years", "min_age", "max_age", "warning_months", "valid_from", "note"]
        widgets = {"valid_from": forms.DateInput(attrs=DATE_INPUT, format="%Y-%m-%d")}

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        years, min_age, max_age = data.get("years"), data.get("min_age"), data.get("max_age")
        if years is not None and not 1 <= years <= 10:
            self.add_error("years", gettext("Enter a number of years from 1 to 10."))
        if min_age is not None and max_age is not None and max_age < min_age:
            self.add_error("max_age", gettext("The upper age cannot be below the lower age."))
        months = data.get("warning_months")
        if months is not None and months > 60:
            self.add_error("warning_months", gettext("Enter at most 60 months."))
        valid_from = data.get("valid_from")
        if valid_from is not None and valid_from < AIS_START:
            self.add_error(
                "valid_from",
                gettext("The AIS applies from %(date)s.") % {"date": _text(AIS_START)},
            )
        return data
