"""A template version's structure, the Django form of one of its sections, and the answers.

``load_structure`` reads a version in three queries. ``section_form`` builds the form of one
section from it: the assessment page shows one per section, and a page that asks for a single
section (a provider's input through a link, A8) uses the same function. The answers of an
assessment are a dict ``{field key: value}`` holding only filled fields; this module also turns
them into text in the reader's language and into the flattened rows of ``AssessmentAnswer``.
"""

from __future__ import annotations

import dataclasses
import datetime
import decimal
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, TypedDict

from django import forms
from django.core.exceptions import ValidationError
from django.utils import formats, timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from filum.assessments.models import (
    CEFR_LABELS,
    CEFR_LEVELS,
    CEFR_RANK,
    Assessment,
    AssessmentAnswer,
    CodeItem,
    Dimension,
    FieldKind,
    TemplateField,
    TemplateSection,
    TemplateVersion,
)
from filum.people.forms import DateInput

# How many languages the language-levels table offers (empty rows are ignored).
LANGUAGE_ROWS = 6
TEXT_MAX = 500
LONG_TEXT_MAX = 5000


class LanguageLevel(TypedDict):
    """One row of a language-levels field: ISO 639 code and the CEFR level of each dimension
    (empty when not assessed)."""

    language: str
    oral: str
    written: str


# str: text, long text, number (as a decimal string), date (ISO), choice; int: year;
# bool: yes/no; list[str]: multiple choice; list[LanguageLevel]: language levels
AnswerValue = str | int | bool | list[str] | list[LanguageLevel]
Answers = dict[str, AnswerValue]


@dataclass
class Structure:
    """A version's sections, fields and code list items, read once."""

    version: TemplateVersion
    sections: list[TemplateSection]
    fields: dict[int, list[TemplateField]]  # by section id
    items: dict[int, list[CodeItem]]  # by code list id

    def all_fields(self) -> Iterable[TemplateField]:
        for section in self.sections:
            yield from self.fields.get(section.pk, [])

    def field_by_key(self) -> dict[str, TemplateField]:
        return {f.key: f for f in self.all_fields()}

    def choices(self, template_field: TemplateField) -> list[tuple[str, str]]:
        return [(i.code, i.label) for i in self.items.get(template_field.code_list_id or 0, [])]

    def item_label(self, template_field: TemplateField, code: str) -> str:
        for item in self.items.get(template_field.code_list_id or 0, []):
            if item.code == code:
                return item.label
        return code

    def section(self, key: str) -> TemplateSection | None:
        return next((s for s in self.sections if s.key == key), None)


def load_structure(version: TemplateVersion) -> Structure:
    """The version's sections, fields (with their code list) and items: three queries."""
    sections = list(version.sections.order_by("position", "id"))
    fields: dict[int, list[TemplateField]] = {s.pk: [] for s in sections}
    for f in TemplateField.objects.filter(version=version).select_related("code_list"):
        fields.setdefault(f.section_id, []).append(f)
    for group in fields.values():
        group.sort(key=lambda f: (f.position, f.pk))
    items: dict[int, list[CodeItem]] = {}
    for item in CodeItem.objects.filter(version=version).order_by("position", "id"):
        items.setdefault(item.code_list_id, []).append(item)
    return Structure(version=version, sections=sections, fields=fields, items=items)


# --- form fields --------------------------------------------------------------------------


def cefr_choices() -> list[tuple[str, Any]]:
    return [("", "—"), *((code, CEFR_LABELS[code]) for code in CEFR_LEVELS)]


