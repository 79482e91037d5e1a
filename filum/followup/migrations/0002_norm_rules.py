"""Default norm rules from the case steering concept (V 2.0, valid from 14.07.2016), S5/S6/P6.

Intake 2 has no figure in the concept; the defaults (4-8 interviews a year, pro-rated, so at
least 2 in its 6 months, 80 % face to face) are documented in
docs/decisions/0002-case-steering-rules.md."""

import datetime
from decimal import Decimal

from django.db import migrations

SOURCE = "Concept de gestion des cas V 2.0"
RULES = [
    # key, period, min, max, share, time limit
    ("A", 6, 4, 6, Decimal("0.80"), 6),
    ("B", 12, 3, 5, Decimal("0.80"), 24),
    ("C", 12, 1, 3, Decimal("1.00"), 36),
    ("intake_1", None, None, None, None, 3),
    ("intake_2", 12, 4, 8, Decimal("0.80"), 6),
    ("final_decision", None, None, None, None, 3),
]


def seed(apps, schema_editor):
    NormRule = apps.get_model("followup", "NormRule")
    for key, period, low, high, share, limit in RULES:
        NormRule.objects.update_or_create(
            key=key,
            valid_from=datetime.date(2016, 7, 14),
            defaults={
                "period_months": period,
                "min_interviews": low,
                "max_interviews": high,
                "face_to_face_share": share,
                "time_limit_months": limit,
                "warning_days": 30,
                "note": SOURCE,
            },
        )


def unseed(apps, schema_editor):
    apps.get_model("followup", "NormRule").objects.filter(note=SOURCE).delete()


class Migration(migrations.Migration):
    dependencies = [("followup", "0001_initial")]

    operations = [migrations.RunPython(seed, unseed)]
