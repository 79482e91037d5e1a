"""Evaluate the case steering rules for every open dossier and create the due tasks."""

from __future__ import annotations

import datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from filum.batch import batch_job
from filum.followup.digest import enqueue_task_digests
from filum.followup.nightly import run_nightly_rules


class Command(BaseCommand):
    help = (
        "Evaluate every open dossier as of a date (default: today) against the norm rules kept "
        "in the NormRule table and create the tasks they call for: 'no_contact' when the "
        "contact norm of the segment (A 4-6 interviews per semester, B 3-5 and C 1-3 per year, "
        "80%% face to face in A, B and Intake 2, 100%% in C) is missed; 'review_due' from 30 "
        "days before a segment's time limit (A 6, B 24, C 36 months after entry); "
        "'decision_due' from 30 days before the final segment decision is due (3 months after "
        "receipt in counselling); 'intake_overdue' from 30 days before the time limit of "
        "Intake 1 (3 months, short-term advances) or Intake 2 (6 months). Tasks go to the "
        "responsible worker, or to the section heads when there is none. Idempotent: each task "
        "has a key (kind and deadline) unique per dossier, so a second run creates nothing; rule "
        "tasks whose condition has gone are marked done. Prints a summary."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--as-of", help="evaluate as of this date (YYYY-MM-DD)")
        parser.add_argument("--chunk-size", type=int, default=5000)
        parser.add_argument(
            "--no-digest", action="store_true", help="do not queue the optional e-mail digests"
        )

    @batch_job
    def handle(self, *args: Any, **options: Any) -> None:
        as_of = timezone.localdate()
        if options["as_of"]:
            try:
                as_of = datetime.date.fromisoformat(options["as_of"])
            except ValueError as exc:
                raise CommandError("--as-of must be a date YYYY-MM-DD") from exc
        summary = run_nightly_rules(as_of=as_of, chunk_size=options["chunk_size"])
        digests = 0 if options["no_digest"] else enqueue_task_digests(as_of=as_of)
        created = ", ".join(f"{kind} {n}" for kind, n in sorted(summary.created.items())) or "-"
        lights = ", ".join(f"{level} {n}" for level, n in sorted(summary.lights.items())) or "-"
        self.stdout.write(
            f"nightly rules as of {as_of:%Y-%m-%d}: {summary.cases} open dossiers evaluated in "
            f"{summary.seconds:.1f} s\n"
            f"  tasks created: {summary.created_total} ({created})\n"
            f"  rule tasks resolved: {summary.resolved}\n"
            f"  lights: {lights}\n"
            f"  e-mail digests queued: {digests}"
        )
