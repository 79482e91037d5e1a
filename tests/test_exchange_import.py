"""The import of a delivery (issue 9 items 3 and 5, M2): into an empty organisation, twice
without a change, a changed record updated, a bad delivery refused with nothing stored, a
crash in the middle resumed with no duplicates and no gaps, and the demo's round trip."""

from __future__ import annotations

import hashlib
import io
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from filum.cases.models import Case
from filum.exchange import importer
from filum.exchange.export import export_organisation
from filum.exchange.importer import import_delivery
from filum.exchange.models import ImportRun, ImportState, SourceRecord
from filum.exchange.reader import DeliveryChanged
from filum.journal.models import Contact
from filum.people.models import Person
from filum.tenancy.models import Organisation
from tests import factories
from tests.test_exchange_export import fill, lines
from tests.test_exchange_export import private_storage as private_storage  # autouse

pytestmark = pytest.mark.django_db


def fresh_organisation(name: str = "Service social de Nidau") -> Organisation:
    return Organisation.objects.create(name=name, kind="social_service", canton="BE")


def delivery(world: Any, tmp_path: Path) -> Path:
    fill(world)
    out = tmp_path / "delivery"
    export_organisation(world.service_org, out)
    return out


def imported_rows(organisation: Organisation) -> dict[str, int]:
    return {
        "dossiers": Case.objects.filter(owner=organisation).count(),
        "journal": Contact.objects.filter(owner=organisation).count(),
        "mapped": SourceRecord.objects.filter(organisation=organisation).count(),
    }


