"""The dossier list's rows written in Python (U4, decision 0015, "Per-request CPU").

A page of 25 rows as Django template nodes was a third of the list's Python time. The markup
is that of the loop the page had (``tests/test_rendering.py`` renders both and compares them),
with the same translation and every value escaped.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from django.urls import reverse
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext

from filum.cases.models import Case, CaseStatus

# stands for a dossier's id in the URL reversed once per page
_MARK = uuid.UUID("00000000-0000-4000-8000-000000000000")


def dossier_rows(rows: Sequence[Case], scope: str) -> SafeString:
    """The ``<tr>`` of each dossier of the list page, in the order given."""
    detail = reverse("case_detail", args=[_MARK])
    mark = str(_MARK)
    not_shared = gettext("Further core data not shared with your organisation")
    parts: list[str] = []
    for row in rows:
        client = row.client
        parts.append(
            f'<tr><td class="nowrap"><a href="{escape(detail.replace(mark, str(row.pk)))}">'
            f"{escape(row.reference)}</a>"
        )
        if row.status == CaseStatus.CLOSED:
            parts.append(
                f' <span class="badge badge--closed">{escape(row.get_status_display())}</span>'
            )
        # a share always identifies the person it concerns (name, birth date)
        parts.append(f"</td><td>{escape(client.last_name)} {escape(client.first_name)}")
        if client.birth_date:
            parts.append(f'<br><span class="muted">{escape(client.birth_date_display)}</span>')
        parts.append("</td>")
        if getattr(row, "core_visible", False):
            responsible = escape(row.responsible) if row.responsible is not None else "—"
            stage = escape(row.get_stage_display())
            opened = row.opened_on.strftime("%d.%m.%Y") if row.opened_on else ""
            parts.append(
                f"<td>{escape(row.get_domain_display())}</td>"
                f'<td><span class="badge badge--stage">{stage}</span></td>'
                f'<td>{responsible}</td><td class="nowrap">{opened}</td>'
            )
        else:
            parts.append(f'<td colspan="4" class="muted">{not_shared}</td>')
        if scope == "shared":
            parts.append(f"<td>{escape(row.owner)}</td>")
        parts.append("</tr>")
    return mark_safe("".join(parts))  # noqa: S308 (every value above is escaped)
