"""Bad input on dossiers, shares and consent; concurrency; mass assignment (R15, R35, R37, R38)."""

from __future__ import annotations

import datetime
import html
from typing import Any
from unittest import mock

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from filum.cases import services
from filum.cases.models import Case, CaseTransition, Consent, Share
from filum.records.models import SecurityEvent
from tests import factories

TODAY = timezone.localdate


def text(response: Any) -> str:
    return html.unescape(response.content.decode())


def share_data(world: Any, **overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "organisation": world.partner_org.pk,
        "sections": ["journal"],
        "access": "read",
        "basis": "legal",
        "consent": "",
        "reason": "Mandat d'insertion, art. 9 LASoc",
        "valid_until": (TODAY() + datetime.timedelta(days=60)).isoformat(),
    }
    data.update(overrides)
    return data


def edit_data(case: Case, version: int, **overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "domain": case.domain,
        "title": case.title,
        "opened_on": case.opened_on.isoformat(),
        "responsible": case.responsible_id or "",
        "version": version,
    }
    data.update(overrides)
    return data


# ---------------------------------------------------------------------------------------------
# Closing


def test_p2_a_dossier_is_closed_with_date_and_reason(world):
    url = reverse("case_close", args=[world.case.pk])
    response = world.worker.client().post(
        url, {"closed_on": TODAY().isoformat(), "reason": "employment", "note": ""}
    )
    assert response.status_code == 302
    world.case.refresh_from_db()
    assert (world.case.status, world.case.closure_reason) == ("closed", "employment")
    assert CaseTransition.objects.filter(case=world.case, kind="closed").count() == 1


@pytest.mark.parametrize(
    ("when", "message"),
    [
        ("before_opening", "Un dossier ne peut pas être clôturé avant son ouverture."),
        ("tomorrow", "La date de clôture ne peut pas être dans le futur."),
    ],
)
def test_r15_closure_dates_out_of_order_are_refused(world, when, message):
    if when == "before_opening":
        closed_on = world.case.opened_on - datetime.timedelta(days=1)
    else:
        closed_on = TODAY() + datetime.timedelta(days=1)
    response = world.worker.client().post(
        reverse("case_close", args=[world.case.pk]),
        {"closed_on": closed_on.isoformat(), "reason": "employment"},
    )
    assert response.status_code == 200
    assert message in text(response)
    world.case.refresh_from_db()
    assert world.case.status == "open" and world.case.closed_on is None
    assert not CaseTransition.objects.filter(case=world.case, kind="closed").exists()


def test_r15_a_closed_dossier_can_no_longer_be_edited(world):
    services.do_close_case(
        actor=world.worker.actor, case=world.case, closed_on=TODAY(), reason="moved"
    )
    world.case.refresh_from_db()
    response = world.worker.client().post(
        reverse("case_edit", args=[world.case.pk]),
        edit_data(world.case, world.case.version, title="Nouveau"),
    )
    assert response.status_code == 200
    assert "Ce dossier est clôturé et ne peut plus être modifié." in text(response)
    world.case.refresh_from_db()
    assert world.case.title != "Nouveau"


def test_r15_an_opening_date_in_the_future_is_refused(world):
    before = Case.objects.count()
    response = world.worker.client().post(
        reverse("case_create", args=[world.case.client_id]),
        {
            "domain": "economic_aid",
            "title": "Demande",
            "opened_on": (TODAY() + datetime.timedelta(days=2)).isoformat(),
            "responsible": world.worker.user.pk,
        },
    )
    assert response.status_code == 200
    assert "La date d'ouverture ne peut pas être dans le futur." in text(response)
    assert Case.objects.count() == before


# Only roles that do casework may hold a dossier (the super-user, the DPO and the assistant do
# none), and only in the dossier's organisation.
@pytest.mark.parametrize("persona", ["outsider", "superuser", "dpo", "assistant"])
def test_r15_p6_a_responsible_who_does_no_casework_here_is_refused(world, persona):
    before = Case.objects.count()
    response = world.worker.client().post(
        reverse("case_create", args=[world.case.client_id]),
        {
            "domain": "economic_aid",
            "title": "Demande",
            "opened_on": TODAY().isoformat(),
            "responsible": getattr(world, persona).user.pk,
        },
    )
    assert response.status_code == 200
    assert "Sélectionnez un choix valide" in response.context["form"].errors["responsible"][0]
    assert Case.objects.count() == before


