"""Forms of the template editor and of the assessment pages (the questions themselves are
built from the template by ``filum.assessments.answers.section_form``)."""

from __future__ import annotations

import datetime
from typing import Any

from django import forms
from django.core.validators import RegexValidator
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from filum.assessments.models import (
    CODED_KINDS,
    KEY_PATTERN,
    CodeList,
    FieldKind,
    TemplateField,
    TemplateVersion,
)
from filum.people.forms import DateInput
from filum.people.models import Person
from filum.web.forms import limit_dates

key_validator = RegexValidator(
    KEY_PATTERN,
    _("A key starts with a small letter and has only small letters, digits and underscores."),
)
KEY_HELP = _(
    "Names the entry in the data, across versions (history and lists follow it): small "
    "letters, digits and underscores, e.g. german_level."
)


KEY_LABEL = _("Key")


def key_field(label: Any = KEY_LABEL) -> forms.CharField:
    return forms.CharField(
        label=label, max_length=48, validators=[key_validator], help_text=KEY_HELP
    )


class TemplateCreateForm(forms.Form):
    code = key_field(_("Code"))
    name_fr = forms.CharField(label=_("Name (French)"), max_length=200)
    name_de = forms.CharField(label=_("Name (German)"), max_length=200)


class SectionForm(forms.Form):
    key = key_field()
    label_fr = forms.CharField(label=_("Title (French)"), max_length=200)
    label_de = forms.CharField(label=_("Title (German)"), max_length=200)
    help_fr = forms.CharField(
        label=_("Help text (French)"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    help_de = forms.CharField(
        label=_("Help text (German)"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


class FieldForm(forms.Form):
    key = key_field()
    kind = forms.ChoiceField(label=_("Type"), choices=FieldKind.choices)
    code_list = forms.ModelChoiceField(
        label=_("Code list"),
        queryset=CodeList.objects.none(),
        required=False,
        help_text=_("For choices and language levels (the list of languages)."),
    )
    required = forms.BooleanField(label=_("Required to finalise"), required=False)
    in_synthesis = forms.BooleanField(
        label=_("Shown in the synthesis"),
        required=False,
        help_text=TemplateField._meta.get_field("in_synthesis").help_text,
    )
    label_fr = forms.CharField(label=_("Label (French)"), max_length=200)
    label_de = forms.CharField(label=_("Label (German)"), max_length=200)
    help_fr = forms.CharField(
        label=_("Help text (French)"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    help_de = forms.CharField(
        label=_("Help text (German)"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args: Any, version: TemplateVersion, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["code_list"].queryset = CodeList.objects.filter(version=version)  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("kind") in CODED_KINDS and not data.get("code_list"):
            self.add_error("code_list", _("Choose the code list of this field."))
        return data


class CodeListForm(forms.Form):
    key = key_field()
    label_fr = forms.CharField(label=_("Name (French)"), max_length=200)
    label_de = forms.CharField(label=_("Name (German)"), max_length=200)
    ordinal = forms.BooleanField(
        label=_("Ordered levels"),
        required=False,
        help_text=CodeList._meta.get_field("ordinal").help_text,
    )


class CodeItemForm(forms.Form):
    code = forms.CharField(label=_("Code"), max_length=48, validators=[key_validator])
    label_fr = forms.CharField(label=_("Label (French)"), max_length=200)
    label_de = forms.CharField(label=_("Label (German)"), max_length=200)


class BaseItemFormSet(forms.BaseFormSet):
    def clean(self) -> None:
        if any(self.errors):
            return
        codes = [
            f.cleaned_data["code"]
            for f in self.forms
            if f.cleaned_data and not f.cleaned_data.get("DELETE")
        ]
        if len(codes) != len(set(codes)):
            raise forms.ValidationError(_("Each code appears once in a list."))
        if not codes:
            raise forms.ValidationError(_("A code list has at least one entry."))


def kept_items(formset: Any) -> list[dict[str, Any]]:
    """The rows of a valid item formset that are kept, in their order."""
    rows = [
        f
        for f in formset.forms
        if f.cleaned_data and not f.cleaned_data.get("DELETE") and f.cleaned_data.get("code")
    ]
    rows.sort(key=lambda f: f.cleaned_data.get("ORDER") or 0)
    return [{k: f.cleaned_data[k] for k in ("code", "label_fr", "label_de")} for f in rows]


ItemFormSet = forms.formset_factory(
    CodeItemForm, formset=BaseItemFormSet, extra=3, can_delete=True, can_order=True
)


class PublishForm(forms.Form):
    note = forms.CharField(label=_("What changed"), max_length=300, required=False)


class StartForm(forms.Form):
    """A new assessment: who, with which template, on which day."""

    person = forms.TypedChoiceField(label=_("Person"), coerce=str)
    version = forms.TypedChoiceField(label=_("Template"), coerce=int)
    assessed_on = forms.DateField(label=_("Date of the assessment"), widget=DateInput())

    def __init__(
        self,
        *args: Any,
        persons: list[Person],
        versions: list[TemplateVersion],
        opened_on: datetime.date,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["person"].choices = [  # type: ignore[attr-defined]
            (str(p.pk), f"{p.last_name} {p.first_name}") for p in persons
        ]
        self.fields["version"].choices = [  # type: ignore[attr-defined]
            (v.pk, f"{v.template.name} (v{v.number})") for v in versions
        ]
        if not self.is_bound:
            self.initial.setdefault("assessed_on", timezone.localdate())
            if persons:
                self.initial.setdefault("person", str(persons[0].pk))
        limit_dates(self, "assessed_on", future=False, opened_on=opened_on)


class DraftForm(forms.Form):
    """The date and revision of an assessment being filled in."""

    assessed_on = forms.DateField(label=_("Date of the assessment"), widget=DateInput())
    revision = forms.IntegerField(widget=forms.HiddenInput)

    def __init__(self, *args: Any, opened_on: datetime.date, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        limit_dates(self, "assessed_on", future=False, opened_on=opened_on)
