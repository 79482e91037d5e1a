"""Idempotent writes (X7): every create form carries a one-time token; sending it again (double
click, resend after a lost response, browser back) stores nothing more and shows what was
stored."""

from __future__ import annotations

import datetime
import io
import re
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.db import connection, transaction
from django.db.models import Model
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from filum.cases.models import Case, Consent, SegmentProposal, Share
from filum.documents.models import Document
from filum.followup import services as followup_services
from filum.followup.models import Task
from filum.journal.models import Contact
from filum.people.models import Person
from filum.web import once
from filum.web.models import SubmittedForm
from tests import factories
from tests.test_cases import share_data
from tests.test_documents import private_storage  # noqa: F401 (autouse: files in tmp_path)
from tests.test_people import person_data
from tests.test_steering_views import contact_data, criterion, in_intake_2

PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
ALREADY = "Ce formulaire avait déjà été envoyé"
TODAY = timezone.localdate


def token_on(client: Client, page: str) -> str:
    """The form's one-time token, as the browser received it with the page."""
    response = client.get(page)
    assert response.status_code == 200, page
    found = re.findall(r'name="form_token" value="([0-9a-f-]{36})"', response.content.decode())
    assert len(found) == 1, f"{page}: {len(found)} form tokens"
    return found[0]


def assert_stored_once(
    browser: Client,
    *,
    page: str,
    url: str,
    data: Callable[[], dict[str, Any]],
    model: type[Model],
    **lookup: Any,
) -> None:
    before = model.objects.filter(**lookup).count()  # type: ignore[attr-defined]
    token = token_on(browser, page)
    first = browser.post(url, {**data(), "form_token": token})
    assert first.status_code == 302, getattr(first, "context", None) and first.context.get("form")
    again = browser.post(url, {**data(), "form_token": token}, follow=True)
    assert model.objects.filter(**lookup).count() == before + 1  # type: ignore[attr-defined]
    assert again.redirect_chain[0][0] == first["Location"]
    assert ALREADY in " ".join(str(m) for m in again.context["messages"])


def test_x7_a_contact_sent_twice_is_recorded_once(world):
    url = reverse("contact_create", args=[world.case.pk])
    assert_stored_once(
        world.worker.client(), page=url, url=url, data=contact_data, model=Contact, case=world.case
    )


def test_x7_a_task_sent_twice_is_created_once(world):
    url = reverse("task_create", args=[world.case.pk])
    due = (TODAY() + datetime.timedelta(days=3)).isoformat()
    assert_stored_once(
        world.worker.client(),
        page=url,
        url=url,
        data=lambda: {"title": "Copie du bail", "due_on": due, "assignee": "role:admin_assistant"},
        model=Task,
        title="Copie du bail",
    )


def pdf() -> dict[str, Any]:
    return {"file": SimpleUploadedFile("bail.pdf", PDF, content_type="application/pdf")}


def test_x7_a_document_sent_twice_is_stored_once(world):
    url = reverse("document_upload", args=[world.case.pk])
    client = world.worker.client()
    assert_stored_once(client, page=url, url=url, data=pdf, model=Document, case=world.case)
    # The dossier's document page carries its own upload form with a token too.
    token_on(client, reverse("case_documents", args=[world.case.pk]))


def test_x7_a_document_dropped_twice_onto_a_task_is_stored_once(world):
    task = followup_services.do_create_task(
        actor=world.worker.actor,
        case=world.case,
        title="Bail",
        due_on=TODAY() + datetime.timedelta(days=3),
        assigned_to=world.worker.user,
    )
    assert_stored_once(
        world.worker.client(),
        page=reverse("task_detail", args=[task.pk]),
        url=reverse("task_document_upload", args=[task.pk]),
        data=pdf,
        model=Document,
        task=task,
    )


def test_x7_a_share_sent_twice_is_granted_once(world):
    url = reverse("share_create", args=[world.case.pk])
    assert_stored_once(
        world.worker.client(),
        page=url,
        url=url,
        data=lambda: share_data(world),
        model=Share,
        case=world.case,
    )


def test_x7_a_consent_sent_twice_is_recorded_once(world):
    url = reverse("consent_create", args=[world.case.pk])
    assert_stored_once(
        world.worker.client(),
        page=url,
        url=url,
        data=lambda: {"kind": "general", "scope": "Tout le dossier", "signed_on": TODAY()},
        model=Consent,
        case=world.case,
    )


