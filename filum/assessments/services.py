"""Workflows of assessments: editing and publishing template versions (A1, A2), drafting and
finalising assessments (A3, A5), a person's history (A7) and synthesis (A6).

Locks: publishing a version takes the template's row FOR UPDATE; starting or saving a draft
assessment takes it FOR SHARE. So the check "no draft uses a field this version removes" and
the drafts it counts cannot change while a version is published.
"""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import F, Max, QuerySet, Value
from django.db.models.functions import Coalesce, NullIf
from django.utils import formats, timezone
from django.utils.translation import get_language, ngettext
from django.utils.translation import gettext as _

from filum.assessments.answers import (
    Answers,
    Structure,
    flatten,
    level_label,
    load_structure,
    missing_required,
)
from filum.assessments.models import (
    CEFR_LABELS,
    CODED_KINDS,
    Assessment,
    AssessmentAnswer,
    AssessmentStatus,
    AssessmentTemplate,
    CodeItem,
    CodeList,
    Dimension,
    FieldKind,
    Review,
    TemplateField,
    TemplateSection,
    TemplateVersion,
    VersionStatus,
)
from filum.cases.models import Case
from filum.people.models import Person, UnitMember
from filum.tenancy.policy import Actor, Section


class ServiceError(Exception):
    """A refusal to show to the user as it is (already in their language)."""


class EditConflict(Exception):
    """Someone else saved the assessment since this form was loaded (R37)."""


# --- templates ---------------------------------------------------------------------------------


def _lock_template(template_id: int, *, share: bool) -> None:
    with connection.cursor() as cursor:
        mode = "SHARE" if share else "UPDATE"
        cursor.execute(
            f"SELECT 1 FROM assessments_assessmenttemplate WHERE id = %s FOR {mode}",  # noqa: S608
            [template_id],
        )


def templates_of_canton(canton: str) -> list[AssessmentTemplate]:
    """The canton's templates with their versions (two queries)."""
    return list(
        AssessmentTemplate.objects.filter(canton=canton)
        .prefetch_related("versions")
        .order_by("code")
    )


@transaction.atomic
def do_create_template(
    *, actor: Actor, code: str, name_fr: str, name_de: str
) -> AssessmentTemplate:
    """A new template of the actor's canton, with an empty draft version 1."""
    canton = actor.organisation.canton
    if AssessmentTemplate.objects.filter(canton=canton, code=code).exists():
        raise ServiceError(_("A template with this code exists already."))
    template = AssessmentTemplate.objects.create(
        canton=canton, code=code, name_fr=name_fr, name_de=name_de, owner=actor.organisation
    )
    TemplateVersion.objects.create(template=template, number=1, created_by=actor.user)
    return template


def copy_version(source: TemplateVersion, target: TemplateVersion) -> None:
    """Copy sections, fields, code lists and items of ``source`` into the empty ``target``."""
    lists = {}
    for code_list in CodeList.objects.filter(version=source):
        lists[code_list.pk] = CodeList.objects.create(
            version=target,
            key=code_list.key,
            label_fr=code_list.label_fr,
            label_de=code_list.label_de,
            ordinal=code_list.ordinal,
        )
    CodeItem.objects.bulk_create(
        [
            CodeItem(
                code_list=lists[item.code_list_id],
                version=target,
                code=item.code,
                position=item.position,
                label_fr=item.label_fr,
                label_de=item.label_de,
            )
            for item in CodeItem.objects.filter(version=source)
        ]
    )
    for section in TemplateSection.objects.filter(version=source):
        copy = TemplateSection.objects.create(
            version=target,
            key=section.key,
            position=section.position,
            label_fr=section.label_fr,
            label_de=section.label_de,
            help_fr=section.help_fr,
            help_de=section.help_de,
        )
        TemplateField.objects.bulk_create(
            [
                TemplateField(
                    section=copy,
                    version=target,
                    key=f.key,
                    kind=f.kind,
                    position=f.position,
                    required=f.required,
                    label_fr=f.label_fr,
                    label_de=f.label_de,
                    help_fr=f.help_fr,
                    help_de=f.help_de,
                    code_list=lists.get(f.code_list_id) if f.code_list_id else None,
                    in_synthesis=f.in_synthesis,
                )
                for f in TemplateField.objects.filter(section=section)
            ]
        )


