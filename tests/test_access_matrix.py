"""The access matrix (R9–R12): every URL of the project, for every persona, against the policy.

The expected outcome of each request is computed here from ``MATRIX`` and the persona's
relation to the object (own case, own organisation, shared read/write, other), using a plain
Python model of the shares, and compared with what the views answer over HTTP. A URL name that
is missing from ``ENDPOINTS`` fails the suite, so every new endpoint has to be placed in it.
"""

from __future__ import annotations

import datetime
import json
import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.urls import reverse as django_reverse
from django.utils import timezone
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)

from filum.api import tokens as api_tokens
from filum.api.models import ApiToken, Scope
from filum.assessments.models import (
    Assessment,
    AssessmentLink,
    AssessmentTemplate,
    CodeItem,
    CodeList,
    TemplateField,
    TemplateSection,
    TemplateVersion,
)
from filum.cases.models import (
    Case,
    CaseTransition,
    Consent,
    DossierTransfer,
    SegmentProposal,
    Share,
)
from filum.cii.models import CiiCase, CiiPartner
from filum.documents.models import Document
from filum.followup.models import Task
from filum.journal.models import Contact, Topic
from filum.people.models import Person
from filum.plans.models import (
    Booking,
    Measure,
    MeasureDocument,
    MilestoneRule,
    Period,
    Plan,
    PlanGoal,
    PlanTemplate,
    Programme,
    Provider,
    SituationEntry,
)
from filum.records.models import DENIAL, ReadLog, SecurityEvent
from filum.steering.models import PersonListExport, ShsDelivery, ShsMappingVersion
from filum.tenancy.models import Membership, Organisation, OrganisationKind, SignInLink
from filum.tenancy.policy import (
    ACCOUNT_VIEWS,
    ACTIONS,
    API_ROLE,
    MATRIX,
    PLATFORM_VIEWS,
    PUBLIC_VIEWS,
    SECTIONS,
    Actor,
    Relation,
    allowed_relations,
    is_allowed,
)
from filum.tenancy.signin import token_hash
from tests import factories


def reverse(name: str, *args: Any, **kwargs: Any) -> str:
    """Django's, with the API's names in its namespace (``api:``)."""
    if name in API_ENDPOINTS or name in ("openapi-json", "openapi-view"):
        name = f"api:{name}"
    return django_reverse(name, *args, **kwargs)


PERSONAS = (
    "worker",
    "colleague",
    "head",
    "assistant",
    "intake",
    "superuser",
    "dpo",
    "analyst",
    "partner",
    "partner_superuser",
    "outsider",
    "officer",
)
CANARY = {"case": "Zycanarycasewq", "other_case": "Zycanaryotherwq"}
LOGIN_PATH = "/login/"


@pytest.fixture(autouse=True)
def private_storage(settings: Any, tmp_path: Any) -> None:
    """Documents made for the download URLs go to a temporary folder."""
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path)},
        },
    }


# ---------------------------------------------------------------------------------------------
# Walking the URLconf


@dataclass(frozen=True)
class Route:
    name: str | None
    pattern: str
    callback: Callable[..., Any]

    @property
    def action(self) -> str | None:
        return getattr(self.callback, "filum_action", None)


def walk(patterns: list[Any] | None = None, prefix: str = "") -> Iterator[Route]:
    if patterns is None:
        patterns = get_resolver().url_patterns
    for entry in patterns:
        pattern = prefix + str(entry.pattern)
        if pattern.startswith(("static/", "^static/")):
            continue
        if isinstance(entry, URLResolver):
            yield from walk(entry.url_patterns, pattern)
        elif isinstance(entry, URLPattern):
            yield Route(entry.name, pattern, entry.callback)


ROUTES = list(walk())


def test_r9_every_url_pattern_has_a_name():
    unnamed = [r.pattern for r in ROUTES if not r.name]
    assert unnamed == []
    names = [r.name for r in ROUTES]
    assert len(names) == len(set(names)), "URL names must be unique to be placed in the matrix"


def test_r9_r10_every_view_declares_its_access():
    problems = []
    for route in ROUTES:
        name, action = route.name, route.action
        login_required = getattr(route.callback, "login_required", True)
        if name in PUBLIC_VIEWS:
            if action not in (None, "public"):
                problems.append(f"{name}: public view with action {action!r}")
            if login_required:
                problems.append(f"{name}: public view without @login_not_required")
        elif name in ACCOUNT_VIEWS:
            if action != "account":
                problems.append(f"{name}: account view not marked with @account_view")
        elif name in PLATFORM_VIEWS:
            if action != "platform":
                problems.append(f"{name}: platform view not marked with @platform_view")
        elif action == "api":
            # token-authenticated API operations: their own section below
            if login_required or ENDPOINTS.get(name, Endpoint("")).kind != "api":
                problems.append(f"{name}: API operation outside the API section")
            continue
        elif action not in ACTIONS:
            problems.append(f"{name}: no @requires(<action>) (found {action!r})")
        if name not in PUBLIC_VIEWS and not login_required:
            problems.append(f"{name}: @login_not_required but not in PUBLIC_VIEWS")
        if action == "public" and name not in PUBLIC_VIEWS:
            problems.append(f"{name}: marked public but not in PUBLIC_VIEWS")
        if action == "account" and name not in ACCOUNT_VIEWS:
            problems.append(f"{name}: marked account but not in ACCOUNT_VIEWS")
        if action == "platform" and name not in PLATFORM_VIEWS:
            problems.append(f"{name}: marked platform but not in PLATFORM_VIEWS")
    assert problems == []


def test_r9_every_url_name_has_a_row_in_the_endpoint_table():
    names = {r.name for r in ROUTES}
    assert sorted(names - set(ENDPOINTS)) == [], "add these URL names to ENDPOINTS"
    assert sorted(set(ENDPOINTS) - names) == [], "these ENDPOINTS rows have no URL any more"


def test_r9_the_matrix_uses_only_known_roles_and_actions():
    from filum.tenancy.models import Role

    assert set(MATRIX) == set(Role.values) | {API_ROLE}
    assert API_ROLE not in Role.values  # no member can be given the API's role
    for role, row in MATRIX.items():
        assert set(row) <= set(ACTIONS), role
        for relations in row.values():
            assert all(isinstance(rel, Relation) for rel in relations)


# ---------------------------------------------------------------------------------------------
# The model: relations computed from the world and a list of shares, in plain Python


@dataclass(frozen=True)
class ShareSpec:
    case: str  # "case" or "other_case"
    organisation: str  # "service_org", "partner_org", "outsider_org"
    sections: tuple[str, ...]
    access: str  # "read" or "write"


STATES: dict[str, tuple[ShareSpec, ...]] = {
    "unshared": (),
    "journal_read": (ShareSpec("case", "partner_org", ("journal",), "read"),),
    "core_write": (
        ShareSpec("case", "partner_org", ("core", "journal", "plan"), "write"),
        ShareSpec("other_case", "service_org", ("core",), "read"),
    ),
}


@dataclass
class Subject:
    """The object a concrete URL points at (None everywhere for organisation-level pages)."""

    case: Case | None = None
    person: Person | None = None
    membership: Membership | None = None
    task_owner: int | None = None  # the organisation a task belongs to
    canton: str | None = None  # the canton of a catalogue object or plan template
    missing: bool = False
    # a public page about a dossier (a provider's link): its reads are logged under the
    # link's author whoever opens it
    public: bool = False
    # a dossier transfer offer: the sending and the receiving organisation
    transfer_sender: int | None = None
    transfer_receiver: int | None = None
    # an object of one user's own (a person-list export): that user and organisation
    owner: Membership | None = None


@dataclass
class Model:
    world: Any
    shares: list[tuple[Case, Organisation, tuple[str, ...], str]]

    def relation(self, persona: Any, case: Case, section: str) -> Relation:
        org_id = persona.membership.organisation_id
        if case.owner_id == org_id:
            return Relation.OWN_CASE if case.responsible_id == persona.user.pk else Relation.OWN_ORG
        best = Relation.OTHER
        for shared_case, org, sections, access in self.shares:
            if shared_case.pk == case.pk and org.pk == org_id and section in sections:
                if access == "write":
                    best = Relation.SHARED_WRITE
                elif best == Relation.OTHER:
                    best = Relation.SHARED_READ
        return best

    def may_case(self, persona: Any, action: str, case: Case, section: str) -> bool:
        return is_allowed(persona.membership.role, action, self.relation(persona, case, section))

    def reads_any_section(self, persona: Any, case: Case) -> bool:
        return any(self.may_case(persona, f"{s}.read", case, s) for s in SECTIONS)

    def sees_person(self, persona: Any, person: Person, *, write: bool) -> bool:
        action = "core.write" if write else "core.read"
        if not allowed_relations(persona.membership.role, action):
            return False
        if person.registered_by_id == persona.membership.organisation_id:
            return True
        cases = (self.world.case, self.world.other_case)
        return any(
            c.client_id == person.pk and self.may_case(persona, action, c, "core") for c in cases
        )

    def org_relation(self, persona: Any, org_id: int) -> Relation:
        own = org_id == persona.membership.organisation_id
        return Relation.OWN_ORG if own else Relation.OTHER

    def allows(self, persona: Any, need: tuple[str, str], subject: Subject) -> bool:
        action, scope = need
        role = persona.membership.role
        if subject.missing:
            return False
        if scope == "role":  # the role has the action under some relation (own lists)
            return bool(allowed_relations(role, action))
        if scope == "org":
            org_id = persona.membership.organisation_id
            if subject.membership is not None:
                org_id = subject.membership.organisation_id
            return is_allowed(role, action, self.org_relation(persona, org_id))
        if scope == "owner":  # the user's own object, in the organisation it was made in
            assert subject.owner is not None
            mine = (persona.user.pk, persona.membership.organisation_id) == (
                subject.owner.user_id,
                subject.owner.organisation_id,
            )
            return mine and bool(allowed_relations(role, action))
        if scope == "case:any":
            assert subject.case is not None
            return self.reads_any_section(persona, subject.case)
        if scope == "task":  # a task of the persona's organisation, and task.manage there
            assert subject.case is not None
            own = subject.task_owner == persona.membership.organisation_id
            return own and any(self.may_case(persona, action, subject.case, s) for s in SECTIONS)
        if scope.startswith("case:"):
            assert subject.case is not None
            return self.may_case(persona, action, subject.case, scope.removeprefix("case:"))
        if scope == "canton":  # the catalogue and templates of the persona's canton
            assert subject.canton is not None
            same = subject.canton == persona.membership.organisation.canton
            return is_allowed(role, action, Relation.OWN_ORG if same else Relation.OTHER)
        if scope.startswith("transfer:"):  # the offer's receiving or sending organisation
            sides = {
                "transfer:receiver": [subject.transfer_receiver],
                "transfer:sender": [subject.transfer_sender],
                "transfer:any": [subject.transfer_receiver, subject.transfer_sender],
            }[scope]
            own = persona.membership.organisation_id in sides
            return is_allowed(role, action, Relation.OWN_ORG if own else Relation.OTHER)
        if scope == "audit":
            assert subject.case is not None
            return is_allowed(role, action, self.org_relation(persona, subject.case.owner_id))
        if scope in ("person", "person:write"):
            assert subject.person is not None
            return self.sees_person(persona, subject.person, write=scope == "person:write")
        if scope == "subject":
            assert subject.person is not None
            return self.reaches_subject(persona, subject.person)
        raise AssertionError(f"unknown scope {scope}")

    def reaches_subject(self, persona: Any, person: Person) -> bool:
        """Subject access (decision 0037): the role has the action, and the person is registered
        by the persona's organisation or the client of a dossier one of whose sections it
        reaches under a relation the action allows (the organisation's: own or shared)."""
        role = persona.membership.role
        if not allowed_relations(role, "subject.access"):
            return False
        if person.registered_by_id == persona.membership.organisation_id:
            return True

        def organisation_relation(case: Case, section: str) -> Relation:
            relation = self.relation(persona, case, section)
            return Relation.OWN_ORG if relation == Relation.OWN_CASE else relation

        return any(
            c.client_id == person.pk
            and any(
                is_allowed(role, "subject.access", organisation_relation(c, s)) for s in SECTIONS
            )
            for c in (self.world.case, self.world.other_case)
        )

    def sees_canary(self, persona: Any, case: Case) -> bool:
        """May this persona see the client's name of this dossier anywhere? A share of any
        section identifies the person it concerns (name, birth date)."""
        role = persona.membership.role
        if self.reads_any_section(persona, case):
            return True
        # The data protection officer sees their own organisation's dossiers in the audit.
        if is_allowed(role, "audit.read", self.org_relation(persona, case.owner_id)):
            return True
        # A subject access page names the person of every dossier it reaches (0037).
        return self.reaches_subject(persona, case.client)


