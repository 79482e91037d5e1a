"""Third-party input (A8): a worker sends a provider a single-use, expiring link to one form;
the provider fills it in without an account; the entry waits for the worker to accept or
reject it; the link can be withdrawn; opening and sending are logged. Bad input: expired,
withdrawn, used and unknown links, a double submit, invalid values, a dossier out of reach."""

from __future__ import annotations

import datetime
import hashlib
import logging
import re
from typing import Any

import pytest
import time_machine
from django.conf import settings
from django.core import mail
from django.db import DatabaseError, transaction
from django.test import Client
from django.urls import reverse

from filum.assessments import links
from filum.assessments.models import (
    Assessment,
    AssessmentAnswer,
    AssessmentLink,
    TemplateVersion,
)
from filum.assessments.sms import MemorySender
from filum.cases.models import Case
from filum.people.models import Person
from filum.records.models import DENIAL, ReadLog, SecurityEvent
from filum.tenancy.models import Organisation
from tests import factories, plan_factories
from tests.test_templates_i18n import check_page, strict_templates  # noqa: F401

NOW = datetime.datetime(2026, 6, 30, 10, 0, tzinfo=datetime.UTC)
FIRST_NAME = "Zyamirawq"
LAST_NAME = "Zycanarylinkwq"
TOKEN_IN = re.compile(r"/f/([A-Za-z0-9_-]{20,})/")
LANGUAGES_ONLY = {
    "language_levels_0": "de",
    "language_levels_1": "a2",
    "language_levels_2": "a1",
    "language_source": "course",
}


@pytest.fixture
def frozen() -> Any:
    with time_machine.travel(NOW, tick=True):
        yield


@pytest.fixture
def be_version(db: object) -> TemplateVersion:
    return TemplateVersion.objects.get(template__canton="BE", template__code="potential_assessment")


@pytest.fixture
def case(world: Any, be_version: TemplateVersion) -> Case:
    """The worker's dossier, its client named so that the tests can look for the name."""
    Case.objects.filter(pk=world.case.pk).update(opened_on=datetime.date(2024, 11, 4))
    Person.objects.filter(pk=world.case.client_id).update(
        first_name=FIRST_NAME, last_name=LAST_NAME
    )
    world.case.refresh_from_db()
    world.case.client.refresh_from_db()
    return world.case


@pytest.fixture
def sms(settings: Any) -> list[Any]:
    settings.FILUM_SMS_SENDER = "filum.assessments.sms.MemorySender"
    MemorySender.outbox.clear()
    return MemorySender.outbox


def url(name: str, *args: Any) -> str:
    return reverse(name, args=args)


def send_link(client: Client, case: Case, **overrides: Any) -> tuple[AssessmentLink, str]:
    """Send a link to the languages section by e-mail; the link and its token (from the
    message)."""
    data: dict[str, Any] = {
        "person": str(case.client_id),
        "version": TemplateVersion.objects.get(template__code="potential_assessment").pk,
        "sections": ["languages"],
        "recipient": "École de langues Zylingowq",
        "channel": "email",
        "email": "cours@example.ch",
        "days": "7",
    }
    data.update(overrides)
    data = {k: v for k, v in data.items() if v is not None}
    with django_capture_on_commit():
        response = client.post(url("assessment_link_create", case.pk), data)
    assert response.status_code == 302, response.context["form"].errors
    link = AssessmentLink.objects.order_by("-created_at").first()
    assert link is not None
    text = MemorySender.outbox[-1].body if link.channel == "sms" else mail.outbox[-1].body
    found = TOKEN_IN.search(text)
    assert found, text
    return link, found.group(1)


class django_capture_on_commit:  # noqa: N801
    """Run the on-commit callbacks (the message leaves after the commit) inside a test's
    transaction."""

    def __enter__(self) -> None:
        from django.db import connection

        self.connection = connection
        self.start = len(connection.run_on_commit)

    def __exit__(self, *exc: object) -> None:
        callbacks = self.connection.run_on_commit[self.start :]
        self.connection.run_on_commit[self.start :] = []
        for _sids, callback, _robust in callbacks:
            callback()


