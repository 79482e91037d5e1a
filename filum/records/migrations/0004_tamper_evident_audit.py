"""Tamper evidence for the audit (R28): the verification log, and the SQL functions that
chain the rows of the audit tables with SHA-256 hashes. The columns and triggers themselves
are put on every protected table after each migrate (``filum.records.chain.seal``), so event
tables added by later migrations of other apps are covered too; see decision 0006."""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


FUNCTIONS = r"""
-- The hash of one row: SHA-256 of the previous row's hash and the row's content as canonical
-- jsonb text (keys sorted; NULL values left out, so a nullable column added later does not
-- change old rows' hashes), without the hash columns and the table's excluded columns.
-- STABLE like convert_to, so that PostgreSQL inlines it (twice as fast in verify_audit).
CREATE OR REPLACE FUNCTION filum_chain_digest(prev bytea, content jsonb, excluded text[])
RETURNS bytea LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT sha256(
        coalesce(prev, ''::bytea)
        || convert_to(
            (jsonb_strip_nulls(content)
                - (coalesce(excluded, '{}') || '{prev_hash,row_hash}'::text[]))::text,
            'UTF8'
        )
    )
$$;

-- BEFORE INSERT on each protected table (and each read-log partition, the trigger being
-- cloned to them): the next position in the table's chain, the previous row's hash and the
-- row's own. The advisory lock (per table, held until commit) makes concurrent writers take
-- turns, so the chain order is the commit order and no two rows link to the same one.
-- While the transaction holds the lock, the head it wrote last is kept in a transaction-local
-- setting, so the rows of a bulk insert do not look the head up again (a rolled-back
-- savepoint rolls the setting back with its rows). Not for pghistory_context nor the security
-- events (one denial per user, object and hour): both are written
-- with INSERT ... ON CONFLICT, whose BEFORE trigger also fires for rows then not inserted.
-- TimeZone is fixed because timestamps are rendered into the hashed text.
CREATE OR REPLACE FUNCTION filum_chain_row() RETURNS trigger
LANGUAGE plpgsql SET TimeZone TO 'UTC' SET extra_float_digits TO 1 AS $$
DECLARE
    head_key text := 'filum.chain_' || TG_RELID::bigint;
    head text := current_setting(head_key, true);
    xact text := pg_current_xact_id()::text;
    last_seq bigint;
    last_hash bytea;
BEGIN
    IF head LIKE xact || ':%'
        AND TG_TABLE_NAME NOT IN ('pghistory_context', 'records_securityevent') THEN
        last_seq := split_part(head, ':', 2)::bigint;
        last_hash := decode(split_part(head, ':', 3), 'hex');
    ELSE
        PERFORM pg_advisory_xact_lock(
            1718579533, hashtext(TG_TABLE_SCHEMA || '.' || TG_TABLE_NAME)
        );
        EXECUTE format(
            'SELECT chain_seq, row_hash FROM %I.%I WHERE chain_seq IS NOT NULL '
            'ORDER BY chain_seq DESC LIMIT 1',
            TG_TABLE_SCHEMA, TG_TABLE_NAME
        ) INTO last_seq, last_hash;
    END IF;
    NEW.chain_seq := coalesce(last_seq, 0) + 1;
    NEW.prev_hash := last_hash;
    NEW.row_hash := filum_chain_digest(last_hash, to_jsonb(NEW), TG_ARGV);
    PERFORM set_config(
        head_key, xact || ':' || NEW.chain_seq || ':' || encode(NEW.row_hash, 'hex'), true
    );
    RETURN NEW;
END
$$;

-- Chain the rows of one table (or partition) that have no position yet, in primary-key
-- order, after the current head: rows written before the chain existed. Run by the owner
-- with the table's triggers off (the event tables refuse UPDATE).
CREATE OR REPLACE FUNCTION filum_chain_seal(rel regclass, pk text, excluded text[])
RETURNS bigint LANGUAGE plpgsql SET TimeZone TO 'UTC' SET extra_float_digits TO 1 AS $$
DECLARE
    last_seq bigint;
    last_hash bytea;
    next_hash bytea;
    r record;
    sealed bigint := 0;
BEGIN
    EXECUTE format(
        'SELECT chain_seq, row_hash FROM %s WHERE chain_seq IS NOT NULL '
        'ORDER BY chain_seq DESC LIMIT 1', rel
    ) INTO last_seq, last_hash;
    last_seq := coalesce(last_seq, 0);
    FOR r IN EXECUTE format(
        'SELECT ctid AS row_ctid, to_jsonb(t) AS content FROM %s t '
        'WHERE chain_seq IS NULL ORDER BY %I', rel, pk
    ) LOOP
        last_seq := last_seq + 1;
        next_hash := filum_chain_digest(
            last_hash, r.content || jsonb_build_object('chain_seq', last_seq), excluded
        );
        EXECUTE format(
            'UPDATE %s SET chain_seq = $1, prev_hash = $2, row_hash = $3 WHERE ctid = $4', rel
        ) USING last_seq, last_hash, next_hash, r.row_ctid;
        last_hash := next_hash;
        sealed := sealed + 1;
    END LOOP;
    RETURN sealed;
END
$$;

-- Monthly read-log partitions are created by the daily job, which runs as the app role: it
-- may call this (as the owner), not create tables itself.
CREATE OR REPLACE FUNCTION filum_create_readlog_partition(lower_bound date)
RETURNS boolean LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    month date := date_trunc('month', lower_bound)::date;
    name text := 'records_readlog_' || to_char(month, 'YYYYMM');
BEGIN
    IF to_regclass(name) IS NOT NULL THEN
        RETURN false;
    END IF;
    EXECUTE format(
        'CREATE TABLE %I PARTITION OF records_readlog FOR VALUES FROM (%L) TO (%L)',
        name, month, (month + interval '1 month')::date
    );
    RETURN true;
END
$$;
"""

