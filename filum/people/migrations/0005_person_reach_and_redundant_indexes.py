"""The person search checks visibility first (U4, issue 7).

``people_personreach`` says which organisation reaches which person without a share, with the
person's folded names; ``people_foldedname`` lists every folded name. Triggers on persons,
dossiers and household members keep both in step with the facts, in the same transaction,
correct under concurrent writes (see ``TRIGGERS``). ``people_personreach_refill()`` rebuilds
the reach from the facts, set-based: this migration and the volume loader (whose bulk load
switches triggers off) call it.

Also drops two indexes no query uses: the pattern-ops copy of the AHV number's unique index
(AHV numbers are compared by equality) and the single-column index on a household member's
unit (``unit_member_unique`` (unit, person) serves lookups by unit).
"""

import django.contrib.postgres.indexes
import django.db.models.deletion
from django.db import migrations, models

# One function per fact table. Counting rules (``PersonReach``'s docstring): registered is a
# flag; ``cases`` counts one per dossier as client and one per (dossier, household member).
# A row goes when it is neither registered nor counted any more.
#
# Concurrency (READ COMMITTED): counts change by increments under the row lock, which
# PostgreSQL re-applies to the newest row version, so concurrent changes add up. Two facts
# meet in a join (a dossier's household and the household's members), and each side sees
# only committed rows of the other: both lock the household row first (FOR NO KEY UPDATE,
# which the foreign-key checks' KEY SHARE locks do not conflict with), so whichever comes
# second waits and then sees the first's rows (every statement of a PL/pgSQL function takes a
# new snapshot). A new reach row copies the person's names under a SHARE lock on the person,
# so a concurrent rename either waits for it or has committed before (and the rename's
# trigger renames every reach row of the person).
FUNCTIONS = r"""
CREATE FUNCTION people_reach_apply(org bigint, persons uuid[], delta integer)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF org IS NULL OR cardinality(persons) = 0 THEN
        RETURN;
    END IF;
    IF delta > 0 THEN
        INSERT INTO people_personreach AS r
            (organisation_id, person_id, registered, cases, last_name, first_name)
        SELECT org, p.id, false, f.n * delta, filum_fold(p.last_name), filum_fold(p.first_name)
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

CREATE FUNCTION people_reach_person() RETURNS trigger LANGUAGE plpgsql AS $$
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
        IF NEW.last_name <> OLD.last_name OR NEW.first_name <> OLD.first_name THEN
            UPDATE people_personreach
            SET last_name = filum_fold(NEW.last_name), first_name = filum_fold(NEW.first_name)
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
        (organisation_id, person_id, registered, cases, last_name, first_name)
    VALUES (NEW.registered_by_id, NEW.id, true, 0, filum_fold(NEW.last_name),
            filum_fold(NEW.first_name))
    ON CONFLICT (organisation_id, person_id) DO UPDATE SET registered = true;
    RETURN NULL;
END $$;

CREATE FUNCTION people_reach_dossier(org bigint, client uuid, unit uuid, delta integer)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF unit IS NOT NULL THEN
        PERFORM 1 FROM people_assistanceunit WHERE id = unit FOR NO KEY UPDATE;
    END IF;
    PERFORM people_reach_apply(org, array_append(ARRAY(
        SELECT m.person_id FROM people_unitmember m WHERE m.unit_id = unit
    ), client), delta);
END $$;

CREATE FUNCTION people_reach_case() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.owner_id = OLD.owner_id AND NEW.client_id = OLD.client_id
       AND NEW.assistance_unit_id IS NOT DISTINCT FROM OLD.assistance_unit_id THEN
        RETURN NULL;
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        PERFORM people_reach_dossier(OLD.owner_id, OLD.client_id, OLD.assistance_unit_id, -1);
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        PERFORM people_reach_dossier(NEW.owner_id, NEW.client_id, NEW.assistance_unit_id, 1);
    END IF;
    RETURN NULL;
END $$;

CREATE FUNCTION people_reach_household(unit uuid, person uuid, delta integer)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    owner record;
BEGIN
    PERFORM 1 FROM people_assistanceunit WHERE id = unit FOR NO KEY UPDATE;
    FOR owner IN
        SELECT c.owner_id, count(*)::integer AS n FROM cases_case c
        WHERE c.assistance_unit_id = unit GROUP BY c.owner_id ORDER BY c.owner_id
    LOOP
        PERFORM people_reach_apply(owner.owner_id, array_fill(person, ARRAY[owner.n]), delta);
    END LOOP;
END $$;

CREATE FUNCTION people_reach_member() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.unit_id = OLD.unit_id AND NEW.person_id = OLD.person_id THEN
        RETURN NULL;
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        PERFORM people_reach_household(OLD.unit_id, OLD.person_id, -1);
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        PERFORM people_reach_household(NEW.unit_id, NEW.person_id, 1);
    END IF;
    RETURN NULL;
END $$;

-- The folded names that match a typed word as the person search's condition does: similar
-- by trigrams (the ``%`` operator, pg_trgm.similarity_threshold), or starting with it. Through
-- the trigram index always: with a few thousand names the planner would rather compute the
-- similarity of every name (a SET clause also keeps the function from being inlined).
CREATE FUNCTION people_similar_names(word text) RETURNS text[]
LANGUAGE sql STABLE PARALLEL SAFE SET enable_seqscan = off AS $$
    SELECT coalesce(array_agg(name), '{}') FROM people_foldedname
    WHERE name % filum_fold(word)
       OR name LIKE replace(replace(replace(filum_fold(word), '\', '\\'), '%', '\%'), '_', '\_')
                    || '%'
$$;

-- The reach and the names, from the facts (set-based). Takes SHARE locks on the fact tables
-- so that no write slips between reading and replacing.
CREATE FUNCTION people_personreach_refill() RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    total bigint;
BEGIN
    LOCK TABLE people_person, people_unitmember, cases_case IN SHARE MODE;
    TRUNCATE people_personreach;
    CREATE TEMPORARY TABLE people_reach_names ON COMMIT DROP AS
        SELECT id, filum_fold(last_name) AS last_name, filum_fold(first_name) AS first_name
        FROM people_person;
    INSERT INTO people_foldedname (name)
        SELECT last_name FROM people_reach_names UNION SELECT first_name FROM people_reach_names
    ON CONFLICT DO NOTHING;
    INSERT INTO people_personreach
        (organisation_id, person_id, registered, cases, last_name, first_name)
    SELECT f.org, f.person, f.registered, f.cases, n.last_name, n.first_name
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

CREATE TRIGGER people_reach_person
    AFTER INSERT OR DELETE OR UPDATE OF last_name, first_name, registered_by_id
    ON people_person FOR EACH ROW EXECUTE FUNCTION people_reach_person();
CREATE TRIGGER people_reach_case
    AFTER INSERT OR DELETE OR UPDATE OF owner_id, client_id, assistance_unit_id
    ON cases_case FOR EACH ROW EXECUTE FUNCTION people_reach_case();
CREATE TRIGGER people_reach_member
    AFTER INSERT OR DELETE OR UPDATE OF unit_id, person_id
    ON people_unitmember FOR EACH ROW EXECUTE FUNCTION people_reach_member();
"""

