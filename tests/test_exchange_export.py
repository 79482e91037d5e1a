"""Export in the exchange format (issue 9 item 5, M1, M2): what Filum writes is a delivery its
own reader accepts, one dossier, one organisation or all of them, and the download from the
dossier page is for the dossier's own casework only, logged as an export."""

from __future__ import annotations

import datetime
import io
import json
import zipfile
from pathlib import Path
from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone

from filum.cases.models import Consent, Share
from filum.documents.models import Document
from filum.exchange.export import export_case, sid
from filum.exchange.reader import check_delivery
from filum.followup.models import Task
from filum.journal.models import Contact, Topic
from filum.people.models import AssistanceUnit, UnitMember
from filum.records.models import ReadLog
from filum.tenancy.policy import SECTIONS
from tests import factories, plan_factories

pytestmark = pytest.mark.django_db

LETTER = b"%PDF-1.7\nletter of 2025-03-04\n"


@pytest.fixture(autouse=True)
def private_storage(settings: Any, tmp_path: Path) -> Path:
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "stored")},
        },
    }
    return tmp_path / "stored"


def fill(world: Any) -> Any:
    """The world's dossier with something of every kind."""
    case, worker = world.case, world.worker.user
    member = factories.PersonFactory(last_name="Muster", first_name="Lea")
    unit = AssistanceUnit.objects.create(name="Ménage Muster", registered_by=world.service_org)
    UnitMember.objects.create(unit=unit, person=case.client, relation="applicant")
    UnitMember.objects.create(unit=unit, person=member, relation="child")
    case.assistance_unit = unit
    case.save()
    first = Contact.objects.create(
        case=case,
        owner_id=case.owner_id,
        kind="interview",
        date=case.opened_on,
        topic=Topic.objects.get(code="health"),
        duration_minutes=30,
        counts=True,
        is_face_to_face=True,
        recorded_by=worker,
        note="Premier entretien",
    )
    Contact.objects.create(
        case=case,
        owner_id=case.owner_id,
        kind="phone",
        date=case.opened_on,
        topic=Topic.objects.get(code="health"),
        counts=True,
        is_face_to_face=False,
        recorded_by=worker,
        supersedes=first,
        correction_reason="date",
    )
    task = Task.objects.create(
        case=case,
        owner_id=case.owner_id,
        title="Rappeler",
        due_on=timezone.localdate(),
        assigned_to=worker,
        created_by=worker,
    )
    consent = Consent.objects.create(
        case=case,
        owner_id=case.owner_id,
        person=case.client,
        kind="general",
        scope="Partenaire d'insertion",
        signed_on=case.opened_on,
        recorded_by=worker,
    )
    Share.objects.create(
        case=case,
        owner_id=case.owner_id,
        organisation=world.partner_org,
        sections=["plan"],
        access="read",
        basis="consent",
        consent=consent,
        reason="Consentement",
        valid_until=timezone.localdate() + datetime.timedelta(days=90),
        granted_by=worker,
    )
    plan = plan_factories.plan(case, worker, goals=("orientation",))
    plan_factories.measure(plan, worker, title="Cours de français")
    document = Document(
        case=case,
        owner_id=case.owner_id,
        task=task,
        original_name="lettre.PDF",
        content_type="application/pdf",
        size=len(LETTER),
        sha256="0" * 64,  # wrong on purpose: the delivery carries the file's own checksum
        uploaded_by=worker,
        uploaded_by_org_id=case.owner_id,
    )
    document.file.save(document.pk.hex, ContentFile(LETTER), save=False)
    document.save()
    return case


def lines(root: Path, kind: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (root / f"{kind}.jsonl").read_text().splitlines()]


def test_m1_export_of_a_dossier_is_a_delivery_the_reader_accepts(
    world: Any, tmp_path: Path
) -> None:
    case = fill(world)
    written = export_case(case, tmp_path / "out")
    report = check_delivery(tmp_path / "out")
    assert report.ok, [p.message() for p in report.problems]
    assert written.counts == {
        "dossiers": 1,
        "stages": 0,
        "segments": 0,
        "journal": 2,
        "tasks": 1,
        "consents": 1,
        "shares": 1,
        "assessments": 0,
        "plans": 1,
        "measures": 1,
        "documents": 1,
        "households": 1,
        "persons": 2,
        "users": 1,
    }
    assert report.counts == {k: v for k, v in written.counts.items()}


