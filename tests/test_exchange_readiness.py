"""The readiness check (M4, issue 9 item 4; decision 0031): a delivery's completeness and
quality before the migration, as a page and a PDF of the platform's import page and as a
command. Missing data, invalid AHV numbers, likely duplicate persons (within the delivery and
against Filum), dossiers without a responsible worker, documents missing or unreadable."""

from __future__ import annotations

import datetime
import io
import json
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from pypdf import PdfReader

from filum.exchange.models import ImportRun, SourceRecord
from filum.exchange.readiness import Readiness, check_readiness, present
from filum.people.models import Person
from tests import factories
from tests.test_exchange_format import (
    AHV,
    _document,
    _dossier,
    _person,
    _user,
    build,
    good_files,
)
from tests.test_templates_i18n import strict_templates as strict_templates  # fixture

pytestmark = pytest.mark.django_db

OTHER_AHV = "7569217076985"  # valid, of a person already in Filum
BAD_AHV = "7561234567890"  # wrong check digit


def importable_files() -> dict[str, list[Any]]:
    """The reader's good delivery, with a journal topic that Filum has."""
    files = good_files()
    files["journal"] = [
        {**entry, "topic": "health", "duration_minutes": 30} for entry in files["journal"]
    ]
    return files


def files() -> dict[str, list[Any]]:
    return {
        "users": [_user()],
        "persons": [
            _person("p1", ahv_number=AHV, birth_date="1980-05-01", sex="f"),
            _person("p2", last_name="Müster", birth_date="1980-05-01", sex="f"),
            _person("p3", last_name="Meier", first_name="Hans", sex="m"),
            _person("p4", last_name="Meier", first_name="Hans", birth_date="1970-01-01"),
            _person("p5", ahv_number=BAD_AHV),
            _person("p6", first_name="Anne", ahv_number=AHV, birth_date="1981-01-01"),
            _person("p7", last_name="Keller", first_name="Lea", ahv_number=OTHER_AHV),
            _person("p8", last_name="Rossi", first_name="Marco", birth_date="1975-02-03"),
            {"source_id": "p9", "first_name": "Sans Nom"},
        ],
        "dossiers": [_dossier(), _dossier("d2", client="p3", responsible=None)],
        "documents": [_document(), _document("doc2")],
    }


@pytest.fixture
def in_filum() -> None:
    factories.OrganisationFactory(name="Service social Bienne")  # the manifest's
    org = factories.OrganisationFactory(name="Ailleurs")
    factories.PersonFactory(
        last_name="Keller", first_name="Léa", ahv_number=OTHER_AHV, registered_by=org
    )
    factories.PersonFactory(
        last_name="ROSSI",
        first_name="Marco",
        birth_date=datetime.date(1975, 2, 3),
        registered_by=org,
    )
    factories.PersonFactory(  # same name, another birth date, not a likely duplicate
        last_name="Meier",
        first_name="Hans",
        birth_date=datetime.date(1950, 6, 6),
        registered_by=org,
    )


def delivery(tmp_path: Path, *, as_zip: bool = False) -> Path:
    tmp_path.mkdir(parents=True, exist_ok=True)
    return build(
        tmp_path,
        files(),
        documents={"documents/doc1.pdf": b"changed", "documents/doc2.pdf": b"%PDF-1.4 a letter\n"},
        as_zip=as_zip,
    )


def by_key(result: Readiness) -> dict[str, Any]:
    return {(f.key, f.field): f for f in result.findings}


