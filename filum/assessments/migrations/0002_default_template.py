"""The default potential-assessment template of canton Bern, version 1, published (A1, A2).

It covers the themes of the federal potential assessment (SEM/PIC instruments, BFH,
socialdesign and AOZ: schooling and education, work experience, languages, health and
capacity to work, family and care duties, resources, goals and motivation, obstacles). The
canton's integration office changes it through a new version in the template editor; this
migration only puts version 1 in place where the template does not exist yet."""

from django.db import migrations
from django.utils import timezone

CANTON = "BE"
CODE = "potential_assessment"
NAME = ("Évaluation du potentiel", "Potenzialabklärung")

# key: (name fr, name de, ordinal, [(code, label fr, label de), ...])
CODE_LISTS = {
    "languages": (
        "Langues",
        "Sprachen",
        False,
        [
            ("de", "allemand", "Deutsch"),
            ("fr", "français", "Französisch"),
            ("it", "italien", "Italienisch"),
            ("en", "anglais", "Englisch"),
            ("ar", "arabe", "Arabisch"),
            ("ti", "tigrinya", "Tigrinya"),
            ("am", "amharique", "Amharisch"),
            ("fa", "persan (farsi)", "Persisch (Farsi)"),
            ("prs", "dari", "Dari"),
            ("ps", "pachto", "Paschtu"),
            ("ku", "kurde", "Kurdisch"),
            ("so", "somali", "Somali"),
            ("ta", "tamoul", "Tamilisch"),
            ("tr", "turc", "Türkisch"),
            ("uk", "ukrainien", "Ukrainisch"),
            ("ru", "russe", "Russisch"),
            ("sq", "albanais", "Albanisch"),
            ("es", "espagnol", "Spanisch"),
            ("pt", "portugais", "Portugiesisch"),
            ("other", "autre langue", "andere Sprache"),
        ],
    ),
    "school_level": (
        "Niveau de formation",
        "Bildungsstufe",
        True,
        [
            ("none", "aucune scolarité", "keine Schulbildung"),
            ("primary", "degré primaire", "Primarstufe"),
            ("lower_secondary", "degré secondaire I", "Sekundarstufe I"),
            (
                "upper_secondary",
                "degré secondaire II (formation professionnelle, maturité)",
                "Sekundarstufe II (Berufsbildung, Maturität)",
            ),
            ("tertiary", "degré tertiaire (haute école)", "Tertiärstufe (Hochschule)"),
        ],
    ),
    "recognition": (
        "Reconnaissance des diplômes",
        "Anerkennung der Abschlüsse",
        False,
        [
            ("not_requested", "pas demandée", "nicht beantragt"),
            ("in_progress", "en cours", "hängig"),
            ("recognised", "reconnu", "anerkannt"),
            ("partly_recognised", "reconnu en partie", "teilweise anerkannt"),
            ("refused", "refusée", "abgelehnt"),
            ("no_diploma", "aucun diplôme", "kein Abschluss"),
        ],
    ),
    "work_years": (
        "Durée de l'expérience professionnelle",
        "Dauer der Berufserfahrung",
        True,
        [
            ("none", "aucune", "keine"),
            ("under_one", "moins d'un an", "weniger als ein Jahr"),
            ("one_to_five", "1 à 5 ans", "1 bis 5 Jahre"),
            ("over_five", "plus de 5 ans", "mehr als 5 Jahre"),
        ],
    ),
    "language_source": (
        "Source de l'évaluation linguistique",
        "Grundlage der Spracheinschätzung",
        False,
        [
            ("self", "auto-évaluation", "Selbsteinschätzung"),
            ("course", "cours de langue", "Sprachkurs"),
            ("fide", "test ou dossier fide", "fide-Test oder fide-Dossier"),
            ("certificate", "certificat reconnu", "anerkanntes Zertifikat"),
            ("worker", "appréciation du ou de la case manager", "Einschätzung Fallführung"),
        ],
    ),
    "capacity": (
        "Capacité de travail",
        "Arbeitsfähigkeit",
        True,
        [
            ("none", "aucune", "keine"),
            ("up_to_half", "jusqu'à 50 %", "bis 50 %"),
            ("over_half", "plus de 50 %", "über 50 %"),
            ("full", "100 %", "100 %"),
        ],
    ),
    "availability": (
        "Disponibilité",
        "Verfügbarkeit",
        True,
        [
            ("none", "aucune", "keine"),
            ("part_time", "à temps partiel", "Teilzeit"),
            ("full_time", "à plein temps", "Vollzeit"),
        ],
    ),
    "level3": (
        "Faible, moyen, élevé",
        "Gering, mittel, hoch",
        True,
        [
            ("low", "faible", "gering"),
            ("medium", "moyen", "mittel"),
            ("high", "élevé", "hoch"),
        ],
    ),
    "goal": (
        "Objectif principal",
        "Hauptziel",
        False,
        [
            ("labour_market", "premier marché du travail", "erster Arbeitsmarkt"),
            ("vocational_training", "formation professionnelle", "Berufsbildung"),
            ("education", "formation générale", "Allgemeinbildung"),
            ("language", "apprentissage de la langue", "Spracherwerb"),
            ("social_integration", "intégration sociale", "soziale Integration"),
        ],
    ),
    "obstacles": (
        "Obstacles",
        "Hindernisse",
        False,
        [
            ("childcare", "garde des enfants", "Kinderbetreuung"),
            ("health", "santé", "Gesundheit"),
            ("trauma", "traumatisme", "Trauma"),
            ("residence", "statut de séjour", "Aufenthaltsstatus"),
            ("housing", "logement", "Wohnsituation"),
            ("debts", "dettes", "Schulden"),
            ("mobility", "mobilité, transports", "Mobilität, Verkehr"),
            ("literacy", "lecture et écriture", "Lesen und Schreiben"),
            ("other", "autre obstacle", "anderes Hindernis"),
        ],
    ),
}