def test_m1_export_source_ids_are_filum_ids_with_their_kind(world: Any, tmp_path: Path) -> None:
    case = fill(world)
    export_case(case, tmp_path / "out")
    root = tmp_path / "out"
    dossier = lines(root, "dossiers")[0]
    assert dossier["source_id"] == f"filum:dossier:{case.pk}"
    assert dossier["client"] == f"filum:person:{case.client_id}"
    assert dossier["responsible"] == sid("user", world.worker.user.pk)
    journal = lines(root, "journal")
    assert journal[1]["supersedes"] == journal[0]["source_id"]
    assert lines(root, "shares")[0]["organisation"] == "Partenaire Insertion"
    assert lines(root, "plans")[0]["goals"][1]["key"] == "orientation"
    assert lines(root, "measures")[0]["goals"] == []


def test_m1_export_document_file_and_checksum(world: Any, tmp_path: Path) -> None:
    case = fill(world)
    export_case(case, tmp_path / "out")
    record = lines(tmp_path / "out", "documents")[0]
    assert record["path"] == f"documents/{Document.objects.get().pk}.pdf"
    assert (tmp_path / "out" / record["path"]).read_bytes() == LETTER
    assert record["size"] == len(LETTER)
    assert record["sha256"] != "0" * 64


def test_m1_export_zip_is_accepted_and_holds_the_manifest(world: Any, tmp_path: Path) -> None:
    case = fill(world)
    export_case(case, tmp_path / "dossier.zip")
    assert check_delivery(tmp_path / "dossier.zip").ok
    with zipfile.ZipFile(tmp_path / "dossier.zip") as archive:
        manifest = json.loads(archive.read("manifest.json"))
    assert manifest["format_version"] == "1.0"
    assert manifest["organisation"]["name"] == "Service social Bienne-Test"
    assert manifest["files"]["journal.jsonl"]["count"] == 2


def test_m2_export_organisation_command_holds_only_its_dossiers(world: Any, tmp_path: Path) -> None:
    fill(world)
    extra = factories.CaseFactory(owner=world.service_org, responsible=world.head.user)
    out = io.StringIO()
    call_command(
        "export_delivery", organisation=world.service_org.name, out=tmp_path / "org.zip", stdout=out
    )
    assert "dossiers 2" in out.getvalue()
    report = check_delivery(tmp_path / "org.zip")
    assert report.ok, [p.message() for p in report.problems]
    with zipfile.ZipFile(tmp_path / "org.zip") as archive:
        dossiers = [json.loads(x) for x in archive.read("dossiers.jsonl").splitlines()]
        users = [json.loads(x) for x in archive.read("users.jsonl").splitlines()]
    assert {d["source_id"] for d in dossiers} == {
        sid("dossier", world.case.pk),
        sid("dossier", extra.pk),
    }
    # every member of the organisation, with their roles there
    names = {u["username"] for u in users}
    assert {"worker", "head", "superuser", "dpo"} <= names
    assert "outsider" not in names
    head = next(u for u in users if u["username"] == "head")
    assert head["memberships"] == [{"role": "section_head", "team": "Conseil 1", "is_active": True}]


def test_m2_export_case_command_by_number(world: Any, tmp_path: Path) -> None:
    world.case.refresh_from_db()
    call_command(
        "export_delivery", case=str(world.case.number), out=tmp_path / "one", stdout=io.StringIO()
    )
    assert lines(tmp_path / "one", "dossiers")[0]["source_id"] == sid("dossier", world.case.pk)


def test_m2_export_all_writes_one_delivery_per_organisation(world: Any, tmp_path: Path) -> None:
    call_command("export_delivery", all=True, zip=True, out=tmp_path / "all", stdout=io.StringIO())
    written = sorted(p.name for p in (tmp_path / "all").iterdir())
    assert written == sorted(
        f"organisation-{org.pk}.zip" for org in (world.service_org, world.outsider_org)
    )
    for path in (tmp_path / "all").iterdir():
        assert check_delivery(path).ok


def test_m2_export_command_refuses_a_folder_not_empty(world: Any, tmp_path: Path) -> None:
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "x").write_text("x")
    with pytest.raises(CommandError, match="not empty"):
        call_command("export_delivery", case=str(world.case.pk), out=tmp_path / "busy")


def test_m2_export_command_unknown_organisation(tmp_path: Path, db: object) -> None:
    with pytest.raises(CommandError, match="No organisation"):
        call_command("export_delivery", organisation="Nowhere", out=tmp_path / "x.zip")


def test_m2_export_command_unknown_dossier(tmp_path: Path, db: object) -> None:
    with pytest.raises(CommandError, match="neither"):
        call_command("export_delivery", case="abc", out=tmp_path / "x.zip")


# --- the download from the dossier page ------------------------------------------------------


