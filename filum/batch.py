"""Batch jobs' database sessions (U4).

The app role's session defaults limit statements, lock waits and idle transactions for web
requests (``filum.dbroles.APP_ROLE_SETTINGS``, set after every migrate). Management commands
that run as the app role and may take longer (nightly rules, audit verification, the task
worker, ...) lift them with ``@batch_job``: their connections start with
``filum.dbroles.BATCH_OPTIONS`` (libpq start-up options, which cost no query).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any, TypeVar

from django.db import connections

from filum.dbroles import BATCH_OPTIONS

F = TypeVar("F", bound=Callable[..., Any])


@contextmanager
def batch_connections(alias: str = "default") -> Iterator[None]:
    """Run the block with `alias`'s connections (in every thread) free of the web requests'
    statement, lock and idle limits. Inside a transaction (a test) the connection stays as it
    is: it cannot be reopened there, and a test session never got the role's defaults."""
    connection = connections[alias]
    if connection.in_atomic_block:
        yield
        return
    options = connection.settings_dict.setdefault("OPTIONS", {})
    saved = options.get("options")
    connection.close()
    # the settings dict is shared by the connections of all threads (the task worker's)
    options["options"] = f"{saved} {BATCH_OPTIONS}" if saved else BATCH_OPTIONS
    try:
        yield
    finally:
        connection.close()
        if saved is None:
            options.pop("options", None)
        else:
            options["options"] = saved


def command_connection(
    context: Callable[[str], AbstractContextManager[None]],
) -> Callable[[F], F]:
    """A decorator for a management command's `handle`: run it inside `context(alias)`, the
    alias being the command's `--database` (default "default")."""

    def decorate(handle: F) -> F:
        @functools.wraps(handle)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with context(kwargs.get("database") or "default"):
                return handle(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate


# for a command that may run longer than a web request
batch_job = command_connection(batch_connections)
