"""The intermediate migration format (M1, M2; issue 9 item 2; decision 0027).

A *delivery* is a folder or a zip holding ``manifest.json``, one JSON Lines file per kind of
record (``persons.jsonl``, ``dossiers.jsonl`` ...) and the files of the documents under
``documents/``. Every record carries the id it has in the system that produced it
(``source_id``, unique per kind within a delivery) and names the records it refers to by
their source ids. The Pydantic models below *are* the format: the JSON Schemas published in
``docs/exchange/`` are generated from them (``manage.py exchange_schema``).

The enumerations are Filum's own choices, so that a delivery that passes the reader is one
Filum can store. Records are strict: an unknown field, a missing required field or a value of
the wrong type is an error, never guessed at.
"""

from __future__ import annotations

import datetime
import enum
from typing import Annotated, Any, Final, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    JsonValue,
    StringConstraints,
)
from pydantic_core import PydanticCustomError
from stdnum.ch import ssn

from filum.assessments.models import AssessmentStatus
from filum.cases.models import (
    CaseStatus,
    ClosureReason,
    Consent,
    Domain,
    ExitPotential,
    Segment,
    SegmentAssignment,
    Share,
    Stage,
)
from filum.followup.models import TaskKind, TaskStatus
from filum.journal.models import ContactKind
from filum.people.models import BirthDateKnown, RelationToHead, ResidenceStatus, Sex
from filum.plans.models import GOAL_KEYS, AbortReason, Category, GoalStatus, MeasureResult
from filum.plans.models import MeasureStatus as MeasureStatusChoice
from filum.tenancy.models import OrganisationKind, Role
from filum.tenancy.policy import SECTIONS

FORMAT_VERSION: Final = "1.0"
MANIFEST = "manifest.json"
DOCUMENTS_DIR = "documents/"


def _enum(name: str, values: list[str]) -> type[enum.StrEnum]:
    """A string enumeration of a model's choices (the schema lists the values)."""
    return enum.StrEnum(name, {value or "none": value for value in values})  # type: ignore[return-value]


DomainValue = _enum("Domain", Domain.values)
CaseStatusValue = _enum("CaseStatus", CaseStatus.values)
StageValue = _enum("Stage", Stage.values)
SegmentValue = _enum("Segment", Segment.values)
ExitPotentialValue = _enum("ExitPotential", ExitPotential.values)
ClosureReasonValue = _enum("ClosureReason", ClosureReason.values)
SexValue = _enum("Sex", Sex.values)
BirthDateKnownValue = _enum("BirthDateKnown", BirthDateKnown.values)
ResidenceStatusValue = _enum("ResidenceStatus", ResidenceStatus.values)
RelationValue = _enum("Relation", RelationToHead.values)
RoleValue = _enum("Role", Role.values)
OrganisationKindValue = _enum("OrganisationKind", OrganisationKind.values)
ContactKindValue = _enum("ContactKind", ContactKind.values)
TaskKindValue = _enum("TaskKind", TaskKind.values)
TaskStatusValue = _enum("TaskStatus", TaskStatus.values)
SectionValue = _enum("Section", [str(s) for s in SECTIONS])
ConsentKindValue = _enum("ConsentKind", Consent.Kind.values)
ShareAccessValue = _enum("ShareAccess", Share.Access.values)
ShareBasisValue = _enum("ShareBasis", Share.Basis.values)
SegmentKindValue = _enum("SegmentKind", SegmentAssignment.Kind.values)
AssessmentStatusValue = _enum("AssessmentStatus", AssessmentStatus.values)
GoalValue = _enum("Goal", list(GOAL_KEYS))
GoalStatusValue = _enum("GoalStatus", GoalStatus.values)
MeasureCategoryValue = _enum("MeasureCategory", Category.values)
MeasureStatusValue = _enum("MeasureStatus", MeasureStatusChoice.values)
AbortReasonValue = _enum("AbortReason", AbortReason.values)
MeasureResultValue = _enum("MeasureResult", MeasureResult.values)
LanguageValue = _enum("Language", ["fr", "de"])


