"""Labels of the access concept's codes (dossier sections, roles) in the reader's language.

Codes such as ``journal`` or ``section_head`` are stored; people read labels. Every page,
form and stored-text renderer asks these functions (templates through the ``section_label``,
``section_labels`` and ``role_label`` filters), so no code leaks into what users read.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from filum.tenancy.models import Role
from filum.tenancy.policy import Section

SECTION_LABELS: dict[str, Promise] = {
    Section.CORE: _("Core data"),
    Section.JOURNAL: _("Journal"),
    Section.ASSESSMENT: _("Assessment"),
    Section.PLAN: _("Plan"),
    Section.DOCUMENTS: _("Documents"),
    Section.FINANCES: _("Finances"),
}
SECTION_CHOICES: list[tuple[str, Promise]] = list(SECTION_LABELS.items())


def section_label(section: str) -> str:
    label = SECTION_LABELS.get(section)
    return str(label) if label is not None else section


def section_labels(sections: Iterable[str] | None) -> str:
    """Section codes as a readable, comma-separated text: "Journal, Plan"."""
    return ", ".join(section_label(s) for s in sections or [])


def role_label(role: str) -> str:
    if not role:
        return ""
    try:
        return str(Role(role).label)
    except ValueError:
        return role
