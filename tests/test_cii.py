"""Shared CII cases (X4, X5, D8): opening only with a signed authorisation covering the journal
and the plan, the partner institutions (only social assistance, invalidity and unemployment
insurance) with their own case numbers, their shares ending with the authorisation, the entry
profile and the exit with the goals reached among those aimed at."""

from __future__ import annotations

import datetime
import html
from dataclasses import dataclass
from typing import Any

import pytest
import time_machine
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone, translation

from filum.cases.models import Case, CaseStatus, Consent, Share
from filum.cii import services
from filum.cii.models import Body, CiiCase, CiiPartner, ExitState
from filum.tenancy.models import Organisation, OrganisationKind
from tests import factories
from tests.conftest import Persona, make_persona
from tests.test_templates_i18n import check_page, strict_templates  # noqa: F401 (fixture)

TODAY = timezone.localdate


def text(response: Any) -> str:
    return html.unescape(response.content.decode())


@dataclass
class Partners:
    iv: Organisation
    alv: Organisation
    iv_staff: Persona
    alv_staff: Persona


@pytest.fixture
def partners(world: Any) -> Partners:
    iv = factories.OrganisationFactory(
        name="Office AI Seeland-Test", kind=OrganisationKind.CII_PARTNER
    )
    alv = factories.OrganisationFactory(name="ORP Bienne-Test", kind=OrganisationKind.CII_PARTNER)
    return Partners(
        iv=iv,
        alv=alv,
        iv_staff=make_persona(iv, "partner_staff", "iv_staff"),
        alv_staff=make_persona(alv, "partner_staff", "alv_staff"),
    )