# --- field types ---------------------------------------------------------------------------

SourceId = Annotated[
    str,
    StringConstraints(min_length=1, max_length=200, pattern=r"^[^\s\x00-\x1f](.*[^\s])?$"),
    Field(description="The record's id in the producing system (unique per kind)."),
]


class RefTo:
    """Marks a field holding the source id of a record of another (or the same) kind."""

    def __init__(self, kind: str) -> None:
        self.kind = kind

    def __repr__(self) -> str:
        return f"RefTo({self.kind!r})"


def Ref(kind: str, description: str = "") -> Any:  # noqa: N802 (reads as a type)
    text = description or f"The source id of a record of {kind}.jsonl."
    return Annotated[
        str,
        StringConstraints(min_length=1, max_length=200),
        RefTo(kind),
        Field(description=text, json_schema_extra={"x-references": f"{kind}.jsonl"}),
    ]


def _ahv_checksum(value: str) -> str:
    if not ssn.is_valid(value):
        raise PydanticCustomError("ahv_checksum", "the check digit of this AHV number is wrong")
    return value


AhvNumber = Annotated[
    str,
    StringConstraints(pattern=r"^756[0-9]{10}$"),
    AfterValidator(_ahv_checksum),
    Field(description="13 digits without dots, starting with 756, with a valid check digit."),
]


def _relative_document_path(value: str) -> str:
    parts = value.split("/")
    if value.startswith("/") or "\\" in value or any(p in ("", ".", "..") for p in parts):
        raise PydanticCustomError("document_path", "not a plain relative path")
    return value


DocumentPath = Annotated[
    str,
    StringConstraints(min_length=11, max_length=300, pattern=r"^documents/"),
    AfterValidator(_relative_document_path),
    Field(description="Where the file is in the delivery, e.g. documents/4711.pdf."),
]
Sha256 = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
Text = Annotated[str, StringConstraints(max_length=100_000)]
Line = Annotated[str, StringConstraints(max_length=300)]
Name = Annotated[str, StringConstraints(min_length=1, max_length=100)]
Canton = Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")]
Params = dict[str, JsonValue]  # the parameters of a language-neutral text


