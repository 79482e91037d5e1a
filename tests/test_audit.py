"""The audit trail of writes, the read log and the data protection officer's view
(X2, X6, R25, R28, R29, R30)."""

from __future__ import annotations

import datetime
import html
from typing import Any
from zoneinfo import ZoneInfo

import pghistory
import pytest
import time_machine
from django.apps import apps
from django.db import connection, transaction
from django.http import QueryDict
from django.urls import reverse
from django.utils import timezone

from filum.cases.models import Case, Share
from filum.records.audit import Cursor, dossier_history
from filum.records.models import ReadLog
from filum.tenancy.policy import SECTIONS
from tests import factories
from tests.conftest import make_persona

TODAY = timezone.localdate
CaseEvent = apps.get_model("cases", "CaseEvent")
ShareEvent = apps.get_model("cases", "ShareEvent")
TransitionEvent = apps.get_model("cases", "CaseTransitionEvent")


def text(response: Any) -> str:
    return html.unescape(response.content.decode())


def context_user(event: Any) -> int | None:
    return (event.pgh_context.metadata if event.pgh_context else {}).get("user")


def events_of(model: Any, **filters: Any) -> list[Any]:
    return list(model.objects.filter(**filters).select_related("pgh_context").order_by("pgh_id"))


# ---------------------------------------------------------------------------------------------
# Writes (X2, R29)


def test_x2_every_change_to_a_dossier_is_recorded_with_its_author(world):
    client = world.worker.client()
    person = world.case.client
    response = client.post(
        reverse("case_create", args=[person.pk]),
        {
            "domain": "economic_aid",
            "title": "Première demande",
            "opened_on": TODAY().isoformat(),
            "responsible": world.worker.user.pk,
        },
    )
    assert response.status_code == 302
    case = Case.objects.get(title="Première demande")
    [created] = events_of(CaseEvent, pgh_obj_id=case.pk)
    assert created.pgh_label == "insert"
    assert context_user(created) == world.worker.user.pk
    assert created.pgh_context.metadata["organisation"] == world.service_org.pk
    assert created.pgh_context.metadata["url"] == reverse("case_create", args=[person.pk])

    response = client.post(
        reverse("case_edit", args=[case.pk]),
        {
            "domain": "economic_aid",
            "title": "Aide au logement",
            "opened_on": case.opened_on.isoformat(),
            "responsible": world.worker.user.pk,
            "version": case.version,
        },
    )
    assert response.status_code == 302
    edited = events_of(CaseEvent, pgh_obj_id=case.pk)[-1]
    assert (edited.pgh_label, edited.title, context_user(edited)) == (
        "update",
        "Aide au logement",
        world.worker.user.pk,
    )

    head = world.head.client()
    response = head.post(
        reverse("share_create", args=[case.pk]),
        {
            "organisation": world.partner_org.pk,
            "sections": ["journal"],
            "access": "read",
            "basis": "legal",
            "reason": "Mandat",
            "valid_until": (TODAY() + datetime.timedelta(days=30)).isoformat(),
        },
    )
    assert response.status_code == 302
    share = Share.objects.get(case=case)
    [granted] = events_of(ShareEvent, pgh_obj_id=share.pk)
    assert (granted.pgh_label, context_user(granted)) == ("insert", world.head.user.pk)

    response = client.post(
        reverse("share_revoke", kwargs={"case_id": case.pk, "share_id": share.pk})
    )
    assert response.status_code == 302
    revoked = events_of(ShareEvent, pgh_obj_id=share.pk)[-1]
    assert revoked.pgh_label == "update" and revoked.revoked_at is not None
    assert context_user(revoked) == world.worker.user.pk

    response = client.post(
        reverse("case_close", args=[case.pk]),
        {"closed_on": TODAY().isoformat(), "reason": "employment", "note": ""},
    )
    assert response.status_code == 302
    closed = events_of(CaseEvent, pgh_obj_id=case.pk)[-1]
    assert (closed.status, closed.closure_reason, context_user(closed)) == (
        "closed",
        "employment",
        world.worker.user.pk,
    )
    kinds = [e.kind for e in events_of(TransitionEvent, case_id=case.pk)]
    assert kinds == ["opened", "shared", "share_revoked", "closed"]
    assert {context_user(e) for e in events_of(TransitionEvent, case_id=case.pk)} == {
        world.worker.user.pk,
        world.head.user.pk,
    }


