"""Form helpers shared by the apps' views."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.forms.models import ModelChoiceIterator
from django.utils import timezone
from django.utils.html import conditional_escape, format_html
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


class _WrittenInPython:
    """A choice widget whose HTML is written by ``html(context)`` instead of Django's
    templates: Django renders two or three templates per option (U4)."""

    get_context: Callable[..., dict[str, Any]]  # forms.Widget's, second in the bases
    html: Callable[[dict[str, Any]], str]  # each widget's own, from its template context

    def render(
        self,
        name: str,
        value: Any,
        attrs: dict[str, Any] | None = None,
        renderer: Any = None,
    ) -> SafeString:
        html = self.html(self.get_context(name, value, attrs)["widget"])
        return mark_safe(html)  # noqa: S308 (every part escaped by html())


class Select(_WrittenInPython, forms.Select):
    """Django's select with its options written in Python (U4): 3 ms for the contact form's 30
    options, most of the person list's time for its hundreds of programmes. The HTML is the
    same as Django's, character for character (tests/test_journal.py)."""

    def html(self, widget: dict[str, Any]) -> str:
        esc = conditional_escape
        html = [format_html('<select name="{}"', widget["name"]), _attrs_html(widget["attrs"]), ">"]
        for group_name, options, _index in widget["optgroups"]:
            if group_name:
                html.append(format_html('\n  <optgroup label="{}">', group_name))
            for option in options:
                # f-strings over conditional_escape: format_html per option cost more than
                # the rest of a select of hundreds
                attrs = _attrs_html(option["attrs"]) if option["attrs"] else ""
                html.append(
                    f'\n  <option value="{esc(str(option["value"]))}"{attrs}>'
                    f"{esc(option['label'])}</option>\n"
                )
            if group_name:
                html.append("\n  </optgroup>")
        html.append("\n</select>")
        return "".join(html)


class CheckboxSelectMultiple(_WrittenInPython, forms.CheckboxSelectMultiple):
    """Django's checkboxes with their options written in Python (U4): three templates per
    option (the option, the input, its attributes), some forty in the person list's filter.
    The HTML is the same as Django's, character for character (tests/test_person_lists.py)."""

    def html(self, widget: dict[str, Any]) -> str:
        esc = conditional_escape
        outer = widget["attrs"]
        html = ["<div"]
        if outer.get("id"):
            html.append(format_html(' id="{}"', outer["id"]))
        if outer.get("class"):
            html.append(format_html(' class="{}"', outer["class"]))
        html.append(">")
        for group_name, options, _index in widget["optgroups"]:
            if group_name:
                html.append(format_html("\n  <div><label>{}</label>", group_name))
            for option in options:
                option_id = option["attrs"].get("id")
                label_for = f' for="{esc(option_id)}"' if option_id else ""
                value = option["value"]
                value_attr = f' value="{esc(str(value))}"' if value is not None else ""
                html.append(
                    f'<div>\n    <label{label_for}><input type="{esc(option["type"])}"'
                    f' name="{esc(option["name"])}"{value_attr}{_attrs_html(option["attrs"])}>'
                    f"\n {esc(option['label'])}</label>\n\n</div>"
                )
            if group_name:
                html.append("\n  </div>")
        html.append("\n</div>")
        return "".join(html)


class ListedChoiceIterator(ModelChoiceIterator):
    """A model choice field's options from one plain query (U4). Django reads them with
    ``.iterator()``, on PostgreSQL a server-side cursor: a declared cursor and more round trips
    for a dozen rows, several times the CPU of the plain query."""

    def __iter__(self) -> Iterator[tuple[Any, Any]]:
        if self.field.empty_label is not None:
            yield ("", self.field.empty_label)
        for obj in self.queryset:
            yield self.choice(obj)
