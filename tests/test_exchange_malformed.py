"""Bad input (issue 9, "Bad input"; M1, M2): generated malformed deliveries thrown at the
import. Each one gives a report that names the file, the line and the field of the defect,
and nothing is stored; a good delivery imports cleanly right after.

The reader's own tests (``test_exchange_format``) hold one example of each defect and check
that random bytes never raise; here the defects are generated over a real delivery (which
record, which field, which wrong value, which unsafe zip entry) and go through the public
``import_delivery``, dry run and all."""

from __future__ import annotations

import dataclasses
import datetime
import json
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from filum.cases.models import Case
from filum.documents.models import Document
from filum.exchange import format as fmt
from filum.exchange.importer import import_delivery
from filum.exchange.models import ImportRun, SourceRecord
from filum.journal.models import Contact
from filum.people.models import Person
from filum.tenancy.models import Organisation, User
from tests import factories
from tests.test_exchange_export import private_storage as private_storage  # autouse
from tests.test_exchange_format import PDF, _entry, _person, build
from tests.test_exchange_readiness import importable_files

pytestmark = pytest.mark.django_db

EXAMPLES = 4  # per kind of defect: 14 kinds, about 60 imports in all


def good() -> dict[str, list[Any]]:
    files = importable_files()
    files["persons"].append(_person("p2", last_name="Keller", first_name="Lea"))
    files["journal"].append(
        _entry("j3", kind="phone", topic="housing", is_face_to_face=False, date="2025-03-05")
    )
    return files


@dataclass
class Delivery:
    """A delivery to build, and the problem its defect must give."""

    files: dict[str, list[Any]]
    key: set[str]
    file: str
    line: int | None
    field: str = ""
    documents: dict[str, bytes] = dataclasses.field(
        default_factory=lambda: {"documents/doc1.pdf": PDF}
    )
    edit: Callable[[dict[str, Any]], None] | None = None
    zip_entry: tuple[str, bytes] | None = None

    def write(self, root: Path) -> Path:
        root.mkdir(parents=True)
        path = build(
            root,
            self.files,
            documents=self.documents,
            edit=self.edit,
            as_zip=self.zip_entry is not None,
        )
        if self.zip_entry is not None:
            name, blob = self.zip_entry
            with zipfile.ZipFile(path, "a", zipfile.ZIP_DEFLATED) as archive:
                archive.writestr(name, blob)
        return path


KINDS = ["users", "persons", "dossiers", "journal", "documents"]


def _record(draw: st.DrawFn, files: dict[str, list[Any]]) -> tuple[str, int, dict[str, Any]]:
    kind = draw(st.sampled_from(KINDS))
    index = draw(st.integers(0, len(files[kind]) - 1))
    return kind, index, files[kind][index]


@st.composite
def broken_json(draw: st.DrawFn) -> Delivery:
    files = good()
    kind, index, record = _record(draw, files)
    text = json.dumps(record)
    files[kind][index] = text[: draw(st.integers(1, len(text) - 1))]
    return Delivery(files, {"line.json"}, fmt.file_name(kind), index + 1)


@st.composite
def unknown_field(draw: st.DrawFn) -> Delivery:
    files = good()
    kind, index, record = _record(draw, files)
    name = draw(st.from_regex(r"[a-z][a-z_]{0,12}", fullmatch=True))
    if name in fmt.KINDS[kind].model_fields:
        name = f"x_{name}"
    files[kind][index] = {**record, name: draw(st.none() | st.integers() | st.text(max_size=5))}
    return Delivery(files, {"field.unknown"}, fmt.file_name(kind), index + 1, name)


@st.composite
def missing_field(draw: st.DrawFn) -> Delivery:
    files = good()
    kind, index, record = _record(draw, files)
    model = fmt.KINDS[kind]
    required = sorted(n for n, f in model.model_fields.items() if f.is_required())
    name = draw(st.sampled_from(required))
    files[kind][index] = {k: v for k, v in record.items() if k != name}
    return Delivery(files, {"field.missing"}, fmt.file_name(kind), index + 1, name)


def _wrong(value: Any) -> st.SearchStrategy[Any]:
    if isinstance(value, bool):
        return st.sampled_from(["yes", 1, None, []])
    if isinstance(value, int):
        return st.sampled_from(["12", 1.5, True, {}])
    if isinstance(value, str):
        return st.sampled_from([12, True, ["x"], {"a": 1}])
    return st.sampled_from(["x", 3])


