"""The access policy: who may do what, as data.

Every protected view declares one action with ``@requires(...)``; object-level questions are
answered by computing the actor's *relation* to the record (own case, own organisation, shared
read/write, other) and looking the pair up in ``MATRIX``. Querysets use the same matrix through
``allowed_relations`` so that lists are filtered in SQL, never in Python.

The matrix is the machine-readable part of the permission concept (X1, R9): changing who may do
what means changing this table, and the access-matrix test walks every URL against it.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from django.http import Http404, HttpRequest

if TYPE_CHECKING:
    from django_htmx.middleware import HtmxDetails

    from filum.tenancy.models import Membership, Organisation, User


class Relation(enum.StrEnum):
    OWN_CASE = "own_case"  # the actor is the responsible worker (or assistant for C cases)
    OWN_ORG = "own_org"  # the record belongs to the actor's organisation
    SHARED_READ = "shared_read"  # an active share grants the section for reading
    SHARED_WRITE = "shared_write"  # an active share grants the section for writing
    OTHER = "other"  # anything else: not visible at all


class Section(enum.StrEnum):
    CORE = "core"
    JOURNAL = "journal"
    ASSESSMENT = "assessment"
    PLAN = "plan"
    DOCUMENTS = "documents"
    FINANCES = "finances"


SECTIONS: tuple[Section, ...] = tuple(Section)

# Actions that apply to a dossier section are "<section>.read" / "<section>.write".
ORG_ACTIONS = (
    "case.list",  # see a list of dossiers (filtered by section.read)
    "case.create",
    "case.transition",  # lifecycle steps, closing
    "share.manage",  # grant and revoke shares, record consent
    "person.search",
    "person.create",
    "person.edit",
    "audit.read",  # the data protection officer's view of a dossier's history
    "org.manage_users",  # super-user: users and roles of their own organisation
    "segment.propose",
    "segment.decide",  # four-eyes confirmation, segment changes
    "segment.request",  # admin assistant may request A/B for a C case
    "task.manage",
    "cockpit.team",
    "template.manage",  # the canton's assessment and plan templates (A1, A2, I1)
    "catalogue.manage",  # the canton's providers, programmes and places (I2)
    "catalogue.read",  # see providers, programmes and free places
    "cii.report",  # the CII monitoring report (D8)
    "integration.cockpit",  # the integration cockpit across dossiers (I7, decision 0022)
    "case.export",  # a dossier's delivery in the exchange format (issue 9, decision 0027)
    "case.transfer_offer",  # offer a dossier to another service, withdraw the offer (P3, P4)
    "case.transfer_decide",  # see offers made to the service, accept or decline them (0026)
    "records.dispose",  # approve disposals past retention, legal holds (M3, decision 0036)
    "steering.read",  # the canton's indicators from the anonymised extract (D1, D6, 0032)
    # create and change indicator definitions (new versions), retire them (D1, D3; 0039)
    "indicator.define",
    "person.list",  # person-level lists with filters, saved and exported (D2, D4; 0034)
    "steering.monitoring",  # the service's monitoring against similar services (D7, 0035)
    "shs.deliver",  # the service's monthly SHS deliveries and their unmapped values (D6, 0035)
    # a person's subject access export (nFADP art. 25, decision 0037): the relations are the
    # organisation's to each dossier section that the export includes
    "subject.access",
)
SECTION_ACTIONS = tuple(f"{s}.{m}" for s in SECTIONS for m in ("read", "write"))
ACTIONS: tuple[str, ...] = ORG_ACTIONS + SECTION_ACTIONS

R = Relation
_CASEWORK = frozenset({R.OWN_CASE, R.OWN_ORG})
_READ_ALL = frozenset({R.OWN_CASE, R.OWN_ORG, R.SHARED_READ, R.SHARED_WRITE})
_WRITE_ALL = frozenset({R.OWN_CASE, R.OWN_ORG, R.SHARED_WRITE})
_SHARED_ONLY_READ = frozenset({R.SHARED_READ, R.SHARED_WRITE})
_SHARED_ONLY_WRITE = frozenset({R.SHARED_WRITE})
_ORG = frozenset({R.OWN_ORG})
# What a subject access export holds: the organisation's own dossiers and the sections shared
# with it (decision 0037); the relation is the organisation's, never the actor's own case.
_SUBJECT = frozenset({R.OWN_ORG, R.SHARED_READ, R.SHARED_WRITE})
_NONE: frozenset[Relation] = frozenset()


def _sections(read: frozenset[Relation], write: frozenset[Relation]) -> dict[str, frozenset[R]]:
    rows: dict[str, frozenset[Relation]] = {}
    for section in SECTIONS:
        rows[f"{section}.read"] = read
        rows[f"{section}.write"] = write
    return rows


def _row(**actions: frozenset[Relation]) -> dict[str, frozenset[Relation]]:
    return {name.replace("__", "."): rels for name, rels in actions.items()}


# The role an API token acts in (filum.api); not a ``Role`` a member can be given.
API_ROLE = "api_client"

# role -> action -> relations under which the action is allowed.
# Organisation-level actions use OWN_ORG to mean "in the actor's own organisation".
MATRIX: dict[str, dict[str, frozenset[Relation]]] = {
    "social_worker": {
        **_sections(_READ_ALL, _WRITE_ALL),
        **_row(
            case__list=_ORG,
            case__create=_ORG,
            case__transition=_CASEWORK,
            case__export=_CASEWORK,
            share__manage=_CASEWORK,
            person__search=_ORG,
            person__create=_ORG,
            person__edit=_ORG,
            segment__propose=_CASEWORK,
            task__manage=_CASEWORK | _SHARED_ONLY_WRITE,
            catalogue__read=_ORG,
            integration__cockpit=_ORG,
            person__list=_ORG,
        ),
    },
    "section_head": {
        **_sections(_READ_ALL, _WRITE_ALL),
        **_row(
            case__list=_ORG,
            case__create=_ORG,
            case__transition=_CASEWORK,
            case__export=_CASEWORK,
            share__manage=_CASEWORK,
            person__search=_ORG,
            person__create=_ORG,
            person__edit=_ORG,
            segment__propose=_CASEWORK,
            segment__decide=_CASEWORK,
            task__manage=_CASEWORK | _SHARED_ONLY_WRITE,
            cockpit__team=_ORG,
            catalogue__read=_ORG,
            cii__report=_ORG,
            integration__cockpit=_ORG,
            case__transfer_offer=_CASEWORK,
            case__transfer_decide=_ORG,
            person__list=_ORG,
            steering__monitoring=_ORG,
            shs__deliver=_ORG,
            subject__access=_SUBJECT,
        ),
    },
    "intake_worker": {
        **_sections(_READ_ALL, _WRITE_ALL),
        **_row(
            case__list=_ORG,
            case__create=_ORG,
            case__transition=_CASEWORK,
            case__export=_CASEWORK,
            share__manage=_CASEWORK,
            person__search=_ORG,
            person__create=_ORG,
            person__edit=_ORG,
            segment__propose=_CASEWORK,
            task__manage=_CASEWORK,
            catalogue__read=_ORG,
        ),
    },
    "admin_assistant": {
        # Administration of the dossier; no write access to the social-work journal or
        # assessment, which stay with the social worker (S10).
        **_sections(_READ_ALL, _WRITE_ALL),
        "journal.write": _NONE,
        "assessment.write": _NONE,
        "plan.write": _NONE,
        **_row(
            case__list=_ORG,
            case__create=_ORG,
            person__search=_ORG,
            person__create=_ORG,
            person__edit=_ORG,
            segment__request=_CASEWORK,
            task__manage=_CASEWORK,
            catalogue__read=_ORG,
        ),
    },
    "super_user": {
        # Manages access in their own organisation; sees no dossier content for that.
        **_sections(_NONE, _NONE),
        **_row(org__manage_users=_ORG, records__dispose=_ORG, steering__monitoring=_ORG),
    },
    "partner_staff": {
        # Integration partners work only in what is shared with them.
        **_sections(_SHARED_ONLY_READ, _SHARED_ONLY_WRITE),
        **_row(
            case__list=_ORG,
            person__search=_ORG,
            task__manage=_SHARED_ONLY_WRITE,
            catalogue__read=_ORG,
        ),
    },
    "protection_staff": {
        **_sections(_READ_ALL, _WRITE_ALL),
        **_row(
            case__list=_ORG,
            case__create=_ORG,
            case__transition=_CASEWORK,
            case__export=_CASEWORK,
            share__manage=_CASEWORK,
            person__search=_ORG,
            person__create=_ORG,
            person__edit=_ORG,
            task__manage=_CASEWORK | _SHARED_ONLY_WRITE,
        ),
    },
    "canton_analyst": {
        # Anonymised steering data only: no dossier, no person.
        **_sections(_NONE, _NONE),
        **_row(steering__read=_ORG, indicator__define=_ORG),
    },
    "dpo": {
        # Audit of their own organisation's dossiers; no casework.
        **_sections(_NONE, _NONE),
        **_row(audit__read=_ORG, subject__access=_SUBJECT),
    },
    API_ROLE: {
        # An organisation's API token (decision 0028): reads what its organisation's staff
        # read (own dossiers and what is shared with it), writes only journal entries, and
        # offers, accepts, declines and withdraws its organisation's dossier transfers as a
        # section head does on the pages; the token's scopes narrow this further. Never a
        # member's role: no membership holds it.
        **_sections(_READ_ALL, _NONE),
        "journal.write": _WRITE_ALL,
        **_row(
            case__list=_ORG,
            person__search=_ORG,
            catalogue__read=_ORG,
            case__transfer_offer=_ORG,
            case__transfer_decide=_ORG,
        ),
    },
    "canton_officer": {
        # The canton's integration office: templates, the provider catalogue, the CII
        # monitoring and the integration cockpit's figures; no dossier content.
        **_sections(_NONE, _NONE),
        **_row(
            template__manage=_ORG,
            catalogue__manage=_ORG,
            catalogue__read=_ORG,
            cii__report=_ORG,
            integration__cockpit=_ORG,
        ),
    },
}


def dossier_holding_roles() -> frozenset[str]:
    """The roles that do casework and so may be responsible for a dossier: those who may take
    their own dossier through its lifecycle (not the super-user, the DPO, the analyst, the
    partner's staff or the administrative assistant)."""
    return frozenset(role for role in MATRIX if is_allowed(role, "case.transition", R.OWN_CASE))


def allowed_relations(role: str, action: str) -> frozenset[Relation]:
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}")
    return MATRIX.get(role, {}).get(action, _NONE)