def link_page(token: str) -> str:
    return url("assessment_link_form", token)


def provider_client() -> Client:
    return Client(enforce_csrf_checks=True)


def post_form(client: Client, token: str, data: dict[str, Any]) -> Any:
    """GET the page (CSRF cookie and token, as a browser does), then POST it."""
    page = client.get(link_page(token))
    found = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode())
    csrf = found.group(1) if found else ""
    return client.post(link_page(token), {**data, "csrfmiddlewaretoken": csrf})


def unusable_text(response: Any, token: str) -> str:
    """The page without what legitimately differs: its own path and the masked CSRF token."""
    body = response.content.decode().replace(link_page(token), "<url>")
    return re.sub(r"\b[A-Za-z0-9]{64}\b", "<csrf>", body)


# --- sending -------------------------------------------------------------------------------------


def test_a8_worker_sends_a_link_by_email_in_the_organisations_language(world, case, sms, frozen):
    Organisation.objects.filter(pk=world.service_org.pk).update(language="de")
    link, token = send_link(world.worker.client(), case)
    message = mail.outbox[-1]
    assert message.to == ["cours@example.ch"]
    assert message.subject == "Service social Bienne-Test: ein Formular zum Ausfüllen"
    assert "Potenzialabklärung" in message.body or "Abklärung" in message.body
    assert FIRST_NAME in message.body and LAST_NAME not in message.body
    assert "einmal" in message.body
    # only the hash of the token is kept
    assert link.token_hash == hashlib.sha256(token.encode()).hexdigest()
    stored = AssessmentLink.objects.filter(pk=link.pk).values().get()
    assert token not in repr(stored)
    assert link.sections == ["languages"]
    assert link.expires_at == link.created_at + datetime.timedelta(days=7)
    assert link.created_by == world.worker.user and link.owner_id == world.service_org.pk
    assert SecurityEvent.objects.filter(kind="assessment_link.sent").count() == 1
    # the dossier's assessment section lists it as sent
    page = world.worker.client().get(url("case_assessments", case.pk)).content.decode()
    assert "École de langues Zylingowq" in page and "Langues" in page


def test_a8_link_by_sms_to_a_catalogue_provider_through_the_pluggable_sender(
    world, case, sms, frozen
):
    provider = plan_factories.provider(
        world.officer.membership.organisation,
        name="Coaching Zyjobwq",
        canton="BE",
        contact_name="Mme Zycoachwq",
        phone="079 123 45 67",
    )
    link, token = send_link(
        world.worker.client(),
        case,
        provider=str(provider.pk),
        recipient="",
        email="",
        channel="sms",
        sections=["work", "goals"],
    )
    assert [m.to for m in sms] == ["+41791234567"]
    assert link.recipient == "Mme Zycoachwq" and link.provider == provider
    assert link.phone == "+41791234567" and link.email == ""
    assert f"/f/{token}/" in sms[0].body and FIRST_NAME in sms[0].body
    assert mail.outbox == []


def test_a8_the_default_sms_sender_writes_to_the_console_not_to_the_log(capsys, caplog):
    from filum.assessments.sms import send_sms

    send_sms(to="+41791234567", body="Zysecretlinkwq")
    assert "Zysecretlinkwq" in capsys.readouterr().out
    assert "Zysecretlinkwq" not in caplog.text


def test_a8_the_link_form_refuses_incomplete_addresses(world, case, sms):
    client = world.worker.client()
    target = url("assessment_link_create", case.pk)
    version = TemplateVersion.objects.get(template__code="potential_assessment").pk
    base = {"person": str(case.client_id), "version": version, "days": "7"}
    cases = [
        ({"channel": "email", "recipient": "X"}, "email", "Une adresse e-mail est nécessaire"),
        ({"channel": "sms", "recipient": "X"}, "phone", "Un numéro de portable est nécessaire"),
        ({"channel": "sms", "recipient": "X", "phone": "12"}, "phone", "079 123 45 67"),
        ({"channel": "email", "email": "a@example.ch"}, "recipient", "Nommez le destinataire"),
        (
            {"channel": "email", "recipient": "X", "email": "a@example.ch", "days": "365"},
            "days",
            "",
        ),
        (
            {"channel": "email", "recipient": "X", "email": "a@example.ch", "sections": ["zz"]},
            "sections",
            "",
        ),
    ]
    for data, field, text in cases:
        response = client.post(target, {**base, **data})
        assert response.status_code == 200, data
        errors = response.context["form"].errors
        assert field in errors, (data, errors)
        assert text in " ".join(errors[field]), errors
    assert AssessmentLink.objects.count() == 0