def open_form(world: Any, partners: Partners, **changes: Any) -> dict[str, Any]:
    """What the worker posts to open a CII case: IV and ALV, a specific authorisation."""
    data: dict[str, Any] = {
        "owner_body": "social_assistance",
        "coordinator": world.worker.user.pk,
        "partner-TOTAL_FORMS": "3",
        "partner-INITIAL_FORMS": "0",
        "partner-MIN_NUM_FORMS": "0",
        "partner-MAX_NUM_FORMS": "3",
        "partner-0-organisation": partners.iv.pk,
        "partner-0-body": "invalidity_insurance",
        "partner-0-case_number": "AI-756.4471",
        "partner-1-organisation": partners.alv.pk,
        "partner-1-body": "unemployment_insurance",
        "partner-1-case_number": "ORP-2026-0815",
        # the third row left untouched, as a browser sends it
        "partner-2-organisation": "",
        "partner-2-body": "",
        "partner-2-case_number": "",
        "kind": "specific",
        "sections": ["journal", "plan"],
        "scope": "Échange CII entre aide sociale, AI et ORP",
        "signed_on": (TODAY() - datetime.timedelta(days=10)).isoformat(),
        "valid_until": (TODAY() + datetime.timedelta(days=200)).isoformat(),
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def open_cii(world: Any, partners: Partners, **changes: Any) -> CiiCase:
    response = world.worker.client().post(
        reverse("cii_open_case", args=[world.case.pk]), open_form(world, partners, **changes)
    )
    assert response.status_code == 302, text(response)[:3000]
    return CiiCase.objects.select_related("case", "consent").get(owner=world.service_org)


def nothing_stored(world: Any) -> bool:
    return (
        not CiiCase.objects.exists()
        and not Case.objects.filter(domain="cii").exists()
        and not Share.objects.exists()
        and not Consent.objects.exists()
    )


# --- opening ---------------------------------------------------------------------------------


def test_x4_x5_a_cii_case_opens_with_an_authorisation_and_shares_journal_and_plan(world, partners):
    record = open_cii(world, partners)
    case = record.case
    assert case.domain == "cii" and case.owner_id == world.service_org.pk
    assert case.client_id == world.case.client_id and case.pk != world.case.pk
    assert case.opened_on == record.opened_on == TODAY() - datetime.timedelta(days=10)
    assert record.owner_body == Body.SOCIAL_ASSISTANCE
    assert record.coordinator_id == world.worker.user.pk
    assert record.consent.sections == ["journal", "plan"]
    shares = Share.objects.filter(case=case).order_by("organisation_id")
    assert [
        (s.organisation_id, sorted(s.sections), s.access, s.basis, s.consent_id, s.valid_until)
        for s in shares
    ] == [
        (
            org.pk,
            ["journal", "plan"],
            "write",
            "consent",
            record.consent_id,
            TODAY() + datetime.timedelta(days=200),
        )
        for org in (partners.iv, partners.alv)
    ]
    numbers = dict(CiiPartner.objects.values_list("organisation_id", "case_number"))
    assert numbers == {partners.iv.pk: "AI-756.4471", partners.alv.pk: "ORP-2026-0815"}
    # everyone in charge in the partner institutions reads and writes the journal and the plan
    for staff in (partners.iv_staff, partners.alv_staff):
        client = staff.client()
        assert client.get(reverse("journal_list", args=[case.pk])).status_code == 200
        assert client.get(reverse("cii_detail", args=[case.pk])).status_code == 200
        assert client.get(reverse("cii_profile", args=[case.pk])).status_code == 200
        # but not the owner's forms
        assert client.get(reverse("cii_partner_add", args=[case.pk])).status_code == 404
        assert client.get(reverse("cii_close", args=[case.pk])).status_code == 404
    # and only there
    outsider = world.outsider.client()
    assert outsider.get(reverse("journal_list", args=[case.pk])).status_code == 404
    assert outsider.get(reverse("cii_detail", args=[case.pk])).status_code == 404
    assert world.partner.client().get(reverse("cii_detail", args=[case.pk])).status_code == 404


def test_x5_the_record_page_shows_the_partners_case_numbers_and_the_coordinator(world, partners):
    record = open_cii(world, partners)
    page = text(partners.alv_staff.client().get(reverse("cii_detail", args=[record.case_id])))
    for shown in ("AI-756.4471", "ORP-2026-0815", "Office AI Seeland-Test", str(world.worker.user)):
        assert shown in page
    # the dossier page links to it
    detail = world.worker.client().get(reverse("case_detail", args=[record.case_id])).content
    assert reverse("cii_detail", args=[record.case_id]).encode() in detail


def test_x4_opening_without_an_authorisation_is_refused_and_stores_nothing(world, partners):
    data = open_form(world, partners, kind="", scope="", signed_on="", sections=[])
    response = world.worker.client().post(reverse("cii_open_case", args=[world.case.pk]), data)
    assert response.status_code == 200
    assert "ne s'ouvre qu'avec une procuration signée par la personne" in text(response)
    assert nothing_stored(world)


def test_x4_an_authorisation_not_covering_the_plan_is_refused(world, partners):
    data = open_form(world, partners, sections=["journal", "documents"])
    response = world.worker.client().post(reverse("cii_open_case", args=[world.case.pk]), data)
    assert response.status_code == 200
    assert "ne couvre pas à la fois le journal et le plan" in text(response)
    assert nothing_stored(world)


def test_x4_an_existing_consent_of_a_cii_dossier_is_used_only_if_it_covers_both(world, partners):
    dossier = factories.CaseFactory(
        owner=world.service_org, domain="cii", responsible=world.worker.user
    )

    def consent(**kw: Any) -> Consent:
        return Consent.objects.create(
            case=dossier,
            owner=world.service_org,
            person=dossier.client,
            scope="CII",
            signed_on=dossier.opened_on,
            recorded_by=world.worker.user,
            **kw,
        )

    journal_only = consent(kind="specific", sections=["journal"])
    url = reverse("cii_open_case", args=[dossier.pk])
    no_new = {"kind": "", "scope": "", "signed_on": "", "sections": [], "valid_until": ""}
    client = world.worker.client()
    response = client.post(url, open_form(world, partners, consent=journal_only.pk, **no_new))
    assert "ne couvre pas à la fois le journal et le plan" in text(response)
    assert not CiiCase.objects.exists() and not Share.objects.exists()
    # a withdrawn one is not offered at all
    withdrawn = consent(kind="general", withdrawn_on=dossier.opened_on)
    response = client.post(url, open_form(world, partners, consent=withdrawn.pk, **no_new))
    assert response.status_code == 200 and not CiiCase.objects.exists()
    general = consent(kind="general")
    response = client.post(url, open_form(world, partners, consent=general.pk, **no_new))
    assert response.status_code == 302
    record = CiiCase.objects.get()
    assert record.case_id == dossier.pk and record.consent_id == general.pk
    assert record.opened_on == general.signed_on
    assert (
        Share.objects.filter(
            case=dossier, consent=general, valid_until=services.case_services.UNTIL_CONSENT_ENDS
        ).count()
        == 2
    )


def test_x5_a_partner_that_is_none_of_the_three_bodies_is_refused(world, partners):
    # the form offers only the three bodies' organisations
    data = open_form(world, partners, **{"partner-1-organisation": world.partner_org.pk})
    response = world.worker.client().post(reverse("cii_open_case", args=[world.case.pk]), data)
    assert response.status_code == 200 and nothing_stored(world)
    # the service says why
    with pytest.raises(ValidationError) as refused:
        services.do_open_cii_case(
            actor=world.worker.actor,
            client=world.case.client,
            dossier=None,
            owner_body="social_assistance",
            coordinator=world.worker.user,
            partners=[services.PartnerSpec(world.partner_org, "invalidity_insurance", "X-1")],
            authorisation=services.AuthorisationSpec(
                kind="general", sections=[], scope="CII", signed_on=TODAY(), valid_until=None
            ),
        )
    assert "seules ces trois institutions participent à un cas CII" in str(refused.value)
    assert nothing_stored(world)


@pytest.mark.parametrize(
    ("organisation", "body", "message"),
    [
        ("outsider_org", "invalidity_insurance", "ne peut être que : Aide sociale"),
        (
            "alv",
            "social_assistance",
            "ne peut être que : Assurance-invalidité (AI), Assurance-chômage",
        ),
    ],
)
def test_x5_a_partner_body_must_match_its_kind(world, partners, organisation, body, message):
    org = getattr(world, organisation, None) or getattr(partners, organisation)
    data = open_form(world, partners, **{"partner-1-organisation": org.pk, "partner-1-body": body})
    response = world.worker.client().post(reverse("cii_open_case", args=[world.case.pk]), data)
    assert response.status_code == 200
    assert message in text(response)
    assert nothing_stored(world)


def test_x5_the_database_refuses_a_partner_body_its_kind_cannot_be(world, partners):
    record = open_cii(world, partners)
    partner = CiiPartner.objects.get(organisation=partners.iv)
    with pytest.raises(IntegrityError, match="cannot be social_assistance"), transaction.atomic():
        CiiPartner.objects.filter(pk=partner.pk).update(body="social_assistance")
    with pytest.raises(IntegrityError, match="CII dossier"), transaction.atomic():
        CiiCase.objects.create(
            case=world.case,  # an economic-aid dossier
            owner=world.service_org,
            owner_body="social_assistance",
            coordinator=world.worker.user,
            consent=record.consent,
            opened_on=TODAY(),
        )


def test_x5_a_partner_needs_its_case_number_and_joins_once(world, partners):
    data = open_form(world, partners, **{"partner-1-case_number": "  "})
    response = world.worker.client().post(reverse("cii_open_case", args=[world.case.pk]), data)
    assert response.status_code == 200 and nothing_stored(world)
    data = open_form(
        world,
        partners,
        **{"partner-1-organisation": partners.iv.pk, "partner-1-body": "invalidity_insurance"},
    )
    response = world.worker.client().post(reverse("cii_open_case", args=[world.case.pk]), data)
    assert "Chaque institution partenaire n'est indiquée qu'une fois" in text(response)
    assert nothing_stored(world)


def test_x5_the_lead_coordinator_works_for_one_of_the_institutions(world, partners):
    with pytest.raises(ValidationError, match="doit traiter des cas pour l'une des institutions"):
        services.do_open_cii_case(
            actor=world.worker.actor,
            client=world.case.client,
            dossier=None,
            owner_body="social_assistance",
            coordinator=world.outsider.user,
            partners=[services.PartnerSpec(partners.iv, "invalidity_insurance", "AI-1")],
            authorisation=services.AuthorisationSpec(
                kind="general", sections=[], scope="CII", signed_on=TODAY(), valid_until=None
            ),
        )
    record = open_cii(world, partners)
    client = world.worker.client()
    url = reverse("cii_coordinator", args=[record.case_id])
    assert client.post(url, {"coordinator": partners.iv_staff.user.pk}).status_code == 302
    record.refresh_from_db()
    assert record.coordinator_id == partners.iv_staff.user.pk
    # the coordinator's institution cannot leave while they lead
    iv_partner = CiiPartner.objects.get(organisation=partners.iv)
    response = client.post(
        reverse("cii_partner_remove", args=[record.case_id, iv_partner.pk]), follow=True
    )
    assert "désignez d'abord une autre coordination responsable" in text(response)
    assert CiiPartner.objects.get(pk=iv_partner.pk).left_at is None


# --- the authorisation ends ------------------------------------------------------------------


def test_x4_withdrawing_the_authorisation_ends_every_partners_access_at_once(world, partners):
    record = open_cii(world, partners)
    journal = reverse("journal_list", args=[record.case_id])
    iv = partners.iv_staff.client()
    assert iv.get(journal).status_code == 200
    owner = world.worker.client()
    withdraw = reverse("consent_withdraw", args=[record.case_id, record.consent_id])
    assert owner.post(withdraw).status_code == 302
    assert iv.get(journal).status_code == 404
    assert iv.get(reverse("cii_detail", args=[record.case_id])).status_code == 404
    assert partners.alv_staff.client().get(journal).status_code == 404
    # the owner sees it to be closed; nobody can join any more
    page = text(owner.get(reverse("cii_detail", args=[record.case_id])))
    assert "La procuration a pris fin" in page and "accès terminé" in page
    newcomer = factories.OrganisationFactory(name="Sozialdienst Lyss-Test")
    response = owner.post(
        reverse("cii_partner_add", args=[record.case_id]),
        {"organisation": newcomer.pk, "body": "social_assistance", "case_number": "SD-9"},
    )
    assert "aucun partenaire ne peut plus se joindre" in text(response)
    assert not CiiPartner.objects.filter(organisation=newcomer).exists()
    # it is not closed by itself: the exit needs a person's judgement
    record.case.refresh_from_db()
    assert record.case.status == CaseStatus.OPEN


def test_x4_an_expired_authorisation_ends_every_partners_access(world, partners):
    record = open_cii(world, partners)
    journal = reverse("journal_list", args=[record.case_id])
    end = record.consent.valid_until
    assert end is not None
    with time_machine.travel(end, tick=False):
        assert partners.iv_staff.client().get(journal).status_code == 200
    with time_machine.travel(end + datetime.timedelta(days=1), tick=False):
        assert partners.iv_staff.client().get(journal).status_code == 404
        record.refresh_from_db()
        assert record.to_be_closed


def renew_form(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "kind": "general",
        "scope": "Nouvelle procuration CII, signée au bureau",
        "signed_on": TODAY().isoformat(),
        "valid_until": (TODAY() + datetime.timedelta(days=365)).isoformat(),
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def test_x4_a_new_authorisation_after_the_old_one_expired_reopens_the_partners_access(
    world, partners
):
    record = open_cii(world, partners)
    journal = reverse("journal_list", args=[record.case_id])
    end = record.consent.valid_until
    assert end is not None
    later, opened = end + datetime.timedelta(days=3), record.opened_on
    with time_machine.travel(later, tick=False):
        iv = partners.iv_staff.client()
        assert iv.get(journal).status_code == 404
        owner = world.worker.client()
        page = text(owner.get(reverse("cii_detail", args=[record.case_id])))
        assert reverse("cii_renew", args=[record.case_id]) in page
        response = owner.post(reverse("cii_renew", args=[record.case_id]), renew_form())
        assert response.status_code == 302, text(response)[:3000]
        record.refresh_from_db()
        assert not record.to_be_closed and record.consent.signed_on == later
        assert record.opened_on == opened  # the case keeps its opening date
        assert iv.get(journal).status_code == 200
        assert partners.alv_staff.client().get(journal).status_code == 200
        for partner in CiiPartner.objects.current():
            assert partner.share.consent_id == record.consent_id and partner.share.is_active
        # the old shares are still there, on the old authorisation: the audit keeps them
        assert Share.objects.filter(case=record.case).count() == 4


def test_x4_renewing_while_in_force_ends_the_old_shares_and_makes_new_ones(world, partners):
    record = open_cii(world, partners)
    old = list(CiiPartner.objects.current().values_list("share_id", flat=True))
    response = world.worker.client().post(
        reverse("cii_renew", args=[record.case_id]),
        renew_form(kind="specific", sections=["journal", "plan", "core"]),
    )
    assert response.status_code == 302
    assert all(s.revoked_at is not None for s in Share.objects.filter(pk__in=old))
    new = Share.objects.filter(case=record.case, revoked_at__isnull=True)
    assert sorted(new.values_list("organisation_id", flat=True)) == sorted(
        [partners.iv.pk, partners.alv.pk]
    )
    assert (
        partners.iv_staff.client().get(reverse("journal_list", args=[record.case_id])).status_code
        == 200
    )


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"kind": None, "scope": None, "signed_on": None}, "Choisissez ou saisissez la nouvelle"),
        ({"kind": "specific", "sections": ["journal"]}, "ne couvre pas à la fois le journal"),
        (
            {"signed_on": (TODAY() + datetime.timedelta(days=1)).isoformat()},
            "ne peut pas être dans le futur",
        ),
    ],
)
def test_x4_a_wrong_new_authorisation_is_refused_and_changes_nothing(
    world, partners, changes, message
):
    record = open_cii(world, partners)
    before = (record.consent_id, Consent.objects.count(), Share.objects.count())
    response = world.worker.client().post(
        reverse("cii_renew", args=[record.case_id]), renew_form(**changes)
    )
    assert response.status_code == 200 and message in text(response)
    record.refresh_from_db()
    assert (record.consent_id, Consent.objects.count(), Share.objects.count()) == before


