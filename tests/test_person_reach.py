"""Who sees which person, through the maintained person reach (U4, issue 7).

``Person.objects.visible_to`` and the person search read ``people_personreach``, which
database triggers keep in step with persons, dossiers and household members. These tests
compare both with the definition written out directly ("registered by the organisation, or
client or household member of a dossier whose core section the actor may read"), for every
persona, before and after the facts change, and compare the table with the facts."""

from __future__ import annotations

import datetime

import pytest
from django.db import connection
from django.db.models import Exists, OuterRef, Q
from django.urls import reverse
from django.utils import timezone

from filum.cases.models import Case, Share
from filum.people.models import AssistanceUnit, Person, PersonReach, UnitMember
from filum.people.search import search_visible
from tests import factories

NAME = "Quirinweg"  # no Faker list holds it


def reference_visible(actor, *, write: bool = False) -> set:
    """The definition, without the reach table (what ``visible_to`` did before U4)."""
    from filum.tenancy.policy import allowed_relations

    if not allowed_relations(actor.role, "core.write" if write else "core.read"):
        return set()
    cases = Case.objects.visible_to(actor, section="core", write=write)
    as_client = cases.filter(client=OuterRef("pk"))
    as_member = cases.filter(assistance_unit__members__person=OuterRef("pk"))
    return set(
        Person.objects.filter(last_name=NAME)
        .filter(Q(registered_by_id=actor.organisation_id) | Exists(as_client) | Exists(as_member))
        .values_list("pk", flat=True)
    )


def reach_matches_facts() -> None:
    """The table holds exactly the rows the facts give, with the folded names and the person
    columns the person lists filter on (decision 0034)."""
    facts = """
        SELECT org, person, bool_or(registered), sum(n)::integer,
               filum_fold(p.last_name), filum_fold(p.first_name),
               p.residence_status, p.birth_date, p.arrival_date
        FROM (
            SELECT registered_by_id AS org, id AS person, true AS registered, 0 AS n
            FROM people_person
            UNION ALL SELECT owner_id, client_id, false, 1 FROM cases_case
            UNION ALL SELECT c.owner_id, m.person_id, false, 1
            FROM cases_case c JOIN people_unitmember m ON m.unit_id = c.assistance_unit_id
        ) f JOIN people_person p ON p.id = f.person
        GROUP BY org, person, p.last_name, p.first_name, p.residence_status, p.birth_date,
                 p.arrival_date
    """
    with connection.cursor() as cursor:
        cursor.execute(facts)
        expected = set(cursor.fetchall())
        cursor.execute(
            "SELECT organisation_id, person_id, registered, cases, last_name, first_name, "
            "residence_status, birth_date, arrival_date FROM people_personreach"
        )
        assert set(cursor.fetchall()) == expected


def person(first_name: str, org) -> Person:
    return factories.PersonFactory(last_name=NAME, first_name=first_name, registered_by=org)