# ---------------------------------------------------------------------------------------------
# The endpoint table: how to build concrete URLs for the world, and what each one needs


@dataclass(frozen=True)
class Endpoint:
    kind: str  # "public", "account", "platform" (platform administrator only) or "policy"
    targets: tuple[str, ...] = ("none",)
    needs: tuple[tuple[str, str], ...] = ()
    ok_get: frozenset[int] = frozenset({200})
    post_only: bool = False
    ok_post: frozenset[int] = frozenset({302})
    post: bool = True  # send the empty POST at all (not for login/logout)
    # The dossier sections the page shows: an allowed GET logs a read of each of them that
    # the persona may read (all of them for the audit, which reads as "audit").
    reads: tuple[str, ...] = ()
    read_kind: str = "view"
    # API operations (kind "api"): the method and the scope the token needs
    method: str = "GET"
    scope: str = ""
    body: str = ""  # the JSON an API POST sends, if not the default


def _ep(kind: str, *targets: str, needs: tuple[tuple[str, str], ...] = (), **kw: Any) -> Endpoint:
    return Endpoint(kind=kind, targets=targets or ("none",), needs=needs, **kw)


CASES = ("case", "other_case", "missing_case")
PERSONS = ("person", "other_person", "missing_person")
_OWNER = (("core.read", "case:core"), ("share.manage", "case:core"))
POST_ONLY = {"ok_get": frozenset({405}), "post_only": True}
CONTACTS = ("contact", "other_contact", "missing_contact")
TASKS = ("task", "other_task", "missing_task")
DOCUMENTS = ("document", "other_document", "missing_document")
PROPOSALS = ("proposal", "other_proposal", "missing_proposal")
_CORE, _JOURNAL, _DOCUMENTS = ("core",), ("journal",), ("documents",)
_PLAN = ("plan",)
CIIS = ("cii", "other_cii", "missing_cii")
CII_PARTNERS = ("cii_partner", "other_cii_partner", "missing_cii_partner")
ASSESSMENTS = ("assessment", "other_assessment", "missing_assessment")
ASSESSED = ("assessed_person", "other_assessed_person", "missing_assessed_person")
LINKS = ("third_party_link", "other_third_party_link", "missing_third_party_link")
_ASSESSMENT = ("assessment",)
_READ_ASSESSMENT = (("assessment.read", "case:assessment"),)
_WRITE_ASSESSMENT = (("assessment.write", "case:assessment"),)
_TEMPLATES = (("template.manage", "canton"),)
# A steering step that the dossier's stage does not allow yet answers with a redirect.
_FORM_OR_NOT_NOW = frozenset({200, 302})


_PLAN = ("plan",)
_PLAN_READ = (("plan.read", "case:plan"),)
_PLAN_WRITE = (("plan.write", "case:plan"),)
# dossiers whose plan is made (the pages about its goals and measures need one)
PLANNED = ("planned_case", "other_planned_case", "missing_case")
GOALS = ("goal", "other_goal", "missing_goal")
MEASURES = ("measure", "other_measure", "missing_measure")
# the client of a dossier with a plan, for the AIS timeline (decision 0021)
TIMELINE_PERSONS = ("timeline_person", "other_timeline_person", "missing_timeline_person")
SITUATIONS = ("situation_entry", "other_situation_entry", "missing_situation_entry")
MEASURE_DOCUMENTS = ("measure_document", "other_measure_document", "missing_measure_document")
# catalogue objects: of the personas' canton, of another canton (listed first: it is what the
# outsider probes in the 404 comparison), missing
PROGRAMMES = ("foreign_programme", "programme", "missing_programme")
PERIODS = ("foreign_period", "period", "missing_period")
PROVIDERS = ("foreign_provider", "provider", "missing_provider")
TEMPLATES = ("foreign_plan_template", "plan_template", "missing_plan_template")
# dossier transfer offers: the service's dossier offered to the bystander (the service sends),
# a dossier of the outsider's service offered to the service (the service receives), missing
TRANSFERS = ("transfer", "other_transfer", "missing_transfer")
_RECEIVER = (("case.transfer_decide", "transfer:receiver"),)
# SHS deliveries: the service's, the outsider's service's, missing
SHS_DELIVERIES = ("shs_delivery", "other_shs_delivery", "missing_shs_delivery")
# person-list exports: the section head's, the worker's (a colleague in the same service),
# missing
PERSON_LIST_EXPORTS = (
    "person_list_export",
    "other_person_list_export",
    "missing_person_list_export",
)


def _STEP(action: str) -> tuple[tuple[str, str], ...]:  # noqa: N802
    return (("core.write", "case:core"), (action, "case:core"))


def _api(*targets: str, scope: str, need: tuple[str, str], **kw: Any) -> Endpoint:
    return _ep("api", *targets, needs=(need,), scope=scope, **kw)


# The REST API (decision 0028): operations answer tokens, whose actor is the organisation's API
# role; ``needs`` as for pages. Lists (target "none") log reads of what they show: checked
# against the model's visibility in the API section.
API_ENDPOINTS: dict[str, Endpoint] = {
    "api_persons": _api(scope="persons:read", need=("person.search", "org")),
    "api_person_search": _api(scope="persons:read", need=("person.search", "org"), method="POST"),
    "api_person": _api(*PERSONS, scope="persons:read", need=("core.read", "person"), reads=_CORE),
    "api_cases": _api(scope="cases:read", need=("case.list", "org")),
    "api_case": _api(*CASES, scope="cases:read", need=("core.read", "case:core"), reads=_CORE),
    "api_journal": _api(
        *CASES, scope="journal:read", need=("journal.read", "case:journal"), reads=_JOURNAL
    ),
    "api_journal_create": _api(
        *CASES,
        scope="journal:write",
        need=("journal.write", "case:journal"),
        method="POST",
        ok_get=frozenset({201}),
    ),
    "api_tasks": _api(*CASES, scope="tasks:read", need=("core.read", "case:core"), reads=_CORE),
    "api_assessments": _api(
        *CASES, scope="assessments:read", need=_READ_ASSESSMENT[0], reads=_ASSESSMENT
    ),
    "api_plan": _api(*PLANNED, scope="plans:read", need=_PLAN_READ[0], reads=_PLAN),
    "api_measures": _api(*CASES, scope="plans:read", need=_PLAN_READ[0], reads=_PLAN),
    "api_providers": _api(scope="catalogue:read", need=("catalogue.read", "org")),
    "api_programmes": _api(scope="catalogue:read", need=("catalogue.read", "org")),
    # dossier transfers (decision 0026): the steps' bodies pass the schema, so that what
    # answers is the door (404) or, past it, the step: an offer to an unknown service and an
    # acceptance by an unknown worker are refused (422) and store nothing
    "api_transfers": _api(scope="transfers:read", need=("case.transfer_decide", "org")),
    "api_transfer": _api(
        *TRANSFERS, scope="transfers:read", need=("case.transfer_decide", "transfer:any")
    ),
    "api_transfer_offer": _ep(
        "api",
        *CASES,
        needs=(("core.read", "case:core"), ("case.transfer_offer", "case:core")),
        scope="transfers:write",
        method="POST",
        ok_get=frozenset({422}),
        body=json.dumps(
            {
                "receiver_id": 987654321,
                "kind": "move",
                "cut_over_on": "2026-01-01",
                "note": "Déménagement",
                "tasks": "hand_over",
                "shares": "keep",
            }
        ),
    ),
    "api_transfer_accept": _ep(
        "api",
        *TRANSFERS,
        needs=_RECEIVER,
        scope="transfers:write",
        method="POST",
        ok_get=frozenset({422}),
        body='{"responsible_id": 987654321}',
    ),
    "api_transfer_decline": _ep(
        "api",
        *TRANSFERS,
        needs=_RECEIVER,
        scope="transfers:write",
        method="POST",
        body='{"reason": "other"}',
    ),
    "api_transfer_withdraw": _ep(
        "api",
        *TRANSFERS,
        needs=(("case.transfer_offer", "transfer:sender"),),
        scope="transfers:write",
        method="POST",
        body="{}",
    ),
}

