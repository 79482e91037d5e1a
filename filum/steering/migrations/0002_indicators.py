"""Indicators as data (D1, D3; decision 0032): versioned definitions and kept reports, and
version 1 of the indicators Filum ships."""

from typing import Any

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


def ship(apps: Any, schema_editor: Any) -> None:
    from filum.steering.indicators import check_definition
    from filum.steering.shipped import SHIPPED

    definition = apps.get_model("steering", "IndicatorDefinition")
    for key, label_fr, label_de, text_fr, text_de, data in SHIPPED:
        check_definition(data)
        definition.objects.get_or_create(
            key=key,
            version=1,
            defaults={
                "label_fr": label_fr,
                "label_de": label_de,
                "description_fr": text_fr,
                "description_de": text_de,
                "definition": data,
            },
        )


class Migration(migrations.Migration):
    dependencies = [
        ("steering", "0001_initial"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='IndicatorDefinition',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('key', models.SlugField(max_length=48, verbose_name='indicator')),
                ('version', models.PositiveIntegerField(verbose_name='version')),
                ('label_fr', models.CharField(max_length=200, verbose_name='name (French)')),
                ('label_de', models.CharField(max_length=200, verbose_name='name (German)')),
                ('description_fr', models.TextField(verbose_name='description (French)')),
                ('description_de', models.TextField(verbose_name='description (German)')),
                ('definition', models.JSONField(verbose_name='definition')),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('created_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'verbose_name': 'indicator definition',
                'verbose_name_plural': 'indicator definitions',
                'ordering': ['key', '-version'],
            },
        ),
        migrations.CreateModel(
            name='IndicatorReport',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('canton', models.CharField(max_length=2)),
                ('extract', models.CharField(max_length=64)),
                ('as_of', models.DateField()),
                ('by', models.CharField(blank=True, max_length=32)),
                ('filters', models.JSONField(default=dict)),
                ('result', models.JSONField()),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('created_by', models.ForeignKey(null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('definition', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='reports', to='steering.indicatordefinition')),
            ],
            options={
                'ordering': ['-created_at'],
            },
        ),
        migrations.AddConstraint(
            model_name='indicatordefinition',
            constraint=models.UniqueConstraint(fields=('key', 'version'), name='indicator_key_version'),
        ),
        migrations.AddConstraint(
            model_name='indicatordefinition',
            constraint=models.CheckConstraint(condition=models.Q(('version__gte', 1)), name='indicator_version_1'),
        ),
        migrations.AddIndex(
            model_name='indicatorreport',
            index=models.Index(fields=['canton', '-created_at'], name='indicatorreport_canton'),
        ),
        migrations.RunPython(ship, migrations.RunPython.noop),
    ]
