from __future__ import annotations

from typing import Any

from django import forms
from django.core.validators import MaxLengthValidator
from django.utils.translation import gettext_lazy as _

from filum.people.models import BirthDateKnown, Person, clean_ahv_number
from filum.web.forms import limit_dates


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(format="%Y-%m-%d", **kwargs)


class PersonSearchForm(forms.Form):
    q = forms.CharField(label=_("Name"), max_length=100, required=False)


class DuplicateCheckForm(forms.Form):
    # The AHV number alone is enough to find a duplicate, so no field is required.
    last_name = forms.CharField(label=_("Last name"), max_length=100, required=False)
    first_name = forms.CharField(label=_("First name"), max_length=100, required=False)
    birth_date = forms.DateField(label=_("Birth date"), required=False, widget=DateInput())
    ahv_number = forms.CharField(label=_("AHV number"), max_length=16, required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        limit_dates(self, "birth_date", birth=True, future=False)

    def clean_ahv_number(self) -> str:
        value = self.cleaned_data.get("ahv_number", "").strip()
        return clean_ahv_number(value) if value else ""


class PersonForm(forms.ModelForm):
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    class Meta:
        model = Person
        fields = [
            "last_name",
            "first_name",
            "birth_date",
            "birth_date_known",
            "sex",
            "nationality",
            "residence_status",
            "arrival_date",
            "languages",
            "ahv_number",
            "street",
            "postal_code",
            "city",
            "phone",
            "email",
        ]
        widgets = {"birth_date": DateInput(), "arrival_date": DateInput()}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        limit_dates(self, "birth_date", birth=True, future=False)
        limit_dates(self, "arrival_date", future=False)
        # a form sent without the choice (older pages, scripts) means a full date
        self.fields["birth_date_known"].required = False
        # People type the dotted form (756.nnnn.nnnn.nn, 16 characters); the model's
        # 13-character limit applies to the compact form that clean_ahv_number returns.
        ahv_field = self.fields["ahv_number"]
        ahv_field.max_length = 16  # type: ignore[attr-defined]
        ahv_field.validators = [
            v for v in ahv_field.validators if not isinstance(v, MaxLengthValidator)
        ] + [MaxLengthValidator(16)]
        self.fields["ahv_number"].widget.attrs["maxlength"] = 16
        self.fields["ahv_number"].help_text = _("756.nnnn.nnnn.nn")
        if not self.instance._state.adding:  # a new person has a pk (a UUID) already
            self.fields["version"].initial = self.instance.version
            self.initial["ahv_number"] = self.instance.ahv_display

    def clean_ahv_number(self) -> str | None:
        value = (self.cleaned_data.get("ahv_number") or "").strip()
        if not value:
            return None
        compact = clean_ahv_number(value)
        clash = Person.objects.filter(ahv_number=compact).exclude(pk=self.instance.pk)
        if clash.exists():
            raise forms.ValidationError(
                _("A person with this AHV number is already registered."), code="ahv_taken"
            )
        return compact

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        known = data.get("birth_date_known") or BirthDateKnown.DAY
        data["birth_date_known"] = known
        birth = data.get("birth_date")
        # a partly known birth date is stored as the first day of what is known
        if birth is not None and known == BirthDateKnown.YEAR:
            data["birth_date"] = birth.replace(month=1, day=1)
        elif birth is not None and known == BirthDateKnown.MONTH:
            data["birth_date"] = birth.replace(day=1)
        return data

    def clean_nationality(self) -> str:
        value = (self.cleaned_data.get("nationality") or "").strip().upper()
        if value and (len(value) != 2 or not value.isalpha()):
            raise forms.ValidationError(_("Use the two-letter country code, e.g. CH."))
        return value


class Ech0044UploadForm(forms.Form):
    """A person's eCH-0044 identification (XML) to fill in the registration form."""

    file = forms.FileField(
        label=_("eCH-0044 file (XML)"),
        help_text=_("A person identification of eCH-0044 version 4 from another system."),
    )
