"""The indicators Filum ships (decision 0032), as the steering migration 0002 stores them
(version 1 of each). A canton changes one by making a new version, never by editing these."""

from __future__ import annotations

from typing import Any

_GEO = ["service", "commune"]


def _milestone(key: str) -> dict[str, Any]:
    return {
        "table": "ais_milestones",
        "where": [
            {"field": "milestone", "op": "eq", "value": key},
            {"field": "state", "op": "in", "value": ["met", "missed"]},
        ],
        "measure": "share",
        "condition": [{"field": "state", "op": "eq", "value": "met"}],
        "dimensions": [*_GEO, "due_year", "residence_status"],
        "split": "due_year",
        "period": "due_year",
    }


_OPEN = [{"field": "status", "op": "eq", "value": "open"}]
_CLOSED = [{"field": "status", "op": "eq", "value": "closed"}]
_DOSSIER_DIMS = [*_GEO, "domain"]

# key, label (fr, de), description (fr, de), definition
SHIPPED: list[tuple[str, str, str, str, str, dict[str, Any]]] = [
    (
        "ais_language_a1",
        "AIS : langue au moins A1 après 3 ans",
        "IAS: Sprache mindestens A1 nach 3 Jahren",
        "Part des personnes (réfugiés reconnus, admis provisoires) dont le jalon « langue A1 » "
        "est échu à la date de l'extrait et qui avaient alors au moins le niveau A1 oral dans "
        "une langue nationale (évaluation finale).",
        "Anteil der Personen (anerkannte Flüchtlinge, vorläufig Aufgenommene), deren Meilenstein "
        "«Sprache A1» am Stichtag fällig war und die dann mündlich mindestens A1 in einer "
        "Landessprache hatten (abgeschlossene Abklärung).",
        _milestone("language_a1"),
    ),
    (
        "ais_education_16_25",
        "AIS : 16-25 ans en formation post-obligatoire après 5 ans",
        "IAS: 16- bis 25-Jährige in nachobligatorischer Ausbildung nach 5 Jahren",
        "Part des personnes âgées de 16 à 25 ans à l'échéance dont le jalon est échu et qui "
        "étaient alors en formation post-obligatoire.",
        "Anteil der bei Fälligkeit 16- bis 25-Jährigen, deren Meilenstein fällig war und die "
        "dann in einer nachobligatorischen Ausbildung waren.",
        _milestone("education_16_25"),
    ),
    (
        "ais_labour_market",
        "AIS : adultes sur le premier marché du travail après 7 ans",
        "IAS: Erwachsene im ersten Arbeitsmarkt nach 7 Jahren",
        "Part des adultes admis provisoirement dont le jalon (7 ans après l'arrivée) est échu "
        "et qui travaillaient alors sur le premier marché du travail.",
        "Anteil der vorläufig aufgenommenen Erwachsenen, deren Meilenstein (7 Jahre nach der "
        "Einreise) fällig war und die dann im ersten Arbeitsmarkt arbeiteten.",
        _milestone("labour_market"),
    ),
    (
        "segments",
        "Dossiers ouverts par segment (A, B, C)",
        "Offene Dossiers nach Segment (A, B, C)",
        "Nombre de dossiers ouverts ayant un segment, par segment, à la date de l'extrait.",
        "Anzahl offener Dossiers mit Segment, nach Segment, am Stichtag.",
        {
            "table": "dossiers",
            "where": [*_OPEN, {"field": "segment", "op": "in", "value": ["A", "B", "C"]}],
            "measure": "count",
            "dimensions": ["segment", *_DOSSIER_DIMS],
            "split": "segment",
        },
    ),
    (
        "contact_norm_met",
        "Norme de contacts respectée",
        "Kontaktnorm eingehalten",
        "Part des dossiers ouverts soumis à une norme de contacts qui la respectent "
        "(feu du pilotage des cas).",
        "Anteil der offenen Dossiers mit Kontaktnorm, die sie einhalten (Ampel der Fallsteuerung).",
        {
            "table": "dossiers",
            "where": [*_OPEN, {"field": "has_norm", "op": "eq", "value": True}],
            "measure": "share",
            "condition": [{"field": "norm_met", "op": "eq", "value": True}],
            "dimensions": ["segment", *_DOSSIER_DIMS],
            "split": "segment",
        },
    ),
    (
        "case_volume",
        "Dossiers ouverts",
        "Offene Dossiers",
        "Nombre de dossiers ouverts à la date de l'extrait.",
        "Anzahl offener Dossiers am Stichtag.",
        {
            "table": "dossiers",
            "where": _OPEN,
            "measure": "count",
            "dimensions": [*_DOSSIER_DIMS, "stage", "opened_year"],
            "split": "domain",
            "period": "opened_year",
        },
    ),
    (
        "duration_closed",
        "Durée des dossiers clos (médiane, jours)",
        "Dauer der abgeschlossenen Dossiers (Median, Tage)",
        "Durée médiane en jours de l'ouverture à la clôture des dossiers clos.",
        "Mediane Dauer in Tagen von der Eröffnung bis zum Abschluss der abgeschlossenen Dossiers.",
        {
            "table": "dossiers",
            "where": _CLOSED,
            "measure": "median",
            "field": "duration_days",
            "dimensions": [*_DOSSIER_DIMS, "closed_year"],
            "split": "domain",
            "period": "closed_year",
        },
    ),
    (
        "exits_by_reason",
        "Sorties par motif",
        "Abgänge nach Grund",
        "Nombre de dossiers clos, par motif de clôture.",
        "Anzahl abgeschlossener Dossiers nach Abschlussgrund.",
        {
            "table": "dossiers",
            "where": _CLOSED,
            "measure": "count",
            "dimensions": ["closure_reason", *_DOSSIER_DIMS, "closed_year"],
            "split": "closure_reason",
            "period": "closed_year",
        },
    ),
    (
        "cii_exits",
        "CII : situation à la sortie",
        "IIZ: Situation beim Austritt",
        "Nombre de cas CII terminés, par situation à la sortie.",
        "Anzahl beendeter IIZ-Fälle nach Situation beim Austritt.",
        {
            "table": "cii_cases",
            "where": [{"field": "exit_on", "op": "not_null"}],
            "measure": "count",
            "dimensions": ["exit_state", "service", "exit_year"],
            "split": "exit_state",
            "period": "exit_year",
        },
    ),
    (
        "cii_running",
        "CII : cas en cours",
        "IIZ: laufende Fälle",
        "Nombre de cas CII en cours à la date de l'extrait.",
        "Anzahl laufender IIZ-Fälle am Stichtag.",
        {
            "table": "cii_cases",
            "where": [{"field": "exit_on", "op": "is_null"}],
            "measure": "count",
            "dimensions": ["service", "opened_year", "health", "out_of_work"],
            "split": "opened_year",
            "period": "opened_year",
        },
    ),
]
