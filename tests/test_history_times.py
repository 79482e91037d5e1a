"""The dossier history shows when things were recorded, and for back-dated entries the day
they took effect (issue 6 §6, P6, X2)."""

from __future__ import annotations

import datetime
import html
import re
from typing import Any

import pytest
import time_machine
from django.urls import reverse

from filum.cases.services import do_open_case
from filum.followup import lifecycle
from filum.journal import services as journal
from filum.journal.models import ContactKind, Topic
from tests import factories
from tests.test_lifecycle import confirmed_proposal

# 10:00 in Zurich (CET): the page must show local time, not 09:00 UTC.
NOW = datetime.datetime(2026, 3, 16, 9, 0, tzinfo=datetime.UTC)
TODAY = datetime.date(2026, 3, 16)


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def text(response: Any) -> str:
    return html.unescape(re.sub(r"<[^>]+>", " ", response.content.decode()))


def squash(value: str) -> str:
    return " ".join(value.split())


def timeline_entries(response: Any) -> list[str]:
    body = response.content.decode()
    section = body[body.index('id="section-lifecycle"') :]
    section = section[: section.index("</section>")]
    return [squash(html.unescape(re.sub(r"<[^>]+>", " ", li))) for li in section.split("<li>")[1:]]


def opened_back_dated(world) -> Any:
    client = factories.PersonFactory(registered_by=world.service_org)
    case = do_open_case(
        actor=world.worker.actor,
        client=client,
        domain="economic_aid",
        opened_on=datetime.date(2026, 3, 2),
        responsible=world.worker.user,
    )
    lifecycle.do_accept_intake(actor=world.intake.actor, case=case, reason="Compétent.")
    return case


def test_p6_a_back_dated_step_shows_the_day_it_took_effect_and_when_it_was_recorded(world):
    case = opened_back_dated(world)
    response = world.worker.client().get(reverse("case_detail", args=[case.pk]))
    assert response.status_code == 200
    opened, accepted = (
        next(e for e in timeline_entries(response) if label in e)
        for label in ("Dossier ouvert", "Demande acceptée")
    )
    assert "02.03.2026" in opened and "saisi le 16.03.2026 10:00" in opened
    # decided the day it was recorded: the recording time, nothing more
    assert "16.03.2026 10:00" in accepted and "saisi le" not in accepted


def test_p6_the_german_history_says_when_it_was_recorded(world):
    world.worker.user.language = "de"
    world.worker.user.save(update_fields=["language"])
    case = opened_back_dated(world)
    client = world.worker.client()
    client.cookies["django_language"] = "de"  # what signing in sets from the stored language
    response = client.get(reverse("case_detail", args=[case.pk]))
    opened = next(e for e in timeline_entries(response) if "02.03.2026" in e)
    assert "erfasst am 16.03.2026 10:00" in opened


def test_s2_a_back_dated_transfer_shows_its_day_and_its_recording_in_the_segment_history(world):
    case = lifecycle.do_accept_intake(
        actor=world.intake.actor, case=world.case, reason="Ok.", on=datetime.date(2026, 3, 9)
    )
    proposal = confirmed_proposal(world, case, "B")
    lifecycle.do_transfer_to_counselling(
        actor=world.worker.actor,
        case=case,
        proposal=proposal,
        to_worker=world.colleague.user,
        to_team=None,
        report="Situation stable.",
        on=datetime.date(2026, 3, 11),
    )
    page = text(world.colleague.client().get(reverse("case_steering", args=[case.pk])))
    assert "11.03.2026" in page and "saisi le 16.03.2026 10:00" in page
    detail = world.colleague.client().get(reverse("case_detail", args=[case.pk]))
    transfer = next(e for e in timeline_entries(detail) if "11.03.2026" in e)
    assert "saisi le 16.03.2026 10:00" in transfer


def test_s6_a_contact_entered_later_shows_its_day_and_when_it_was_recorded(world):
    for day in (datetime.date(2026, 3, 9), TODAY):
        journal.do_record_contact(
            actor=world.worker.actor,
            case=world.case,
            kind=ContactKind.INTERVIEW,
            date=day,
            topic=Topic.objects.get(code="health"),
            duration_minutes=30,
        )
    body = world.worker.client().get(reverse("journal_list", args=[world.case.pk]))
    entries = [
        squash(html.unescape(re.sub(r"<[^>]+>", " ", e)))
        for e in body.content.decode().split('class="journal__head"')[1:]
    ]
    late = next(e for e in entries if "09.03.2026" in e)
    same_day = next(e for e in entries if "16.03.2026" in e)
    assert "saisi le 16.03.2026 10:00" in late
    assert "saisi le" not in same_day
