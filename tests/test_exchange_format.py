"""The intermediate migration format (M1) and its reader: the published schemas, a good
delivery, and one test per kind of bad input, each with a precise report (file, line, field)."""

from __future__ import annotations

import hashlib
import io
import json
import os
import stat
import zipfile
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.utils import translation
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from filum.exchange import format as fmt
from filum.exchange.reader import (
    MESSAGES,
    Limits,
    Problem,
    Refused,
    _Bounded,
    check_delivery,
)
from filum.exchange.schema import rendered_schemas, schema_dir

AHV = "7561234567897"  # a valid AHV number (check digit 7)
PDF = b"%PDF-1.4 a letter\n"


def _user(sid: str = "u1", **kw: Any) -> dict[str, Any]:
    return {"source_id": sid, "username": f"user-{sid}", **kw}


def _person(sid: str = "p1", **kw: Any) -> dict[str, Any]:
    return {"source_id": sid, "last_name": "Muster", "first_name": "Anna", **kw}


def _dossier(sid: str = "d1", **kw: Any) -> dict[str, Any]:
    return {
        "source_id": sid,
        "domain": "economic_aid",
        "client": "p1",
        "responsible": "u1",
        "opened_on": "2025-03-01",
        "status": "open",
        "stage": "intake_1",
        **kw,
    }


def _entry(sid: str = "j1", **kw: Any) -> dict[str, Any]:
    return {
        "source_id": sid,
        "dossier": "d1",
        "kind": "interview",
        "date": "2025-03-04",
        "topic": "general",
        "counts": True,
        "is_face_to_face": True,
        "recorded_by": "u1",
        "recorded_at": "2025-03-04T10:00:00+01:00",
        **kw,
    }


def _document(sid: str = "doc1", content: bytes = PDF, **kw: Any) -> dict[str, Any]:
    return {
        "source_id": sid,
        "dossier": "d1",
        "path": f"documents/{sid}.pdf",
        "original_name": "Lettre.pdf",
        "content_type": "application/pdf",
        "size": len(content),
        "sha256": hashlib.sha256(content).hexdigest(),
        "uploaded_by": "u1",
        "uploaded_at": "2025-03-04T10:00:00+01:00",
        **kw,
    }


def good_files() -> dict[str, list[Any]]:
    return {
        "users": [_user()],
        "persons": [_person(ahv_number=AHV, birth_date="1980-05-01", sex="f")],
        "dossiers": [_dossier()],
        "journal": [_entry(), _entry("j2", supersedes="j1", correction_reason="typo")],
        "documents": [_document()],
    }


def _line(item: Any) -> bytes:
    if isinstance(item, bytes):
        return item
    if isinstance(item, str):
        return item.encode() + b"\n"
    return json.dumps(item).encode() + b"\n"


def manifest_for(contents: dict[str, bytes], counts: dict[str, int]) -> dict[str, Any]:
    return {
        "format_version": "1.0",
        "producer": "Legacy KLIB 4.2",
        "created_at": "2026-11-30T08:00:00+01:00",
        "organisation": {
            "source_id": "org-1",
            "name": "Service social Bienne",
            "kind": "social_service",
            "canton": "BE",
        },
        "files": {
            name: {"count": counts[name], "sha256": hashlib.sha256(data).hexdigest()}
            for name, data in contents.items()
        },
    }


def build(
    tmp_path: Path,
    files: dict[str, list[Any]] | None = None,
    *,
    documents: dict[str, bytes] | None = None,
    manifest: dict[str, Any] | None = None,
    edit: Any = None,
    as_zip: bool = False,
) -> Path:
    """A delivery in a folder (or a zip): the lines as given, a manifest that matches them
    unless ``manifest`` or ``edit`` (a function changing it) say otherwise."""
    files = good_files() if files is None else files
    documents = {"documents/doc1.pdf": PDF} if documents is None else documents
    contents = {fmt.file_name(k): b"".join(_line(i) for i in items) for k, items in files.items()}
    counts = {fmt.file_name(k): len(items) for k, items in files.items()}
    data = manifest or manifest_for(contents, counts)
    if edit is not None:
        edit(data)
    everything = {**contents, **documents, fmt.MANIFEST: json.dumps(data).encode()}
    if as_zip:
        target = tmp_path / "delivery.zip"
        with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, blob in everything.items():
                archive.writestr(name, blob)
        return target
    root = tmp_path / "delivery"
    for name, blob in everything.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(blob)
    return root