@transaction.atomic
def do_create_draft(*, actor: Actor, template: AssessmentTemplate) -> TemplateVersion:
    """The template's next version as a draft, a copy of the latest published one; the
    existing draft if there is one."""
    _lock_template(template.pk, share=False)
    draft = template.versions.filter(status=VersionStatus.DRAFT).first()
    if draft is not None:
        return draft
    latest = template.versions.order_by("-number").first()
    number = (latest.number if latest else 0) + 1
    draft = TemplateVersion.objects.create(template=template, number=number, created_by=actor.user)
    if latest is not None:
        copy_version(latest, draft)
    return draft


@dataclass(frozen=True)
class FieldInUse:
    key: str
    label: str
    drafts: int


def fields_still_in_drafts(version: TemplateVersion) -> list[FieldInUse]:
    """Fields that draft assessments of the template have filled in and that ``version``
    removes or gives another type: those drafts could not be read with the new version's
    meaning. One query."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT f.key, min(f.label_fr), min(f.label_de), count(DISTINCT a.id)
            FROM assessments_assessment a
            JOIN assessments_templateversion v ON v.id = a.version_id
            JOIN assessments_templatefield f ON f.version_id = a.version_id
            WHERE v.template_id = %s AND a.status = 'draft' AND a.answers ? f.key
              AND NOT EXISTS (
                  SELECT 1 FROM assessments_templatefield n
                  WHERE n.version_id = %s AND n.key = f.key AND n.kind = f.kind)
            GROUP BY f.key ORDER BY f.key
            """,
            [version.template_id, version.pk],
        )
        rows = cursor.fetchall()
    german = (get_language() or "fr").startswith("de")
    return [
        FieldInUse(key=key, label=(label_de or label_fr) if german else label_fr, drafts=count)
        for key, label_fr, label_de, count in rows
    ]


def publication_problems(structure: Structure) -> list[str]:
    """What keeps a draft version from being published, in the reader's language."""
    problems = []
    if not structure.sections:
        problems.append(_("The version has no section."))
    for section in structure.sections:
        if not structure.fields.get(section.pk):
            problems.append(
                _("The section “%(section)s” has no field.") % {"section": section.label}
            )
    for f in structure.all_fields():
        if f.kind in CODED_KINDS and not structure.items.get(f.code_list_id or 0):
            problems.append(
                _("The code list of the field “%(field)s” has no entry.") % {"field": f.label}
            )
    return problems


@transaction.atomic
def do_publish(*, actor: Actor, version: TemplateVersion, note: str = "") -> None:
    """Publish a draft version: from now on new assessments of the canton use it. Refused
    (``ServiceError`` with every reason) when the version is incomplete or removes or changes
    the type of a field that draft assessments still use."""
    _lock_template(version.template_id, share=False)
    version = TemplateVersion.objects.select_for_update().get(pk=version.pk)
    if not version.is_draft:
        raise ServiceError(_("This version is published already."))
    problems = publication_problems(load_structure(version))
    for used in fields_still_in_drafts(version):
        problems.append(
            ngettext(
                "The field “%(field)s” (%(key)s) is still used by %(count)d draft assessment: "
                "keep it with the same type, or finish or discard that draft first.",
                "The field “%(field)s” (%(key)s) is still used by %(count)d draft assessments: "
                "keep it with the same type, or finish or discard those drafts first.",
                used.drafts,
            )
            % {"field": used.label, "key": used.key, "count": used.drafts}
        )
    if problems:
        raise ServiceError(*problems)
    version.status = VersionStatus.PUBLISHED
    version.published_at = timezone.now()
    version.published_by = actor.user
    version.note = note or version.note
    version.save(update_fields=["status", "published_at", "published_by", "note"])