# backwards: the triggers go with their functions (the chain columns stay, unused)
DROP_FUNCTIONS = """
DROP FUNCTION IF EXISTS filum_create_readlog_partition(date);
DROP FUNCTION IF EXISTS filum_chain_seal(regclass, text, text[]);
DROP FUNCTION IF EXISTS filum_chain_row() CASCADE;
DROP FUNCTION IF EXISTS filum_context_guard() CASCADE;
DROP FUNCTION IF EXISTS filum_chain_digest(bytea, jsonb, text[]);
"""


def create_partitions(apps, schema_editor):
    import datetime

    from filum.records.services import ensure_read_log_partitions

    ensure_read_log_partitions(start=datetime.date.today().replace(day=1), months=13)


class Migration(migrations.Migration):

    # After the other apps' migrations of this release: the chains seal existing event rows
    # in their final shape (a column added to an event table later changes what is hashed).
    dependencies = [
        ('records', '0003_readlog_table'),
        ('cases', '0013_transition_audit_triggers'),
        ('followup', '0006_norm_limit_is_maximum'),
        ('journal', '0004_contact_author_organisation'),
        ('people', '0004_plausible_date_bounds'),
        ('tenancy', '0002_signin_links'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RunSQL(FUNCTIONS, DROP_FUNCTIONS),
        migrations.RunPython(create_partitions, migrations.RunPython.noop),
        migrations.AlterField(
            model_name='securityevent',
            name='user',
            field=models.ForeignKey(db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to=settings.AUTH_USER_MODEL),
        ),
        migrations.CreateModel(
            name='AuditVerification',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('started_at', models.DateTimeField()),
                ('finished_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('intact', models.BooleanField()),
                ('rows_checked', models.BigIntegerField()),
                ('chains', models.IntegerField()),
                ('broken_table', models.CharField(blank=True, max_length=63)),
                ('broken_row', models.CharField(blank=True, max_length=64)),
                ('problem', models.CharField(blank=True, choices=[('unchained', "a row was written with the chain's trigger switched off"), ('missing', 'rows were deleted'), ('link', 'a row before it was changed or replaced'), ('content', 'the row was changed after it was written'), ('checkpoint', 'rows verified earlier were removed or rewritten')], max_length=16)),
                ('position', models.BigIntegerField(null=True)),
                ('heads', models.JSONField(default=dict)),
            ],
            options={
                'ordering': ['-finished_at'],
                'constraints': [models.CheckConstraint(condition=models.Q(models.Q(('broken_table', ''), ('intact', True)), ('intact', False), _connector='OR'), name='records_verification_intact_has_no_break')],
            },
        ),
    ]