# --- the provider's page -----------------------------------------------------------------------


def test_a8_the_provider_opens_the_form_without_an_account(world, case, sms):
    link, token = send_link(world.worker.client(), case)
    reads_before = ReadLog.objects.count()
    response = provider_client().get(link_page(token))
    assert response.status_code == 200
    html = response.content.decode()
    # the person's first name and the form's title, nothing else of the dossier
    assert FIRST_NAME in html and LAST_NAME not in html
    assert case.reference not in html and str(case.pk) not in html
    assert "Évaluation du potentiel" in html
    assert 'name="language_levels_0"' in html and 'name="language_source"' in html
    assert 'name="school_years"' not in html  # only the section asked for
    assert '<meta name="robots" content="noindex, nofollow">' in html
    assert response["X-Robots-Tag"] == "noindex, nofollow"
    assert response["Referrer-Policy"] == "same-origin"
    assert "no-store" in response["Cache-Control"]
    # the opening is logged, under the worker who sent the link, without the token
    reads = list(ReadLog.objects.order_by("id")[reads_before:])
    assert [(r.kind, r.section, r.case_id, r.user_id) for r in reads] == [
        ("link", "core", case.pk, world.worker.user.pk)
    ]
    assert token not in reads[0].path and str(link.pk) in reads[0].path
    link.refresh_from_db()
    assert link.opened_at is not None and link.used_at is None


def test_a8_a_submitted_entry_waits_as_a_draft_to_review_and_uses_the_link_up(world, case, sms):
    link, token = send_link(world.worker.client(), case)
    response = post_form(provider_client(), token, LANGUAGES_ONLY)
    assert response.status_code == 200
    assert "Merci" in response.content.decode()
    entry = Assessment.objects.get()
    assert (entry.status, entry.review) == ("draft", "pending")
    assert entry.answers == {
        "language_levels": [{"language": "de", "oral": "a2", "written": "a1"}],
        "language_source": "course",
    }
    assert entry.created_by == world.worker.user and entry.person_id == case.client_id
    link.refresh_from_db()
    assert link.used_at is not None and link.assessment == entry
    assert SecurityEvent.objects.filter(kind="assessment_link.used").count() == 1
    # the audit names the link, not the token
    event = entry.events.get()  # type: ignore[attr-defined]
    metadata = event.pgh_context.metadata
    assert metadata["link"] == str(link.pk) and token not in str(metadata)
    # not in the list of assessments nor in the history; waiting in the third-party panel
    worker = world.worker.client()
    page = worker.get(url("case_assessments", case.pk)).content.decode()
    assert "à examiner" in page
    assert url("assessment_detail", case.pk, entry.pk) in page
    assert AssessmentAnswer.objects.count() == 0
    history = worker.get(url("assessment_person_history", case.pk, case.client_id))
    assert "à examiner" in history.content.decode()


def test_a8_a_form_posted_twice_is_refused_the_second_time(world, case, sms):
    _link, token = send_link(world.worker.client(), case)
    client = provider_client()
    page = client.get(link_page(token)).content.decode()
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    data = {**LANGUAGES_ONLY, "csrfmiddlewaretoken": csrf}
    assert client.post(link_page(token), data).status_code == 200
    second = client.post(link_page(token), data)
    assert second.status_code == 404
    assert "Ce lien ne peut pas être utilisé" in second.content.decode()
    assert Assessment.objects.count() == 1


