"""`migrate` as the owner of the tables (R28): the app's own role may not change the schema.

Everything else is Django's migrate; the switch happens only when FILUM_DB_OWNER_URL is set.
"""

from __future__ import annotations

from typing import Any

from django.core.management.commands.migrate import Command as MigrateCommand

from filum.records.roles import as_owner


class Command(MigrateCommand):
    @as_owner
    def handle(self, *args: Any, **options: Any) -> None:
        super().handle(*args, **options)
