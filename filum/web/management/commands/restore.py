"""`manage.py restore FOLDER`: restore a backup into an empty database and documents folder,
then verify counts and checksums against its manifest (see filum/web/backup.py)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from filum.web import backup
from filum.web.probes import documents_folder


class Command(BaseCommand):
    help = (
        "Restore the backup in FOLDER into an empty database (created if missing) and an empty "
        "documents folder, then print each table's row count next to the manifest's and check "
        "the documents' checksums; exit 1 if anything differs. --verify only compares."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        backup.add_arguments(parser)
        parser.add_argument(
            "--force", action="store_true", help="replace what the database and folder hold"
        )
        parser.add_argument(
            "--verify", action="store_true", help="restore nothing, only compare with FOLDER"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        folder = options["folder"].resolve()
        server = backup.configured_server(options["database_url"])
        documents = options["documents_dir"] or documents_folder()
        if options["verify"]:
            manifest = backup.read_manifest(folder)
            backup.check_backup(folder, manifest)
            backup.verify(manifest, server=server, documents=documents, say=self.stdout.write)
            return
        backup.restore(
            folder,
            server=server,
            documents=documents,
            force=options["force"],
            say=self.stdout.write,
        )