def test_a8_a_submit_racing_the_first_finds_the_link_used(world, case, sms):
    """The service itself refuses a second use (row lock), whatever the page did."""
    link, _token = send_link(world.worker.client(), case)
    answers = {"language_levels": [{"language": "de", "oral": "a1", "written": ""}]}
    links.do_submit(link_id=link.pk, answers=answers)
    with pytest.raises(links.LinkUnusable):
        links.do_submit(link_id=link.pk, answers=answers)
    assert Assessment.objects.count() == 1


def test_a8_expired_withdrawn_used_and_unknown_links_get_the_same_page(world, case, sms, caplog):
    worker = world.worker.client()
    _expired, expired_token = send_link(worker, case)
    _revoked, revoked_token = send_link(worker, case)
    _used, used_token = send_link(worker, case)
    revoke = worker.post(url("assessment_link_revoke", case.pk, _revoked.pk))
    assert revoke.status_code == 302
    assert post_form(provider_client(), used_token, LANGUAGES_ONLY).status_code == 200
    answers = []
    later = datetime.datetime.now(tz=datetime.UTC) + datetime.timedelta(days=8)
    with time_machine.travel(later), caplog.at_level(logging.INFO):
        for token in (expired_token, revoked_token, used_token, "Zyunknowntokenwq" * 3, "x"):
            response = provider_client().get(link_page(token))
            answers.append((response.status_code, unusable_text(response, token)))
            # a POST as the browser sends it (with its CSRF token): the same answer
            response = post_form(provider_client(), token, LANGUAGES_ONLY)
            answers.append((response.status_code, unusable_text(response, token)))
            # a POST without CSRF token is refused before anything else, whatever the token
            assert provider_client().post(link_page(token)).status_code == 403
    # no log line holds a token (R27)
    for token in (expired_token, revoked_token, used_token):
        assert token not in caplog.text
    assert "/f/…" in caplog.text
    assert {status for status, _text in answers} == {404}
    assert len({text for _status, text in answers}) == 1
    text = answers[0][1]
    # the same clear words in French and German
    assert "Ce lien ne peut pas être utilisé" in text
    assert "Dieser Link kann nicht verwendet werden" in text
    assert FIRST_NAME not in text
    assert Assessment.objects.count() == 1


def test_a8_a_closed_dossier_closes_its_links(world, case, sms):
    _link, token = send_link(world.worker.client(), case)
    Case.objects.filter(pk=case.pk).update(
        status="closed", closed_on=datetime.date.today(), closure_reason="other"
    )
    assert provider_client().get(link_page(token)).status_code == 404


def test_a8_unusable_tokens_from_one_address_are_slowed_down(world, case, sms):
    _link, token = send_link(world.worker.client(), case)
    client = provider_client()
    for n in range(links.REFUSED_PER_IP):
        assert client.get(link_page(f"Zyprobewq{n:04d}" * 4)).status_code == 404
    limited = client.get(link_page(token))
    assert limited.status_code == 429
    assert "Trop de demandes" in limited.content.decode()
    # another address still opens its link
    assert Client(REMOTE_ADDR="10.0.0.9").get(link_page(token)).status_code == 200


def test_a8_invalid_values_come_back_with_errors_in_the_organisations_language(world, case, sms):
    Organisation.objects.filter(pk=world.service_org.pk).update(language="de")
    link, token = send_link(world.worker.client(), case)
    client = provider_client()
    response = post_form(client, token, {"language_levels_1": "a2", "language_source": "nonsense"})
    assert response.status_code == 200
    html = response.content.decode()
    assert 'lang="de"' in html
    assert "Zeile 1 hat ein Niveau, aber keine Sprache." in html
    assert "Bitte eine gültige Auswahl treffen." in html
    # a required field left empty
    response = post_form(client, token, {"language_source": "course"})
    assert "Dieses Feld ist zwingend erforderlich." in response.content.decode()
    assert Assessment.objects.count() == 0
    link.refresh_from_db()
    assert link.used_at is None
    # the reader's own choice of language wins over the organisation's
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "fr"
    response = post_form(client, token, {"language_source": "course"})
    assert "Ce champ est obligatoire." in response.content.decode()


