"""Case steering demo data: segments and their history, journal contacts, service agreements,
pending proposals and tasks, added to the open dossiers of social services already loaded.

``seed_steering_demo`` works from the database, so it serves both sizes: after the small
demo (audited, as real work would be) and after the ten-year volume (``audit=False``: rows
are written with ``COPY`` and the audit triggers of these tables are off meanwhile). Dossiers
that already have a segment history are left alone, so it can run twice.
"""

from __future__ import annotations

import datetime
import random
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from filum.cases.models import Segment, SegmentCriterion, SegmentProposal, Stage
from filum.followup.rules import add_months
from filum.journal.models import FACE_TO_FACE_KINDS, NOT_A_CONTACT_KINDS, Topic

STEERING_TABLES = (
    "cases_case",
    "cases_segmentassignment",
    "cases_segmentproposal",
    "cases_segmentproposalcriterion",
    "journal_contact",
    "journal_serviceagreement",
    "followup_task",
)
CHUNK = 20_000
SEGMENT_WEIGHTS = ((Segment.A, 0.15), (Segment.B, 0.50), (Segment.C, 0.35))
LIMIT_MONTHS = {"A": 6, "B": 24, "C": 36}
MEAN_GAP_DAYS = {"A": 32, "B": 95, "C": 160, "intake_2": 30}
KIND_WEIGHTS = (
    ("interview", 0.60),
    ("home_visit", 0.07),
    ("network_internal", 0.04),
    ("network_external", 0.05),
    ("spontaneous", 0.04),
    ("phone", 0.12),
    ("email", 0.05),
    ("letter", 0.01),
    ("document_drop", 0.02),
)
NEXT_SEGMENT = {"A": ("B", "B", "C", "A"), "B": ("B", "B", "C", "A"), "C": ("C", "C", "C", "B")}
TEXTS = {
    "fr": {
        "participants": (
            "Client·e, AS",
            "Client·e, AS, interprète",
            "Couple, AS",
            "Client·e, AS, SSIP",
        ),
        "notes": (
            "Point de situation, prochaines étapes convenues.",
            "Budget revu ensemble, justificatifs à fournir.",
            "Recherche de logement: deux visites prévues.",
            "Suivi médical en cours, contact avec le médecin traitant.",
            "Inscription au cours de français confirmée.",
        ),
        "agreement": "Recherches d'emploi actives, cours de français, budget mensuel tenu.",
        "no_agreement": "Situation de crise aiguë: convention prévue après stabilisation.",
        "tasks": (
            "Demander les décomptes de loyer",
            "Relancer la caisse de chômage",
            "Préparer l'entretien de bilan",
            "Vérifier la prime d'assurance-maladie",
        ),
        "justification": "Critères remplis selon l'analyse des problèmes et des ressources.",
    },
    "de": {
        "participants": (
            "Klient/in, SA",
            "Klient/in, SA, Dolmetscher/in",
            "Paar, SA",
            "Klient/in, SA, FIA",
        ),
        "notes": (
            "Standortbestimmung, nächste Schritte vereinbart.",
            "Budget gemeinsam überprüft, Belege nachzureichen.",
            "Wohnungssuche: zwei Besichtigungen geplant.",
            "Medizinische Behandlung läuft, Kontakt mit Hausärztin.",
            "Anmeldung zum Deutschkurs bestätigt.",
        ),
        "agreement": "Aktive Stellensuche, Deutschkurs, Monatsbudget eingehalten.",
        "no_agreement": "Akute Krisensituation: Vereinbarung nach der Stabilisierung.",
        "tasks": (
            "Mietabrechnungen einfordern",
            "Arbeitslosenkasse nachfragen",
            "Standortgespräch vorbereiten",
            "Krankenkassenprämie prüfen",
        ),
        "justification": "Kriterien gemäss Problem- und Ressourcenanalyse erfüllt.",
    },
}

_COLUMNS = {
    "cases_segmentassignment": (
        "case_id, owner_id, segment, since, until, kind, justification, decided_by_id, "
        "approved_by_id, recorded_at"
    ),
    "journal_contact": (
        "case_id, owner_id, kind, date, participants, topic_id, duration_minutes, note, counts, "
        "is_face_to_face, is_retracted, correction_reason, recorded_by_id, recorded_at"
    ),
    "journal_serviceagreement": (
        "case_id, owner_id, signed_on, summary, valid_until, no_agreement_reason, recorded_by_id, "
        "recorded_at"
    ),
    "followup_task": (
        "case_id, owner_id, kind, title, description, due_on, assigned_to_id, assigned_role, "
        "status, closing_note, created_by_id, created_at, rule_key"
    ),
}


