"""Template filters for the UI shell.

Templates cannot pass arguments to methods, so these filters let a template ask the access
policy the same questions a view asks: ``{% if actor|may:"case.list" %}``,
``{% if access|can_write:"core" %}``. They only ask; they decide nothing themselves.
"""

from __future__ import annotations

import datetime
from typing import Any

from django import template
from django.forms import BoundField
from django.urls import get_script_prefix, reverse
from django.utils import timezone
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language, gettext
from django.utils.translation import gettext_lazy as _

from filum.cases.models import Stage
from filum.followup import texts
from filum.tenancy import labels
from filum.tenancy.middleware import memberships_of
from filum.tenancy.policy import Relation, is_allowed
from filum.web.once import token_input

register = template.Library()


@register.filter
def may(subject: Any, action: str) -> bool:
    """``actor|may:"case.list"`` or ``access|may:"share.manage"``; False without an actor."""
    if subject is None or not hasattr(subject, "may"):
        return False
    return bool(subject.may(action))


@register.filter
def can_read(access: Any, section: str) -> bool:
    return bool(access is not None and hasattr(access, "can_read") and access.can_read(section))


@register.filter
def can_write(access: Any, section: str) -> bool:
    return bool(access is not None and hasattr(access, "can_write") and access.can_write(section))


@register.filter
def section_label(section: str) -> str:
    return labels.section_label(section)


@register.filter
def section_labels(sections: Any) -> str:
    """A list of section codes as a readable, comma-separated text."""
    return labels.section_labels(sections)


@register.filter
def role_label(role: str) -> str:
    return labels.role_label(role)


@register.filter
def task_title(task: Any) -> str:
    """A task's title in the reader's language (system titles are stored as keys)."""
    return texts.task_title(task)


@register.filter
def task_description(task: Any) -> str:
    return texts.task_description(task)


@register.filter
def event_reason(event: Any) -> str:
    """The reason of a lifecycle event in the reader's language (typed reasons as typed)."""
    return texts.transition_reason(event)


# Lifecycle steps recorded by filum.cases.services (CaseTransition.kind).
EVENT_LABELS = {
    "opened": _("Dossier opened"),
    "closed": _("Dossier closed"),
    "transition": _("Stage changed"),
    "shared": _("Sections shared"),
    "share_revoked": _("Share revoked"),
    "consent_recorded": _("Consent recorded"),
    "consent_withdrawn": _("Consent withdrawn"),
    "transferred": _("Dossier transferred"),
    "handed_over": _("Dossier handed over to another service"),
    "intake_accepted": _("Request accepted, moved to Intake 2"),
    "short_term_advance": _("Short-term advance changed"),
    "exit_potential_recorded": _("Exit potential recorded"),
    "transferred_to_counselling": _("Transferred to counselling"),
    "segment_changed": _("Segment changed"),
    "segment_final_decided": _("Final segment decided"),
}

# Segment proposals are recorded as "segment_<kind>_<outcome>" (filum.followup.segments).
PROPOSAL_OUTCOME_LABELS = {
    "proposed": _("Segment proposed"),
    "confirmed": _("Segment proposal confirmed"),
    "rejected": _("Segment proposal rejected"),
}

# Audit event labels (pghistory's pgh_label).
CHANGE_LABELS = {
    "insert": _("created"),
    "update": _("changed"),
    "delete": _("deleted"),
}


@register.filter
def stage_label(stage: str) -> str:
    if not stage:
        return ""
    try:
        return str(Stage(stage).label)
    except ValueError:
        return stage


@register.filter
def event_label(kind: str) -> str:
    if kind in EVENT_LABELS:
        return str(EVENT_LABELS[kind])
    outcome = kind.rsplit("_", 1)[-1]
    if kind.startswith("segment_") and outcome in PROPOSAL_OUTCOME_LABELS:
        return str(PROPOSAL_OUTCOME_LABELS[outcome])
    return kind


@register.filter
def change_label(label: str) -> str:
    return str(CHANGE_LABELS.get(label, label))


@register.simple_tag
def when(
    recorded: datetime.datetime, effective: datetime.date | None = None, day_only: bool = False
) -> SafeString:
    """When something happened: the recording time or, for an entry back-dated to an earlier
    day, the day it took effect with the recording time in small print. ``day_only`` shows
    the day alone when it was not back-dated (a contact's time of day is not known).

    Written in Python rather than as an included template (U4: the journal shows it on every
    entry); the markup is that of the former ``web/_when.html``."""
    recorded_local = timezone.localtime(recorded)
    day = effective or recorded_local.date()
    # strftime/isoformat give what the date filter gives for these formats ("Y-m-d", "d.m.Y",
    # "d.m.Y H:i", "c"), at a fraction of its cost
    if effective is not None and effective != recorded_local.date():
        return format_html(
            '<time datetime="{}">{}</time> <small class="muted recorded">{}</small>',
            day.isoformat(),
            day.strftime("%d.%m.%Y"),
            gettext("recorded %(when)s") % {"when": recorded_local.strftime("%d.%m.%Y %H:%M")},
        )
    if day_only:
        return format_html(
            '<time datetime="{}">{}</time>', day.isoformat(), day.strftime("%d.%m.%Y")
        )
    return format_html(
        '<time datetime="{}">{}</time>',
        recorded_local.isoformat(),
        recorded_local.strftime("%d.%m.%Y %H:%M"),
    )


@register.simple_tag(takes_context=True)
def current_url_name(context: template.Context) -> str:
    request = context.get("request")
    match = getattr(request, "resolver_match", None)
    return (match.url_name or "") if match is not None else ""