def _require_draft(version: TemplateVersion) -> None:
    if not version.is_draft:
        raise ServiceError(_("A published version cannot be changed; make a new version."))


def _next_position(rows: QuerySet[Any]) -> int:
    return int(rows.aggregate(top=Max("position"))["top"] or 0) + 1


def _saved(obj: Any, duplicate: str) -> Any:
    """Save, turning a unique-key clash into a message."""
    try:
        with transaction.atomic():
            obj.save()
    except IntegrityError as exc:
        raise ServiceError(duplicate) from exc
    return obj


@transaction.atomic
def do_save_section(
    *, version: TemplateVersion, section: TemplateSection | None, data: dict[str, Any]
) -> TemplateSection:
    _require_draft(version)
    if section is None:
        section = TemplateSection(
            version=version,
            position=_next_position(TemplateSection.objects.filter(version=version)),
        )
    for name, value in data.items():
        setattr(section, name, value)
    return _saved(section, _("Another section of this version has this key."))


@transaction.atomic
def do_save_field(
    *,
    version: TemplateVersion,
    section: TemplateSection,
    template_field: TemplateField | None,
    data: dict[str, Any],
) -> TemplateField:
    _require_draft(version)
    if template_field is None:
        template_field = TemplateField(
            version=version,
            section=section,
            position=_next_position(TemplateField.objects.filter(section=section)),
        )
    for name, value in data.items():
        setattr(template_field, name, value)
    if template_field.kind not in CODED_KINDS:
        template_field.code_list = None
    elif template_field.code_list is None:
        raise ServiceError(_("Choose the code list of this field."))
    return _saved(template_field, _("Another field of this version has this key."))


@transaction.atomic
def do_save_code_list(
    *,
    version: TemplateVersion,
    code_list: CodeList | None,
    data: dict[str, Any],
    items: list[dict[str, Any]],
) -> CodeList:
    """Save a code list and replace its items by ``items`` (in order)."""
    _require_draft(version)
    if code_list is None:
        code_list = CodeList(version=version)
    for name, value in data.items():
        setattr(code_list, name, value)
    _saved(code_list, _("Another code list of this version has this key."))
    codes = [item["code"] for item in items]
    if len(codes) != len(set(codes)):
        raise ServiceError(_("Each code appears once in a list."))
    CodeItem.objects.filter(code_list=code_list).delete()
    CodeItem.objects.bulk_create(
        [
            CodeItem(
                code_list=code_list,
                version=version,
                code=item["code"],
                label_fr=item["label_fr"],
                label_de=item["label_de"],
                position=n,
            )
            for n, item in enumerate(items)
        ]
    )
    return code_list


@transaction.atomic
def do_remove(*, version: TemplateVersion, obj: TemplateSection | TemplateField | CodeList) -> None:
    """Remove a section (with its fields), a field or an unused code list from a draft."""
    _require_draft(version)
    if isinstance(obj, CodeList):
        users = list(TemplateField.objects.filter(code_list=obj).order_by("key"))
        if users:
            raise ServiceError(
                _("The code list is used by the field “%(field)s”.") % {"field": users[0].label}
            )
    obj.delete()


@transaction.atomic
def do_move(*, version: TemplateVersion, obj: TemplateSection | TemplateField, up: bool) -> None:
    """Swap a section (a field) with the one before (after) it."""
    _require_draft(version)
    siblings: QuerySet[Any]
    if isinstance(obj, TemplateSection):
        siblings = TemplateSection.objects.filter(version=version)
    else:
        siblings = TemplateField.objects.filter(section_id=obj.section_id)
    ordered: list[Any] = list(siblings.select_for_update().order_by("position", "id"))
    index = next(n for n, row in enumerate(ordered) if row.pk == obj.pk)
    other = index - 1 if up else index + 1
    if not 0 <= other < len(ordered):
        return
    ordered[index], ordered[other] = ordered[other], ordered[index]
    for position, row in enumerate(ordered):
        if row.position != position:
            type(row).objects.filter(pk=row.pk).update(position=position)


