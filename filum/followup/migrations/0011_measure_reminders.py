"""The measure reminders (I5, decision 0022): their windows as norm rules, and their tasks.

Two rows of the norm-rule table carry the windows in ``warning_days``, so a canton changes
them as it changes the segment norms (a new row valid from a date): ``measure_start`` (a
planned or registered measure "starts soon" 14 days ahead) and ``measure_result`` (the
result of an ended measure is awaited for 30 days after its end, then overdue). The values
equal ``filum.followup.rules.DEFAULT_RULES``."""

import datetime

from django.db import migrations, models

SOURCE = "AIS recommendation 17, Filum defaults (decision 0022)"
# The Integration Agenda Switzerland (AIS) applies from 1 May 2019.
AIS_START = datetime.date(2019, 5, 1)
RULES = [("measure_start", 14), ("measure_result", 30)]


def seed(apps, schema_editor):
    NormRule = apps.get_model("followup", "NormRule")
    for key, days in RULES:
        NormRule.objects.update_or_create(
            key=key, valid_from=AIS_START, defaults={"warning_days": days, "note": SOURCE}
        )


def unseed(apps, schema_editor):
    apps.get_model("followup", "NormRule").objects.filter(note=SOURCE).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("followup", "0010_caselight_team_indexes"),
    ]

    operations = [
        migrations.AlterField(
            model_name="normrule",
            name="key",
            field=models.CharField(
                choices=[
                    ("A", "Segment A"),
                    ("B", "Segment B"),
                    ("C", "Segment C"),
                    ("intake_1", "Intake 1"),
                    ("intake_2", "Intake 2"),
                    ("final_decision", "Final segment decision after receipt"),
                    ("measure_start", "Measure starting (days ahead)"),
                    ("measure_result", "Result of an ended measure (days after its end)"),
                ],
                max_length=16,
                verbose_name="applies to",
            ),
        ),
        migrations.AlterField(
            model_name="normruleevent",
            name="key",
            field=models.CharField(
                choices=[
                    ("A", "Segment A"),
                    ("B", "Segment B"),
                    ("C", "Segment C"),
                    ("intake_1", "Intake 1"),
                    ("intake_2", "Intake 2"),
                    ("final_decision", "Final segment decision after receipt"),
                    ("measure_start", "Measure starting (days ahead)"),
                    ("measure_result", "Result of an ended measure (days after its end)"),
                ],
                max_length=16,
                verbose_name="applies to",
            ),
        ),
        migrations.AlterField(
            model_name="task",
            name="kind",
            field=models.CharField(
                choices=[
                    ("manual", "task"),
                    ("review_due", "segment review due"),
                    ("decision_due", "final segment decision due"),
                    ("no_contact", "contact norm missed"),
                    ("intake_overdue", "intake time limit"),
                    ("segment_decision", "segment proposal to decide"),
                    ("measure_start", "measure to start"),
                    ("measure_result", "result of a measure missing"),
                ],
                default="manual",
                max_length=24,
                verbose_name="kind",
            ),
        ),
        migrations.AlterField(
            model_name="taskevent",
            name="kind",
            field=models.CharField(
                choices=[
                    ("manual", "task"),
                    ("review_due", "segment review due"),
                    ("decision_due", "final segment decision due"),
                    ("no_contact", "contact norm missed"),
                    ("intake_overdue", "intake time limit"),
                    ("segment_decision", "segment proposal to decide"),
                    ("measure_start", "measure to start"),
                    ("measure_result", "result of a measure missing"),
                ],
                default="manual",
                max_length=24,
                verbose_name="kind",
            ),
        ),
        migrations.RunPython(seed, unseed),
    ]