def test_x4_only_the_owner_renews_and_not_after_the_exit(world, partners):
    record = open_cii(world, partners)
    url = reverse("cii_renew", args=[record.case_id])
    assert partners.iv_staff.client().get(url).status_code == 404
    assert partners.iv_staff.client().post(url, renew_form()).status_code == 404
    # the current authorisation is not offered as the new one
    form = world.worker.client().get(url).context["form"]
    assert record.consent_id not in form.fields["consent"].queryset.values_list("pk", flat=True)
    with pytest.raises(ValidationError):
        services.do_renew_authorisation(
            actor=world.worker.actor, record=record, consent=record.consent
        )
    world.worker.client().post(reverse("cii_close", args=[record.case_id]), exit_form())
    # a closed CII case takes no new authorisation
    response = world.worker.client().post(url, renew_form())
    assert response.status_code == 200, response.status_code
    assert "ne peut plus être modifié" in text(response), response.context["form"].errors
    with pytest.raises(ValidationError, match="ne peut plus être modifié"):
        services.do_renew_authorisation(
            actor=world.worker.actor, record=record, authorisation=None, consent=None
        )


def test_x4_the_person_page_offers_to_open_a_cii_case(world, partners):
    url = reverse("cii_open_person", args=[world.case.client_id])
    page = text(world.worker.client().get(reverse("person_detail", args=[world.case.client_id])))
    assert url in page
    # an analyst may not open dossiers; a partner office reaches no such person
    analyst = world.analyst.client().get(reverse("person_detail", args=[world.case.client_id]))
    assert url not in text(analyst)


