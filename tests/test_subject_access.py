"""Subject access (nFADP art. 25, decision 0037): a person's export, within the organisation's
reach, with who read and changed it; the export itself is logged."""

from __future__ import annotations

import datetime
import json
import uuid
from typing import Any

import pytest
import weasyprint
from django.db import connection
from django.template.loader import render_to_string
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation

from filum.cases.models import Consent
from filum.exchange import format as fmt
from filum.followup.models import Task
from filum.people.models import Person
from filum.records import subject_access_bench
from filum.records.models import ReadLog, SecurityEvent
from filum.records.subject_access import (
    EXPORT_EVENT,
    FORMAT,
    KINDS,
    get_subject_for_actor,
    json_stream,
    pdf_context,
)
from filum.tenancy.policy import SECTIONS, Relation, is_allowed
from tests import factories
from tests.test_transfer import contact, document

TODAY = timezone.localdate

# The shape of the JSON export (decision 0037): top-level keys in order.
TOP_KEYS = [
    "format",
    "created_at",
    "language",
    "organisation",
    "requested_by",
    "cover",
    "person",
    "households",
    "dossiers",
    *[kind for kind, _ in KINDS],
    "person_log",
    "log",
]
# Each kind's records are the exchange format's.
RECORDS = {
    "dossiers": fmt.DossierRecord,
    "stages": fmt.StageRecord,
    "segments": fmt.SegmentRecord,
    "tasks": fmt.TaskRecord,
    "consents": fmt.ConsentRecord,
    "shares": fmt.ShareRecord,
    "journal": fmt.JournalEntryRecord,
    "assessments": fmt.AssessmentRecord,
    "plans": fmt.PlanRecord,
    "measures": fmt.MeasureRecord,
    "documents": fmt.DocumentRecord,
    "households": fmt.HouseholdRecord,
}
LOG_KEYS = {"dossier", "at", "kind", "user", "what", "section", "object", "fields"}


@pytest.fixture
def private_storage(settings: Any, tmp_path: Any) -> None:
    settings.STORAGES = {
        **settings.STORAGES,
        "documents": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path)},
        },
    }


@pytest.fixture
def held(world, private_storage):
    """The person of the service's dossier, with a second dossier of the service, a dossier of
    another service shared with it for the journal only, and one not shared at all."""
    person = world.case.client
    worker, outsider = world.worker.user, world.outsider.user
    second = factories.CaseFactory(owner=world.service_org, client=person, responsible=worker)
    shared = factories.CaseFactory(owner=world.outsider_org, client=person, responsible=outsider)
    hidden = factories.CaseFactory(owner=world.outsider_org, client=person, responsible=outsider)
    factories.ShareFactory(
        case=shared,
        organisation=world.service_org,
        sections=["journal"],
        granted_by=outsider,
    )
    contact(world.case, world.case.opened_on, "Entretien Bienne")
    contact(second, second.opened_on, "Deuxième dossier")
    contact(shared, shared.opened_on, "Note partagée")
    contact(hidden, hidden.opened_on, "Secret Thoune")
    for case, title in ((world.case, "Appeler le bailleur"), (shared, "Tâche cachée")):
        Task.objects.create(
            case=case,
            owner_id=case.owner_id,
            title=title,
            due_on=TODAY(),
            assigned_role="social_worker",
        )
    document(world.case, timezone.now(), "bail.pdf")
    document(shared, timezone.now(), "cache.pdf")
    Consent.objects.create(
        case=world.case,
        owner_id=world.case.owner_id,
        person=person,
        kind="general",
        scope="Échange avec le partenaire",
        signed_on=TODAY() - datetime.timedelta(days=3),
        recorded_by=worker,
    )
    # a read and a change by the worker, through the pages
    client = world.worker.client()
    assert client.get(reverse("case_detail", args=[world.case.pk])).status_code == 200
    response = client.post(
        reverse("case_edit", args=[world.case.pk]),
        {
            "domain": "economic_aid",
            "title": "Aide au logement",
            "opened_on": world.case.opened_on.isoformat(),
            "responsible": worker.pk,
            "version": world.case.version,
        },
    )
    assert response.status_code == 302
    return {"person": person, "second": second, "shared": shared, "hidden": hidden}


def export(persona: Any, person: Person, kind: str = "json", language: str = "fr") -> Any:
    url = reverse("subject_access", args=[person.pk])
    return persona.client().post(url, {"format": kind, "language": language})