ENDPOINTS: dict[str, Endpoint] = {
    "healthz": _ep("public", post=False),
    # not ready in the test world: no task worker beats
    "readyz": _ep("public", ok_get=frozenset({503}), post=False),
    "set_language": _ep("public", ok_get=frozenset({204, 302}), ok_post=frozenset({204, 302})),
    "login": _ep("public", ok_get=frozenset({302}), post=False),
    "home": _ep("account", ok_get=frozenset({200, 302}), post=False),
    "logout": _ep("account", post=False),
    "switch_membership": _ep(
        "account", ok_get=frozenset({405}), post_only=True, ok_post=frozenset({404})
    ),
    "mfa_setup": _ep("account", ok_post=frozenset({200})),
    "mfa_verify": _ep("account", ok_get=frozenset({302}), ok_post=frozenset({302})),
    "password_forgot": _ep("public", ok_post=frozenset({200})),
    # a valid link opens the password form; an empty POST shows its errors
    "signin_link": _ep("public", "signin_link", ok_post=frozenset({200})),
    "platform_organisations": _ep("platform", ok_post=frozenset({302})),
    "platform_imports": _ep("platform", ok_post=frozenset({200})),
    # the SHS mapping table (decision 0035): an empty table is refused (400)
    "platform_shs_mapping": _ep("platform", ok_post=frozenset({400})),
    # an upload's readiness check and its PDF (M4): the platform administrator's, like the
    # import; an upload that is not there answers 404 to them too
    "platform_import_readiness": _ep(
        "platform", "missing_upload", ok_get=frozenset({404}), ok_post=frozenset({405})
    ),
    "platform_import_readiness_pdf": _ep(
        "platform", "missing_upload", ok_get=frozenset({404}), ok_post=frozenset({405})
    ),
    "members": _ep("policy", needs=(("org.manage_users", "org"),)),
    "organisation_security": _ep("policy", needs=(("org.manage_users", "org"),)),
    "member_invite": _ep(
        "policy",
        "membership",
        "partner_membership",
        "missing_membership",
        needs=(("org.manage_users", "org"),),
        **POST_ONLY,
    ),
    "member_deactivate": _ep(
        "policy",
        "membership",
        "partner_membership",
        "missing_membership",
        needs=(("org.manage_users", "org"),),
        **POST_ONLY,
    ),
    "person_search": _ep("policy", needs=(("person.search", "org"),)),
    "person_create": _ep("policy", needs=(("person.create", "org"),)),
    "person_duplicates": _ep(
        "policy", needs=(("person.create", "org"),), **POST_ONLY | {"ok_post": frozenset({200})}
    ),
    "person_detail": _ep("policy", *PERSONS, needs=(("core.read", "person"),), reads=_CORE),
    # eCH-0044 (X7): the identification as XML, an export of the person's core data; reading a
    # file into the registration form stores nothing (an empty POST: 400, no file)
    "person_ech0044": _ep(
        "policy", *PERSONS, needs=(("core.read", "person"),), reads=_CORE, read_kind="export"
    ),
    "person_import_ech0044": _ep(
        "policy",
        needs=(("person.create", "org"),),
        ok_get=frozenset({405}),
        post_only=True,
        ok_post=frozenset({400}),
    ),
    "person_edit": _ep(
        "policy",
        *PERSONS,
        needs=(("person.edit", "org"), ("core.write", "person:write")),
        reads=_CORE,
    ),
    "case_list": _ep("policy", needs=(("case.list", "org"),)),
    "case_create": _ep("policy", *PERSONS, needs=(("case.create", "org"), ("core.read", "person"))),
    "case_detail": _ep("policy", *CASES, needs=(("*.read", "case:any"),), reads=SECTIONS),
    "case_edit": _ep("policy", *CASES, needs=(("core.write", "case:core"),), reads=_CORE),
    # the dossier's delivery in the exchange format (issue 9 item 5): the owner's casework only,
    # an export of every section; a download, so a POST is not allowed (405)
    "case_export": _ep(
        "policy",
        *CASES,
        needs=(("core.read", "case:core"), ("case.export", "case:core")),
        reads=SECTIONS,
        read_kind="export",
        ok_post=frozenset({405}),
    ),
    "case_close": _ep(
        "policy",
        *CASES,
        needs=(("core.write", "case:core"), ("case.transition", "case:core")),
        reads=_CORE,
    ),
    "share_create": _ep("policy", *CASES, needs=_OWNER),
    "share_revoke": _ep(
        "policy", "share", "other_share", "missing_share", needs=_OWNER, **POST_ONLY
    ),
    "consent_create": _ep("policy", *CASES, needs=_OWNER),
    "consent_withdraw": _ep(
        "policy", "consent", "other_consent", "missing_consent", needs=_OWNER, **POST_ONLY
    ),
    "audit_find": _ep("policy", needs=(("audit.read", "org"),)),
    "audit_case": _ep(
        "policy", *CASES, needs=(("audit.read", "audit"),), reads=SECTIONS, read_kind="audit"
    ),
    "audit_denials": _ep("policy", needs=(("audit.read", "org"),)),
    # retention and disposal (M3, decision 0036): the organisation's super-user only; an empty
    # POST goes back to the page with a message
    "disposal_list": _ep("policy", needs=(("records.dispose", "org"),)),
    "disposal_approve": _ep("policy", needs=(("records.dispose", "org"),), **POST_ONLY),
    "disposal_hold": _ep("policy", needs=(("records.dispose", "org"),), **POST_ONLY),
    "disposal_lift": _ep("policy", needs=(("records.dispose", "org"),), **POST_ONLY),
    # the archive's receipt of an offered package (decision 0036 amendment)
    "disposal_receipt": _ep("policy", needs=(("records.dispose", "org"),), **POST_ONLY),
    # subject access (nFADP art. 25, decision 0037): find the person, then the page that
    # names them (a read of their core data) and makes the export on POST (not sent here for
    # those allowed: tests/test_subject_access.py makes it with real data)
    "subject_access_find": _ep("policy", needs=(("subject.access", "org"),)),
    "subject_access": _ep("policy", *PERSONS, needs=(("subject.access", "subject"),), reads=_CORE),
    # case steering (issue 3): journal, cockpit, tasks, documents, segments and stages
    "journal_list": _ep(
        "policy", *CASES, needs=(("journal.read", "case:journal"),), reads=("journal", "core")
    ),
    "contact_create": _ep("policy", *CASES, needs=(("journal.write", "case:journal"),)),
    "contact_correct": _ep(
        "policy", *CONTACTS, needs=(("journal.write", "case:journal"),), reads=_JOURNAL
    ),
    "contact_history": _ep(
        "policy", *CONTACTS, needs=(("journal.read", "case:journal"),), reads=_JOURNAL
    ),
    "service_agreement": _ep(
        "policy", *CASES, needs=(("journal.write", "case:journal"),), reads=_JOURNAL
    ),
    "cockpit": _ep("policy", needs=(("case.list", "org"),)),
    "cockpit_team": _ep("policy", needs=(("cockpit.team", "org"),)),
    "cockpit_integration": _ep("policy", needs=(("integration.cockpit", "org"),)),
    "task_list": _ep("policy", needs=(("task.manage", "role"),)),
    "task_create": _ep("policy", *CASES, needs=(("task.manage", "case:core"),)),
    "task_detail": _ep(
        "policy", *TASKS, needs=(("task.manage", "task"),), reads=("core", "documents")
    ),
    "task_done": _ep("policy", *TASKS, needs=(("task.manage", "task"),), **POST_ONLY),
    "task_cancel": _ep("policy", *TASKS, needs=(("task.manage", "task"),), **POST_ONLY),
    "case_documents": _ep(
        "policy", *CASES, needs=(("documents.read", "case:documents"),), reads=_DOCUMENTS
    ),
    "document_upload": _ep("policy", *CASES, needs=(("documents.write", "case:documents"),)),
    "document_download": _ep(
        "policy", *DOCUMENTS, needs=(("documents.read", "case:documents"),), reads=_DOCUMENTS
    ),
    "task_document_upload": _ep(
        "policy",
        *TASKS,
        needs=(("task.manage", "task"), ("documents.write", "case:documents")),
        **POST_ONLY,
    ),
    "case_steering": _ep("policy", *CASES, needs=(("core.read", "case:core"),), reads=_CORE),
    "case_steering_panel": _ep("policy", *CASES, needs=(("core.read", "case:core"),), reads=_CORE),
    "intake_decide": _ep(
        "policy", *CASES, needs=_STEP("case.transition"), ok_get=_FORM_OR_NOT_NOW, reads=_CORE
    ),
    "segment_propose": _ep(
        "policy", *CASES, needs=_STEP("segment.propose"), ok_get=_FORM_OR_NOT_NOW, reads=_CORE
    ),
    "case_transfer": _ep(
        "policy", *CASES, needs=_STEP("case.transition"), ok_get=_FORM_OR_NOT_NOW, reads=_CORE
    ),
    "segment_final": _ep(
        "policy", *CASES, needs=_STEP("segment.propose"), ok_get=_FORM_OR_NOT_NOW, reads=_CORE
    ),
    "segment_change": _ep(
        "policy", *CASES, needs=_STEP("segment.propose"), ok_get=_FORM_OR_NOT_NOW, reads=_CORE
    ),
    "segment_review": _ep(
        "policy", *CASES, needs=_STEP("segment.propose"), ok_get=_FORM_OR_NOT_NOW, reads=_CORE
    ),
    "segment_request": _ep(
        "policy", *CASES, needs=_STEP("segment.request"), ok_get=_FORM_OR_NOT_NOW, reads=_CORE
    ),
    "proposal_decide": _ep("policy", *PROPOSALS, needs=_STEP("segment.decide"), reads=_CORE),
    "exit_potential": _ep(
        "policy", *CASES, needs=_STEP("segment.propose"), ok_get=_FORM_OR_NOT_NOW, reads=_CORE
    ),
    "request_answer": _ep(
        "policy", *PROPOSALS, needs=_STEP("segment.propose"), ok_get=_FORM_OR_NOT_NOW, reads=_CORE
    ),
    # shared CII cases (issue 8: X4, X5, D8); the record page needs the plan section
    # person-level lists (D2, D4; decision 0034): the page shows the form until a filter is
    # submitted, an export without a submitted filter goes back to it; saving is a POST
    "person_list": _ep("policy", needs=(("person.list", "org"),)),
    # an export is asked by a POST (without a format: back to the page) and written by the
    # task worker; its progress page and file are its owner's only (another user's answers 404,
    # the denial recorded); the download logs a security event, not reads (the job logged them)
    "person_list_export": _ep(
        "policy", needs=(("person.list", "org"),), **POST_ONLY, ok_post=frozenset({302})
    ),
    "person_list_export_detail": _ep(
        "policy", *PERSON_LIST_EXPORTS, needs=(("person.list", "owner"),), ok_post=frozenset({405})
    ),
    "person_list_export_download": _ep(
        "policy", *PERSON_LIST_EXPORTS, needs=(("person.list", "owner"),), ok_post=frozenset({405})
    ),
    "person_list_save": _ep(
        "policy", needs=(("person.list", "org"),), **POST_ONLY, ok_post=frozenset({302})
    ),
    # federal statistics and the service's monitoring (issue 10 items 4, 5; decision 0035):
    # the monitoring page reads only kept monthly figures (no dossier, no read log); a delivery
    # is its service's (another service's answers 404); a download logs the export of its
    # dossiers (none in these deliveries), a POST is not allowed (405)
    "steering_monitoring": _ep("policy", needs=(("steering.monitoring", "org"),)),
    "shs_deliveries": _ep("policy", needs=(("shs.deliver", "org"),)),
    "shs_delivery_download": _ep(
        "policy", *SHS_DELIVERIES, needs=(("shs.deliver", "org"),), ok_post=frozenset({405})
    ),
    "cii_report": _ep("policy", needs=(("cii.report", "org"),)),
    "cii_report_csv": _ep("policy", needs=(("cii.report", "org"),)),
    "cii_open_person": _ep(
        "policy",
        *PERSONS,
        needs=(("share.manage", "org"), ("case.create", "org"), ("core.read", "person")),
    ),
    # a dossier that became a CII case (the "cii" target) sends to its record
    "cii_open_case": _ep("policy", *CASES, needs=_OWNER, ok_get=frozenset({200, 302}), reads=_CORE),
    "cii_detail": _ep("policy", *CIIS, needs=(("plan.read", "case:plan"),), reads=_PLAN),
    "cii_profile": _ep("policy", *CIIS, needs=(("plan.write", "case:plan"),), reads=_PLAN),
    "cii_coordinator": _ep("policy", *CIIS, needs=_OWNER),
    "cii_renew": _ep("policy", *CIIS, needs=_OWNER),
    "cii_partner_add": _ep("policy", *CIIS, needs=_OWNER),
    "cii_partner_remove": _ep("policy", *CII_PARTNERS, needs=_OWNER, **POST_ONLY),
    "cii_close": _ep("policy", *CIIS, needs=_STEP("case.transition"), reads=_PLAN),
    # the integration plan (issue 8): the dossier's plan section
    # with the client's assessment synthesis for those who may read that section
    "plan_detail": _ep("policy", *CASES, needs=_PLAN_READ, reads=("plan", "assessment")),
    # an existing plan answers with a redirect to it
    "plan_create": _ep("policy", *CASES, needs=_PLAN_WRITE, ok_get=frozenset({200, 302})),
    "plan_pdf": _ep("policy", *PLANNED, needs=_PLAN_READ, reads=_PLAN, read_kind="print"),
    "goal_add": _ep("policy", *PLANNED, needs=_PLAN_WRITE),
    "goal_edit": _ep("policy", *GOALS, needs=_PLAN_WRITE, reads=_PLAN),
    "measure_create": _ep("policy", *PLANNED, needs=_PLAN_WRITE),
    "measure_detail": _ep("policy", *MEASURES, needs=_PLAN_READ, reads=_PLAN),
    "measure_edit": _ep("policy", *MEASURES, needs=_PLAN_WRITE, reads=_PLAN),
    "measure_book": _ep("policy", *MEASURES, needs=_PLAN_WRITE, reads=_PLAN),
    # without a booking the cancel answers with a message and a redirect
    "booking_cancel": _ep("policy", *MEASURES, needs=_PLAN_WRITE, **POST_ONLY),
    "measure_document_upload": _ep("policy", *MEASURES, needs=_PLAN_WRITE),
    "measure_document_download": _ep("policy", *MEASURE_DOCUMENTS, needs=_PLAN_READ, reads=_PLAN),
    # a person's AIS timeline (decision 0021): the plan, and the assessments for those who may
    # read them; recording a situation change is a write of the plan (its GET goes back)
    "person_timeline": _ep(
        "policy", *TIMELINE_PERSONS, needs=_PLAN_READ, reads=("plan", "assessment")
    ),
    "situation_add": _ep("policy", *TIMELINE_PERSONS, needs=_PLAN_WRITE, ok_get=frozenset({302})),
    # marking a situation entry as recorded in error: a write of the plan, its page shows the
    # entry (a plan read)
    "situation_in_error": _ep("policy", *SITUATIONS, needs=_PLAN_WRITE, reads=_PLAN),
    # the canton's catalogue and plan templates
    "catalogue": _ep("policy", needs=(("catalogue.read", "org"),)),
    "programme_detail": _ep("policy", *PROGRAMMES, needs=(("catalogue.read", "canton"),)),
    "programme_create": _ep("policy", needs=(("catalogue.manage", "org"),)),
    "programme_edit": _ep("policy", *PROGRAMMES, needs=(("catalogue.manage", "canton"),)),
    "period_create": _ep("policy", *PROGRAMMES, needs=(("catalogue.manage", "canton"),)),
    "period_edit": _ep("policy", *PERIODS, needs=(("catalogue.manage", "canton"),)),
    "provider_list": _ep("policy", needs=(("catalogue.manage", "org"),)),
    "provider_create": _ep("policy", needs=(("catalogue.manage", "org"),)),
    "provider_edit": _ep("policy", *PROVIDERS, needs=(("catalogue.manage", "canton"),)),
    "plan_templates": _ep("policy", needs=(("template.manage", "org"),)),
    "milestone_rules": _ep("policy", needs=(("template.manage", "org"),)),
    "plan_template_create": _ep("policy", needs=(("template.manage", "org"),)),
    "plan_template_edit": _ep("policy", *TEMPLATES, needs=(("template.manage", "canton"),)),
    # potential assessments (issue 8): a dossier's assessments, a person's history, templates
    "case_assessments": _ep("policy", *CASES, needs=_READ_ASSESSMENT, reads=_ASSESSMENT),
    "assessment_create": _ep("policy", *CASES, needs=_WRITE_ASSESSMENT),
    "assessment_detail": _ep("policy", *ASSESSMENTS, needs=_READ_ASSESSMENT, reads=_ASSESSMENT),
    "assessment_edit": _ep("policy", *ASSESSMENTS, needs=_WRITE_ASSESSMENT, reads=_ASSESSMENT),
    "assessment_discard": _ep("policy", *ASSESSMENTS, needs=_WRITE_ASSESSMENT, **POST_ONLY),
    "assessment_pdf": _ep(
        "policy", *ASSESSMENTS, needs=_READ_ASSESSMENT, reads=_ASSESSMENT, read_kind="print"
    ),
    # third-party input (A8): links to providers, their entries reviewed by the worker, and the
    # provider's public page (a valid link opens the form; an empty POST shows its errors; the
    # opening is logged under the worker who sent the link)
    "assessment_link_create": _ep("policy", *CASES, needs=_WRITE_ASSESSMENT),
    "assessment_link_revoke": _ep("policy", *LINKS, needs=_WRITE_ASSESSMENT, **POST_ONLY),
    "assessment_accept": _ep("policy", *ASSESSMENTS, needs=_WRITE_ASSESSMENT, **POST_ONLY),
    # the matrix's assessment is the staff's own draft: nothing to reject, back to its page
    "assessment_reject": _ep(
        "policy", *ASSESSMENTS, needs=_WRITE_ASSESSMENT, reads=_ASSESSMENT, ok_get=frozenset({302})
    ),
    "assessment_link_form": _ep(
        "public", "provider_link", ok_post=frozenset({200}), reads=("core",), read_kind="link"
    ),
    "assessment_person_history": _ep(
        "policy", *ASSESSED, needs=_READ_ASSESSMENT, reads=_ASSESSMENT
    ),
    "assessment_person_history_pdf": _ep(
        "policy", *ASSESSED, needs=_READ_ASSESSMENT, reads=_ASSESSMENT, read_kind="print"
    ),
    "template_list": _ep("policy", needs=(("template.manage", "org"),)),
    # the canton analyst's indicators from the anonymised extract (decision 0032): no dossier
    # section is read; the list is GET only, the detail's POST keeps the figure shown
    "indicator_list": _ep("policy", needs=(("steering.read", "org"),), ok_post=frozenset({405})),
    "indicator_detail": _ep(
        "policy", "indicator", "missing_indicator", needs=(("steering.read", "org"),)
    ),
    # the indicator editor (decision 0039): an empty POST shows the form's errors and saves
    # nothing; an empty retire changes nothing and goes back to the indicator
    "indicator_create": _ep(
        "policy", needs=(("indicator.define", "org"),), ok_post=frozenset({200})
    ),
    "indicator_edit": _ep(
        "policy",
        "indicator",
        "missing_indicator",
        needs=(("indicator.define", "org"),),
        ok_post=frozenset({200}),
    ),
    "indicator_history": _ep(
        "policy",
        "indicator",
        "missing_indicator",
        needs=(("steering.read", "org"),),
        ok_post=frozenset({405}),
    ),
    "indicator_retire": _ep(
        "policy",
        "indicator",
        "missing_indicator",
        needs=(("indicator.define", "org"),),
        **POST_ONLY,
    ),
    "template_create": _ep("policy", needs=(("template.manage", "org"),)),
    "template_detail": _ep(
        "policy", "template", "other_template", "missing_template", needs=_TEMPLATES
    ),
    "template_draft_create": _ep(
        "policy", "template", "other_template", "missing_template", needs=_TEMPLATES, **POST_ONLY
    ),
    "template_version": _ep(
        "policy", "version", "other_version", "missing_version", needs=_TEMPLATES
    ),
    "template_publish": _ep(
        "policy", "version", "other_version", "missing_version", needs=_TEMPLATES, **POST_ONLY
    ),
    "template_version_change": _ep(
        "policy", "version", "other_version", "missing_version", needs=_TEMPLATES, **POST_ONLY
    ),
    "template_section_create": _ep(
        "policy", "version", "other_version", "missing_version", needs=_TEMPLATES
    ),
    "template_codelist_create": _ep(
        "policy", "version", "other_version", "missing_version", needs=_TEMPLATES
    ),
    "template_section_edit": _ep(
        "policy", "section", "other_section", "missing_section", needs=_TEMPLATES
    ),
    "template_field_create": _ep(
        "policy", "section", "other_section", "missing_section", needs=_TEMPLATES
    ),
    "template_field_edit": _ep("policy", "field", "other_field", "missing_field", needs=_TEMPLATES),
    "template_codelist_edit": _ep(
        "policy", "codelist", "other_codelist", "missing_codelist", needs=_TEMPLATES
    ),
    # the organisation's API tokens (decision 0028): its super-user's page; the schema and the
    # docs need a session, any member's
    "api_tokens": _ep("policy", needs=(("org.manage_users", "org"),), ok_post=frozenset({200})),
    "api_token_revoke": _ep(
        "policy",
        "api_token",
        "partner_api_token",
        "missing_api_token",
        needs=(("org.manage_users", "org"),),
        **POST_ONLY,
    ),
    "openapi-json": _ep("account", post=False),
    "openapi-view": _ep("account", post=False),
    **API_ENDPOINTS,
    # dossier transfer between services (P3, P4; decision 0026): the offer form shows the
    # dossier's core data; the offers page and the decision forms show the offered client's
    # identity (as a share does) and the note, no section
    "transfer_offer": _ep(
        "policy",
        *CASES,
        needs=(("core.read", "case:core"), ("case.transfer_offer", "case:core")),
        reads=_CORE,
    ),
    "transfer_list": _ep("policy", needs=(("case.transfer_decide", "org"),)),
    "transfer_accept": _ep("policy", *TRANSFERS, needs=_RECEIVER),
    "transfer_decline": _ep("policy", *TRANSFERS, needs=_RECEIVER),
    "transfer_withdraw": _ep(
        "policy", *TRANSFERS, needs=(("case.transfer_offer", "transfer:sender"),), **POST_ONLY
    ),
}