class Record(BaseModel):
    """What every record has: its source id; nothing else is allowed than what is declared."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    source_id: SourceId


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


# --- the kinds ------------------------------------------------------------------------------


class MembershipItem(Strict):
    role: RoleValue  # type: ignore[valid-type]
    team: Name | None = None
    is_active: bool = True


class UserRecord(Record):
    """A user of the delivering organisation (or one its records name) and their roles."""

    username: Annotated[str, StringConstraints(min_length=1, max_length=150)]
    first_name: Annotated[str, StringConstraints(max_length=150)] = ""
    last_name: Annotated[str, StringConstraints(max_length=150)] = ""
    email: Annotated[str, StringConstraints(max_length=254)] = ""
    language: LanguageValue = LanguageValue("fr")  # type: ignore[valid-type]
    is_active: bool = True
    memberships: list[MembershipItem] = []


class PersonRecord(Record):
    last_name: Name
    first_name: Name
    birth_date: datetime.date | None = None
    birth_date_known: BirthDateKnownValue = BirthDateKnownValue("day")  # type: ignore[valid-type]
    sex: SexValue | None = None  # type: ignore[valid-type]
    nationality: Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")] | None = None
    residence_status: ResidenceStatusValue | None = None  # type: ignore[valid-type]
    arrival_date: datetime.date | None = None
    languages: Annotated[str, StringConstraints(max_length=200)] = ""
    ahv_number: AhvNumber | None = None
    street: Annotated[str, StringConstraints(max_length=200)] = ""
    postal_code: Annotated[str, StringConstraints(max_length=10)] = ""
    city: Annotated[str, StringConstraints(max_length=100)] = ""
    phone: Annotated[str, StringConstraints(max_length=40)] = ""
    email: Annotated[str, StringConstraints(max_length=254)] = ""


class HouseholdMember(Strict):
    person: Ref("persons")  # type: ignore[valid-type]
    relation: RelationValue  # type: ignore[valid-type]


class HouseholdRecord(Record):
    """An assistance unit: the applicant and the relatives supported with them."""

    name: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    members: list[HouseholdMember] = Field(min_length=1)


class DossierRecord(Record):
    domain: DomainValue  # type: ignore[valid-type]
    client: Ref("persons")  # type: ignore[valid-type]
    household: Ref("households") | None = None  # type: ignore[valid-type]
    responsible: Ref("users") | None = None  # type: ignore[valid-type]
    team: Name | None = None
    title: Annotated[str, StringConstraints(max_length=200)] = ""
    opened_on: datetime.date
    status: CaseStatusValue  # type: ignore[valid-type]
    stage: StageValue  # type: ignore[valid-type]
    stage_since: datetime.date | None = None
    short_term_advance: bool = False
    received_on: datetime.date | None = None
    exit_potential: ExitPotentialValue | None = None  # type: ignore[valid-type]
    exit_expected_by: datetime.date | None = None
    segment: SegmentValue | None = None  # type: ignore[valid-type]
    segment_since: datetime.date | None = None
    closed_on: datetime.date | None = None
    closure_reason: ClosureReasonValue | None = None  # type: ignore[valid-type]


class StageRecord(Record):
    """A step of a dossier's lifecycle (intake, counselling, transfer, closing ...)."""

    dossier: Ref("dossiers")  # type: ignore[valid-type]
    kind: Annotated[str, StringConstraints(min_length=1, max_length=32)]
    from_stage: StageValue | None = None  # type: ignore[valid-type]
    to_stage: StageValue | None = None  # type: ignore[valid-type]
    reason: Text = ""
    reason_key: Annotated[str, StringConstraints(max_length=32)] = ""
    reason_params: Params = {}
    actor: Ref("users")  # type: ignore[valid-type]
    at: datetime.datetime
    effective_on: datetime.date | None = None


class SegmentRecord(Record):
    """A period of a dossier in a segment (A, B, C)."""

    dossier: Ref("dossiers")  # type: ignore[valid-type]
    segment: SegmentValue  # type: ignore[valid-type]
    since: datetime.date
    until: datetime.date | None = None
    kind: SegmentKindValue  # type: ignore[valid-type]
    kept_until: datetime.date | None = None
    justification: Text
    decided_by: Ref("users")  # type: ignore[valid-type]
    approved_by: Ref("users") | None = None  # type: ignore[valid-type]
    recorded_at: datetime.datetime


class JournalEntryRecord(Record):
    dossier: Ref("dossiers")  # type: ignore[valid-type]
    kind: ContactKindValue  # type: ignore[valid-type]
    date: datetime.date
    topic: Annotated[str, StringConstraints(min_length=1, max_length=32)]
    participants: Line = ""
    duration_minutes: Annotated[int, Field(ge=0, le=24 * 60)] | None = None
    note: Text = ""
    counts: bool
    is_face_to_face: bool
    is_retracted: bool = False
    supersedes: Ref("journal") | None = None  # type: ignore[valid-type]
    correction_reason: Line = ""
    recorded_by: Ref("users")  # type: ignore[valid-type]
    recorded_at: datetime.datetime


class TaskRecord(Record):
    dossier: Ref("dossiers")  # type: ignore[valid-type]
    kind: TaskKindValue = TaskKindValue("manual")  # type: ignore[valid-type]
    title: Annotated[str, StringConstraints(max_length=200)] = ""
    title_key: Annotated[str, StringConstraints(max_length=40)] = ""
    title_params: Params = {}
    description: Text = ""
    due_on: datetime.date
    assigned_to: Ref("users") | None = None  # type: ignore[valid-type]
    assigned_role: RoleValue | None = None  # type: ignore[valid-type]
    status: TaskStatusValue  # type: ignore[valid-type]
    closed_by: Ref("users") | None = None  # type: ignore[valid-type]
    closed_at: datetime.datetime | None = None
    closing_note: Text = ""
    created_by: Ref("users") | None = None  # type: ignore[valid-type]
    created_at: datetime.datetime