# (key, title fr, title de, help fr, help de, fields); a field is
# (key, kind, required, label fr, label de, code list, in synthesis, help fr, help de)
SECTIONS = [
    (
        "schooling",
        "Scolarité et formation",
        "Schulbildung und Ausbildung",
        "Parcours scolaire et formations, dans le pays d'origine et en Suisse.",
        "Schul- und Ausbildungsweg im Herkunftsland und in der Schweiz.",
        [
            ("school_years", "number", True, "Années de scolarité", "Schuljahre", None, False,
             "Nombre d'années d'école suivies en tout.", "Anzahl besuchte Schuljahre insgesamt."),
            ("education_level", "choice", True, "Niveau de formation le plus élevé",
             "Höchste Bildungsstufe", "school_level", True, "", ""),
            ("education_end_year", "year", False, "Année de fin de la dernière formation",
             "Abschlussjahr der letzten Ausbildung", None, False, "", ""),
            ("diplomas", "text", False, "Diplômes obtenus", "Erworbene Abschlüsse", None, False,
             "", ""),
            ("diploma_recognition", "choice", False, "Reconnaissance des diplômes en Suisse",
             "Anerkennung der Abschlüsse in der Schweiz", "recognition", False, "", ""),
        ],
    ),
    (
        "work",
        "Expérience professionnelle",
        "Berufserfahrung",
        "",
        "",
        [
            ("work_experience", "choice", True, "Expérience professionnelle",
             "Berufserfahrung", "work_years", True, "", ""),
            ("occupations", "long_text", False, "Activités et métiers exercés",
             "Ausgeübte Tätigkeiten und Berufe", None, False, "", ""),
            ("work_in_switzerland", "yes_no", False, "Expérience professionnelle en Suisse",
             "Berufserfahrung in der Schweiz", None, False, "", ""),
        ],
    ),
    (
        "languages",
        "Langues",
        "Sprachen",
        "Niveaux selon le Cadre européen commun de référence (CECR), oral et écrit séparément.",
        "Niveaus nach dem Gemeinsamen europäischen Referenzrahmen (GER), mündlich und "
        "schriftlich getrennt.",
        [
            ("first_language", "choice", False, "Langue première", "Erstsprache", "languages",
             False, "", ""),
            ("language_levels", "language_levels", True, "Niveaux de langue", "Sprachniveaus",
             "languages", True,
             "Une ligne par langue ; pré-A1 lorsque les connaissances n'atteignent pas A1.",
             "Eine Zeile pro Sprache; Prä-A1, wenn die Kenntnisse A1 nicht erreichen."),
            ("language_source", "choice", False, "Source de l'évaluation",
             "Grundlage der Einschätzung", "language_source", False, "", ""),
        ],
    ),
    (
        "health",
        "Santé et capacité de travail",
        "Gesundheit und Arbeitsfähigkeit",
        "",
        "",
        [
            ("work_capacity", "choice", True, "Capacité de travail", "Arbeitsfähigkeit",
             "capacity", True, "", ""),
            ("health_restrictions", "yes_no", False, "Restrictions de santé",
             "Gesundheitliche Einschränkungen", None, False, "", ""),
            ("health_note", "long_text", False, "Remarques sur la santé",
             "Bemerkungen zur Gesundheit", None, False, "", ""),
        ],
    ),
    (
        "family",
        "Famille et tâches de prise en charge",
        "Familie und Betreuungspflichten",
        "",
        "",
        [
            ("care_duties", "yes_no", True, "Tâches de prise en charge (enfants, proches)",
             "Betreuungspflichten (Kinder, Angehörige)", None, False, "", ""),
            ("dependent_children", "number", False, "Enfants à charge", "Betreute Kinder",
             None, False, "", ""),
            ("availability", "choice", False, "Disponibilité pour des mesures",
             "Verfügbarkeit für Massnahmen", "availability", True, "", ""),
        ],
    ),
    (
        "resources",
        "Ressources",
        "Ressourcen",
        "",
        "",
        [
            ("social_network", "choice", False, "Réseau social", "Soziales Netz", "level3",
             True, "", ""),
            ("strengths", "long_text", False, "Compétences et points forts",
             "Kompetenzen und Stärken", None, False, "", ""),
            ("driving_licence", "yes_no", False, "Permis de conduire", "Führerausweis", None,
             False, "", ""),
        ],
    ),
    (
        "goals",
        "Objectifs et motivation",
        "Ziele und Motivation",
        "",
        "",
        [
            ("main_goal", "choice", True, "Objectif principal", "Hauptziel", "goal", True, "",
             ""),
            ("motivation", "choice", False, "Motivation", "Motivation", "level3", True, "", ""),
            ("potential", "choice", True, "Potentiel estimé", "Eingeschätztes Potenzial",
             "level3", True, "", ""),
            ("goal_note", "long_text", False, "Objectifs de la personne, en ses mots",
             "Ziele der Person, in ihren Worten", None, False, "", ""),
        ],
    ),
    (
        "obstacles",
        "Obstacles",
        "Hindernisse",
        "",
        "",
        [
            ("obstacles", "multiple_choice", False, "Obstacles", "Hindernisse", "obstacles",
             True, "", ""),
            ("obstacle_note", "long_text", False, "Remarques sur les obstacles",
             "Bemerkungen zu den Hindernissen", None, False, "", ""),
        ],
    ),
]