def test_r29_bulk_updates_and_raw_sql_are_recorded_too(world):
    case = world.case
    before = CaseEvent.objects.filter(pgh_obj_id=case.pk).count()
    with connection.cursor() as cursor:
        cursor.execute("UPDATE cases_case SET title = %s WHERE id = %s", ["En SQL", case.pk])
    with pghistory.context(user=world.head.user.pk):
        Case.objects.filter(pk=case.pk).update(title="Par lot")
    events = events_of(CaseEvent, pgh_obj_id=case.pk)[before:]
    assert [(e.pgh_label, e.title) for e in events] == [("update", "En SQL"), ("update", "Par lot")]
    assert events[0].pgh_context is None  # no request: recorded, without an author
    assert context_user(events[1]) == world.head.user.pk


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE cases_caseevent SET title = 'falsifié'",
        "DELETE FROM cases_caseevent",
        "UPDATE cases_shareevent SET reason = 'x'",
        "DELETE FROM people_personevent",
    ],
)
@pytest.mark.owner  # pghistory's triggers refuse even the owner; the app role: see
# test_audit_integrity.py
def test_r28_audit_rows_cannot_be_changed_or_deleted(world, sql):
    factories.ShareFactory(case=world.case, organisation=world.partner_org)
    count = CaseEvent.objects.count()
    assert count >= 1
    with pytest.raises(Exception, match="Cannot update or delete"):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql)
    assert CaseEvent.objects.count() == count
    with pytest.raises(Exception, match="Cannot update or delete"), transaction.atomic():
        CaseEvent.objects.all().delete()


# ---------------------------------------------------------------------------------------------
# Reads (X6, R25)


def test_x6_reading_a_dossier_logs_one_row_per_readable_section(world):
    url = reverse("case_detail", args=[world.case.pk])
    assert world.worker.client().get(url).status_code == 200
    rows = list(ReadLog.objects.filter(case_id=world.case.pk).order_by("section"))
    assert sorted(r.section for r in rows) == sorted(SECTIONS)
    for row in rows:
        assert (row.user_id, row.organisation_id, row.kind, row.path) == (
            world.worker.user.pk,
            world.service_org.pk,
            "view",
            url,
        )
        assert row.at is not None
    factories.ShareFactory(
        case=world.case, organisation=world.partner_org, sections=["journal", "plan"]
    )
    assert world.partner.client().get(url).status_code == 200
    partner_rows = ReadLog.objects.filter(case_id=world.case.pk, user_id=world.partner.user.pk)
    assert sorted(r.section for r in partner_rows) == ["journal", "plan"]
    assert {r.organisation_id for r in partner_rows} == {world.partner_org.pk}


def test_x6_refused_reads_are_not_logged_as_reads(world):
    url = reverse("case_detail", args=[world.case.pk])
    for persona in ("outsider", "partner", "dpo", "superuser", "analyst"):
        assert getattr(world, persona).client().get(url).status_code == 404
    assert not ReadLog.objects.filter(case_id=world.case.pk).exists()


def test_x6_reading_a_person_is_logged(world):
    url = reverse("person_detail", args=[world.case.client_id])
    assert world.worker.client().get(url).status_code == 200
    row = ReadLog.objects.get(person_id=world.case.client_id)
    assert (row.user_id, row.section) == (world.worker.user.pk, "core")


# ---------------------------------------------------------------------------------------------
# The data protection officer's view (X2, X6, R30)


def _history(world: Any) -> None:
    """The worker renames the dossier and reads it; the colleague reads it 10 days ago."""
    case = world.case
    world.worker.client().post(
        reverse("case_edit", args=[case.pk]),
        {
            "domain": case.domain,
            "title": "Aide au logement",
            "opened_on": case.opened_on.isoformat(),
            "responsible": world.worker.user.pk,
            "version": case.version,
        },
    )
    world.worker.client().get(reverse("case_detail", args=[case.pk]))
    with time_machine.travel(timezone.now() - datetime.timedelta(days=10), tick=False):
        world.colleague.client().get(reverse("case_detail", args=[case.pk]))


def test_x2_x6_the_dpo_sees_reads_and_changes_with_author_and_values(world):
    _history(world)
    url = reverse("audit_case", args=[world.case.pk])
    response = world.dpo.client().get(url)
    assert response.status_code == 200
    rows = response.context["rows"]
    reads = [r for r in rows if r.kind == "read"]
    changes = [r for r in rows if r.kind == "change"]
    # The DPO's own opening of the audit is on the record too, as an audit read (X6).
    assert {r.user for r in reads} == {world.worker.user, world.colleague.user, world.dpo.user}
    assert len(reads) == 3 * len(SECTIONS)
    assert {r.what for r in reads if r.user == world.dpo.user} == {"audit"}
    title_change = next(
        r
        for r in changes
        if r.what == "Case" and r.label == "update" and any(c[0] == "title" for c in r.changes)
    )
    assert title_change.user == world.worker.user
    assert ("title", "Soutien", "Aide au logement") in title_change.changes
    body = text(response)
    assert str(world.worker.user) in body and str(world.colleague.user) in body
    assert "Soutien" in body and "Aide au logement" in body