def content_checksum(organisation: Organisation) -> str:
    """A checksum of what the organisation holds (journal and dossiers, Filum ids aside)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.kind, c.date, c.note, c.recorded_at, k.title, k.opened_on"
            " FROM journal_contact c JOIN cases_case k ON k.id = c.case_id"
            " WHERE c.owner_id = %s ORDER BY 1, 2, 3, 4",
            [organisation.pk],
        )
        rows = cursor.fetchall()
    return hashlib.sha256(repr(rows).encode()).hexdigest()


def events() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT (SELECT count(*) FROM cases_caseevent)"
            " + (SELECT count(*) FROM journal_contactevent)"
            " + (SELECT count(*) FROM people_personevent)"
        )
        return int(cursor.fetchone()[0])


def test_m2_import_into_an_empty_organisation(world: Any, tmp_path: Path) -> None:
    path = delivery(world, tmp_path)
    target = fresh_organisation()
    result = import_delivery(path, by=world.worker.user, organisation=target)
    assert result.report.ok
    assert result.run is not None and result.run.state == ImportState.DONE
    assert imported_rows(target) == {
        "dossiers": 1,
        "journal": 2,
        "mapped": SourceRecord.objects.filter(organisation=target).count(),
    }
    case = Case.objects.get(owner=target)
    assert case.client == world.case.client or case.client.last_name == world.case.client.last_name
    correction = Contact.objects.get(owner=target, supersedes__isnull=False)
    assert correction.supersedes.owner_id == target.pk
    document = case.documents.get()
    with document.file.open("rb") as stored:
        assert stored.read() == b"%PDF-1.7\nletter of 2025-03-04\n"
    assert result.counts["journal"] == {"created": 2, "updated": 0, "unchanged": 0, "kept": 0}
    first, second = Contact.objects.filter(owner=target).order_by("recorded_at", "id")
    assert second.supersedes == first and first.superseded_at == second.recorded_at


def test_m2_import_audit_names_the_import(world: Any, tmp_path: Path) -> None:
    path = delivery(world, tmp_path)
    target = fresh_organisation()
    import_delivery(path, by=world.worker.user, organisation=target)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT x.metadata FROM journal_contactevent e"
            " JOIN pghistory_context x ON x.id = e.pgh_context_id WHERE e.owner_id = %s",
            [target.pk],
        )
        metadata = [
            json.loads(row[0]) if isinstance(row[0], str) else row[0] for row in cursor.fetchall()
        ]
    assert metadata and all(m["command"] == "import_delivery" for m in metadata)
    run = ImportRun.objects.get(organisation=target)
    assert all(m["import_run"] == run.pk for m in metadata)
    assert run.started_by == world.worker.user


def test_m2_import_same_delivery_twice_changes_nothing(world: Any, tmp_path: Path) -> None:
    path = delivery(world, tmp_path)
    target = fresh_organisation()
    import_delivery(path, by=world.worker.user, organisation=target)
    rows, before, checksum = imported_rows(target), events(), content_checksum(target)
    second = import_delivery(path, by=world.worker.user, organisation=target)
    assert imported_rows(target) == rows
    assert events() == before
    assert content_checksum(target) == checksum
    assert all(c["created"] == 0 and c["updated"] == 0 for c in second.counts.values())


def test_m2_a_changed_record_is_updated_a_changed_journal_entry_kept(
    world: Any, tmp_path: Path
) -> None:
    path = delivery(world, tmp_path)
    target = fresh_organisation()
    import_delivery(path, by=world.worker.user, organisation=target)
    later = tmp_path / "later"
    shutil.copytree(path, later)
    dossiers = lines(later, "dossiers")
    dossiers[0]["title"] = "Dossier repris"
    rewrite(later, "dossiers", dossiers)
    journal = lines(later, "journal")
    journal[0]["note"] = "Premier entretien (complété)"
    rewrite(later, "journal", journal)
    result = import_delivery(later, by=world.worker.user, organisation=target)
    assert result.counts["dossiers"] == {"created": 0, "updated": 1, "unchanged": 0, "kept": 0}
    assert result.counts["journal"] == {"created": 0, "updated": 0, "unchanged": 1, "kept": 1}
    assert Case.objects.get(owner=target).title == "Dossier repris"
    notes = set(Contact.objects.filter(owner=target).values_list("note", flat=True))
    assert "Premier entretien (complété)" not in notes
    assert imported_rows(target)["journal"] == 2


def test_m2_dry_run_reports_a_correction_before_its_entry(world: Any, tmp_path: Path) -> None:
    path = delivery(world, tmp_path)
    journal = lines(path, "journal")
    rewrite(path, "journal", list(reversed(journal)))
    result = import_delivery(path, by=None, organisation=fresh_organisation())
    assert [(p.key, p.line, p.field) for p in result.report.problems] == [
        ("import.correction_order", 1, "supersedes")
    ]


def rewrite(root: Path, kind: str, records: list[dict[str, Any]]) -> None:
    data = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records).encode()
    (root / f"{kind}.jsonl").write_bytes(data)
    manifest = json.loads((root / "manifest.json").read_text())
    manifest["files"][f"{kind}.jsonl"] = {
        "count": len(records),
        "sha256": hashlib.sha256(data).hexdigest(),
    }
    (root / "manifest.json").write_text(json.dumps(manifest))


def test_m2_one_bad_line_stores_nothing_then_a_good_delivery_imports(
    world: Any, tmp_path: Path
) -> None:
    path = delivery(world, tmp_path)
    target = fresh_organisation()
    bad = tmp_path / "bad"
    shutil.copytree(path, bad)
    journal = lines(bad, "journal")
    journal[1]["duration_minutes"] = "thirty"
    rewrite(bad, "journal", journal)
    persons = Person.objects.count()
    result = import_delivery(bad, by=world.worker.user, organisation=target)
    assert not result.report.ok and result.run is None
    assert [(p.key, p.file, p.line, p.field) for p in result.report.problems] == [
        ("field.type", "journal.jsonl", 2, "duration_minutes")
    ]
    assert imported_rows(target) == {"dossiers": 0, "journal": 0, "mapped": 0}
    assert Person.objects.count() == persons
    assert not ImportRun.objects.filter(organisation=target).exists()
    good = import_delivery(path, by=world.worker.user, organisation=target)
    assert good.report.ok and imported_rows(target)["journal"] == 2


def test_m2_import_command_refuses_a_bad_delivery(world: Any, tmp_path: Path) -> None:
    path = delivery(world, tmp_path)
    (path / "journal.jsonl").write_bytes(b"{not json\n")
    target = fresh_organisation()
    out = io.StringIO()
    with pytest.raises(CommandError, match="nothing can be imported"):
        call_command("import_delivery", path, organisation=target.name, stdout=out)
    assert "journal.jsonl" in out.getvalue()
    assert imported_rows(target)["mapped"] == 0


def test_m2_import_command_imports_a_zip(world: Any, tmp_path: Path) -> None:
    fill(world)
    path = tmp_path / "service.zip"
    export_organisation(world.service_org, path)
    target = fresh_organisation()
    out = io.StringIO()
    call_command(
        "import_delivery", path, organisation=target.name, by=world.worker.user.username, stdout=out
    )
    assert "journal: 2 created, 0 updated, 0 unchanged" in out.getvalue()
    assert imported_rows(target)["dossiers"] == 1


def test_m2_resume_after_a_crash_has_no_duplicates_and_no_gaps(
    world: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fill(world)
    for _ in range(4):
        factories.CaseFactory(owner=world.service_org)
    path = tmp_path / "delivery"
    export_organisation(world.service_org, path)

    whole = fresh_organisation("Uninterrupted")
    import_delivery(path, by=world.worker.user, organisation=whole, batch_size=2)

    target = fresh_organisation()
    real = importer.store_batch

    def crash(imp: Any, kind: str, records: list[Any]) -> dict[str, int]:
        if kind == "dossiers" and imp.batch_no == 2:
            raise RuntimeError("killed")
        return real(imp, kind, records)

    monkeypatch.setattr(importer, "store_batch", crash)
    with pytest.raises(RuntimeError, match="killed"):
        import_delivery(path, by=world.worker.user, organisation=target, batch_size=2)
    run = ImportRun.objects.get(organisation=target)
    assert (run.state, run.kind_reached, run.batch_reached) == ("failed", "dossiers", 1)
    assert Case.objects.filter(owner=target).count() == 2  # the first batch, all of it

    with pytest.raises(CommandError, match="import stopped after dossiers batch 1: killed"):
        call_command(
            "import_delivery", path, organisation=target.name, batch_size=2, stdout=io.StringIO()
        )
    monkeypatch.setattr(importer, "store_batch", real)
    result = import_delivery(path, by=world.worker.user, organisation=target, batch_size=2)
    assert result.run is not None and result.run.pk == run.pk
    assert result.run.state == ImportState.DONE
    assert imported_rows(target) == imported_rows(whole)
    assert content_checksum(target) == content_checksum(whole)
    assert result.counts["dossiers"]["created"] == Case.objects.filter(owner=target).count()


def test_m2_a_delivery_changed_after_its_dry_run_stores_only_what_the_dry_run_checked(
    world: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The import does not check the delivery a second time (decision 0038, round 2): it
    compares what it reads with what the dry run read, batch by batch, before storing."""
    path = delivery(world, tmp_path)
    target = fresh_organisation()
    real = importer.dry_run

    def then_changed(*args: Any, **kwargs: Any) -> Any:
        checked = real(*args, **kwargs)
        # the second journal entry changed (still valid), and the manifest with it
        raw = (path / "journal.jsonl").read_bytes().splitlines(keepends=True)
        entry = json.loads(raw[1])
        entry["note"] = "changed after the dry run"
        raw[1] = json.dumps(entry).encode() + b"\n"
        rewritten = b"".join(raw)
        (path / "journal.jsonl").write_bytes(rewritten)
        manifest = json.loads((path / "manifest.json").read_text())
        manifest["files"]["journal.jsonl"]["sha256"] = hashlib.sha256(rewritten).hexdigest()
        (path / "manifest.json").write_text(json.dumps(manifest))
        return checked

    monkeypatch.setattr(importer, "dry_run", then_changed)
    with pytest.raises(
        DeliveryChanged, match=r"changed after its dry run \(journal.jsonl, line 2\)"
    ):
        import_delivery(path, by=world.worker.user, organisation=target, batch_size=1)
    # the first entry's batch was read as checked and stored; the changed one was not
    assert imported_rows(target)["journal"] == 1
    assert not Contact.objects.filter(note="changed after the dry run").exists()
    assert ImportRun.objects.get(organisation=target).state == ImportState.FAILED


