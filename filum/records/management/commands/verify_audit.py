"""Check the hash chains of the audit tables (R28) and record the outcome for the DPO page."""

from __future__ import annotations

import json
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, transaction

from filum.batch import batch_job
from filum.records.chain import verify
from filum.records.models import AuditVerification


class Command(BaseCommand):
    help = (
        "Recompute the hash chain of every audit table (change events, their contexts, each "
        "monthly read-log partition, security events) inside the database and check each "
        "row's hash, its link to the row before and its position; check that the chain heads "
        "recorded by the last intact run are still there. Prints 'intact' with the number of "
        "rows checked, or the first broken link of each broken chain (table, row id, what is "
        "wrong) and exits with status 1. Every run is recorded (shown on the DPO page)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--heads",
            action="store_true",
            help="also print each chain's head (position and hash) as JSON, to keep elsewhere",
        )

    @batch_job
    def handle(self, *args: Any, heads: bool, **options: Any) -> None:
        last_intact = AuditVerification.objects.filter(intact=True).first()
        started = time.monotonic()
        checkpoints = last_intact.heads if last_intact else {}
        fresh = not connection.in_atomic_block  # inside a test's transaction: no new snapshot
        with transaction.atomic():
            result = verify(connection, checkpoints=checkpoints, snapshot=fresh)
        broken = result.broken
        first = broken[0] if broken else None
        AuditVerification.objects.create(
            started_at=result.started_at,
            intact=not broken,
            rows_checked=result.rows,
            chains=len(result.results),
            broken_table=first.relation if first else "",
            broken_row=first.broken_row[:64] if first else "",
            problem=first.problem if first else "",
            position=first.position if first else None,
            heads={r.relation: list(r.head) for r in result.results if r.head},
        )
        for note in result.notes:
            self.stdout.write(note)
        if heads:
            self.stdout.write(json.dumps({r.relation: r.head for r in result.results if r.head}))
        seconds = time.monotonic() - started
        if broken:
            for chain in broken:
                self.stderr.write(
                    f"BROKEN {chain.relation} row {chain.broken_row}: {chain.message}"
                )
            raise CommandError(
                f"{len(broken)} of {len(result.results)} audit chains broken "
                f"({result.rows} rows checked in {seconds:.1f}s)"
            )
        self.stdout.write(
            f"intact: {result.rows} rows checked in {len(result.results)} chains ({seconds:.1f}s)"
        )
