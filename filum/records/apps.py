from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate


def seal_audit_tables(using: str, plan: Any = None, **kwargs: Any) -> None:
    """After every migrate (as the owner): chain and protect the audit tables, including
    event tables that other apps' migrations just made (R28)."""
    if plan is None:  # sent by flush (tests): emptied tables, schema and grants unchanged
        return
    from django.db import connections

    from filum.records.chain import seal

    seal(connections[using])


class RecordsConfig(AppConfig):
    name = "filum.records"
    label = "records"

    def ready(self) -> None:
        post_migrate.connect(seal_audit_tables, sender=self, dispatch_uid="filum.records.seal")