# --- assessments -------------------------------------------------------------------------------


def current_versions(canton: str) -> list[TemplateVersion]:
    """The latest published version of each template of the canton: what new assessments
    are made with."""
    return list(
        TemplateVersion.objects.filter(template__canton=canton, status=VersionStatus.PUBLISHED)
        .select_related("template")
        .order_by("template_id", "-number")
        .distinct("template_id")
    )


def persons_of_case(case: Case) -> list[Person]:
    """Who may be assessed in a dossier: its client and the members of its assistance unit."""
    persons = [case.client]
    if case.assistance_unit_id is not None:
        members = UnitMember.objects.filter(unit_id=case.assistance_unit_id).select_related(
            "person"
        )
        persons += [m.person for m in members if m.person_id != case.client_id]
    return persons


@transaction.atomic
def do_start_assessment(
    *,
    actor: Actor,
    case: Case,
    person: Person,
    version: TemplateVersion,
    assessed_on: datetime.date,
) -> Assessment:
    """A new draft assessment of a person of the dossier, with the current version of one of
    the canton's templates."""
    if not case.is_open:
        raise ServiceError(_("The dossier is closed: no new assessment is started in it."))
    _lock_template(version.template_id, share=True)
    current = {v.pk for v in current_versions(case.owner.canton)}
    if version.pk not in current:
        raise ServiceError(_("This template version is no longer the current one."))
    if person.pk not in {p.pk for p in persons_of_case(case)}:
        raise ServiceError(_("This person does not belong to the dossier."))
    now = timezone.now()
    return Assessment.objects.create(
        case=case,
        owner_id=case.owner_id,
        person=person,
        version=version,
        assessed_on=assessed_on,
        created_by=actor.user,
        created_at=now,
        updated_at=now,
    )


def _write_draft(
    *, assessment: Assessment, answers: Answers, assessed_on: datetime.date, revision: int
) -> None:
    updated = (
        Assessment.objects.filter(
            pk=assessment.pk, revision=revision, status=AssessmentStatus.DRAFT
        )
        .exclude(review=Review.PENDING)
        .update(
            answers=answers,
            assessed_on=assessed_on,
            revision=revision + 1,
            updated_at=timezone.now(),
        )
    )
    if updated != 1:
        raise EditConflict
    assessment.answers = answers
    assessment.assessed_on = assessed_on
    assessment.revision = revision + 1


@transaction.atomic
def do_save_draft(
    *, assessment: Assessment, answers: Answers, assessed_on: datetime.date, revision: int
) -> None:
    """Store a draft's answers; ``EditConflict`` if it changed since ``revision``."""
    _lock_template(assessment.version.template_id, share=True)
    _write_draft(assessment=assessment, answers=answers, assessed_on=assessed_on, revision=revision)


@transaction.atomic
def do_finalise(
    *,
    actor: Actor,
    assessment: Assessment,
    answers: Answers,
    assessed_on: datetime.date,
    revision: int,
) -> None:
    """Store the answers and make the assessment final: every required field is filled, the
    values are flattened into ``AssessmentAnswer``, and the assessment is not changed again."""
    structure = load_structure(assessment.version)
    check_required(structure, answers)
    _write_draft(assessment=assessment, answers=answers, assessed_on=assessed_on, revision=revision)
    make_final(actor=actor, assessment=assessment, structure=structure)


def check_required(
    structure: Structure, answers: Answers, sections: Iterable[str] | None = None
) -> None:
    """``ServiceError`` naming the required fields (of ``sections``, or all) left empty."""
    missing = missing_required(structure, answers, sections)
    if missing:
        raise ServiceError(
            _("These required fields are empty: %(fields)s.")
            % {"fields": ", ".join(f.label for f in missing)}
        )


