from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from filum.people.forms import DateInput
from filum.tenancy.models import User
from filum.web.forms import limit_dates


class FindCaseForm(forms.Form):
    number = forms.IntegerField(label=_("Dossier number"), min_value=1)


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
