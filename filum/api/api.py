"""The API object: version 1 under ``/api/v1/``, its OpenAPI schema and docs, its errors.

The schema (``/api/openapi.json``) and the interactive docs (``/api/docs``, Swagger UI served
from the app's own static files, no CDN, no inline script) need a signed-in session (R39);
the operations need a token and nothing else."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_not_required
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import URLPattern, URLResolver
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError

from filum.api import transfers
from filum.api.endpoints import router
from filum.api.problems import PROBLEM_TYPE, Problem, problem_response
from filum.tenancy.policy import account_view

DESCRIPTION = """Filum's REST API for the systems of an organisation (decision 0028).

Authenticate with `Authorization: Bearer <token>`; the organisation's super-user makes tokens
with scopes under Organisation → API tokens. A token reads what its organisation may read and
writes journal entries and its dossier transfers only; forbidden and missing objects answer
the same 404. Lists are pages: pass `next_cursor` back as `cursor`. Errors are RFC 9457
problem details; a step an object's state refuses (an offer already decided) is a 409."""


class FilumApi(NinjaAPI):
    def get_root_path(self, path_params: dict[str, Any]) -> str:
        """The API's root (ninja's redirect to the docs is not mounted)."""
        return "/api/"

    def get_openapi_schema(self, *args: Any, **kwargs: Any) -> Any:
        """Ninja's schema, with the errors typed ``application/problem+json`` as they are
        sent."""
        schema = super().get_openapi_schema(*args, **kwargs)
        for operations in schema.get("paths", {}).values():
            for operation in operations.values():
                for code, answer in operation.get("responses", {}).items():
                    content = answer.get("content", {})
                    if int(code) >= 400 and "application/json" in content:
                        answer["content"] = {PROBLEM_TYPE: content["application/json"]}
        return schema


api = FilumApi(
    title="Filum API",
    version="1",
    description=DESCRIPTION,
    urls_namespace="api",
    openapi_url="/openapi.json",
    docs_url="/docs",
    docs_decorator=account_view,
)
api.add_router("/v1/", router)
api.add_router("/v1/", transfers.router)


@api.exception_handler(Problem)
def _problem(request: HttpRequest, exc: Problem) -> HttpResponse:
    return problem_response(request, exc)


@api.exception_handler(AuthenticationError)
def _unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return problem_response(
        request,
        Problem(
            401,
            "A valid API token is needed: Authorization: Bearer <token>.",
            kind="unauthenticated",
            headers={"WWW-Authenticate": 'Bearer realm="filum"'},
        ),
    )


@api.exception_handler(ValidationError)
def _invalid(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    errors = [
        {
            "loc": list(error.get("loc", ())),
            "msg": str(error.get("msg", "")),
            "type": error.get("type", ""),
        }
        for error in exc.errors
    ]
    return problem_response(
        request, Problem(422, "The request is not valid.", kind="invalid-input", errors=errors)
    )


@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    status = exc.status_code
    if status == 400:  # ninja: a body that is no JSON at all
        return problem_response(
            request,
            Problem(422, "The request body is not valid JSON.", kind="invalid-input", errors=[]),
        )
    return problem_response(request, Problem(status, str(exc)))


@api.exception_handler(Http404)
def _not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return problem_response(request, Problem(404, "Not found."))


def _operation_views(patterns: list[Any]) -> list[Any]:
    """The operations answer tokens, not sessions: they are let past the sign-in redirect
    (``login_not_required``) and marked for the access matrix (``filum_action = "api"``). The
    schema and docs keep needing a session. Ninja's root redirect is left out."""
    kept: list[URLPattern | URLResolver] = []
    for entry in patterns:
        if entry.name == "api-root":
            continue
        if entry.name not in ("openapi-json", "openapi-view"):
            entry.callback.filum_action = "api"
            login_not_required(entry.callback)
        kept.append(entry)
    return kept


def urls() -> tuple[list[Any], str, str]:
    patterns, app_name, namespace = api.urls
    return _operation_views(list(patterns)), app_name, namespace