TEMPLATE_PARTS = ("template", "version", "section", "field", "codelist")


def build_template_target(kind: str) -> Target:
    """A draft template version of canton Bern (the personas' canton) or Vaud (``other_``), made
    fresh for each request, with one section, a choice field and its code list."""
    name = kind.removeprefix("other_").removeprefix("missing_")
    if kind.startswith("missing_"):
        return Target({f"{name}_id": 987654321}, Subject(missing=True), kind)
    canton = "VD" if kind.startswith("other_") else "BE"
    template = AssessmentTemplate.objects.create(
        canton=canton,
        code=f"matrix_{uuid.uuid4().hex[:12]}",
        name_fr="Bilan",
        name_de="Abklärung",
    )
    version = TemplateVersion.objects.create(template=template, number=1)
    code_list = CodeList.objects.create(version=version, key="levels", label_fr="N", label_de="N")
    CodeItem.objects.create(
        code_list=code_list, version=version, code="a", label_fr="a", label_de="a"
    )
    section = TemplateSection.objects.create(version=version, key="s", label_fr="S", label_de="S")
    field = TemplateField.objects.create(
        section=section,
        version=version,
        key="f",
        kind="choice",
        code_list=code_list,
        label_fr="F",
        label_de="F",
    )
    pk = {
        "template": template.pk,
        "version": version.pk,
        "section": section.pk,
        "field": field.pk,
        "codelist": code_list.pk,
    }[name]
    return Target({f"{name}_id": pk}, Subject(canton=canton), kind)


def build_assessment_target(world: Any, kind: str) -> Target:
    """A draft assessment of a dossier's client (fresh: a POST may discard it), or the client's
    history reached through the dossier."""
    case = world.other_case if kind.startswith("other_") else world.case
    name = kind.removeprefix("other_").removeprefix("missing_")
    if kind.startswith("missing_"):
        key = "assessment_id" if name == "assessment" else "person_id"
        return Target({"case_id": case.pk, key: uuid.uuid4()}, Subject(missing=True), kind)
    subject = Subject(case=case, person=case.client)
    if name == "assessed_person":
        return Target({"case_id": case.pk, "person_id": case.client_id}, subject, kind)
    version = TemplateVersion.objects.get(
        template__canton="BE", template__code="potential_assessment"
    )
    assessment = Assessment.objects.create(
        case=case,
        owner_id=case.owner_id,
        person=case.client,
        version=version,
        assessed_on=case.opened_on,
        created_by=world.colleague.user if case is world.case else world.outsider.user,
    )
    return Target({"case_id": case.pk, "assessment_id": assessment.pk}, subject, kind)


def build_link_target(world: Any, kind: str) -> Target:
    """A fresh open link to a provider for the dossier's client (``other_``: of the outsider's
    dossier); ``provider_link``: its token, for the public page, with the dossier it reads."""
    case = world.other_case if kind.startswith("other_") else world.case
    if kind.startswith("missing_"):
        return Target({"case_id": case.pk, "link_id": uuid.uuid4()}, Subject(missing=True), kind)
    version = TemplateVersion.objects.get(
        template__canton="BE", template__code="potential_assessment"
    )
    token = "matrix-" + uuid.uuid4().hex
    now = timezone.now()
    link = AssessmentLink.objects.create(
        case=case,
        owner_id=case.owner_id,
        person=case.client,
        version=version,
        sections=["languages"],
        recipient="École de langues",
        channel="email",
        email="cours@example.ch",
        token_hash=token_hash(token),
        created_by=world.worker.user if case is world.case else world.outsider.user,
        created_at=now,
        expires_at=now + datetime.timedelta(days=7),
    )
    if kind == "provider_link":
        return Target({"token": token}, Subject(case=case, public=True), kind)
    return Target({"case_id": case.pk, "link_id": link.pk}, Subject(case=case), kind)


def shs_delivery_target(world: Any, kind: str) -> Target:
    """An SHS delivery of the service or of the outsider's service; ``Subject.membership``
    names the organisation it belongs to (scope "org")."""
    if kind == "missing_shs_delivery":
        return Target({"delivery_id": 987654321}, Subject(missing=True), kind)
    persona = world.head if kind == "shs_delivery" else world.outsider
    version = ShsMappingVersion.objects.get_or_create(canton="BE", number=1)[0]
    delivery = ShsDelivery.objects.get_or_create(
        organisation=persona.membership.organisation,
        month=datetime.date(2026, 1, 1),
        mapping=version,
        defaults={"content": "month\n", "sha256": "0" * 64, "dossiers": 0, "rows": 0},
    )[0]
    return Target({"delivery_id": delivery.pk}, Subject(membership=persona.membership), kind)