DROP_FUNCTIONS = """
DROP TRIGGER people_reach_member ON people_unitmember;
DROP TRIGGER people_reach_case ON cases_case;
DROP TRIGGER people_reach_person ON people_person;
DROP FUNCTION people_personreach_refill();
DROP FUNCTION people_similar_names(text);
DROP FUNCTION people_reach_member();
DROP FUNCTION people_reach_household(uuid, uuid, integer);
DROP FUNCTION people_reach_case();
DROP FUNCTION people_reach_dossier(bigint, uuid, uuid, integer);
DROP FUNCTION people_reach_person();
DROP FUNCTION people_reach_apply(bigint, uuid[], integer);
"""


class Migration(migrations.Migration):
    dependencies = [
        ("people", "0004_plausible_date_bounds"),
        ("tenancy", "0002_signin_links"),
        # the dossier trigger and the refill read cases_case
        ("cases", "0013_transition_audit_triggers"),
    ]

    operations = [
        migrations.CreateModel(
            name="FoldedName",
            fields=[
                ("name", models.TextField(primary_key=True, serialize=False)),
            ],
        ),
        migrations.CreateModel(
            name="PersonReach",
            fields=[
                (
                    "pk",
                    models.CompositePrimaryKey(
                        "organisation",
                        "person",
                        blank=True,
                        editable=False,
                        primary_key=True,
                        serialize=False,
                    ),
                ),
                ("registered", models.BooleanField()),
                ("cases", models.IntegerField()),
                ("last_name", models.TextField()),
                ("first_name", models.TextField()),
                (
                    "organisation",
                    models.ForeignKey(
                        db_constraint=False,
                        db_index=False,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to="tenancy.organisation",
                    ),
                ),
                (
                    "person",
                    models.ForeignKey(
                        db_constraint=False,
                        db_index=False,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to="people.person",
                    ),
                ),
            ],
        ),
        # The AHV number stays unique through the same index, renamed; its pattern-ops twin
        # goes. The household member's unit loses its single-column index.
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="person",
                    name="ahv_number",
                    field=models.CharField(
                        blank=True, max_length=13, null=True, verbose_name="AHV number"
                    ),
                ),
                migrations.AddConstraint(
                    model_name="person",
                    constraint=models.UniqueConstraint(
                        fields=("ahv_number",), name="person_ahv_unique"
                    ),
                ),
                migrations.AlterField(
                    model_name="unitmember",
                    name="unit",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="members",
                        to="people.assistanceunit",
                    ),
                ),
            ],
            database_operations=[
                migrations.RunSQL(
                    sql=[
                        'DROP INDEX "people_person_ahv_number_2e1a351e_like"',
                        'ALTER TABLE "people_person" RENAME CONSTRAINT '
                        '"people_person_ahv_number_key" TO "person_ahv_unique"',
                        'DROP INDEX "people_unitmember_unit_id_a8c877f3"',
                    ],
                    reverse_sql=[
                        'CREATE INDEX "people_unitmember_unit_id_a8c877f3" '
                        'ON "people_unitmember" ("unit_id")',
                        'ALTER TABLE "people_person" RENAME CONSTRAINT '
                        '"person_ahv_unique" TO "people_person_ahv_number_key"',
                        'CREATE INDEX "people_person_ahv_number_2e1a351e_like" '
                        'ON "people_person" ("ahv_number" varchar_pattern_ops)',
                    ],
                ),
            ],
        ),
        migrations.RunSQL(sql=FUNCTIONS, reverse_sql=DROP_FUNCTIONS),
        # fill before indexing: one sort per index instead of 2 M index insertions
        migrations.RunSQL(
            sql="SELECT people_personreach_refill()", reverse_sql=migrations.RunSQL.noop
        ),
        migrations.AddIndex(
            model_name="foldedname",
            index=django.contrib.postgres.indexes.GinIndex(
                django.contrib.postgres.indexes.OpClass("name", name="gin_trgm_ops"),
                name="folded_name_trgm",
            ),
        ),
        migrations.AddIndex(
            model_name="personreach",
            index=models.Index(fields=["person"], name="person_reach_person"),
        ),
        migrations.AddIndex(
            model_name="personreach",
            index=models.Index(fields=["organisation", "last_name"], name="person_reach_last"),
        ),
        migrations.AddIndex(
            model_name="personreach",
            index=models.Index(fields=["organisation", "first_name"], name="person_reach_first"),
        ),
        migrations.RunSQL(sql="ANALYZE people_personreach, people_foldedname", reverse_sql=""),
    ]
