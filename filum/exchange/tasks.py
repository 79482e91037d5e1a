"""The import started from the platform administrator's page runs in the task worker."""

from __future__ import annotations

from django_tasks import task

from filum.exchange.importer import import_delivery
from filum.exchange.uploads import remove_upload_at
from filum.tenancy.models import Organisation, User


@task()
def run_import(path: str, organisation_id: int, user_id: int | None) -> bool:
    """Import an uploaded delivery; its ``ImportRun`` shows the progress. True when done."""
    by = User.objects.filter(pk=user_id).first() if user_id is not None else None
    organisation = Organisation.objects.get(pk=organisation_id)
    ok = import_delivery(path, by=by, organisation=organisation).report.ok
    # the run ended (done, or refused by its dry run): the upload's personal data goes; a
    # run that raised keeps it until ``purge_uploads``
    remove_upload_at(path)
    return ok
