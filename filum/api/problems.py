"""Errors as RFC 9457 problem details (``application/problem+json``).

Every error the API answers is a problem object: ``type`` (a URI naming the kind of problem,
``about:blank`` for a plain HTTP status), ``title``, ``status``, ``detail`` and, for invalid
input, ``errors`` (where and what)."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from django.http import HttpRequest, JsonResponse

PROBLEM_TYPE = "application/problem+json"
TYPE_BASE = "https://filum.invalid/problems/"


class Problem(Exception):
    """Raise to answer with a problem: ``kind`` names it (``invalid-cursor``), ``headers`` are
    added to the response (``Retry-After``, ``WWW-Authenticate``)."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        kind: str = "",
        errors: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.kind = kind
        self.errors = errors
        self.headers = headers or {}


def problem_response(request: HttpRequest, problem: Problem) -> JsonResponse:
    body: dict[str, Any] = {
        "type": f"{TYPE_BASE}{problem.kind}" if problem.kind else "about:blank",
        "title": HTTPStatus(problem.status).phrase,
        "status": problem.status,
        "detail": problem.detail,
        "instance": request.path,
    }
    if problem.errors is not None:
        body["errors"] = problem.errors
    response = JsonResponse(body, status=problem.status, content_type=PROBLEM_TYPE)
    for name, value in problem.headers.items():
        response[name] = value
    return response