def only(report: Any) -> Problem:
    assert len(report.problems) == 1, [p.as_dict() for p in report.problems]
    return report.problems[0]


# --- the format and its published schemas ------------------------------------------------------


def test_m1_published_schemas_are_the_generated_ones() -> None:
    """docs/exchange/*.schema.json are what `manage.py exchange_schema` writes from the models:
    a change to the format without publishing its schema fails here."""
    generated = rendered_schemas()
    published = {p.name: p.read_text(encoding="utf-8") for p in schema_dir().glob("*.json")}
    assert set(published) == set(generated)
    for name, text in generated.items():
        assert published[name] == text, f"{name} differs: run manage.py exchange_schema"


def test_m1_schema_command_writes_every_kind(tmp_path: Path) -> None:
    call_command("exchange_schema", out=tmp_path, stdout=io.StringIO())
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == sorted([f"{k}.schema.json" for k in fmt.KINDS] + ["manifest.schema.json"])
    persons = json.loads((tmp_path / "persons.schema.json").read_text())
    assert persons["additionalProperties"] is False
    assert persons["x-format-version"] == "1.0"
    assert "source_id" in persons["required"]


def test_m1_schema_names_references_and_choices() -> None:
    dossiers = json.loads(rendered_schemas()["dossiers.schema.json"])
    assert dossiers["properties"]["client"]["x-references"] == "persons.jsonl"
    stage = dossiers["$defs"]["Stage"]["enum"]
    assert stage == ["intake_1", "intake_2", "counselling", "closed"]


def test_m1_every_reference_points_to_a_kind_read_before_or_itself() -> None:
    order = list(fmt.KINDS)
    for kind, model in fmt.KINDS.items():
        for path, target, _nested in fmt.references(model):
            assert order.index(target) <= order.index(kind), (kind, path, target)


# --- a good delivery ---------------------------------------------------------------------------


def test_m1_good_folder_delivery_passes(tmp_path: Path) -> None:
    seen: list[tuple[str, int, str]] = []
    report = check_delivery(
        build(tmp_path), on_record=lambda kind, line, rec: seen.append((kind, line, rec.source_id))
    )
    assert report.ok, [p.message() for p in report.problems]
    assert report.counts == {"users": 1, "persons": 1, "dossiers": 1, "journal": 2, "documents": 1}
    assert report.manifest is not None
    assert report.manifest.organisation.name == "Service social Bienne"
    assert seen[:3] == [("users", 1, "u1"), ("persons", 1, "p1"), ("dossiers", 1, "d1")]


def test_m1_good_zip_delivery_passes(tmp_path: Path) -> None:
    report = check_delivery(build(tmp_path, as_zip=True))
    assert report.ok, [p.message() for p in report.problems]
    assert report.counts["journal"] == 2


def test_m1_partial_birth_date_and_optional_fields(tmp_path: Path) -> None:
    files = good_files()
    files["persons"] = [_person(birth_date="1987-01-01", birth_date_known="year")]
    assert check_delivery(build(tmp_path, files)).ok


# --- bad lines ---------------------------------------------------------------------------------


def _bad_person(tmp_path: Path, line: Any) -> Problem:
    files = good_files()
    files["persons"] = [_person(), line]
    files["dossiers"] = [_dossier()]
    return only(check_delivery(build(tmp_path, files)))


def test_m1_malformed_json_is_reported_with_file_and_line(tmp_path: Path) -> None:
    problem = _bad_person(tmp_path, '{"source_id": "p2", "last_name": ')
    assert (problem.key, problem.file, problem.line) == ("line.json", "persons.jsonl", 2)
    with translation.override("fr"):
        assert problem.message().startswith("persons.jsonl, ligne 2")


def test_m1_unknown_field(tmp_path: Path) -> None:
    problem = _bad_person(tmp_path, _person("p2", nickname="Anni"))
    assert (problem.key, problem.line, problem.field) == ("field.unknown", 2, "nickname")
    with translation.override("de"):
        assert "nickname" in problem.message()
        assert "Zeile 2" in problem.message()


