"""Backup and restore (X7): a backup taken by `manage.py backup` restores into a fresh database
and folder with the same row counts and checksums; what would lose data is refused."""

from __future__ import annotations

import io
import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.db import connection

from filum.cases.models import Case
from filum.documents.models import Document
from filum.documents.services import do_store_document
from filum.documents.validation import ALLOWED
from filum.tenancy.models import Membership
from filum.tenancy.policy import Actor
from filum.web import backup
from tests import factories

PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def database_url(name: str | None = None) -> str:
    """A URL for the test server, for the test database or another one on it."""
    db = connection.settings_dict
    socket = db["HOST"].startswith("/")
    netloc = "" if socket else f"{db['HOST']}:{db['PORT'] or 5432}"
    query = f"?host={db['HOST']}" if socket else ""
    return f"postgresql://{db['USER']}:{db['PASSWORD']}@{netloc}/{name or db['NAME']}{query}"


def database_exists(name: str) -> bool:
    with backup.Server.from_url(database_url("postgres")).connect() as conn:
        return bool(conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone())


@pytest.fixture
def scratch_database() -> Iterator[str]:
    """A fresh database name on the test server, dropped afterwards."""
    name = f"{connection.settings_dict['NAME']}_restore_{uuid.uuid4().hex[:8]}"
    yield name
    server = backup.Server.from_url(database_url("postgres"))
    with server.connect(autocommit=True) as conn:
        for made in (name, f"{name}_2"):
            conn.execute(f'DROP DATABASE IF EXISTS "{made}" WITH (FORCE)')


@pytest.fixture
def documents(settings, tmp_path) -> Path:
    folder = tmp_path / "documents"
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(folder)},
        },
    }
    return folder


def small_installation() -> Case:
    case = factories.CaseFactory(client__last_name="Sauvegarde")
    user = factories.UserFactory(username="backup-worker")
    membership = Membership.objects.create(user=user, organisation=case.owner, role="social_worker")
    actor = Actor(user=user, membership=membership)
    for name in ("bail.pdf", "contrat.pdf"):
        do_store_document(
            actor=actor,
            case=case,
            upload=SimpleUploadedFile(name, PDF + name.encode(), content_type="application/pdf"),
            name=name,
            file_type=ALLOWED["pdf"],
        )
    return case


def run(command: str, *args: str) -> str:
    out = io.StringIO()
    call_command(command, *args, stdout=out)
    return out.getvalue()


def test_x7_backup_restore_and_verify_give_equal_counts_and_checksums(
    transactional_db, documents, tmp_path, scratch_database
):
    case = small_installation()
    folder = tmp_path / "backup"
    run("backup", str(folder))

    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["tables"]["public.cases_case"] == Case.objects.count() >= 1
    assert manifest["tables"]["public.documents_document"] == 2
    stored = sorted(backup.checksums(documents))
    assert sorted(n for n in manifest["files"] if n.startswith("documents/")) == [
        f"documents/{name}" for name in stored
    ]
    assert set(manifest["files"]) == {"database.dump", *(f"documents/{n}" for n in stored)}
    assert manifest["postgresql"]["server_major"] == connection.pg_version // 10000
    assert manifest["filum"]["commit"]

    restored = tmp_path / "restored-documents"
    output = run(
        "restore", str(folder), "--database-url", database_url(scratch_database),
        "--documents-dir", str(restored),
    )  # fmt: skip
    assert f"created the database {scratch_database}" in output
    assert "public.cases_case" in output and "checksums OK" in output
    assert "verified:" in output and "DIFFERS" not in output
    with backup.Server.from_url(database_url(scratch_database)).connect() as conn:
        names = conn.execute("SELECT last_name FROM people_person").fetchall()
    assert ("Sauvegarde",) in names
    for document in Document.objects.filter(case=case):
        with document.file.open("rb") as original:
            assert (restored / document.file.name).read_bytes() == original.read()

    # verifying again compares without restoring
    again = run(
        "restore", str(folder), "--verify", "--database-url", database_url(scratch_database),
        "--documents-dir", str(restored),
    )  # fmt: skip
    assert "verified:" in again

    # a second restore into the now full database and folder is refused: nothing is replaced
    with pytest.raises(CommandError, match="is not empty"):
        run("restore", str(folder), "--database-url", database_url(scratch_database),
            "--documents-dir", str(restored / "elsewhere"))  # fmt: skip
    with pytest.raises(CommandError, match="documents folder .* is not empty"):
        run("restore", str(folder), "--database-url", database_url(f"{scratch_database}_2"),
            "--documents-dir", str(restored))  # fmt: skip
    assert not database_exists(f"{scratch_database}_2")  # refused: nothing was created

    # a changed document or a changed row count fails the verification
    damaged = next(p for p in restored.rglob("*") if p.is_file())
    damaged.write_bytes(b"changed")
    with pytest.raises(CommandError, match="checksum differs"):
        run("restore", str(folder), "--verify", "--database-url", database_url(scratch_database),
            "--documents-dir", str(restored))  # fmt: skip


def test_x7_a_damaged_backup_is_refused_before_anything_is_restored(
    transactional_db, documents, tmp_path, scratch_database
):
    small_installation()
    folder = tmp_path / "backup"
    run("backup", str(folder))
    (folder / "database.dump").write_bytes(b"not a dump")
    with pytest.raises(CommandError, match="database.dump: checksum differs"):
        run("restore", str(folder), "--database-url", database_url(scratch_database),
            "--documents-dir", str(tmp_path / "restored"))  # fmt: skip
    assert not database_exists(scratch_database)
    assert not (tmp_path / "restored").exists()


def test_x7_a_backup_into_a_full_folder_or_from_an_unreachable_database_leaves_nothing(
    transactional_db, documents, tmp_path
):
    full = tmp_path / "full"
    full.mkdir()
    (full / "old").write_text("keep")
    with pytest.raises(CommandError, match="is not empty"):
        run("backup", str(full))
    assert (full / "old").read_text() == "keep"
    missing = database_url(f"{connection.settings_dict['NAME']}_nowhere")
    with pytest.raises(psycopg.OperationalError):
        run("backup", str(tmp_path / "new"), "--database-url", missing)
    assert not (tmp_path / "new").exists()


def test_x7_client_tools_of_another_version_are_refused_by_name():
    """The server's major version has no pg_dump here: the message names both versions."""
    with pytest.raises(CommandError) as refused:
        backup.find_tool("pg_dump", 99)
    message = str(refused.value)
    assert "no pg_dump of PostgreSQL 99 found" in message
    assert "postgresql-client-99" in message
    assert "(PostgreSQL " in message  # the versions that were found instead