def exported_json(persona: Any, person: Person, language: str = "fr") -> dict[str, Any]:
    response = export(persona, person, "json", language)
    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"] == "application/json"
    return json.loads(b"".join(response.streaming_content))


def test_x6_the_json_export_holds_every_section_in_reach_and_nothing_else(world, held):
    data = exported_json(world.dpo, held["person"])
    assert list(data) == TOP_KEYS
    assert data["format"] == FORMAT
    assert data["person"]["last_name"] == held["person"].last_name
    fmt.PersonRecord.model_validate_json(json.dumps(data["person"]))
    for kind, model in RECORDS.items():
        for record in data[kind]:
            own = {k: v for k, v in record.items() if k in model.model_fields}
            model.model_validate_json(json.dumps(own))
    dossiers = {d["source_id"]: d for d in data["dossiers"]}
    sid = "filum:dossier:{}".format
    # the service's two dossiers, and the other service's shared one; not the unshared one
    assert set(dossiers) == {sid(world.case.pk), sid(held["second"].pk), sid(held["shared"].pk)}
    assert dossiers[sid(world.case.pk)]["sections"] == list(SECTIONS)
    assert dossiers[sid(world.case.pk)]["relation"] == "owner"
    assert dossiers[sid(held["shared"].pk)]["sections"] == ["journal"]
    assert dossiers[sid(held["shared"].pk)]["relation"] == "shared"
    notes = {entry["note"] for entry in data["journal"]}
    assert notes == {"Entretien Bienne", "Deuxième dossier", "Note partagée"}
    # the shared dossier's core and documents are not shared: its task and file are absent
    assert [t["title"] for t in data["tasks"]] == ["Appeler le bailleur"]
    assert [(d["original_name"], d["sha256"]) for d in data["documents"]] == [
        ("bail.pdf", "0" * 64)
    ]
    assert [c["scope"] for c in data["consents"]] == ["Échange avec le partenaire"]
    assert "Secret Thoune" not in json.dumps(data)
    assert "Tâche cachée" not in json.dumps(data)
    # the shared dossier's share is core data of the outsider's: not listed
    assert all(s["dossier"] != sid(held["shared"].pk) for s in data["shares"])
    cover = data["cover"]
    assert cover["controller"] == world.service_org.name
    assert world.outsider_org.name not in cover["recipients"]  # its share is towards us
    assert cover["purpose"] and cover["retention"] and cover["origin"]
    # the retention rule of the dossiers' kind (decision 0036: 10 years by default)
    rules = cover["retention_rules"]
    assert rules and all(
        line.endswith(": conservé 10 ans après la clôture légale.") for line in rules
    )


def test_x6_the_log_lists_who_read_and_changed_each_dossier_and_when(world, held):
    data = exported_json(world.dpo, held["person"])
    mine = [e for e in data["log"] if e["dossier"] == f"filum:dossier:{world.case.pk}"]
    assert all(set(e) == LOG_KEYS for e in data["log"])
    worker = f"{world.worker.user.first_name} {world.worker.user.last_name}".strip()
    reads = [e for e in mine if e["kind"] == "read" and e["what"] == "view"]
    assert {e["section"] for e in reads} == set(SECTIONS)  # the dossier page reads them all
    assert {e["user"] for e in reads} == {worker}
    changes = [e for e in mine if e["kind"] == "change" and e["user"] == worker]
    assert any(e["what"] == "update" and e["fields"] for e in changes)
    for entry in mine:
        at = datetime.datetime.fromisoformat(entry["at"])
        assert timezone.now() - at < datetime.timedelta(minutes=5)
    # the shared dossier: only the service's own reads, here the export's own (logged first);
    # the other service's note was written there, but its change is the owner's to tell
    shared = [e for e in data["log"] if e["dossier"] == f"filum:dossier:{held['shared'].pk}"]
    dpo = f"{world.dpo.user.first_name} {world.dpo.user.last_name}".strip()
    assert [(e["kind"], e["what"], e["section"], e["user"]) for e in shared] == [
        ("read", "export", "journal", dpo)
    ]