def test_x6_the_dpo_filters_by_person_and_date(world):
    _history(world)
    url = reverse("audit_case", args=[world.case.pk])
    dpo = world.dpo.client()
    rows = dpo.get(url, {"user": world.colleague.user.pk}).context["rows"]
    assert rows and {r.user_id for r in rows} == {world.colleague.user.pk}
    assert {r.kind for r in rows} == {"read"}
    rows = dpo.get(url, {"user": world.worker.user.pk}).context["rows"]
    assert {r.kind for r in rows} == {"read", "change"}
    assert {r.user_id for r in rows} == {world.worker.user.pk}
    recent = (TODAY() - datetime.timedelta(days=1)).isoformat()
    rows = dpo.get(url, {"date_from": recent}).context["rows"]
    assert world.colleague.user.pk not in {r.user_id for r in rows}
    old = (TODAY() - datetime.timedelta(days=5)).isoformat()
    rows = dpo.get(url, {"date_to": old}).context["rows"]
    assert rows and {r.user_id for r in rows} == {world.colleague.user.pk}
    response = dpo.get(url, {"date_from": TODAY().isoformat(), "date_to": old})
    assert response.status_code == 200
    assert response.context["form"].errors


def test_r30_only_the_dpo_of_the_owner_organisation_sees_the_audit(world):
    url = reverse("audit_case", args=[world.case.pk])
    for persona in ("worker", "head", "superuser", "assistant", "partner", "outsider"):
        assert getattr(world, persona).client().get(url).status_code == 404, persona
    foreign_dpo = make_persona(world.outsider_org, "dpo", "dpo_thun")
    assert foreign_dpo.client().get(url).status_code == 404
    own = reverse("audit_case", args=[world.other_case.pk])
    assert foreign_dpo.client().get(own).status_code == 200


def test_x6_the_dpo_finds_a_dossier_by_number_only_in_their_organisation(world):
    # a name that no user's name on the page can contain
    world.other_case.client.last_name = "Zyotherclientwq"
    world.other_case.client.save()
    dpo = world.dpo.client()
    response = dpo.post(reverse("audit_find"), {"number": world.case.number})
    assert response.status_code == 302
    assert response["Location"] == reverse("audit_case", args=[world.case.pk])
    response = dpo.post(reverse("audit_find"), {"number": world.other_case.number})
    assert response.status_code == 200
    assert "number" in response.context["form"].errors
    assert str(world.other_case.client.last_name) not in text(response)


# --- the audit page in the reader's language (issue 6 §6) ----------------------------------


def audit_table(response: Any) -> str:
    body = text(response)
    return body[body.index('id="audit-rows-title"') :]


def test_x6_the_audit_page_shows_labels_names_and_local_times(world):
    world.dpo.user.language = "de"
    world.dpo.user.save(update_fields=["language"])
    case = world.case
    world.worker.client().post(
        reverse("case_edit", args=[case.pk]),
        {
            "domain": case.domain,
            "title": case.title,
            "opened_on": case.opened_on.isoformat(),
            "responsible": world.colleague.user.pk,
            "version": case.version,
        },
    )
    case.refresh_from_db()
    case.stage = "counselling"
    case.save()
    moment = (timezone.now() - datetime.timedelta(days=1)).replace(microsecond=0)
    with time_machine.travel(moment, tick=False):
        world.worker.client().get(reverse("case_detail", args=[case.pk]))

    dpo = world.dpo.client()
    dpo.cookies["django_language"] = "de"  # what signing in sets from the stored language
    response = dpo.get(reverse("audit_case", args=[case.pk]))
    assert response.status_code == 200
    shown = [c for row in response.context["rows"] for c in row.shown]
    # field labels in German, choices by their label, people and organisations by name
    assert any(
        c.label == "Fallführende Person"
        and c.before == str(world.worker.user)
        and c.after == str(world.colleague.user)
        for c in shown
    )
    assert any(c.label == "Phase" and c.after == "Beratung" for c in shown)
    assert any(c.label == "Organisation" and c.after == world.service_org.name for c in shown)
    table = audit_table(response)
    for code in ("counselling", "intake_1", "economic_aid", "responsible_id", "owner_id"):
        assert code not in table, code
    assert "Wirtschaftliche Sozialhilfe" in table
    # times in Europe/Zurich, not UTC
    local = moment.astimezone(ZoneInfo("Europe/Zurich"))
    assert local.strftime("%d.%m.%Y %H:%M:%S") in table
    assert moment.astimezone(datetime.UTC).strftime("%d.%m.%Y %H:%M:%S") not in table