def test_a8_a_whole_form_link_refuses_an_empty_submission(world, case, sms):
    _link, token = send_link(world.worker.client(), case, sections=[])
    html = post_form(provider_client(), token, {}).content.decode()
    assert 'name="school_years"' in html and 'name="obstacles"' in html
    assert "Ce champ est obligatoire." in html
    assert Assessment.objects.count() == 0


# --- review ------------------------------------------------------------------------------------


def _submitted(world: Any, case: Case) -> tuple[AssessmentLink, Assessment]:
    link, token = send_link(world.worker.client(), case)
    assert post_form(provider_client(), token, LANGUAGES_ONLY).status_code == 200
    link.refresh_from_db()
    return link, Assessment.objects.get(pk=link.assessment_id)


def test_a8_the_worker_accepts_an_entry_and_it_is_final_in_the_history(world, case, sms):
    _link, entry = _submitted(world, case)
    worker = world.worker.client()
    detail = worker.get(url("assessment_detail", case.pk, entry.pk)).content.decode()
    assert "École de langues Zylingowq" in detail and "Accepter" in detail
    assert "Scolarité" not in detail  # only the section asked for
    # a pending entry is reviewed, not edited nor discarded
    assert worker.get(url("assessment_edit", case.pk, entry.pk)).status_code == 302
    worker.post(url("assessment_discard", case.pk, entry.pk))
    assert Assessment.objects.filter(pk=entry.pk).exists()

    response = worker.post(url("assessment_accept", case.pk, entry.pk))
    assert response.status_code == 302
    entry.refresh_from_db()
    assert (entry.status, entry.review) == ("final", "accepted")
    assert entry.finalised_by == world.worker.user == entry.reviewed_by
    rows = AssessmentAnswer.objects.filter(assessment=entry, field_key="language_levels")
    assert sorted(rows.values_list("item", "dimension", "code")) == [
        ("de", "oral", "a2"),
        ("de", "written", "a1"),
    ]
    history = worker.get(url("assessment_person_history", case.pk, case.client_id))
    assert "A2" in history.content.decode()
    # accepting twice changes nothing
    worker.post(url("assessment_accept", case.pk, entry.pk))
    assert AssessmentAnswer.objects.filter(assessment=entry).count() == 3


def test_a8_the_worker_rejects_an_entry_with_a_reason_it_stays_out_of_the_history(world, case, sms):
    _link, entry = _submitted(world, case)
    worker = world.worker.client()
    target = url("assessment_reject", case.pk, entry.pk)
    assert worker.get(target).status_code == 200
    response = worker.post(target, {"reason": ""})
    assert response.status_code == 200 and "reason" in response.context["form"].errors
    assert worker.post(target, {"reason": "Niveaux Zydoubtwq à vérifier"}).status_code == 302
    entry.refresh_from_db()
    assert (entry.status, entry.review) == ("rejected", "rejected")
    assert entry.review_reason == "Niveaux Zydoubtwq à vérifier"
    assert AssessmentAnswer.objects.count() == 0
    history = worker.get(url("assessment_person_history", case.pk, case.client_id))
    assert "A2" not in history.content.decode().split("Saisies de tiers")[0]
    detail = worker.get(url("assessment_detail", case.pk, entry.pk)).content.decode()
    assert "Zydoubtwq" in detail
    # kept as it came: the database refuses a change
    with pytest.raises(DatabaseError), transaction.atomic():
        Assessment.objects.filter(pk=entry.pk).update(review_reason="autre")
    assert worker.post(url("assessment_accept", case.pk, entry.pk)).status_code == 302
    entry.refresh_from_db()
    assert entry.status == "rejected"


def test_a8_a_link_is_withdrawn_before_use(world, case, sms):
    link, token = send_link(world.worker.client(), case)
    worker = world.worker.client()
    assert worker.post(url("assessment_link_revoke", case.pk, link.pk)).status_code == 302
    link.refresh_from_db()
    assert link.revoked_at is not None and link.revoked_by == world.worker.user
    assert provider_client().get(link_page(token)).status_code == 404
    # withdrawing a used link is refused
    used, used_token = send_link(worker, case)
    post_form(provider_client(), used_token, LANGUAGES_ONLY)
    worker.post(url("assessment_link_revoke", case.pk, used.pk))
    used.refresh_from_db()
    assert used.revoked_at is None and used.used_at is not None


