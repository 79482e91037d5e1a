"""PostgreSQL ``COPY`` text format helpers shared by the volume and the steering demo data."""

from __future__ import annotations

import datetime

from django.apps import apps
from django.db import models
from django.db.models import NOT_PROVIDED

NULL = "\\N"  # NULL in COPY's text format


def copy_text(value: object) -> str:
    if value is None:
        return NULL
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, list | tuple):
        return "{" + ",".join(str(v) for v in value) + "}"
    if isinstance(value, datetime.date):
        return value.isoformat()
    text = str(value)
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")


def other_columns(table: str, generated: set[str]) -> list[tuple[str, str]]:
    """Columns the generator does not fill (added by later features): each gets its field's
    default (or NULL), so the load keeps working when a model grows."""
    model = next(m for m in apps.get_models() if m._meta.db_table == table)
    extra = []
    for model_field in model._meta.concrete_fields:
        column = model_field.column
        if column in generated or model_field.db_default is not NOT_PROVIDED:
            continue
        if model_field.primary_key and isinstance(model_field, models.AutoField):
            continue
        if model_field.null:
            extra.append((column, NULL))
        elif model_field.has_default() or model_field.empty_strings_allowed:
            extra.append((column, copy_text(model_field.get_default())))
        else:
            raise RuntimeError(f"seed_demo does not know what to put in {table}.{column}")
    return extra