@st.composite
def wrong_type(draw: st.DrawFn) -> Delivery:
    files = good()
    kind, index, record = _record(draw, files)
    name = draw(st.sampled_from(sorted(k for k, v in record.items() if v is not None)))
    files[kind][index] = {**record, name: draw(_wrong(record[name]))}
    expected = {"field.type", "field.choice", "field.range"}
    return Delivery(files, expected, fmt.file_name(kind), index + 1, name)


@st.composite
def unknown_reference(draw: st.DrawFn) -> Delivery:
    files = good()
    choices = [
        (kind, index, path)
        for kind in KINDS
        for index, record in enumerate(files[kind])
        for path, _target, nested in fmt.references(fmt.KINDS[kind])
        if not nested and record.get(path) is not None
    ]
    kind, index, path = draw(st.sampled_from(choices))
    missing = draw(st.from_regex(r"nobody-[0-9]{1,6}", fullmatch=True))
    files[kind][index] = {**files[kind][index], path: missing}
    return Delivery(files, {"record.reference"}, fmt.file_name(kind), index + 1, path)


@st.composite
def duplicate_id(draw: st.DrawFn) -> Delivery:
    files = good()
    kind, index, record = _record(draw, files)
    files[kind].append(dict(record))
    line = len(files[kind])
    return Delivery(files, {"record.duplicate"}, fmt.file_name(kind), line, "source_id")


@st.composite
def file_checksum(draw: st.DrawFn) -> Delivery:
    kind = draw(st.sampled_from(KINDS))
    name = fmt.file_name(kind)
    wrong = draw(st.from_regex(r"[0-9a-f]{64}", fullmatch=True))

    def edit(manifest: dict[str, Any]) -> None:
        if manifest["files"][name]["sha256"] == wrong:  # pragma: no cover (2**-256)
            return
        manifest["files"][name]["sha256"] = wrong

    return Delivery(good(), {"file.checksum"}, name, None, edit=edit)


@st.composite
def document_checksum(draw: st.DrawFn) -> Delivery:
    position = draw(st.integers(0, len(PDF) - 1))
    flipped = bytearray(PDF)
    flipped[position] ^= draw(st.integers(1, 255))
    documents = {"documents/doc1.pdf": bytes(flipped)}
    return Delivery(good(), {"document.checksum"}, "documents.jsonl", 1, "sha256", documents)


@st.composite
def document_size(draw: st.DrawFn) -> Delivery:
    extra = draw(st.binary(min_size=1, max_size=50))
    documents = {"documents/doc1.pdf": PDF + extra}
    return Delivery(good(), {"document.size"}, "documents.jsonl", 1, "size", documents)


@st.composite
def zip_escape(draw: st.DrawFn) -> Delivery:
    name = draw(st.sampled_from(["../", "documents/../../", "a/../../", "/", "..\\", "C:"])) + draw(
        st.from_regex(r"[a-z]{1,8}(\.txt)?", fullmatch=True)
    )
    entry = (name, b"escape")
    return Delivery(good(), {"zip.unsafe_path"}, "", None, zip_entry=entry)


@st.composite
def zip_bomb(draw: st.DrawFn) -> Delivery:
    size = draw(st.integers(2, 4)) * 1024 * 1024  # expands ~1,000 times: refused by ratio
    entry = (f"documents/bomb{draw(st.integers(0, 99))}.bin", bytes(size))
    return Delivery(good(), {"zip.ratio"}, "", None, zip_entry=entry)


@st.composite
def face_to_face_without_duration(draw: st.DrawFn) -> Delivery:
    """Accepted by the format, refused by the journal's constraint (S7): the dry run must say
    so, not the database in the middle of the import."""
    files = good()
    index = draw(st.integers(0, 1))  # j1, j2: interviews
    duration = draw(st.sampled_from([None, 0]))
    entry = {k: v for k, v in files["journal"][index].items() if k != "duration_minutes"}
    if duration is not None:
        entry["duration_minutes"] = duration
    files["journal"][index] = entry
    return Delivery(files, {"import.duration"}, "journal.jsonl", index + 1, "duration_minutes")