def person_list_export_target(world: Any, kind: str) -> Target:
    """A finished export of the section head's (``other_``: of the worker's, in the same
    service), its file in the test's private storage."""
    if kind == "missing_person_list_export":
        return Target({"export_id": uuid.uuid4()}, Subject(missing=True), kind)
    persona = world.head if kind == "person_list_export" else world.worker
    export_id = uuid.uuid4()
    name = default_storage.save(f"person-lists/{export_id.hex}.csv", ContentFile(b"\xef\xbb\xbf"))
    export = PersonListExport.objects.create(
        id=export_id,
        user=persona.user,
        organisation=persona.membership.organisation,
        role=persona.membership.role,
        format="csv",
        language="fr",
        status="done",
        rows_total=0,
        file=name,
        sha256="0" * 64,
        size=3,
        finished_at=timezone.now(),
    )
    return Target({"export_id": export.pk}, Subject(owner=persona.membership), kind)


@dataclass
class Target:
    kwargs: dict[str, Any]
    subject: Subject
    label: str


def build_target(world: Any, bystander: Organisation, kind: str) -> Target:
    """A concrete object for a URL. Objects that an allowed POST changes are made fresh for each
    request, and tied to a bystander organisation so they change no persona's relations."""
    case, other = world.case, world.other_case
    if kind == "none":
        return Target({}, Subject(), kind)
    if kind == "indicator":
        return Target({"key": "ais_language_a1"}, Subject(), kind)
    if kind == "missing_indicator":
        return Target({"key": "no-such-indicator"}, Subject(missing=True), kind)
    if kind == "missing_upload":
        return Target({"token": uuid.uuid4()}, Subject(missing=True), kind)
    if kind in ("case", "other_case"):
        obj = case if kind == "case" else other
        return Target({"case_id": obj.pk}, Subject(case=obj, person=obj.client), kind)
    if kind == "missing_case":
        return Target({"case_id": uuid.uuid4()}, Subject(missing=True), kind)
    if kind in ("person", "other_person"):
        obj = case if kind == "person" else other
        return Target({"person_id": obj.client_id}, Subject(person=obj.client), kind)
    if kind == "missing_person":
        return Target({"person_id": uuid.uuid4()}, Subject(missing=True), kind)
    if kind in ("share", "other_share"):
        obj = case if kind == "share" else other
        share = factories.ShareFactory(case=obj, organisation=bystander, granted_by=world.head.user)
        return Target({"case_id": obj.pk, "share_id": share.pk}, Subject(case=obj), kind)
    if kind == "missing_share":
        return Target({"case_id": case.pk, "share_id": uuid.uuid4()}, Subject(missing=True), kind)
    if kind in ("consent", "other_consent"):
        obj = case if kind == "consent" else other
        consent = Consent.objects.create(
            case=obj,
            owner_id=obj.owner_id,
            person=obj.client,
            kind="general",
            scope="Échange avec le partenaire",
            signed_on=timezone.localdate() - datetime.timedelta(days=3),
            recorded_by=world.head.user,
        )
        return Target({"case_id": obj.pk, "consent_id": consent.pk}, Subject(case=obj), kind)
    if kind == "missing_consent":
        return Target({"case_id": case.pk, "consent_id": 987654321}, Subject(missing=True), kind)
    if kind in ("membership", "partner_membership"):
        org = world.service_org if kind == "membership" else world.partner_org
        membership = factories.MembershipFactory(organisation=org, role="social_worker")
        return Target({"membership_id": membership.pk}, Subject(membership=membership), kind)
    if kind == "missing_membership":
        return Target({"membership_id": 987654321}, Subject(missing=True), kind)
    if kind in ("api_token", "partner_api_token"):
        persona = world.superuser if kind == "api_token" else world.partner_superuser
        made = api_tokens.do_create_token(
            actor=persona.actor, name="Matrix", scopes=["cases:read"], expires_at=None
        )
        return Target({"token_id": made.token.pk}, Subject(membership=persona.membership), kind)
    if kind == "missing_api_token":
        return Target({"token_id": 987654321}, Subject(missing=True), kind)
    if kind == "signin_link":
        token = "matrix-" + uuid.uuid4().hex
        now = timezone.now()
        SignInLink.objects.create(
            user=factories.UserFactory(),
            purpose="invitation",
            token_hash=token_hash(token),
            created_at=now,
            expires_at=now + datetime.timedelta(hours=1),
        )
        return Target({"token": token}, Subject(), kind)
    if kind.startswith(("cii", "other_cii", "missing_cii")):
        return cii_target(world, kind)
    if kind in TRANSFERS:
        return transfer_target(world, bystander, kind)
    if kind in SHS_DELIVERIES:
        return shs_delivery_target(world, kind)
    if kind in PERSON_LIST_EXPORTS:
        return person_list_export_target(world, kind)
    plan_target = build_plan_target(world, kind)
    if plan_target is not None:
        return plan_target
    bare = kind.removeprefix("other_").removeprefix("missing_")
    if bare in TEMPLATE_PARTS:
        return build_template_target(kind)
    if bare in ("assessment", "assessed_person"):
        return build_assessment_target(world, kind)
    if bare in ("third_party_link", "provider_link"):
        return build_link_target(world, kind)
    if kind.startswith("missing_"):
        arg = {"contact": "contact_id", "task": "task_id", "proposal": "proposal_id"}
        name = kind.removeprefix("missing_")
        if name == "document":
            return Target({"document_id": uuid.uuid4()}, Subject(missing=True), kind)
        kwargs = {arg[name]: 987654321}
        if name in ("contact", "proposal"):
            kwargs["case_id"] = case.pk
        return Target(kwargs, Subject(missing=True), kind)
    obj = other if kind.startswith("other_") else case
    author = world.outsider.user if obj is other else world.colleague.user
    if kind in ("contact", "other_contact"):
        contact = Contact.objects.filter(case=obj).first() or Contact.objects.create(
            case=obj,
            owner_id=obj.owner_id,
            kind="interview",
            date=obj.opened_on,
            topic=Topic.objects.get(code="health"),
            duration_minutes=30,
            counts=True,
            is_face_to_face=True,
            recorded_by=author,
        )
        return Target({"case_id": obj.pk, "contact_id": contact.pk}, Subject(case=obj), kind)
    if kind in ("task", "other_task"):
        task = Task.objects.create(
            case=obj,
            owner_id=obj.owner_id,
            title="Tâche",
            due_on=timezone.localdate(),
            assigned_role="social_worker",
        )
        return Target({"task_id": task.pk}, Subject(case=obj, task_owner=task.owner_id), kind)
    if kind in ("document", "other_document"):
        document = Document.objects.filter(case=obj).first()
        if document is None:
            document = Document(
                case=obj,
                owner_id=obj.owner_id,
                original_name="bail.pdf",
                content_type="application/pdf",
                size=9,
                sha256="0" * 64,
                uploaded_by=author,
                uploaded_by_org_id=obj.owner_id,
            )
            document.file.save(document.pk.hex, ContentFile(b"%PDF-1.7\n"), save=False)
            document.save()
        return Target({"document_id": document.pk}, Subject(case=obj), kind)
    if kind in ("proposal", "other_proposal"):
        proposal = SegmentProposal.objects.filter(
            case=obj
        ).first() or SegmentProposal.objects.create(
            case=obj,
            owner_id=obj.owner_id,
            kind="initial",
            segment="B",
            justification="Besoin de conseils",
            proposed_by=author,
        )
        return Target({"case_id": obj.pk, "proposal_id": proposal.pk}, Subject(case=obj), kind)
    raise AssertionError(f"unknown target {kind}")


def transfer_target(world: Any, bystander: Organisation, kind: str) -> Target:
    """A pending offer (made again when a POST withdrew it): the service's dossier to the
    bystander, or a fresh dossier of the outsider's service (not a canary) to the service."""
    if kind == "missing_transfer":
        return Target({"transfer_id": uuid.uuid4()}, Subject(missing=True), kind)
    if kind == "transfer":
        sender, receiver, case = world.service_org, bystander, world.case
    else:
        sender, receiver, case = world.outsider_org, world.service_org, None
    found = DossierTransfer.objects.filter(owner=sender, receiver=receiver, status="pending")
    offer = found.first()
    if offer is None:
        offer = DossierTransfer.objects.create(
            case=case or factories.CaseFactory(owner=sender, responsible=world.outsider.user),
            owner=sender,
            receiver=receiver,
            kind="move",
            note="Déménagement",
            cut_over_on=timezone.localdate(),
            tasks="hand_over",
            shares="keep",
            offered_by=world.head.user if sender == world.service_org else world.outsider.user,
        )
    subject = Subject(transfer_sender=sender.pk, transfer_receiver=receiver.pk)
    return Target({"transfer_id": offer.pk}, subject, kind)


def cii_record(world: Any, case: Case) -> CiiCase:
    """The CII record of one of the world's dossiers, made once: the dossier becomes a CII
    dossier with a general authorisation (nothing is shared by it)."""
    found = CiiCase.objects.filter(case=case).select_related("consent").first()
    if found is not None:
        return found
    Case.objects.filter(pk=case.pk).update(domain="cii")
    case.domain = "cii"
    consent = Consent.objects.create(
        case=case,
        owner_id=case.owner_id,
        person=case.client,
        kind="general",
        scope="CII",
        signed_on=case.opened_on,
        recorded_by=case.responsible,
    )
    return CiiCase.objects.create(
        case=case,
        owner_id=case.owner_id,
        owner_body="social_assistance",
        coordinator=case.responsible,
        consent=consent,
        opened_on=case.opened_on,
    )


def cii_target(world: Any, kind: str) -> Target:
    """A CII record, or a partner of one (a fresh IV office each time, so that removing it
    changes no persona's relations)."""
    if kind.startswith("missing_"):
        kwargs: dict[str, Any] = {"case_id": uuid.uuid4()}
        if kind == "missing_cii_partner":
            kwargs = {"case_id": world.case.pk, "partner_id": 987654321}
        return Target(kwargs, Subject(missing=True), kind)
    case = world.other_case if kind.startswith("other_") else world.case
    record = cii_record(world, case)
    subject = Subject(case=case, person=case.client)
    if not kind.endswith("_partner"):
        return Target({"case_id": case.pk}, subject, kind)
    office = factories.OrganisationFactory(kind=OrganisationKind.CII_PARTNER)
    share = factories.ShareFactory(
        case=case,
        organisation=office,
        sections=["journal", "plan"],
        access="write",
        basis="consent",
        consent=record.consent,
        granted_by=case.responsible,
    )
    partner = CiiPartner.objects.create(
        cii_case=record,
        case=case,
        owner_id=case.owner_id,
        organisation=office,
        body="invalidity_insurance",
        case_number="AI-1",
        share=share,
        added_by=case.responsible,
    )
    return Target({"case_id": case.pk, "partner_id": partner.pk}, subject, kind)


def _plan_of(case: Case, author: Any) -> Plan:
    plan = Plan.objects.filter(case=case).first()
    if plan is None:
        plan = Plan.objects.create(case=case, owner_id=case.owner_id, created_by=author)
        PlanGoal.objects.create(plan=plan, case=case, owner_id=case.owner_id, key="reinsertion")
    return plan


def _catalogue_of(world: Any, canton: str) -> Period:
    """A provider, programme and period of the canton's catalogue (made once per canton)."""
    found = Period.objects.filter(programme__canton=canton).select_related("programme").first()
    if found is not None:
        return found
    if canton == world.officer.membership.organisation.canton:
        office = world.officer.membership.organisation
    else:
        office = factories.OrganisationFactory(kind=OrganisationKind.CANTON_OFFICE, canton=canton)
    provider = Provider.objects.create(
        owner=office, canton=canton, name=f"Prestataire {canton}", kind="association"
    )
    programme = Programme.objects.create(
        owner=office,
        canton=canton,
        provider=provider,
        name=f"Cours {canton}",
        category="language_course",
        cost_per_place=100,
    )
    start = timezone.localdate() + datetime.timedelta(days=10)
    return Period.objects.create(
        owner=office,
        programme=programme,
        starts_on=start,
        ends_on=start + datetime.timedelta(days=30),
        places=5,
    )


CATALOGUE_KINDS = {"programme": "programme_id", "period": "period_id", "provider": "provider_id"}