# --- partners join and leave ------------------------------------------------------------------


def test_x5_a_partner_joins_later_and_leaves_with_its_number_kept(world, partners):
    record = open_cii(
        world,
        partners,
        **{"partner-1-organisation": None, "partner-1-body": None, "partner-1-case_number": None},
    )
    assert list(CiiPartner.objects.values_list("organisation_id", flat=True)) == [partners.iv.pk]
    owner = world.worker.client()
    response = owner.post(
        reverse("cii_partner_add", args=[record.case_id]),
        {
            "organisation": partners.alv.pk,
            "body": "unemployment_insurance",
            "case_number": "ORP-77",
        },
    )
    assert response.status_code == 302
    journal = reverse("journal_list", args=[record.case_id])
    alv = partners.alv_staff.client()
    assert alv.get(journal).status_code == 200
    partner = CiiPartner.objects.get(organisation=partners.alv)
    assert partner.share.consent_id == record.consent_id
    assert (
        owner.post(reverse("cii_partner_remove", args=[record.case_id, partner.pk])).status_code
        == 302
    )
    assert alv.get(journal).status_code == 404
    partner.refresh_from_db()
    assert partner.left_at is not None and partner.share.revoked_at is not None
    page = text(owner.get(reverse("cii_detail", args=[record.case_id])))
    assert "Anciens partenaires" in page and "ORP-77" in page
    # it may join again
    response = owner.post(
        reverse("cii_partner_add", args=[record.case_id]),
        {
            "organisation": partners.alv.pk,
            "body": "unemployment_insurance",
            "case_number": "ORP-78",
        },
    )
    assert response.status_code == 302 and alv.get(journal).status_code == 200