def test_a8_links_and_entries_of_a_dossier_out_of_reach_answer_404(world, case, sms):
    link, _token = send_link(world.worker.client(), case)
    _link2, entry = _submitted(world, case)
    outsider = world.outsider.client()
    for path, method in (
        (url("assessment_link_create", case.pk), "get"),
        (url("assessment_link_create", case.pk), "post"),
        (url("assessment_link_revoke", case.pk, link.pk), "post"),
        (url("assessment_accept", case.pk, entry.pk), "post"),
        (url("assessment_reject", case.pk, entry.pk), "get"),
        (url("assessment_reject", case.pk, entry.pk), "post"),
    ):
        assert getattr(outsider, method)(path).status_code == 404, path
    assert SecurityEvent.objects.filter(
        kind=DENIAL, user=world.outsider.user, detail__object_type="link"
    ).exists()
    link.refresh_from_db()
    entry.refresh_from_db()
    assert link.revoked_at is None and entry.review == "pending"
    # a link of another dossier is not reached through this one
    other = factories.CaseFactory(owner=world.service_org, responsible=world.worker.user)
    assert (
        world.worker.client().post(url("assessment_link_revoke", other.pk, link.pk)).status_code
        == 404
    )
    # a partner with a read share of the assessments sends no link
    factories.ShareFactory(
        case=case,
        organisation=world.partner_org,
        sections=["assessment"],
        access="read",
        granted_by=world.worker.user,
    )
    partner = world.partner.client()
    assert partner.get(url("assessment_link_create", case.pk)).status_code == 404
    assert partner.post(url("assessment_accept", case.pk, entry.pk)).status_code == 404


# --- pages in French and German ------------------------------------------------------------


@pytest.mark.usefixtures("strict_templates")
@pytest.mark.parametrize("language", ["fr", "de"])
def test_u3_link_pages_render_without_unknown_variables(world, case, sms, language):
    open_link, token = send_link(world.worker.client(), case)
    _link, entry = _submitted(world, case)
    worker = world.worker.client()
    worker.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    for page in (
        url("case_assessments", case.pk),
        url("assessment_link_create", case.pk),
        url("assessment_detail", case.pk, entry.pk),
        url("assessment_reject", case.pk, entry.pk),
        url("assessment_person_history", case.pk, case.client_id),
    ):
        check_page(worker, page)
    check_page(worker, url("assessment_link_create", case.pk), method="post", data={})
    check_page(worker, url("assessment_reject", case.pk, entry.pk), method="post", data={})
    provider = Client()
    provider.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    check_page(provider, link_page(token))
    check_page(provider, link_page(token), method="post", data={"language_levels_1": "a1"})
    check_page(provider, link_page("Zyunknownwq"))
    worker.post(url("assessment_reject", case.pk, entry.pk), {"reason": "x"})
    check_page(worker, url("assessment_detail", case.pk, entry.pk))
    assert open_link.pk


# --- query counts (U4, decision 0015) ------------------------------------------------------------

# The dossier's assessments with links (a dossier without household): the request's own
# queries, the dossier, the read log, one keyset page, the links, the titles of the sections
# they ask for; the same with two links or with five.
LIST_WITH_LINKS = 7


def test_u4_the_assessment_list_with_links_costs_the_same_queries(world, case, sms):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    worker = world.worker.client()
    counts = []
    for extra in (1, 3):
        for _n in range(extra):
            send_link(worker, case)
        _submitted(world, case)
        worker.get(url("case_assessments", case.pk))
        with CaptureQueriesContext(connection) as queries:
            assert worker.get(url("case_assessments", case.pk)).status_code == 200
        counts.append(len(queries))
    assert counts == [LIST_WITH_LINKS, LIST_WITH_LINKS]