class LanguageLevelsWidget(forms.MultiWidget):
    """A table: one row per language with its oral and written level."""

    template_name = "assessments/widgets/language_levels.html"

    def __init__(self, languages: list[tuple[str, str]], label: str) -> None:
        self.label = label
        widgets: list[forms.Widget] = []
        for row in range(1, LANGUAGE_ROWS + 1):
            widgets.append(
                forms.Select(
                    choices=[("", "—"), *languages],
                    attrs={
                        "aria-label": gettext("%(label)s: language %(n)s")
                        % {"label": label, "n": row}
                    },
                )
            )
            for dimension in Dimension:
                widgets.append(
                    forms.Select(
                        choices=cefr_choices(),
                        attrs={
                            "aria-label": gettext("%(label)s: %(dimension)s level %(n)s")
                            % {"label": label, "dimension": dimension.label, "n": row}
                        },
                    )
                )
        super().__init__(widgets)

    def decompress(self, value: Any) -> list[str]:
        flat = [""] * (3 * LANGUAGE_ROWS)
        for n, row in enumerate((value or [])[:LANGUAGE_ROWS]):
            flat[3 * n : 3 * n + 3] = [row["language"], row["oral"], row["written"]]
        return flat

    def get_context(self, name: str, value: Any, attrs: dict[str, Any] | None) -> dict[str, Any]:
        context = super().get_context(name, value, attrs)
        subwidgets = context["widget"]["subwidgets"]
        context["widget"]["rows"] = [subwidgets[n : n + 3] for n in range(0, len(subwidgets), 3)]
        return context


