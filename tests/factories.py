"""Factories for the test suite: organisations, users with roles, persons, dossiers, shares."""

from __future__ import annotations

import datetime
import functools

import factory
from django.contrib.auth.hashers import make_password
from django.utils import timezone

from filum.cases.models import Case, Share
from filum.people.models import Person
from filum.tenancy.models import Commune, Membership, Organisation, OrganisationKind, Team, User

PASSWORD = "correct horse battery staple"


@functools.cache
def hashed_password() -> str:
    return make_password(PASSWORD)


class CommuneFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Commune
        django_get_or_create = ("bfs_number",)

    bfs_number = factory.Sequence(lambda n: 300 + n)
    name = factory.Sequence(lambda n: f"Commune {n}")


class OrganisationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organisation

    name = factory.Sequence(lambda n: f"Service social {n}")
    kind = OrganisationKind.SOCIAL_SERVICE


class TeamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Team

    organisation = factory.SubFactory(OrganisationFactory)
    name = factory.Sequence(lambda n: f"Team {n}")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = factory.Faker("first_name", locale="fr_CH")
    last_name = factory.Faker("last_name", locale="fr_CH")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.ch")
    # One Argon2 hash for every test user: hashing per user would cost most of the suite's time.
    password = factory.LazyFunction(hashed_password)


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    organisation = factory.SubFactory(OrganisationFactory)
    role = "social_worker"


class PersonFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Person

    last_name = factory.Faker("last_name", locale="de_CH")
    first_name = factory.Faker("first_name", locale="de_CH")
    birth_date = factory.Faker("date_of_birth", minimum_age=18, maximum_age=80)
    sex = "f"
    registered_by = factory.SubFactory(OrganisationFactory)


class CaseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Case

    owner = factory.SubFactory(OrganisationFactory)
    domain = "economic_aid"
    client = factory.SubFactory(PersonFactory, registered_by=factory.SelfAttribute("..owner"))
    opened_on = factory.LazyFunction(lambda: timezone.localdate() - datetime.timedelta(days=30))
    title = "Soutien"


class ShareFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Share

    case = factory.SubFactory(CaseFactory)
    owner = factory.SelfAttribute("case.owner")
    organisation = factory.SubFactory(
        OrganisationFactory, kind=OrganisationKind.INTEGRATION_PARTNER
    )
    sections = factory.LazyFunction(lambda: ["journal"])
    access = "read"
    basis = "legal"
    reason = "Mandat SSIP, art. 9 LASoc"
    valid_until = factory.LazyFunction(lambda: timezone.localdate() + datetime.timedelta(days=90))
    granted_by = factory.SubFactory(UserFactory)