def test_m1_missing_required_field(tmp_path: Path) -> None:
    line = _person("p2")
    del line["first_name"]
    problem = _bad_person(tmp_path, line)
    assert (problem.key, problem.field) == ("field.missing", "first_name")


def test_m1_wrong_type(tmp_path: Path) -> None:
    problem = _bad_person(tmp_path, _person("p2", birth_date=19800501))
    assert (problem.key, problem.field) == ("field.type", "birth_date")
    assert problem.params["expected"] == "date"
    with translation.override("fr"):
        assert "doit être une date (AAAA-MM-JJ)" in problem.message()


def test_m1_number_as_text_is_a_wrong_type(tmp_path: Path) -> None:
    files = good_files()
    files["journal"] = [_entry(duration_minutes="45")]
    problem = only(check_delivery(build(tmp_path, files)))
    assert (problem.key, problem.file, problem.field) == (
        "field.type",
        "journal.jsonl",
        "duration_minutes",
    )


def test_m1_value_outside_the_choices(tmp_path: Path) -> None:
    problem = _bad_person(tmp_path, _person("p2", sex="w"))
    assert (problem.key, problem.field) == ("field.choice", "sex")
    assert "'f'" in problem.params["expected"]


def test_m1_ahv_number_of_wrong_form(tmp_path: Path) -> None:
    problem = _bad_person(tmp_path, _person("p2", ahv_number="756.1234.5678.97"))
    assert (problem.key, problem.field) == ("field.pattern", "ahv_number")


def test_m1_ahv_number_with_wrong_check_digit(tmp_path: Path) -> None:
    problem = _bad_person(tmp_path, _person("p2", ahv_number="7561234567898"))
    assert (problem.key, problem.field) == ("field.ahv_checksum", "ahv_number")


def test_m1_line_that_is_not_an_object(tmp_path: Path) -> None:
    problem = _bad_person(tmp_path, "[1, 2]")
    assert problem.key == "line.not_object"


def test_m1_empty_line(tmp_path: Path) -> None:
    problem = _bad_person(tmp_path, "   ")
    assert (problem.key, problem.line) == ("line.empty", 2)


def test_m1_line_not_utf8(tmp_path: Path) -> None:
    problem = _bad_person(tmp_path, b'{"source_id": "p2\xff"}\n')
    assert problem.key == "line.encoding"


def test_m1_line_too_long(tmp_path: Path) -> None:
    files = good_files()
    files["persons"] = [_person(), _person("p2", street="x" * 5000), _person("p3")]
    report = check_delivery(build(tmp_path, files), limits=Limits(line_bytes=1000))
    problem = only(report)
    assert (problem.key, problem.line) == ("line.too_long", 2)


def test_m1_duplicate_source_id(tmp_path: Path) -> None:
    problem = _bad_person(tmp_path, _person("p1"))
    assert (problem.key, problem.line, problem.field) == ("record.duplicate", 2, "source_id")
    assert problem.params == {"source_id": "p1", "first": 1}


def test_m1_unknown_reference(tmp_path: Path) -> None:
    files = good_files()
    files["dossiers"] = [_dossier(client="p404")]
    problem = only(check_delivery(build(tmp_path, files)))
    assert (problem.key, problem.file, problem.field) == (
        "record.reference",
        "dossiers.jsonl",
        "client",
    )
    assert problem.params == {"source_id": "p404", "target": "persons.jsonl"}


def test_m1_unknown_reference_inside_a_list(tmp_path: Path) -> None:
    files = good_files()
    files["households"] = [
        {"source_id": "h1", "name": "Muster", "members": [{"person": "p9", "relation": "child"}]}
    ]
    problem = only(check_delivery(build(tmp_path, files)))
    assert (problem.key, problem.field) == ("record.reference", "members[].person")


def test_m1_unknown_reference_to_the_same_kind_later_in_the_file(tmp_path: Path) -> None:
    files = good_files()
    files["journal"] = [_entry("j2", supersedes="j1"), _entry("j1"), _entry("j3", supersedes="j9")]
    problem = only(check_delivery(build(tmp_path, files)))
    assert (problem.key, problem.line, problem.field) == ("record.reference", 3, "supersedes")


# --- the manifest and the files ---------------------------------------------------------------


