"""The demo person for the subject access export (decision 0037).

The client of Bienne's first dossier also had an earlier dossier in Bienne (closed: employment)
and now has one in Thun, where they moved (Thun's alone, not shared with Bienne). Their dossiers
in Bienne carry a realistic read history: the worker's visits, the section head's check and
the data protection officer's audit. Bienne's DPO (``dpo.bienne``) or section head
(``rs.bienne``) exports it: both Bienne dossiers, not Thun's; Thun's DPO (``dpo.thun``, in
German) exports Thun's dossier alone."""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING

from django.utils import timezone

from filum.cases import services as case_services
from filum.cases.models import ClosureReason, Domain
from filum.records.models import ReadKind, ReadLog
from filum.tenancy.policy import SECTIONS

if TYPE_CHECKING:
    from filum.demo.seed import SeedContext

# (login, days ago, sections read, kind): the history of the person's current dossier
READS: tuple[tuple[str, int, tuple[str, ...], str], ...] = (
    ("as.bienne", 200, tuple(SECTIONS), ReadKind.VIEW),
    ("as.bienne", 120, ("journal", "core"), ReadKind.VIEW),
    ("as.bienne", 45, tuple(SECTIONS), ReadKind.VIEW),
    ("rs.bienne", 30, ("core", "plan"), ReadKind.VIEW),
    ("as.bienne", 9, ("journal", "core"), ReadKind.VIEW),
    ("dpo.bienne", 3, tuple(SECTIONS), ReadKind.AUDIT),
)


def step_subject_access(ctx: SeedContext) -> None:
    bienne = ctx.orgs["bienne"]
    current = min((c for c in ctx.cases if c.owner_id == bienne.pk), key=lambda c: c.number)
    person = current.client
    worker = ctx.actors["as.bienne"]
    earlier = case_services.do_open_case(
        actor=worker,
        client=person,
        domain=Domain.ECONOMIC_AID,
        opened_on=ctx.today - datetime.timedelta(days=6 * 365),
        responsible=worker.user,
        title="Aide matérielle (première demande)",
    )
    case_services.do_close_case(
        actor=worker,
        case=earlier,
        closed_on=ctx.today - datetime.timedelta(days=5 * 365),
        reason=ClosureReason.EMPLOYMENT,
    )
    moved = case_services.do_open_case(
        actor=ctx.actors["sa.thun"],
        client=person,
        domain=Domain.ECONOMIC_AID,
        opened_on=ctx.today - datetime.timedelta(days=20),
        responsible=ctx.actors["sa.thun"].user,
        title="Wirtschaftliche Hilfe nach Umzug",
    )
    ctx.cases += [earlier, moved]
    now = timezone.now()
    rows = [
        ReadLog(
            at=now - datetime.timedelta(days=days, hours=index),
            user_id=ctx.actors[login].user.pk,
            organisation_id=ctx.actors[login].organisation_id,
            case_id=current.pk,
            section=section,
            kind=kind,
            path=f"/cases/{current.pk}/",
        )
        for index, (login, days, sections, kind) in enumerate(READS)
        for section in sections
    ]
    rows.append(
        ReadLog(
            at=now - datetime.timedelta(days=5 * 365 + 10),
            user_id=worker.user.pk,
            organisation_id=bienne.pk,
            case_id=earlier.pk,
            section="core",
            kind=ReadKind.VIEW,
            path=f"/cases/{earlier.pk}/",
        )
    )
    ReadLog.objects.bulk_create(rows)
    ctx.counts["subject_access_reads"] += len(rows)