@register.simple_tag(takes_context=True)
def user_memberships(context: template.Context) -> list[Any]:
    """The signed-in user's active memberships, for the switcher in the header: those that
    ``ActorMiddleware`` fetched, or one query kept on the request."""
    request = context.get("request")
    user = getattr(request, "user", None)
    if request is None or user is None or not user.is_authenticated:
        return []
    cached = getattr(request, "filum_memberships", None)
    if cached is None:
        cached = memberships_of(user)
        request.filum_memberships = cached
    return cached


@register.simple_tag
def widget(field: BoundField, **attrs: Any) -> SafeString:
    """Render a field's widget, pointing ``aria-describedby`` at its help text and errors
    (the ids that ``web/_form_fields.html`` gives them)."""
    described = []
    if field.help_text:
        described.append(f"{field.auto_id}_helptext")
    if field.errors:
        described.append(f"{field.auto_id}_errors")
    final = dict(attrs)
    if described:
        final["aria-describedby"] = " ".join(described)
    if field.errors:
        final["aria-invalid"] = "true"
    return field.as_widget(attrs=final)


@register.simple_tag
def field_row(field: BoundField, wide: bool = False) -> SafeString:
    """A form field with its label, widget, help text and errors (U4: written in Python, as
    the widgets' selects are; the markup of the former ``web/_field.html``, which
    ``tests/test_rendering.py`` keeps as the reference and compares)."""
    required = '<span class="required" aria-hidden="true">*</span>' if field.field.required else ""
    label = conditional_escape(field.label)
    parts = [f'<div class="field{" field--wide" if wide else ""}">']
    if field.use_fieldset:
        parts.append(f"<fieldset><legend>{label}{required}</legend>{widget(field)}</fieldset>")
    elif field.widget_type == "checkbox":
        parts.append(
            f'<label for="{conditional_escape(field.id_for_label)}">{widget(field)} {label}</label>'
        )
    else:
        parts.append(
            f'<label for="{conditional_escape(field.id_for_label)}">{label}{required}</label> '
            f"{widget(field)}"
        )
    if field.help_text:
        parts.append(
            f' <small id="{conditional_escape(field.auto_id)}_helptext">'
            f"{conditional_escape(field.help_text)}</small>"
        )
    if field.errors:
        errors = " ".join(conditional_escape(str(error)) for error in field.errors)
        parts.append(
            f' <small id="{conditional_escape(field.auto_id)}_errors" class="field-errors">'
            f"{errors}</small>"
        )
    parts.append("</div>")
    return mark_safe("".join(parts))  # noqa: S308 (every value above is escaped)


@register.simple_tag
def form_token() -> SafeString:
    """The hidden one-time token of a create form (see filum/web/once.py)."""
    return token_input()


# The header's main navigation (web/base.html): the action the role needs, the page, its label,
# and the pages that mark the item as the current one.
MAIN_MENU: tuple[tuple[str, str, Any, tuple[str, ...]], ...] = (
    ("case.list", "cockpit", _("Cockpit"), ("cockpit",)),
    ("cockpit.team", "cockpit_team", _("Team"), ("cockpit_team",)),
    ("integration.cockpit", "cockpit_integration", _("Integration"), ("cockpit_integration",)),
    ("person.list", "person_list", _("Person lists"), ("person_list",)),
    ("case.transfer_decide", "transfer_list", _("Transfers"), ("transfer_list",)),
    ("case.list", "case_list", _("Dossiers"), ("case_list", "case_detail")),
    ("task.manage", "task_list", _("Tasks"), ("task_list", "task_detail")),
    ("person.search", "person_search", _("Persons"), ("person_search", "person_detail")),
    ("catalogue.read", "catalogue", _("Catalogue"), ("catalogue", "programme_detail")),
    ("template.manage", "plan_templates", _("Plan templates"), ("plan_templates",)),
    ("template.manage", "milestone_rules", _("AIS milestones"), ("milestone_rules",)),
    ("org.manage_users", "members", _("Members"), ("members",)),
    ("records.dispose", "disposal_list", _("Retention"), ("disposal_list",)),
    ("cii.report", "cii_report", _("CII monitoring"), ("cii_report",)),
    ("steering.monitoring", "steering_monitoring", _("Monitoring"), ("steering_monitoring",)),
    ("shs.deliver", "shs_deliveries", _("SHS"), ("shs_deliveries",)),
    ("audit.read", "audit_find", _("Audit"), ("audit_find", "audit_case")),
    ("template.manage", "template_list", _("Templates"), ("template_list",)),
)
# (role, language, script prefix) -> each item of the role's menu: the pages that make it
# current, its HTML as the current page and otherwise. Built once per process (U4): the
# items depend on the role's rights (the policy matrix, fixed in the code) and the language.
_MENUS: dict[tuple[str, str, str], list[tuple[tuple[str, ...], SafeString, SafeString]]] = {}


@register.simple_tag(takes_context=True)
def main_menu(context: template.Context) -> SafeString:
    """The ``<li>`` items of the main navigation for the actor's role, the current page's
    marked with ``aria-current``. The same items the role's ``may`` answers would show."""
    actor = context.get("actor")
    if actor is None or not hasattr(actor, "role"):
        return SafeString("")
    key = (actor.role, get_language() or "", get_script_prefix())
    items = _MENUS.get(key)
    if items is None:
        items = []
        for action, name, label, pages in MAIN_MENU:
            if not is_allowed(actor.role, action, Relation.OWN_ORG):
                continue
            url, text = reverse(name), str(label)
            items.append(
                (
                    pages,
                    format_html('<li><a href="{}" aria-current="page">{}</a></li>', url, text),
                    format_html('<li><a href="{}">{}</a></li>', url, text),
                )
            )
        _MENUS[key] = items
    current = current_url_name(context)
    return mark_safe(  # noqa: S308 (items made by format_html)
        "\n".join(marked if current in pages else plain for pages, marked, plain in items)
    )
