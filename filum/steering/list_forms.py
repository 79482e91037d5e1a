"""The person list's filter form and the saved-list form (D4, decision 0034)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.http import QueryDict
from django.utils.translation import gettext_lazy as _

from filum.assessments.models import CEFR_LABELS, CEFR_LEVELS, CEFR_RANK, Dimension
from filum.cases.models import Segment, Stage
from filum.people.models import ResidenceStatus
from filum.plans.models import Category, MeasureStatus, Programme
from filum.steering.person_lists import RESOURCES, PersonFilter
from filum.web.forms import CheckboxSelectMultiple, ListedChoiceIterator, Select

COMPETENCE_CHOICES = [
    ("", _("All dossiers I may read")),
    ("mine", _("Dossiers I am responsible for")),
    ("own", _("Dossiers of my organisation")),
    ("shared", _("Dossiers shared with my organisation")),
]
CASE_STATUS_CHOICES = [("open", _("open")), ("closed", _("closed")), ("all", _("all"))]
RESOURCE_LABELS: dict[str, Any] = {
    "work_capacity": _("Capacity to work over 50 %"),
    "availability": _("Available for measures"),
    "work_in_switzerland": _("Work experience in Switzerland"),
    "driving_licence": _("Driving licence"),
    "social_network": _("Social network medium or high"),
}
LANGUAGE_CHOICES = [
    ("", _("best national language")),
    ("de", _("German")),
    ("fr", _("French")),
    ("it", _("Italian")),
    ("en", _("English")),
]
LEVEL_CHOICES = [("", "—"), *((code, CEFR_LABELS[code]) for code in CEFR_LEVELS)]

# The form's fields that hold several values (a saved list keeps them as lists).
MULTI = ("residence_status", "stage", "segment", "measure_category", "measure_status", "resource")


def _ticks(label: Any, choices: Any) -> forms.MultipleChoiceField:
    """An optional filter of several values, shown as checkboxes."""
    return forms.MultipleChoiceField(
        label=label, choices=choices, required=False, widget=CheckboxSelectMultiple
    )


def _choice(label: Any, choices: Any) -> forms.ChoiceField:
    """An optional filter of one value, shown as a select written in Python."""
    return forms.ChoiceField(label=label, choices=choices, required=False, widget=Select)


class ProgrammeChoiceField(forms.ModelChoiceField):
    """A canton's programmes (hundreds) from one plain query, rendered in Python: their
    option templates took most of the list page's time (decision 0034)."""

    iterator = ListedChoiceIterator


class PersonFilterForm(forms.Form):
    """Every field optional; the form is bound to the query string."""

    competence = _choice(_("Dossiers"), COMPETENCE_CHOICES)
    case_status = _choice(_("Dossier status"), CASE_STATUS_CHOICES)
    residence_status = _ticks(_("Residence status"), ResidenceStatus.choices)
    age_min = forms.IntegerField(label=_("Age from"), min_value=0, max_value=120, required=False)
    age_max = forms.IntegerField(label=_("Age to"), min_value=0, max_value=120, required=False)
    stay_min = forms.IntegerField(
        label=_("Years in Switzerland from"), min_value=0, max_value=100, required=False
    )
    stay_max = forms.IntegerField(
        label=_("Years in Switzerland to"), min_value=0, max_value=100, required=False
    )
    stage = _ticks(_("Stage"), Stage.choices)
    segment = _ticks(_("Segment"), Segment.choices)
    measure_category = _ticks(_("Measure of the kind"), Category.choices)
    measure_programme = ProgrammeChoiceField(
        label=_("Measure in the programme"),
        queryset=Programme.objects.none(),
        required=False,
        widget=Select,
    )
    measure_status = _ticks(_("Measure status"), MeasureStatus.choices)
    resource = _ticks(
        _("Resources (latest assessment)"), [(key, RESOURCE_LABELS[key]) for key in RESOURCES]
    )
    language = _choice(_("Language"), LANGUAGE_CHOICES)
    dimension = _choice(_("Skill"), Dimension.choices)
    level_min = _choice(_("Level from"), LEVEL_CHOICES)
    level_max = _choice(_("Level to"), LEVEL_CHOICES)

    def __init__(self, *args: Any, canton: str = "", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["measure_programme"]
        if isinstance(field, forms.ModelChoiceField):
            field.queryset = (
                Programme.objects.filter(canton=canton).only("id", "name").order_by("name", "id")
            )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        for low, high in (("age_min", "age_max"), ("stay_min", "stay_max")):
            if data.get(low) is not None and data.get(high) is not None:
                if data[low] > data[high]:
                    self.add_error(high, _("The upper bound is below the lower bound."))
        level_min, level_max = data.get("level_min"), data.get("level_max")
        if level_min and level_max and CEFR_RANK[level_min] > CEFR_RANK[level_max]:
            self.add_error("level_max", _("The upper bound is below the lower bound."))
        return data

    def to_filter(self) -> PersonFilter:
        data = self.cleaned_data
        programme = data.get("measure_programme")
        return PersonFilter(
            competence=data.get("competence") or "",
            case_status=data.get("case_status") or "open",
            residence_statuses=tuple(data.get("residence_status") or ()),
            age_min=data.get("age_min"),
            age_max=data.get("age_max"),
            stay_min=data.get("stay_min"),
            stay_max=data.get("stay_max"),
            stages=tuple(data.get("stage") or ()),
            segments=tuple(data.get("segment") or ()),
            measure_categories=tuple(data.get("measure_category") or ()),
            measure_programme=programme.pk if programme is not None else None,
            measure_statuses=tuple(data.get("measure_status") or ()),
            resources=tuple(data.get("resource") or ()),
            language=data.get("language") or "",
            dimension=data.get("dimension") or "oral",
            level_min=data.get("level_min") or "",
            level_max=data.get("level_max") or "",
        )

    def described(self) -> list[tuple[str, str]]:
        """The set parts of the filter as (label, value) in the user's language, for the page
        and the files."""
        lines: list[tuple[str, str]] = []
        data = self.cleaned_data
        for name, field in self.fields.items():
            value = data.get(name)
            if value in (None, "", [], ()):
                continue
            if name == "dimension" and not (data.get("level_min") or data.get("level_max")):
                continue
            if name == "case_status" and value == "open":
                pass  # shown: the list's default is written down, too
            choices = dict(getattr(field, "choices", ()))
            if isinstance(value, list):
                text = ", ".join(str(choices.get(v, v)) for v in value)
            elif choices and not isinstance(field, forms.ModelChoiceField):
                text = str(choices.get(value, value))
            else:
                text = str(value)
            lines.append((str(field.label), text))
        return lines


def stored_filters(query: QueryDict) -> dict[str, Any]:
    """The filter part of a query string as a saved list keeps it: the form's fields only,
    several values as lists, empty values left out."""
    kept: dict[str, Any] = {}
    for name in PersonFilterForm.base_fields:
        if name in MULTI:
            values = [v for v in query.getlist(name) if v]
            if values:
                kept[name] = values
        elif query.get(name):
            kept[name] = query.get(name)
    return kept


def as_query(filters: dict[str, Any]) -> QueryDict:
    query = QueryDict(mutable=True)
    for name, value in filters.items():
        if isinstance(value, list):
            query.setlist(name, [str(v) for v in value])
        else:
            query[name] = str(value)
    return query


class SavedListForm(forms.Form):
    name = forms.CharField(label=_("Name of the list"), max_length=100, strip=True)