def test_m4_readiness_finds_missing_data_bad_ahv_duplicates_and_documents(
    tmp_path: Path, in_filum: None
) -> None:
    result = check_readiness(delivery(tmp_path))
    found = by_key(result)
    # missing required data: the line is refused; optional data the casework needs: counted
    missing = found[("field.missing", "last_name")]
    assert (missing.section, missing.severity, missing.count) == ("missing", "error", 1)
    assert missing.examples[0].line == 9 and missing.examples[0].file == "persons.jsonl"
    no_birth = found[("readiness.recommended", "birth_date")]
    assert no_birth.severity == "warning" and no_birth.count == 2  # p3, p7
    assert [e.source_id for e in no_birth.examples] == ["p3", "p7"]
    # invalid AHV number: check digit
    ahv = found[("field.ahv_checksum", "ahv_number")]
    assert (ahv.section, ahv.count, ahv.examples[0].line) == ("ahv", 1, 5)
    # the same AHV number twice in the delivery blocks the import
    twice = found[("import.ahv_twice", "ahv_number")]
    assert (twice.section, twice.severity, twice.examples[0].line) == ("duplicates", "error", 6)
    # likely duplicates within the delivery: same birth day, names alike, one without AHV
    pair = found[("readiness.within.name_birth", "")]
    assert [(e.line, e.other_line) for e in pair.examples] == [(1, 2)]
    same_name = found[("readiness.within.name", "")]
    assert [(e.source_id, e.other_source_id) for e in same_name.examples] == [("p3", "p4")]
    # against Filum: the AHV number (linked on import), the name and birth date
    assert [e.source_id for e in found[("readiness.filum.ahv", "")].examples] == ["p7"]
    assert found[("readiness.filum.ahv", "")].severity == "info"
    assert [e.source_id for e in found[("readiness.filum.name_birth", "")].examples] == ["p8"]
    # p3 (no birth date) and Meier Hans of 1950: same name, a birth date unknown
    assert [e.source_id for e in found[("readiness.filum.name", "")].examples] == ["p3"]
    # a dossier without a responsible worker
    assert [e.source_id for e in found[("readiness.no_responsible", "")].examples] == ["d2"]
    # a document whose content changed: unreadable
    document = found[("document.size", "size")]
    assert document.section == "documents" and document.examples[0].line == 1
    # counts per kind
    persons = result.counts["persons"]
    assert (persons.lines, persons.accepted, persons.with_problems) == (9, 7, 3)
    assert not result.ready and result.errors == 4
    assert Person.objects.count() == 3 and not SourceRecord.objects.exists()


def test_m4_readiness_is_language_neutral_and_renders_in_french_and_german(
    tmp_path: Path, in_filum: None
) -> None:
    from django.utils import translation

    result = check_readiness(delivery(tmp_path))
    again = Readiness.from_dict(json.loads(json.dumps(result.as_dict())))
    assert again == result
    with translation.override("fr"):
        french = present(again)
    with translation.override("de"):
        german = present(again)
    assert [s.key for s in french] == [
        "missing",
        "ahv",
        "duplicates",
        "responsible",
        "documents",
        "other",
    ]
    assert french[2].heading == "Doublons probables de personnes"
    assert german[2].heading == "Wahrscheinliche Doppelerfassungen von Personen"
    assert any("persons.jsonl, ligne 6" in e for f in french[2].findings for e in f.examples)
    assert any("persons.jsonl, Zeile 6" in e for f in german[2].findings for e in f.examples)


def test_m4_duplicates_are_found_in_a_fixed_number_of_queries(
    tmp_path: Path, in_filum: None
) -> None:
    """Set-based: the delivery's persons go to the database as arrays, not one by one."""

    def queries(count: int) -> int:
        persons = [_person(f"p{n}", first_name=f"Anna{n}") for n in range(count)]
        path = build(tmp_path / str(count), {"users": [_user()], "persons": persons}, documents={})
        with CaptureQueriesContext(connection) as captured:
            check_readiness(path)
        return len(captured)

    assert queries(2) == queries(40)


