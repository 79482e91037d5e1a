"""The nightly retention listing (decision 0036): each organisation's closed dossiers by
closure date. Without it the listing reads every closed dossier of the organisation through
the list index (5 s for the 623,000 closed dossiers of the ten-year volume); with it only
those past the cut-off. On cases_case, outside the cases app's model state (raw SQL, like
the audit's chain columns), because only retention uses it."""

from django.db import migrations

CREATE = (
    "CREATE INDEX IF NOT EXISTS case_closed_retention ON cases_case "
    "(owner_id, closed_on, number) WHERE status = 'closed'"
)
DROP = "DROP INDEX IF EXISTS case_closed_retention"


class Migration(migrations.Migration):
    dependencies = [("records", "0007_retention"), ("cases", "0018_transfers")]

    operations = [migrations.RunSQL(CREATE, DROP)]
