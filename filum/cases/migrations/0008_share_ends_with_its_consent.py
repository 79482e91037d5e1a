"""A share based on a consent cannot last beyond the consent's end (P2, X4).

A CHECK constraint cannot look at another table, so a trigger refuses a share whose end date
is after its consent's. Shortening a consent later is allowed: the shares then stop at the
consent's end, because ``Share.objects.active()`` takes the earlier of both dates."""

from django.db import migrations

FORWARD = """
CREATE FUNCTION cases_share_within_consent() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    consent_end date;
BEGIN
    IF NEW.consent_id IS NOT NULL THEN
        SELECT valid_until INTO consent_end FROM cases_consent WHERE id = NEW.consent_id;
        IF consent_end IS NOT NULL AND NEW.valid_until > consent_end THEN
            RAISE EXCEPTION 'share % ends on %, after its consent (ends on %)',
                NEW.id, NEW.valid_until, consent_end
                USING ERRCODE = 'check_violation', CONSTRAINT = 'share_within_consent';
        END IF;
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER share_within_consent
    BEFORE INSERT OR UPDATE OF valid_until, consent_id ON cases_share
    FOR EACH ROW EXECUTE FUNCTION cases_share_within_consent();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS share_within_consent ON cases_share;
DROP FUNCTION IF EXISTS cases_share_within_consent();
"""


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0007_plausible_date_bounds"),
    ]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
