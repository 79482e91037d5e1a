"""A demo indicator over the canton dataset's measures table (D6, X3; decision 0032): the
persons who attend or attended a language course (running or completed), by year of start;
split by ``running``, the persons in a language course on the extract day. It is a definition
like the shipped ones (a JSON row, version 1), made by the seed rather than by a migration: a
canton that wants it keeps it as its own."""

from __future__ import annotations

from typing import Any

from filum.steering.models import IndicatorDefinition

KEY = "measures_language_course"

DEFINITION: dict[str, Any] = {
    "table": "measures",
    "where": [
        {"field": "kind", "op": "eq", "value": "language_course"},
        {"field": "status", "op": "in", "value": ["running", "completed"]},
    ],
    "measure": "count",
    "dimensions": ["start_year", "service", "commune", "provider_kind", "running"],
    "split": "start_year",
    "period": "start_year",
}


def step_measures_indicator(ctx: Any) -> None:
    """Version 1 of the demo indicator (kept if the database has it already)."""
    if IndicatorDefinition.objects.filter(key=KEY).exists():
        return
    IndicatorDefinition.objects.create(
        key=KEY,
        version=1,
        label_fr="Personnes en cours de langue",
        label_de="Personen in Sprachkursen",
        description_fr="Nombre de personnes ayant au moins un cours de langue (mesure d'un "
        "plan d'intégration) en cours ou terminé, par année de début ; « en cours à la date "
        "de l'extrait » les restreint à celles qui le suivent ce jour-là.",
        description_de="Anzahl Personen mit mindestens einem laufenden oder abgeschlossenen "
        "Sprachkurs (Massnahme eines Integrationsplans), nach Jahr des Beginns; «läuft am "
        "Stichtag» beschränkt sie auf jene, die ihn an diesem Tag besuchen.",
        definition=DEFINITION,
    )
    ctx.counts["indicator definitions"] += 1
