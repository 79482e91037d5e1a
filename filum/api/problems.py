"""Errors as RFC 9457 problem details (``application/problem+json``) and opaque keyset cursors.

Every error the API answers is a problem object: ``type`` (a URI naming the kind of problem,
``about:blank`` for a plain HTTP status), ``title``, ``status``, ``detail`` and, for invalid
input, ``errors`` (where and what)."""

from __future__ import annotations

import base64
import json
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


def encode_cursor(key: list[Any]) -> str:
    """An opaque cursor: the page's last key, as URL-safe base64 of JSON."""
    raw = json.dumps(key, separators=(",", ":"), default=str).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None, kinds: tuple[type, ...]) -> list[Any] | None:
    """The key of a cursor made by ``encode_cursor`` for a list keyed by values of ``kinds``
    (str stands for dates and UUIDs, parsed by the caller); a 400 problem for anything else."""
    if not cursor:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        key = json.loads(raw)
    except ValueError as exc:
        raise Problem(400, "The cursor is not one this list gave.", kind="invalid-cursor") from exc
    if (
        not isinstance(key, list)
        or len(key) != len(kinds)
        or not all(type(value) is kind for value, kind in zip(key, kinds, strict=True))
        or any(type(value) is int and not 0 <= value < 2**63 for value in key)
    ):
        raise Problem(400, "The cursor is not one this list gave.", kind="invalid-cursor")
    return key
