"""Headers that every response carries (R31, R40)."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse


class SecurityHeadersMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.headers.setdefault(
            "Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()"
        )
        signed_in = request.user.is_authenticated or request.path.startswith("/api/")
        if signed_in and not request.path.startswith("/static/"):
            # Personal data must not stay in browser or proxy caches (the API: a token, not a
            # session, signs its requests in).
            response.headers["Cache-Control"] = "no-store"
        return response
