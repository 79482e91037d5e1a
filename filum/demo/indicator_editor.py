"""The indicator editor in the demo (D1, D3; decision 0039): the canton analyst (login
``canton``) made an indicator of their own, the share of open dossiers that have lasted a year
or more, then raised its threshold to two years: version 2, with version 1 kept. Its page shows
the figure, its history who saved which version and the difference (the threshold and the
names)."""

from __future__ import annotations

from typing import Any

from filum.steering.indicators import create_indicator, revise
from filum.steering.models import IndicatorDefinition

# the key made from the French name (``create_indicator``)
KEY = "dossiers_ouverts_de_longue_duree"


def _definition(days: int) -> dict[str, Any]:
    return {
        "table": "dossiers",
        "where": [{"field": "status", "op": "eq", "value": "open"}],
        "measure": "share",
        "condition": [{"field": "duration_days", "op": "ge", "value": days}],
        "dimensions": ["service", "commune", "domain", "segment"],
        "split": "service",
    }


def step_indicator_editor(ctx: Any) -> None:
    if IndicatorDefinition.objects.filter(key=KEY).exists():
        return  # made already: the step runs once per database
    analyst = ctx.actors["canton"].user
    first = create_indicator(
        label_fr="Dossiers ouverts de longue durée",
        label_de="Langzeitdossiers",
        description_fr="Part des dossiers ouverts depuis un an ou plus.",
        description_de="Anteil der offenen Dossiers, die seit einem Jahr oder länger laufen.",
        definition=_definition(365),
        by=analyst,
    )
    revise(
        first.key,
        by=analyst,
        base=1,
        description_fr="Part des dossiers ouverts depuis deux ans ou plus.",
        description_de="Anteil der offenen Dossiers, die seit zwei Jahren oder länger laufen.",
        definition=_definition(730),
    )
    ctx.counts["indicator versions by the analyst"] += 2
