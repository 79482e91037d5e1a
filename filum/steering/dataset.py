"""The canton's anonymised dataset (D6, X3): its tables, their columns and the pseudonym.

The schema below is the one source of the extract's Parquet schemas, of the data dictionary
written next to them, and of the fields an indicator definition may name. The descriptions are
in English; each is a msgid of the translation catalogues (locale/*/django.po, kept by hand),
which give the dictionary's French and German (a test checks that none is missing).

No column holds a name, an AHV number, an address or free text: persons and dossiers appear
under a keyed pseudonym (HMAC-SHA256 with the canton's key, see ``canton_key``), a birth as its
year, a place as the commune's BFS number, everything else as codes, dates and numbers.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

import pyarrow as pa  # type: ignore[import-untyped]
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

# pyarrow types by the short names the schema uses
TYPES: dict[str, pa.DataType] = {
    "text": pa.string(),
    "int": pa.int32(),
    "date": pa.date32(),
    "bool": pa.bool_(),
}


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # a key of TYPES
    description: str
    dimension: bool = False  # an indicator may split by it (service, commune, a year, codes)


@dataclass(frozen=True)
class Table:
    name: str
    description: str
    unit: str  # the column whose distinct values an indicator counts
    columns: tuple[Column, ...]

    def column(self, name: str) -> Column | None:
        return next((c for c in self.columns if c.name == name), None)

    @property
    def schema(self) -> pa.Schema:
        return pa.schema([pa.field(c.name, TYPES[c.type]) for c in self.columns])


_PERSON = Column("person", "text", "Pseudonym of the person (HMAC-SHA256 with the canton's key).")
_DOSSIER = Column(
    "dossier", "text", "Pseudonym of the dossier (HMAC-SHA256 with the canton's key)."
)
_SERVICE = Column("service", "int", "Number of the service (organisation) in Filum.", True)
_SERVICE_NAME = Column("service_name", "text", "Name of the service (an organisation).")
_COMMUNE = Column(
    "commune",
    "int",
    "BFS number of the dossier's commune: the commune served by the service whose name is the "
    "client's place, else the service's only commune; empty when neither tells.",
    True,
)

TABLES: dict[str, Table] = {
    t.name: t
    for t in (
        Table(
            "persons",
            "One row per person who is the client or a member of the assistance unit of a "
            "dossier of the canton's services.",
            "person",
            (
                _PERSON,
                Column("birth_year", "int", "Year of birth.", True),
                Column("sex", "text", "Sex code (f, m, x; empty when unknown).", True),
                Column("nationality", "text", "Nationality, ISO 3166 alpha-2 code.", True),
                Column("residence_status", "text", "Residence status code (B_FL, F, ...).", True),
                Column("arrival_year", "int", "Year of arrival in Switzerland.", True),
            ),
        ),
        Table(
            "dossiers",
            "One row per dossier of the canton's services, with its state on the extract day.",
            "dossier",
            (
                _DOSSIER,
                _PERSON,
                _SERVICE,
                _SERVICE_NAME,
                _COMMUNE,
                Column("domain", "text", "Domain code (economic_aid, asylum_aid, ...).", True),
                Column("status", "text", "open or closed.", True),
                Column(
                    "stage", "text", "Stage code (intake_1, intake_2, counselling, closed).", True
                ),
                Column("segment", "text", "Current segment (A, B, C; empty when none).", True),
                Column("opened_on", "date", "Opening date."),
                Column("opened_year", "int", "Year of opening.", True),
                Column("closed_on", "date", "Closing date (empty while open)."),
                Column("closed_year", "int", "Year of closing (empty while open).", True),
                Column("closure_reason", "text", "Closure reason code (empty while open).", True),
                Column(
                    "duration_days",
                    "int",
                    "Days from the opening to the closing, or to the extract day while open.",
                ),
                Column("has_norm", "bool", "A contact norm applies (the kept light).", True),
                Column("norm_met", "bool", "A contact norm applies and is met.", True),
            ),
        ),
        Table(
            "segments",
            "The segment history of the dossiers: one row per period in a segment.",
            "dossier",
            (
                _DOSSIER,
                _SERVICE,
                Column("segment", "text", "Segment (A, B, C).", True),
                Column("since", "date", "First day in the segment."),
                Column("until", "date", "Last day in the segment (empty while current)."),
            ),
        ),
        Table(
            "language_levels",
            "Oral levels in a national language (de, fr, it) of final assessments.",
            "person",
            (
                _PERSON,
                _DOSSIER,
                _SERVICE,
                Column("language", "text", "Language code (de, fr, it).", True),
                Column("assessed_on", "date", "Date of the assessment."),
                Column("assessed_year", "int", "Year of the assessment.", True),
                Column("rank", "int", "CEFR rank: 0 pre-A1, 1 A1, 2 A2 ... 6 C2.", True),
            ),
        ),
        Table(
            "ais_milestones",
            "The AIS milestones of the persons of dossiers with an integration plan, as the "
            "timeline computes them (decision 0021), as of the extract day.",
            "person",
            (
                _PERSON,
                _DOSSIER,
                _SERVICE,
                _SERVICE_NAME,
                _COMMUNE,
                Column(
                    "milestone",
                    "text",
                    "language_a1, education_16_25 or labour_market.",
                    True,
                ),
                Column("due_on", "date", "Due date (arrival + the milestone's years)."),
                Column("due_year", "int", "Year of the due date.", True),
                Column("state", "text", "met, missed, at_risk or pending.", True),
                Column("residence_status", "text", "Residence status code.", True),
                Column("arrival_year", "int", "Year of arrival.", True),
            ),
        ),
        Table(
            "measures",
            "The measures of the integration plans of the canton's dossiers (I2, I3): their kind, "
            "catalogue programme and provider, status and dates. No title, no note, no "
            "provider named outside the catalogue (free text that may name a person).",
            "person",
            (
                Column("measure", "text", "Pseudonym of the measure."),
                Column(
                    "person",
                    "text",
                    "Pseudonym of the person the measure is for (the client unless the measure "
                    "names another member of the assistance unit).",
                ),
                _DOSSIER,
                _SERVICE,
                _SERVICE_NAME,
                _COMMUNE,
                Column(
                    "kind",
                    "text",
                    "Kind of measure (language_course, job_coaching, work_placement, training, "
                    "health, social_integration, other).",
                    True,
                ),
                Column(
                    "programme",
                    "int",
                    "Number of the catalogue programme (empty: a measure outside the catalogue).",
                    True,
                ),
                Column(
                    "provider",
                    "int",
                    "Number of the catalogue provider (an organisation: public body, "
                    "association, school or company), of the measure or of its programme.",
                    True,
                ),
                Column(
                    "provider_kind",
                    "text",
                    "Kind of the catalogue provider (public, association, school, company; "
                    "empty when none).",
                    True,
                ),
                Column(
                    "outside_catalogue",
                    "bool",
                    "The provider was named outside the catalogue (the name is not extracted).",
                    True,
                ),
                Column(
                    "status",
                    "text",
                    "Status code (planned, registered, running, completed, aborted).",
                    True,
                ),
                Column("planned_start", "date", "Planned start."),
                Column("planned_end", "date", "Planned end."),
                Column("started_on", "date", "Actual start (empty before it started)."),
                Column("ended_on", "date", "Actual end (empty while not ended)."),
                Column(
                    "start_year", "int", "Year of the actual start, else of the planned one.", True
                ),
                Column(
                    "running",
                    "bool",
                    "Running on the extract day: status running, started by then and not ended "
                    "before.",
                    True,
                ),
                Column("abort_reason", "text", "Reason code of an aborted measure.", True),
                Column("result", "text", "Result code of an ended measure.", True),
            ),
        ),
        Table(
            "cii_cases",
            "CII cases (interinstitutional collaboration) of the canton's organisations.",
            "cii_case",
            (
                Column("cii_case", "text", "Pseudonym of the CII case."),
                _SERVICE,
                _SERVICE_NAME,
                Column("opened_on", "date", "Opening date."),
                Column("opened_year", "int", "Year of opening.", True),
                Column("health", "text", "Health code.", True),
                Column("out_of_work", "text", "Time out of work code.", True),
                Column("language_level", "text", "Language level code.", True),
                Column("education", "text", "Education code.", True),
                Column("nationality", "text", "Nationality group code.", True),
                Column("debts", "bool", "Debts recorded.", True),
                Column("exit_on", "date", "Exit date (empty while running)."),
                Column("exit_year", "int", "Year of the exit.", True),
                Column("exit_state", "text", "State at the exit code.", True),
            ),
        ),
    )
}


def canton_key(canton: str) -> bytes:
    """The canton's pseudonym key: ``FILUM_CANTON_KEY_<CANTON>`` (hex, at least 32 bytes) from
    the environment through ``settings.CANTON_DATASET_KEYS``. Outside production (DEBUG or no
    key configured with FILUM_CANTON_KEYS_REQUIRED unset) a key is derived from SECRET_KEY, so
    the demo and the tests work; docs/canton-dataset.md says how to keep the real one."""
    keys: dict[str, str] = getattr(settings, "CANTON_DATASET_KEYS", {})
    if canton in keys:
        key = bytes.fromhex(keys[canton])
        if len(key) < 32:
            raise ImproperlyConfigured(f"the canton key of {canton} is shorter than 32 bytes")
        return key
    if getattr(settings, "CANTON_DATASET_KEYS_REQUIRED", False):
        raise ImproperlyConfigured(f"no canton dataset key for {canton}")
    return hashlib.sha256(f"canton-dataset:{canton}:{settings.SECRET_KEY}".encode()).digest()


class Pseudonymiser:
    """A record's pseudonym: the first 128 bits of HMAC-SHA256(key, kind + ":" + id), in hex.
    Stable within the canton as long as its key is kept; without the key it cannot be
    recomputed from an id, and pseudonyms of different kinds never coincide."""

    def __init__(self, key: bytes) -> None:
        self._mac = hmac.new(key, digestmod=hashlib.sha256)

    def __call__(self, kind: str, record_id: object) -> str | None:
        if record_id is None:
            return None
        mac = self._mac.copy()
        mac.update(f"{kind}:{record_id}".encode())
        return mac.hexdigest()[:32]