@pytest.fixture
def reach_world(world):
    """Persons of all kinds of reach, named ``NAME`` with telling first names."""
    today = timezone.localdate()
    service, outsider, partner = world.service_org, world.outsider_org, world.partner_org
    people = {
        "registered": person("Registered", service),
        "elsewhere": person("Elsewhere", outsider),
    }
    # a dossier of the service for persons the outsider registered, with a household
    people["client"] = person("Client", outsider)
    people["member"] = person("Member", outsider)
    unit = AssistanceUnit.objects.create(name="Ménage", registered_by=service)
    UnitMember.objects.create(unit=unit, person=people["client"], relation="applicant")
    UnitMember.objects.create(unit=unit, person=people["member"], relation="child")
    own = factories.CaseFactory(
        owner=service, client=people["client"], assistance_unit=unit, responsible=world.head.user
    )
    # the outsider's dossiers, shared with the partner in all ways
    for label, sections, valid_until, revoked in (
        ("Shared", ["core", "journal"], today + datetime.timedelta(days=30), False),
        ("Revoked", ["core"], today + datetime.timedelta(days=30), True),
        ("Expired", ["core"], today - datetime.timedelta(days=1), False),
        ("JournalOnly", ["journal"], today + datetime.timedelta(days=30), False),
    ):
        people[label.lower()] = person(label, outsider)
        case = factories.CaseFactory(
            owner=outsider, client=people[label.lower()], responsible=world.outsider.user
        )
        factories.ShareFactory(
            case=case,
            organisation=partner,
            sections=sections,
            valid_until=valid_until,
            revoked_at=timezone.now() if revoked else None,
            granted_by=world.outsider.user,
        )
        if label == "Shared":
            relative = person("SharedRelative", outsider)
            shared_unit = AssistanceUnit.objects.create(name="Famille", registered_by=outsider)
            UnitMember.objects.create(unit=shared_unit, person=relative, relation="spouse")
            Case.objects.filter(pk=case.pk).update(assistance_unit=shared_unit)
            people["sharedrelative"] = relative
    # the service shares its dossier's core data with the outsider for reading
    factories.ShareFactory(
        case=own,
        organisation=outsider,
        sections=["core"],
        access=Share.Access.READ,
        granted_by=world.head.user,
    )
    world.reach = {"people": people, "own_case": own, "unit": unit}
    return world


PERSONAS = ["worker", "colleague", "head", "assistant", "intake", "superuser", "dpo"]
PERSONAS += ["analyst", "partner", "partner_superuser", "outsider"]


def check_everyone(world) -> None:
    names = {p.pk: p.first_name for p in Person.objects.filter(last_name=NAME)}
    for name in PERSONAS:
        actor = getattr(world, name).actor
        for write in (False, True):
            expected = reference_visible(actor, write=write)
            got = set(
                Person.objects.visible_to(actor, write=write)
                .filter(last_name=NAME)
                .values_list("pk", flat=True)
            )
            assert got == expected, (name, write, sorted(names[pk] for pk in got ^ expected))
        found = {p.pk for p in search_visible(actor=actor, text=NAME)}
        assert found == reference_visible(actor), name
        assert paged_visible(actor) == reference_visible(actor), name
    reach_matches_facts()


def paged_visible(actor) -> set:
    """The API's persons list: ``visible_after`` walked in pages of two, as the keyset does."""
    seen, after = [], None
    while True:
        page = list(
            Person.objects.visible_after(actor, after=after, size=3)
            .filter(**({"pk__gt": after} if after else {}))
            .order_by("pk")[:2]
        )
        seen += page
        if len(page) < 2:
            break
        after = page[-1].pk
    assert len(seen) == len({p.pk for p in seen})
    return {p.pk for p in seen if p.last_name == NAME}


def visible_names(world, persona: str) -> set[str]:
    actor = getattr(world, persona).actor
    return {p.first_name for p in search_visible(actor=actor, text=NAME)}


def test_u4_who_sees_whom(reach_world):
    world = reach_world
    check_everyone(world)
    # pinned outright, too: the service sees its registration and its dossier's household
    assert visible_names(world, "worker") == {"Registered", "Client", "Member"}
    assert visible_names(world, "head") == {"Registered", "Client", "Member"}
    # the partner: the active core share's client and household, not the revoked, expired
    # or journal-only shares
    assert visible_names(world, "partner") == {"Shared", "SharedRelative"}
    # the outsider: its registrations, and the service's dossier through the share (the
    # household member it registered is its own anyway)
    assert visible_names(world, "outsider") == {
        "Elsewhere",
        "Client",
        "Member",
        "Shared",
        "Revoked",
        "Expired",
        "JournalOnly",
        "SharedRelative",
    }
    assert visible_names(world, "superuser") == set()
    assert visible_names(world, "analyst") == set()


