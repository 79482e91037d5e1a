"""The retention backlog of the ten-year volume (M3, decision 0036 amendment).

Without it every dossier of the volume was closed less than ten years ago, so nothing was due
and the retention bench measured an empty listing. A service that starts the nightly job meets
years of dossiers past their retention: about ``BACKLOG_SHARE`` of the closed dossiers are
re-dated to have been closed 10 to 12 years ago (opened up to 2½ years before), and 1 in
``HOLD_EVERY`` of those is under legal hold, set by its organisation's super-user.
"""

from __future__ import annotations

import datetime
import random
from typing import TYPE_CHECKING

from django.db import connection

from filum.dates import add_months

if TYPE_CHECKING:
    from filum.demo.volume import VolumeContext

BACKLOG_SHARE = 0.06  # of the closed dossiers
HOLD_EVERY = 50  # one backlog dossier in 50 is under legal hold
MAX_DAYS_OPEN = 2 * 365 + 180
HOLD_REASONS = {
    "fr": "Procédure de remboursement pendante",
    "de": "Rückerstattungsverfahren hängig",
}


def backlog_window(today: datetime.date) -> tuple[int, int]:
    """(oldest, latest) closure ordinals of the backlog: 12 years ago to a day past the ten
    years of the default rule."""
    return add_months(today, -144).toordinal(), add_months(today, -120).toordinal() - 1


def step_retention_backlog(vctx: VolumeContext) -> None:
    """Re-date a share of the closed dossiers of the plan into the backlog (before the rows
    are written; the plan stays ordered by opening, so the numbers follow the dates)."""
    # its own stream: the main one (and so the rest of the volume) stays as it was
    rng = random.Random(f"retention-backlog-{vctx.persons}")  # noqa: S311 (test data)
    oldest, latest = backlog_window(vctx.base.today)
    closed = [case for case in vctx.cases if case.closed is not None]
    for case in rng.sample(closed, round(len(closed) * BACKLOG_SHARE)):
        days_open = min(max(1, (case.closed or 0) - case.opened), MAX_DAYS_OPEN)
        case.closed = rng.randint(oldest, latest)
        case.opened = case.closed - days_open
    vctx.cases.sort(key=lambda case: case.opened)
    vctx.rows["retention backlog"] = round(len(closed) * BACKLOG_SHARE)


def step_backlog_holds(vctx: VolumeContext) -> None:
    """Legal holds on 1 in ``HOLD_EVERY`` backlog dossiers of each organisation (after the
    dossiers are loaded), set by the organisation's first super-user."""
    _oldest, latest = backlog_window(vctx.base.today)
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO records_legalhold (case_id, reason, set_by_id, set_at)
            SELECT c.id, CASE WHEN o.language = 'de' THEN %(de)s ELSE %(fr)s END, su.user_id,
                   now()
            FROM (
                SELECT id, owner_id, row_number() OVER (
                    PARTITION BY owner_id ORDER BY closed_on, number
                ) AS n
                FROM cases_case WHERE status = 'closed' AND closed_on <= %(latest)s
            ) c
            JOIN tenancy_organisation o ON o.id = c.owner_id
            JOIN LATERAL (
                SELECT m.user_id FROM tenancy_membership m
                WHERE m.organisation_id = c.owner_id AND m.role = 'super_user'
                ORDER BY m.id LIMIT 1
            ) su ON true
            WHERE c.n %% %(every)s = 1
            """,
            {
                "de": HOLD_REASONS["de"],
                "fr": HOLD_REASONS["fr"],
                "latest": datetime.date.fromordinal(latest),
                "every": HOLD_EVERY,
            },
        )
        vctx.rows["legal holds"] = cursor.rowcount