def _pick(rng: random.Random, weighted: tuple[tuple[Any, float], ...]) -> Any:
    roll, total = rng.random(), 0.0
    for value, weight in weighted:
        total += weight
        if roll < total:
            return value
    return weighted[-1][0]


class _Writer:
    """Rows per table, written with COPY when a chunk is done."""

    def __init__(self) -> None:
        self.rows: dict[str, list[tuple[Any, ...]]] = {t: [] for t in _COLUMNS}
        self.counts: Counter[str] = Counter()

    def flush(self) -> None:
        with connection.cursor() as cursor:
            for table, rows in self.rows.items():
                if not rows:
                    continue
                with cursor.copy(f"COPY {table} ({_COLUMNS[table]}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
                self.counts[table] += len(rows)
                rows.clear()


class _Generator:
    def __init__(self, *, today: datetime.date, seed: int) -> None:
        self.today = today
        self.rng = random.Random(seed)  # noqa: S311 (reproducible demo data, not secrets)
        self.now = timezone.now()
        topics = list(Topic.objects.filter(is_active=True))
        self.social_topics = [t.pk for t in topics if t.is_social_work]
        self.documents_topic = next(t.pk for t in topics if t.code == "documents")
        self.writer = _Writer()
        self.case_updates: list[tuple[Any, ...]] = []
        self.advances: list[uuid.UUID] = []
        self.proposals: list[tuple[uuid.UUID, int, int, str]] = []

    def day_between(self, start: datetime.date, end: datetime.date) -> datetime.date:
        if end <= start:
            return start
        return start + datetime.timedelta(days=self.rng.randrange((end - start).days + 1))

    # -- one dossier ---------------------------------------------------------------------------

    def dossier(self, row: tuple[Any, ...]) -> None:
        case_id, owner_id, worker, stage, opened_on, language = row
        texts = TEXTS["de" if language == "de" else "fr"]
        rng, today = self.rng, self.today
        if stage == Stage.INTAKE_1:
            if rng.random() < 0.12:
                self.advances.append(case_id)
            return
        if stage == Stage.INTAKE_2:
            since = min(opened_on + datetime.timedelta(days=rng.randrange(5, 30)), today)
            self.case_updates.append((case_id, since, None, "", None))
            self.contacts(case_id, owner_id, worker, "intake_2", since, texts)
            if worker and rng.random() < 0.25:
                self.proposals.append((case_id, owner_id, worker, _pick(rng, SEGMENT_WEIGHTS)))
            return
        received = min(opened_on + datetime.timedelta(days=rng.randrange(30, 110)), today)
        segment = _pick(rng, SEGMENT_WEIGHTS)
        decider = worker
        periods: list[list[Any]] = [[segment, received, None, "initial"]]
        decision = received + datetime.timedelta(days=rng.randrange(10, 100))
        if decision <= today and rng.random() < 0.93:
            final = segment if rng.random() < 0.85 else rng.choice("ABC")
            periods[-1][2] = decision
            periods.append([final, decision, None, "final"])
        entry = clock = periods[-1][1]
        current = periods[-1][0]
        while True:
            expiry = add_months(clock, LIMIT_MONTHS[current])
            review = expiry + datetime.timedelta(days=rng.randrange(0, 25))
            if review > today or rng.random() < 0.06:
                break  # not due yet, or overdue: the lights will show it
            new = rng.choice(NEXT_SEGMENT[current])
            periods[-1][2] = review
            periods.append([new, review, None, "review" if new == current else "change"])
            if new != current:
                entry = review
            current, clock = new, review
        for seg, since, until, kind in periods:
            self.writer.rows["cases_segmentassignment"].append(
                (
                    case_id,
                    owner_id,
                    seg,
                    since,
                    until,
                    kind,
                    texts["justification"],
                    decider,
                    None,
                    self.now,
                )
            )
        self.case_updates.append((case_id, received, received, current, entry))
        self.contacts(case_id, owner_id, worker, current, received, texts)
        roll = rng.random()
        if roll < 0.65:
            signed = self.day_between(received, min(received + datetime.timedelta(days=60), today))
            self.writer.rows["journal_serviceagreement"].append(
                (
                    case_id,
                    owner_id,
                    signed,
                    texts["agreement"],
                    add_months(signed, 12),
                    "",
                    worker,
                    self.now,
                )
            )
        elif roll < 0.85:
            self.writer.rows["journal_serviceagreement"].append(
                (case_id, owner_id, None, "", None, texts["no_agreement"], worker, self.now)
            )
        if worker and rng.random() < 0.08:
            due = today + datetime.timedelta(days=rng.randrange(-10, 25))
            self.writer.rows["followup_task"].append(
                (
                    case_id,
                    owner_id,
                    "manual",
                    rng.choice(texts["tasks"]),
                    "",
                    due,
                    worker,
                    "",
                    "open",
                    "",
                    worker,
                    self.now,
                    "",
                )
            )

    def contacts(
        self,
        case_id: uuid.UUID,
        owner_id: int,
        worker: int | None,
        key: str,
        start: datetime.date,
        texts: dict[str, Any],
    ) -> None:
        if worker is None:
            return
        rng, today = self.rng, self.today
        neglected = rng.random() < 0.08
        day = max(start, today - datetime.timedelta(days=460))
        gap = MEAN_GAP_DAYS[key]
        while True:
            day += datetime.timedelta(days=max(1, int(rng.expovariate(1 / gap))))
            if day > today:
                break
            kind = _pick(rng, KIND_WEIGHTS)
            if key == "C" and kind in ("phone", "email") and rng.random() < 0.7:
                kind = "interview"
            if (
                neglected
                and kind in FACE_TO_FACE_KINDS
                and day > today - datetime.timedelta(days=400)
            ):
                kind = "phone"
            drop = kind == "document_drop"
            face = kind in FACE_TO_FACE_KINDS
            self.writer.rows["journal_contact"].append(
                (
                    case_id,
                    owner_id,
                    kind,
                    day,
                    rng.choice(texts["participants"]) if face else "",
                    self.documents_topic if drop else rng.choice(self.social_topics),
                    rng.choice((10, 15, 20, 30, 45, 45, 60, 60, 90)) if face else None,
                    rng.choice(texts["notes"]),
                    kind not in NOT_A_CONTACT_KINDS,  # letters and drop-offs do not count
                    face,
                    False,
                    "",
                    worker,
                    self.now,
                )
            )

    # -- per chunk -----------------------------------------------------------------------------

    def flush(self) -> None:
        self.writer.flush()
        with connection.cursor() as cursor:
            if self.case_updates:
                ids, stage_since, received, segment, segment_since = map(
                    list, zip(*self.case_updates, strict=True)
                )
                cursor.execute(
                    "UPDATE cases_case AS c SET stage_since = u.stage_since, "
                    "received_on = u.received_on, segment = u.segment, "
                    "segment_since = u.segment_since "
                    "FROM unnest(%s::uuid[], %s::date[], %s::date[], %s::text[], %s::date[]) "
                    "AS u(id, stage_since, received_on, segment, segment_since) WHERE c.id = u.id",
                    [ids, stage_since, received, segment, segment_since],
                )
                self.writer.counts["cases_case (updated)"] += len(ids)
            if self.advances:
                cursor.execute(
                    "UPDATE cases_case SET short_term_advance = true WHERE id = ANY(%s::uuid[])",
                    [self.advances],
                )
                self.writer.counts["short-term advances"] += len(self.advances)
        self.case_updates.clear()
        self.advances.clear()

    def write_proposals(self) -> None:
        """Pending first-assignment proposals at Intake 2, each with its task for the heads."""
        if not self.proposals:
            return
        criteria: dict[str, list[SegmentCriterion]] = {}
        for criterion in SegmentCriterion.objects.filter(is_active=True):
            criteria.setdefault(criterion.segment, []).append(criterion)
        proposals = SegmentProposal.objects.bulk_create(
            SegmentProposal(
                case_id=case_id,
                owner_id=owner_id,
                kind=SegmentProposal.Kind.INITIAL,
                segment=segment,
                justification=str(TEXTS["fr"]["justification"]),
                proposed_by_id=worker,
            )
            for case_id, owner_id, worker, segment in self.proposals
        )
        through = SegmentProposal.criteria.through
        through.objects.bulk_create(
            through(proposal=p, criterion=self.rng.choice(criteria[p.segment])) for p in proposals
        )
        from filum.followup.models import Task, TaskKind

        Task.objects.bulk_create(
            Task(
                case_id=p.case_id,
                owner_id=p.owner_id,
                kind=TaskKind.SEGMENT_DECISION,
                title=f"Segment {p.segment}: proposition à confirmer / Vorschlag bestätigen",
                due_on=self.today + datetime.timedelta(days=7),
                assigned_role="section_head",
                rule_key=f"proposal:{p.pk}",
            )
            for p in proposals
        )
        self.writer.counts["cases_segmentproposal"] += len(proposals)


def _open_dossiers(chunk: int) -> Iterator[list[tuple[Any, ...]]]:
    """Open dossiers of social services not seeded yet (no segment history, contact or
    proposal), by id, with the language of the responsible worker."""
    last = uuid.UUID(int=0)
    while True:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT c.id, c.owner_id, c.responsible_id, c.stage, c.opened_on, u.language "
                "FROM cases_case c JOIN tenancy_organisation o ON o.id = c.owner_id "
                "LEFT JOIN tenancy_user u ON u.id = c.responsible_id "
                "WHERE c.status = 'open' AND o.kind = 'social_service' AND c.id > %s "
                "AND NOT EXISTS (SELECT 1 FROM cases_segmentassignment s WHERE s.case_id = c.id) "
                "AND NOT EXISTS (SELECT 1 FROM journal_contact j WHERE j.case_id = c.id) "
                "AND NOT EXISTS (SELECT 1 FROM cases_segmentproposal p WHERE p.case_id = c.id) "
                "ORDER BY c.id LIMIT %s",
                [last, chunk],
            )
            rows = cursor.fetchall()
        if not rows:
            return
        last = rows[-1][0]
        yield rows