def test_x6_the_audit_page_speaks_french_to_a_french_dpo(world):
    world.case.stage = "counselling"
    world.case.save()
    response = world.dpo.client().get(reverse("audit_case", args=[world.case.pk]))
    shown = [c for row in response.context["rows"] for c in row.shown]
    assert any(c.label == "Phase" and c.after == "Conseil" for c in shown)
    table = audit_table(response)
    assert "Aide sociale économique" in table and "economic_aid" not in table


@pytest.mark.parametrize(
    "typed", ["D-{number:07d}", "d-{number:07d}", " D {number} ", "{number:07d}", "{number}"]
)
def test_x6_the_dpo_finds_a_dossier_by_its_reference(world, typed):
    number = world.case.number
    response = world.dpo.client().post(
        reverse("audit_find"), {"number": typed.format(number=number)}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("audit_case", args=[world.case.pk])


@pytest.mark.parametrize("typed", ["D-12x", "X-0001027", "D-", "0", "-5", "1" * 25, "'; DROP"])
def test_x6_garbage_in_the_reference_gives_a_clear_message(world, typed):
    response = world.dpo.client().post(reverse("audit_find"), {"number": typed})
    assert response.status_code == 200
    assert response.context["form"].errors["number"]
    assert "D-0001027" in text(response)


def test_x6_the_audit_pages_through_all_rows_without_gaps_or_repeats(world):
    """Rows written in one transaction share their time: the keyset cursor must still
    neither skip nor repeat any of them."""
    _history(world)
    full = dossier_history(world.case)
    assert full.next_cursor is None and len(full.rows) > 7
    seen: list[tuple[Any, ...]] = []
    cursor = None
    while True:
        page = dossier_history(world.case, cursor=cursor, page_size=3)
        seen.extend((r.at, r.key) for r in page.rows)
        if page.next_cursor is None:
            break
        cursor = Cursor.parse(str(page.next_cursor))
    assert seen == [(r.at, r.key) for r in full.rows]


def _denial(world: Any) -> None:
    """The outsider asks for the dossier and is refused: a denial of it (R14)."""
    assert (
        world.outsider.client().get(reverse("case_detail", args=[world.case.pk])).status_code == 404
    )


def _pages(client: Any, url: str, data: dict[str, Any]) -> list[list[Any]]:
    """Every page, following the "older" link from the newest."""
    pages, query = [], dict(data)
    while True:
        response = client.get(url, query)
        assert response.status_code == 200
        pages.append([(r.at, r.key) for r in response.context["rows"]])
        if not response.context["next_query"]:
            return pages
        query = QueryDict(response.context["next_query"]).dict()


def test_u4_the_audit_pages_by_links_without_gaps_or_repeats(world, monkeypatch):
    """Through HTTP, small pages over reads, changes and denials, with and without a filter:
    the pages together are exactly the whole history, newest first (issue 7)."""
    _history(world)
    _denial(world)
    url = reverse("audit_case", args=[world.case.pk])
    dpo = world.dpo.client()
    for data in ({}, {"user": world.worker.user.pk}, {"date_to": TODAY().isoformat()}):
        monkeypatch.setattr("filum.records.audit.PAGE_SIZE", 3)
        pages = _pages(dpo, url, data)
        monkeypatch.undo()
        assert all(len(page) == 3 for page in pages[:-1]) and len(pages) > 2, data
        seen = [row for page in pages for row in page]
        # each GET logs the DPO's audit reads before its page: the history as of the first
        whole = dossier_history(world.case, page_size=10_000, **_filters(data)).rows
        keys = [(r.at, r.key) for r in whole]
        assert seen == keys[keys.index(seen[0]) :], data


def _filters(data: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    if "user" in data:
        found["user_id"] = data["user"]
    if "date_to" in data:
        found["date_to"] = datetime.date.fromisoformat(data["date_to"])
    return found


def test_u4_the_dossier_audit_shows_refused_requests(world):
    _denial(world)
    response = world.dpo.client().get(reverse("audit_case", args=[world.case.pk]))
    denied = [r for r in response.context["rows"] if r.kind == "denied"]
    assert [(r.user, r.path) for r in denied] == [
        (world.outsider.user, reverse("case_detail", args=[world.case.pk]))
    ]
    assert "refusé" in audit_table(response)
    # the filter by person applies to them too
    other = world.dpo.client().get(
        reverse("audit_case", args=[world.case.pk]), {"user": world.worker.user.pk}
    )
    assert not [r for r in other.context["rows"] if r.kind == "denied"]


def test_u4_the_audit_hides_the_hash_chain_columns(world):
    world.case.title = "Aide au logement"
    world.case.save()
    response = world.dpo.client().get(reverse("audit_case", args=[world.case.pk]))
    names = {c[0] for row in response.context["rows"] for c in row.changes}
    assert "title" in names
    assert not names & {"chain_seq", "prev_hash", "row_hash", "pgh_id", "pgh_obj_id"}


@pytest.mark.parametrize(
    "before",
    [
        "garbage|x|1",
        "2024-01-01T00:00:00+00:00|~read|99999999999999999999",
        "2024-13-45T00:00:00+00:00|~read|1",
        "2024-01-01T00:00:00|~read|1",
        "2024-01-01T00:00:00+00:00|bogus.Model|1",
        "2024-01-01T00:00:00+00:00|~read|\uff11",
        "2024-01-01T00:00:00+00:00|~read|-1",
        "'; DROP TABLE records_readlog; --",
        "2024-01-01T00:00:00+00:00|~read|1|2",
    ],
)
def test_u4_an_edited_page_link_answers_400_not_an_error(world, before):
    _history(world)
    url = reverse("audit_case", args=[world.case.pk])
    response = world.dpo.client().get(url, {"before": before, "user": world.worker.user.pk})
    assert response.status_code == 400
    assert response.context["rows"] == []
    body = text(response)
    assert "Ce lien de page n'est pas valable" in body
    assert f'href="?user={world.worker.user.pk}"' in body  # the newest entries, same filter


def test_u4_a_page_link_past_the_oldest_row_gives_an_empty_page(world):
    _history(world)
    url = reverse("audit_case", args=[world.case.pk])
    response = world.dpo.client().get(url, {"before": "1990-01-01T00:00:00+00:00|~read|1"})
    assert response.status_code == 200
    assert response.context["rows"] == []


@pytest.mark.parametrize(
    ("language", "message"),
    [("fr", "Saisissez une date valide."), ("de", "Bitte ein gültiges Datum eingeben.")],
)
def test_u4_a_bad_date_in_the_filter_says_so_in_the_users_language(world, language, message):
    _history(world)
    dpo = world.dpo.client()
    dpo.cookies["django_language"] = language
    url = reverse("audit_case", args=[world.case.pk])
    response = dpo.get(url, {"date_from": "2024-02-30"})
    assert response.status_code == 200
    assert response.context["form"].errors["date_from"] == [message]
    assert response.context["rows"] == []
    assert message in text(response)


# ---------------------------------------------------------------------------------------------
# The event tables' indexes (M2, U4; decision 0038, round 2)


def _leading_columns(table: str) -> set[str]:
    """The first column of each index of ``table``."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT a.attname FROM pg_index i JOIN pg_attribute a"
            " ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]"
            " WHERE i.indrelid = %s::regclass",
            [table],
        )
        return {row[0] for row in cursor.fetchall()}


@pytest.mark.django_db
def test_m2_event_tables_index_what_the_audit_searches_and_no_other_foreign_key():
    from pghistory.models import Event

    from filum.records.audit import event_sources

    searched: dict[str, set[str]] = {}
    for source in event_sources():
        searched.setdefault(source.table, set()).add(source.column)
    events = [m for m in apps.get_models() if issubclass(m, Event) and m._meta.managed]
    assert len(events) > 40
    for model in events:
        table = model._meta.db_table
        leading = _leading_columns(table)
        # the object (an object's previous event; filum_dispose_events) and, for the
        # dossier's audit, every column naming a dossier
        wanted = {"pgh_obj_id", *searched.get(table, set())}
        assert wanted <= leading, (table, wanted - leading)
        # the copied foreign keys nothing searches by carry no index (each costs every insert)
        copied = {
            f.column
            for f in model._meta.fields
            if f.is_relation and f.column not in wanted and f.name != "pgh_obj"
        }
        assert not copied & leading, (table, copied & leading)
    # the journal's event table: its primary key, the chain, the dossier's keyset, the object
    assert _leading_columns("journal_contactevent") == {
        "pgh_id",
        "chain_seq",
        "case_id",
        "pgh_obj_id",
    }
