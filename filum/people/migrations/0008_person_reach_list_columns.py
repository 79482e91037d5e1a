"""The person lists read an organisation's persons in name order (D4, decision 0034).

``people_personreach`` also keeps the three person columns the lists filter on (residence
status, birth date, arrival date), so that a list walks one organisation's reach along
``person_reach_last`` (organisation, last name, first name, person, with those columns
included: the walk reads the index alone) and drops the persons that fail those filters before
it checks their dossiers. The largest service's list with three
filters read 23,000 persons by key and sorted them (640 ms); the walk stops after a page.

The triggers copy the columns where they copy the names: a new reach row takes them from the
person, a change of the person changes every reach row of it, and the refill copies them.
"""

from django.db import migrations, models

FUNCTIONS = r"""
CREATE OR REPLACE FUNCTION people_reach_apply(org bigint, persons uuid[], delta integer)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF org IS NULL OR cardinality(persons) = 0 THEN
        RETURN;
    END IF;
    IF delta > 0 THEN
        INSERT INTO people_personreach AS r
            (organisation_id, person_id, registered, cases, last_name, first_name,
             residence_status, birth_date, arrival_date)
        SELECT org, p.id, false, f.n * delta, filum_fold(p.last_name), filum_fold(p.first_name),
               p.residence_status, p.birth_date, p.arrival_date
        FROM (SELECT u.id, count(*) AS n FROM unnest(persons) AS u(id) GROUP BY u.id) f
        JOIN people_person p ON p.id = f.id
        ORDER BY p.id
        FOR SHARE OF p
        ON CONFLICT (organisation_id, person_id)
        DO UPDATE SET cases = r.cases + EXCLUDED.cases;
    ELSE
        UPDATE people_personreach r SET cases = r.cases + f.n * delta
        FROM (SELECT u.id, count(*) AS n FROM unnest(persons) AS u(id) GROUP BY u.id) f
        WHERE r.organisation_id = org AND r.person_id = f.id;
        DELETE FROM people_personreach
        WHERE organisation_id = org AND person_id = ANY(persons) AND NOT registered
          AND cases <= 0;
    END IF;
END $$;

CREATE OR REPLACE FUNCTION people_reach_person() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        DELETE FROM people_personreach WHERE person_id = OLD.id;
        RETURN NULL;
    END IF;
    IF TG_OP = 'INSERT' OR NEW.last_name <> OLD.last_name OR NEW.first_name <> OLD.first_name
    THEN
        INSERT INTO people_foldedname (name)
        VALUES (filum_fold(NEW.last_name)), (filum_fold(NEW.first_name))
        ON CONFLICT DO NOTHING;
    END IF;
    IF TG_OP = 'UPDATE' THEN
        IF NEW.last_name <> OLD.last_name OR NEW.first_name <> OLD.first_name
           OR NEW.residence_status <> OLD.residence_status
           OR NEW.birth_date IS DISTINCT FROM OLD.birth_date
           OR NEW.arrival_date IS DISTINCT FROM OLD.arrival_date THEN
            UPDATE people_personreach
            SET last_name = filum_fold(NEW.last_name), first_name = filum_fold(NEW.first_name),
                residence_status = NEW.residence_status, birth_date = NEW.birth_date,
                arrival_date = NEW.arrival_date
            WHERE person_id = NEW.id;
        END IF;
        IF NEW.registered_by_id = OLD.registered_by_id THEN
            RETURN NULL;
        END IF;
        UPDATE people_personreach SET registered = false
        WHERE organisation_id = OLD.registered_by_id AND person_id = OLD.id;
        DELETE FROM people_personreach
        WHERE organisation_id = OLD.registered_by_id AND person_id = OLD.id AND cases <= 0;
    END IF;
    INSERT INTO people_personreach AS r
        (organisation_id, person_id, registered, cases, last_name, first_name,
         residence_status, birth_date, arrival_date)
    VALUES (NEW.registered_by_id, NEW.id, true, 0, filum_fold(NEW.last_name),
            filum_fold(NEW.first_name), NEW.residence_status, NEW.birth_date, NEW.arrival_date)
    ON CONFLICT (organisation_id, person_id) DO UPDATE SET registered = true;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION people_personreach_refill() RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    total bigint;
BEGIN
    LOCK TABLE people_person, people_unitmember, cases_case IN SHARE MODE;
    TRUNCATE people_personreach;
    CREATE TEMPORARY TABLE people_reach_names ON COMMIT DROP AS
        SELECT id, filum_fold(last_name) AS last_name, filum_fold(first_name) AS first_name,
               residence_status, birth_date, arrival_date
        FROM people_person;
    INSERT INTO people_foldedname (name)
        SELECT last_name FROM people_reach_names UNION SELECT first_name FROM people_reach_names
    ON CONFLICT DO NOTHING;
    INSERT INTO people_personreach
        (organisation_id, person_id, registered, cases, last_name, first_name,
         residence_status, birth_date, arrival_date)
    SELECT f.org, f.person, f.registered, f.cases, n.last_name, n.first_name,
           n.residence_status, n.birth_date, n.arrival_date
    FROM (
        SELECT org, person, bool_or(registered) AS registered, sum(n)::integer AS cases
        FROM (
            SELECT registered_by_id AS org, id AS person, true AS registered, 0 AS n
            FROM people_person
            UNION ALL
            SELECT owner_id, client_id, false, 1 FROM cases_case
            UNION ALL
            SELECT c.owner_id, m.person_id, false, 1
            FROM cases_case c JOIN people_unitmember m ON m.unit_id = c.assistance_unit_id
        ) facts
        GROUP BY org, person
    ) f
    JOIN people_reach_names n ON n.id = f.person
    ORDER BY f.org, f.person;
    GET DIAGNOSTICS total = ROW_COUNT;
    DROP TABLE people_reach_names;
    RETURN total;
END $$;

DROP TRIGGER people_reach_person ON people_person;
CREATE TRIGGER people_reach_person
    AFTER INSERT OR DELETE OR UPDATE OF last_name, first_name, registered_by_id,
        residence_status, birth_date, arrival_date
    ON people_person FOR EACH ROW EXECUTE FUNCTION people_reach_person();

UPDATE people_personreach r
SET residence_status = p.residence_status, birth_date = p.birth_date,
    arrival_date = p.arrival_date
FROM people_person p
WHERE p.id = r.person_id
  AND (p.residence_status <> '' OR p.birth_date IS NOT NULL OR p.arrival_date IS NOT NULL);
"""


class Migration(migrations.Migration):
    dependencies = [("people", "0007_birth_date_known")]

    operations = [
        migrations.AddField(
            model_name="personreach",
            name="residence_status",
            field=models.CharField(default="", max_length=8),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="personreach", name="birth_date", field=models.DateField(null=True)
        ),
        migrations.AddField(
            model_name="personreach", name="arrival_date", field=models.DateField(null=True)
        ),
        # the earlier definitions stay in 0005 for a reverse migration to return to
        migrations.RunSQL(sql=FUNCTIONS, reverse_sql=migrations.RunSQL.noop),
        migrations.RemoveIndex(model_name="personreach", name="person_reach_last"),
        migrations.AddIndex(
            model_name="personreach",
            index=models.Index(
                fields=["organisation", "last_name", "first_name", "person"],
                include=["residence_status", "birth_date", "arrival_date"],
                name="person_reach_last",
            ),
        ),
        migrations.RunSQL(sql="ANALYZE people_personreach", reverse_sql=""),
    ]
