"""The journal's entries written in Python (U4, decision 0015, "Per-request CPU").

The journal page shows up to 50 entries; as an included loop of Django template nodes they
were most of the page's Python time (8 ms of 11 for a full page). The markup is that of the
loop the page had (``tests/test_rendering.py`` renders both and compares them), with the same
translations (the same message ids, inserted as the template's ``translate`` inserts them:
unescaped, they are ours) and every value escaped.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from django.urls import reverse
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext, ngettext

from filum.journal.models import Contact
from filum.web.templatetags.filum import when

# stands for a contact's id (an integer) in a URL reversed once per page
_MARK = 918273645546372819


def _badge(contact: Contact) -> str:
    if contact.is_partner_entry:
        return (
            f'<span class="badge badge--nocontact">{gettext("partner entry, not counted")}</span>'
        )
    if not contact.counts:
        return f'<span class="badge badge--nocontact">{gettext("no contact")}</span>'
    if contact.is_face_to_face:
        return f'<span class="badge badge--f2f">{gettext("face to face")}</span>'
    return f'<span class="badge badge--remote">{gettext("other contact")}</span>'


def journal_entries(contacts: Sequence[Contact], case_id: uuid.UUID, can_write: bool) -> SafeString:
    """The ``<li>`` of each entry of the journal page, newest first as given."""
    history = reverse("contact_history", args=[case_id, _MARK])
    correct = reverse("contact_correct", args=[case_id, _MARK])
    mark = str(_MARK)
    corrected = gettext("corrected")
    previous = gettext("show the previous versions")
    topic_label = gettext("Topic")
    participants_label = gettext("Participants")
    correct_label = gettext("Correct")
    parts: list[str] = []
    for contact in contacts:
        pk = str(contact.pk)
        kind = escape(contact.get_kind_display())
        parts.append(
            f'<li id="contact-{pk}"><div class="journal__head"><span class="journal__date">'
        )
        parts.append(when(contact.recorded_at, contact.date, day_only=True))
        parts.append(f"</span> <strong>{kind}</strong> {_badge(contact)}")
        if contact.supersedes_id:
            parts.append(
                f' <a class="badge badge--corrected" href="{escape(history.replace(mark, pk))}">'
                f'{corrected}<span class="visually-hidden"> – {previous}</span></a>'
            )
        parts.append(
            f'</div><div class="journal__meta">{topic_label}: {escape(contact.topic.name)}'
        )
        if contact.duration_minutes:
            minutes = contact.duration_minutes
            text = ngettext("%(minutes)s minute", "%(minutes)s minutes", minutes) % {
                "minutes": minutes
            }
            parts.append(f" · {text}")
        if contact.participants:
            parts.append(f" · {participants_label}: {escape(contact.participants)}")
        parts.append(f" · {escape(contact.recorded_by)}")
        if contact.is_partner_entry:
            parts.append(f" ({escape(contact.author_organisation)})")
        parts.append("</div>")
        if contact.note:
            parts.append(f'<p class="journal__note">{escape(contact.note)}</p>')
        if can_write:
            parts.append(
                f'<div class="journal__actions"><a href="{escape(correct.replace(mark, pk))}">'
                f'{correct_label}<span class="visually-hidden"> – '
                f"{contact.date.strftime('%d.%m.%Y')}, {kind}</span></a></div>"
            )
        parts.append("</li>")
    return mark_safe("".join(parts))  # noqa: S308 (every value above is escaped)
