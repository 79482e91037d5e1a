"""The benchmark's subjects for the integration pages (issue 8), picked from the data
deterministically (never at random, never by a random id): the same database always gives the
same subject.

- ``largest_plan``: the dossier whose plan has the most measures (ties: the oldest dossier),
  seen by its responsible worker. In the volume it is the first open asylum dossier, which
  ``filum.demo.integration_volume`` gives 40 measures and its client 10 assessments.
- ``timeline_person``: that dossier's client, the person with 40 measures and 10 assessments
  for the timeline page's row (``filum.demo.management.commands.bench``).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from django.db import connection

from filum.tenancy.models import Membership


@dataclass(frozen=True)
class PlanSubject:
    case_id: uuid.UUID
    person_id: uuid.UUID
    measures: int
    assessments: int
    reader: Membership


def largest_plan() -> PlanSubject | None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT m.case_id, count(*) AS n, c.client_id, c.responsible_id, c.owner_id "
            "FROM plans_measure m JOIN cases_case c ON c.id = m.case_id "
            "WHERE c.status = 'open' AND c.responsible_id IS NOT NULL "
            "GROUP BY m.case_id, c.client_id, c.responsible_id, c.owner_id, c.opened_on, c.number "
            "ORDER BY n DESC, c.opened_on, c.number LIMIT 1"
        )
        row = cursor.fetchone()
        if row is None:
            return None
        case_id, measures, client, responsible, owner = row
        cursor.execute("SELECT count(*) FROM assessments_assessment WHERE person_id = %s", [client])
        assessments = cursor.fetchone()[0]
    reader = (
        Membership.objects.active()
        .filter(user_id=responsible, organisation_id=owner)
        .select_related("user", "organisation", "team")
        .order_by("pk")
        .first()
    )
    if reader is None:
        return None
    return PlanSubject(
        case_id=uuid.UUID(str(case_id)),
        person_id=uuid.UUID(str(client)),
        measures=measures,
        assessments=assessments,
        reader=reader,
    )


def timeline_person() -> PlanSubject | None:
    """The person of the timeline row: the client of the largest plan (40 measures and 10
    assessments in the volume)."""
    return largest_plan()
