"""The audit of writes (X2, R29): one decorator for every domain model.

Database triggers record each insert, update and delete (raw SQL and bulk updates included)
with the request context (user, organisation, URL) set by ``AuditContextMiddleware``.
"""

from __future__ import annotations

from typing import Any

import pghistory


def audited(**kwargs: Any) -> Any:
    return pghistory.track(
        pghistory.InsertEvent(), pghistory.UpdateEvent(), pghistory.DeleteEvent(), **kwargs
    )