def test_x5_the_last_partner_cannot_leave(world, partners):
    record = open_cii(
        world,
        partners,
        **{"partner-1-organisation": None, "partner-1-body": None, "partner-1-case_number": None},
    )
    partner = CiiPartner.objects.get()
    response = world.worker.client().post(
        reverse("cii_partner_remove", args=[record.case_id, partner.pk]), follow=True
    )
    assert "saisissez sa sortie au lieu de retirer le dernier partenaire" in text(response)
    assert CiiPartner.objects.get().left_at is None


# --- profile and exit ------------------------------------------------------------------------


def test_d8_the_profile_is_recorded_by_owner_and_partners(world, partners):
    record = open_cii(world, partners)
    url = reverse("cii_profile", args=[record.case_id])
    data = {
        "version": record.version,
        "health": "both",
        "out_of_work": "over_4",
        "language_level": "a2",
        "education": "none",
        "nationality": "foreign",
        "debts": "true",
        "goals_aimed": ["health", "mobilisation", "employability"],
    }
    assert partners.iv_staff.client().post(url, data).status_code == 302
    record.refresh_from_db()
    assert (record.health, record.out_of_work, record.language_level) == ("both", "over_4", "a2")
    assert (record.education, record.nationality, record.debts) == ("none", "foreign", True)
    assert record.goals_aimed == ["health", "mobilisation", "employability"]
    # a stale form is refused, nothing lost
    response = world.worker.client().post(url, {**data, "health": "none"})
    assert response.status_code == 409
    record.refresh_from_db()
    assert record.health == "both"
    # an unknown goal is refused by the form
    response = world.worker.client().post(
        url, {**data, "version": record.version, "goals_aimed": ["fly"]}
    )
    assert response.status_code == 200
    record.refresh_from_db()
    assert record.goals_aimed == ["health", "mobilisation", "employability"]