def build_plan_target(world: Any, kind: str) -> Target | None:
    """Targets of the plans app: dossiers with a plan, goals, measures, their documents, and
    catalogue objects of the personas' canton (BE) or another one (VD)."""
    base = kind.removeprefix("missing_").removeprefix("other_").removeprefix("foreign_")
    if base in CATALOGUE_KINDS or base == "plan_template":
        arg = CATALOGUE_KINDS.get(base, "template_id")
        if kind.startswith("missing_"):
            return Target({arg: 987654321}, Subject(missing=True), kind)
        canton = "VD" if kind.startswith("foreign_") else "BE"
        if base == "plan_template":
            office = _catalogue_of(world, canton).owner
            template = PlanTemplate.objects.filter(canton=canton).first()
            if template is None:
                template = PlanTemplate.objects.create(
                    owner=office, canton=canton, name=f"Modèle {canton}", goals=["health"]
                )
            return Target({arg: template.pk}, Subject(canton=canton), kind)
        period = _catalogue_of(world, canton)
        pk = {"programme": period.programme_id, "period": period.pk}.get(
            base, period.programme.provider_id
        )
        return Target({arg: pk}, Subject(canton=canton), kind)
    if base not in (
        "planned_case",
        "goal",
        "measure",
        "measure_document",
        "timeline_person",
        "situation_entry",
    ):
        return None
    case = world.other_case if kind.startswith("other_") else world.case
    author = world.outsider.user if kind.startswith("other_") else world.colleague.user
    if kind.startswith("missing_"):
        extra = {"goal": "goal_id", "measure": "measure_id"}
        if base == "timeline_person":
            _plan_of(case, author)
            kwargs = {"case_id": case.pk, "person_id": uuid.uuid4()}
            return Target(kwargs, Subject(missing=True), kind)
        if base == "situation_entry":
            _plan_of(case, author)
            kwargs = {"case_id": case.pk, "person_id": case.client_id, "entry_id": 987654321}
            return Target(kwargs, Subject(missing=True), kind)
        if base == "measure_document":
            measure = Measure.objects.filter(case_id=case.pk).first()
            if measure is None:
                measure = Measure.objects.create(
                    plan=_plan_of(case, author),
                    case=case,
                    owner_id=case.owner_id,
                    title="Mesure",
                    category="other",
                    created_by=author,
                    created_by_org_id=case.owner_id,
                )
            kwargs = {"case_id": case.pk, "measure_id": measure.pk, "document_id": uuid.uuid4()}
            return Target(kwargs, Subject(missing=True), kind)
        return Target({"case_id": case.pk, extra[base]: 987654321}, Subject(missing=True), kind)
    plan = _plan_of(case, author)
    subject = Subject(case=case, person=case.client)
    if base == "planned_case":
        return Target({"case_id": case.pk}, subject, kind)
    if base == "timeline_person":
        return Target({"case_id": case.pk, "person_id": case.client_id}, subject, kind)
    if base == "situation_entry":
        entry = SituationEntry.objects.filter(case_id=case.pk).first()
        if entry is None:
            entry = SituationEntry.objects.create(
                case=case,
                owner_id=case.owner_id,
                person=case.client,
                kind="education",
                value="bridging",
                since=timezone.localdate(),
                recorded_by=author,
            )
        kwargs = {"case_id": case.pk, "person_id": case.client_id, "entry_id": entry.pk}
        return Target(kwargs, subject, kind)
    if base == "goal":
        goal = PlanGoal.objects.filter(plan=plan).first()
        return Target({"case_id": case.pk, "goal_id": goal.pk}, subject, kind)
    measure = Measure.objects.filter(plan=plan).first() or Measure.objects.create(
        plan=plan,
        case=case,
        owner_id=case.owner_id,
        title="Cours de français",
        category="language_course",
        created_by=author,
        created_by_org_id=case.owner_id,
    )
    if base == "measure":
        return Target({"case_id": case.pk, "measure_id": measure.pk}, subject, kind)
    attachment = MeasureDocument.objects.filter(measure=measure).first()
    if attachment is None:
        document = Document(
            case=case,
            owner_id=case.owner_id,
            original_name="attestation.pdf",
            content_type="application/pdf",
            size=9,
            sha256="0" * 64,
            uploaded_by=author,
            uploaded_by_org_id=case.owner_id,
        )
        document.file.save(document.pk.hex, ContentFile(b"%PDF-1.7\n"), save=False)
        document.save()
        attachment = MeasureDocument.objects.create(
            measure=measure, document=document, case=case, owner_id=case.owner_id, kind="report"
        )
    kwargs = {"case_id": case.pk, "measure_id": measure.pk, "document_id": attachment.document_id}
    return Target(kwargs, subject, kind)


# What a forbidden request must not change: per model, the fields a write would touch (an
# empty tuple: the number of rows).
WATCHED: tuple[tuple[Any, tuple[str, ...]], ...] = (
    (Case, ("version", "status", "closed_on")),
    (Share, ("revoked_at",)),
    (Consent, ("withdrawn_on",)),
    (Membership, ("is_active",)),
    (Person, ("version",)),
    (CaseTransition, ()),
    (ReadLog, ()),
    (Task, ("status",)),
    (SegmentProposal, ("status",)),
    (DossierTransfer, ("status",)),
    (Contact, ()),
    (Document, ()),
    (SignInLink, ()),
    (Organisation, ("mfa_required",)),
    (CiiCase, ("version", "exit_state")),
    (CiiPartner, ("left_at",)),
    (Measure, ("version", "status")),
    (PersonListExport, ("status", "rows_written")),
    (Booking, ("status",)),
    (PlanGoal, ()),
    (Plan, ()),
    (MeasureDocument, ()),
    (Programme, ("name", "is_active")),
    (Provider, ("name",)),
    (Period, ("places",)),
    (PlanTemplate, ("name", "goals")),
    (Assessment, ("status", "revision", "review")),
    (AssessmentLink, ("used_at", "revoked_at")),
    (TemplateVersion, ("status",)),
    (TemplateSection, ("position",)),
    (TemplateField, ("position",)),
    (CodeList, ()),
    (AssessmentTemplate, ()),
    (MilestoneRule, ()),
    (SituationEntry, ("error_at",)),
    (ApiToken, ("revoked_at",)),
)


def _fingerprint_sql() -> str:
    """Table and column names come from the models' metadata, never from input."""
    parts = []
    for model, fields in WATCHED:
        meta = model._meta
        table, pk = meta.db_table, meta.pk.column
        if fields:
            columns = ", ".join([pk, *(meta.get_field(f).column for f in fields)])
            rows = f"string_agg(row({columns})::text, '|' ORDER BY {pk})"
            parts.append(f"(SELECT md5(coalesce({rows}, '')) FROM {table})")  # noqa: S608
        else:
            parts.append(f"(SELECT count(*)::text FROM {table})")  # noqa: S608
    return "SELECT " + ", ".join(parts)


def fingerprint() -> tuple[Any, ...]:
    """What a forbidden request must not change, read in one query (it runs twice around
    every forbidden POST: thousands of times)."""
    with connection.cursor() as cursor:
        cursor.execute(_fingerprint_sql())
        return tuple(cursor.fetchone())


def _status(client: Client, method: str, url: str) -> tuple[int, str, str]:
    """Status, body and Location of a request; an exception counts as status 0."""
    try:
        response = client.post(url, {}) if method == "POST" else client.get(url)
    except Exception as exc:  # a crash is a finding, reported with the others
        return 0, f"{type(exc).__name__}: {exc}", ""
    if response.streaming:  # read it all, as a browser would (this also closes the file)
        body = b"".join(response.streaming_content).decode(errors="replace")
    else:
        body = response.content.decode(errors="replace")
    return response.status_code, body, response.get("Location", "")


def _not_found_text(body: str, url: str) -> str:
    """A 404 page without what legitimately differs: the path and the masked CSRF token."""
    return re.sub(r"\b[A-Za-z0-9]{64}\b", "<csrf>", body.replace(url, "<url>"))


def _reads_since(last_id: int | None) -> list[tuple[str, str, str]]:
    rows = ReadLog.objects.order_by("id")
    if last_id is not None:
        rows = rows.filter(id__gt=last_id)
    return sorted(
        (str(r.case_id or r.person_id), r.section, r.kind)
        for r in rows.only("case_id", "person_id", "section", "kind")
    )


def _expected_reads(
    model: Model, persona: Any, endpoint: Endpoint, target: Target
) -> list[tuple[str, str, str]]:
    """The read-log rows an allowed GET writes: the page's sections the persona may read (the
    audit reads all of them; a person page reads the person's core data)."""
    subject = target.subject
    if subject.case is None:
        if subject.person is None or not endpoint.reads:
            return []
        return sorted((str(subject.person.pk), s, endpoint.read_kind) for s in endpoint.reads)
    case = subject.case
    shown = [
        s
        for s in endpoint.reads
        if endpoint.read_kind == "audit"
        or subject.public
        or model.may_case(persona, f"{s}.read", case, s)
    ]
    return sorted((str(case.pk), s, endpoint.read_kind) for s in shown)


def _denials(persona: Any) -> set[tuple[str, str]]:
    return {
        (e["object_type"], e["object_id"])
        for e in SecurityEvent.objects.filter(kind=DENIAL, user=persona.user).values_list(
            "detail", flat=True
        )
    }


def _denied_object(target: Target) -> tuple[str, str]:
    """What a refused request for this target is recorded as (the most specific object)."""
    kwargs = target.kwargs
    # a plan's objects (and a person's timeline) are refused at their dossier's door
    if "measure_id" in kwargs or target.label.endswith(("timeline_person", "situation_entry")):
        return "case", str(kwargs["case_id"])
    for key in (
        "transfer_id",
        "task_id",
        "document_id",
        "contact_id",
        "proposal_id",
        "assessment_id",
        "link_id",
        "template_id",
        "version_id",
        "section_id",
        "field_id",
        "codelist_id",
        "person_id",
        "programme_id",
        "period_id",
        "provider_id",
        "delivery_id",
        "export_id",
        "case_id",
    ):
        if key in kwargs:
            return key.removesuffix("_id"), str(kwargs[key])
    return ("", "")


def _session_on_api(client: Client, where: str, url: str, hidden: list[str]) -> list[str]:
    """A signed-in session reaches no API operation: the API answers tokens only (401, or
    405 for a method the path does not have), reads nothing and changes nothing."""
    problems = []
    last_read = ReadLog.objects.order_by("-id").values_list("id", flat=True).first()
    before = fingerprint()
    for method in ("GET", "POST"):
        status, body, _ = _status(client, method, url)
        if status not in (401, 405):
            problems.append(f"{where} {method} with a session: {status}, expected 401")
        problems += [f"{where} {method} shows the canary {c}" for c in hidden if c in body]
    if _reads_since(last_read) or fingerprint() != before:
        problems.append(f"{where}: a session's API request read or changed something")
    return problems


def setup_state(world: Any, state: str) -> Model:
    Person.objects.filter(pk=world.case.client_id).update(last_name=CANARY["case"])
    Person.objects.filter(pk=world.other_case.client_id).update(last_name=CANARY["other_case"])
    world.case.client.refresh_from_db()
    world.other_case.client.refresh_from_db()
    orgs = {
        "service_org": world.service_org,
        "partner_org": world.partner_org,
        "outsider_org": world.outsider_org,
    }
    shares = []
    for spec in STATES[state]:
        case = getattr(world, spec.case)
        org = orgs[spec.organisation]
        factories.ShareFactory(
            case=case,
            organisation=org,
            sections=list(spec.sections),
            access=spec.access,
            granted_by=world.head.user,
        )
        shares.append((case, org, spec.sections, spec.access))
    return Model(world=world, shares=shares)


