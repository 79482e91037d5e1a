"""Storing documents. The caller has checked access and validated the upload
(``filum.documents.validation.check_upload``)."""

from __future__ import annotations

import hashlib
import uuid

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils.translation import gettext as _

from filum.cases.models import Case
from filum.documents.models import Document
from filum.documents.validation import FileType
from filum.followup.models import Task
from filum.tenancy.policy import Actor


def _sha256(upload: UploadedFile) -> str:
    digest = hashlib.sha256()
    upload.seek(0)
    for chunk in upload.chunks():
        digest.update(chunk)
    upload.seek(0)
    return digest.hexdigest()


def do_store_document(
    *,
    actor: Actor,
    case: Case,
    upload: UploadedFile,
    name: str,
    file_type: FileType,
    task: Task | None = None,
) -> Document:
    """Store the file under a server-made name and record it on the dossier (and the task)."""
    if task is not None:
        if task.case_id != case.pk:
            raise ValidationError(_("This task belongs to another dossier."))
        if not task.is_open:
            raise ValidationError(_("Documents can only be added to open tasks."))
    document = Document(
        id=uuid.uuid4(),
        case=case,
        owner_id=case.owner_id,
        task=task,
        original_name=name,
        content_type=file_type.content_type,
        size=upload.size or 0,
        sha256=_sha256(upload),
        uploaded_by=actor.user,
        uploaded_by_org_id=actor.organisation_id,
    )
    # The file is written first; if the row cannot be saved, the file is removed again.
    document.file.save(document.pk.hex, upload, save=False)
    try:
        with transaction.atomic():
            document.save(force_insert=True)
    except Exception:
        document.file.storage.delete(document.file.name)
        raise
    return document