@st.composite
def ahv_twice(draw: st.DrawFn) -> Delivery:
    """The same AHV number for two persons (one person in Filum): refused by the dry run,
    before the database's unique constraint fails a batch."""
    files = good()
    if draw(st.booleans()):  # the second person with or without a birth date
        files["persons"][1] = {**files["persons"][1], "birth_date": "1990-01-01"}
    ahv = files["persons"][0]["ahv_number"]
    files["persons"][1] = {**files["persons"][1], "ahv_number": ahv}
    return Delivery(files, {"import.ahv_twice"}, "persons.jsonl", 2, "ahv_number")


@st.composite
def person_dates(draw: st.DrawFn) -> Delivery:
    """Dates the format takes and the person table refuses: implausible, a partly known birth
    date that is not the first of its month or year, an arrival before the birth."""
    files = good()
    index = draw(st.integers(0, 1))
    person = dict(files["persons"][index])
    case = draw(st.sampled_from(["range", "arrival_range", "partial", "arrival"]))
    if case == "range":
        person["birth_date"] = draw(st.dates(max_value=datetime.date(1899, 12, 31))).isoformat()
        key, name = "import.date_range", "birth_date"
    elif case == "arrival_range":
        person["arrival_date"] = draw(st.dates(min_value=datetime.date(2200, 1, 1))).isoformat()
        key, name = "import.date_range", "arrival_date"
    elif case == "partial":
        day = draw(st.dates(datetime.date(1950, 1, 2), datetime.date(2000, 12, 31)))
        person["birth_date_known"] = (
            "year" if day.day == 1 else draw(st.sampled_from(["month", "year"]))
        )
        person["birth_date"] = day.isoformat()
        key, name = "import.partial_birth_date", "birth_date"
    else:
        person["birth_date"] = "1990-05-05"
        arrival = draw(st.dates(datetime.date(1950, 1, 1), datetime.date(1990, 5, 4)))
        person["arrival_date"] = arrival.isoformat()
        key, name = "import.arrival_before_birth", "arrival_date"
    files["persons"][index] = person
    return Delivery(files, {key}, "persons.jsonl", index + 1, name)


DEFECTS = {
    "broken_json": broken_json(),
    "unknown_field": unknown_field(),
    "missing_field": missing_field(),
    "wrong_type": wrong_type(),
    "unknown_reference": unknown_reference(),
    "duplicate_id": duplicate_id(),
    "file_checksum": file_checksum(),
    "document_checksum": document_checksum(),
    "document_size": document_size(),
    "zip_escape": zip_escape(),
    "zip_bomb": zip_bomb(),
    "face_to_face_without_duration": face_to_face_without_duration(),
    "ahv_twice": ahv_twice(),
    "person_dates": person_dates(),
}


def stored() -> dict[str, int]:
    models = [User, Person, Case, Contact, Document, SourceRecord, ImportRun, Organisation]
    return {m.__name__: m.objects.count() for m in models}


@pytest.mark.parametrize("defect", list(DEFECTS))
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_m2_malformed_delivery_gives_a_precise_report_stores_nothing_then_good_imports(
    tmp_path_factory: pytest.TempPathFactory, defect: str, data: st.DataObject
) -> None:
    delivery = data.draw(DEFECTS[defect])
    root = tmp_path_factory.mktemp(defect)
    target = factories.OrganisationFactory(name=f"Service {root.name}")
    before = stored()
    result = import_delivery(delivery.write(root / "bad"), by=None, organisation=target)
    where = [(p.key, p.file, p.line, p.field) for p in result.report.problems]
    assert any(
        key in delivery.key and (file, line, name) == (delivery.file, delivery.line, delivery.field)
        for key, file, line, name in where
    ), (sorted(delivery.key), delivery.file, delivery.line, delivery.field, where)
    assert stored() == before, "a refused delivery stored something"
    # a good delivery right after imports cleanly, every record of it
    files = good()
    path = Delivery(files, set(), "", None).write(root / "good")
    imported = import_delivery(path, by=None, organisation=target)
    assert imported.report.ok, [p.as_dict() for p in imported.report.problems]
    mapped = SourceRecord.objects.filter(organisation=target).count()
    assert mapped == sum(len(records) for records in files.values())
    assert Case.objects.filter(owner=target).count() == 1
    assert Contact.objects.filter(case__owner=target).count() == 3
