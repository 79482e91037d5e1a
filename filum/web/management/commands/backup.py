"""`manage.py backup FOLDER`: database dump, documents and manifest (see filum/web/backup.py)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from filum.web import backup
from filum.web.probes import documents_folder


class Command(BaseCommand):
    help = (
        "Write a backup of the database and the documents into FOLDER (new or empty): "
        "database.dump (pg_dump -Fc), documents/ and manifest.json with versions, row counts "
        "and checksums. Uses the client tools of the server's PostgreSQL version."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        backup.add_arguments(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        backup.backup(
            options["folder"].resolve(),
            server=backup.configured_server(options["database_url"]),
            documents=options["documents_dir"] or documents_folder(),
            say=self.stdout.write,
        )
