"""The dossier list: one keyset page over the actor's own and shared dossiers (P1, U4).

Visibility comes first and splits the list into sources (decision 0015): the dossiers of
the actor's organisation (its worker's), read along the owner's or worker's ordered index,
and the dossiers shared with it, read from the share side. Each source is one ordered query
limited to a page and one row; the page is their merge by (opened_on, number). A single
``owner = X OR EXISTS (share)`` query cannot use either index and reads every dossier of
the canton that has the status.
"""

from __future__ import annotations

import datetime
import uuid
from dataclasses import dataclass
from typing import Any

from django.db.models import Exists, OuterRef, Value
from django.db.models.expressions import RawSQL
from django.utils import timezone

from filum.cases.models import Case, CaseQuerySet, CaseStatus, Share
from filum.prepared import PreparedQuery, PreparedRows, Shapes, as_set
from filum.tenancy.models import Membership, User
from filum.tenancy.policy import Actor, Section
from filum.web.paging import merge_newest_first

PAGE_SIZE = 25
SCOPES = ("mine", "org", "shared")


@dataclass
class DossierPage:
    rows: list[Case]
    next_cursor: str | None


Key = tuple[datetime.date, int, uuid.UUID]


@dataclass(frozen=True)
class _Shape:
    """What decides the form of a page's key queries; everything else is a value."""

    role: str
    scope: str
    statuses: tuple[str, ...]
    after: bool  # a cursor is given


def _stand_in(role: str, organisation: Any, user: Any) -> Actor:
    """An actor of the role whose organisation and user are the given values (a prepared
    query's placeholders): the visibility methods read nothing else of an actor."""
    return Actor(user=User(pk=user), membership=Membership(role=role, organisation_id=organisation))


def _key_queries(
    shape: _Shape, size: int, organisation: Any, user: Any, today: Any, day: Any, number: Any
) -> list[Any]:
    """One ordered query per source, each the first ``size + 1`` keys (opened_on, number, pk)
    after the cursor (``day``, ``number``), newest first; the sources the role cannot reach
    are left out. Built from values or from a prepared query's placeholders alike."""
    actor = _stand_in(shape.role, organisation, user)
    sources: list[CaseQuerySet] = []
    if shape.scope == "shared":
        shared_with_us = Case.objects.shared_visible_to(actor, section=None, on=today)
        sources.append(shared_with_us.filter(status__in=shape.statuses))
    else:
        own = Case.objects.owned_visible_to(actor, section=Section.CORE)
        shared = Case.objects.shared_visible_to(actor, section=Section.CORE, on=today)
        if shape.scope == "mine":
            own = own.filter(responsible_id=user)
            shared = shared.filter(responsible_id=user)
        # One query per status: each reads the owner's (worker's) index in order, and "all"
        # is the merge of both.
        sources += [own.filter(status=s) for s in shape.statuses]
        sources.append(shared.filter(status__in=shape.statuses))
    queries = []
    for qs in sources:
        if qs.query.is_empty():
            continue
        if shape.after:
            # opened_on <= day bounds the index range; the rest of the day is a filter on it.
            qs = qs.filter(opened_on__lte=day).exclude(opened_on=day, number__gte=number)
        keys = qs.order_by("-opened_on", "-number").values_list("opened_on", "number", "pk")
        queries.append(keys[: size + 1])
    return queries


def _prepared_keys(shape: _Shape) -> tuple[PreparedRows, ...]:
    """The key queries of a shape at the page size, prepared (U4, decision 0015)."""
    slots = [RawSQL("%s", (None,)) for _ in range(5)]  # noqa: S611 (counted, never run)
    count = len(_key_queries(shape, PAGE_SIZE, *slots))
    return tuple(
        PreparedRows(
            lambda *values, i=i: _key_queries(shape, PAGE_SIZE, *values)[i], values=5, unused=True
        )
        for i in range(count)
    )


_KEYS: Shapes[_Shape, tuple[PreparedRows, ...]] = Shapes(_prepared_keys)


def _rows_query(shared_scope: bool, ids: Any, organisation: Any, today: Any) -> CaseQuerySet:
    """The page's dossiers with what the list shows; under "shared with us", whether an
    active share opens the core data (``core_visible``)."""
    page = Case.objects.filter(pk__in=ids)
    if shared_scope:
        core = Share.objects.active(today).filter(
            case=OuterRef("pk"),
            organisation_id=organisation,
            sections__contains=[Section.CORE],
        )
        page = page.annotate(core_visible=Exists(core)).select_related(
            "client", "responsible", "owner"
        )
    else:
        page = page.annotate(core_visible=Value(True)).select_related("client", "responsible")
    return page.order_by("-opened_on", "-number")


def _prepared_rows(shared_scope: bool) -> PreparedQuery:
    return PreparedQuery(
        lambda ids, org, today: _rows_query(shared_scope, as_set(ids), org, today),
        values=3,
        unused=True,
    )


_ROWS: Shapes[bool, PreparedQuery] = Shapes(_prepared_rows)


def dossier_page(
    actor: Actor,
    *,
    scope: str,
    status: str,
    cursor: tuple[datetime.date, int] | None,
    size: int = PAGE_SIZE,
) -> DossierPage:
    """The page of the actor's dossiers after ``cursor`` (newest first) in a scope: ``mine``
    (responsible), ``org`` (everything the actor may read the core of), ``shared`` (every
    dossier an active share opens to the organisation, core or not). Rows carry
    ``core_visible``. A fixed number of queries: one per source and status for the keys,
    one for the rows of the page with what it shows. At the page size of the pages (25)
    they are prepared queries, compiled once per thread and shape; other sizes (the API's
    ``limit``) build the same queries each time."""
    if scope not in SCOPES:
        # a shape is compiled and kept per scope: never one per value a caller passes
        raise ValueError(f"unknown scope {scope!r}")
    statuses = (status,) if status in CaseStatus.values else tuple(CaseStatus.values)
    shape = _Shape(role=actor.role, scope=scope, statuses=statuses, after=cursor is not None)
    day, number = cursor or (None, None)
    today = timezone.localdate()
    values = (actor.organisation_id, actor.user.pk, today, day, number)
    if size == PAGE_SIZE:
        sources = [query.rows(*values) for query in _KEYS[shape]]
    else:
        sources = [list(query) for query in _key_queries(shape, size, *values)]
    keys, last = merge_newest_first(
        sources, key=lambda key: key[:2], ident=lambda key: key[2], size=size
    )
    rows: list[Case] = []
    if keys:
        ids = [key[2] for key in keys]
        rows = _ROWS[scope == "shared"].objects(ids, actor.organisation_id, today)
    next_cursor = f"{last[0].isoformat()}_{last[1]}" if last else None
    return DossierPage(rows=rows, next_cursor=next_cursor)
