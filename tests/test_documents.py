"""Documents (I8, R21, R23, R24): allowlisted types where the extension and the content agree,
a size limit, server-made names in private storage, downloads only through the authorised
view, and documents dropped onto a task."""

from __future__ import annotations

import hashlib
import html
import io
import re
import zipfile
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from filum.documents.models import Document
from filum.documents.validation import MAX_SIZE, clean_filename
from filum.followup.models import Task
from filum.records.models import ReadLog
from tests import factories

PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
HTML = b"<!DOCTYPE html><html><body><script>alert(1)</script></body></html>"


@pytest.fixture(autouse=True)
def private_storage(settings, tmp_path):
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "documents")},
        },
    }
    return tmp_path / "documents"


def docx_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<w:document/>")
    return buffer.getvalue()


def odt_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(
            zipfile.ZipInfo("mimetype"),
            "application/vnd.oasis.opendocument.text",
            zipfile.ZIP_STORED,
        )
        archive.writestr("content.xml", "<office:document-content/>")
    return buffer.getvalue()


def upload(client, case, name: str, content: bytes):
    return client.post(
        reverse("document_upload", args=[case.pk]),
        {"file": SimpleUploadedFile(name, content, content_type="application/pdf")},
    )


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("bail.pdf", PDF),
        ("photo.PNG", PNG),
        ("scan.jpeg", b"\xff\xd8\xff\xe0" + b"\x00" * 20),
        ("lettre.docx", docx_bytes()),
        ("plan.odt", odt_bytes()),
        ("notes.txt", "Rendez-vous à 14 h, apporter la décision.".encode()),
    ],
)
def test_r21_allowed_types_are_stored(world, name, content):
    response = upload(world.worker.client(), world.case, name, content)
    assert response.status_code == 302
    document = Document.objects.get()
    assert document.original_name == name
    assert document.size == len(content)
    assert document.sha256 == hashlib.sha256(content).hexdigest()
    assert document.uploaded_by == world.worker.user


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("rapport.pdf", HTML),  # a web page renamed .pdf
        ("rapport.html", HTML),  # not on the list at all
        ("notes.txt", HTML),  # markup in a text file
        ("lettre.docx", PDF),  # the wrong magic bytes
        ("lettre.docx", b"PK\x03\x04" + b"\x00" * 40),  # a broken archive
        ("plan.odt", docx_bytes()),  # an archive of another kind
        ("outil.exe", b"MZ\x90\x00"),
        ("sans-extension", PDF),
        ("vide.pdf", b""),
    ],
)
def test_r21_other_files_are_refused_with_a_message_and_nothing_stored(
    world, private_storage, name, content
):
    response = upload(world.worker.client(), world.case, name, content)
    assert response.status_code == 400
    assert response.context["form"].errors["file"]
    assert not Document.objects.exists()
    assert not private_storage.exists() or not any(private_storage.rglob("*"))


