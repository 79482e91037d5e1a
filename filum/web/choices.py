"""``get_FOO_display()`` without rebuilding the field's choices at each call (U4).

Django builds ``dict(make_hashable(field.flatchoices))`` for every call: a list page showing
the domain, stage and status of 25 dossiers rebuilt 75 dictionaries. The choices of these
fields are fixed in the code (``TextChoices``), so the dictionary is built once per field;
its labels stay lazy and are translated at each call, in the reader's language.
"""

from __future__ import annotations

from typing import Any

from django.db import models
from django.utils.encoding import force_str
from django.utils.hashable import make_hashable

_LABELS: dict[models.Field[Any, Any], dict[Any, Any]] = {}


class ChoiceLabels:
    """Mixin for a model whose choice fields' labels are read on busy pages."""

    def _get_FIELD_display(self, field: models.Field[Any, Any]) -> Any:  # noqa: N802 (Django's)
        labels = _LABELS.get(field)
        if labels is None:
            labels = _LABELS[field] = dict(make_hashable(field.flatchoices))
        value = getattr(self, field.attname)
        return force_str(labels.get(make_hashable(value), value), strings_only=True)
