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

from django.db.models import Exists, OuterRef, Value

from filum.cases.models import Case, CaseQuerySet, CaseStatus, Share
from filum.tenancy.policy import Actor, Section
from filum.web.paging import merge_newest_first

PAGE_SIZE = 25
SCOPES = ("mine", "org", "shared")


@dataclass
class DossierPage:
    rows: list[Case]
    next_cursor: str | None


Key = tuple[datetime.date, int, uuid.UUID]


def _newest_first(
    qs: CaseQuerySet, cursor: tuple[datetime.date, int] | None, size: int
) -> list[Key]:
    """The source's first ``size + 1`` keys after the cursor, newest first."""
    if cursor:
        day, number = cursor
        # opened_on <= day bounds the index range; the rest of the day is a filter on it.
        qs = qs.filter(opened_on__lte=day).exclude(opened_on=day, number__gte=number)
    keys = qs.order_by("-opened_on", "-number").values_list("opened_on", "number", "pk")
    return list(keys[: size + 1])


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
    one for the rows of the page with what it shows."""
    statuses = [status] if status in CaseStatus.values else list(CaseStatus.values)
    sources: list[CaseQuerySet] = []
    if scope == "shared":
        sources.append(
            Case.objects.shared_visible_to(actor, section=None).filter(status__in=statuses)
        )
    else:
        own = Case.objects.owned_visible_to(actor, section=Section.CORE)
        shared = Case.objects.shared_visible_to(actor, section=Section.CORE)
        if scope == "mine":
            own = own.filter(responsible_id=actor.user.pk)
            shared = shared.filter(responsible_id=actor.user.pk)
        # One query per status: each reads the owner's (worker's) index in order, and "all"
        # is the merge of both.
        sources += [own.filter(status=s) for s in statuses]
        sources.append(shared.filter(status__in=statuses))
    keys, last = merge_newest_first(
        (_newest_first(qs, cursor, size) for qs in sources),
        key=lambda key: key[:2],
        ident=lambda key: key[2],
        size=size,
    )
    rows: list[Case] = []
    if keys:
        page = Case.objects.filter(pk__in=[key[2] for key in keys])
        if scope == "shared":
            core = Share.objects.active().filter(
                case=OuterRef("pk"),
                organisation_id=actor.organisation_id,
                sections__contains=[Section.CORE],
            )
            page = page.annotate(core_visible=Exists(core)).select_related(
                "client", "responsible", "owner"
            )
        else:
            page = page.annotate(core_visible=Value(True)).select_related("client", "responsible")
        rows = list(page.order_by("-opened_on", "-number"))
    next_cursor = f"{last[0].isoformat()}_{last[1]}" if last else None
    return DossierPage(rows=rows, next_cursor=next_cursor)
