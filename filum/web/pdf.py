"""Printable documents: a Django template rendered to PDF with WeasyPrint (A4, U2).

One helper for every app that prints (assessments, plans, extracts). The HTML is rendered
with the request (the reader's language); the print stylesheet is ``web/print.css`` beside
the templates. WeasyPrint fetches nothing from outside: only ``data:`` URLs are allowed, so a
printed page cannot reach the network or the file system, whatever the data contain.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.utils.http import content_disposition_header

PRINT_CSS = "web/print.css"


def render_pdf(request: HttpRequest | None, template_name: str, context: dict[str, Any]) -> bytes:
    """The PDF of a template; without a request (a management command) in the active
    language."""
    import weasyprint  # imported on use: it loads Pango and fonts, which most requests never need
    from weasyprint.urls import URLFetcher

    html = render_to_string(template_name, context, request=request)
    fetcher = URLFetcher(allowed_protocols=["data"])
    css = weasyprint.CSS(string=render_to_string(PRINT_CSS), url_fetcher=fetcher)
    document = weasyprint.HTML(string=html, base_url="data:,", url_fetcher=fetcher)
    return bytes(document.write_pdf(stylesheets=[css]))


def pdf_response(
    request: HttpRequest, template_name: str, context: dict[str, Any], *, filename: str
) -> HttpResponse:
    """The PDF shown in the browser (inline, to print or save), with a file name, never
    cached."""
    response = HttpResponse(
        render_pdf(request, template_name, context), content_type="application/pdf"
    )
    response["Content-Disposition"] = content_disposition_header(False, filename) or "inline"
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "no-store"  # a dossier's content: never kept by a cache
    return response