def test_d8_the_nationality_comes_from_the_person_where_known(world, partners):
    type(world.case.client).objects.filter(pk=world.case.client_id).update(nationality="ER")
    record = open_cii(world, partners)
    assert record.nationality == "foreign"


def exit_form(**changes: Any) -> dict[str, Any]:
    return {
        "exit_on": TODAY().isoformat(),
        "exit_state": "goals_reached",
        "goals_aimed": ["health", "employability"],
        "goals_reached": ["health"],
        "note": "",
        **changes,
    }


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"goals_reached": ["health", "orientation"]}, "ne peut être atteint que s'il était visé"),
        ({"goals_reached": []}, "Indiquez les objectifs intermédiaires atteints"),
        ({"exit_state": "retired"}, "Sélectionnez un choix valide"),
        (
            {"exit_on": (TODAY() + datetime.timedelta(days=1)).isoformat()},
            "ne peut pas être dans le futur",
        ),
    ],
)
def test_d8_a_wrong_exit_is_refused_with_nothing_stored(world, partners, changes, message):
    record = open_cii(world, partners)
    url = reverse("cii_close", args=[record.case_id])
    response = world.worker.client().post(url, exit_form(**changes))
    assert response.status_code == 200
    assert message in text(response)
    record.refresh_from_db()
    record.case.refresh_from_db()
    assert record.exit_on is None and record.case.status == CaseStatus.OPEN
    assert Share.objects.filter(case=record.case, revoked_at__isnull=True).count() == 2


