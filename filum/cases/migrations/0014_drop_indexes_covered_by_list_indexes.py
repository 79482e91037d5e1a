"""Drop three single-column indexes that composite indexes starting with the same column make
redundant (U4, issue 7, decision 0015): the dossier's owner (``case_owner_list``), its
responsible worker (``case_worker_list``) and the lifecycle step's dossier
(``case_transition_case``). Only the indexes go: Django's AlterField would also drop and
re-validate the foreign keys, reading both tables under lock for nothing."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

DROPPED = [
    ("cases_case_owner_id_352cf2f7", "cases_case", "owner_id"),
    ("cases_case_responsible_id_c0ab712c", "cases_case", "responsible_id"),
    ("cases_casetransition_case_id_1001483b", "cases_casetransition", "case_id"),
]


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0013_transition_audit_triggers"),
        ("tenancy", "0002_signin_links"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunSQL(
                    f'DROP INDEX IF EXISTS "{name}"',
                    reverse_sql=f'CREATE INDEX IF NOT EXISTS "{name}" ON "{table}" ("{column}")',
                )
                for name, table, column in DROPPED
            ],
            state_operations=[
                migrations.AlterField(
                    model_name="case",
                    name="owner",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="cases",
                        to="tenancy.organisation",
                        verbose_name="organisation",
                    ),
                ),
                migrations.AlterField(
                    model_name="case",
                    name="responsible",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="responsible_cases",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="responsible worker",
                    ),
                ),
                migrations.AlterField(
                    model_name="casetransition",
                    name="case",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="lifecycle",
                        to="cases.case",
                    ),
                ),
            ],
        ),
    ]