def test_x7_a_segment_proposal_sent_twice_is_made_once(world):
    case = in_intake_2(world)
    url = reverse("segment_propose", args=[case.pk])
    assert_stored_once(
        world.worker.client(),
        page=url,
        url=url,
        data=lambda: {"segment": "B", "criteria": [criterion("B").pk], "justification": "Santé."},
        model=SegmentProposal,
        case=case,
    )


def test_x7_a_dossier_sent_twice_is_opened_once(world):
    url = reverse("case_create", args=[world.case.client_id])
    assert_stored_once(
        world.worker.client(),
        page=url,
        url=url,
        data=lambda: {
            "domain": "economic_aid",
            "title": "Demande",
            "opened_on": TODAY().isoformat(),
            "responsible": world.worker.user.pk,
        },
        model=Case,
        client=world.case.client,
    )


def test_x7_a_person_sent_twice_is_created_once(world):
    url = reverse("person_create")
    assert_stored_once(
        world.intake.client(),
        page=url,
        url=url,
        data=lambda: person_data(confirm_new="1"),
        model=Person,
        last_name="Berger",
    )


def test_x7_a_refused_form_frees_its_token_for_the_corrected_one(world):
    """Form errors store nothing, not even the token: the corrected form is then stored."""
    client = world.worker.client()
    url = reverse("contact_create", args=[world.case.pk])
    token = token_on(client, url)
    refused = client.post(url, {**contact_data(duration_minutes=""), "form_token": token})
    assert refused.status_code == 200 and refused.context["form"].errors["duration_minutes"]
    assert not SubmittedForm.objects.filter(token=token).exists()
    assert client.post(url, {**contact_data(), "form_token": token}).status_code == 302
    assert Contact.objects.filter(case=world.case).count() == 1


def test_x7_a_token_belongs_to_its_user(world):
    """The same token sent by someone else is theirs to use: no answer about another's form."""
    url = reverse("contact_create", args=[world.case.pk])
    token = token_on(world.worker.client(), url)
    assert world.worker.client().post(url, {**contact_data(), "form_token": token}).status_code
    response = world.colleague.client().post(
        url, {**contact_data(note="Autre"), "form_token": token}
    )
    assert response.status_code in (302, 404)
    assert SubmittedForm.objects.filter(token=token).count() == (
        2 if response.status_code == 302 else 1
    )


def test_x7_old_form_tokens_are_purged_and_recent_ones_kept(world):
    client = world.worker.client()
    url = reverse("contact_create", args=[world.case.pk])
    for _ in range(2):
        client.post(url, {**contact_data(), "form_token": token_on(client, url)})
    old, recent = SubmittedForm.objects.order_by("id")
    SubmittedForm.objects.filter(pk=old.pk).update(
        created_at=timezone.now() - datetime.timedelta(days=8)
    )
    out = io.StringIO()
    call_command("purge_form_tokens", stdout=out)
    assert "form tokens deleted: 1" in out.getvalue()
    assert list(SubmittedForm.objects.values_list("pk", flat=True)) == [recent.pk]


def test_x7_a_second_send_while_the_first_is_being_stored_waits_and_stores_nothing(
    transactional_db,
):
    """A double click: the second request's claim waits for the first transaction, then finds
    the token taken (and claims it if the first one was rolled back)."""
    user = factories.UserFactory()
    token = uuid.uuid4()  # a new one per round, below
    results: list[tuple[str, bool]] = []
    claimed, release = threading.Event(), threading.Event()

    def first(outcome: str) -> None:
        with transaction.atomic():
            results.append(("first", once._claim(user.pk, token)))
            claimed.set()
            release.wait(10)
            transaction.set_rollback(outcome == "rollback")
        connection.close()

    def second() -> None:
        claimed.wait(10)
        with transaction.atomic():
            results.append(("second", once._claim(user.pk, token)))
        connection.close()

    for outcome, second_gets_it in (("rollback", True), ("commit", False)):
        token = uuid.uuid4()
        results.clear()
        claimed.clear()
        release.clear()
        threads = [threading.Thread(target=first, args=(outcome,)), threading.Thread(target=second)]
        for thread in threads:
            thread.start()
        claimed.wait(10)
        time.sleep(0.3)
        assert results == [("first", True)]  # the second one waits on the first's row
        release.set()
        for thread in threads:
            thread.join(10)
        assert results == [("first", True), ("second", second_gets_it)]