def test_x6_r14_making_the_export_is_logged_reads_and_a_security_event(world, held):
    last = ReadLog.objects.order_by("-id").values_list("id", flat=True).first() or 0
    exported_json(world.dpo, held["person"])
    rows = ReadLog.objects.filter(id__gt=last, user=world.dpo.user)
    got = sorted((str(r.case_id or r.person_id), r.section, r.kind) for r in rows)
    expected = [(str(held["person"].pk), "core", "export")]
    expected += [(str(c.pk), s, "export") for c in (world.case, held["second"]) for s in SECTIONS]
    expected += [(str(held["shared"].pk), "journal", "export")]
    assert got == sorted(expected)
    [event] = SecurityEvent.objects.filter(kind=EXPORT_EVENT)
    assert event.user_id == world.dpo.user.pk
    assert event.organisation_id == world.service_org.pk
    assert event.detail == {"person_id": str(held["person"].pk), "format": "json", "dossiers": 3}
    # the next export lists the reads the first one made
    again = exported_json(world.dpo, held["person"])
    exports = [e for e in again["log"] if e["what"] == "export"]
    assert {e["dossier"] for e in exports} == {
        f"filum:dossier:{c.pk}" for c in (world.case, held["second"], held["shared"])
    }
    # the person record's exports: the first one, and this one (logged before it is written)
    assert [e["section"] for e in again["person_log"] if e["what"] == "export"] == ["core"] * 2


def test_x6_the_pdf_is_produced_and_names_the_person(world, held):
    response = export(world.head, held["person"], "pdf", "de")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    pdf = response.content
    assert pdf.startswith(b"%PDF-")
    assert pdf.rstrip().endswith(b"%%EOF")
    assert SecurityEvent.objects.get(kind=EXPORT_EVENT).detail["format"] == "pdf"


@pytest.mark.parametrize(
    ("language", "words"),
    [
        (
            "fr",
            (
                "Renseignements sur les données",
                "Qui a lu ou modifié le dossier",
                "Finalité",
                "consulté",
            ),
        ),
        ("de", ("Wer hat das Dossier gelesen oder geändert", "Zweck", "angesehen")),
    ],
)
def test_u1_the_pdf_speaks_the_chosen_language(world, held, rf, language, words):
    request = rf.get("/")
    request.actor = world.dpo.actor
    request.user = world.dpo.user
    subject = get_subject_for_actor(request=request, person_id=held["person"].pk)
    with translation.override(language):
        html = render_to_string(
            "records/subject_access_pdf.html", pdf_context(subject, actor=world.dpo.actor)
        )
    for word in words:
        assert word in html, word
    assert len(weasyprint.HTML(string=html).render().pages) >= 2  # cover and dossiers
    assert held["person"].last_name in html
    assert "Entretien Bienne" in html and "Note partagée" in html
    assert "Secret Thoune" not in html and "Tâche cachée" not in html and "cache.pdf" not in html


def test_r9_who_may_make_the_export(world, held):
    """The DPO and the section head; not the super-user (no dossier content), not the worker."""
    allowed = {
        role
        for role in ("dpo", "section_head", "super_user", "social_worker", "partner_staff")
        if is_allowed(role, "subject.access", Relation.OWN_ORG)
    }
    assert allowed == {"dpo", "section_head"}
    url = reverse("subject_access", args=[held["person"].pk])
    for persona, status in (
        (world.dpo, 200),
        (world.head, 200),
        (world.superuser, 404),
        (world.worker, 404),
        (world.partner, 404),
    ):
        assert persona.client().get(url).status_code == status, persona.membership.role
        assert export(persona, held["person"]).status_code == status, persona.membership.role
    assert SecurityEvent.objects.filter(kind=EXPORT_EVENT).count() == 2


def test_r12_a_person_out_of_reach_answers_like_a_missing_one(world, held):
    stranger = factories.CaseFactory(owner=world.outsider_org).client
    client = world.dpo.client()
    forbidden = client.get(reverse("subject_access", args=[stranger.pk]))
    missing = client.get(reverse("subject_access", args=[uuid.uuid4()]))
    assert forbidden.status_code == missing.status_code == 404
    assert export(world.dpo, stranger).status_code == 404
    assert not SecurityEvent.objects.filter(kind=EXPORT_EVENT).exists()
    denied = SecurityEvent.objects.filter(kind="access_denied", user=world.dpo.user)
    assert {e.detail["object_id"] for e in denied} == {str(stranger.pk)}


def test_a_person_registered_by_the_service_without_a_dossier_has_their_own_data(world):
    person = factories.PersonFactory(registered_by=world.service_org)
    data = exported_json(world.dpo, person)
    assert data["person"]["last_name"] == person.last_name
    assert data["dossiers"] == [] and data["journal"] == [] and data["log"] == []