@pytest.mark.parametrize("persona_name", PERSONAS)
@pytest.mark.parametrize("state", list(STATES))
def test_r11_r12_every_persona_on_every_url_gets_what_the_matrix_says(world, state, persona_name):
    """One state of the shares and one persona a test: the pairs spread over the workers."""
    model = setup_state(world, state)
    bystander = factories.OrganisationFactory(
        name="Bystander", kind=OrganisationKind.SOCIAL_SERVICE
    )
    routes = {r.name: r for r in ROUTES}
    problems: list[str] = []
    requests = 0
    persona = getattr(world, persona_name)
    client = persona.client()
    hidden = [
        CANARY[key]
        for key in ("case", "other_case")
        if not model.sees_canary(persona, getattr(world, key))
    ]
    for name, endpoint in ENDPOINTS.items():
        route = routes[name]
        for target_kind in endpoint.targets:
            target = build_target(world, bystander, target_kind)
            url = reverse(name, kwargs=target.kwargs)
            where = f"{persona_name} {name}[{target.label}] {url}"
            if endpoint.kind == "api":
                problems += _session_on_api(client, where, url, hidden)
                requests += 2
                continue
            if endpoint.kind == "policy":
                allowed = all(
                    model.allows(persona, need, target.subject) for need in endpoint.needs
                )
                role_has_action = bool(allowed_relations(persona.membership.role, route.action))
            elif endpoint.kind == "platform":
                allowed = role_has_action = persona.user.is_superuser
            else:
                allowed = role_has_action = True
            last_read = ReadLog.objects.order_by("-id").values_list("id", flat=True).first()
            denials_before = _denials(persona)
            if endpoint.post_only:
                expected_get = {405} if role_has_action else {404}
            else:
                expected_get = set(endpoint.ok_get) if allowed else {404}
            status, body, location = _status(client, "GET", url)
            requests += 1
            if status not in expected_get:
                problems.append(
                    f"{where} GET: {status}, expected {sorted(expected_get)}"
                    + (f" ({body[:200]})" if status == 0 else "")
                )
            for canary in hidden:
                if canary in body:
                    problems.append(f"{where} GET shows the canary {canary}")
            get_allowed = allowed and not endpoint.post_only
            logged = _reads_since(last_read)
            expected_reads = (
                _expected_reads(model, persona, endpoint, target) if get_allowed else []
            )
            if logged != expected_reads:
                problems.append(f"{where} GET: read log {logged}, expected {expected_reads}")
            denied = _denials(persona) - denials_before
            if denied - {_denied_object(target)}:
                problems.append(f"{where} GET: unexpected denials {denied}")
            refused_object = (
                endpoint.kind == "policy"
                and not allowed
                and role_has_action
                and not endpoint.post_only
                and not target.subject.missing
                and target.label != "none"
            )
            if refused_object and _denied_object(target) not in _denials(persona):
                problems.append(f"{where} GET: refused, but no security event")
            if not endpoint.post:
                continue
            if allowed and not endpoint.post_only:
                continue  # allowed form pages are exercised with real data elsewhere
            before = fingerprint()
            status, body, _ = _status(client, "POST", url)
            requests += 1
            expected_post = set(endpoint.ok_post) if allowed else {404}
            if status not in expected_post:
                problems.append(
                    f"{where} POST: {status}, expected {sorted(expected_post)}"
                    + (f" ({body[:200]})" if status == 0 else "")
                )
            if not allowed and fingerprint() != before:
                problems.append(f"{where} POST: forbidden, but the database changed")
            for canary in hidden:
                if canary in body:
                    problems.append(f"{where} POST shows the canary {canary}")
    assert requests > 300
    assert problems == [], f"{len(problems)} problems:\n" + "\n".join(problems)


def test_r12_the_fingerprint_sees_every_kind_of_write(world):
    """The matrix's "nothing changed" check can fail: a watched field, a new row and a
    deleted row each change it."""
    before = fingerprint()
    assert fingerprint() == before
    share = factories.ShareFactory(case=world.case, organisation=world.partner_org)
    added = fingerprint()
    assert added != before
    Share.objects.filter(pk=share.pk).update(revoked_at=timezone.now())
    revoked = fingerprint()
    assert revoked != added
    Share.objects.filter(pk=share.pk).delete()
    assert fingerprint() not in (added, revoked)
    assert len(before) == len(WATCHED)


def test_r12_forbidden_and_missing_objects_answer_the_same_404(world):
    """The outsider probes the service's objects: the answer equals that for a random ID."""
    bystander = factories.OrganisationFactory(name="Bystander")
    # endpoints with an object of someone else's and a missing one (an upload of the
    # platform's import has no owner to be foreign to: only its missing case is probed, by
    # test_r10/r11's matrix)
    probed = [
        n
        for n, e in ENDPOINTS.items()
        if e.kind != "api"
        and any(t.startswith("missing") for t in e.targets)
        and any(not t.startswith(("missing", "other")) for t in e.targets)
    ]
    assert len(probed) >= 10
    for name in probed:
        endpoint = ENDPOINTS[name]
        method = "POST" if endpoint.post_only else "GET"
        # A super-user of another organisation probes memberships, the outsider the rest.
        members = ("member_deactivate", "member_invite")
        prober = world.partner_superuser if name in members else world.outsider
        client = prober.client()
        forbidden_kind = next(t for t in endpoint.targets if not t.startswith(("missing", "other")))
        missing_kind = next(t for t in endpoint.targets if t.startswith("missing"))
        forbidden = build_target(world, bystander, forbidden_kind)
        missing = build_target(world, bystander, missing_kind)
        url_forbidden = reverse(name, kwargs=forbidden.kwargs)
        url_missing = reverse(name, kwargs=missing.kwargs)
        s1, body1, _ = _status(client, method, url_forbidden)
        s2, body2, _ = _status(client, method, url_missing)
        assert (s1, s2) == (404, 404), name
        assert _not_found_text(body1, url_forbidden) == _not_found_text(body2, url_missing), name


def test_r10_anonymous_requests_go_to_the_login_page(world):
    bystander = factories.OrganisationFactory(name="Bystander")
    client = Client()
    problems = []
    for name, endpoint in ENDPOINTS.items():
        for target_kind in endpoint.targets:
            target = build_target(world, bystander, target_kind)
            url = reverse(name, kwargs=target.kwargs)
            for method in ("GET", "POST"):
                before = fingerprint()
                status, body, location = _status(client, method, url)
                if endpoint.kind == "api":
                    if status not in (401, 405) or fingerprint() != before:
                        problems.append(f"{method} {url}: {status}, expected 401 without a token")
                    continue
                if name in PUBLIC_VIEWS:
                    if status not in {200, 204, 302, *endpoint.ok_get} or location.startswith(
                        LOGIN_PATH
                    ):
                        if not (name == "login" and status == 200):
                            problems.append(f"{method} {url}: public, got {status} {location}")
                    continue
                if status != 302 or not location.startswith(LOGIN_PATH + "?next="):
                    problems.append(f"{method} {url}: {status} {location}, expected login")
                if fingerprint() != before:
                    problems.append(f"{method} {url}: anonymous request changed the database")
                if CANARY["case"] in body:
                    problems.append(f"{method} {url}: shows a client name")
    assert problems == []


def test_r10_the_public_pages_answer_without_sign_in(db):
    client = Client()
    assert client.get(reverse("healthz")).status_code == 200
    response = client.post(reverse("set_language"), {"language": "de", "next": "/login/"})
    assert response.status_code == 302
    assert response.cookies["django_language"].value == "de"


# ---------------------------------------------------------------------------------------------
# Shares, seen through HTTP (R12)


def test_r12_partner_sees_only_the_shared_journal_and_loses_it_on_revocation(world):
    Person.objects.filter(pk=world.case.client_id).update(last_name=CANARY["case"])
    partner = world.partner.client()
    case_id = world.case.pk
    detail = reverse("case_detail", kwargs={"case_id": case_id})
    assert partner.get(detail).status_code == 404

    share = factories.ShareFactory(
        case=world.case,
        organisation=world.partner_org,
        sections=["journal"],
        access="read",
        granted_by=world.worker.user,
    )
    reads_before = ReadLog.objects.filter(case_id=case_id).count()
    Case.objects.filter(pk=case_id).update(title="Zytitlecanarywq")
    response = partner.get(detail)
    assert response.status_code == 200
    body = response.content.decode()
    # The share identifies the person it concerns; the rest of the core data is not shared.
    assert CANARY["case"] in body
    assert "Zytitlecanarywq" not in body
    assert reverse("person_detail", kwargs={"person_id": world.case.client_id}) not in body
    assert response.context["access"].readable_sections == ["journal"]
    assert response.context["access"].writable_sections == []
    rows = ReadLog.objects.filter(case_id=case_id).order_by("id")[reads_before:]
    assert [(r.user_id, r.organisation_id, r.section) for r in rows] == [
        (world.partner.user.pk, world.partner_org.pk, "journal")
    ]
    for name in ("case_edit", "case_close", "share_create", "consent_create", "audit_case"):
        assert partner.get(reverse(name, kwargs={"case_id": case_id})).status_code == 404, name
    revoke = reverse("share_revoke", kwargs={"case_id": case_id, "share_id": share.pk})
    assert partner.post(revoke).status_code == 404
    share.refresh_from_db()
    assert share.revoked_at is None

    # The owner revokes; the partner's very next request is refused.
    response = world.worker.client().post(revoke)
    assert response.status_code == 302
    assert partner.get(detail).status_code == 404
    assert not Case.objects.visible_to(world.partner.actor, section="journal").exists()


def test_r12_expired_share_and_withdrawn_consent_close_the_dossier_again(world):
    detail = reverse("case_detail", kwargs={"case_id": world.case.pk})
    partner = world.partner.client()
    consent = Consent.objects.create(
        case=world.case,
        owner=world.service_org,
        person=world.case.client,
        kind="general",
        scope="Insertion",
        signed_on=timezone.localdate() - datetime.timedelta(days=10),
        recorded_by=world.worker.user,
    )
    share = factories.ShareFactory(
        case=world.case,
        organisation=world.partner_org,
        basis="consent",
        consent=consent,
        granted_by=world.worker.user,
    )
    assert partner.get(detail).status_code == 200
    withdraw = reverse(
        "consent_withdraw", kwargs={"case_id": world.case.pk, "consent_id": consent.pk}
    )
    assert world.worker.client().post(withdraw).status_code == 302
    assert partner.get(detail).status_code == 404

    Share.objects.filter(pk=share.pk).update(consent=None, basis="legal")
    assert partner.get(detail).status_code == 200
    Share.objects.filter(pk=share.pk).update(
        valid_until=timezone.localdate() - datetime.timedelta(days=1)
    )
    assert partner.get(detail).status_code == 404


def test_r12_list_counts_per_scope(world):
    """Exact counts: the service's own list, the outsider's, the partner's shared list."""
    factories.CaseFactory(owner=world.service_org, responsible=world.colleague.user)
    factories.ShareFactory(
        case=world.other_case,
        organisation=world.partner_org,
        sections=["core"],
        granted_by=world.outsider.user,
    )
    expected = {
        ("worker", "mine"): 1,
        ("worker", "all"): 2,
        ("head", "all"): 2,
        ("outsider", "all"): 1,
        ("partner", "shared"): 1,
        ("partner", "all"): 1,  # core is shared, so it is in the full list too
    }
    for (persona, scope), count in expected.items():
        response = getattr(world, persona).client().get(reverse("case_list"), {"scope": scope})
        assert response.status_code == 200
        assert len(response.context["rows"]) == count, (persona, scope)


# ---------------------------------------------------------------------------------------------
# Random share/revoke/expire/withdraw steps against a Python model of the shares (R12)


