"""The download of one dossier's delivery in the exchange format (issue 9 item 5)."""

from __future__ import annotations

import tempfile
import uuid
from pathlib import Path

from django.http import FileResponse, HttpResponseNotAllowed
from django.http.response import HttpResponseBase

from filum.cases.permissions import get_case_for_actor, record_reads
from filum.exchange.export import export_case
from filum.records.models import ReadKind
from filum.records.services import refuse
from filum.tenancy.policy import SECTIONS, ActorRequest, Section, requires


@requires("case.export")
def case_export(request: ActorRequest, case_id: uuid.UUID) -> HttpResponseBase:
    """The dossier with everything it holds as a zip delivery, logged as an export of every
    section. Only the dossier's own organisation exports it (``case.export``); the zip is
    written to a temporary file and streamed."""
    access = get_case_for_actor(request=request, case_id=case_id, need=Section.CORE)
    if not access.may("case.export"):
        refuse(request, "case", access.case.pk, owner_id=access.case.owner_id)
    if request.method != "GET":
        return HttpResponseNotAllowed(["GET"])
    with tempfile.TemporaryDirectory() as spool:
        target = Path(spool) / "delivery.zip"
        export_case(access.case, target)
        # the open file outlives its folder's removal: nothing stays behind on the disk
        stream = target.open("rb")
    record_reads(request, access, SECTIONS, kind=ReadKind.EXPORT)
    return FileResponse(
        stream,
        as_attachment=True,
        filename=f"dossier-{access.case.number}.zip",
        content_type="application/zip",
    )
