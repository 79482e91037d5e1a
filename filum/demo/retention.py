"""Retention in the demo (M3, decision 0036): in Bienne (French) and Thun (German), a dossier
closed eleven years ago, offered to the archive and waiting for its receipt, one of the same
age under legal hold, and one the archive took (its receipt recorded) and the super-user
disposed of (only its disposal record is left)."""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING

from filum.cases.models import Case, ClosureReason
from filum.dates import add_months
from filum.people.models import Person
from filum.records.archive import write_package
from filum.records.receipts import record_receipt
from filum.records.retention import dispose, due_dossiers
from filum.records.retention_models import ArchiveDecision, ArchiveOffer, LegalHold

if TYPE_CHECKING:
    from filum.demo.seed import SeedContext

# organisation key: (super-user login, waiting client, held client, title, hold reason,
# disposed client, the archive's reference of the package it took)
OLD_DOSSIERS = {
    "bienne": (
        "su.bienne",
        ("Rochat", "Denise", datetime.date(1948, 3, 12)),
        ("Girardin", "Paul", datetime.date(1951, 11, 2)),
        "Aide sociale économique",
        "Recours pendant devant le Tribunal administratif (remboursement de l'aide)",
        ("Vuilleumier", "Roger", datetime.date(1944, 5, 21)),
        "StABE BB 05.10.2015-0412",
    ),
    "thun": (
        "su.thun",
        ("Zürcher", "Hans", datetime.date(1946, 7, 30)),
        ("Aebischer", "Margrit", datetime.date(1950, 1, 18)),
        "Wirtschaftliche Sozialhilfe",
        "Rückerstattungsverfahren beim Regierungsstatthalteramt hängig",
        ("Schneiter", "Rosa", datetime.date(1945, 9, 3)),
        "StABE BB 05.10.2015-0977",
    ),
}
FEMALE = ("Denise", "Margrit", "Rosa")


def step_retention(ctx: SeedContext) -> None:
    closed_on = add_months(ctx.today, -12 * 11)
    for key, (login, waiting, held, title, reason, disposed, reference) in OLD_DOSSIERS.items():
        organisation = ctx.orgs[key]
        actor = ctx.actors[login]
        cases = {}
        for role, (last, first, birth) in (
            ("waiting", waiting),
            ("held", held),
            ("disposed", disposed),
        ):
            client = Person.objects.create(
                registered_by=organisation,
                last_name=last,
                first_name=first,
                birth_date=birth,
                sex="f" if first in FEMALE else "m",
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
        offers = {}
        for due in due_dossiers(organisation, ctx.today):
            if due.case.pk in (cases["waiting"].pk, cases["disposed"].pk):
                package = write_package(due.case)
                offers[due.case.pk] = ArchiveOffer.objects.create(
                    case=due.case,
                    owner=organisation,
                    rule=due.rule,
                    due_on=due.due_on,
                    package=package.path.name,
                    package_sha256=package.sha256,
                )
        # the archive took one package (its receipt names the checksum it received); the
        # super-user then approved the disposal of that dossier
        taken = offers[cases["disposed"].pk]
        record_receipt(
            taken,
            decision=ArchiveDecision.TAKEN,
            reference=reference,
            sha256=taken.package_sha256,
            entered_by=actor.user,
        )
        dispose(cases["disposed"].pk, approved_by=actor.user, today=ctx.today)
        ctx.counts["retention"] += 3