class ConsentRecord(Record):
    dossier: Ref("dossiers")  # type: ignore[valid-type]
    person: Ref("persons")  # type: ignore[valid-type]
    kind: ConsentKindValue  # type: ignore[valid-type]
    sections: list[SectionValue] = []  # type: ignore[valid-type]
    scope: Text
    signed_on: datetime.date
    valid_until: datetime.date | None = None
    withdrawn_on: datetime.date | None = None
    recorded_by: Ref("users")  # type: ignore[valid-type]
    recorded_at: datetime.datetime


class ShareRecord(Record):
    """Sections of a dossier opened to another organisation (named, since it is not part of
    the delivery)."""

    dossier: Ref("dossiers")  # type: ignore[valid-type]
    organisation: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    sections: list[SectionValue] = Field(min_length=1)  # type: ignore[valid-type]
    access: ShareAccessValue  # type: ignore[valid-type]
    basis: ShareBasisValue  # type: ignore[valid-type]
    reason: Line
    consent: Ref("consents") | None = None  # type: ignore[valid-type]
    valid_until: datetime.date
    granted_by: Ref("users")  # type: ignore[valid-type]
    granted_at: datetime.datetime
    revoked_at: datetime.datetime | None = None
    revoked_by: Ref("users") | None = None  # type: ignore[valid-type]


class TemplateRef(Strict):
    canton: Canton
    code: Annotated[str, StringConstraints(min_length=1, max_length=48)]
    version: Annotated[int, Field(ge=1)]


class AssessmentRecord(Record):
    dossier: Ref("dossiers")  # type: ignore[valid-type]
    person: Ref("persons")  # type: ignore[valid-type]
    template: TemplateRef
    assessed_on: datetime.date
    status: AssessmentStatusValue  # type: ignore[valid-type]
    answers: dict[str, JsonValue] = {}
    created_by: Ref("users")  # type: ignore[valid-type]
    created_at: datetime.datetime
    finalised_by: Ref("users") | None = None  # type: ignore[valid-type]
    finalised_at: datetime.datetime | None = None


class GoalItem(Strict):
    key: GoalValue  # type: ignore[valid-type]
    status: GoalStatusValue  # type: ignore[valid-type]
    status_on: datetime.date
    target_date: datetime.date | None = None
    note: Text = ""


class PlanRecord(Record):
    dossier: Ref("dossiers")  # type: ignore[valid-type]
    template: Annotated[str, StringConstraints(max_length=200)] | None = None
    goals: list[GoalItem] = []
    created_by: Ref("users")  # type: ignore[valid-type]
    created_at: datetime.datetime


class MeasureRecord(Record):
    plan: Ref("plans")  # type: ignore[valid-type]
    title: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    category: MeasureCategoryValue  # type: ignore[valid-type]
    goals: list[GoalValue] = []  # type: ignore[valid-type]
    programme: Annotated[str, StringConstraints(max_length=200)] | None = None
    provider: Annotated[str, StringConstraints(max_length=200)] = ""
    planned_start: datetime.date | None = None
    planned_end: datetime.date | None = None
    actual_start: datetime.date | None = None
    actual_end: datetime.date | None = None
    status: MeasureStatusValue  # type: ignore[valid-type]
    abort_reason: AbortReasonValue | None = None  # type: ignore[valid-type]
    result: MeasureResultValue | None = None  # type: ignore[valid-type]
    conduct_note: Text = ""
    client_view: Text = ""
    created_by: Ref("users")  # type: ignore[valid-type]
    created_at: datetime.datetime


class DocumentRecord(Record):
    """A document of a dossier: its metadata here, its file under ``documents/``."""

    dossier: Ref("dossiers")  # type: ignore[valid-type]
    task: Ref("tasks") | None = None  # type: ignore[valid-type]
    path: DocumentPath
    original_name: Annotated[str, StringConstraints(min_length=1, max_length=255)]
    content_type: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    size: Annotated[int, Field(ge=0)]
    sha256: Sha256
    uploaded_by: Ref("users")  # type: ignore[valid-type]
    uploaded_at: datetime.datetime