def test_m1_missing_manifest(tmp_path: Path) -> None:
    root = build(tmp_path)
    (root / "manifest.json").unlink()
    assert only(check_delivery(root)).key == "manifest.missing"


def test_m1_manifest_of_another_format_version(tmp_path: Path) -> None:
    root = build(tmp_path, edit=lambda m: m.update(format_version="2.0"))
    problem = only(check_delivery(root))
    assert problem.key == "manifest.version"
    assert problem.params == {"found": "2.0", "expected": "1.0"}


def test_m1_manifest_with_a_wrong_field(tmp_path: Path) -> None:
    root = build(tmp_path, edit=lambda m: m["organisation"].update(canton="Bern"))
    problem = only(check_delivery(root))
    assert (problem.key, problem.file, problem.field) == (
        "field.pattern",
        "manifest.json",
        "organisation.canton",
    )


def test_m1_file_checksum_mismatch(tmp_path: Path) -> None:
    root = build(tmp_path)
    with (root / "persons.jsonl").open("ab") as stream:
        stream.write(json.dumps(_person("p2")).encode() + b"\n")
    keys = sorted(check_delivery(root).keys())
    assert keys == ["file.checksum", "file.count"]


def test_m1_file_listed_but_missing(tmp_path: Path) -> None:
    root = build(tmp_path)
    (root / "journal.jsonl").unlink()
    # the journal's entries are gone: nothing refers to them, only the manifest misses it
    problem = only(check_delivery(root))
    assert (problem.key, problem.params) == ("file.missing", {"file": "journal.jsonl"})


def test_m1_file_not_in_the_manifest(tmp_path: Path) -> None:
    root = build(tmp_path)
    (root / "notes.txt").write_text("hello")
    problem = only(check_delivery(root))
    assert (problem.key, problem.file) == ("file.unlisted", "notes.txt")


def test_m1_document_checksum_mismatch(tmp_path: Path) -> None:
    root = build(tmp_path, documents={"documents/doc1.pdf": PDF.replace(b"a", b"b")})
    problem = only(check_delivery(root))
    assert (problem.key, problem.file, problem.line, problem.field) == (
        "document.checksum",
        "documents.jsonl",
        1,
        "sha256",
    )


def test_m1_document_missing(tmp_path: Path) -> None:
    problem = only(check_delivery(build(tmp_path, documents={})))
    assert (problem.key, problem.params) == ("document.missing", {"path": "documents/doc1.pdf"})


def test_m1_document_size_differs(tmp_path: Path) -> None:
    root = build(tmp_path, documents={"documents/doc1.pdf": PDF + b"more"})
    assert only(check_delivery(root)).key == "document.size"


def test_m1_document_path_escaping_the_folder(tmp_path: Path) -> None:
    files = good_files()
    files["documents"] = [_document(path="documents/../../etc/passwd")]
    problem = only(check_delivery(build(tmp_path, files)))
    assert (problem.key, problem.field) == ("field.document_path", "path")


# --- zip safety --------------------------------------------------------------------------------


def _zip(tmp_path: Path, entries: list[tuple[zipfile.ZipInfo | str, bytes]]) -> Path:
    target = tmp_path / "evil.zip"
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for info, data in entries:
            archive.writestr(info, data)
    return target


def test_m1_zip_path_escaping_the_folder_is_refused(tmp_path: Path) -> None:
    problem = only(check_delivery(_zip(tmp_path, [("../evil.txt", b"x")])))
    assert (problem.key, problem.params) == ("zip.unsafe_path", {"name": "../evil.txt"})


def test_m1_zip_absolute_path_is_refused(tmp_path: Path) -> None:
    problem = only(check_delivery(_zip(tmp_path, [("/etc/cron.d/evil", b"x")])))
    assert problem.key == "zip.unsafe_path"


def test_m1_zip_windows_path_is_refused(tmp_path: Path) -> None:
    info = zipfile.ZipInfo("documents\\..\\..\\evil.txt")
    info.filename = "documents\\..\\..\\evil.txt"  # zipfile would turn backslashes into slashes
    assert only(check_delivery(_zip(tmp_path, [(info, b"x")]))).key == "zip.unsafe_path"