def test_r21_oversized_file_is_refused(world):
    content = PDF + b"0" * (MAX_SIZE + 1 - len(PDF))
    response = upload(world.worker.client(), world.case, "gros.pdf", content)
    assert response.status_code == 400
    assert "La limite est de 10 Mo." in response.context["form"].errors["file"][0]
    content = PDF + b"0" * (MAX_SIZE * 5 // 4 - len(PDF))
    response = upload(world.worker.client(), world.case, "gros.pdf", content)
    assert response.context["form"].errors["file"] == [
        "Le fichier est trop volumineux (12,5 Mo). La limite est de 10 Mo."
    ]
    assert not Document.objects.exists()


def test_r21_sizes_and_the_limit_are_written_in_the_readers_language(world):
    upload(world.worker.client(), world.case, "bail.pdf", PDF + b" " * (13824 - len(PDF)))
    url = reverse("case_documents", args=[world.case.pk])
    french = html.unescape(world.worker.client().get(url).content.decode())
    assert "13,5 Ko" in french
    assert "10 Mo au maximum" in french
    german = world.worker.client().get(url, HTTP_ACCEPT_LANGUAGE="de")
    german_text = html.unescape(german.content.decode())
    assert "13,5 kB" in german_text
    assert "höchstens 10 MB" in german_text
    assert not re.search(r"\d KB\b", french + german_text)


def test_r23_file_is_stored_under_a_server_made_name_in_private_storage(world, private_storage):
    response = upload(world.worker.client(), world.case, "../../x.pdf", PDF)
    assert response.status_code == 302
    document = Document.objects.get()
    assert document.original_name == "x.pdf"
    assert re.fullmatch(r"\d{4}/[0-9a-f]{32}", document.file.name), document.file.name
    assert document.file.name.endswith(document.pk.hex)
    stored = list(p for p in private_storage.rglob("*") if p.is_file())
    assert [p.name for p in stored] == [document.pk.hex]
    assert stored[0].read_bytes() == PDF
    assert not any("x.pdf" in str(p) or ".." in str(p) for p in stored)
    # Nothing under the web root or the static files.
    assert Path(document.file.path).is_relative_to(private_storage)
    assert world.worker.client().get(f"/static/{document.file.name}").status_code == 404


def test_r23_html_with_a_traversal_name_is_refused(world, private_storage):
    response = upload(world.worker.client(), world.case, "../../x.html", HTML)
    assert response.status_code == 400
    assert not Document.objects.exists()


def test_r23_direction_and_control_characters_are_removed_from_the_name():
    assert clean_filename("facture\u202efdp.exe") == "facturefdp.exe"
    assert clean_filename("a\r\nSet-Cookie: x.pdf") == "aSet-Cookie: x.pdf"
    assert clean_filename("C:\\Users\\x\\bail.pdf") == "bail.pdf"
    assert clean_filename("...") == "document"
    assert len(clean_filename("a" * 300 + ".pdf")) == 255 and clean_filename(
        "a" * 300 + ".pdf"
    ).endswith(".pdf")


def test_r24_quotes_in_a_name_cannot_break_the_header(world):
    upload(world.worker.client(), world.case, 'bail "2026"; x=1.pdf', PDF)
    document = Document.objects.get()
    response = world.worker.client().get(reverse("document_download", args=[document.pk]))
    b"".join(response.streaming_content)
    assert response["Content-Disposition"] == 'attachment; filename="bail \\"2026\\"; x=1.pdf"'


def test_r24_download_is_an_attachment_with_nosniff_and_is_logged(world):
    upload(world.worker.client(), world.case, 'bail "2026".pdf', PDF)
    document = Document.objects.get()
    reads = ReadLog.objects.filter(case_id=world.case.pk, section="documents").count()
    response = world.colleague.client().get(reverse("document_download", args=[document.pk]))
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PDF
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith("attachment;")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response["Content-Security-Policy"]
    assert "no-store" in response["Cache-Control"]
    assert ReadLog.objects.filter(case_id=world.case.pk, section="documents").count() == reads + 1


def test_r11_download_without_rights_answers_404(world):
    upload(world.worker.client(), world.case, "bail.pdf", PDF)
    document = Document.objects.get()
    url = reverse("document_download", args=[document.pk])

    def status(persona: str) -> int:
        response = getattr(world, persona).client().get(url)
        if response.streaming:
            b"".join(response.streaming_content)
        return response.status_code

    for persona in ("outsider", "partner", "superuser", "analyst", "dpo"):
        assert status(persona) == 404, persona
    # A journal share does not open the documents; a documents share does.
    factories.ShareFactory(
        case=world.case,
        organisation=world.partner_org,
        sections=["journal"],
        granted_by=world.worker.user,
    )
    assert status("partner") == 404
    factories.ShareFactory(
        case=world.case,
        organisation=world.partner_org,
        sections=["documents"],
        granted_by=world.worker.user,
    )
    assert status("partner") == 200
    # The partner with a read share cannot add documents.
    response = upload(world.partner.client(), world.case, "autre.pdf", PDF)
    assert response.status_code == 404


def test_i8_document_dropped_onto_a_task(world):
    task = Task.objects.create(
        case=world.case,
        owner=world.service_org,
        title="Vérifier le contrat de bail",
        due_on=timezone.localdate(),
        assigned_role="social_worker",
    )
    client = world.assistant.client()
    page = client.get(reverse("task_detail", args=[task.pk]))
    assert page.status_code == 200
    body = page.content.decode()
    assert "data-dropzone" in body and 'type="file"' in body
    response = client.post(
        reverse("task_document_upload", args=[task.pk]),
        {"file": SimpleUploadedFile("bail.pdf", PDF)},
    )
    assert response.status_code == 302 and response["Location"] == reverse(
        "task_detail", args=[task.pk]
    )
    document = Document.objects.get()
    assert (document.task, document.case, document.uploaded_by) == (
        task,
        world.case,
        world.assistant.user,
    )
    page = world.worker.client().get(reverse("task_detail", args=[task.pk]))
    assert page.context["documents"] == [document]
    # A refused file leaves a message and nothing else.
    response = client.post(
        reverse("task_document_upload", args=[task.pk]),
        {"file": SimpleUploadedFile("x.pdf", HTML)},
        follow=True,
    )
    assert [m.level_tag for m in response.context["messages"]][-1] == "error"
    assert Document.objects.count() == 1
    # Not onto a closed task, and not by the outsider.
    Task.objects.filter(pk=task.pk).update(status="done", closed_at=timezone.now())
    client.post(
        reverse("task_document_upload", args=[task.pk]), {"file": SimpleUploadedFile("b.pdf", PDF)}
    )
    assert Document.objects.count() == 1
    response = world.outsider.client().post(
        reverse("task_document_upload", args=[task.pk]), {"file": SimpleUploadedFile("c.pdf", PDF)}
    )
    assert response.status_code == 404


def test_i8_documents_page_lists_the_files_with_their_task(world):
    upload(world.worker.client(), world.case, "bail.pdf", PDF)
    response = world.worker.client().get(reverse("case_documents", args=[world.case.pk]))
    assert [d.original_name for d in response.context["documents"]] == ["bail.pdf"]
    assert (
        reverse("document_download", args=[Document.objects.get().pk]) in response.content.decode()
    )
