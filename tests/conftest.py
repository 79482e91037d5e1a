"""Shared fixtures: a small world of named personas in three organisations.

- ``service_org`` (social service): worker (responsible for ``case``), colleague (another worker),
  head (section head), assistant, intake, superuser, dpo, analyst (canton analyst role)
- ``partner_org`` (integration partner): partner (partner staff), partner_superuser
- ``outsider_org`` (another social service): outsider (social worker)
- a canton office: officer (canton integration officer: templates, catalogue, CII report)

``case`` belongs to ``service_org`` with worker responsible; ``other_case`` belongs to
``outsider_org``. Nothing is shared until a test shares it.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import factory.random
import pytest
from django.conf import settings
from django.db import connection, transaction
from django.test import Client
from django.utils import translation
from hypothesis import settings as hypothesis_settings

from filum.dbroles import checked_role_name, ensure_role
from filum.tenancy.models import Membership, Organisation, OrganisationKind, User
from filum.tenancy.policy import Actor
from tests import factories
from tests.factories import PASSWORD

# Hypothesis: timing is no correctness criterion on a busy shared machine (no deadline).
hypothesis_settings.register_profile("filum", deadline=None)
hypothesis_settings.load_profile("filum")


@pytest.fixture(autouse=True)
def fixed_random_data(request: pytest.FixtureRequest) -> None:
    """Faker and factory-boy draw the same data on every run of a test (seeded from its id),
    whatever ran before it or on which xdist worker: a test cannot pass or fail by what random
    data happens to contain. Tests still assert only on values they made unique themselves."""
    factory.random.reseed_random(zlib.crc32(request.node.nodeid.encode()))


@pytest.fixture(autouse=True)
def _default_language_after_each_test() -> Iterator[None]:
    """A request served in German (a German user, a link opened in the reader's language) leaves
    German active in the worker's thread; the next test starts in the default language again,
    whatever ran before it on the same xdist worker."""
    yield
    translation.deactivate()


@dataclass
class Persona:
    user: User
    membership: Membership

    @property
    def actor(self) -> Actor:
        return Actor(user=self.user, membership=self.membership)

    def client(self) -> Client:
        client = Client()
        client.force_login(self.user)
        return client


@dataclass
class World:
    service_org: Organisation
    partner_org: Organisation
    outsider_org: Organisation
    personas: dict[str, Persona]
    case: object
    other_case: object

    def __getattr__(self, name: str) -> Persona:
        try:
            return self.__dict__["personas"][name]
        except KeyError as exc:
            raise AttributeError(name) from exc


def make_persona(org: Organisation, role: str, username: str, team: object = None) -> Persona:
    user = factories.UserFactory(username=username)
    membership = Membership.objects.create(user=user, organisation=org, role=role, team=team)
    return Persona(user=user, membership=membership)


@pytest.fixture
def world(db: object) -> World:
    service = factories.OrganisationFactory(name="Service social Bienne-Test")
    partner = factories.OrganisationFactory(
        name="Partenaire Insertion", kind=OrganisationKind.INTEGRATION_PARTNER
    )
    outsider_org = factories.OrganisationFactory(name="Sozialdienst Thun-Test")
    canton_office = factories.OrganisationFactory(
        name="Service cantonal de l'intégration-Test", kind=OrganisationKind.CANTON_OFFICE
    )
    team = factories.TeamFactory(organisation=service, name="Conseil 1")
    personas = {
        "worker": make_persona(service, "social_worker", "worker", team),
        "colleague": make_persona(service, "social_worker", "colleague", team),
        "head": make_persona(service, "section_head", "head", team),
        "assistant": make_persona(service, "admin_assistant", "assistant", team),
        "intake": make_persona(service, "intake_worker", "intake"),
        "superuser": make_persona(service, "super_user", "superuser"),
        "dpo": make_persona(service, "dpo", "dpo"),
        "analyst": make_persona(service, "canton_analyst", "analyst"),
        "partner": make_persona(partner, "partner_staff", "partner"),
        "partner_superuser": make_persona(partner, "super_user", "partner_superuser"),
        "outsider": make_persona(outsider_org, "social_worker", "outsider"),
        "officer": make_persona(canton_office, "canton_officer", "officer"),
    }
    case = factories.CaseFactory(owner=service, responsible=personas["worker"].user, team=team)
    other_case = factories.CaseFactory(owner=outsider_org, responsible=personas["outsider"].user)
    return World(
        service_org=service,
        partner_org=partner,
        outsider_org=outsider_org,
        personas=personas,
        case=case,
        other_case=other_case,
    )


@pytest.fixture
def password() -> str:
    return PASSWORD


# --- the app's database role (R28) -----------------------------------------------------------


@pytest.fixture(scope="session")
def django_db_modify_db_settings(
    django_db_modify_db_settings_parallel_suffix: None, django_db_blocker: Any
) -> None:
    """Before the test database is made: create the app role (cluster-wide, race-safe), so
    the post-migrate step grants it its privileges in the test database."""
    with django_db_blocker.unblock(), connection._nodb_cursor() as cursor:
        ensure_role(cursor.execute, settings.DB_APP_ROLE)


@contextmanager
def as_app_role() -> Iterator[Any]:
    """A cursor acting as the app role inside the test's transaction (the test connection
    itself is the owner). A refused statement rolls the savepoint back, role included."""
    role = checked_role_name(settings.DB_APP_ROLE)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT current_user")
        acting = cursor.fetchone()[0]
        cursor.execute(f"SET LOCAL ROLE {role}")
        yield cursor
        cursor.execute("SELECT set_config('role', %s, true)", [acting])


@pytest.fixture
def app_role(db: object) -> None:
    """Run the whole test as the app role, as production does (the role is reset when the
    test's transaction rolls back)."""
    role = checked_role_name(settings.DB_APP_ROLE)
    with connection.cursor() as cursor:
        cursor.execute(f"SET ROLE {role}")


@pytest.fixture(autouse=True)
def _tests_run_as_the_app_role(request: pytest.FixtureRequest) -> None:
    """Every test using the database acts as the app role, like the running app (R28), unless
    marked `owner` (it does what only the tables' owner may: bulk loads with triggers off).
    Transactional tests (browser tests) stay the owner: they are emptied with TRUNCATE."""
    marker = request.node.get_closest_marker("django_db")
    uses_db = "db" in request.fixturenames or marker is not None
    if not uses_db or request.node.get_closest_marker("owner"):
        return
    if {"transactional_db", "live_server"} & set(request.fixturenames):
        return
    if marker and marker.kwargs.get("transaction"):
        return
    request.getfixturevalue("app_role")