def test_m1_zip_symlink_is_refused(tmp_path: Path) -> None:
    link = zipfile.ZipInfo("documents/passwd")
    link.external_attr = (stat.S_IFLNK | 0o777) << 16
    problem = only(check_delivery(_zip(tmp_path, [(link, b"/etc/passwd")])))
    assert (problem.key, problem.params) == ("zip.symlink", {"name": "documents/passwd"})


def test_m1_folder_symlink_is_refused(tmp_path: Path) -> None:
    root = build(tmp_path)
    os.symlink("/etc/passwd", root / "documents" / "passwd")
    assert only(check_delivery(root)).key == "zip.symlink"


def test_m1_zip_with_too_many_entries_is_refused(tmp_path: Path) -> None:
    target = build(tmp_path, as_zip=True)
    problem = only(check_delivery(target, limits=Limits(entries=5)))
    assert (problem.key, problem.params) == ("zip.too_many", {"limit": 5})


def test_m1_zip_bomb_by_ratio_is_refused(tmp_path: Path) -> None:
    target = _zip(tmp_path, [("manifest.json", b"{}"), ("documents/zeros.bin", b"\0" * 8_000_000)])
    problem = only(check_delivery(target))
    assert problem.key == "zip.ratio"
    assert problem.params["name"] == "documents/zeros.bin"
    assert problem.params["ratio"] > 200


def test_m1_zip_bomb_by_declared_size_is_refused(tmp_path: Path) -> None:
    target = build(tmp_path, as_zip=True)
    problem = only(check_delivery(target, limits=Limits(total_bytes=500)))
    assert problem.key == "zip.too_large"


def test_m1_zip_entry_yielding_more_than_declared_is_refused() -> None:
    stream = io.BufferedReader(_Bounded(io.BytesIO(b"x" * 100), "persons.jsonl", 10))
    with pytest.raises(Refused) as refused:
        stream.read()
    assert refused.value.problem.key == "zip.size_mismatch"


def test_m1_damaged_zip(tmp_path: Path) -> None:
    target = tmp_path / "broken.zip"
    target.write_bytes(b"PK\x03\x04 not really a zip")
    assert only(check_delivery(target)).key == "delivery.not_zip"


def test_m1_missing_delivery(tmp_path: Path) -> None:
    assert only(check_delivery(tmp_path / "nowhere.zip")).key == "delivery.missing"


def test_m1_report_stops_listing_after_the_limit(tmp_path: Path) -> None:
    files = good_files()
    files["persons"] = [_person(), *["{bad" for _ in range(30)]]
    report = check_delivery(build(tmp_path, files), limits=Limits(problems=10))
    assert len(report.problems) == 11
    assert report.problems[-1].key == "report.truncated"


# --- nothing but reports -------------------------------------------------------------------------

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=10,
)
FIELDS = st.sampled_from(
    ["source_id", "last_name", "first_name", "birth_date", "sex", "ahv_number", "x", "email"]
)
LINES = st.one_of(
    st.binary(max_size=200),
    st.text(max_size=200),
    JSON.map(json.dumps),
    st.dictionaries(FIELDS, JSON, max_size=6).map(json.dumps),
    st.dictionaries(FIELDS, st.text(max_size=15), max_size=8).map(json.dumps),
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(lines=st.lists(LINES, min_size=1, max_size=6), kind=st.sampled_from(list(fmt.KINDS)))
def test_m1_property_malformed_lines_give_a_report_never_an_exception(
    tmp_path_factory: pytest.TempPathFactory, lines: list[Any], kind: str
) -> None:
    tmp_path = tmp_path_factory.mktemp("prop")
    files = good_files()
    files[kind] = [line if isinstance(line, bytes) else line.replace("\n", " ") for line in lines]
    files[kind] = [
        (line.replace(b"\n", b" ") + b"\n") if isinstance(line, bytes) else line
        for line in files[kind]
    ]
    report = check_delivery(build(tmp_path, files))
    for problem in report.problems:
        assert problem.key in MESSAGES
        for language in ("fr", "de"):
            with translation.override(language):
                assert problem.message()


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(blob=st.binary(max_size=400))
def test_m1_property_random_zip_bytes_give_a_report(
    tmp_path_factory: pytest.TempPathFactory, blob: bytes
) -> None:
    target = tmp_path_factory.mktemp("zip") / "delivery.zip"
    target.write_bytes(b"PK\x03\x04" + blob)
    report = check_delivery(target)
    assert not report.ok