def make_final(*, actor: Actor, assessment: Assessment, structure: Structure, **also: Any) -> None:
    """Make a draft final (with the other columns in ``also``, in the same statement: a final
    assessment is frozen) and flatten its values into ``AssessmentAnswer``."""
    now = timezone.now()
    updated = Assessment.objects.filter(pk=assessment.pk, status=AssessmentStatus.DRAFT).update(
        status=AssessmentStatus.FINAL,
        finalised_by=actor.user,
        finalised_at=now,
        updated_at=now,
        **also,
    )
    if updated != 1:
        raise EditConflict
    assessment.status = AssessmentStatus.FINAL
    assessment.finalised_by = actor.user
    assessment.finalised_at = now
    for name, value in also.items():
        setattr(assessment, name, value)
    AssessmentAnswer.objects.bulk_create(flatten(structure, assessment))


@transaction.atomic
def do_discard_draft(*, assessment: Assessment) -> None:
    # a provider's entry is accepted or rejected, never discarded (A8)
    deleted, _rows = (
        Assessment.objects.filter(pk=assessment.pk, status=AssessmentStatus.DRAFT)
        .exclude(review=Review.PENDING)
        .delete()
    )
    if not deleted:
        raise ServiceError(_("Only a draft can be discarded."))


def case_assessments_page(
    case: Case, *, before: tuple[datetime.date, uuid.UUID] | None, size: int
) -> tuple[list[Assessment], tuple[datetime.date, uuid.UUID] | None]:
    """The dossier's assessments, newest first, one page by keyset; a provider's entry only
    once accepted (the others are listed with their link, ``links.case_links``)."""
    rows = Assessment.objects.of_record().filter(case=case)
    if before is not None:
        day, pk = before
        rows = rows.filter(assessed_on__lte=day).exclude(assessed_on=day, pk__gte=pk)
    found = list(
        rows.select_related("person", "version__template", "created_by").order_by(
            "-assessed_on", "-pk"
        )[: size + 1]
    )
    if len(found) > size:
        found = found[:size]
        return found, (found[-1].assessed_on, found[-1].pk)
    return found, None


# --- history and synthesis (A6, A7) -----------------------------------------------------------


@dataclass
class HistoryEntry:
    assessed_on: datetime.date
    text: str
    rank: int | None
    assessment_id: uuid.UUID
    case_id: uuid.UUID


@dataclass
class HistoryLine:
    """The values of one field (for language levels: one language and dimension) over time."""

    key: str
    item: str
    dimension: str
    label: str
    item_label: str
    dimension_label: str
    theme: str
    in_synthesis: bool
    scale_max: int | None
    order: tuple[Any, ...]
    entries: list[HistoryEntry] = field(default_factory=list)

    @property
    def heading(self) -> str:
        parts = [p for p in (self.item_label, self.dimension_label) if p]
        return f"{self.label} – {' '.join(parts)}" if parts else self.label

    @property
    def latest(self) -> HistoryEntry:
        return self.entries[-1]

    @property
    def previous(self) -> HistoryEntry | None:
        return self.entries[-2] if len(self.entries) > 1 else None


@dataclass
class PersonHistory:
    person: Person
    lines: list[HistoryLine]
    case_ids: set[uuid.UUID]


def readable_cases(actor: Actor) -> QuerySet[Case]:
    """The dossiers whose assessment section the actor may read (SQL, for a subquery)."""
    return Case.objects.visible_to(actor, section=Section.ASSESSMENT)


@dataclass(frozen=True, slots=True)
class AnswerValue:
    """One flattened final value with what a history line needs of its field and section
    (labels in the reader's language, positions): read as plain values, since building a
    model instance of the answer, its field and its section for each of a person's values
    was most of the synthesis's time."""

    assessment_id: uuid.UUID
    case_id: uuid.UUID
    assessed_on: datetime.date
    field_key: str
    item: str
    dimension: str
    code: str
    number: Any
    text: str
    date: datetime.date | None
    rank: int | None
    scale_max: int | None
    in_synthesis: bool
    kind: str
    code_list_id: int | None
    field_label: str
    theme: str
    section_position: int
    field_position: int


