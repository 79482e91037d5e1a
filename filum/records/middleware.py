"""Attach the acting user and organisation to every write captured by the audit triggers."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from pghistory.middleware import HistoryMiddleware


class AuditContextMiddleware(HistoryMiddleware):
    def get_context(self, request: HttpRequest) -> dict[str, Any]:
        context = super().get_context(request)
        actor = getattr(request, "actor", None)
        if actor is not None:
            context["organisation"] = actor.organisation_id
            context["role"] = actor.role
        return context
