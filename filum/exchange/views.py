"""The download of one dossier's delivery in the exchange format (issue 9 item 5)."""

from __future__ import annotations

import tempfile
import uuid
from pathlib import Path

from django.http import FileResponse, HttpResponse, HttpResponseNotAllowed

from filum.cases.permissions import get_case_for_actor, record_reads
from filum.exchange.export import export_case
from filum.records.models import ReadKind
from filum.records.services import refuse
from filum.tenancy.policy import SECTIONS, ActorRequest, Section, requires


@requires("case.export")
def case_export(request: ActorRequest, case_id: uuid.UUID) -> HttpResponse:
    """The dossier with everything it holds as a zip delivery, logged as an export of every
    section. Only the dossier's own organisation exports it (``case.export``); the zip is
    written to a temporary folder, streamed, and removed with the response."""
    access = get_case_for_actor(request=request, case_id=case_id, need=Section.CORE)
    if not access.may("case.export"):
        refuse(request, "case", access.case.pk, owner_id=access.case.owner_id)
    if request.method != "GET":
        return HttpResponseNotAllowed(["GET"])
    spool = tempfile.TemporaryDirectory()
    target = Path(spool.name) / "delivery.zip"
    export_case(access.case, target)
    record_reads(request, access, SECTIONS, kind=ReadKind.EXPORT)
    response = FileResponse(
        target.open("rb"),
        as_attachment=True,
        filename=f"dossier-{access.case.number}.zip",
        content_type="application/zip",
    )
    response._resource_closers.append(spool.cleanup)
    return response
