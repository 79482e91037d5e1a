"""Which database role does what (R28); see filum/dbroles.py and decision 0006.

The app connects as DATABASE_URL (the unprivileged app role). Commands that change the
schema or load data in bulk (migrate, seed_demo, bench) switch the connection to the owner
(settings.DATABASE_OWNER, from FILUM_DB_OWNER_URL) for their whole run. Without an owner URL
(tests, CI, a single-role development set-up) everything runs as DATABASE_URL's role.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.conf import settings
from django.db import connections

from filum.batch import command_connection

# the parts of a connection that make it another role; NAME stays (a test database's name)
_CREDENTIALS = ("USER", "PASSWORD", "HOST", "PORT")


@contextmanager
def owner_connection(alias: str = "default") -> Iterator[None]:
    """Run the block with `alias` connected as the owner, if an owner is configured."""
    owner: dict[str, Any] | None = getattr(settings, "DATABASE_OWNER", None)
    connection = connections[alias]
    if not owner or alias != "default":
        yield
        return
    saved = {key: connection.settings_dict.get(key) for key in _CREDENTIALS}
    connection.close()
    connection.settings_dict.update({key: owner.get(key, "") for key in _CREDENTIALS})
    try:
        yield
    finally:
        connection.close()
        connection.settings_dict.update(saved)


# decorates a management command's `handle`: run it connected as the owner
as_owner = command_connection(owner_connection)


def app_role() -> str:
    return str(settings.DB_APP_ROLE)