def seed_steering_demo(
    *,
    today: datetime.date | None = None,
    seed: int = 42,
    audit: bool = True,
    run_rules: bool = True,
    log: Callable[[str], Any] | None = None,
) -> Counter[str]:
    """Add steering data to the open dossiers already in the database; returns row counts.

    ``audit=False`` (for the benchmark volume) turns the audit triggers of the tables written
    here off during the load, inside the transaction. ``run_rules`` then runs the nightly
    rules once, so the demo starts with the tasks a morning would show."""
    started = time.perf_counter()
    generator = _Generator(today=today or timezone.localdate(), seed=seed)
    with transaction.atomic():
        if not audit:
            with connection.cursor() as cursor:
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
                for table in STEERING_TABLES:
                    cursor.execute(f'ALTER TABLE "{table}" DISABLE TRIGGER USER')
        for rows in _open_dossiers(CHUNK):
            for row in rows:
                generator.dossier(row)
            generator.flush()
            if log:
                log(f"  steering: {sum(generator.writer.counts.values())} rows")
        generator.write_proposals()
        if not audit:
            with connection.cursor() as cursor:
                # ALTER TABLE refuses tables with pending (deferred) foreign-key checks
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
                for table in STEERING_TABLES:
                    cursor.execute(f'ALTER TABLE "{table}" ENABLE TRIGGER USER')
    counts = generator.writer.counts
    if run_rules:
        from filum.followup.nightly import run_nightly_rules

        summary = run_nightly_rules(as_of=generator.today)
        counts["rule tasks"] = summary.created_total
    counts["seconds"] = int(time.perf_counter() - started)
    return counts


def step_steering(ctx: Any) -> None:
    """A step for ``filum.demo.seed.DEMO_STEPS`` (after ``step_shares``): audited, then the
    nightly rules once."""
    counts = seed_steering_demo(today=ctx.today, seed=ctx.seed)
    counts.pop("seconds", None)
    ctx.counts.update({f"steering: {name}": n for name, n in counts.items()})


def step_steering_volume(vctx: Any) -> None:
    """A step for ``filum.demo.volume.VOLUME_STEPS`` (after ``step_bulk_rows``): COPY with
    the audit triggers off; run ``nightly_rules`` afterwards to make the rule tasks."""
    counts = seed_steering_demo(
        today=vctx.base.today, seed=vctx.base.seed, audit=False, run_rules=False
    )
    counts.pop("seconds", None)
    for name, n in counts.items():
        vctx.rows[name] += n
