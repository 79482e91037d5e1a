"""The dossier list in each scope (P1, P2, R12, U4 / issue 7, decision 0015): who sees which
dossier, which shares count (revoked, expired, without the core section, ended with their
consent), and keyset pages over the two sources (own and shared) without a gap or a repeat.

The page is the merge of two ordered queries; ``Case.objects.visible_to`` (one query, the
definition of who may read what) is the reference it must agree with."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from filum.cases.lists import dossier_page
from filum.cases.models import Case, Consent, Share
from filum.web.paging import parse_date_cursor
from tests import factories

TODAY = timezone.localdate


def listed(persona: Any, **params: str) -> list[int]:
    response = persona.client().get(reverse("case_list"), params)
    assert response.status_code == 200
    return [row.number for row in response.context["rows"]]


def core_shown(persona: Any, **params: str) -> dict[int, bool]:
    response = persona.client().get(reverse("case_list"), params)
    return {row.number: row.core_visible for row in response.context["rows"]}


def share(world: Any, case: Case, to: Any = None, **fields: Any) -> Share:
    fields.setdefault("sections", ["core", "journal"])
    return factories.ShareFactory(
        case=case,
        organisation=to or world.partner_org,
        granted_by=case.responsible or world.outsider.user,
        **fields,
    )


def reference(actor: Any, scope: str, status: str) -> list[int]:
    """The list by the single-query definition: what the page had before it was split."""
    qs = Case.objects.visible_to(actor)
    if scope == "shared":
        qs = Case.objects.filter(
            pk__in=Share.objects.active()
            .filter(organisation_id=actor.organisation_id)
            .values("case_id")
        )
    if scope == "mine":
        qs = qs.filter(responsible_id=actor.user.pk)
    if status in ("open", "closed"):
        qs = qs.filter(status=status)
    return list(qs.order_by("-opened_on", "-number").values_list("number", flat=True))


def walk(actor: Any, scope: str, status: str, size: int) -> list[list[int]]:
    """Every page of a scope, following the cursors as the "next page" link does."""
    pages: list[list[int]] = []
    cursor = None
    while True:
        page = dossier_page(actor, scope=scope, status=status, cursor=cursor, size=size)
        pages.append([row.number for row in page.rows])
        if page.next_cursor is None:
            return pages
        cursor = parse_date_cursor(page.next_cursor)
        assert len(pages) < 100


def test_p1_r12_each_scope_lists_whom_it_should(world):
    """Own organisation, own dossiers and shared dossiers, for each kind of persona."""
    colleagues = factories.CaseFactory(owner=world.service_org, responsible=world.colleague.user)
    to_service = factories.CaseFactory(owner=world.outsider_org, responsible=world.outsider.user)
    share(world, to_service, to=world.service_org)
    share(world, world.other_case)  # outsider -> partner, core
    mine, theirs = world.case.number, colleagues.number
    assert set(listed(world.worker)) == {mine}  # default scope: mine
    assert set(listed(world.worker, scope="org")) == {mine, theirs, to_service.number}
    assert set(listed(world.worker, scope="all")) == {mine, theirs, to_service.number}
    assert set(listed(world.head, scope="org")) == {mine, theirs, to_service.number}
    assert listed(world.head, scope="mine") == []
    assert listed(world.worker, scope="shared") == [to_service.number]
    assert set(listed(world.outsider, scope="org")) == {world.other_case.number, to_service.number}
    assert set(listed(world.outsider, scope="mine")) == {world.other_case.number, to_service.number}
    assert listed(world.partner) == [world.other_case.number]  # default scope: shared
    assert listed(world.partner, scope="org") == [world.other_case.number]
    assert listed(world.partner, scope="mine") == []


def test_p2_r12_shares_that_do_not_count(world):
    """Revoked, expired, ended with a withdrawn or expired consent: in no scope. Without the
    core section: only under "shared with us", without the core data."""
    today = TODAY()
    cases = {
        name: factories.CaseFactory(owner=world.outsider_org, responsible=world.outsider.user)
        for name in ("active", "revoked", "expired", "no_core", "withdrawn", "consent_over")
    }
    share(world, cases["active"])
    share(world, cases["revoked"], revoked_at=timezone.now())
    expired = share(world, cases["expired"])
    Share.objects.filter(pk=expired.pk).update(valid_until=today - datetime.timedelta(days=1))
    share(world, cases["no_core"], sections=["journal"])
    for name in ("withdrawn", "consent_over"):
        consent = Consent.objects.create(
            case=cases[name],
            owner=world.outsider_org,
            person=cases[name].client,
            kind="general",
            scope="Insertion",
            signed_on=today - datetime.timedelta(days=10),
            valid_until=today + datetime.timedelta(days=60),
            recorded_by=world.outsider.user,
        )
        share(
            world,
            cases[name],
            basis="consent",
            consent=consent,
            valid_until=today + datetime.timedelta(days=30),
        )
        if name == "withdrawn":
            Consent.objects.filter(pk=consent.pk).update(withdrawn_on=today)
        else:
            Consent.objects.filter(pk=consent.pk).update(
                valid_until=today - datetime.timedelta(days=1)
            )
    active, no_core = cases["active"].number, cases["no_core"].number
    assert core_shown(world.partner, scope="shared") == {active: True, no_core: False}
    assert listed(world.partner, scope="org") == [active]


def test_r12_a_dossier_shared_twice_or_with_its_owner_is_listed_once(world):
    """Two active shares of one dossier with the partner, and a (mislabelled) share naming
    the dossier's own organisation as recipient: each dossier once, the own row first."""
    share(world, world.other_case, sections=["journal"])
    share(world, world.other_case, sections=["core"])
    factories.ShareFactory(
        case=world.case,
        owner=world.outsider_org,  # not the dossier's owner: the check cannot see that
        organisation=world.service_org,
        sections=["core"],
        granted_by=world.outsider.user,
    )
    assert core_shown(world.partner, scope="shared") == {world.other_case.number: True}
    assert listed(world.worker, scope="org") == [world.case.number]
    assert listed(world.worker, scope="mine") == [world.case.number]
    assert listed(world.worker, scope="shared") == [world.case.number]


