"""The bench's ``api`` rows (issue 9: API list endpoints under 50 ms at the ten-year volume):
each list of the REST API through the full Django stack with a token, as the token of a
social worker's service and of the largest service (whose section head makes it).

Everything runs in one transaction rolled back at the end: the tokens, their rate-limit rows,
the read log of the lists and the offers made so that the transfers list has rows leave no
trace, so the command may run against the shared benchmark database."""

from __future__ import annotations

import datetime
import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Count
from django.test import Client, override_settings
from django.utils import timezone

from filum.api import tokens
from filum.api.models import Scope
from filum.cases.models import Case, DossierTransfer
from filum.followup.models import Task
from filum.journal.models import Contact
from filum.tenancy.models import Membership, OrganisationKind
from filum.tenancy.policy import Actor

TARGET_MS = 50.0
LISTS = ("persons", "person search", "dossiers", "journal", "tasks", "transfers")
SIDES = {"worker": "worker's service", "head": "section head's service"}
# pending offers made (and rolled back) for each organisation, received and sent
OFFERS = 200
# in the order measured: each side's lists in turn
NAMES = [f"API {what}, {side}" for side in SIDES.values() for what in LISTS]
TARGETS_MS = dict.fromkeys(NAMES, TARGET_MS)


class Rollback(Exception):
    """Leaves the bench's transaction: nothing it wrote stays."""


@dataclass
class Walk:
    """Successive pages of one list: each call asks for the page after the last one, from
    the first again after the last page (so deep pages are timed as well as the first)."""

    client: Client
    url: str
    cursor: str | None = None
    pages: int = 0

    def __call__(self, i: int) -> None:
        sep = "&" if "?" in self.url else "?"
        url = f"{self.url}{sep}cursor={self.cursor}" if self.cursor else self.url
        response = self.client.get(url)
        if response.status_code != 200:
            raise RuntimeError(f"GET {url} answered {response.status_code}: {response.content!r}")
        self.cursor = response.json()["next_cursor"]
        self.pages += 1


def _client(secret: str, host: str) -> Client:
    return Client(
        HTTP_HOST=host,
        secure=bool(getattr(settings, "SECURE_SSL_REDIRECT", False)),
        headers={"Authorization": f"Bearer {secret}"},
    )


def _biggest(rows: Any) -> Any:
    row = rows.order_by("-n").first()
    return row["case"] if row else None


def _offers(organisation_id: int) -> int:
    """``OFFERS`` pending offers of other services' open dossiers to the organisation, and of
    its own to another service: its two transfer boxes, as a busy service's."""
    other = (
        Case.objects.filter(
            owner__kind=OrganisationKind.SOCIAL_SERVICE,
            owner__is_active=True,
            status="open",
        )
        .exclude(owner_id=organisation_id)
        .values("owner_id")
        .first()
    )
    if other is None:
        return 0
    now = timezone.now()
    made = []
    for owner, receiver in (
        (other["owner_id"], organisation_id),
        (organisation_id, other["owner_id"]),
    ):
        cases = (
            Case.objects.filter(owner_id=owner, status="open")
            .exclude(transfers__status="pending")
            .values_list("pk", flat=True)
        )
        offered_by = (
            Membership.objects.filter(organisation_id=owner)
            .values_list("user_id", flat=True)
            .first()
        )
        if offered_by is None:
            continue
        made += [
            DossierTransfer(
                case_id=pk,
                owner_id=owner,
                receiver_id=receiver,
                kind="move",
                note="Bench",
                cut_over_on=timezone.localdate(),
                tasks="hand_over",
                shares="keep",
                offered_by_id=offered_by,
                offered_at=now - datetime.timedelta(minutes=n),
            )
            for n, pk in enumerate(cases[:OFFERS])
        ]
    DossierTransfer.objects.bulk_create(made)
    return len(made)


def measure(
    members: dict[str, Membership],
    *,
    host: str,
    wanted: Callable[[str], bool],
    timed: Callable[[str, Callable[[int], Any], str], None],
    search_names: tuple[str, ...],
) -> None:
    """Time each API list for each side's token (``timed(name, call, note)`` measures and
    records a figure); all in a transaction rolled back at the end."""
    if not any(wanted(name) for name in NAMES):
        return
    try:
        with transaction.atomic(), override_settings(FILUM_API_RATE_LIMIT=10**9):
            for side, membership in members.items():
                _measure_side(side, membership, host, wanted, timed, search_names)
            raise Rollback
    except Rollback:
        pass


def _measure_side(
    side: str,
    membership: Membership,
    host: str,
    wanted: Callable[[str], bool],
    timed: Callable[[str, Callable[[int], Any], str], None],
    search_names: tuple[str, ...],
) -> None:
    org_id = membership.organisation_id
    label = SIDES[side]
    secret = tokens.do_create_token(
        actor=Actor(user=membership.user, membership=membership),
        name="Bench",
        scopes=list(Scope.values),
        expires_at=None,
    ).secret
    client = _client(secret, host)
    who = f"token of {membership.organisation.name}"
    timed(f"API persons, {label}", Walk(client, "/api/v1/persons"), f"{who}; walking the pages")
    names = itertools.cycle(search_names)

    def search(i: int) -> None:
        response = client.post(
            "/api/v1/persons/search", {"q": next(names)}, content_type="application/json"
        )
        if response.status_code != 200:
            raise RuntimeError(f"person search answered {response.status_code}")

    timed(f"API person search, {label}", search, f"{who}; q={', '.join(search_names)}")
    timed(f"API dossiers, {label}", Walk(client, "/api/v1/cases"), f"{who}; walking the pages")
    if wanted(f"API journal, {label}"):
        case = _biggest(
            Contact.objects.filter(owner_id=org_id, superseded_at__isnull=True)
            .values("case")
            .annotate(n=Count("id"))
        )
        timed(
            f"API journal, {label}",
            Walk(client, f"/api/v1/cases/{case}/journal"),
            f"{who}; its dossier with the most journal entries, walking the pages",
        )
    if wanted(f"API tasks, {label}"):
        case = _biggest(Task.objects.filter(owner_id=org_id).values("case").annotate(n=Count("id")))
        timed(
            f"API tasks, {label}",
            Walk(client, f"/api/v1/cases/{case}/tasks"),
            f"{who}; its dossier with the most tasks, walking the pages",
        )
    if wanted(f"API transfers, {label}"):
        offers = _offers(org_id)
        boxes = itertools.cycle(("received", "sent"))
        walks = {box: Walk(client, f"/api/v1/transfers?box={box}") for box in ("received", "sent")}
        timed(
            f"API transfers, {label}",
            lambda i: walks[next(boxes)](i),
            f"{who}; {offers} pending offers made for the bench (rolled back), both boxes",
        )
