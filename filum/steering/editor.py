"""The indicator editor (D1, D3; decision 0039): the form that writes a definition in the
language of ``filum.steering.indicators`` (never a second format), the words for the dataset's
fields and operators, and a readable, field-by-field comparison of two versions.

The analyst picks tables, fields and operators from choices made from the dataset's schema
(``filum.steering.dataset.TABLES``); a value is typed and read by the field's type. A tampered
POST naming another field or operator is refused by the choice fields, in the user's language,
and the assembled definition goes through ``indicators.definition_errors`` before anything is
stored.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

from django import forms
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from filum.steering.dataset import TABLES, Column, Table
from filum.steering.indicators import MEASURES, definition_errors

TABLE_LABELS: dict[str, Promise] = {
    "persons": gettext_lazy("persons"),
    "dossiers": gettext_lazy("dossiers"),
    "segments": gettext_lazy("segment periods"),
    "language_levels": gettext_lazy("language levels"),
    "ais_milestones": gettext_lazy("AIS milestones"),
    "cii_cases": gettext_lazy("CII cases"),
}
UNIT_LABELS: dict[str, Promise] = {
    "person": gettext_lazy("persons"),
    "dossier": gettext_lazy("dossiers"),
    "cii_case": gettext_lazy("CII cases"),
}
MEASURE_LABELS: dict[str, Promise] = {
    "count": gettext_lazy("number"),
    "share": gettext_lazy("share meeting a condition"),
    "median": gettext_lazy("median of a number"),
}
OPERATOR_LABELS: dict[str, Promise] = {
    "eq": gettext_lazy("is"),
    "ne": gettext_lazy("is not"),
    "lt": gettext_lazy("is less than"),
    "le": gettext_lazy("is at most"),
    "gt": gettext_lazy("is more than"),
    "ge": gettext_lazy("is at least"),
    "in": gettext_lazy("is one of"),
    "not_in": gettext_lazy("is none of"),
    "is_null": gettext_lazy("is empty"),
    "not_null": gettext_lazy("is not empty"),
}
FIELD_LABELS: dict[str, Promise] = {
    "person": gettext_lazy("person (pseudonym)"),
    "dossier": gettext_lazy("dossier (pseudonym)"),
    "cii_case": gettext_lazy("CII case (pseudonym)"),
    "service": gettext_lazy("service"),
    "service_name": gettext_lazy("name of the service"),
    "commune": gettext_lazy("commune"),
    "birth_year": gettext_lazy("year of birth"),
    "sex": gettext_lazy("sex"),
    "nationality": gettext_lazy("nationality"),
    "residence_status": gettext_lazy("residence status"),
    "arrival_year": gettext_lazy("year of arrival"),
    "domain": gettext_lazy("domain"),
    "status": gettext_lazy("open or closed"),
    "stage": gettext_lazy("stage"),
    "segment": gettext_lazy("segment"),
    "opened_on": gettext_lazy("opening date"),
    "opened_year": gettext_lazy("year of opening"),
    "closed_on": gettext_lazy("closing date"),
    "closed_year": gettext_lazy("year of closing"),
    "closure_reason": gettext_lazy("closure reason"),
    "duration_days": gettext_lazy("duration in days"),
    "has_norm": gettext_lazy("a contact norm applies"),
    "norm_met": gettext_lazy("contact norm met"),
    "since": gettext_lazy("first day in the segment"),
    "until": gettext_lazy("last day in the segment"),
    "language": gettext_lazy("language"),
    "assessed_on": gettext_lazy("date of the assessment"),
    "assessed_year": gettext_lazy("year of the assessment"),
    "rank": gettext_lazy("CEFR rank (0 pre-A1, 1 A1 … 6 C2)"),
    "milestone": gettext_lazy("milestone"),
    "due_on": gettext_lazy("due date"),
    "due_year": gettext_lazy("year due"),
    "state": gettext_lazy("state"),
    "health": gettext_lazy("health"),
    "out_of_work": gettext_lazy("out of work"),
    "language_level": gettext_lazy("language level"),
    "education": gettext_lazy("education"),
    "debts": gettext_lazy("debts"),
    "exit_on": gettext_lazy("exit date"),
    "exit_year": gettext_lazy("year of the exit"),
    "exit_state": gettext_lazy("state at exit"),
}
TRUE_WORDS = {"true", "yes", "oui", "ja", "1"}
FALSE_WORDS = {"false", "no", "non", "nein", "0"}


def field_label(name: str) -> str:
    label = FIELD_LABELS.get(name)
    return f"{label} ({name})" if label is not None else name


def table_label(name: str) -> str:
    label = TABLE_LABELS.get(name)
    return str(label) if label is not None else name


def _unknown_field(table: str) -> str:
    # the check's own message, with Django's placeholder for the refused value
    return _("Unknown field “%(field)s” in the table “%(table)s”.") % {
        "field": "%(value)s",
        "table": table,
    }


# --- values ---------------------------------------------------------------------------------


def parse_value(column: Column, raw: str) -> Any:
    """One typed value from what the analyst wrote (ValidationError in their language)."""
    raw = raw.strip()
    if column.type == "int":
        try:
            return int(raw)
        except ValueError:
            raise forms.ValidationError(
                _("“%(value)s” is not a whole number."), params={"value": raw}
            ) from None
    if column.type == "bool":
        if raw.lower() in TRUE_WORDS:
            return True
        if raw.lower() in FALSE_WORDS:
            return False
        raise forms.ValidationError(_("“%(value)s” is not yes or no."), params={"value": raw})
    if column.type == "date":
        try:
            return datetime.date.fromisoformat(raw).isoformat()
        except ValueError:
            raise forms.ValidationError(
                _("“%(value)s” is not a date (YYYY-MM-DD)."), params={"value": raw}
            ) from None
    return raw


def value_text(value: Any) -> str:
    """A stored value as the form shows it."""
    if value is None:
        return ""
    if isinstance(value, list):
        return ", ".join(value_text(v) for v in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


# --- the form -------------------------------------------------------------------------------


class ConditionForm(forms.Form):
    """One condition {field, op, value}; a row left empty is no condition."""

    field = forms.ChoiceField(label=gettext_lazy("field"), required=False)
    op = forms.ChoiceField(
        label=gettext_lazy("operator"),
        required=False,
        choices=[("", "—"), *OPERATOR_LABELS.items()],
    )
    value = forms.CharField(
        label=gettext_lazy("value"),
        required=False,
        max_length=500,
        help_text=gettext_lazy("Several values (one of, none of): separated by commas."),
    )

    def __init__(self, *args: Any, table: Table, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.table = table
        field = cast(forms.ChoiceField, self.fields["field"])
        field.choices = [("", "—"), *((c.name, field_label(c.name)) for c in table.columns)]
        field.error_messages["invalid_choice"] = _unknown_field(table.name)
        op = self.fields["op"]
        op.error_messages["invalid_choice"] = _("Unknown operator “%(op)s”.") % {"op": "%(value)s"}

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        name, op, raw = data.get("field"), data.get("op"), data.get("value", "")
        if self.errors:
            return data
        if not name and not op and not raw:
            data["condition"] = None
            return data
        if not name:
            self.add_error("field", _("Choose a field."))
        if not op:
            self.add_error("op", _("Choose an operator."))
        if not name or not op:
            return data
        column = cast(Column, self.table.column(name))  # a choice: a column of the table
        try:
            if op in ("is_null", "not_null"):
                if raw.strip():
                    raise forms.ValidationError(
                        _("The operator “%(op)s” takes no value."),
                        params={"op": OPERATOR_LABELS[op]},
                    )
                data["condition"] = {"field": name, "op": op}
            elif op in ("in", "not_in"):
                values = [parse_value(column, part) for part in raw.split(",") if part.strip()]
                if not values:
                    raise forms.ValidationError(
                        _("The operator “%(op)s” needs a list of values."),
                        params={"op": OPERATOR_LABELS[op]},
                    )
                data["condition"] = {"field": name, "op": op, "value": values}
            else:
                if not raw.strip():
                    raise forms.ValidationError(
                        _("The operator “%(op)s” needs one value."),
                        params={"op": OPERATOR_LABELS[op]},
                    )
                data["condition"] = {"field": name, "op": op, "value": parse_value(column, raw)}
        except forms.ValidationError as error:
            self.add_error("value", error)
        return data


class BaseConditionFormSet(forms.BaseFormSet):
    def conditions(self) -> list[dict[str, Any]]:
        return [
            f.cleaned_data["condition"]
            for f in self.forms
            if f.cleaned_data.get("condition") is not None
        ]


EMPTY_ROWS = 2  # blank condition rows offered below the ones in use
ConditionFormSet = forms.formset_factory(
    ConditionForm, formset=BaseConditionFormSet, extra=EMPTY_ROWS, max_num=12, validate_max=True
)


class IndicatorForm(forms.Form):
    """Names, descriptions and the definition of one version. ``base_version`` is the version
    the change starts from (0 for a new indicator): a save checks it is still the latest."""

    base_version = forms.IntegerField(widget=forms.HiddenInput, min_value=0)
    label_fr = forms.CharField(label=gettext_lazy("name (French)"), max_length=200)
    label_de = forms.CharField(label=gettext_lazy("name (German)"), max_length=200)
    description_fr = forms.CharField(
        label=gettext_lazy("description (French)"), widget=forms.Textarea(attrs={"rows": 3})
    )
    description_de = forms.CharField(
        label=gettext_lazy("description (German)"), widget=forms.Textarea(attrs={"rows": 3})
    )
    table = forms.ChoiceField(
        label=gettext_lazy("population (table)"),
        choices=[(name, table_label(name)) for name in TABLES],
        help_text=gettext_lazy("The rows the indicator counts; the conditions below narrow them."),
    )
    measure = forms.ChoiceField(
        label=gettext_lazy("what is counted"),
        choices=[(m, MEASURE_LABELS[m]) for m in MEASURES],
        help_text=gettext_lazy(
            "A share counts the units meeting the condition (numerator) among all units of the "
            "population (denominator)."
        ),
    )
    median_field = forms.ChoiceField(label=gettext_lazy("median of"), required=False)
    dimensions = forms.MultipleChoiceField(
        label=gettext_lazy("may be split by"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    split = forms.ChoiceField(label=gettext_lazy("split shown first"), required=False)
    period = forms.ChoiceField(label=gettext_lazy("period (a year)"), required=False)

    def __init__(
        self, data: Any = None, *, initial_definition: dict[str, Any] | None = None, **kw: Any
    ) -> None:
        initial = dict(kw.pop("initial", {}) or {})
        definition = initial_definition or {}
        if definition:
            initial.update(
                table=definition.get("table"),
                measure=definition.get("measure"),
                median_field=definition.get("field", ""),
                dimensions=definition.get("dimensions", []),
                split=definition.get("split", ""),
                period=definition.get("period", ""),
            )
        super().__init__(data, initial=initial, **kw)
        name = (data.get("table") if data is not None else initial.get("table")) or "dossiers"
        self.source = TABLES.get(name) or TABLES["dossiers"]
        unknown = _unknown_field(self.source.name)
        # the dimensions in use first, in their order (the drill-down follows it), so that the
        # checkboxes post them back in that order; the others in the table's order
        if data is not None:
            chosen = list(data.getlist("dimensions") if hasattr(data, "getlist") else [])
        else:
            chosen = list(initial.get("dimensions") or [])
        dims = sorted(
            ((c.name, field_label(c.name)) for c in self.source.columns if c.dimension),
            key=lambda d: chosen.index(d[0]) if d[0] in chosen else len(chosen),
        )
        numbers = [(c.name, field_label(c.name)) for c in self.source.columns if c.type == "int"]
        choices: dict[str, list[tuple[str, str]]] = {
            "median_field": [("", "—"), *numbers],
            "dimensions": dims,
            "split": [("", "—"), *dims],
            "period": [("", "—"), *(d for d in dims if d[0].endswith("_year"))],
        }
        for field_name, values in choices.items():
            field = cast(forms.ChoiceField, self.fields[field_name])
            field.choices = values
            field.error_messages["invalid_choice"] = unknown
        self.fields["measure"].error_messages["invalid_choice"] = _(
            "Unknown measure “%(measure)s”."
        ) % {"measure": "%(value)s"}
        self.fields["table"].error_messages["invalid_choice"] = _("Unknown table “%(table)s”.") % {
            "table": "%(value)s"
        }
        self.where = self._conditions("where", data, definition.get("where", []))
        self.condition = self._conditions("condition", data, definition.get("condition", []))

    def _conditions(
        self, prefix: str, data: Any, conditions: Sequence[dict[str, Any]]
    ) -> BaseConditionFormSet:
        initial = [
            {"field": c.get("field"), "op": c.get("op"), "value": value_text(c.get("value"))}
            for c in conditions
        ]
        formset = ConditionFormSet(
            data, prefix=prefix, initial=initial, form_kwargs={"table": self.source}
        )
        return cast(BaseConditionFormSet, formset)

    def is_valid(self) -> bool:
        valid = super().is_valid()
        # every part is checked, so each shows its own errors
        where, condition = self.where.is_valid(), self.condition.is_valid()
        return valid and where and condition and not self.errors

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        dimensions = data.get("dimensions") or []
        for key in ("split", "period"):
            if data.get(key) and data[key] not in dimensions:
                self.add_error(
                    key,
                    _("The field “%(field)s” is not among the dimensions.")
                    % {"field": field_label(data[key])},
                )
        measure = data.get("measure")
        if measure == "median" and not data.get("median_field"):
            self.add_error("median_field", _("A median needs a number field."))
        if measure != "median" and data.get("median_field"):
            self.add_error("median_field", _("Only a median has a field."))
        return data

    def definition(self) -> dict[str, Any]:
        """The definition in the indicators' language (call after ``is_valid``)."""
        data = self.cleaned_data
        definition: dict[str, Any] = {
            "table": data["table"],
            "where": self.where.conditions(),
            "measure": data["measure"],
        }
        if data["measure"] == "share":
            definition["condition"] = self.condition.conditions()
        if data["measure"] == "median":
            definition["field"] = data["median_field"]
        definition["dimensions"] = list(data.get("dimensions") or [])
        for key in ("split", "period"):
            if data.get(key):
                definition[key] = data[key]
        return definition

    def check(self) -> bool:
        """The form, then the definition language's own check; its errors go to the field they
        concern (the condition of a share) or to the whole form."""
        if not self.is_valid():
            return False
        definition = self.definition()
        if definition["measure"] == "share" and not definition["condition"]:
            self.add_error(None, _("A share needs a condition."))
            return False
        if definition["measure"] != "share" and self.condition.conditions():
            self.add_error(None, _("Only a share has a condition."))
            return False
        errors = definition_errors(definition)
        for error in errors:
            self.add_error(None, error)
        return not errors

    def texts(self) -> dict[str, str]:
        return {
            k: self.cleaned_data[k]
            for k in ("label_fr", "label_de", "description_fr", "description_de")
        }


