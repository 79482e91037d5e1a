"""The audit of writes (X2, R29): one decorator for every domain model.

Database triggers record each insert, update and delete (raw SQL and bulk updates included)
with the request context (user, organisation, URL) set by ``AuditContextMiddleware``.
"""

from __future__ import annotations

from typing import Any

import pghistory
from django.db import models

DOSSIER = "cases.case"


def _label(model: type[models.Model], target: Any) -> str:
    """The lower-case "app.model" label of a relation's target, resolved or not yet."""
    if not isinstance(target, str):
        return str(target._meta.label_lower)
    if target == "self":
        return str(model._meta.label_lower)
    if "." not in target:
        return f"{model._meta.app_label}.{target}".lower()
    return target.lower()


def _dossier_columns(model: type[models.Model]) -> list[str]:
    """The tracked model's foreign keys to a dossier: the dossier's audit searches its event
    table by each of them (``filum.records.audit.event_sources``)."""
    return [
        f.name
        for f in model._meta.local_fields
        if f.is_relation
        and (f.many_to_one or f.one_to_one)
        and f.remote_field is not None
        and _label(model, f.remote_field.model) == DOSSIER
    ]


def audited(*, history_of: str | None = None, **kwargs: Any) -> Any:
    """``history_of``: the event field that names the dossier (``"case"``) or, for the
    dossier and its client themselves, ``"pgh_obj"``. Such event tables are part of a
    dossier's audit (``filum.records.audit``), which pages them newest first by keyset and
    compares each event with the object's previous one: both need an index (U4).

    The event tables' copied foreign keys are not indexed (``PGHISTORY_FOREIGN_KEY_FIELD``,
    decision 0038, round 2): nothing searches an event table by them, and each index is paid
    on every audited insert. What is searched keeps an index, declared here: the object
    (``pgh_obj``: an object's previous event, the disposal's ``filum_dispose_events``) and
    every foreign key to a dossier (the dossier's audit)."""

    def track(model: type[models.Model]) -> type[models.Model]:
        indexes: list[models.Index] = []
        if history_of is not None:
            indexes += [
                models.Index(fields=[history_of, "-pgh_created_at", "-pgh_id"]),
                models.Index(fields=["pgh_obj", "pgh_id"]),
            ]
        # a foreign key to a dossier that is not the history's own column
        indexes += [
            models.Index(fields=[name]) for name in _dossier_columns(model) if name != history_of
        ]
        options = dict(kwargs)
        meta = {**options.pop("meta", {})}
        if indexes:
            meta["indexes"] = indexes
        tracker = pghistory.track(
            # inserts are recorded by one statement-level trigger: one INSERT ... SELECT of the
            # statement's rows (its transition table) into the event table, the context
            # attached once (decision 0038); updates and deletes stay row-level
            pghistory.InsertEvent(level=pghistory.Statement),
            pghistory.UpdateEvent(),
            pghistory.DeleteEvent(),
            # the object's own index, unless (pgh_obj, pgh_id) above serves
            obj_field=pghistory.ObjForeignKey(related_name="events", db_index=history_of is None),
            meta=meta or None,
            **options,
        )
        tracked: type[models.Model] = tracker(model)
        return tracked

    return track
