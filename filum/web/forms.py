"""Form helpers shared by the apps' views."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.forms.models import ModelChoiceIterator
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

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


def _attrs_html(attrs: dict[str, Any]) -> str:
    """Django's ``django/forms/widgets/attrs.html``, written in Python."""
    parts = []
    for name, value in attrs.items():
        if value is False:
            continue
        if value is True:
            parts.append(format_html(" {}", name))
        else:
            parts.append(format_html(' {}="{}"', name, str(value)))
    return "".join(parts)


class Select(forms.Select):
    """Django's select with its options written in Python (U4): Django renders two templates
    per option (the option and its attributes), 3 ms for the contact form's 30 options. The
    HTML is the same as Django's, character for character (tests/test_journal.py)."""

    def render(
        self,
        name: str,
        value: Any,
        attrs: dict[str, Any] | None = None,
        renderer: Any = None,
    ) -> SafeString:
        widget = self.get_context(name, value, attrs)["widget"]
        html = [format_html('<select name="{}"', widget["name"]), _attrs_html(widget["attrs"]), ">"]
        for group_name, options, _index in widget["optgroups"]:
            if group_name:
                html.append(format_html('\n  <optgroup label="{}">', group_name))
            for option in options:
                html.append(
                    format_html(
                        '\n  <option value="{}"{}>{}</option>\n',
                        str(option["value"]),
                        mark_safe(_attrs_html(option["attrs"])),  # noqa: S308 (escaped above)
                        option["label"],
                    )
                )
            if group_name:
                html.append("\n  </optgroup>")
        html.append("\n</select>")
        return mark_safe("".join(html))  # noqa: S308 (every part escaped by format_html)


class ListedChoiceIterator(ModelChoiceIterator):
    """A model choice field's options from one plain query (U4). Django reads them with
    ``.iterator()``, on PostgreSQL a server-side cursor: a declared cursor and more round trips
    for a dozen rows, several times the CPU of the plain query."""

    def __iter__(self) -> Iterator[tuple[Any, Any]]:
        if self.field.empty_label is not None:
            yield ("", self.field.empty_label)
        for obj in self.queryset:
            yield self.choice(obj)