def test_m4_a_later_delivery_of_the_same_service_is_not_its_own_duplicate(
    tmp_path: Path, world: Any
) -> None:
    person = factories.PersonFactory(
        last_name="Rossi",
        first_name="Marco",
        birth_date=datetime.date(1975, 2, 3),
        registered_by=world.service_org,
    )
    SourceRecord.objects.create(
        organisation=world.service_org,
        kind="persons",
        source_id="p8",
        target_id=str(person.pk),
        checksum="0" * 64,
    )
    result = check_readiness(delivery(tmp_path), organisation=world.service_org)
    assert ("readiness.filum.name_birth", "") not in by_key(result)
    other = factories.OrganisationFactory(name="Autre service")
    assert ("readiness.filum.name_birth", "") in by_key(
        check_readiness(delivery(tmp_path), organisation=other)
    )


def test_m4_readiness_command_prints_the_report_and_writes_the_pdf(
    tmp_path: Path, in_filum: None
) -> None:
    out = io.StringIO()
    pdf = tmp_path / "readiness.pdf"
    call_command("readiness_check", delivery(tmp_path), "--pdf", pdf, stdout=out)
    text = out.getvalue()
    assert "persons: 9" in text or "persons" in text
    assert "persons.jsonl, ligne 5" in text  # French by default, like import_delivery
    assert pdf.read_bytes().startswith(b"%PDF")
    printed = "".join(page.extract_text() for page in PdfReader(pdf).pages)
    assert "Numéros AVS invalides" in printed
    out = io.StringIO()
    call_command("readiness_check", delivery(tmp_path), "--language", "de", stdout=out)
    assert "Ungültige AHV-Nummern" in out.getvalue()


# --- the page and the PDF ----------------------------------------------------------------------


@pytest.fixture
def admin(settings: Any, tmp_path: Path) -> Any:
    from tests.test_signin import platform_admin

    settings.FILUM_IMPORT_DIR = tmp_path / "uploads"
    return platform_admin()


def upload(client: Any, path: Path, organisation: Any) -> Any:
    blob = SimpleUploadedFile("legacy.zip", path.read_bytes(), "application/zip")
    return client.post(
        reverse("platform_imports"), {"organisation": organisation.pk, "delivery": blob}
    )


def test_m4_readiness_page_and_pdf_of_an_uploaded_delivery(
    tmp_path: Path, admin: Any, world: Any, in_filum: None, strict_templates: None
) -> None:
    page = upload(admin, delivery(tmp_path, as_zip=True), world.service_org)
    assert page.status_code == 200 and "@@INVALID" not in page.content.decode()
    token = page.context["token"]
    readiness_url = reverse("platform_import_readiness", kwargs={"token": token})
    assert readiness_url in page.content.decode()  # linked even when the import is refused
    shown = admin.get(readiness_url)
    body = shown.content.decode()
    assert shown.status_code == 200 and "@@INVALID" not in body
    assert "Numéros AVS invalides" in body and "persons.jsonl, ligne 5" in body
    assert "Doublons probables de personnes" in body
    assert world.service_org.name in body
    pdf = admin.get(reverse("platform_import_readiness_pdf", kwargs={"token": token}))
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
    printed = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.content)).pages)
    assert "Dossiers sans assistant·e social·e responsable" in printed and "d2" in printed
    german = admin.get(readiness_url, HTTP_ACCEPT_LANGUAGE="de")
    assert "Ungültige AHV-Nummern" in german.content.decode()
    assert not ImportRun.objects.exists()


def test_m4_readiness_page_is_the_platform_administrators_only(
    tmp_path: Path, admin: Any, world: Any
) -> None:
    page = upload(admin, delivery(tmp_path, as_zip=True), world.service_org)
    token = page.context["token"]
    for name in ("platform_import_readiness", "platform_import_readiness_pdf"):
        url = reverse(name, kwargs={"token": token})
        assert world.superuser.client().get(url).status_code == 404
        assert world.worker.client().get(url).status_code == 404
        missing = reverse(name, kwargs={"token": "00000000-0000-0000-0000-000000000000"})
        assert admin.get(missing).status_code == 404


# --- uploads are removed; the runs are paged ---------------------------------------------------