def test_d8_closing_records_the_exit_ends_the_shares_and_closes_the_dossier(world, partners):
    record = open_cii(world, partners)
    response = world.worker.client().post(reverse("cii_close", args=[record.case_id]), exit_form())
    assert response.status_code == 302
    record.refresh_from_db()
    assert (record.exit_on, record.exit_state) == (TODAY(), ExitState.GOALS_REACHED)
    assert (record.goals_aimed, record.goals_reached) == (["health", "employability"], ["health"])
    case = Case.objects.get(pk=record.case_id)
    assert (case.status, case.closed_on, case.closure_reason) == (
        "closed",
        TODAY(),
        "measure_ended",
    )
    assert not Share.objects.filter(case=case, revoked_at__isnull=True).exists()
    assert (
        partners.iv_staff.client().get(reverse("journal_list", args=[case.pk])).status_code == 404
    )
    # a second exit is not possible
    response = world.worker.client().post(reverse("cii_close", args=[record.case_id]), exit_form())
    assert response.status_code == 302
    assert CiiCase.objects.get().version == record.version


def test_d8_the_database_holds_reached_within_aimed_and_known_keys(world, partners):
    record = open_cii(world, partners)
    rows = CiiCase.objects.filter(pk=record.pk)
    done = {"exit_on": TODAY(), "exit_state": "labour_market"}
    with pytest.raises(IntegrityError, match="cii_case_goals_reached_aimed"), transaction.atomic():
        rows.update(**done, goals_aimed=["health"], goals_reached=["health", "orientation"])
    with pytest.raises(IntegrityError, match="cii_case_goals_aimed_known"), transaction.atomic():
        rows.update(goals_aimed=["health", "fly"])
    with pytest.raises(IntegrityError, match="cii_case_exit_complete"), transaction.atomic():
        rows.update(exit_state="labour_market")
    with pytest.raises(IntegrityError, match="cii_case_goals_reached_named"), transaction.atomic():
        rows.update(**done | {"exit_state": "goals_reached"}, goals_aimed=["health"])
    rows.update(**done, goals_aimed=["health", "orientation"], goals_reached=["orientation"])


def test_d8_the_exit_states_are_exactly_the_seeds_five():
    """The CaseNet seed: "Réinsertion sur le marché du travail, Atteintes des objectifs
    intermédiaires, Non-collaboration, Ne satisfait pas les critères CII-MAMAC, Hors rayon
    géographique CII-MAMAC"."""
    with translation.override("fr"):
        assert [(s.value, str(s.label)) for s in ExitState] == [
            ("labour_market", "Réinsertion sur le marché du travail"),
            ("goals_reached", "Objectifs intermédiaires atteints"),
            ("non_collaboration", "Non-collaboration"),
            ("criteria_not_met", "Ne satisfait pas les critères CII"),
            ("outside_area", "Hors rayon géographique CII"),
        ]


def test_x5_only_the_three_bodies():
    assert [b.value for b in Body] == [
        "social_assistance",
        "invalidity_insurance",
        "unemployment_insurance",
    ]


