"""The monthly SHS delivery (D6; decision 0035).

manage.py shs_delivery                  # the scheduler: the last ended month, where due
manage.py shs_delivery --month 2026-11  # that month, every social service
manage.py shs_delivery --month 2026-11 --organisation 12 --mapping-version 3
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.utils import timezone

from filum.steering import shs
from filum.steering.models import ShsMappingVersion
from filum.tenancy.models import Organisation


class Command(BaseCommand):
    help = "Make the monthly SHS delivery of the social services (a file per month and service)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--month", help="YYYY-MM; without it, the last ended month if due")
        parser.add_argument("--organisation", type=int, help="one service (its id)")
        parser.add_argument("--mapping-version", type=int, help="the mapping version to use")

    def handle(self, *args: Any, **options: Any) -> None:
        today = timezone.localdate()
        if not options["month"]:
            if options["organisation"] or options["mapping_version"]:
                raise CommandError("--organisation and --mapping-version need --month")
            for delivery in shs.deliver_due(today):
                self.report(delivery)
            return
        try:
            month = shs.parse_month(options["month"], today=today)
        except shs.ShsError as exc:
            raise CommandError(str(exc)) from exc
        organisations = shs.services()
        if options["organisation"]:
            organisations = Organisation.objects.filter(pk=options["organisation"])
            if not organisations.exists():
                raise CommandError(f"no organisation {options['organisation']}")
        with transaction.atomic():  # every service or none
            for organisation in organisations.order_by("pk"):
                self.deliver(organisation, month, options["mapping_version"])

    def deliver(self, organisation: Organisation, month: Any, number: int | None) -> None:
        version = None
        if number:
            version = ShsMappingVersion.objects.filter(
                canton=organisation.canton, number=number
            ).first()
            if version is None:
                raise CommandError(f"canton {organisation.canton} has no mapping version {number}")
        try:
            self.report(shs.deliver(organisation, month, version))
        except shs.ShsError as exc:
            raise CommandError(str(exc)) from exc

    def report(self, delivery: Any) -> None:
        self.stdout.write(
            f"{delivery.filename}: {delivery.dossiers} dossiers, {delivery.rows} rows, "
            f"{len(delivery.errors)} unmapped values"
        )