def _in_reader_language(relation: str) -> Any:
    """The label column of ``relation`` in the reader's language, French where the German
    one is empty (as ``in_reader_language``)."""
    french = F(f"{relation}__label_fr")
    if (get_language() or "fr").startswith("de"):
        return Coalesce(NullIf(F(f"{relation}__label_de"), Value("")), french)
    return french


def _row_text(row: AnswerValue, labels: dict[tuple[int, str], str]) -> str:
    kind = row.kind
    if kind == FieldKind.LANGUAGE_LEVELS:
        return level_label(row.code)
    if kind in (FieldKind.CHOICE, FieldKind.MULTIPLE_CHOICE):
        return labels.get((row.code_list_id or 0, row.code), row.code)
    if kind == FieldKind.YES_NO:
        return _("yes") if row.code == "yes" else _("no")
    if kind == FieldKind.YEAR and row.number is not None:
        return str(int(row.number))
    if kind == FieldKind.NUMBER and row.number is not None:
        return str(formats.number_format(row.number.normalize()))
    if kind == FieldKind.DATE and row.date is not None:
        return formats.date_format(row.date, "d.m.Y")
    return row.text


def history_lines(rows: Iterable[AnswerValue]) -> list[HistoryLine]:
    """Group flattened values into lines (oldest value first), labelled from the newest
    version that has the field. ``rows`` come oldest first."""
    rows = list(rows)
    list_ids = {r.code_list_id for r in rows if r.code_list_id}
    labels: dict[tuple[int, str], str] = {}
    for item in CodeItem.objects.filter(code_list_id__in=list_ids):
        labels[(item.code_list_id, item.code)] = item.label
    dimensions = {value: str(label) for value, label in Dimension.choices}
    lines: dict[tuple[str, str, str], HistoryLine] = {}
    for row in rows:
        key = (row.field_key, row.item, row.dimension)
        line = lines.get(key)
        if line is None:
            line = lines[key] = HistoryLine(
                key=row.field_key,
                item=row.item,
                dimension=row.dimension,
                label="",
                item_label="",
                dimension_label="",
                theme="",
                in_synthesis=False,
                scale_max=None,
                order=(),
            )
        # the newest row names the line
        line.label = row.field_label
        line.item_label = (
            labels.get((row.code_list_id or 0, row.item), row.item) if row.item else ""
        )
        line.dimension_label = dimensions.get(row.dimension, "") if row.dimension else ""
        line.theme = row.theme
        line.in_synthesis = row.in_synthesis
        line.scale_max = row.scale_max
        dimension_order = 0 if row.dimension in ("", Dimension.ORAL) else 1
        line.order = (row.section_position, row.field_position, line.item_label, dimension_order)
        text = _row_text(row, labels)
        last = line.entries[-1] if line.entries else None
        if last is not None and last.assessment_id == row.assessment_id:
            last.text = f"{last.text}, {text}"  # another code of a multiple choice
            continue
        line.entries.append(
            HistoryEntry(
                assessed_on=row.assessed_on,
                text=text,
                rank=row.rank,
                assessment_id=row.assessment_id,
                case_id=row.case_id,
            )
        )
    return sorted(lines.values(), key=lambda line: line.order)


def _person_rows(actor: Actor, person_id: uuid.UUID, *, synthesis_only: bool) -> list[AnswerValue]:
    rows = AssessmentAnswer.objects.filter(
        person_id=person_id, case_id__in=readable_cases(actor).values("pk")
    )
    if synthesis_only:
        rows = rows.filter(in_synthesis=True)
    values = (
        rows.annotate(
            field_label=_in_reader_language("field"),
            theme=_in_reader_language("field__section"),
        )
        .order_by("assessed_on", "assessment__finalised_at", "assessment_id", "id")
        .values_list(
            "assessment_id",
            "case_id",
            "assessed_on",
            "field_key",
            "item",
            "dimension",
            "code",
            "number",
            "text",
            "date",
            "rank",
            "scale_max",
            "in_synthesis",
            "field__kind",
            "field__code_list_id",
            "field_label",
            "theme",
            "field__section__position",
            "field__position",
        )
    )
    return [AnswerValue(*row) for row in values]