def normalised(root: Path) -> dict[str, list[str]]:
    """A delivery's records with the source ids replaced by the records they name, so that two
    deliveries of the same data compare equal whatever ids Filum gave."""
    ids: dict[str, str] = {}
    records = {kind: lines(root, kind) for kind in KINDS}
    for kind, rows in records.items():
        for row in rows:
            ids[row["source_id"]] = f"{kind}:{canonical(row, {})}"
    result: dict[str, list[str]] = {}
    for kind, rows in records.items():
        result[kind] = sorted(canonical(row, ids) for row in rows)
    return result


def canonical(row: dict[str, Any], ids: dict[str, str]) -> str:
    def walk(value: Any, key: str = "") -> Any:
        if isinstance(value, dict):
            return {k: walk(v, k) for k, v in value.items() if k not in ("source_id", "path")}
        if isinstance(value, list):
            return [walk(v, key) for v in value]
        if isinstance(value, str) and value.startswith("filum:"):
            return ids.get(value, "ref")
        return value

    return json.dumps(walk(row), sort_keys=True, ensure_ascii=False)


KINDS = [
    "users",
    "persons",
    "households",
    "dossiers",
    "stages",
    "segments",
    "journal",
    "tasks",
    "consents",
    "shares",
    "assessments",
    "plans",
    "measures",
    "documents",
]