# The kinds in the order they are read and stored: a record refers only to kinds before its
# own (or to its own kind: a journal entry that corrects another one).
KINDS: dict[str, type[Record]] = {
    "users": UserRecord,
    "persons": PersonRecord,
    "households": HouseholdRecord,
    "dossiers": DossierRecord,
    "stages": StageRecord,
    "segments": SegmentRecord,
    "journal": JournalEntryRecord,
    "tasks": TaskRecord,
    "consents": ConsentRecord,
    "shares": ShareRecord,
    "assessments": AssessmentRecord,
    "plans": PlanRecord,
    "measures": MeasureRecord,
    "documents": DocumentRecord,
}


def file_name(kind: str) -> str:
    return f"{kind}.jsonl"


# --- the manifest ---------------------------------------------------------------------------


class DeliveringOrganisation(Strict):
    source_id: SourceId
    name: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    kind: OrganisationKindValue  # type: ignore[valid-type]
    canton: Canton
    language: LanguageValue = LanguageValue("fr")  # type: ignore[valid-type]


class FileEntry(Strict):
    count: Annotated[int, Field(ge=0)]
    sha256: Sha256


class Manifest(Strict):
    """``manifest.json``: what the delivery is and what it holds."""

    format_version: Literal["1.0"]
    producer: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    created_at: datetime.datetime
    organisation: DeliveringOrganisation
    files: dict[str, FileEntry]


# --- references -----------------------------------------------------------------------------


def references(model: type[BaseModel]) -> list[tuple[str, str, bool]]:
    """The reference fields of a model: (path, kind, nested in a list). Paths go one level
    into lists of items (``members[].person``)."""
    found: list[tuple[str, str, bool]] = []
    for name, info in model.model_fields.items():
        for meta in info.metadata:
            if isinstance(meta, RefTo):
                found.append((name, meta.kind, False))
        annotation = info.annotation
        ref = _ref_in(annotation)
        if ref is not None and not any(f[0] == name for f in found):
            found.append((name, ref, False))
        item = _list_item(annotation)
        if isinstance(item, type) and issubclass(item, BaseModel):
            found.extend((f"{name}[].{path}", kind, True) for path, kind, _n in references(item))
    return found


def _ref_in(annotation: Any) -> str | None:
    """The kind named by a ``Ref(...)`` annotation, also inside ``Ref(...) | None``."""
    for meta in getattr(annotation, "__metadata__", ()):
        if isinstance(meta, RefTo):
            return meta.kind
    for arg in getattr(annotation, "__args__", ()):
        kind = _ref_in(arg)
        if kind is not None:
            return kind
    return None


def _list_item(annotation: Any) -> Any:
    if getattr(annotation, "__origin__", None) is list:
        return annotation.__args__[0]
    return None


def reference_values(record: BaseModel, path: str) -> list[str]:
    """The source ids a record names under a reference path."""
    if "[]." in path:
        head, rest = path.split("[].", 1)
        values: list[str] = []
        for item in getattr(record, head):
            values.extend(reference_values(item, rest))
        return values
    value = getattr(record, path)
    return [value] if isinstance(value, str) else []


# --- JSON Schema ----------------------------------------------------------------------------


def json_schemas() -> dict[str, dict[str, Any]]:
    """The published JSON Schemas: one per kind and one for the manifest."""
    schemas: dict[str, dict[str, Any]] = {}
    for kind, model in KINDS.items():
        schema = model.model_json_schema()
        schema["x-format-version"] = FORMAT_VERSION
        schema["x-file"] = file_name(kind)
        schemas[kind] = schema
    manifest = Manifest.model_json_schema()
    manifest["x-format-version"] = FORMAT_VERSION
    schemas["manifest"] = manifest
    return schemas