def test_p6_the_new_dossier_form_opens_today_for_a_caseworker(world):
    response = world.worker.client().get(reverse("case_create", args=[world.case.client_id]))
    form = response.context["form"]
    assert form["opened_on"].value() == TODAY()
    assert f'value="{TODAY().isoformat()}"' in text(response)  # what the date input shows
    # not the super-user, the DPO, the analyst or the assistant, nor anyone of another org
    offered = {user.username for user in form.fields["responsible"].queryset}
    assert offered == {"worker", "colleague", "head", "intake"}


# ---------------------------------------------------------------------------------------------
# Shares and consent


def test_x4_a_share_is_granted_and_logged(world):
    response = world.worker.client().post(
        reverse("share_create", args=[world.case.pk]), share_data(world)
    )
    assert response.status_code == 302
    share = Share.objects.get(case=world.case)
    assert (share.organisation, share.sections, share.granted_by) == (
        world.partner_org,
        ["journal"],
        world.worker.user,
    )
    event = SecurityEvent.objects.get(kind="share.granted")
    assert event.user == world.worker.user
    assert event.detail["share"] == str(share.pk)


def test_r15_a_share_with_its_own_organisation_is_refused(world):
    response = world.worker.client().post(
        reverse("share_create", args=[world.case.pk]),
        share_data(world, organisation=world.service_org.pk),
    )
    assert response.status_code == 200
    assert "organisation" in response.context["form"].errors
    assert "Sélectionnez un choix valide" in text(response)
    assert not Share.objects.exists()
    # The service refuses it too, whoever calls it.
    with pytest.raises(ValidationError) as exc:
        services.do_share_case(
            actor=world.worker.actor,
            case=world.case,
            organisation=world.service_org,
            sections=["journal"],
            access="read",
            basis="legal",
            reason="x",
            valid_until=TODAY(),
        )
    assert exc.value.message_dict["organisation"] == [
        "Un dossier ne peut pas être partagé avec sa propre organisation."
    ]
    assert not Share.objects.exists()


def test_r15_a_share_of_an_unknown_section_is_refused(world):
    response = world.worker.client().post(
        reverse("share_create", args=[world.case.pk]), share_data(world, sections=["secret"])
    )
    assert response.status_code == 200
    assert "sections" in response.context["form"].errors
    assert not Share.objects.exists()
    with pytest.raises(ValidationError) as exc:
        services.check_share(
            case=world.case,
            organisation=world.partner_org,
            sections=["journal", "secret"],
            valid_until=TODAY(),
            basis="legal",
            consent=None,
        )
    assert exc.value.message_dict["sections"] == [
        "Choisissez une ou plusieurs des rubriques proposées."
    ]


def test_r15_a_share_ending_in_the_past_is_refused(world):
    yesterday = (TODAY() - datetime.timedelta(days=1)).isoformat()
    response = world.worker.client().post(
        reverse("share_create", args=[world.case.pk]), share_data(world, valid_until=yesterday)
    )
    assert response.status_code == 200
    assert "La date de fin ne peut pas être dans le passé." in text(response)
    assert not Share.objects.exists()


def test_x4_a_share_based_on_a_withdrawn_consent_is_refused(world):
    consent = Consent.objects.create(
        case=world.case,
        owner=world.service_org,
        person=world.case.client,
        kind="general",
        scope="Échange avec le partenaire d'insertion",
        signed_on=TODAY() - datetime.timedelta(days=20),
        withdrawn_on=TODAY() - datetime.timedelta(days=1),
        recorded_by=world.worker.user,
    )
    response = world.worker.client().post(
        reverse("share_create", args=[world.case.pk]),
        share_data(world, basis="consent", consent=consent.pk),
    )
    assert response.status_code == 200
    assert "Ce consentement a été révoqué ou a expiré." in text(response)
    assert not Share.objects.exists()


def test_x4_a_consent_of_another_dossier_cannot_be_used(world):
    foreign = Consent.objects.create(
        case=world.other_case,
        owner=world.outsider_org,
        person=world.other_case.client,
        kind="general",
        scope="x",
        signed_on=TODAY(),
        recorded_by=world.outsider.user,
    )
    response = world.worker.client().post(
        reverse("share_create", args=[world.case.pk]),
        share_data(world, basis="consent", consent=foreign.pk),
    )
    assert response.status_code == 200
    assert "consent" in response.context["form"].errors
    assert not Share.objects.exists()