def is_allowed(role: str, action: str, relation: Relation) -> bool:
    return relation in allowed_relations(role, action)


@dataclass(frozen=True)
class Actor:
    """The signed-in user acting in one organisation with one role."""

    user: User
    membership: Membership

    @property
    def organisation(self) -> Organisation:
        return self.membership.organisation

    @property
    def organisation_id(self) -> int:
        return self.membership.organisation_id

    @property
    def role(self) -> str:
        return self.membership.role

    def may(self, action: str, relation: Relation = Relation.OWN_ORG) -> bool:
        return is_allowed(self.role, action, relation)

    def require(self, action: str, relation: Relation = Relation.OWN_ORG) -> None:
        """Raise the uniform 404 unless the action is allowed under this relation."""
        if not self.may(action, relation):
            raise Http404


class ActorRequest(HttpRequest):
    """The request a protected view receives: ``ActorMiddleware`` sets ``actor`` and
    ``@requires`` refuses requests without one, so views can rely on it."""

    actor: Actor
    htmx: HtmxDetails


class NoActor(Exception):
    """The user has no active membership: they may sign in but reach nothing."""


V = TypeVar("V", bound=Callable[..., Any])

# URL names that need no sign-in (R10 allowlist).
PUBLIC_VIEWS = frozenset(
    {
        "login",
        "healthz",
        "readyz",
        "set_language",
        "javascript-catalog",
        "signin_link",
        "password_forgot",
        "assessment_link_form",
    }
)
# URL names that need sign-in but no particular role (own account pages).
ACCOUNT_VIEWS = frozenset(
    {
        "home",
        "logout",
        "switch_membership",
        "mfa_setup",
        "mfa_verify",
        "account",
        # the API's OpenAPI schema and its docs (decision 0028; R39: behind sign-in)
        "openapi-json",
        "openapi-view",
    }
)