def test_m2_round_trip_of_the_demo(tmp_path: Path, db: object) -> None:
    """Issue 9 item 5: export an organisation of the demo, import it into a fresh one, export
    that one again: the two deliveries hold the same records."""
    call_command("seed_demo", stdout=io.StringIO())
    source = Organisation.objects.filter(cases__isnull=False).distinct().order_by("pk").first()
    assert source is not None
    first = tmp_path / "first"
    export_organisation(source, first)
    target = fresh_organisation("Round trip")
    result = import_delivery(first, by=None, organisation=target, batch_size=500)
    assert result.report.ok, [p.message() for p in result.report.problems[:5]]
    second = tmp_path / "second"
    export_organisation(target, second)
    a, b = normalised(first), normalised(second)
    for kind in KINDS:
        assert len(a[kind]) == len(b[kind]), kind
        assert a[kind] == b[kind], (kind, sorted(set(a[kind]) ^ set(b[kind]))[:2])
    assert Contact.objects.filter(owner=target).count() == len(a["journal"]) > 0


def test_m2_import_bench_figure_in_dossiers_per_second(world: Any, tmp_path: Path) -> None:
    """The bench's import row: the figures are there and nothing of the run is kept."""
    from filum.exchange.bench import measure_import

    fill(world)
    cases, mapped = Case.objects.count(), SourceRecord.objects.count()
    figure = measure_import(world.service_org, batch_size=2)
    assert figure["ok"] and figure["dossiers"] == 1 and figure["journal"] == 2
    assert figure["dossiers_per_s"] > 0 and figure["copy_seconds"] > 0
    assert figure["ratio_to_copy"] > 0 and isinstance(figure["pass"], bool)
    assert (Case.objects.count(), SourceRecord.objects.count()) == (cases, mapped)


def test_m2_bench_prints_the_import_row(world: Any, tmp_path: Path) -> None:
    """The bench's import row on a small world (the model service's export is small: the
    synthetic delivery of 30 dossiers is made from it)."""
    fill(world)
    out = io.StringIO()
    small = ["--import-dossiers", "30", "--import-journal", "200"]
    only = ["--only", "import of a delivery"]
    call_command("bench", "--json", "--repeat", "1", *only, *small, stdout=out)
    result = json.loads(out.getvalue())
    assert result["figures"] == [] and result["load"] is None
    assert result["import"]["ok"] and result["import"]["synthetic"]
    assert (result["import"]["dossiers"], result["import"]["journal"]) == (30, 200)
    assert result["import_resume"] is None and result["import_medium"] is None
    out = io.StringIO()
    call_command("bench", "--repeat", "1", *only, *small, stdout=out)
    assert "dossiers/s (target 2,000)" in out.getvalue(), out.getvalue()


