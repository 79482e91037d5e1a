"""Printable PDFs from templates with WeasyPrint (plans, assessments, letters).

The HTML is rendered in the reader's language like any page; the print stylesheet comes from
the static files. WeasyPrint fetches nothing: a template that names an outside resource gets
none, so no request leaves the server while a document is made."""

from __future__ import annotations

from typing import Any

from django.contrib.staticfiles import finders
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.utils.http import content_disposition_header

PRINT_CSS = "filum/print.css"


def _fetch_nothing(url: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
    raise ValueError(f"PDFs load no resources ({url[:80]})")


def render_pdf_bytes(request: HttpRequest, template_name: str, context: dict[str, Any]) -> bytes:
    from weasyprint import CSS, HTML  # imported on use: it loads Pango and fonts

    html = render_to_string(template_name, context, request=request)
    stylesheet = finders.find(PRINT_CSS)
    stylesheets = [CSS(filename=stylesheet)] if isinstance(stylesheet, str) else []
    document = HTML(string=html, url_fetcher=_fetch_nothing)
    pdf: bytes = document.write_pdf(stylesheets=stylesheets)
    return pdf


def pdf_response(
    request: HttpRequest, template_name: str, context: dict[str, Any], *, filename: str
) -> HttpResponse:
    """The PDF of a template, shown in the browser (to print or save), never cached."""
    response = HttpResponse(
        render_pdf_bytes(request, template_name, context), content_type="application/pdf"
    )
    response["Content-Disposition"] = content_disposition_header(False, filename) or "inline"
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "no-store"
    return response
