"""Forms of the template editor and of the assessment pages (the questions themselves are
built from the template by ``filum.assessments.answers.section_form``)."""

from __future__ import annotations

import datetime
import re
from typing import Any

from django import forms
from django.core.validators import RegexValidator
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from filum.assessments.models import (
    CODED_KINDS,
    KEY_PATTERN,
    CodeList,
    FieldKind,
    LinkChannel,
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


def choose_person_and_version(
    form: forms.Form, persons: list[Person], versions: list[TemplateVersion]
) -> None:
    """The choices of a form's ``person`` (the dossier's client first) and ``version`` (the
    canton's current forms)."""
    form.fields["person"].choices = [  # type: ignore[attr-defined]
        (str(p.pk), f"{p.last_name} {p.first_name}") for p in persons
    ]
    form.fields["version"].choices = [  # type: ignore[attr-defined]
        (v.pk, f"{v.template.name} (v{v.number})") for v in versions
    ]
    if not form.is_bound and persons:
        form.initial.setdefault("person", str(persons[0].pk))


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
        choose_person_and_version(self, persons, versions)
        if not self.is_bound:
            self.initial.setdefault("assessed_on", timezone.localdate())
        limit_dates(self, "assessed_on", future=False, opened_on=opened_on)


class DraftForm(forms.Form):
    """The date and revision of an assessment being filled in."""

    assessed_on = forms.DateField(label=_("Date of the assessment"), widget=DateInput())
    revision = forms.IntegerField(widget=forms.HiddenInput)

    def __init__(self, *args: Any, opened_on: datetime.date, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        limit_dates(self, "assessed_on", future=False, opened_on=opened_on)


def normalise_phone(value: str) -> str:
    """A mobile number as +<country><number>: Swiss numbers may be typed 079 123 45 67."""
    digits = re.sub(r"[\s./()-]", "", value)
    if digits.startswith("00"):
        digits = "+" + digits[2:]
    elif digits.startswith("0"):
        digits = "+41" + digits[1:]
    if not re.fullmatch(r"\+[1-9]\d{7,14}", digits) or (
        digits.startswith("+41") and len(digits) != 12
    ):
        raise forms.ValidationError(
            _("Enter a mobile number such as 079 123 45 67 or +41 79 123 45 67.")
        )
    return digits


class LinkForm(forms.Form):
    """A link for a provider to fill in one form (or some of its sections) about one person
    of the dossier (A8)."""

    person = forms.TypedChoiceField(label=_("Person"), coerce=str)
    version = forms.TypedChoiceField(label=_("Form"), coerce=int)
    sections = forms.MultipleChoiceField(
        label=_("Sections to fill in"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("None chosen: the whole form."),
    )
    provider = forms.TypedChoiceField(
        label=_("Provider from the catalogue"),
        coerce=int,
        empty_value=None,
        required=False,
        help_text=_("Or type the recipient's name and address below."),
    )
    recipient = forms.CharField(
        label=_("Recipient"),
        max_length=200,
        required=False,
        help_text=_("Empty: the provider's contact person or name."),
    )
    channel = forms.ChoiceField(
        label=_("Send by"),
        choices=LinkChannel.choices,
        initial=LinkChannel.EMAIL,
        widget=forms.RadioSelect,
    )
    email = forms.EmailField(
        label=_("E-mail"), required=False, help_text=_("Empty: the provider's e-mail.")
    )
    phone = forms.CharField(
        label=_("Mobile phone"),
        max_length=30,
        required=False,
        help_text=_("Empty: the provider's telephone."),
    )
    days = forms.TypedChoiceField(label=_("Valid for"), coerce=int)

    def __init__(
        self,
        *args: Any,
        persons: list[Person],
        versions: list[TemplateVersion],
        sections: list[tuple[str, str]],
        providers: list[Any],
        lifetimes: tuple[int, ...],
        default_days: int,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        choose_person_and_version(self, persons, versions)
        self.fields["sections"].choices = sections  # type: ignore[attr-defined]
        self.fields["provider"].choices = [  # type: ignore[attr-defined]
            ("", "—"),
            *((p.pk, p.name) for p in providers),
        ]
        self.providers = {p.pk: p for p in providers}
        self.fields["days"].choices = [  # type: ignore[attr-defined]
            (n, ngettext("%(n)d day", "%(n)d days", n) % {"n": n}) for n in lifetimes
        ]
        if not self.is_bound:
            self.initial.setdefault("days", default_days)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        provider = self.providers.get(data.get("provider") or 0)
        data["provider"] = provider
        if not data.get("recipient"):
            named = provider and (provider.contact_name or provider.name)
            if named:
                data["recipient"] = named
            else:
                self.add_error("recipient", _("Name the recipient or choose a provider."))
        channel = data.get("channel")
        if channel == LinkChannel.EMAIL and not data.get("email"):
            if provider and provider.email:
                data["email"] = provider.email
            elif "email" not in self.errors:
                self.add_error("email", _("An e-mail address is needed to send by e-mail."))
        if channel == LinkChannel.SMS:
            phone = data.get("phone") or (provider.phone if provider else "")
            if not phone:
                self.add_error("phone", _("A mobile number is needed to send an SMS."))
            else:
                try:
                    data["phone"] = normalise_phone(phone)
                except forms.ValidationError as exc:
                    self.add_error("phone", exc)
        return data


class RejectForm(forms.Form):
    reason = forms.CharField(
        label=_("Why is the entry rejected?"),
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Kept with the entry; the provider is not told."),
    )
