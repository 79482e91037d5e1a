"""The federal statistics (SHS mapping table and deliveries) and the kept monthly figures of each
service's monitoring (D6, D7; decision 0035)."""

import django.contrib.postgres.fields
import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('steering', '0003_person_lists'),
        ('tenancy', '0004_organisation_language'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='ShsMappingVersion',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('canton', models.CharField(max_length=2, verbose_name='canton')),
                ('number', models.PositiveIntegerField(verbose_name='version')),
                ('note', models.CharField(blank=True, max_length=200, verbose_name='note')),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('created_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'verbose_name': 'SHS mapping version',
                'verbose_name_plural': 'SHS mapping versions',
                'ordering': ['canton', '-number'],
            },
        ),
        migrations.CreateModel(
            name='ShsMappingEntry',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('variable', models.CharField(max_length=32, verbose_name='variable')),
                ('filum_value', models.CharField(max_length=64, verbose_name='Filum value')),
                ('shs_code', models.CharField(max_length=16, verbose_name='SHS code')),
                ('version', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='entries', to='steering.shsmappingversion')),
            ],
            options={
                'ordering': ['variable', 'filum_value'],
            },
        ),
        migrations.CreateModel(
            name='ShsDelivery',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('month', models.DateField(verbose_name='month')),
                ('content', models.TextField()),
                ('sha256', models.CharField(max_length=64)),
                ('dossiers', models.PositiveIntegerField(verbose_name='dossiers')),
                ('rows', models.PositiveIntegerField(verbose_name='rows')),
                ('errors', models.JSONField(blank=True, default=list)),
                ('case_ids', django.contrib.postgres.fields.ArrayField(base_field=models.UUIDField(), blank=True, default=list, size=None)),
                ('created_at', models.DateTimeField(auto_now=True)),
                ('organisation', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='tenancy.organisation')),
                ('mapping', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='steering.shsmappingversion')),
            ],
            options={
                'verbose_name': 'SHS delivery',
                'verbose_name_plural': 'SHS deliveries',
                'ordering': ['-month', 'organisation_id', '-mapping_id'],
            },
        ),
        migrations.CreateModel(
            name='ServiceMonth',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('canton', models.CharField(max_length=2)),
                ('month', models.DateField()),
                ('open_end', models.PositiveIntegerField()),
                ('opened', models.PositiveIntegerField()),
                ('closed', models.PositiveIntegerField()),
                ('median_days', models.FloatField(null=True)),
                ('workers', models.PositiveIntegerField()),
                ('refreshed_at', models.DateTimeField(auto_now=True)),
                ('organisation', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='tenancy.organisation')),
            ],
            options={
                'indexes': [models.Index(fields=['canton', 'month'], name='service_month_canton')],
                'constraints': [models.UniqueConstraint(fields=('organisation', 'month'), name='service_month_unique')],
            },
        ),
        migrations.AddConstraint(
            model_name='shsmappingversion',
            constraint=models.UniqueConstraint(fields=('canton', 'number'), name='shs_mapping_version_unique'),
        ),
        migrations.AddConstraint(
            model_name='shsmappingentry',
            constraint=models.UniqueConstraint(fields=('version', 'variable', 'filum_value'), name='shs_mapping_entry_unique'),
        ),
        migrations.AddConstraint(
            model_name='shsmappingentry',
            constraint=models.CheckConstraint(condition=models.Q(('shs_code', ''), _negated=True), name='shs_mapping_entry_has_code'),
        ),
        migrations.AddConstraint(
            model_name='shsdelivery',
            constraint=models.UniqueConstraint(fields=('organisation', 'month', 'mapping'), name='shs_delivery_unique'),
        ),
        migrations.AddConstraint(
            model_name='shsdelivery',
            constraint=models.CheckConstraint(condition=models.Q(('month__day', 1)), name='shs_delivery_month_first'),
        ),
    ]