def requires(action: str) -> Callable[[V], V]:
    """Declare the action a view needs. The view itself checks object relations through
    the owning app's ``get_..._for_actor`` function; this decorator checks that the role
    may perform the action at all (under any relation) and marks the view for the
    access-matrix test."""
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}")

    def decorator(view: V) -> V:
        def wrapped(request: Any, *args: Any, **kwargs: Any) -> Any:
            actor: Actor | None = getattr(request, "actor", None)
            if actor is None or not allowed_relations(actor.role, action):
                raise Http404
            return view(request, *args, **kwargs)

        wrapped.filum_action = action  # type: ignore[attr-defined]
        wrapped.__name__ = getattr(view, "__name__", "view")
        wrapped.__doc__ = view.__doc__
        wrapped.__wrapped__ = view  # type: ignore[attr-defined]
        return wrapped  # type: ignore[return-value]

    return decorator


# URL names for the platform administrator only (see ``platform_view``).
PLATFORM_VIEWS = frozenset(
    {
        "platform_organisations",
        "platform_imports",
        "platform_import_readiness",
        "platform_import_readiness_pdf",
        "platform_shs_mapping",
    }
)


def is_platform_admin(user: Any) -> bool:
    """The platform administrator is Django's ``is_superuser`` flag: an account for whoever
    runs the installation, above every organisation (decision 0005)."""
    return bool(getattr(user, "is_authenticated", False) and user.is_superuser)


def platform_view(view: V) -> V:
    """A view for the platform administrator only, in a session confirmed with a one-time
    code; anyone else gets the uniform 404."""

    def wrapped(request: Any, *args: Any, **kwargs: Any) -> Any:
        from django.shortcuts import redirect
        from django_otp import devices_for_user

        if not is_platform_admin(request.user):
            raise Http404
        if not request.user.is_verified():
            has_device = any(devices_for_user(request.user, confirmed=True))
            return redirect("mfa_verify" if has_device else "mfa_setup")
        return view(request, *args, **kwargs)

    wrapped.filum_action = "platform"  # type: ignore[attr-defined]
    wrapped.__name__ = getattr(view, "__name__", "view")
    wrapped.__doc__ = view.__doc__
    wrapped.__wrapped__ = view  # type: ignore[attr-defined]
    return wrapped  # type: ignore[return-value]


def account_view(view: V) -> V:
    """Mark a view that any signed-in user may use for their own account."""
    view.filum_action = "account"  # type: ignore[attr-defined]
    return view