@pytest.mark.usefixtures("strict_templates")
@pytest.mark.parametrize("language", ["fr", "de"])
def test_u3_the_cii_pages_render_without_unknown_variables(world, partners, language):
    owner = world.worker.client()
    owner.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    check_page(owner, reverse("cii_open_case", args=[world.case.pk]))
    check_page(owner, reverse("cii_open_case", args=[world.case.pk]), method="post", data={})
    check_page(owner, reverse("cii_open_person", args=[world.case.client_id]))
    check_page(owner, reverse("case_detail", args=[world.case.pk]))
    record = open_cii(world, partners)
    case_id = record.case_id
    names = ("cii_detail", "cii_profile", "cii_coordinator", "cii_partner_add", "cii_renew")
    for name in (*names, "cii_close"):
        check_page(owner, reverse(name, args=[case_id]))
        check_page(owner, reverse(name, args=[case_id]), method="post", data={})
    html = check_page(owner, reverse("case_detail", args=[case_id]))
    assert 'id="section-cii"' in html
    staff = partners.iv_staff.client()
    staff.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    check_page(staff, reverse("cii_detail", args=[case_id]))
    assert 'id="section-cii"' in check_page(staff, reverse("case_detail", args=[case_id]))
    Consent.objects.filter(pk=record.consent_id).update(withdrawn_on=TODAY())
    html = check_page(owner, reverse("cii_detail", args=[case_id]))
    assert "to be closed" in html or "à clore" in html or "abzuschliessen" in html
    check_page(owner, reverse("case_detail", args=[case_id]))
    head = world.head.client()
    head.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    check_page(head, reverse("cii_report"))
    check_page(head, reverse("cii_report") + "?year=1999")
    world.worker.client().post(reverse("cii_close", args=[case_id]), exit_form())
    check_page(owner, reverse("cii_detail", args=[case_id]))


# the record page: request overhead (the session, the user with their memberships), the record with
# its dossier, coordinator and authorisation, the actor's shares of the dossier (partners only), the
# read log, the partners with their organisations and shares
CII_DETAIL_OWNER = 5
CII_DETAIL_PARTNER = 6


def test_u4_the_record_page_costs_the_same_queries_for_any_number_of_partners(
    world, partners, django_assert_num_queries
):
    record = open_cii(world, partners)
    url = reverse("cii_detail", args=[record.case_id])
    owner, staff = world.worker.client(), partners.iv_staff.client()
    for _round in range(2):
        owner.get(url)  # the session's first request stamps it
        staff.get(url)
        with django_assert_num_queries(CII_DETAIL_OWNER):
            owner.get(url)
        with django_assert_num_queries(CII_DETAIL_PARTNER):
            assert staff.get(url).status_code == 200
        for n in range(3):
            office = factories.OrganisationFactory(kind=OrganisationKind.CII_PARTNER)
            services.do_add_partner(
                actor=world.worker.actor,
                record=record,
                partner=services.PartnerSpec(office, "unemployment_insurance", f"ORP-{n}"),
            )


def test_x4_a_share_without_an_end_lasts_only_as_long_as_its_consent(world, partners):
    """``do_share_case(valid_until=None)``: only on a consent, which it then follows."""
    with pytest.raises(ValidationError, match="date de fin du partage"):
        services.case_services.check_share(
            case=world.case,
            organisation=partners.iv,
            sections=["journal"],
            valid_until=None,
            basis="legal",
            consent=None,
        )
    consent = Consent.objects.create(
        case=world.case,
        owner=world.service_org,
        person=world.case.client,
        kind="general",
        scope="AI",
        signed_on=world.case.opened_on,
        recorded_by=world.worker.user,
    )
    share = services.case_services.do_share_case(
        actor=world.worker.actor,
        case=world.case,
        organisation=partners.iv,
        sections=["journal"],
        access="read",
        basis="consent",
        reason="AI",
        valid_until=None,
        consent=consent,
    )
    assert share.valid_until == datetime.date(2199, 12, 31)
    assert Share.objects.active().filter(pk=share.pk).exists()
    Consent.objects.filter(pk=consent.pk).update(withdrawn_on=TODAY())
    assert not Share.objects.active().filter(pk=share.pk).exists()
