from __future__ import annotations

import re
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from filum.people.forms import DateInput
from filum.tenancy.models import User
from filum.web.forms import limit_dates

# "D-0001027" as the dossier shows it, "d 1027", "0001027" or "1027": the digits are the number.
REFERENCE = re.compile(r"^\s*(?:D\s*-?\s*)?0*(\d{1,18})\s*$", re.IGNORECASE)


class FindCaseForm(forms.Form):
    number = forms.CharField(
        label=_("Dossier number"),
        max_length=30,
        help_text=_("As shown on the dossier, for example D-0001027, or the number alone."),
    )

    def clean_number(self) -> int:
        match = REFERENCE.match(self.cleaned_data["number"])
        if match is None or int(match.group(1)) < 1:
            raise forms.ValidationError(
                _("Enter a dossier reference such as D-0001027, or its number.")
            )
        return int(match.group(1))


class AuditFilterForm(forms.Form):
    user = forms.ModelChoiceField(label=_("Person"), queryset=User.objects.none(), required=False)
    date_from = forms.DateField(label=_("From"), required=False, widget=DateInput())
    date_to = forms.DateField(label=_("To"), required=False, widget=DateInput())

    def __init__(self, *args: Any, users: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["user"].queryset = users  # type: ignore[attr-defined]
        limit_dates(self, "date_from", "date_to")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("date_from") and data.get("date_to") and data["date_from"] > data["date_to"]:
            raise forms.ValidationError(_("The start date is after the end date."))
        return data