def initial_texts(definition: Any) -> dict[str, Any]:
    return {
        "base_version": definition.version,
        "label_fr": definition.label_fr,
        "label_de": definition.label_de,
        "description_fr": definition.description_fr,
        "description_de": definition.description_de,
    }


# --- reading and comparing versions ---------------------------------------------------------


def condition_text(item: dict[str, Any], labels: Any) -> str:
    name, op = str(item.get("field")), str(item.get("op"))
    value = item.get("value")
    if op in ("is_null", "not_null"):
        shown = ""
    elif isinstance(value, list):
        shown = ", ".join(labels(name, v) for v in value)
    else:
        shown = labels(name, value)
    words = [field_label(name), str(OPERATOR_LABELS.get(op, op)), shown]
    return " ".join(w for w in words if w)


@dataclass
class Line:
    label: str
    old: str
    new: str

    @property
    def changed(self) -> bool:
        return self.old != self.new


def readable(version: Any, labels: Any) -> dict[str, tuple[str, str]]:
    """A version as (label, text) per part, in the reader's language, in a fixed order."""
    data = version.definition
    table = TABLES.get(data.get("table"))

    def conditions(items: Any) -> str:
        return "; ".join(condition_text(c, labels) for c in items or []) or "—"

    measure = str(MEASURE_LABELS.get(data.get("measure"), data.get("measure")))
    if table is not None:
        measure = f"{measure} ({UNIT_LABELS.get(table.unit, table.unit)})"
    return {
        "label_fr": (_("name (French)"), version.label_fr),
        "label_de": (_("name (German)"), version.label_de),
        "description_fr": (_("description (French)"), version.description_fr),
        "description_de": (_("description (German)"), version.description_de),
        "table": (_("population (table)"), table_label(str(data.get("table")))),
        "where": (_("population: conditions"), conditions(data.get("where"))),
        "measure": (_("what is counted"), measure),
        "condition": (_("counted when (numerator of a share)"), conditions(data.get("condition"))),
        "field": (_("median of"), field_label(data["field"]) if data.get("field") else "—"),
        "dimensions": (
            _("may be split by"),
            ", ".join(field_label(d) for d in data.get("dimensions", [])) or "—",
        ),
        "split": (_("split shown first"), field_label(data["split"]) if "split" in data else "—"),
        "period": (_("period (a year)"), field_label(data["period"]) if "period" in data else "—"),
        "retired": (_("retired"), _("yes") if version.retired else _("no")),
    }


def compare(old: Any, new: Any, labels: Any) -> list[Line]:
    """Field by field, every part of two versions (``Line.changed`` marks the differences)."""
    a, b = readable(old, labels), readable(new, labels)
    return [Line(label, a[key][1], b[key][1]) for key, (label, _text) in a.items()]
