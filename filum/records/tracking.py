"""The audit of writes (X2, R29): one decorator for every domain model.

Database triggers record each insert, update and delete (raw SQL and bulk updates included)
with the request context (user, organisation, URL) set by ``AuditContextMiddleware``.
"""

from __future__ import annotations

from typing import Any

import pghistory
from django.db import models


def audited(*, history_of: str | None = None, **kwargs: Any) -> Any:
    """``history_of``: the event field that names the dossier (``"case"``) or, for the
    dossier and its client themselves, ``"pgh_obj"``. Such event tables are part of a
    dossier's audit (``filum.records.audit``), which pages them newest first by keyset and
    compares each event with the object's previous one: both need an index (U4)."""
    if history_of is not None:
        kwargs["meta"] = {
            **kwargs.get("meta", {}),
            "indexes": [
                models.Index(fields=[history_of, "-pgh_created_at", "-pgh_id"]),
                models.Index(fields=["pgh_obj", "pgh_id"]),
            ],
        }
    # inserts are recorded by one statement-level trigger: one INSERT ... SELECT of the
    # statement's rows (its transition table) into the event table, the context attached once
    # (decision 0038); updates and deletes stay row-level
    return pghistory.track(
        pghistory.InsertEvent(level=pghistory.Statement),
        pghistory.UpdateEvent(),
        pghistory.DeleteEvent(),
        **kwargs,
    )
