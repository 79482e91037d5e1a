"""Case steering demo data: segments and their history, journal contacts, service agreements,
pending proposals and tasks, added to the open dossiers of social services already loaded.

``seed_steering_demo`` works from the database, so it serves both sizes: in the small demo
(audited, as real work would be) and in the ten-year volume (``audit=False``: the audit
triggers of these tables are off meanwhile). Rows are written with ``COPY`` in both. Dossiers
that already have a segment history, a contact or a proposal are left alone, so it can run
twice. The nightly rules then run once, so lights and rule tasks match the data.

What it aims at (so the cockpit and team view look like a real service's): every worker's
portfolio near the concept's (about 17 % A, 50 % B, 33 % C: A at least 10 %, C at most 40 %);
contacts mostly on the norm with some dossiers falling behind or short of face-to-face
interviews; reviews done and due; proposals awaiting the four-eyes decision; service
agreements; manual tasks, some overdue. Texts are in the organisation's language.
"""

from __future__ import annotations

import datetime
import random
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from filum.cases.models import Segment, SegmentCriterion, SegmentProposal, Stage
from filum.demo.copytext import NULL, CopyPipe, copy_text, other_columns
from filum.followup.rules import add_months
from filum.followup.services import decision_task
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
# The portfolio each worker's current segments are dealt towards (S8).
PORTFOLIO = {"A": 0.17, "B": 0.50, "C": 0.33}
LIMIT_MONTHS = {"A": 6, "B": 24, "C": 36}
# Days between face-to-face interviews of a dossier on track: a little above each norm's
# minimum (A 4 a semester, B 3 and C 1 a year), spread so some fall behind on their own.
INTERVIEW_GAP_DAYS = {"A": 34, "B": 100, "C": 165, "intake_2": 45}
SIDE_ENTRY_GAP_DAYS = 42  # calls, e-mails, letters, documents between the interviews
FACE_KINDS = (
    ("interview", 0.78),
    ("home_visit", 0.08),
    ("network_internal", 0.05),
    ("network_external", 0.05),
    ("spontaneous", 0.04),
)
# (kind, topic, weight) of the entries between the interviews. Most are about documents and
# do not count as contacts; a rare call counts but is not face to face (none in C, where it
# would spoil the 100 % face-to-face share).
SIDE_KINDS = (
    ("phone", "social", 0.08),
    ("email", "documents", 0.32),
    ("letter", "documents", 0.20),
    ("document_drop", "documents", 0.40),
)
BEHIND_SHARE = 0.10  # dossiers whose interviews stopped a while ago
SHORTFALL_SHARE = 0.08  # dossiers seen by phone instead of face to face lately
TEXTS: dict[str, dict[str, Any]] = {
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
        "side_notes": (
            "Décomptes de loyer reçus.",
            "Attestation de l'ORP transmise.",
            "Rappel des pièces manquantes envoyé.",
            "Rendez-vous confirmé par téléphone.",
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
        "review": "Objectifs partiellement atteints, le segment reste adapté.",
        "request": "La cliente demande un suivi plus rapproché (recherche d'emploi).",
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
        "side_notes": (
            "Mietabrechnungen erhalten.",
            "RAV-Bestätigung weitergeleitet.",
            "Erinnerung an fehlende Unterlagen verschickt.",
            "Termin telefonisch bestätigt.",
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
        "review": "Ziele teilweise erreicht, das Segment bleibt passend.",
        "request": "Die Klientin wünscht eine engere Begleitung (Stellensuche).",
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
        "status, closed_by_id, closed_at, closing_note, created_by_id, created_at, rule_key"
    ),
}


def contact_texts(rng: random.Random, texts: dict[str, Any], face: bool) -> tuple[str, str, str]:
    """Participants, duration (COPY text) and note of a demo journal entry: an interview has
    people and a length, a call, letter or document only a short note."""
    if face:  # drawn in this order so a seed gives the same demo as before
        participants = rng.choice(texts["participants"])
        duration = str(rng.choice((20, 30, 45, 45, 60, 60, 90)))
        return participants, duration, rng.choice(texts["notes"])
    return "", NULL, rng.choice(texts["side_notes"])


def _pick(rng: random.Random, weighted: tuple[tuple[Any, ...], ...]) -> tuple[Any, ...]:
    roll, total = rng.random(), 0.0
    for item in weighted:
        total += item[-1]
        if roll < total:
            return item
    return weighted[-1]


class _Writer:
    """COPY text lines per table, written when a chunk is done (the volume's COPY style);
    columns added later by other features get their defaults, so the load keeps working."""

    def __init__(self) -> None:
        self.pipe: CopyPipe | None = None  # COPY in the background (the volume)
        self.lines: dict[str, list[str]] = {t: [] for t in _COLUMNS}
        self.counts: Counter[str] = Counter()
        self.columns: dict[str, str] = {}
        self.suffix: dict[str, str] = {}
        for table, columns in _COLUMNS.items():
            extra = other_columns(table, {c.strip() for c in columns.split(",")})
            self.columns[table] = ", ".join([columns, *(name for name, _ in extra)])
            self.suffix[table] = "".join(f"\t{value}" for _, value in extra)

    def add(self, table: str, *values: Any) -> None:
        self.add_line(table, "\t".join(copy_text(v) for v in values))

    def add_line(self, table: str, line: str) -> None:
        """A row already in COPY text form (tab-separated, no tabs or backslashes inside)."""
        self.lines[table].append(f"{line}{self.suffix[table]}\n")

    def flush(self) -> None:
        if self.pipe is not None:
            batches = []
            for table, lines in self.lines.items():
                self.counts[table] += len(lines)
                batches.append((table, self.columns[table], lines.copy(), ""))
                lines.clear()
            self.pipe.submit(batches)
            return
        with connection.cursor() as cursor:
            for table, lines in self.lines.items():
                if not lines:
                    continue
                with cursor.copy(f"COPY {table} ({self.columns[table]}) FROM STDIN") as copy:
                    copy.write("".join(lines))
                self.counts[table] += len(lines)
                lines.clear()

    def wait(self) -> None:
        if self.pipe is not None:
            self.pipe.wait()


class _Generator:
    def __init__(self, *, today: datetime.date, seed: int) -> None:
        self.today = today
        self.rng = random.Random(seed)  # noqa: S311 (reproducible demo data, not secrets)
        self.now = timezone.now()
        self.stamp = self.now.isoformat()
        topics = list(Topic.objects.filter(is_active=True))
        social = [t for t in topics if t.is_social_work]
        self.topics = {
            "social": [t.pk for t in social if t.code != "administration"] or [social[0].pk],
            "documents": [t.pk for t in topics if not t.is_social_work],
        }
        self.counted_topics = {t.pk for t in social}
        self.writer = _Writer()
        self.case_updates: list[tuple[Any, ...]] = []
        self.advances: list[uuid.UUID] = []
        # (case, owner, kind, segment, from segment, proposer, language)
        self.proposals: list[tuple[uuid.UUID, int, str, str, str, int, str]] = []
        self.portfolios: dict[int, Counter[str]] = defaultdict(Counter)
        self.heads, self.assistants, self.languages = _organisation_people()

    def day_between(self, start: datetime.date, end: datetime.date) -> datetime.date:
        if end <= start:
            return start
        return start + datetime.timedelta(days=self.rng.randrange((end - start).days + 1))

    def days(self, n: int) -> datetime.timedelta:
        return datetime.timedelta(days=n)

    def deal_segment(self, worker: int) -> str:
        """The segment that keeps this worker's portfolio nearest the target shares."""
        counts = self.portfolios[worker]
        total = sum(counts.values()) + 1
        segment = max(
            PORTFOLIO,
            key=lambda s: PORTFOLIO[s] * total - counts[s] + self.rng.random() * 0.3,
        )
        counts[segment] += 1
        return segment

    # -- one dossier ---------------------------------------------------------------------------

    def dossier(self, row: tuple[Any, ...]) -> None:
        case_id, owner_id, worker, stage, opened_on = row
        language = self.languages.get(owner_id, "fr")
        texts = TEXTS[language]
        rng, today = self.rng, self.today
        if stage == Stage.INTAKE_1:
            if rng.random() < 0.15:
                self.advances.append(case_id)
            return
        if stage == Stage.INTAKE_2:
            # most entered Intake 2 within its six months; a few have overstayed
            back = rng.randrange(190, 230) if rng.random() < 0.1 else rng.randrange(5, 160)
            since = min(
                max(opened_on + self.days(rng.randrange(5, 30)), today - self.days(back)), today
            )
            self.case_updates.append((case_id, since, None, "", None))
            self.contacts(case_id, owner_id, worker, "intake_2", since, texts)
            if worker and rng.random() < 0.3:
                segment = rng.choice("ABBC")
                self.proposals.append((case_id, owner_id, "initial", segment, "", worker, language))
            return
        if worker is None:
            return
        received = min(opened_on + self.days(rng.randrange(30, 110)), today)
        target = self.deal_segment(worker)
        periods = self.history(received, target)
        head = self.heads.get(owner_id)
        for seg, since, until, kind in periods:
            self.writer.add(
                "cases_segmentassignment",
                case_id,
                owner_id,
                seg,
                since,
                until,
                kind,
                texts["review" if kind == "review" else "justification"],
                worker,
                head if kind in ("initial", "change") and head != worker else None,
                self.now,
            )
        current, entry = periods[-1][0], self.entry(periods)
        self.case_updates.append((case_id, received, received, current, entry))
        self.contacts(case_id, owner_id, worker, current, entry, texts)
        self.pending(case_id, owner_id, worker, periods, language)
        self.agreement(case_id, owner_id, worker, received, texts)
        self.manual_task(case_id, owner_id, worker, texts, opened_on)

    def history(self, received: datetime.date, target: str) -> list[list[Any]]:
        """Segment periods from the receipt in counselling to today, ending in ``target``:
        the initial assignment, the final decision within about three months, maybe a change,
        then the reviews at each time limit (some overdue)."""
        rng, today = self.rng, self.today
        if target == "A":
            # A lasts at most six months: a recent entry, a few past their limit
            back = rng.randrange(195, 250) if rng.random() < 0.1 else rng.randrange(5, 175)
            entry = max(received, today - self.days(back))
            first = "A" if entry <= received + self.days(20) else rng.choice("BC")
        else:
            first, entry = target, received
            if rng.random() < 0.25:  # started in A, moved on at its time limit
                moved = add_months(received, 6) + self.days(rng.randrange(0, 20))
                if moved <= today:
                    first, entry = "A", moved
        if first == target:
            entry = received
        periods: list[list[Any]] = [[first, received, None, "initial"]]
        decision = received + self.days(rng.randrange(10, 95))
        if entry > received:
            decision = min(decision, entry - self.days(1))
        # recent receipts may still await the final decision; a few are a little overdue
        age = (today - received).days
        decided = rng.random() < (0.6 if age < 120 else 0.85 if age < 240 else 1.0)
        if decision > received and decision <= today and (entry > received or decided):
            periods[-1][2] = decision
            periods.append([first, decision, None, "final"])
        if entry > periods[-1][1]:
            periods[-1][2] = entry
            periods.append([target, entry, None, "change"])
        clock = periods[-1][1]
        while target != "A":  # keeping A beyond six months is an exception, not a review
            review = add_months(clock, LIMIT_MONTHS[target]) + self.days(rng.randrange(0, 25))
            if review > today or (review > today - self.days(150) and rng.random() < 0.15):
                break  # not due yet, or (for a few, by a few months) overdue
            periods[-1][2] = review
            periods.append([target, review, None, "review"])
            clock = review
        return periods

    @staticmethod
    def entry(periods: list[list[Any]]) -> datetime.date:
        """The entry into the current segment (reviews keep it)."""
        entry = periods[-1][1]
        for seg, since, _until, kind in reversed(periods):
            if seg != periods[-1][0]:
                break
            entry = since
            if kind == "change":
                break
        return entry

    def pending(
        self,
        case_id: uuid.UUID,
        owner_id: int,
        worker: int,
        periods: list[list[Any]],
        language: str,
    ) -> None:
        """Proposals awaiting the four-eyes decision: reviews at the time limit, a final
        decision for another segment, a change, an assistant's request for a C dossier."""
        rng, today = self.rng, self.today
        current, clock = periods[-1][0], periods[-1][1]
        limit = add_months(clock, LIMIT_MONTHS[current])
        if limit <= today + self.days(30) and rng.random() < 0.5:
            segment = current if rng.random() < 0.6 else rng.choice("ABC")
            self.proposals.append((case_id, owner_id, "review", segment, current, worker, language))
        elif len(periods) == 1 and rng.random() < 0.35:
            other = rng.choice([s for s in "ABC" if s != current])
            self.proposals.append((case_id, owner_id, "final", other, current, worker, language))
        elif rng.random() < 0.03:
            other = rng.choice([s for s in "ABC" if s != current])
            self.proposals.append((case_id, owner_id, "change", other, current, worker, language))
        assistant = self.assistants.get(owner_id)
        if current == Segment.C and assistant and rng.random() < 0.05:
            self.proposals.append(
                (case_id, owner_id, "request", rng.choice("AB"), current, assistant, language)
            )

    def agreement(
        self,
        case_id: uuid.UUID,
        owner_id: int,
        worker: int,
        received: datetime.date,
        texts: dict[str, Any],
    ) -> None:
        rng, today = self.rng, self.today
        roll = rng.random()
        if roll < 0.7:
            signed = self.day_between(received, min(received + self.days(60), today))
            self.writer.add(
                "journal_serviceagreement",
                case_id,
                owner_id,
                signed,
                texts["agreement"],
                add_months(signed, 12),
                "",
                worker,
                self.now,
            )
        elif roll < 0.85:
            self.writer.add(
                "journal_serviceagreement",
                case_id,
                owner_id,
                None,
                "",
                None,
                texts["no_agreement"],
                worker,
                self.now,
            )

    def manual_task(
        self,
        case_id: uuid.UUID,
        owner_id: int,
        worker: int,
        texts: dict[str, Any],
        opened_on: datetime.date,
    ) -> None:
        """Tasks the workers wrote themselves: some open (a few overdue), some done."""
        rng, today = self.rng, self.today
        roll = rng.random()
        if roll >= 0.22:
            return
        done = roll < 0.07
        due = today + self.days(rng.randrange(-40, -1) if done else rng.randrange(-12, 30))
        due = max(due, opened_on)  # never before the opening (decision 0008)
        self.writer.add(
            "followup_task",
            case_id,
            owner_id,
            "manual",
            rng.choice(texts["tasks"]),
            "",
            due,
            worker,
            "",
            "done" if done else "open",
            worker if done else None,
            self.now if done else None,
            "",
            worker,
            self.now,
            "",
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
        """Face-to-face interviews near the norm, and the calls, letters and documents in
        between. Some dossiers fall behind (no interview for a while), some are seen by
        phone instead of face to face."""
        if worker is None:
            return
        rng, today = self.rng, self.today
        first = max(start, today - self.days(730))
        roll = rng.random()
        stop = today
        if roll < BEHIND_SHARE:
            stop = today - self.days(int(INTERVIEW_GAP_DAYS[key] * rng.uniform(1.2, 2.5)))
        shortfall_from = today + self.days(1)
        if BEHIND_SHARE <= roll < BEHIND_SHARE + SHORTFALL_SHARE:
            shortfall_from = today - self.days(rng.randrange(120, 300))
        gap = INTERVIEW_GAP_DAYS[key]
        day = first + self.days(int(gap * rng.uniform(0.1, 0.8)))
        while day <= stop:
            kind = _pick(rng, FACE_KINDS)[0]
            if day >= shortfall_from and rng.random() < 0.6:
                kind = "phone"
            self.contact(case_id, owner_id, worker, kind, day, "social", texts)
            day += self.days(max(7, int(gap * rng.uniform(0.6, 1.25))))
        day = first + self.days(rng.randrange(1, SIDE_ENTRY_GAP_DAYS))
        while day <= today:
            kind, topic, _weight = _pick(rng, SIDE_KINDS)
            if key == "C" and kind == "phone":
                kind, topic = "letter", "documents"
            self.contact(case_id, owner_id, worker, kind, day, topic, texts)
            day += self.days(max(3, int(rng.expovariate(1 / SIDE_ENTRY_GAP_DAYS))))

    def contact(
        self,
        case_id: uuid.UUID,
        owner_id: int,
        worker: int,
        kind: str,
        day: datetime.date,
        topic: str,
        texts: dict[str, Any],
    ) -> None:
        rng = self.rng
        face = kind in FACE_TO_FACE_KINDS
        topic_id = rng.choice(self.topics[topic])
        # letters and drop-offs are not interviews; administrative topics do not count
        counts = kind not in NOT_A_CONTACT_KINDS and topic_id in self.counted_topics
        # the bulk of the rows: written as COPY text directly, the texts are plain
        participants, duration, note = contact_texts(rng, texts, face)
        self.writer.add_line(
            "journal_contact",
            f"{case_id}\t{owner_id}\t{kind}\t{day.isoformat()}\t{participants}\t{topic_id}\t"
            f"{duration}\t{note}\t{'t' if counts else 'f'}\t{'t' if face else 'f'}\tf\t\t"
            f"{worker}\t{self.stamp}",
        )

    # -- per chunk -----------------------------------------------------------------------------

    def flush(self) -> None:
        self.writer.wait()  # the previous chunk's COPY: the connection is needed now
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
        self.writer.flush()  # in the background with a pipe, while the next chunk is made

    def write_proposals(self) -> None:
        """Pending proposals with their criteria, each with its decision task."""
        if not self.proposals:
            return
        criteria: dict[str, list[SegmentCriterion]] = {}
        for criterion in SegmentCriterion.objects.filter(is_active=True):
            criteria.setdefault(criterion.segment, []).append(criterion)
        proposals = SegmentProposal.objects.bulk_create(
            (
                SegmentProposal(
                    case_id=case_id,
                    owner_id=owner_id,
                    kind=kind,
                    segment=segment,
                    from_segment=from_segment,
                    justification=TEXTS[language][
                        "request" if kind == "request" else "justification"
                    ],
                    proposed_by_id=proposer,
                )
                for case_id, owner_id, kind, segment, from_segment, proposer, language in (
                    self.proposals
                )
            ),
            batch_size=2000,
        )
        through = SegmentProposal.criteria.through
        through.objects.bulk_create(
            (
                through(proposal=p, criterion=self.rng.choice(criteria[p.segment]))
                for p in proposals
                if criteria.get(p.segment)
            ),
            batch_size=5000,
        )
        responsible = dict(
            SegmentProposal.objects.filter(pk__in=[p.pk for p in proposals]).values_list(
                "pk", "case__responsible_id"
            )
        )
        tasks = [
            decision_task(proposal=p, responsible_id=responsible[p.pk], today=self.today)
            for p in proposals
        ]
        type(tasks[0]).objects.bulk_create(tasks, batch_size=2000)
        self.writer.counts["cases_segmentproposal"] += len(proposals)
        self.writer.counts["decision tasks"] += len(tasks)


def _organisation_people() -> tuple[dict[int, int], dict[int, int], dict[int, str]]:
    """Per organisation: a section head, an administrative assistant, and the language most of
    its members use (the demo writes its texts in it)."""
    heads: dict[int, int] = {}
    assistants: dict[int, int] = {}
    votes: dict[int, Counter[str]] = defaultdict(Counter)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT m.organisation_id, m.role, m.user_id, u.language FROM tenancy_membership m "
            "JOIN tenancy_user u ON u.id = m.user_id ORDER BY m.id"
        )
        for org, role, user, language in cursor.fetchall():
            if role == "section_head":
                heads.setdefault(org, user)
            elif role == "admin_assistant":
                assistants.setdefault(org, user)
            votes[org]["de" if language == "de" else "fr"] += 1
    languages = {org: v.most_common(1)[0][0] for org, v in votes.items()}
    return heads, assistants, languages


def _open_dossiers(chunk: int, *, fresh: bool = False) -> Iterator[list[tuple[Any, ...]]]:
    """Open dossiers of social services not seeded yet (no segment history, contact or
    proposal), in the order they were opened (opening day, then number): never by their
    random ids, so the same seed deals the same segments to the same dossiers (the demo's
    spread does not depend on ids drawn at random). ``fresh``: the volume's load, where none
    is seeded yet (and the tables have no index on the dossier during the load: the checks
    would scan them for every chunk)."""
    last: tuple[Any, int] = (datetime.date.min, 0)
    unseeded = (
        ""
        if fresh
        else "AND NOT EXISTS (SELECT 1 FROM cases_segmentassignment s WHERE s.case_id = c.id) "
        "AND NOT EXISTS (SELECT 1 FROM journal_contact j WHERE j.case_id = c.id) "
        "AND NOT EXISTS (SELECT 1 FROM cases_segmentproposal p WHERE p.case_id = c.id) "
    )
    while True:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT c.id, c.owner_id, c.responsible_id, c.stage, c.opened_on, c.number "  # noqa: S608
                "FROM cases_case c JOIN tenancy_organisation o ON o.id = c.owner_id "
                "WHERE c.status = 'open' AND o.kind = 'social_service' "
                f"AND (c.opened_on, c.number) > (%s, %s) {unseeded}"
                "ORDER BY c.opened_on, c.number LIMIT %s",
                # fresh: all at once, so no query waits for the COPY of a chunk (CopyPipe)
                [*last, None if fresh else chunk],
            )
            rows = cursor.fetchall()
        if not rows:
            return
        last = (rows[-1][4], rows[-1][5])
        rows = [row[:5] for row in rows]
        for start in range(0, len(rows), chunk):
            yield rows[start : start + chunk]
        if fresh:
            return