def test_r12_visible_to_matches_a_model_of_the_shares(db):
    today = timezone.localdate()
    orgs = [
        factories.OrganisationFactory(name=f"Org {i}", kind=kind)
        for i, kind in enumerate(
            [
                OrganisationKind.SOCIAL_SERVICE,
                OrganisationKind.INTEGRATION_PARTNER,
                OrganisationKind.PROTECTION_AUTHORITY,
            ]
        )
    ]
    roles = {0: "social_worker", 1: "partner_staff", 2: "protection_staff"}
    actors = []
    for i, org in enumerate(orgs):
        for role in (roles[i], "admin_assistant"):
            membership = factories.MembershipFactory(organisation=org, role=role)
            actors.append(Actor(user=membership.user, membership=membership))
    granter = actors[0].user
    cases = [
        factories.CaseFactory(owner=orgs[0], responsible=actors[0].user),
        factories.CaseFactory(owner=orgs[0], responsible=None),
        factories.CaseFactory(owner=orgs[2], responsible=actors[4].user),
    ]

    class Shares(RuleBasedStateMachine):
        shares = Bundle("shares")

        @initialize()
        def start(self) -> None:
            Share.objects.all().delete()
            Consent.objects.all().delete()
            self.model: dict[uuid.UUID, dict[str, Any]] = {}

        @rule(
            target=shares,
            case=st.sampled_from(range(len(cases))),
            org=st.sampled_from(range(len(orgs))),
            sections=st.sets(st.sampled_from(SECTIONS), min_size=1, max_size=3),
            access=st.sampled_from(["read", "write"]),
            with_consent=st.booleans(),
        )
        def share(
            self, case: int, org: int, sections: set[str], access: str, with_consent: bool
        ) -> uuid.UUID | None:
            c, o = cases[case], orgs[org]
            if c.owner_id == o.pk:
                return None
            consent = None
            if with_consent:
                consent = Consent.objects.create(
                    case=c,
                    owner_id=c.owner_id,
                    person=c.client,
                    kind="general",
                    scope="x",
                    signed_on=today,
                    recorded_by=granter,
                )
            share = Share.objects.create(
                case=c,
                owner_id=c.owner_id,
                organisation=o,
                sections=sorted(sections),
                access=access,
                basis="consent" if consent else "legal",
                reason="test",
                consent=consent,
                valid_until=today + datetime.timedelta(days=30),
                granted_by=granter,
            )
            self.model[share.pk] = {
                "case": c.pk,
                "org": o.pk,
                "sections": set(sections),
                "access": access,
                "active": True,
                "consent": consent,
            }
            return share.pk

        @rule(share_id=consumes(shares))
        def revoke(self, share_id: uuid.UUID | None) -> None:
            if share_id is None:
                return
            Share.objects.filter(pk=share_id).update(revoked_at=timezone.now())
            self.model[share_id]["active"] = False

        @rule(share_id=consumes(shares))
        def expire(self, share_id: uuid.UUID | None) -> None:
            if share_id is None:
                return
            Share.objects.filter(pk=share_id).update(valid_until=today - datetime.timedelta(days=1))
            self.model[share_id]["active"] = False

        @rule(share_id=consumes(shares))
        def withdraw_consent(self, share_id: uuid.UUID | None) -> None:
            if share_id is None or self.model[share_id]["consent"] is None:
                return
            consent = self.model[share_id]["consent"]
            Consent.objects.filter(pk=consent.pk).update(withdrawn_on=today)
            for entry in self.model.values():
                if entry["consent"] is not None and entry["consent"].pk == consent.pk:
                    entry["active"] = False

        def expected(self, actor: Actor, section: str, write: bool) -> set[uuid.UUID]:
            action = f"{section}.{'write' if write else 'read'}"
            result = set()
            for c in cases:
                if c.owner_id == actor.organisation_id:
                    own = c.responsible_id == actor.user.pk
                    rel = Relation.OWN_CASE if own else Relation.OWN_ORG
                else:
                    rel = Relation.OTHER
                    for entry in self.model.values():
                        if (
                            entry["active"]
                            and entry["case"] == c.pk
                            and entry["org"] == actor.organisation_id
                            and section in entry["sections"]
                        ):
                            if entry["access"] == "write":
                                rel = Relation.SHARED_WRITE
                            elif rel == Relation.OTHER:
                                rel = Relation.SHARED_READ
                if is_allowed(actor.role, action, rel):
                    result.add(c.pk)
            return result

        @invariant()
        def visible_to_agrees(self) -> None:
            if not hasattr(self, "model"):
                return
            for actor in actors:
                for section in SECTIONS:
                    for write in (False, True):
                        got = set(
                            Case.objects.visible_to(
                                actor, section=section, write=write
                            ).values_list("pk", flat=True)
                        )
                        assert got == self.expected(actor, section, write), (
                            actor.role,
                            actor.organisation_id,
                            section,
                            write,
                        )

    run_state_machine_as_test(
        Shares,
        settings=settings(
            max_examples=15,
            stateful_step_count=8,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )


def test_r12_model_detects_a_leak(world):
    """The model above must be able to fail: a share to the partner changes what it expects."""
    model = setup_state(world, "journal_read")
    assert model.relation(world.partner, world.case, "journal") == Relation.SHARED_READ
    assert model.relation(world.partner, world.case, "core") == Relation.OTHER
    assert model.reads_any_section(world.partner, world.case)
    assert model.sees_canary(world.partner, world.case)  # a share identifies the person
    assert not model.sees_canary(world.outsider, world.case)
    assert not model.reads_any_section(world.partner, world.other_case)
    assert not model.sees_canary(world.partner, world.other_case)
    assert re.search(CANARY["case"], str(world.case.client))


# ---------------------------------------------------------------------------------------------
# The REST API (decision 0028): tokens of each organisation on every operation


@dataclass
class TokenPersona:
    """A token as the model sees it: its technical user in its organisation's API role."""

    name: str
    secret: str
    user: Any
    membership: Membership


def _token_persona(world: Any, name: str, org: Organisation, maker: Any) -> TokenPersona:
    made = api_tokens.do_create_token(
        actor=maker.actor, name=name, scopes=list(Scope.values), expires_at=None
    )
    membership = Membership(user=made.token.user, organisation=org, role=API_ROLE)
    return TokenPersona(name, made.secret, made.token.user, membership)


def _api_request(secret: str, endpoint: Endpoint, url: str) -> tuple[int, str]:
    client = Client(headers={"Authorization": f"Bearer {secret}"})
    if endpoint.method == "POST":
        body: dict[str, Any] = {"q": "Zycanary"}
        if endpoint.scope == "journal:write":
            body = {"kind": "phone", "date": timezone.localdate().isoformat(), "topic": "health"}
        if endpoint.body:
            body = json.loads(endpoint.body)
        response = client.post(url, body, content_type="application/json")
    else:
        response = client.get(url)
    return response.status_code, response.content.decode()


@pytest.mark.parametrize("state", list(STATES))
def test_r9_r11_r12_x2_every_token_on_every_api_operation_gets_what_the_matrix_says(world, state):
    """Tokens of the service, the partner, the other service and the canton office on every
    API operation: the status, the canary, the read log and the denials as for the pages."""
    model = setup_state(world, state)
    bystander = factories.OrganisationFactory(name="Bystander")
    canton_office = world.officer.membership.organisation
    personas = [
        _token_persona(world, "service", world.service_org, world.superuser),
        _token_persona(world, "partner", world.partner_org, world.partner_superuser),
        _token_persona(world, "outsider", world.outsider_org, world.superuser),
        _token_persona(world, "canton", canton_office, world.superuser),
    ]
    # a token belongs to the organisation it was made for (made here by a helper's actor)
    for persona in personas:
        ApiToken.objects.filter(user=persona.user).update(
            organisation=persona.membership.organisation
        )
    problems: list[str] = []
    requests = allowed_requests = 0
    for persona in personas:
        hidden = [
            CANARY[key]
            for key in ("case", "other_case")
            if not model.sees_canary(persona, getattr(world, key))
        ]
        readable_cases = {
            str(c.pk)
            for c in (world.case, world.other_case)
            if model.may_case(persona, "core.read", c, "core")
        }
        for name, endpoint in API_ENDPOINTS.items():
            for target_kind in endpoint.targets:
                target = build_target(world, bystander, target_kind)
                url = reverse(name, kwargs=target.kwargs)
                where = f"{persona.name} token {endpoint.method} {name}[{target.label}] {url}"
                allowed = all(
                    model.allows(persona, need, target.subject) for need in endpoint.needs
                )
                last_read = ReadLog.objects.order_by("-id").values_list("id", flat=True).first()
                denials_before = _denials(persona)
                status, body = _api_request(persona.secret, endpoint, url)
                requests += 1
                allowed_requests += allowed
                expected = set(endpoint.ok_get) if allowed else {404}
                if status not in expected:
                    problems.append(f"{where}: {status}, expected {sorted(expected)} {body[:150]}")
                problems += [f"{where} shows the canary {c}" for c in hidden if c in body]
                logged = _reads_since(last_read)
                if target.label == "none":  # a list: reads only of what the token may see
                    seen_persons = {
                        str(p.pk)
                        for p in Person.objects.all()
                        if model.sees_person(persona, p, write=False)
                    }
                    # the fresh dossiers the transfer targets made for the organisation
                    fresh = {
                        str(pk)
                        for pk in Case.objects.filter(
                            owner_id=persona.membership.organisation_id, transfers__isnull=False
                        )
                        .exclude(pk__in=[world.case.pk, world.other_case.pk])
                        .values_list("pk", flat=True)
                    }
                    stray = [r for r in logged if r[0] not in readable_cases | seen_persons | fresh]
                    if stray:
                        problems.append(f"{where}: read log of unseen objects {stray}")
                else:
                    wanted = (
                        _expected_reads(model, persona, endpoint, target)
                        if allowed and endpoint.method == "GET"
                        else []
                    )
                    if logged != wanted:
                        problems.append(f"{where}: read log {logged}, expected {wanted}")
                denied = _denials(persona) - denials_before
                if denied - {_denied_object(target)}:
                    problems.append(f"{where}: unexpected denials {denied}")
                refused = not allowed and not target.subject.missing and target.label != "none"
                if refused and _denied_object(target) not in _denials(persona):
                    problems.append(f"{where}: refused, but no security event")
    assert requests > 100 and allowed_requests > 20
    assert problems == [], f"{len(problems)} problems:\n" + "\n".join(problems)


def test_r12_x2_a_token_probing_another_organisation_gets_the_same_404_as_for_nothing(world):
    bystander = factories.OrganisationFactory(name="Bystander")
    outsider = _token_persona(world, "outsider", world.outsider_org, world.superuser)
    ApiToken.objects.filter(user=outsider.user).update(organisation=world.outsider_org)
    probed = [
        n for n, e in API_ENDPOINTS.items() if any(t.startswith("missing") for t in e.targets)
    ]
    assert len(probed) >= 8
    for name in probed:
        endpoint = API_ENDPOINTS[name]
        forbidden_kind = next(t for t in endpoint.targets if not t.startswith(("missing", "other")))
        missing_kind = next(t for t in endpoint.targets if t.startswith("missing"))
        forbidden = reverse(name, kwargs=build_target(world, bystander, forbidden_kind).kwargs)
        missing = reverse(name, kwargs=build_target(world, bystander, missing_kind).kwargs)
        s1, body1 = _api_request(outsider.secret, endpoint, forbidden)
        s2, body2 = _api_request(outsider.secret, endpoint, missing)
        assert (s1, s2) == (404, 404), name
        assert body1.replace(forbidden, "<url>") == body2.replace(missing, "<url>"), name


def test_r9_x2_every_api_operation_has_a_row_and_needs_its_scope(world):
    """R9: every OpenAPI operation has a row here, and its token needs the row's scope (403
    without it, before any object is looked at)."""
    from filum.api.api import api

    schema = api.get_openapi_schema()
    operations = {(path, method.upper()) for path, ops in schema["paths"].items() for method in ops}
    routes = {r.name: r for r in ROUTES}
    rows = {
        ("/" + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", routes[name].pattern), e.method)
        for name, e in API_ENDPOINTS.items()
    }
    assert operations == rows
    assert {e.scope for e in API_ENDPOINTS.values()} == set(Scope.values)
    bystander = factories.OrganisationFactory(name="Bystander")
    for name, endpoint in API_ENDPOINTS.items():
        others = [scope for scope in Scope.values if scope != endpoint.scope]
        secret = api_tokens.do_create_token(
            actor=world.superuser.actor, name=name, scopes=others, expires_at=None
        ).secret
        target = build_target(world, bystander, endpoint.targets[0])
        status, _ = _api_request(secret, endpoint, reverse(name, kwargs=target.kwargs))
        assert status == 403, name
