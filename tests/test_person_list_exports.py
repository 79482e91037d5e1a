# ruff: noqa: F811 (the ``data`` fixture is imported from tests.test_person_lists)
"""Person-list exports as background jobs (D4, decision 0034): the export button enqueues a
job, the job writes the file by batches and stores its progress after each, the progress page
polls it, the owner alone downloads the file for 24 hours, and a failed or refused export
leaves nothing behind."""

from __future__ import annotations

import csv
import datetime
import io
import os
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import time_machine
from django.core.files.storage import FileSystemStorage
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from filum.records.models import ReadLog, SecurityEvent
from filum.steering import export_jobs, listbench
from filum.steering.exports import XlsxWriter
from filum.steering.models import PersonListExport
from filum.tenancy.models import Membership
from tests.test_person_lists import data  # noqa: F401 (the fixture: hand-built persons)

IMMEDIATE = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
EXPORT_URL = "/steering/persons/export/"


@pytest.fixture
def storage(settings: Any, tmp_path: Path) -> Path:
    """Private storage and the jobs' temporary folders in folders of the test's own."""
    stored = tmp_path / "storage"
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(stored)},
        },
    }
    return stored


@pytest.fixture
def scratch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr("tempfile.tempdir", str(folder))
    return folder


@pytest.fixture
def jobs(settings: Any, storage: Path, scratch: Path) -> None:
    """The jobs run at once, when the request's transaction commits (the immediate backend,
    as the other task tests)."""
    settings.TASKS = IMMEDIATE


