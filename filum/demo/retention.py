"""Retention in the demo (M3, decision 0036): in Bienne (French) and Thun (German), a dossier
closed eleven years ago, offered to the archive and waiting for the super-user's approval,
and one of the same age under legal hold."""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING

from filum.cases.models import Case, ClosureReason
from filum.dates import add_months
from filum.people.models import Person
from filum.records.archive import write_package
from filum.records.retention import due_dossiers
from filum.records.retention_models import ArchiveOffer, LegalHold

if TYPE_CHECKING:
    from filum.demo.seed import SeedContext

# organisation key: (super-user login, waiting client, held client, title, hold reason)
OLD_DOSSIERS = {
    "bienne": (
        "su.bienne",
        ("Rochat", "Denise", datetime.date(1948, 3, 12)),
        ("Girardin", "Paul", datetime.date(1951, 11, 2)),
        "Aide sociale économique",
        "Recours pendant devant le Tribunal administratif (remboursement de l'aide)",
    ),
    "thun": (
        "su.thun",
        ("Zürcher", "Hans", datetime.date(1946, 7, 30)),
        ("Aebischer", "Margrit", datetime.date(1950, 1, 18)),
        "Wirtschaftliche Sozialhilfe",
        "Rückerstattungsverfahren beim Regierungsstatthalteramt hängig",
    ),
}


def step_retention(ctx: SeedContext) -> None:
    closed_on = add_months(ctx.today, -12 * 11)
    for key, (login, waiting, held, title, reason) in OLD_DOSSIERS.items():
        organisation = ctx.orgs[key]
        actor = ctx.actors[login]
        cases = {}
        for role, (last, first, birth) in (("waiting", waiting), ("held", held)):
            client = Person.objects.create(
                registered_by=organisation,
                last_name=last,
                first_name=first,
                birth_date=birth,
                sex="f" if first in ("Denise", "Margrit") else "m",
                nationality="CH",
            )
            cases[role] = Case.objects.create(
                owner=organisation,
                domain="economic_aid",
                client=client,
                title=title,
                opened_on=add_months(closed_on, -30),
                status="closed",
                stage="closed",
                closed_on=closed_on,
                closure_reason=ClosureReason.SOCIAL_INSURANCE,
            )
        LegalHold.objects.create(case=cases["held"], reason=reason, set_by=actor.user)
        for due in due_dossiers(organisation, ctx.today):
            if due.case.pk == cases["waiting"].pk:
                package = write_package(due.case)
                ArchiveOffer.objects.create(
                    case=due.case,
                    owner=organisation,
                    rule=due.rule,
                    due_on=due.due_on,
                    package=package.path.name,
                    package_sha256=package.sha256,
                )
        ctx.counts["retention"] += 2
