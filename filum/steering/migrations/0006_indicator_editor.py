"""The indicator editor (D1, D3; decision 0039): a version may retire its indicator, and the
definitions are audited like the other domain tables."""

import django.db.models.deletion
import django.utils.timezone
import pgtrigger.compiler
import pgtrigger.migrations
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('pghistory', '0007_auto_20250421_0444'),
        ('steering', '0005_person_list_exports'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='IndicatorDefinitionEvent',
            fields=[
                ('pgh_id', models.AutoField(primary_key=True, serialize=False)),
                ('pgh_created_at', models.DateTimeField(auto_now_add=True)),
                ('pgh_label', models.TextField(help_text='The event label.')),
                ('id', models.BigIntegerField()),
                ('key', models.SlugField(db_index=False, max_length=48, verbose_name='indicator')),
                ('version', models.PositiveIntegerField(verbose_name='version')),
                ('label_fr', models.CharField(max_length=200, verbose_name='name (French)')),
                ('label_de', models.CharField(max_length=200, verbose_name='name (German)')),
                ('description_fr', models.TextField(verbose_name='description (French)')),
                ('description_de', models.TextField(verbose_name='description (German)')),
                ('definition', models.JSONField(verbose_name='definition')),
                ('retired', models.BooleanField(default=False, verbose_name='retired')),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
            ],
            options={
                'abstract': False,
            },
        ),
        migrations.AddField(
            model_name='indicatordefinition',
            name='retired',
            field=models.BooleanField(default=False, verbose_name='retired'),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name='indicatordefinition',
            trigger=pgtrigger.compiler.Trigger(name='insert_insert', sql=pgtrigger.compiler.UpsertTriggerSql(func='INSERT INTO "steering_indicatordefinitionevent" ("created_at", "created_by_id", "definition", "description_de", "description_fr", "id", "key", "label_de", "label_fr", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id", "retired", "version") VALUES (NEW."created_at", NEW."created_by_id", NEW."definition", NEW."description_de", NEW."description_fr", NEW."id", NEW."key", NEW."label_de", NEW."label_fr", _pgh_attach_context(), NOW(), \'insert\', NEW."id", NEW."retired", NEW."version"); RETURN NULL;', hash='0e887f7aa97bd32641519915ee9ccb3375119332', operation='INSERT', pgid='pgtrigger_insert_insert_078d7', table='steering_indicatordefinition', when='AFTER')),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name='indicatordefinition',
            trigger=pgtrigger.compiler.Trigger(name='update_update', sql=pgtrigger.compiler.UpsertTriggerSql(condition='WHEN (OLD.* IS DISTINCT FROM NEW.*)', func='INSERT INTO "steering_indicatordefinitionevent" ("created_at", "created_by_id", "definition", "description_de", "description_fr", "id", "key", "label_de", "label_fr", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id", "retired", "version") VALUES (NEW."created_at", NEW."created_by_id", NEW."definition", NEW."description_de", NEW."description_fr", NEW."id", NEW."key", NEW."label_de", NEW."label_fr", _pgh_attach_context(), NOW(), \'update\', NEW."id", NEW."retired", NEW."version"); RETURN NULL;', hash='315755216d201137d59d24b4f35ba0f20aade35f', operation='UPDATE', pgid='pgtrigger_update_update_43a40', table='steering_indicatordefinition', when='AFTER')),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name='indicatordefinition',
            trigger=pgtrigger.compiler.Trigger(name='delete_delete', sql=pgtrigger.compiler.UpsertTriggerSql(func='INSERT INTO "steering_indicatordefinitionevent" ("created_at", "created_by_id", "definition", "description_de", "description_fr", "id", "key", "label_de", "label_fr", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id", "retired", "version") VALUES (OLD."created_at", OLD."created_by_id", OLD."definition", OLD."description_de", OLD."description_fr", OLD."id", OLD."key", OLD."label_de", OLD."label_fr", _pgh_attach_context(), NOW(), \'delete\', OLD."id", OLD."retired", OLD."version"); RETURN NULL;', hash='5569be545e6e7ccc62052c647ba7cb09b28668fa', operation='DELETE', pgid='pgtrigger_delete_delete_aecc5', table='steering_indicatordefinition', when='AFTER')),
        ),
        migrations.AddField(
            model_name='indicatordefinitionevent',
            name='created_by',
            field=models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', related_query_name='+', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AddField(
            model_name='indicatordefinitionevent',
            name='pgh_context',
            field=models.ForeignKey(db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='pghistory.context'),
        ),
        migrations.AddField(
            model_name='indicatordefinitionevent',
            name='pgh_obj',
            field=models.ForeignKey(db_constraint=False, on_delete=django.db.models.deletion.DO_NOTHING, related_name='events', to='steering.indicatordefinition'),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name='indicatordefinitionevent',
            trigger=pgtrigger.compiler.Trigger(name='append_only', sql=pgtrigger.compiler.UpsertTriggerSql(func="RAISE EXCEPTION 'pgtrigger: Cannot update or delete rows from % table', TG_TABLE_NAME;", hash='8f9167934855516c6ca7bcc46e5792677ea64c86', operation='UPDATE OR DELETE', pgid='pgtrigger_append_only_cca6f', table='steering_indicatordefinitionevent', when='BEFORE')),
        ),
    ]
