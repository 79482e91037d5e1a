"""Documents of a dossier, optionally dropped onto a task (I8).

Files are kept in private storage (``STORAGES["documents"]`` when configured, otherwise the
default storage, which lives in ``var/documents``) under a name the server makes from a
UUID; the name the user gave is kept only as data (R23). They are served only through the
download view, which checks access to the dossier's documents section.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core.files.storage import Storage, default_storage, storages
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from filum.cases.models import Case
from filum.documents.validation import format_size
from filum.records.tracking import audited
from filum.tenancy.models import Organisation


def document_storage() -> Storage:
    """The private storage of documents: never under STATIC_ROOT, never served directly. The
    default storage is a lazy proxy, so a changed STORAGES setting (tests) takes effect."""
    if "documents" in settings.STORAGES:
        return storages["documents"]
    return default_storage


def stored_name(instance: Document, filename: str) -> str:
    """A server-made name: the year, then the document's UUID; nothing of the user's name."""
    return f"{timezone.now():%Y}/{instance.pk.hex}"


@audited(history_of="case")
class Document(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="documents")
    owner = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    task = models.ForeignKey(
        "followup.Task",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="documents",
        verbose_name=_("task"),
    )
    file = models.FileField(
        _("file"), storage=document_storage, upload_to=stored_name, max_length=200
    )
    original_name = models.CharField(_("file name"), max_length=255)
    content_type = models.CharField(_("type"), max_length=100)
    size = models.PositiveBigIntegerField(_("size (bytes)"))
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("uploaded by"),
    )
    uploaded_by_org = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("uploaded by organisation"),
    )
    uploaded_at = models.DateTimeField(_("uploaded at"), default=timezone.now)

    class Meta:
        ordering = ["-uploaded_at"]
        verbose_name = _("document")
        verbose_name_plural = _("documents")
        constraints = [
            models.CheckConstraint(condition=Q(size__gt=0), name="document_not_empty"),
            models.CheckConstraint(
                condition=Q(sha256__regex=r"^[0-9a-f]{64}$"), name="document_sha256_hex"
            ),
        ]
        indexes = [
            models.Index(fields=["case", "-uploaded_at"], name="document_by_case"),
            models.Index(fields=["task"], condition=Q(task__isnull=False), name="document_by_task"),
        ]

    def __str__(self) -> str:
        return self.original_name

    @property
    def size_display(self) -> str:
        return format_size(self.size)