def test_bad_input_an_unknown_format_or_language_exports_nothing(world, held):
    url = reverse("subject_access", args=[held["person"].pk])
    client = world.dpo.client()
    for data in ({"format": "xml", "language": "fr"}, {"format": "pdf", "language": "it"}, {}):
        response = client.post(url, data)
        assert response.status_code == 400
        assert response["Content-Type"].startswith("text/html")
    assert not SecurityEvent.objects.filter(kind=EXPORT_EVENT).exists()
    assert not ReadLog.objects.filter(kind="export").exists()


def test_the_dpo_finds_the_person_by_ahv_number_or_name_and_birth_date(world, held):
    person = held["person"]
    Person.objects.filter(pk=person.pk).update(ahv_number="7561234567897")
    client = world.dpo.client()
    url = reverse("subject_access_find")
    assert client.get(url).status_code == 200
    found = client.post(url, {"ahv_number": "756.1234.5678.97"})
    assert found.status_code == 302
    assert found["Location"] == reverse("subject_access", args=[person.pk])
    by_name = client.post(
        url,
        {
            "last_name": person.last_name.upper(),
            "first_name": person.first_name,
            "birth_date": person.birth_date.isoformat(),
        },
    )
    assert by_name["Location"] == reverse("subject_access", args=[person.pk])
    # someone only the other service knows is not found
    stranger = factories.CaseFactory(owner=world.outsider_org).client
    response = client.post(
        url,
        {
            "last_name": stranger.last_name,
            "first_name": stranger.first_name,
            "birth_date": stranger.birth_date.isoformat(),
        },
    )
    assert response.status_code == 200
    assert reverse("subject_access", args=[stranger.pk]) not in response.content.decode()
    assert (
        "No person in your organisation" in response.content.decode()
        or "Aucune personne" in response.content.decode()
    )
    # bad input: a wrong check digit, nothing at all
    assert client.post(url, {"ahv_number": "756.1234.5678.90"}).status_code == 400
    assert client.post(url, {"last_name": "Muster"}).status_code == 400


def test_the_person_page_links_the_export_for_those_allowed(world, held):
    url = reverse("person_detail", args=[held["person"].pk])
    link = reverse("subject_access", args=[held["person"].pk])
    assert link in world.head.client().get(url).content.decode()
    assert link not in world.worker.client().get(url).content.decode()


def _queries(world: Any, person: Person) -> int:
    request_path = reverse("subject_access", args=[person.pk])

    class Request:
        method = "POST"
        path = request_path
        META: dict[str, str] = {}
        actor = world.dpo.actor
        user = world.dpo.user

    subject = get_subject_for_actor(request=Request(), person_id=person.pk)  # type: ignore[arg-type]
    with CaptureQueriesContext(connection) as queries:
        for _chunk in json_stream(subject, actor=world.dpo.actor, language="fr"):
            pass
    return len(queries)


# Queries of a JSON export: a fixed number for the content whatever the number of dossiers
# and journal entries, and two per dossier (one page of its log and the names it shows).
PER_DOSSIER = 2


def test_u4_the_export_queries_do_not_grow_with_the_journal(world, held):
    base = _queries(world, held["person"])
    for index in range(20):
        contact(held["second"], held["second"].opened_on, f"Entretien {index}")
    assert _queries(world, held["person"]) == base
    for _index in range(3):
        extra = factories.CaseFactory(
            owner=world.service_org, client=held["person"], responsible=world.worker.user
        )
        contact(extra, extra.opened_on, "Encore")
    assert _queries(world, held["person"]) == base + 3 * PER_DOSSIER


def test_the_bench_row_exports_the_person_with_the_most_dossiers(world, held):
    dpo, person_id, note = subject_access_bench.busiest_subject() or (None, None, "")
    assert dpo == world.dpo.membership
    assert person_id == held["person"].pk
    assert "2 dossiers" in note
    reads = ReadLog.objects.count()
    size = subject_access_bench.export_json(world.dpo.client(), held["person"].pk)
    assert size > 1000
    # what the export writes is rolled back: the next run exports the same read log
    assert SecurityEvent.objects.filter(kind=EXPORT_EVENT).count() == 0
    assert ReadLog.objects.count() == reads
    url = reverse("subject_access", args=[held["person"].pk])
    response = world.dpo.client().post(url, {"format": "json", "language": "fr"})
    assert len(b"".join(response.streaming_content)) > 1000
    assert SecurityEvent.objects.filter(kind=EXPORT_EVENT).count() == 1  # made outside it
