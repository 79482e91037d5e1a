"""What the API reads and writes: explicit fields per resource, never a model's all (R35)."""

from __future__ import annotations

import datetime
import uuid
from typing import Annotated, Any

from ninja import Schema
from pydantic import AfterValidator, ConfigDict, Field

from filum.cases.models import DossierTransfer, TransferDecline, TransferKind
from filum.journal.models import ContactKind


def _storable(value: str) -> str:
    """Text PostgreSQL can hold: no NUL character, no lone surrogate (a 422, not a 500)."""
    if "\x00" in value:
        raise ValueError("must not contain the NUL character")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode text") from None
    return value


# every text a client sends that reaches the database
InText = Annotated[str, AfterValidator(_storable)]


class ProblemOut(Schema):
    """RFC 9457 problem details."""

    type: str
    title: str
    status: int
    detail: str
    instance: str | None = None
    errors: list[dict[str, Any]] | None = None


class PersonOut(Schema):
    id: uuid.UUID
    last_name: str
    first_name: str
    birth_date: datetime.date | None
    birth_date_known: str
    sex: str


class PersonDetailOut(PersonOut):
    nationality: str
    residence_status: str
    ahv_number: str | None
    street: str
    postal_code: str
    city: str


class PersonSearchIn(Schema):
    model_config = ConfigDict(extra="forbid")

    q: InText = Field(min_length=1, max_length=200)


class DossierOut(Schema):
    id: uuid.UUID
    number: int
    owner_id: int
    client_id: uuid.UUID
    domain: str
    status: str
    stage: str
    segment: str
    opened_on: datetime.date
    closed_on: datetime.date | None
    responsible_id: int | None
    title: str


class ContactOut(Schema):
    id: int
    date: datetime.date
    kind: str
    topic: str
    participants: str
    duration_minutes: int | None
    note: str
    counts: bool
    is_face_to_face: bool
    author_organisation_id: int | None
    corrects_id: int | None
    recorded_at: datetime.datetime


class ContactIn(Schema):
    model_config = ConfigDict(extra="forbid")

    kind: ContactKind
    date: datetime.date
    topic: InText = Field(min_length=1, max_length=32, description="the code of an active topic")
    duration_minutes: int | None = Field(default=None, ge=1, le=24 * 60)
    participants: InText = Field(default="", max_length=300)
    note: InText = Field(default="", max_length=20000)


class TaskOut(Schema):
    id: int
    kind: str
    title: str
    due_on: datetime.date
    status: str
    assigned_to_id: int | None
    assigned_role: str
    closed_at: datetime.datetime | None


class AssessmentOut(Schema):
    id: uuid.UUID
    person_id: uuid.UUID
    template: str
    assessed_on: datetime.date
    status: str
    finalised_at: datetime.datetime | None


class GoalOut(Schema):
    id: int
    key: str
    status: str
    status_on: datetime.date
    target_date: datetime.date | None


class PlanOut(Schema):
    id: int
    template_id: int | None
    created_at: datetime.datetime
    goals: list[GoalOut]


class MeasureOut(Schema):
    id: int
    title: str
    category: str
    status: str
    programme_id: int | None
    provider_id: int | None
    planned_start: datetime.date | None
    planned_end: datetime.date | None
    actual_start: datetime.date | None
    actual_end: datetime.date | None
    result: str


class ProviderOut(Schema):
    id: int
    name: str
    kind: str
    canton: str
    is_active: bool


class PeriodOut(Schema):
    id: int
    starts_on: datetime.date
    ends_on: datetime.date
    places: int
    taken: int
    waiting: int


class ProgrammeOut(Schema):
    id: int
    name: str
    category: str
    provider_id: int
    cost_per_place: str
    periods: list[PeriodOut]


class Page(Schema):
    next_cursor: str | None = Field(description="pass as ``cursor`` for the next page")


class PersonPage(Page):
    items: list[PersonOut]


class DossierPage(Page):
    items: list[DossierOut]


class ContactPage(Page):
    items: list[ContactOut]


class TaskPage(Page):
    items: list[TaskOut]


class AssessmentPage(Page):
    items: list[AssessmentOut]


class MeasurePage(Page):
    items: list[MeasureOut]


class ProviderPage(Page):
    items: list[ProviderOut]


class ProgrammePage(Page):
    items: list[ProgrammeOut]


class PersonList(Schema):
    items: list[PersonOut]


# --- dossier transfers (decision 0026) -------------------------------------------------------

# an id the database can hold (a larger one is a 422, not an overflow)
Id = Annotated[int, Field(ge=1, le=2**63 - 1)]


class TransferOut(Schema):
    id: uuid.UUID
    case_id: uuid.UUID
    case_number: int
    owner_id: int = Field(description="the sending service")
    receiver_id: int = Field(description="the receiving service")
    kind: str
    note: str
    cut_over_on: datetime.date
    tasks: str = Field(description="what becomes of the sender's open tasks on acceptance")
    shares: str = Field(description="what becomes of the shares in force on acceptance")
    status: str
    offered_at: datetime.datetime
    decided_at: datetime.datetime | None
    responsible_id: int | None
    decline_reason: str
    decline_note: str


class TransferPage(Page):
    items: list[TransferOut]


class TransferOfferIn(Schema):
    """What the offer page asks: the receiving service, the reason, the cut-over date, the
    note, and the explicit choices on the open tasks and the shares in force."""

    model_config = ConfigDict(extra="forbid")

    receiver_id: Id
    kind: TransferKind
    cut_over_on: datetime.date
    note: InText = Field(min_length=1, max_length=10000)
    tasks: DossierTransfer.Tasks
    shares: DossierTransfer.Shares


class TransferAcceptIn(Schema):
    model_config = ConfigDict(extra="forbid")

    responsible_id: Id = Field(description="a worker of the receiving service")


class TransferDeclineIn(Schema):
    model_config = ConfigDict(extra="forbid")

    reason: TransferDecline
    note: InText = Field(default="", max_length=2000)
