"""Form helpers shared by the apps' views."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone

from filum.dates import LegalDateValidator


def add_service_errors(form: forms.BaseForm, exc: ValidationError) -> None:
    """Show a service's ValidationError on the form: field errors beside their field (or at
    the top when the form has no such field), other errors at the top."""
    if hasattr(exc, "error_dict"):
        for name, errors in exc.message_dict.items():
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


def limit_dates(form: forms.BaseForm, *names: str, **rules: Any) -> None:
    """Bound the named date fields of a form to the plausible range of legal dates
    (``filum.dates.date_error``: ``birth``, ``future``, ``opened_on``); the date picker gets the
    same bounds as ``min``/``max``."""
    validator = LegalDateValidator(today=timezone.localdate(), **rules)
    earliest, latest = validator.bounds()
    for name in names:
        field = form.fields[name]
        field.validators.append(validator)
        field.widget.attrs.update(min=earliest.isoformat(), max=latest.isoformat())