def test_m1_dossier_download_is_a_zip_delivery_logged_as_export(world: Any, tmp_path: Path) -> None:
    case = fill(world)
    response = world.worker.client().get(reverse("case_export", args=[case.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    target = tmp_path / "download.zip"
    target.write_bytes(b"".join(response.streaming_content))
    assert check_delivery(target).ok
    logged = ReadLog.objects.filter(case_id=case.pk, kind="export")
    assert sorted(logged.values_list("section", flat=True)) == sorted(SECTIONS)


def test_m1_dossier_page_offers_the_download_to_casework_only(world: Any) -> None:
    url = reverse("case_export", args=[world.case.pk])
    page = world.worker.client().get(reverse("case_detail", args=[world.case.pk]))
    assert url in page.content.decode()
    page = world.assistant.client().get(reverse("case_detail", args=[world.case.pk]))
    assert url not in page.content.decode()


@pytest.mark.parametrize("persona", ["assistant", "partner", "outsider", "superuser", "dpo"])
def test_m1_dossier_download_refused_answers_404(world: Any, persona: str) -> None:
    Share.objects.create(
        case=world.case,
        owner_id=world.case.owner_id,
        organisation=world.partner_org,
        sections=list(SECTIONS),
        access="write",
        basis="legal",
        reason="Art. 8",
        valid_until=timezone.localdate() + datetime.timedelta(days=30),
        granted_by=world.worker.user,
    )
    response = getattr(world, persona).client().get(reverse("case_export", args=[world.case.pk]))
    assert response.status_code == 404
    assert not ReadLog.objects.filter(kind="export").exists()


def test_m2_export_reads_in_chunks_whatever_the_number_of_dossiers(
    world: Any, tmp_path: Path
) -> None:
    """Streaming: the export's queries do not grow with the dossiers (rows come in chunks,
    documents and memberships per chunk, never one query per row)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from filum.exchange.export import export_organisation

    fill(world)

    def queries(out: str) -> int:
        with CaptureQueriesContext(connection) as captured:
            export_organisation(world.service_org, tmp_path / out)
        return len(captured)

    few = queries("few")
    for _ in range(5):
        factories.CaseFactory(owner=world.service_org, responsible=world.colleague.user)
    assert queries("more") == few


# --- the import's dry run (M2, the start) ----------------------------------------------------


def test_m2_dry_run_of_an_exported_organisation_is_ready(world: Any, tmp_path: Path) -> None:
    fill(world)
    call_command(
        "export_delivery",
        organisation=world.service_org.name,
        out=tmp_path / "org.zip",
        stdout=io.StringIO(),
    )
    out = io.StringIO()
    call_command("import_delivery", tmp_path / "org.zip", dry_run=True, stdout=out)
    text = out.getvalue()
    assert "journal: 2 to create" in text
    assert text.strip().endswith("ready to import")


def test_m2_dry_run_reports_what_filum_lacks_in_plain_words(world: Any, tmp_path: Path) -> None:
    case = fill(world)
    export_case(case, tmp_path / "one")
    root = tmp_path / "one"
    entries = lines(root, "journal")
    entries[0]["topic"] = "astrology"
    body = "".join(json.dumps(e) + "\n" for e in entries).encode()
    (root / "journal.jsonl").write_bytes(body)
    manifest = json.loads((root / "manifest.json").read_text())
    manifest["files"]["journal.jsonl"]["sha256"] = __import__("hashlib").sha256(body).hexdigest()
    (root / "manifest.json").write_text(json.dumps(manifest))
    Share.objects.all().delete()
    world.partner_org.name = "Renamed partner"
    world.partner_org.save()
    out = io.StringIO()
    with pytest.raises(CommandError, match="2 problem"):
        call_command(
            "import_delivery",
            root,
            dry_run=True,
            language="de",
            json=tmp_path / "r.json",
            stdout=out,
        )
    assert "journal.jsonl, Zeile 1: Das Journal-Thema astrology existiert in Filum nicht." in (
        out.getvalue()
    )
    report = json.loads((tmp_path / "r.json").read_text())
    assert [(p["key"], p["file"], p["line"], p["field"]) for p in report["problems"]] == [
        ("import.topic", "journal.jsonl", 1, "topic"),
        ("import.share_organisation", "shares.jsonl", 1, "organisation"),
    ]


def test_m1_m2_the_demo_of_every_organisation_exports_to_a_delivery_the_reader_accepts(
    tmp_path: Path, db: object
) -> None:
    """The format covers what Filum really holds: the whole demo, exported organisation by
    organisation, passes the reader without a single problem (the round trip's first half)."""
    call_command("seed_demo", stdout=io.StringIO())
    call_command("export_delivery", all=True, out=tmp_path / "all", stdout=io.StringIO())
    deliveries = sorted((tmp_path / "all").iterdir())
    assert deliveries
    total = 0
    for delivery in deliveries:
        report = check_delivery(delivery)
        assert report.ok, (delivery.name, [p.message() for p in report.problems[:5]])
        total += report.counts.get("journal", 0)
    assert total == Contact.objects.count()
