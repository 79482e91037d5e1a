"""The person list's rows written in Python (U4, decisions 0015 and 0034).

A page of 50 persons with their dossiers as Django template nodes was a third of the list's
time with three filters at the largest service. The markup is that of the loop the page had
(``tests/test_rendering.py`` renders both and compares them), every value escaped.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from django.urls import reverse
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from filum.steering.person_lists import PersonRow

# stands for a dossier's id in the URL reversed once per page
_MARK = uuid.UUID("00000000-0000-4000-8000-000000000000")
_NONE = "—"


def person_rows(rows: Sequence[PersonRow]) -> SafeString:
    """The ``<tr>`` of each person of the list page, in the order given."""
    detail = reverse("case_detail", args=[_MARK])
    mark = str(_MARK)
    parts: list[str] = []
    for row in rows:
        person = row.person
        parts.append(f"<tr><td>{escape(person.last_name)} {escape(person.first_name)}")
        if person.birth_date:
            parts.append(f'<br><span class="muted">{escape(person.birth_date_display)}</span>')
        age = _NONE if row.age is None else row.age
        stay = _NONE if row.stay_years is None else row.stay_years
        status = escape(person.get_residence_status_display()) or _NONE
        level = escape(row.level.upper()) or _NONE
        parts.append(f"</td><td>{age}</td><td>{status}</td><td>{stay}</td><td>{level}</td><td>")
        links = []
        for dossier in row.dossiers:
            segment = f" · {escape(dossier.segment_label)}" if dossier.segment else ""
            links.append(
                f'<a href="{escape(detail.replace(mark, str(dossier.case_id)))}">'
                f"{escape(dossier.reference)}</a> "
                f'<span class="muted">{escape(dossier.owner)} · {escape(dossier.stage_label)}'
                f"{segment}</span>"
            )
        parts.append("<br> ".join(links))
        parts.append("</td></tr>")
    return mark_safe("".join(parts))  # noqa: S308 (every value above is escaped)