def person_history(*, actor: Actor, person: Person) -> PersonHistory:
    """Every final value of a person's assessments in the dossiers whose assessment section
    the actor may read, by field, oldest first. Two queries."""
    lines = history_lines(_person_rows(actor, person.pk, synthesis_only=False))
    case_ids = {entry.case_id for line in lines for entry in line.entries}
    return PersonHistory(person=person, lines=lines, case_ids=case_ids)


STEP_WIDTH = 22
STEP_GAP = 3


@dataclass
class Step:
    x: int
    filled: bool
    previous: bool
    label: str


@dataclass
class SynthesisRow:
    line: HistoryLine
    current: HistoryEntry
    previous: HistoryEntry | None
    steps: list[Step]

    @property
    def change(self) -> int | None:
        """Steps up (positive) or down since the previous final assessment."""
        if self.previous is None or self.current.rank is None or self.previous.rank is None:
            return None
        return self.current.rank - self.previous.rank

    @property
    def change_size(self) -> int:
        return abs(self.change or 0)

    @property
    def changed(self) -> bool:
        return self.previous is not None and self.previous.text != self.current.text

    @property
    def width(self) -> int:
        return len(self.steps) * (STEP_WIDTH + STEP_GAP)


@dataclass
class SynthesisTheme:
    label: str
    rows: list[SynthesisRow]


@dataclass
class Synthesis:
    """A person's profile: per theme, the latest value of each field shown in the synthesis
    and the change since the assessment before it."""

    person_id: uuid.UUID
    themes: list[SynthesisTheme]
    case_ids: set[uuid.UUID]
    latest_on: datetime.date | None

    @property
    def is_empty(self) -> bool:
        return not self.themes


def _steps(line: HistoryLine, current: HistoryEntry, previous: HistoryEntry | None) -> list[Step]:
    if line.scale_max is None or current.rank is None:
        return []
    cefr = line.dimension != ""
    names = [str(CEFR_LABELS[c]) for c in CEFR_LABELS] if cefr else []
    return [
        Step(
            x=n * (STEP_WIDTH + STEP_GAP),
            filled=n <= current.rank,
            previous=previous is not None and previous.rank == n,
            label=names[n] if n < len(names) else str(n),
        )
        for n in range(line.scale_max + 1)
    ]


def synthesis_from_lines(person_id: uuid.UUID, lines: list[HistoryLine]) -> Synthesis:
    themes: dict[str, SynthesisTheme] = {}
    latest_on = None
    case_ids: set[uuid.UUID] = set()
    for line in lines:
        if not line.in_synthesis or not line.entries:
            continue
        current, previous = line.latest, line.previous
        row = SynthesisRow(
            line=line, current=current, previous=previous, steps=_steps(line, current, previous)
        )
        themes.setdefault(line.theme, SynthesisTheme(label=line.theme, rows=[])).rows.append(row)
        case_ids.add(current.case_id)
        if previous is not None:
            case_ids.add(previous.case_id)
        latest_on = max(latest_on or current.assessed_on, current.assessed_on)
    return Synthesis(
        person_id=person_id, themes=list(themes.values()), case_ids=case_ids, latest_on=latest_on
    )


def synthesis_for(*, actor: Actor, person_id: uuid.UUID) -> Synthesis:
    """The person's profile from the final assessments in the dossiers whose assessment
    section the actor may read (A6, U1). Two queries. Pages show it through
    ``filum.assessments.permissions.get_synthesis_for_actor``, which logs the reads, with the
    partial template ``assessments/_synthesis.html``."""
    lines = history_lines(_person_rows(actor, person_id, synthesis_only=True))
    return synthesis_from_lines(person_id, lines)