@pytest.fixture
def import_page(settings: Any, tmp_path: Path) -> Any:
    from tests.test_signin import platform_admin

    settings.FILUM_IMPORT_DIR = tmp_path / "uploads"
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    return platform_admin()


def test_m2_platform_import_page_checks_then_imports_on_confirmation(
    world: Any, tmp_path: Path, import_page: Any
) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.urls import reverse

    fill(world)
    zipped = tmp_path / "service.zip"
    export_organisation(world.service_org, zipped)
    target = fresh_organisation()
    url = reverse("platform_imports")
    upload = SimpleUploadedFile("service.zip", zipped.read_bytes(), "application/zip")
    page = import_page.post(url, {"organisation": target.pk, "delivery": upload})
    assert page.status_code == 200
    assert "Prête à être importée" in page.content.decode()
    assert imported_rows(target)["mapped"] == 0  # nothing before the confirmation
    token = page.context["confirm"].initial["token"]
    done = import_page.post(url, {"token": token, "organisation": target.pk})
    assert done.status_code == 302
    assert imported_rows(target)["dossiers"] == 1
    listed = import_page.get(url).content.decode()
    run = ImportRun.objects.get(organisation=target)
    assert f'<progress value="{run.done}" max="{run.total}">' in listed and run.done == run.total


def test_m2_platform_import_page_reports_a_bad_upload_and_keeps_nothing(
    world: Any, tmp_path: Path, import_page: Any
) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.urls import reverse

    target = fresh_organisation()
    upload = SimpleUploadedFile("x.zip", b"not a zip", "application/zip")
    page = import_page.post(
        reverse("platform_imports"), {"organisation": target.pk, "delivery": upload}
    )
    assert "La livraison ne peut pas être importée" in page.content.decode()
    assert "confirm" in page.context and not list((tmp_path / "uploads").iterdir())
    gone = import_page.post(
        reverse("platform_imports"), {"token": "0" * 32, "organisation": target.pk}
    )
    assert gone.status_code == 302 and not ImportRun.objects.exists()


def test_m2_platform_import_page_reads_the_runs_in_fixed_queries(
    world: Any, import_page: Any
) -> None:
    from django.db import connection as conn
    from django.test.utils import CaptureQueriesContext
    from django.urls import reverse

    def queries() -> int:
        with CaptureQueriesContext(conn) as captured:
            assert import_page.get(reverse("platform_imports")).status_code == 200
        return len(captured)

    ImportRun.objects.create(organisation=world.service_org, delivery_sha256="a" * 64, state="done")
    one = queries()
    for n in range(3):
        ImportRun.objects.create(
            organisation=fresh_organisation(f"Org {n}"), delivery_sha256="b" * 64, state="running"
        )
    assert queries() == one


def test_m2_documents_of_a_rolled_back_batch_are_deleted(
    world: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 9 item 3 (M2, decision 0029): a batch of documents that fails after copying its
    files is rolled back and its files are deleted from the storage; the next run stores them."""
    path = delivery(world, tmp_path)
    stored = tmp_path / "stored"
    before = {p for p in stored.rglob("*") if p.is_file()}
    assert before  # the world's document, exported above
    target = fresh_organisation()
    real = importer.store_batch

    def fail_after_copy(imp: Any, kind: str, records: list[Any]) -> dict[str, int]:
        counts = real(imp, kind, records)
        if kind == "documents":
            assert imp.written  # the batch did copy files
            raise RuntimeError("killed after the copy")
        return counts

    monkeypatch.setattr(importer, "store_batch", fail_after_copy)
    with pytest.raises(RuntimeError, match="killed after the copy"):
        import_delivery(path, by=world.worker.user, organisation=target)
    assert {p for p in stored.rglob("*") if p.is_file()} == before
    assert not SourceRecord.objects.filter(organisation=target, kind="documents").exists()

    monkeypatch.setattr(importer, "store_batch", real)
    result = import_delivery(path, by=world.worker.user, organisation=target)
    assert result.counts["documents"]["created"] == 1
    assert len({p for p in stored.rglob("*") if p.is_file()}) == len(before) + 1