def test_m4_an_upload_goes_when_its_import_ends_and_old_uploads_are_purged(
    tmp_path: Path, admin: Any, world: Any, settings: Any
) -> None:
    """The uploaded zip holds personal data: the import task removes it when the run ends;
    ``purge_uploads`` removes uploads left behind (never confirmed) after --days."""
    import os
    import time

    from filum.exchange.models import ImportState
    from filum.exchange.uploads import import_folder

    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    (tmp_path / "good").mkdir()
    good = build(tmp_path / "good", importable_files(), as_zip=True)
    target = factories.OrganisationFactory(name="Service social Nidau")
    page = upload(admin, good, target)
    assert page.context["report"].ok, [p.message() for p in page.context["report"].problems]
    token = page.context["token"]
    assert (import_folder() / f"{token}.zip").is_file()
    done = admin.post(reverse("platform_imports"), {"token": token, "organisation": target.pk})
    assert done.status_code == 302
    assert ImportRun.objects.get(organisation=target).state == ImportState.DONE
    assert list(import_folder().iterdir()) == []  # the zip and its notes are gone
    # an upload never confirmed, with its readiness check: kept for --days, then removed
    left = upload(admin, delivery(tmp_path / "bad", as_zip=True), target).context["token"]
    admin.get(reverse("platform_import_readiness", kwargs={"token": left}))
    assert len(list(import_folder().iterdir())) == 3
    (import_folder() / "notes.txt").write_text("not an upload")
    out = io.StringIO()
    call_command("purge_uploads", stdout=out)
    assert "uploads removed: 0" in out.getvalue() and len(list(import_folder().iterdir())) == 4
    three_days_ago = time.time() - 3 * 86400
    for path in import_folder().iterdir():
        os.utime(path, (three_days_ago, three_days_ago))
    call_command("purge_uploads", "--days", "2", stdout=out)
    assert "uploads removed: 1" in out.getvalue()
    assert [p.name for p in import_folder().iterdir()] == ["notes.txt"]
    confirm = admin.post(reverse("platform_imports"), {"token": left, "organisation": target.pk})
    assert confirm.status_code == 302 and ImportRun.objects.count() == 1


def test_m4_an_upload_refused_by_its_dry_run_cannot_be_confirmed(
    tmp_path: Path, admin: Any, world: Any
) -> None:
    target = factories.OrganisationFactory(name="Service social Nidau")
    token = upload(admin, delivery(tmp_path, as_zip=True), target).context["token"]
    refused = admin.post(reverse("platform_imports"), {"token": token, "organisation": target.pk})
    assert refused.status_code == 302 and not ImportRun.objects.exists()


def test_m2_import_runs_are_paged_by_keyset_in_fixed_queries(admin: Any, world: Any) -> None:
    """The runs newest first, 20 a page; the next page starts after the last run shown (the
    primary key's index serves the order); the same number of queries on every page."""
    from filum.exchange.views import RUNS_SHOWN

    url = reverse("platform_imports")
    runs = [
        ImportRun.objects.create(
            organisation=world.service_org, delivery_sha256=f"{n:064x}", state="done"
        )
        for n in range(RUNS_SHOWN * 2 + 3)
    ]

    def page(query: str = "") -> tuple[list[int], Any, int]:
        with CaptureQueriesContext(connection) as captured:
            response = admin.get(url + query)
        assert response.status_code == 200
        shown = [run.pk for run in response.context["runs"]]
        return shown, response.context["next_before"], len(captured)

    first, after_first, queries = page()
    assert first == [r.pk for r in reversed(runs)][:RUNS_SHOWN] and after_first == first[-1]
    second, after_second, second_queries = page(f"?before={after_first}")
    assert second == [r.pk for r in reversed(runs)][RUNS_SHOWN : 2 * RUNS_SHOWN]
    last, after_last, last_queries = page(f"?before={after_second}")
    assert last == [r.pk for r in runs[:3]][::-1] and after_last is None
    assert queries == second_queries == last_queries
    assert f'href="?before={after_first}"' in admin.get(url).content.decode()
    assert page("?before=junk")[0] == first