@pytest.mark.parametrize("size", [1, 4, 25])
def test_u4_keyset_pages_over_own_and_shared_dossiers_have_no_gap_and_no_repeat(world, size):
    """Own and shared dossiers interleaved by opening day, several on the same day, open and
    closed: walking the pages yields exactly the one-query list, in order, in every scope.
    At the pages' size (25) the queries are prepared, at the others built each time."""
    today = TODAY()
    for n in range(14):
        opened = today - datetime.timedelta(days=40 + n // 3)  # three dossiers a day
        own = factories.CaseFactory(
            owner=world.service_org,
            responsible=(world.worker if n % 2 else world.colleague).user,
            opened_on=opened,
        )
        foreign = factories.CaseFactory(
            owner=world.outsider_org, responsible=world.outsider.user, opened_on=opened
        )
        share(world, foreign, to=world.service_org, sections=["core"] if n % 3 else ["journal"])
        share(world, own if n % 4 else foreign)  # to the partner
        if n % 5 == 0:
            for case in (own, foreign):
                Case.objects.filter(pk=case.pk).update(
                    status="closed", closed_on=today, closure_reason="other"
                )
    for persona in ("worker", "head", "partner", "outsider"):
        actor = getattr(world, persona).actor
        for scope in ("mine", "org", "shared"):
            for status in ("open", "closed", "all"):
                pages = walk(actor, scope, status, size)
                flat = [number for page in pages for number in page]
                assert flat == reference(actor, scope, status), (persona, scope, status)
                assert all(len(page) == size for page in pages[:-1])


def test_u4_p2_a_share_ends_on_its_day_in_the_prepared_list(world):
    """The list's queries are compiled once per thread (decision 0015); the day a share is
    judged on is a value of each run, never the day of the first: a share that ends today is
    listed today and not tomorrow, in the worker's list, the whole organisation's and the
    partner's, whose core column follows the same day."""
    today = TODAY()
    foreign = factories.CaseFactory(owner=world.outsider_org, responsible=world.outsider.user)
    share(world, foreign, to=world.service_org, valid_until=today)
    share(world, world.other_case, valid_until=today)  # outsider -> partner, core
    assert foreign.number in listed(world.worker, scope="org")
    assert core_shown(world.partner, scope="shared") == {world.other_case.number: True}
    with time_machine.travel(timezone.now() + datetime.timedelta(days=1)):
        assert foreign.number not in listed(world.worker, scope="org")
        assert listed(world.partner, scope="shared") == []
    assert foreign.number in listed(world.worker, scope="org")


def test_u4_the_list_is_compiled_once_per_shape(world):
    """Two pages of one shape reuse the compiled queries: a worker's and a colleague's list
    (other values, same role and scope) run on what the first compiled; a page after a cursor
    is a shape of its own."""
    from filum.cases.lists import _KEYS, _Shape

    first = dossier_page(world.worker.actor, scope="mine", status="open", cursor=None)
    shape = _Shape(role=world.worker.actor.role, scope="mine", statuses=("open",), after=False)
    compiled = [query._local.compiled for query in _KEYS[shape]]
    assert len(compiled) == 2  # own and shared
    dossier_page(world.colleague.actor, scope="mine", status="open", cursor=None)
    assert [query._local.compiled for query in _KEYS[shape]] == compiled
    # the worker's dossiers were opened before today: all of them come after this cursor
    later = dossier_page(world.worker.actor, scope="mine", status="open", cursor=(TODAY(), 1))
    assert later.rows == first.rows != []
    after = _Shape(role=world.worker.actor.role, scope="mine", statuses=("open",), after=True)
    assert all(query._local.compiled not in compiled for query in _KEYS[after])
    # the shapes stay few: a scope the code does not know is refused, not compiled (the
    # page maps "all" and anything else to "org" before)
    with pytest.raises(ValueError, match="scope"):
        dossier_page(world.worker.actor, scope="all", status="open", cursor=None)
    assert listed(world.worker, scope="all") == listed(world.worker, scope="org")


def test_u4_the_next_page_link_carries_the_cursor(world):
    """Through HTTP: 26 dossiers of the organisation, half shared with it, make two pages."""
    today = TODAY()
    for n in range(13):
        factories.CaseFactory(
            owner=world.service_org,
            responsible=world.worker.user,
            opened_on=today - datetime.timedelta(days=n + 1),
        )
        foreign = factories.CaseFactory(
            owner=world.outsider_org,
            responsible=world.outsider.user,
            opened_on=today - datetime.timedelta(days=n + 1),
        )
        share(world, foreign, to=world.service_org, sections=["core"])
    client = world.head.client()
    first = client.get(reverse("case_list"), {"scope": "org"})
    assert len(first.context["rows"]) == 25
    cursor = first.context["next_cursor"]
    assert f"after={cursor}" in first.content.decode()
    second = client.get(reverse("case_list"), {"scope": "org", "after": cursor})
    numbers = [r.number for r in first.context["rows"]] + [r.number for r in second.context["rows"]]
    assert numbers == reference(world.head.actor, "org", "open")
    assert len(numbers) == 27  # 26 made here and the world's case
