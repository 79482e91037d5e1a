"""The assignment criteria of segments A, B and C (S1), from the case steering concept
(Concept de gestion des cas, V 2.0, section 6). Cantons may edit or deactivate them."""

from django.db import migrations

CRITERIA = [
    (
        "A_STABILISATION",
        "A",
        "Stabilisation nécessaire suite à des événements aigus et critiques (p. ex. perte de "
        "logement ou autres situations de crise).",
        "Stabilisierung nach akuten, kritischen Ereignissen nötig (z. B. Wohnungsverlust oder "
        "andere Krisensituationen).",
    ),
    (
        "A_CLARIFICATION",
        "A",
        "Situation pas claire, clarifications requises. Lorsque la situation a été clarifiée, un "
        "mandat peut déjà être donné dans ce segment au Service spécialisé de l'insertion "
        "professionnelle (SSIP).",
        "Situation unklar, Abklärungen nötig. Ist die Situation geklärt, kann bereits in diesem "
        "Segment ein Auftrag an die Fachstelle Arbeitsintegration erteilt werden.",
    ),
    (
        "A_INTENSIVE",
        "A",
        "Phase intensive de conseils jusqu'à 6 mois dans des situations motivées (p. ex. phase "
        "intensive de conseils pour de jeunes adultes).",
        "Intensive Beratungsphase bis 6 Monate in begründeten Situationen (z. B. intensive "
        "Beratung junger Erwachsener).",
    ),
    (
        "B_EXIT_LABOUR_OTHER_NEEDS",
        "B",
        "Potentiel de sortie (élevé) via le marché du travail avec besoin continu de conseils "
        "pour d'autres thèmes que l'emploi (l'insertion professionnelle ressortit en premier "
        "lieu au SSIP).",
        "(Hohes) Ablösepotenzial über den Arbeitsmarkt mit laufendem Beratungsbedarf zu anderen "
        "Themen als Arbeit (die Arbeitsintegration liegt in erster Linie bei der Fachstelle "
        "Arbeitsintegration).",
    ),
    (
        "B_NO_EXIT_ADVICE",
        "B",
        "Potentiel de sortie (faible / inexistant) via le marché du travail, aucun potentiel de "
        "sortie non plus via les assurances sociales, mais besoin de conseils pour divers thèmes "
        "(p. ex. santé/dépendance, famille, finances, etc. → thème du travail via SSIP).",
        "(Geringes / kein) Ablösepotenzial über den Arbeitsmarkt, auch keines über die "
        "Sozialversicherungen, aber Beratungsbedarf zu verschiedenen Themen (z. B. "
        "Gesundheit/Sucht, Familie, Finanzen; Thema Arbeit über die Fachstelle "
        "Arbeitsintegration).",
    ),
    (
        "C_STABLE_LABOUR",
        "C",
        "Situation stable/besoin de conseils faible et potentiel de sortie via le marché du "
        "travail sans autre besoin de conseils (l'insertion professionnelle ressortit en premier "
        "lieu au SSIP).",
        "Stabile Situation / geringer Beratungsbedarf und Ablösepotenzial über den Arbeitsmarkt "
        "ohne weiteren Beratungsbedarf (die Arbeitsintegration liegt in erster Linie bei der "
        "Fachstelle Arbeitsintegration).",
    ),
    (
        "C_STABLE_INSURANCE",
        "C",
        "Situation stable/besoin de conseils faible et potentiel de sortie existant via les "
        "assurances sociales (traitement en collaboration avec le secteur des assurances "
        "sociales).",
        "Stabile Situation / geringer Beratungsbedarf und Ablösepotenzial über die "
        "Sozialversicherungen (Bearbeitung zusammen mit dem Bereich Sozialversicherungen).",
    ),
    (
        "C_STABLE_NO_EXIT",
        "C",
        "Situation stable/besoin de conseils faible et potentiel de sortie inexistant.",
        "Stabile Situation / geringer Beratungsbedarf, kein Ablösepotenzial.",
    ),
]


def seed(apps, schema_editor):
    SegmentCriterion = apps.get_model("cases", "SegmentCriterion")
    for position, (code, segment, text_fr, text_de) in enumerate(CRITERIA):
        SegmentCriterion.objects.update_or_create(
            code=code,
            defaults={"segment": segment, "text_fr": text_fr, "text_de": text_de, "position": position},
        )


def unseed(apps, schema_editor):
    apps.get_model("cases", "SegmentCriterion").objects.filter(
        code__in=[c[0] for c in CRITERIA]
    ).delete()


class Migration(migrations.Migration):
    dependencies = [("cases", "0004_case_steering")]

    operations = [migrations.RunPython(seed, unseed)]