def record_exit_potential(today: datetime.date) -> int:
    """Intake 2's exit potential (SEG 5) on about a quarter of the open Intake 2 dossiers:
    every fourth in the order they were opened (so a rerun, and another run of the same seed,
    picks the same), half towards the labour market, half towards a social insurance,
    expected 10 to 300 days ahead (so about half stay in Intake 2 as exits within six
    months)."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            UPDATE cases_case c
               SET exit_potential = CASE WHEN o.n %% 8 = 0
                                         THEN 'labour_market' ELSE 'social_insurance' END,
                   exit_expected_by = %s::date + 10 + ((o.n * 37) %% 291)::integer
              FROM (SELECT id, row_number() OVER (ORDER BY opened_on, number) AS n
                      FROM cases_case
                     WHERE status = 'open' AND stage = 'intake_2' AND exit_potential = '') o
             WHERE c.id = o.id AND o.n %% 4 = 0
            """,
            [today],
        )
        return cursor.rowcount


def seed_steering_demo(
    *,
    today: datetime.date | None = None,
    seed: int = 42,
    audit: bool = True,
    run_rules: bool = True,
    fresh: bool = False,
    log: Callable[[str], Any] | None = None,
) -> Counter[str]:
    """Add steering data to the open dossiers already in the database; returns row counts.

    ``audit=False`` (for the benchmark volume) turns the audit triggers of the tables written
    here off during the load, inside the transaction. ``run_rules`` then runs the nightly
    rules once, so the demo starts with the lights and tasks a morning would show.
    ``fresh`` (the volume's load, where no open dossier has steering rows yet) reads the
    dossiers in one query and COPYs in the background while the next chunk is made."""
    started = time.perf_counter()
    generator = _Generator(today=today or timezone.localdate(), seed=seed)
    if fresh:
        generator.writer.pipe = CopyPipe()
    with transaction.atomic():
        if not audit:
            with connection.cursor() as cursor:
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
                for table in STEERING_TABLES:
                    cursor.execute(f'ALTER TABLE "{table}" DISABLE TRIGGER USER')
        for rows in _open_dossiers(CHUNK, fresh=fresh):
            for row in rows:
                generator.dossier(row)
            generator.flush()
            if log:
                log(f"  steering: {sum(generator.writer.counts.values()):,} rows")
        generator.writer.wait()
        generator.write_proposals()
        record_exit_potential(generator.today)
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
    """A step of ``filum.demo.seed.DEMO_STEPS`` (after ``step_shares``): audited, then the
    nightly rules once."""
    counts = seed_steering_demo(today=ctx.today, seed=ctx.seed)
    counts.pop("seconds", None)
    ctx.counts.update({f"steering: {name}": n for name, n in counts.items()})


def step_steering_volume(vctx: Any) -> None:
    """A step of ``filum.demo.volume.VOLUME_STEPS`` (after the dossiers): COPY with the audit
    triggers off. ``seed_volume`` runs the nightly rules once the indexes are back."""
    counts = seed_steering_demo(
        today=vctx.base.today, seed=vctx.base.seed, audit=False, run_rules=False, fresh=True
    )
    counts.pop("seconds", None)
    for name, n in counts.items():
        vctx.rows[name] += n
