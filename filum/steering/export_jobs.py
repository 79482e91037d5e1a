"""Person-list exports as background jobs (D4, decision 0034).

The page asks for an export (``do_request_export``): after the limit check a
``PersonListExport`` row is written and the task enqueued when it commits. The task worker
(``run_person_list_export``) checks the owner's current rights again, applies the filter once,
writes the file by batches into a temporary folder of its own, stores the progress after each
batch (one short UPDATE, so the progress page sees it), then moves the finished file into
private storage with its SHA-256 and size. A failure leaves no file: the temporary folder goes
as a whole, a file already stored is deleted, and the row says why (a code, rendered in the
reader's language). Files are downloadable by their owner for ``EXPORT_HOURS`` hours;
``purge_expired_exports`` removes them (the ``purge_person_list_exports`` command, daily, and
each new job first).
"""

from __future__ import annotations

import datetime
import hashlib
import logging
import os
import tempfile
import uuid
from typing import Any

from django.conf import settings
from django.core.files import File
from django.core.files.storage import Storage, default_storage, storages
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone, translation
from django_tasks import task

from filum.records.services import log_security_event
from filum.steering.exports import WRITERS
from filum.steering.list_forms import PersonFilterForm, as_query
from filum.steering.models import EXPORT_HOURS, ExportStatus, PersonListExport
from filum.steering.person_lists import EXPORT_BATCH, EXPORT_LIMIT, export_batches, export_ids
from filum.tenancy.models import Membership
from filum.tenancy.policy import Actor, allowed_relations

logger = logging.getLogger(__name__)
RECENT_EXPORTS = 5  # shown on the person list page
FOLDER = "person-lists"


def export_storage() -> Storage:
    """Private storage (``STORAGES["exports"]`` when configured, otherwise the default storage
    in ``var/documents``): never under STATIC_ROOT, never served directly."""
    if "exports" in settings.STORAGES:
        return storages["exports"]
    return default_storage


def do_request_export(
    *, actor: Actor, filters: dict[str, Any], format: str, language: str
) -> PersonListExport:
    """Record the export and enqueue its job once the row is committed. The caller has checked
    the filter and the limit."""
    with transaction.atomic():
        export = PersonListExport.objects.create(
            user=actor.user,
            organisation_id=actor.organisation_id,
            role=actor.role,
            format=format,
            filters=filters,
            language=language,
        )
        transaction.on_commit(lambda: run_person_list_export.enqueue(str(export.pk)))
    return export


def recent_exports(actor: Actor) -> list[PersonListExport]:
    return list(
        PersonListExport.objects.filter(
            user_id=actor.user.pk, organisation_id=actor.organisation_id
        ).order_by("-created_at")[:RECENT_EXPORTS]
    )


def _current_actor(export: PersonListExport) -> Actor | None:
    """The owner as they act now: an active membership in the organisation with the role the
    export was asked in, still allowed to list persons (else None)."""
    membership = (
        Membership.objects.active()
        .select_related("organisation", "user")
        .filter(user_id=export.user_id, organisation_id=export.organisation_id, role=export.role)
        .first()
    )
    if membership is None or not allowed_relations(membership.role, "person.list"):
        return None
    return Actor(user=membership.user, membership=membership)


def _fail(export: PersonListExport, code: str) -> PersonListExport:
    PersonListExport.objects.filter(pk=export.pk).update(
        status=ExportStatus.FAILED, error=code, finished_at=timezone.now()
    )
    export.refresh_from_db()
    return export


def _digest(path: str) -> tuple[str, int]:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest(), os.path.getsize(path)


@task()
def run_person_list_export(export_id: str) -> str:
    """The task: write one export; its final status."""
    return write_export(uuid.UUID(export_id)).status


def write_export(
    export_id: uuid.UUID, *, batch: int | None = None, first: int | None = None
) -> PersonListExport:
    """Write a queued export (another state: nothing to do, so a repeated task is harmless),
    ``batch`` rows a round (``EXPORT_BATCH``); ``first``: only the list's first rows (the
    bench writes 10,000 rows of a longer list)."""
    purge_expired_exports()
    claimed = PersonListExport.objects.filter(pk=export_id, status=ExportStatus.QUEUED).update(
        status=ExportStatus.RUNNING
    )
    export = PersonListExport.objects.select_related("organisation").get(pk=export_id)
    if not claimed:
        return export
    actor = _current_actor(export)
    if actor is None:
        return _fail(export, "access")
    stored = ""
    try:
        with translation.override(export.language), tempfile.TemporaryDirectory() as folder:
            form = PersonFilterForm(as_query(export.filters), canton=export.organisation.canton)
            if not form.is_valid():
                return _fail(export, "filter")
            person_filter = form.to_filter()
            ids = export_ids(actor, person_filter)[:first]
            if len(ids) > EXPORT_LIMIT:
                return _fail(export, "limit")
            log_security_event(
                "person_list_export",
                user=actor.user,
                organisation_id=actor.organisation_id,
                format=export.format,
                filters=export.filters,
                export=str(export.pk),
            )
            export.rows_total = len(ids)
            PersonListExport.objects.filter(pk=export.pk).update(rows_total=export.rows_total)
            path = os.path.join(folder, f"export.{export.format}")
            writer = WRITERS[export.format](path, form.described(), timezone.localtime())
            written = 0
            read_path = reverse("person_list_export_detail", args=[export.pk])
            try:
                for rows in export_batches(
                    actor, person_filter, ids, path=read_path, batch=batch or EXPORT_BATCH
                ):
                    writer.write(rows)
                    written += len(rows)
                    # its own short transaction: the progress page sees it at once
                    PersonListExport.objects.filter(pk=export.pk).update(rows_written=written)
            except BaseException:
                writer.discard()
                raise
            writer.close()
            sha256, size = _digest(path)
            with open(path, "rb") as handle:
                stored = export_storage().save(
                    f"{FOLDER}/{export.pk.hex}.{export.format}", File(handle)
                )
        with transaction.atomic():
            done = PersonListExport.objects.filter(pk=export.pk, status=ExportStatus.RUNNING)
            finished = done.update(
                status=ExportStatus.DONE,
                rows_total=written,
                rows_written=written,
                file=stored,
                sha256=sha256,
                size=size,
                finished_at=timezone.now(),
            )
        if not finished:  # expired or deleted meanwhile: the file is not kept
            export_storage().delete(stored)
    except Exception:
        logger.exception("person-list export %s failed", export.pk)
        if stored:
            export_storage().delete(stored)
        return _fail(export, "error")
    return PersonListExport.objects.filter(pk=export.pk).first() or export


def purge_expired_exports(now: datetime.datetime | None = None) -> int:
    """Mark expired every export finished more than ``EXPORT_HOURS`` hours ago (or asked for
    that long ago and never finished: a job stuck that long) and delete its file. Idempotent;
    the number of exports expired."""
    before = (now or timezone.now()) - datetime.timedelta(hours=EXPORT_HOURS)
    due = list(
        # created before ``before`` too (the partial index on the live exports' creation)
        PersonListExport.objects.filter(created_at__lt=before)
        .filter(Q(finished_at__lt=before) | Q(finished_at__isnull=True))
        .exclude(status=ExportStatus.EXPIRED)
        .values_list("pk", "file")
    )
    storage = export_storage()
    for pk, name in due:
        if name:
            storage.delete(name)
        PersonListExport.objects.filter(pk=pk).update(
            status=ExportStatus.EXPIRED, file="", error=""
        )
    return len(due)