def test_u4_reach_follows_the_facts(reach_world):
    world = reach_world
    people, own = world.reach["people"], world.reach["own_case"]
    # a household member leaves: the service no longer sees them
    UnitMember.objects.filter(person=people["member"]).delete()
    check_everyone(world)
    assert "Member" not in visible_names(world, "worker")
    # they come back, twice over (a second dossier with the same household): counted twice,
    # and still visible after one of the dossiers loses the household
    UnitMember.objects.create(unit=world.reach["unit"], person=people["member"], relation="child")
    second = factories.CaseFactory(
        owner=world.service_org,
        client=people["client"],
        assistance_unit=world.reach["unit"],
        responsible=world.worker.user,
    )
    check_everyone(world)
    Case.objects.filter(pk=second.pk).update(assistance_unit=None)
    check_everyone(world)
    assert "Member" in visible_names(world, "worker")
    # the dossiers' client changes: the new one is visible, the former one only while in
    # the household
    Case.objects.filter(pk=own.pk).update(client=people["elsewhere"])
    Case.objects.filter(pk=second.pk).update(client=people["elsewhere"])
    check_everyone(world)
    assert visible_names(world, "worker") == {"Registered", "Client", "Member", "Elsewhere"}
    UnitMember.objects.filter(person=people["client"]).delete()
    check_everyone(world)
    assert visible_names(world, "worker") == {"Registered", "Member", "Elsewhere"}
    # a new name is found by the new name only
    Person.objects.filter(pk=people["member"].pk).update(last_name="Zürcherhof")
    assert [p.pk for p in search_visible(actor=world.worker.actor, text="Zurcherhof")] == [
        people["member"].pk
    ]
    Person.objects.filter(pk=people["member"].pk).update(last_name=NAME)
    # a new permit, a corrected birth date, an arrival recorded: every reach row follows (D4)
    Person.objects.filter(pk=people["member"].pk).update(
        residence_status="F_FL",
        birth_date=datetime.date(1990, 5, 1),
        arrival_date=datetime.date(2016, 3, 1),
    )
    check_everyone(world)
    assert set(
        PersonReach.objects.filter(person=people["member"]).values_list(
            "residence_status", "birth_date", "arrival_date"
        )
    ) == {("F_FL", datetime.date(1990, 5, 1), datetime.date(2016, 3, 1))}
    # a share is revoked: the partner loses the client and the household
    Share.objects.filter(organisation=world.partner_org).update(revoked_at=timezone.now())
    check_everyone(world)
    assert visible_names(world, "partner") == set()
    # a person moves to another organisation's register
    Person.objects.filter(pk=people["registered"].pk).update(registered_by=world.outsider_org)
    check_everyone(world)
    assert "Registered" not in visible_names(world, "worker")


def test_u4_search_ranks_by_similarity_within_the_reach(world):
    service = world.service_org
    exact = factories.PersonFactory(
        last_name="Quastberger", first_name="Ida", registered_by=service
    )
    close = factories.PersonFactory(
        last_name="Quastbergé", first_name="Alma", registered_by=service
    )
    prefix = factories.PersonFactory(
        last_name="Quastbergerhofstetten", first_name="Eva", registered_by=service
    )
    factories.PersonFactory(
        last_name="Quastberger", first_name="Ida", registered_by=world.outsider_org
    )
    found = search_visible(actor=world.worker.actor, text="quastberger")
    assert found[0] == exact
    assert set(found) == {exact, close, prefix}
    # two words: both must match (last or first name), the sum ranks
    assert search_visible(actor=world.worker.actor, text="Quastberger Ida") == [exact]
    assert search_visible(actor=world.worker.actor, text="Quastberger Nobody") == []


def test_u4_person_search_page_uses_the_reach(reach_world):
    world = reach_world
    response = world.partner.client().post(reverse("person_search"), {"q": NAME})
    assert response.status_code == 200
    assert {p.first_name for p in response.context["results"]} == {"Shared", "SharedRelative"}
