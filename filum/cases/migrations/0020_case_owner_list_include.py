"""The owner's list index includes the dossier columns the person lists filter on (stage,
segment, responsible), so that their bounded count of a service's matching dossiers reads the
index alone (D4, decision 0034): 8 ms became under 1 ms for the largest service."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("cases", "0019_set_based_audit")]

    operations = [
        migrations.RemoveIndex(model_name="case", name="case_owner_list"),
        migrations.AddIndex(
            model_name="case",
            index=models.Index(
                fields=["owner", "status", "-opened_on", "-number"],
                include=["stage", "segment", "responsible"],
                name="case_owner_list",
            ),
        ),
    ]
