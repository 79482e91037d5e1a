"""Demo saved person lists (D4, decision 0034): the section heads of Bienne (French) and Thun
(German) each keep three lists a section head uses to steer integration work."""

from __future__ import annotations

from typing import Any

from filum.steering.models import SavedPersonList

_REFUGEES = ["F", "F_FL", "B_FL"]

# login: [(name, filter as the form's query values)]
DEMO_LISTS: dict[str, list[tuple[str, dict[str, Any]]]] = {
    "rs.bienne": [
        (
            "AP/R adultes sans A1 après 3 ans",
            {
                "residence_status": _REFUGEES,
                "age_min": "18",
                "stay_min": "3",
                "level_max": "pre_a1",
            },
        ),
        (
            "Jeunes AP/R de 16 à 25 ans",
            {"residence_status": _REFUGEES, "age_min": "16", "age_max": "25"},
        ),
        (
            "Coachings emploi en cours",
            {"measure_category": ["job_coaching"], "measure_status": ["running"]},
        ),
    ],
    "bl.thun": [
        (
            "VA/FL Erwachsene ohne A1 nach 3 Jahren",
            {
                "residence_status": _REFUGEES,
                "age_min": "18",
                "stay_min": "3",
                "level_max": "pre_a1",
            },
        ),
        (
            "Junge VA/FL von 16 bis 25 Jahren",
            {"residence_status": _REFUGEES, "age_min": "16", "age_max": "25"},
        ),
        (
            "Laufende Jobcoachings",
            {"measure_category": ["job_coaching"], "measure_status": ["running"]},
        ),
    ],
}


def step_person_lists(ctx: Any) -> None:
    """The demo section heads' saved lists (kept if they exist: the seed can run twice)."""
    for login, lists in DEMO_LISTS.items():
        actor = ctx.actors[login]
        for name, filters in lists:
            SavedPersonList.objects.get_or_create(
                user_id=actor.user.pk,
                organisation_id=actor.organisation_id,
                name=name,
                defaults={"filters": filters},
            )
            ctx.counts["saved person lists"] += 1