def files(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


def ask(
    client: Any, capture: Any, fmt: str, run: bool = True, **filters: Any
) -> tuple[Any, PersonListExport | None]:
    """Press an export button with this filter; the job runs when the request commits."""
    with capture(execute=run):
        response = client.post(EXPORT_URL, {"format": fmt, **filters})
    return response, PersonListExport.objects.order_by("-created_at").first()


def download(client: Any, export: PersonListExport) -> bytes:
    response = client.get(reverse("person_list_export_download", args=[export.pk]))
    assert response.status_code == 200
    return b"".join(response.streaming_content)  # read to the end: the client closes it


def _csv(content: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig")), delimiter=";"))


# --- the files ---------------------------------------------------------------------------------


def test_d4_a_csv_export_job_writes_the_filter_headers_and_rows_and_logs_the_export(
    world, data, jobs, storage, django_capture_on_commit_callbacks
):
    client = world.head.client()
    response, export = ask(client, django_capture_on_commit_callbacks, "csv", residence_status="F")
    assert export is not None
    assert response.status_code == 302
    assert response["Location"] == reverse("person_list_export_detail", args=[export.pk])
    assert (export.status, export.rows_total, export.rows_written) == ("done", 2, 2)
    assert export.filters == {"residence_status": ["F"]} and export.language == "fr"
    assert (export.user, export.organisation, export.role) == (
        world.head.user,
        world.service_org,
        "section_head",
    )
    assert files(storage) == [f"person-lists/{export.pk.hex}.csv"]
    content = download(client, export)
    assert len(content) == export.size and len(export.sha256) == 64
    lines = _csv(content)
    assert lines[0] == ["# Filum – liste de personnes"]
    assert ["# Statut de séjour", "F – admis·e à titre provisoire"] in lines
    header = lines.index(
        [
            "Nom",
            "Prénom",
            "Date de naissance",
            "Âge",
            "Statut de séjour",
            "Arrivée en Suisse",
            "Années en Suisse",
            "Dernier niveau de langue",
            "Dossiers",
            "Organisation",
            "Phase",
            "Segment",
        ]
    )
    rows = lines[header + 1 :]
    assert [r[:2] for r in rows] == [["Tesfay", "Amanuel"], ["Tesfay", "Dawit"]]
    assert rows[0][3] == "30" and rows[0][6] == "4" and rows[0][7] == "A2"
    assert rows[1][8] == data["case"].reference  # the son is listed with his household's dossier
    logged = set(ReadLog.objects.values_list("case_id", "section", "kind", "user_id"))
    assert logged == {
        (data["case"].pk, "core", "export", world.head.user.pk),
        (data["case"].pk, "assessment", "export", world.head.user.pk),
    }
    event = SecurityEvent.objects.get(kind="person_list_export")
    assert event.detail == {
        "format": "csv",
        "filters": {"residence_status": ["F"]},
        "export": str(export.pk),
    }
    assert (event.user, event.organisation_id) == (world.head.user, world.service_org.pk)
    downloaded = SecurityEvent.objects.get(kind="download")
    assert downloaded.detail["export"] == str(export.pk)
    assert downloaded.detail["sha256"] == export.sha256


def test_d4_an_empty_result_is_written_in_the_owners_language(
    world, data, jobs, django_capture_on_commit_callbacks
):
    client = world.head.client()
    client.cookies["django_language"] = "de"
    _, export = ask(client, django_capture_on_commit_callbacks, "csv", segment="B")
    assert export is not None and export.language == "de"
    assert (export.status, export.rows_total) == ("done", 0)
    client.cookies["django_language"] = "fr"  # the file stays in the language it was asked in
    lines = _csv(download(client, export))
    assert lines[0] == ["# Filum – Personenliste"]
    assert ["# Segment", "B – mittlerer Bedarf"] in lines
    assert lines[-1][:2] == ["Nachname", "Vorname"]
    assert not ReadLog.objects.exists()


def _xlsx_sheets(content: bytes) -> dict[str, list[str]]:
    """Each sheet's cell texts in order, read from the file's XML (shared or inline strings)."""
    book = zipfile.ZipFile(io.BytesIO(content))
    shared: list[str] = []
    if "xl/sharedStrings.xml" in book.namelist():
        xml = book.read("xl/sharedStrings.xml").decode()
        shared = [re.sub(r"<[^>]+>", "", s) for s in re.findall(r"<si>(.*?)</si>", xml)]
    workbook = book.read("xl/workbook.xml").decode()
    sheet_names = re.findall(r'<sheet name="([^"]+)"', workbook)
    sheets = {}
    for index, name in enumerate(sheet_names, start=1):
        xml = book.read(f"xl/worksheets/sheet{index}.xml").decode()
        texts = []
        for attrs, body in re.findall(r"<c ([^>]*)>(.*?)</c>", xml):
            if 't="s"' in attrs:
                found = re.search(r"<v>(\d+)</v>", body)
                assert found is not None
                texts.append(shared[int(found.group(1))])
            else:
                texts.append(re.sub(r"<[^>]+>", "", body))
        sheets[name] = texts
    return sheets


def test_d4_an_xlsx_export_has_a_persons_and_a_filter_sheet(
    world, data, jobs, django_capture_on_commit_callbacks
):
    client = world.head.client()
    _, export = ask(
        client, django_capture_on_commit_callbacks, "xlsx", stage="counselling", segment="A"
    )
    assert export is not None and export.status == "done"
    response = client.get(reverse("person_list_export_download", args=[export.pk]))
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    assert export.filename in response["Content-Disposition"]
    sheets = _xlsx_sheets(b"".join(response.streaming_content))
    assert list(sheets) == ["Personnes", "Filtre"]
    persons = sheets["Personnes"]
    assert persons[:3] == ["Nom", "Prénom", "Date de naissance"]
    assert "Berhane" in persons and "Tesfay" not in persons
    assert data["second"].reference in persons
    assert "Conseil" in persons and "A – besoin élevé" in persons
    about = sheets["Filtre"]
    assert about[0] == "Filum – liste de personnes"
    assert about[about.index("Phase") + 1] == "Conseil"
    assert set(ReadLog.objects.values_list("case_id", "kind")) == {(data["second"].pk, "export")}


# --- progress ----------------------------------------------------------------------------------


def test_d4_the_job_stores_its_progress_after_each_batch_and_the_page_shows_it(
    world, data, jobs, monkeypatch, django_capture_on_commit_callbacks
):
    """Batches of one row: before each batch is written, the row holds the rows written so
    far, and the progress page (an htmx poll) shows "x of y rows" with a <progress> bar."""
    monkeypatch.setattr(export_jobs, "EXPORT_BATCH", 1)
    client = world.head.client()
    seen: list[tuple[str, int, int | None]] = []
    polled: list[str] = []
    write = XlsxWriter.write

    def spying(self: XlsxWriter, rows: Any) -> None:
        export = PersonListExport.objects.get()
        seen.append((export.status, export.rows_written, export.rows_total))
        if export.rows_written == 1:
            page = client.get(
                reverse("person_list_export_detail", args=[export.pk]), HTTP_HX_REQUEST="true"
            )
            polled.append(page.content.decode())
        write(self, rows)

    monkeypatch.setattr(XlsxWriter, "write", spying)
    _, export = ask(client, django_capture_on_commit_callbacks, "xlsx", case_status="all")
    assert export is not None
    assert seen == [("running", 0, 3), ("running", 1, 3), ("running", 2, 3)]
    assert (export.status, export.rows_written, export.rows_total) == ("done", 3, 3)
    (partial,) = polled
    assert 'hx-trigger="every 1s"' in partial and "<html" not in partial
    assert '<progress value="1" max="3">' in partial
    assert "1 sur 3 lignes" in partial
    done = client.get(reverse("person_list_export_detail", args=[export.pk]))
    text = done.content.decode()
    assert "hx-trigger" not in text  # finished: the polling stops
    assert reverse("person_list_export_download", args=[export.pk]) in text
    assert "3 lignes écrites." in text


def test_d4_a_waiting_export_polls_and_the_progress_page_queries_are_pinned(
    world, data, storage, django_capture_on_commit_callbacks, django_assert_num_queries
):
    """With the database backend the job waits for the worker: the page polls. The page and
    its poll each read the session, the user, the memberships and the export: 4 queries."""
    client = world.head.client()
    _, export = ask(client, django_capture_on_commit_callbacks, "csv")
    assert export is not None and export.status == "queued"
    assert DBTaskResult.objects.filter(args_kwargs__args=[str(export.pk)]).count() == 1
    url = reverse("person_list_export_detail", args=[export.pk])
    client.get(url)  # the session's first request stamps it; the pin is for the polls after
    with django_assert_num_queries(3):
        page = client.get(url)
    assert 'hx-trigger="every 1s"' in page.content.decode()
    assert "en attente" in page.content.decode()
    with django_assert_num_queries(3):
        poll = client.get(url, HTTP_HX_REQUEST="true")
    assert poll.templates[0].name == "steering/_export_progress.html"
    # nothing to download yet
    download_url = reverse("person_list_export_download", args=[export.pk])
    assert client.get(download_url).status_code == 404


def test_d4_the_person_list_page_shows_the_users_recent_exports(
    world, data, jobs, django_capture_on_commit_callbacks
):
    head, colleague = world.head.client(), world.colleague.client()
    _, mine = ask(head, django_capture_on_commit_callbacks, "csv")
    _, theirs = ask(colleague, django_capture_on_commit_callbacks, "xlsx")
    assert mine is not None and theirs is not None
    page = head.get("/steering/persons/").content.decode()
    assert f'data-export-id="{mine.pk}"' in page and str(theirs.pk) not in page
    assert "prête" in page


# --- who may -----------------------------------------------------------------------------------


def test_d4_only_the_owner_sees_and_downloads_an_export(
    world, data, jobs, django_capture_on_commit_callbacks
):
    _, export = ask(world.head.client(), django_capture_on_commit_callbacks, "csv")
    assert export is not None and export.status == "done"
    detail = reverse("person_list_export_detail", args=[export.pk])
    file = reverse("person_list_export_download", args=[export.pk])
    for persona in ("colleague", "worker", "outsider", "assistant", "dpo"):
        client = getattr(world, persona).client()
        assert client.get(detail).status_code == 404, persona
        assert client.get(file).status_code == 404, persona
    missing = "00000000-0000-0000-0000-000000000000"
    owner = world.head.client()
    assert owner.get(f"/steering/persons/exports/{missing}/").status_code == 404
    assert owner.get(f"/steering/persons/exports/{missing}/file").status_code == 404
    assert not SecurityEvent.objects.filter(kind="download").exists()
    assert download(owner, export).startswith(b"\xef\xbb\xbf")
    assert SecurityEvent.objects.filter(kind="download", user=world.head.user).count() == 1


def test_d4_nobody_without_person_list_may_export(world, data, storage):
    for persona in ("assistant", "intake", "dpo", "analyst", "partner", "superuser", "officer"):
        client = getattr(world, persona).client()
        assert client.post(EXPORT_URL, {"format": "csv"}).status_code == 404
    assert client.get(EXPORT_URL).status_code == 404
    assert world.head.client().get(EXPORT_URL).status_code == 405
    assert not PersonListExport.objects.exists()


def test_d4_the_job_checks_the_owners_rights_again_and_writes_nothing_without_them(
    world, data, storage, scratch, django_capture_on_commit_callbacks
):
    """Asked while allowed; the membership is gone when the worker runs: failed, no read log,
    no export event, no file."""
    client = world.head.client()
    _, export = ask(client, django_capture_on_commit_callbacks, "xlsx", run=False)
    assert export is not None and export.status == "queued"
    Membership.objects.filter(pk=world.head.membership.pk).update(is_active=False)
    export = export_jobs.write_export(export.pk)
    assert (export.status, export.error, export.rows_written) == ("failed", "access", 0)
    assert export.file == "" and files(storage) == [] and files(scratch) == []
    assert not ReadLog.objects.exists()
    assert not SecurityEvent.objects.filter(kind="person_list_export").exists()
    # a repeated task finds the export finished and does nothing
    assert export_jobs.write_export(export.pk).status == "failed"


def test_d4_a_role_that_lost_person_list_fails_the_job(
    world, data, storage, django_capture_on_commit_callbacks
):
    _, export = ask(world.worker.client(), django_capture_on_commit_callbacks, "csv", run=False)
    assert export is not None and export.role == "social_worker"
    Membership.objects.filter(pk=world.worker.membership.pk).update(role="assistant")
    assert export_jobs.write_export(export.pk).error == "access"
    assert not ReadLog.objects.exists()


# --- failures and limits -----------------------------------------------------------------------


def test_d4_a_job_failing_midway_leaves_no_file_and_says_why_in_the_users_language(
    world, data, jobs, storage, scratch, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(export_jobs, "EXPORT_BATCH", 1)
    write = XlsxWriter.write
    calls: list[int] = []

    def failing(self: XlsxWriter, rows: Any) -> None:
        calls.append(len(rows))
        if len(calls) == 2:
            raise OSError("disk full")
        write(self, rows)

    monkeypatch.setattr(XlsxWriter, "write", failing)
    client = world.head.client()
    _, export = ask(client, django_capture_on_commit_callbacks, "xlsx", case_status="all")
    assert export is not None
    assert (export.status, export.error, export.file, export.sha256) == ("failed", "error", "", "")
    assert export.rows_written == 1 and export.finished_at is not None
    assert files(storage) == [] and files(scratch) == []  # no part of the file anywhere
    page = client.get(reverse("person_list_export_detail", args=[export.pk])).content.decode()
    assert "L’exportation a échoué" in page and "hx-trigger" not in page
    client.cookies["django_language"] = "de"
    page = client.get(reverse("person_list_export_detail", args=[export.pk])).content.decode()
    assert "Der Export ist fehlgeschlagen" in page
    url = reverse("person_list_export_download", args=[export.pk])
    assert client.get(url).status_code == 404


def test_d4_a_file_whose_export_was_purged_meanwhile_is_not_kept(
    world, data, jobs, storage, scratch, monkeypatch, django_capture_on_commit_callbacks
):
    """The file is stored, but the export is no longer running (purged meanwhile): the stored
    file is deleted again."""
    storage_save = FileSystemStorage.save

    def save_then_purge(self: FileSystemStorage, name: str, content: Any, **kw: Any) -> str:
        stored = storage_save(self, name, content, **kw)
        PersonListExport.objects.update(status="expired")
        return stored

    monkeypatch.setattr(FileSystemStorage, "save", save_then_purge)
    _, export = ask(world.head.client(), django_capture_on_commit_callbacks, "csv")
    assert export is not None and export.status == "expired"
    assert files(storage) == [] and files(scratch) == []


def test_d4_an_export_over_the_limit_is_refused_before_anything_is_enqueued(
    world, data, jobs, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr("filum.steering.list_views.EXPORT_LIMIT", 2)
    client = world.head.client()
    for fmt in ("csv", "xlsx"):
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            response = client.post(EXPORT_URL, {"format": fmt, "case_status": "all"}, follow=True)
        assert callbacks == []
        assert response.redirect_chain[-1][0].startswith("/steering/persons/?")
        assert "plus de 2 personnes" in response.content.decode()
        assert response.context["page"] is not None  # back to the list with its filter
    # an invalid filter is not exported either; a format not offered goes back to the form
    response = client.post(EXPORT_URL, {"format": "csv", "age_min": "abc"}, follow=True)
    assert "Corrigez le filtre" in response.content.decode()
    assert client.post(EXPORT_URL, {"format": "pdf"})["Location"] == "/steering/persons/"
    assert not PersonListExport.objects.exists()
    assert not DBTaskResult.objects.exists()
    assert not SecurityEvent.objects.filter(kind="person_list_export").exists()
    assert not ReadLog.objects.filter(kind="export").exists()  # the page shown again: views
    # within the limit the export goes through
    _, export = ask(client, django_capture_on_commit_callbacks, "csv", age_min="40")
    assert export is not None and (export.status, export.rows_written) == ("done", 1)


def test_d4_a_list_grown_over_the_limit_by_the_time_the_job_runs_fails(
    world, data, storage, monkeypatch, django_capture_on_commit_callbacks
):
    _, export = ask(world.head.client(), django_capture_on_commit_callbacks, "csv", run=False)
    assert export is not None
    monkeypatch.setattr("filum.steering.export_jobs.EXPORT_LIMIT", 2)
    monkeypatch.setattr("filum.steering.person_lists.EXPORT_LIMIT", 2)
    export = export_jobs.write_export(export.pk)
    assert (export.status, export.error) == ("failed", "limit")
    assert files(storage) == [] and not ReadLog.objects.exists()


# --- expiry ------------------------------------------------------------------------------------


@pytest.fixture
def finished(world, data, jobs, django_capture_on_commit_callbacks) -> Iterator[PersonListExport]:
    _, export = ask(world.head.client(), django_capture_on_commit_callbacks, "csv")
    assert export is not None and export.status == "done"
    yield export


def test_d4_a_file_expires_after_24_hours_and_the_purge_deletes_it(world, finished, storage):
    export = finished
    url = reverse("person_list_export_download", args=[export.pk])
    later = timezone.now() + datetime.timedelta(hours=23, minutes=59)
    with time_machine.travel(later, tick=False):
        assert download(world.head.client(), export)  # signed in again: sessions time out
        assert export_jobs.purge_expired_exports() == 0
    after = timezone.now() + datetime.timedelta(hours=24, minutes=1)
    with time_machine.travel(after, tick=False):
        client = world.head.client()
        # refused at once, before the purge ran
        assert client.get(url).status_code == 404
        page = client.get(reverse("person_list_export_detail", args=[export.pk]))
        assert "Cette exportation a expiré" in page.content.decode()
        assert files(storage) == [f"person-lists/{export.pk.hex}.csv"]
        out = io.StringIO()
        call_command("purge_person_list_exports", stdout=out)
        assert out.getvalue().strip() == "person-list exports expired: 1"
        assert files(storage) == []
        export.refresh_from_db()
        assert (export.status, export.file) == ("expired", "")
        call_command("purge_person_list_exports", stdout=out)  # idempotent
        assert out.getvalue().strip().endswith("person-list exports expired: 0")
        assert client.get(url).status_code == 404


def test_d4_a_job_never_run_expires_too(world, data, storage, django_capture_on_commit_callbacks):
    _, export = ask(world.head.client(), django_capture_on_commit_callbacks, "csv", run=False)
    assert export is not None
    with time_machine.travel(timezone.now() + datetime.timedelta(hours=25), tick=False):
        assert export_jobs.purge_expired_exports() == 1
        # the worker catches up later: nothing is written for an expired export
        assert export_jobs.write_export(export.pk).status == "expired"
    assert not ReadLog.objects.exists()


# --- the bench row -----------------------------------------------------------------------------


def test_d4_the_bench_rows_run_the_job_and_roll_back_its_reads(world, data, storage, scratch):
    assert listbench.TARGETS_MS == {listbench.PERSON_LIST: 100.0, listbench.XLSX_EXPORT: 10_000.0}
    pages, figures = [], []
    listbench.measure(
        world.head.membership,
        page=lambda name, member, url, note: pages.append((name, url)),
        add=lambda name, samples, queries, note: figures.append((name, len(samples), note)),
        wanted=lambda name: True,
        repeat=1,
    )
    assert pages[0][0] == listbench.PERSON_LIST and "residence_status=F" in pages[0][1]
    assert world.head.client().get(pages[0][1]).status_code == 200
    assert figures == [
        (
            listbench.XLSX_EXPORT,
            1,
            f"head ({world.service_org.name}): 3 rows written, 1 progress update seen",
        )
    ]
    assert not ReadLog.objects.filter(kind="export").exists()
    assert not PersonListExport.objects.exists()
    assert files(storage) == [] and files(scratch) == []
    assert not os.listdir(scratch)