def test_r38_a_failure_halfway_through_a_share_leaves_nothing(world):
    with (
        mock.patch.object(services, "_record", side_effect=RuntimeError("disk full")),
        pytest.raises(RuntimeError),
    ):
        services.do_share_case(
            actor=world.worker.actor,
            case=world.case,
            organisation=world.partner_org,
            sections=["journal"],
            access="read",
            basis="legal",
            reason="x",
            valid_until=TODAY(),
        )
    assert not Share.objects.exists()


# ---------------------------------------------------------------------------------------------
# Concurrency and mass assignment


def test_r37_concurrent_dossier_edits_keep_the_first_and_refuse_the_second(world):
    url = reverse("case_edit", args=[world.case.pk])
    first, second = world.worker.client(), world.head.client()
    version = first.get(url).context["form"]["version"].value()
    assert second.get(url).context["form"]["version"].value() == version
    response = first.post(url, edit_data(world.case, version, title="Version A"))
    assert response.status_code == 302
    response = second.post(url, edit_data(world.case, version, title="Version B"))
    assert response.status_code == 409
    assert "Quelqu'un d'autre a modifié ce dossier entre-temps." in text(response)
    world.case.refresh_from_db()
    assert world.case.title == "Version A"
    assert world.case.version == version + 1


def test_r35_extra_fields_posted_to_the_dossier_edit_change_nothing(world):
    case = world.case
    before = Case.objects.values("owner_id", "status", "number", "version", "client_id").get(
        pk=case.pk
    )
    response = world.worker.client().post(
        reverse("case_edit", args=[case.pk]),
        edit_data(
            case,
            case.version,
            title="Titre modifié",
            owner=world.outsider_org.pk,
            status="closed",
            number=1,
            client=world.other_case.client_id,
            closed_on=TODAY().isoformat(),
            id="00000000-0000-0000-0000-000000000000",
        ),
    )
    assert response.status_code == 302
    after = Case.objects.values("owner_id", "status", "number", "version", "client_id").get(
        pk=case.pk
    )
    assert after == {**before, "version": before["version"] + 1}
    assert Case.objects.get(pk=case.pk).title == "Titre modifié"
    # A forged version is the concurrency token: it is refused, not stored.
    response = world.worker.client().post(
        reverse("case_edit", args=[case.pk]), edit_data(case, 999, title="Forgé")
    )
    assert response.status_code == 409
    assert Case.objects.get(pk=case.pk).version == before["version"] + 1


def test_r35_extra_fields_posted_to_a_new_dossier_are_ignored(world):
    response = world.worker.client().post(
        reverse("case_create", args=[world.case.client_id]),
        {
            "domain": "economic_aid",
            "title": "Nouvelle demande",
            "opened_on": TODAY().isoformat(),
            "responsible": world.worker.user.pk,
            "owner": world.outsider_org.pk,
            "status": "closed",
            "number": 5,
            "stage": "counselling",
        },
    )
    assert response.status_code == 302
    case = Case.objects.get(title="Nouvelle demande")
    assert (case.owner, case.status, case.stage) == (world.service_org, "open", "intake_1")
    assert case.number != 5


def test_x4_revoking_a_share_of_another_dossier_is_refused(world):
    """A share id from another dossier under one's own dossier's URL is a 404 too."""
    foreign = factories.ShareFactory(
        case=world.other_case, organisation=world.partner_org, granted_by=world.outsider.user
    )
    url = reverse("share_revoke", kwargs={"case_id": world.case.pk, "share_id": foreign.pk})
    assert world.worker.client().post(url).status_code == 404
    foreign.refresh_from_db()
    assert foreign.revoked_at is None


@pytest.mark.parametrize(
    "cursor",
    ["2026-01-01_99999999999999999999999", "9999-12-31_-1", "0001-01-01_1", "x_y", "2026-13-01_1"],
)
def test_r15_a_hand_edited_page_cursor_is_ignored_not_a_server_error(world, cursor):
    client = world.worker.client()
    assert client.get(reverse("case_list"), {"after": cursor}).status_code == 200
    journal = reverse("journal_list", args=[world.case.pk])
    assert client.get(journal, {"before": cursor}).status_code == 200