class LanguageLevelsField(forms.MultiValueField):
    """Language levels: rows of (language, oral level, written level). Required means at least
    one language with a level."""

    def __init__(self, *, languages: list[tuple[str, str]], label: str, **kwargs: Any) -> None:
        codes = [("", "—"), *languages]
        fields: list[forms.Field] = []
        for _row in range(LANGUAGE_ROWS):
            fields.append(forms.ChoiceField(choices=codes, required=False))
            fields += [forms.ChoiceField(choices=cefr_choices(), required=False) for _ in Dimension]
        super().__init__(
            fields=fields,
            require_all_fields=False,
            widget=LanguageLevelsWidget(languages, label),
            label=label,
            **kwargs,
        )

    def compress(self, data_list: list[str]) -> list[LanguageLevel]:
        rows: list[LanguageLevel] = []
        seen: set[str] = set()
        for n in range(0, len(data_list or []), 3):
            language, oral, written = (data_list[n : n + 3] + ["", "", ""])[:3]
            if not (language or oral or written):
                continue
            if not language:
                raise ValidationError(
                    _("Row %(n)s has a level but no language."), params={"n": n // 3 + 1}
                )
            if not (oral or written):
                raise ValidationError(
                    _("Row %(n)s names a language without a level."), params={"n": n // 3 + 1}
                )
            if language in seen:
                raise ValidationError(_("Each language appears once."))
            seen.add(language)
            rows.append(LanguageLevel(language=language, oral=oral or "", written=written or ""))
        return rows


YES_NO = [("yes", _("yes")), ("no", _("no"))]


def form_field(structure: Structure, template_field: TemplateField, *, required: bool) -> Any:
    """The Django form field of one template field."""
    kind = template_field.kind
    common: dict[str, Any] = {
        "label": template_field.label,
        "help_text": template_field.help,
        "required": required,
    }
    if kind == FieldKind.TEXT:
        return forms.CharField(max_length=TEXT_MAX, **common)
    if kind == FieldKind.LONG_TEXT:
        return forms.CharField(
            max_length=LONG_TEXT_MAX, widget=forms.Textarea(attrs={"rows": 3}), **common
        )
    if kind == FieldKind.NUMBER:
        return forms.DecimalField(
            max_digits=12, decimal_places=2, min_value=decimal.Decimal(0), **common
        )
    if kind == FieldKind.YEAR:
        this_year = timezone.localdate().year
        return forms.IntegerField(min_value=1900, max_value=this_year + 1, **common)
    if kind == FieldKind.DATE:
        return forms.DateField(widget=DateInput(), **common)
    if kind == FieldKind.CHOICE:
        return forms.ChoiceField(choices=[("", "—"), *structure.choices(template_field)], **common)
    if kind == FieldKind.MULTIPLE_CHOICE:
        return forms.MultipleChoiceField(
            choices=structure.choices(template_field),
            widget=forms.CheckboxSelectMultiple,
            **common,
        )
    if kind == FieldKind.YES_NO:
        return forms.ChoiceField(choices=YES_NO, widget=forms.RadioSelect, **common)
    if kind == FieldKind.LANGUAGE_LEVELS:
        return LanguageLevelsField(
            languages=structure.choices(template_field),
            label=template_field.label,
            help_text=template_field.help,
            required=required,
        )
    raise ValueError(f"unknown field kind {kind!r}")


def _to_answer(kind: str, value: Any) -> AnswerValue | None:
    """A cleaned form value as stored, or None for an empty one."""
    if value in (None, "", [], ()):
        return None
    if kind == FieldKind.NUMBER:
        text = format(value, "f")
        return text.rstrip("0").rstrip(".") if "." in text else text
    if kind == FieldKind.DATE:
        return str(value.isoformat())
    if kind == FieldKind.YES_NO:
        return value == "yes"
    if kind == FieldKind.MULTIPLE_CHOICE:
        return [str(v) for v in value]
    return value


def _to_initial(kind: str, value: AnswerValue) -> Any:
    if kind == FieldKind.YES_NO:
        return "yes" if value else "no"
    if kind == FieldKind.DATE and isinstance(value, str):
        return datetime.date.fromisoformat(value)
    return value


class SectionForm(forms.Form):
    """The form of one template section (built by ``section_form``)."""

    section: TemplateSection
    template_fields: list[TemplateField]

    def answers(self) -> Answers:
        """The filled fields of the cleaned form, as stored."""
        found: Answers = {}
        for f in self.template_fields:
            value = _to_answer(f.kind, self.cleaned_data.get(f.key))
            if value is not None:
                found[f.key] = value
        return found


def section_form(
    structure: Structure,
    section: TemplateSection,
    *,
    data: Any = None,
    answers: Answers | None = None,
    enforce_required: bool = False,
    prefix: str | None = None,
) -> SectionForm:
    """A Django form for one section of a template version. ``enforce_required``: the fields
    marked required must be filled (finalising, a provider's submission); a draft may stay
    incomplete. ``answers`` fill the form initially."""
    template_fields = structure.fields.get(section.pk, [])
    form = SectionForm(data=data, prefix=prefix)
    form.section = section
    form.template_fields = template_fields
    answers = answers or {}
    for f in template_fields:
        form.fields[f.key] = form_field(structure, f, required=enforce_required and f.required)
        if f.key in answers:
            form.initial[f.key] = _to_initial(f.kind, answers[f.key])
    return form


def version_forms(
    structure: Structure,
    *,
    data: Any = None,
    answers: Answers | None = None,
    enforce_required: bool = False,
) -> list[SectionForm]:
    """One form per section of the version, in order."""
    return [
        section_form(
            structure, section, data=data, answers=answers, enforce_required=enforce_required
        )
        for section in structure.sections
    ]


def missing_required(
    structure: Structure, answers: Answers, sections: Iterable[str] | None = None
) -> list[TemplateField]:
    """The required fields without an answer (a final assessment has none); only those of
    the sections named (by key) if ``sections`` is given."""
    keys = set(sections) if sections else None
    return [
        f
        for section in structure.sections
        if keys is None or section.key in keys
        for f in structure.fields.get(section.pk, [])
        if f.required and f.key not in answers
    ]


def asked_sections(structure: Structure, keys: Iterable[str]) -> list[TemplateSection]:
    """The sections named by ``keys`` in the version's order; every section if none."""
    wanted = set(keys)
    return [s for s in structure.sections if not wanted or s.key in wanted]


# --- reading answers ------------------------------------------------------------------------


@dataclass
class LanguageRow:
    language: str
    oral: str
    written: str


@dataclass
class ShownField:
    field: TemplateField
    text: str = ""
    languages: list[LanguageRow] = dataclasses.field(default_factory=list)


@dataclass
class ShownSection:
    section: TemplateSection
    fields: list[ShownField]


def level_label(code: str) -> str:
    return str(CEFR_LABELS.get(code, "—")) if code else "—"


def value_text(structure: Structure, template_field: TemplateField, value: AnswerValue) -> str:
    """An answer as text in the reader's language."""
    kind = template_field.kind
    if kind == FieldKind.YES_NO:
        return gettext("yes") if value else gettext("no")
    if kind == FieldKind.CHOICE:
        return structure.item_label(template_field, str(value))
    if kind == FieldKind.MULTIPLE_CHOICE and isinstance(value, list):
        return ", ".join(structure.item_label(template_field, str(v)) for v in value)
    if kind == FieldKind.DATE:
        return formats.date_format(datetime.date.fromisoformat(str(value)), "d.m.Y")
    if kind == FieldKind.NUMBER:
        return str(formats.number_format(decimal.Decimal(str(value))))
    if kind == FieldKind.LANGUAGE_LEVELS and isinstance(value, list):
        return "; ".join(
            f"{structure.item_label(template_field, row['language'])}: "  # type: ignore[index]
            f"{Dimension.ORAL.label} {level_label(row['oral'])}, "  # type: ignore[index]
            f"{Dimension.WRITTEN.label} {level_label(row['written'])}"  # type: ignore[index]
            for row in value
        )
    return str(value)


def shown_sections(structure: Structure, answers: Answers) -> list[ShownSection]:
    """Every section and field of the version with its answer in the reader's language (an
    empty text for an unanswered field)."""
    shown = []
    for section in structure.sections:
        rows = []
        for f in structure.fields.get(section.pk, []):
            value = answers.get(f.key)
            row = ShownField(field=f)
            if value is not None and f.kind == FieldKind.LANGUAGE_LEVELS:
                row.languages = [
                    LanguageRow(
                        language=structure.item_label(f, r["language"]),  # type: ignore[index]
                        oral=level_label(r["oral"]),  # type: ignore[index]
                        written=level_label(r["written"]),  # type: ignore[index]
                    )
                    for r in value  # type: ignore[union-attr]
                ]
            elif value is not None:
                row.text = value_text(structure, f, value)
            rows.append(row)
        shown.append(ShownSection(section=section, fields=rows))
    return shown


# --- the flattened rows -----------------------------------------------------------------------


def flatten(structure: Structure, assessment: Assessment) -> list[AssessmentAnswer]:
    """The rows of ``AssessmentAnswer`` for a final assessment: one per value."""
    answers: Answers = assessment.answers
    rows: list[AssessmentAnswer] = []

    def add(template_field: TemplateField, **values: Any) -> None:
        rows.append(
            AssessmentAnswer(
                assessment=assessment,
                case_id=assessment.case_id,
                owner_id=assessment.owner_id,
                person_id=assessment.person_id,
                field=template_field,
                field_key=template_field.key,
                assessed_on=assessment.assessed_on,
                in_synthesis=template_field.in_synthesis,
                **values,
            )
        )

    for f in structure.all_fields():
        value = answers.get(f.key)
        if value is None:
            continue
        kind = f.kind
        if kind == FieldKind.LANGUAGE_LEVELS:
            for row in value:  # type: ignore[union-attr]
                for dimension, level in (
                    (Dimension.ORAL, row["oral"]),  # type: ignore[index]
                    (Dimension.WRITTEN, row["written"]),  # type: ignore[index]
                ):
                    if level:
                        add(
                            f,
                            item=row["language"],  # type: ignore[index]
                            dimension=dimension.value,
                            code=level,
                            rank=CEFR_RANK[level],
                            scale_max=len(CEFR_LEVELS) - 1,
                        )
        elif kind in (FieldKind.CHOICE, FieldKind.MULTIPLE_CHOICE):
            codes = value if isinstance(value, list) else [value]
            items = structure.items.get(f.code_list_id or 0, [])
            ordinal = f.code_list is not None and f.code_list.ordinal
            positions = {item.code: n for n, item in enumerate(items)}
            for code in codes:
                rank = positions.get(str(code)) if ordinal else None
                add(
                    f,
                    code=str(code),
                    rank=rank,
                    scale_max=len(items) - 1 if rank is not None else None,
                )
        elif kind == FieldKind.YES_NO:
            add(f, code="yes" if value else "no")
        elif kind in (FieldKind.NUMBER, FieldKind.YEAR):
            add(f, number=decimal.Decimal(str(value)))
        elif kind == FieldKind.DATE:
            add(f, date=datetime.date.fromisoformat(str(value)))
        else:
            add(f, text=str(value))
    return rows
