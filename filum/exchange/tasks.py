"""The import started from the platform administrator's page runs in the task worker."""

from __future__ import annotations

from django_tasks import task

from filum.exchange.importer import import_delivery
from filum.tenancy.models import Organisation, User


@task()
def run_import(path: str, organisation_id: int, user_id: int | None) -> bool:
    """Import an uploaded delivery; its ``ImportRun`` shows the progress. True when done."""
    by = User.objects.filter(pk=user_id).first() if user_id is not None else None
    organisation = Organisation.objects.get(pk=organisation_id)
    return import_delivery(path, by=by, organisation=organisation).report.ok