def seed(apps, schema_editor):
    """Version 1 of the default template, unless the canton has it already (idempotent)."""
    Template = apps.get_model("assessments", "AssessmentTemplate")
    Version = apps.get_model("assessments", "TemplateVersion")
    CodeList = apps.get_model("assessments", "CodeList")
    CodeItem = apps.get_model("assessments", "CodeItem")
    Section = apps.get_model("assessments", "TemplateSection")
    Field = apps.get_model("assessments", "TemplateField")
    if Template.objects.filter(canton=CANTON, code=CODE).exists():
        return
    template = Template.objects.create(canton=CANTON, code=CODE, name_fr=NAME[0], name_de=NAME[1])
    version = Version.objects.create(template=template, number=1, status="draft")
    lists = {}
    for key, (name_fr, name_de, ordinal, items) in CODE_LISTS.items():
        code_list = CodeList.objects.create(
            version=version, key=key, label_fr=name_fr, label_de=name_de, ordinal=ordinal
        )
        lists[key] = code_list
        CodeItem.objects.bulk_create(
            CodeItem(
                code_list=code_list,
                version=version,
                code=code,
                position=n,
                label_fr=label_fr,
                label_de=label_de,
            )
            for n, (code, label_fr, label_de) in enumerate(items)
        )
    for position, (key, title_fr, title_de, help_fr, help_de, fields) in enumerate(SECTIONS):
        section = Section.objects.create(
            version=version,
            key=key,
            position=position,
            label_fr=title_fr,
            label_de=title_de,
            help_fr=help_fr,
            help_de=help_de,
        )
        Field.objects.bulk_create(
            Field(
                section=section,
                version=version,
                key=f_key,
                kind=kind,
                position=n,
                required=required,
                label_fr=label_fr,
                label_de=label_de,
                code_list=lists[list_key] if list_key else None,
                in_synthesis=in_synthesis,
                help_fr=f_help_fr,
                help_de=f_help_de,
            )
            for n, (
                f_key,
                kind,
                required,
                label_fr,
                label_de,
                list_key,
                in_synthesis,
                f_help_fr,
                f_help_de,
            ) in enumerate(fields)
        )
    Version.objects.filter(pk=version.pk).update(status="published", published_at=timezone.now())


class Migration(migrations.Migration):
    dependencies = [("assessments", "0001_initial")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
