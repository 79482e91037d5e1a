"""The subject access export on the ten-year volume (bench row, decision 0037): the JSON
export of the person with the most dossiers among the organisations with a data protection
officer, made by that officer through the page, streamed to the end. What an export writes
(its read-log rows, its security event) is rolled back: the export lists who read the
dossiers, and each run would otherwise grow the next (1,512 rows a bench)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from django.db import transaction
from django.db.models import Count
from django.test import Client
from django.urls import reverse

from filum.cases.models import Case
from filum.records.models import ReadLog
from filum.tenancy.models import Membership, Role


def busiest_subject() -> tuple[Membership, uuid.UUID, str] | None:
    """A DPO, the person of their organisation with the most dossiers, and a note saying how
    much the export holds; None without an organisation with a DPO and dossiers."""
    dpos = Membership.objects.active().filter(role=Role.DATA_PROTECTION_OFFICER)
    top = (
        Case.objects.filter(owner_id__in=dpos.values("organisation"))
        .values("owner_id", "client_id")
        .annotate(n=Count("pk"))
        .order_by("-n", "client_id")
        .first()
    )
    if top is None:
        return None
    dpo = dpos.filter(organisation_id=top["owner_id"]).select_related("user", "organisation")
    member = dpo.order_by("pk").first()
    if member is None:
        return None
    cases = Case.objects.filter(client_id=top["client_id"]).values("pk")
    reads = ReadLog.objects.filter(case_id__in=cases).count()
    note = (
        f"{member.user.username} ({member.organisation.name}); person with {top['n']} dossiers"
        f" and {reads:,} read-log rows, JSON streamed to the end"
    )
    return member, top["client_id"], note


def export_json(client: Client, person_id: uuid.UUID) -> int:
    """Make the export as the signed-in client and read it all, in a transaction rolled back
    afterwards; its length in bytes."""
    url = reverse("subject_access", args=[person_id])
    with transaction.atomic():
        response = client.post(url, {"format": "json", "language": "fr"})
        if response.status_code != 200:
            raise RuntimeError(f"POST {url} answered {response.status_code}")
        chunks: Iterable[bytes] = getattr(response, "streaming_content", ())
        length = sum(len(chunk) for chunk in chunks)
        transaction.set_rollback(True)
    return length
