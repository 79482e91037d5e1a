"""The social-work topics of journal entries (S6). A contact counts only with a social-work
topic; "documents dropped off" is a topic too, so it can be recorded, but it never counts."""

from django.db import migrations

TOPICS = [
    ("finances", "Finances et budget", "Finanzen und Budget", True),
    ("debts", "Dettes", "Schulden", True),
    ("housing", "Logement", "Wohnen", True),
    ("health", "Santé et dépendance", "Gesundheit und Sucht", True),
    ("family", "Famille et enfants", "Familie und Kinder", True),
    ("work", "Travail et insertion professionnelle", "Arbeit und berufliche Integration", True),
    ("education", "Formation", "Bildung", True),
    ("social_insurance", "Assurances sociales", "Sozialversicherungen", True),
    ("residence", "Séjour et migration", "Aufenthalt und Migration", True),
    ("social_life", "Relations sociales et loisirs", "Soziale Beziehungen und Freizeit", True),
    ("crisis", "Situation de crise", "Krisensituation", True),
    ("service_agreement", "Convention de prestations", "Leistungsvereinbarung", True),
    ("administration", "Questions administratives", "Administrative Fragen", True),
    ("documents", "Dépôt de documents", "Abgabe von Unterlagen", False),
]


def seed(apps, schema_editor):
    Topic = apps.get_model("journal", "Topic")
    for position, (code, name_fr, name_de, social_work) in enumerate(TOPICS):
        Topic.objects.update_or_create(
            code=code,
            defaults={
                "name_fr": name_fr,
                "name_de": name_de,
                "is_social_work": social_work,
                "position": position,
            },
        )


def unseed(apps, schema_editor):
    apps.get_model("journal", "Topic").objects.filter(code__in=[t[0] for t in TOPICS]).delete()


class Migration(migrations.Migration):
    dependencies = [("journal", "0001_initial")]

    operations = [migrations.RunPython(seed, unseed)]
