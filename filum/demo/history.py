"""The past of the ten-year volume (issue 7): what the closed dossiers went through, and the
journals of the protection authorities.

``filum.demo.steering`` gives the *open* dossiers of social services their steering state
from the database. The ~85 % of the volume that is closed gets its history here, while
``filum.demo.volume`` generates the dossier itself (no second pass over 600,000 rows):

* **Closed dossiers of social services.** Journal entries over the dossier's life: intake
  interviews at Intake 2's rhythm, then face-to-face interviews at the rhythm of the segment
  the dossier was in (the same gaps as the open dossiers: A ~34 days, B ~100, C ~165), and
  calls, e-mails, letters and dropped-off documents in between. Dossiers that reached
  counselling have their segment periods (initial, final decision, a change, the reviews at
  each time limit, the last period ending at the closure), every decision but the initial one
  through a proposal confirmed by a section head (four eyes) with its criterion and its done
  decision task, service agreements renewed yearly (or a reason why there is none), and a few
  manual tasks, done.
* **Protection authorities** (open and closed dossiers): hearings, home visits, network
  meetings, calls, letters and documents, on the topics a KESB/APEA deals with.

Rows are COPY text lines with the fixed parts precomputed: one random draw picks a whole
prepared entry (kind, participants, topic, duration, note, counted or not), so an entry costs
a few microseconds. Texts are in the organisation's language, like ``steering.TEXTS``.
"""

from __future__ import annotations

import json
import random
from typing import Any

from filum.demo.copytext import NULL, SequenceBlock
from filum.demo.steering import (
    FACE_KINDS,
    INTERVIEW_GAP_DAYS,
    LIMIT_MONTHS,
    SIDE_KINDS,
    TEXTS,
    contact_texts,
)
from filum.journal.models import FACE_TO_FACE_KINDS, NOT_A_CONTACT_KINDS

# Column order of the lines written here (the volume adds the columns it does not fill).
HISTORY_COLUMNS = {
    "cases_segmentproposal": (
        "id, case_id, owner_id, kind, segment, from_segment, justification, proposed_by_id, "
        "proposed_at, status, decided_by_id, decided_at, decision_note"
    ),
    "cases_segmentproposalcriterion": "proposal_id, criterion_id",
    "cases_segmentassignment": (
        "case_id, owner_id, segment, since, until, kind, justification, proposal_id, "
        "decided_by_id, approved_by_id, recorded_at"
    ),
    "journal_contact": (
        "case_id, owner_id, recorded_by_id, date, recorded_at, kind, participants, topic_id, "
        "duration_minutes, note, counts, is_face_to_face, is_retracted, correction_reason"
    ),
    "journal_serviceagreement": (
        "case_id, owner_id, recorded_by_id, signed_on, summary, valid_until, "
        "no_agreement_reason, recorded_at"
    ),
    "followup_task": (
        "case_id, owner_id, kind, title, title_key, title_params, description, due_on, "
        "assigned_to_id, assigned_role, status, closed_by_id, closed_at, closing_note, "
        "created_by_id, created_at, rule_key"
    ),
}
MONTH_DAYS = 30.44
SIDE_GAP_DAYS = 300  # mean days between the side entries of a closed dossier
VARIANTS = 400  # prepared entries per organisation language and family
# What a protection authority writes: (kind, topic code, weight); the face-to-face ones are
# hearings (interview), home visits and network meetings.
PROTECTION_FACE = (
    ("interview", 0.55),
    ("home_visit", 0.2),
    ("network_external", 0.15),
    ("network_internal", 0.1),
)
PROTECTION_FACE_TOPICS = ("family", "health", "finances", "housing", "crisis", "social_life")
PROTECTION_SIDE = (
    ("phone", "family", 0.25),
    ("email", "administration", 0.2),
    ("letter", "documents", 0.3),
    ("document_drop", "documents", 0.25),
)
PROTECTION_GAP_DAYS = 120  # a hearing or visit about every four months
PROTECTION_TEXTS: dict[str, dict[str, tuple[str, ...]]] = {
    "fr": {
        "participants": (
            "Personne concernée, membre de l'APEA",
            "Parents, curateur·rice, membre de l'APEA",
            "Personne concernée, curateur·rice",
        ),
        "notes": (
            "Audition de la personne concernée, situation discutée.",
            "Point avec le curateur sur le rapport annuel.",
            "Visite à domicile: conditions de vie adéquates.",
            "Séance de réseau avec l'école et le service social.",
        ),
        "side_notes": (
            "Rapport de la curatelle reçu.",
            "Décision notifiée aux parties.",
            "Demande de pièces au curateur envoyée.",
            "Entretien téléphonique avec la personne concernée.",
        ),
    },
    "de": {
        "participants": (
            "Betroffene Person, Behördenmitglied",
            "Eltern, Beistand/Beiständin, Behördenmitglied",
            "Betroffene Person, Beistand/Beiständin",
        ),
        "notes": (
            "Anhörung der betroffenen Person, Situation besprochen.",
            "Besprechung mit dem Beistand zum Jahresbericht.",
            "Hausbesuch: Wohnverhältnisse angemessen.",
            "Netzwerksitzung mit Schule und Sozialdienst.",
        ),
        "side_notes": (
            "Bericht der Beistandschaft eingegangen.",
            "Entscheid den Parteien eröffnet.",
            "Unterlagen beim Beistand angefordert.",
            "Telefongespräch mit der betroffenen Person.",
        ),
    },
}
TIMES = tuple(f" {h:02d}:{m:02d}:00+01" for h in range(8, 18) for m in (0, 10, 20, 30, 40, 50))


def _weighted(rng: random.Random, items: tuple[tuple[Any, ...], ...], n: int) -> list[Any]:
    return rng.choices(items, weights=[item[-1] for item in items], k=n)


class History:
    """Writes the history of one dossier at a time into the volume's COPY lines."""

    def __init__(
        self,
        *,
        lines: dict[str, list[str]],
        day: list[str],
        first_day: int,
        today: int,
        rng: random.Random,
        topics: dict[str, int],
        social_topics: set[int],
        criteria: dict[str, list[int]],
        proposal_ids: SequenceBlock,
    ) -> None:
        self.lines = lines
        self.contact_lines = lines["journal_contact"]
        self.day = day
        self.first_day = first_day
        self.today = today
        self.rng = rng
        self.r = rng.random
        self.criteria = criteria
        self.proposal_ids = proposal_ids
        self.service_face: dict[str, list[str]] = {}
        self.service_side: dict[str, list[str]] = {}
        self.protection_face: dict[str, list[str]] = {}
        self.protection_side: dict[str, list[str]] = {}
        self.service_topics = [
            pk for code, pk in topics.items() if pk in social_topics and code != "administration"
        ]
        for language in ("fr", "de"):
            self.service_face[language] = self._prepared(
                _weighted(rng, FACE_KINDS, VARIANTS),
                lambda _k: rng.choice(self.service_topics),
                TEXTS[language],
                social_topics,
            )
            side = _weighted(rng, SIDE_KINDS, VARIANTS)
            self.service_side[language] = self._prepared(
                side, None, TEXTS[language], social_topics, topics=topics
            )
            texts = PROTECTION_TEXTS[language]
            self.protection_face[language] = self._prepared(
                _weighted(rng, PROTECTION_FACE, VARIANTS),
                lambda _k: topics[rng.choice(PROTECTION_FACE_TOPICS)],
                texts,
                social_topics,
            )
            self.protection_side[language] = self._prepared(
                _weighted(rng, PROTECTION_SIDE, VARIANTS), None, texts, social_topics, topics=topics
            )

    def _prepared(
        self,
        kinds: list[tuple[Any, ...]],
        topic_of: Any,
        texts: dict[str, Any],
        social_topics: set[int],
        *,
        topics: dict[str, int] | None = None,
    ) -> list[str]:
        """Ready line ends: recorded time, kind, participants, topic, duration, note, counts,
        face to face, retracted, correction reason. Entries of the dossier's own organisation
        count when they are a conversation on a social-work topic (S6)."""
        rng = self.rng
        out = []
        for item in kinds:
            kind = item[0]
            if topics is None:
                topic = topic_of(kind)
            else:  # "social": any social-work topic; otherwise the topic of that code
                topic = topics.get(item[1]) or rng.choice(self.service_topics)
            face = kind in FACE_TO_FACE_KINDS
            counts = kind not in NOT_A_CONTACT_KINDS and topic in social_topics
            participants, duration, note = contact_texts(rng, texts, face)
            out.append(
                f"{rng.choice(TIMES)}\t{kind}\t{participants}\t{topic}\t{duration}\t{note}\t"
                f"{'t' if counts else 'f'}\t{'t' if face and counts else 'f'}\tf\t\n"
            )
        return out

    # -- journal entries ---------------------------------------------------------------------

    def entries(self, prefix: str, variants: list[str], start: int, end: int, gap: float) -> None:
        """Entries from ``start`` to ``end`` (ordinals, inclusive) about ``gap`` days apart."""
        r, day, first, out = self.r, self.day, self.first_day, self.contact_lines
        n = len(variants)
        low = max(3, int(gap * 0.6))
        spread = gap * 0.65
        d = start
        while d <= end:
            text = day[d - first]
            out.append(f"{prefix}{text}\t{text}{variants[int(r() * n)]}")
            d += low + int(r() * spread)

    def protection(
        self, case_id: str, org: int, language: str, worker: int, opened: int, end: int
    ) -> None:
        """A protection authority's journal from the opening to the closure (or today)."""
        prefix = f"{case_id}\t{org}\t{worker}\t"
        r = self.r
        self.entries(
            prefix,
            self.protection_face[language],
            opened + 3 + int(r() * 20),
            end,
            PROTECTION_GAP_DAYS,
        )
        self.entries(prefix, self.protection_side[language], opened + 1, end, SIDE_GAP_DAYS)

    # -- closed dossiers of social services ------------------------------------------------------

    def closed_service(
        self,
        *,
        case_id: str,
        org: int,
        language: str,
        worker: int,
        head: int | None,
        opened: int,
        closed: int,
        received: int | None,
        segment: str,
    ) -> tuple[str, int | None]:
        """The whole life of a closed dossier; returns its last segment and the day it entered
        it (the dossier row's ``segment`` and ``segment_since``)."""
        r = self.r
        prefix = f"{case_id}\t{org}\t{worker}\t"
        face = self.service_face[language]
        intake_end = received if received is not None else closed
        self.entries(
            prefix, face, opened + 2 + int(r() * 14), intake_end, INTERVIEW_GAP_DAYS["intake_2"]
        )
        self.entries(prefix, self.service_side[language], opened + 1, closed, SIDE_GAP_DAYS)
        if received is None:
            self.manual_tasks(case_id, org, worker, opened, closed, language)
            return "", None
        periods = self.periods(received, closed, segment)
        texts = TEXTS[language]
        previous = ""
        for seg, since, until, kind in periods:
            # interviews at this segment's rhythm while the period lasted
            self.entries(prefix, face, since + int(r() * 20), until - 1, INTERVIEW_GAP_DAYS[seg])
            proposal = NULL
            approved = NULL
            if kind != "initial" and head is not None:
                proposal = self.decided_proposal(
                    case_id, org, worker, head, kind, seg, previous, since, texts
                )
                approved = str(head)
            self.lines["cases_segmentassignment"].append(
                f"{case_id}\t{org}\t{seg}\t{self.date(since)}\t{self.date(until)}\t{kind}\t"
                f"{texts['review' if kind == 'review' else 'justification']}\t{proposal}\t"
                f"{worker}\t{approved}\t{self.date(since)} 15:00:00+01\n"
            )
            previous = seg
        self.agreements(case_id, org, worker, received, closed, texts)
        self.manual_tasks(case_id, org, worker, opened, closed, language)
        last = periods[-1][0]
        entry = periods[-1][1]
        for seg, since, _until, kind in reversed(periods):
            if seg != last:
                break
            entry = since
            if kind == "change":
                break
        return last, entry

    def periods(self, received: int, closed: int, segment: str) -> list[list[Any]]:
        """Segment periods [since, until) from the receipt in counselling to the closure: the
        initial assignment, the final decision within about three months, a change (A lasts
        at most six months), then a review at each time limit."""
        rng, r = self.rng, self.r
        first, target, entry = segment, segment, received
        if segment != "A" and r() < 0.25:  # started in A, moved on at its time limit
            first, entry = "A", received + 183 + int(r() * 20)
        elif segment == "A" and closed - received > 200:
            target, entry = rng.choice("BC"), received + 183 + int(r() * 20)
        periods: list[list[Any]] = [[first, received, closed, "initial"]]
        decision = received + 10 + int(r() * 85)
        if entry > received:
            decision = min(decision, entry - 1)
        if received < decision < closed:
            periods[-1][2] = decision
            periods.append([first, decision, closed, "final"])
        if periods[-1][1] < entry < closed:
            periods[-1][2] = entry
            periods.append([target, entry, closed, "change"])
        current = periods[-1][0]
        if current != "A":
            months = LIMIT_MONTHS[current]
            clock = periods[-1][1]
            while True:
                review = clock + int(months * MONTH_DAYS) + int(r() * 25)
                if review >= closed:
                    break
                periods[-1][2] = review
                periods.append([current, review, closed, "review"])
                clock = review
        return periods

    def decided_proposal(
        self,
        case_id: str,
        org: int,
        worker: int,
        head: int,
        kind: str,
        segment: str,
        from_segment: str,
        since: int,
        texts: dict[str, Any],
    ) -> str:
        """A proposal confirmed by a section head (four eyes) on ``since``, its criterion, and
        its decision task, done."""
        pk = str(self.proposal_ids.take())
        proposed = since - 1 - int(self.r() * 8)
        proposed_at = f"{self.date(proposed)} 10:00:00+01"
        decided_at = f"{self.date(since)} 15:00:00+01"
        self.lines["cases_segmentproposal"].append(
            f"{pk}\t{case_id}\t{org}\t{kind}\t{segment}\t{from_segment}\t"
            f"{texts['review' if kind == 'review' else 'justification']}\t{worker}\t"
            f"{proposed_at}\tconfirmed\t{head}\t{decided_at}\t\n"
        )
        choices = self.criteria.get(segment)
        if choices:
            self.lines["cases_segmentproposalcriterion"].append(
                f"{pk}\t{choices[int(self.r() * len(choices))]}\n"
            )
        params = json.dumps({"segment": segment, "proposal": kind})
        self.lines["followup_task"].append(
            f"{case_id}\t{org}\tsegment_decision\t\tproposal.decide\t{params}\t\t"
            f"{self.date(proposed + 7)}\t{NULL}\tsection_head\tdone\t{head}\t{decided_at}\t\t"
            f"{NULL}\t{proposed_at}\tproposal:{pk}\n"
        )
        return pk

    def agreements(
        self, case_id: str, org: int, worker: int, received: int, closed: int, texts: dict[str, Any]
    ) -> None:
        """A service agreement signed after the receipt and renewed each year (70 %), or the
        reason why there is none (15 %)."""
        r = self.r
        roll = r()
        if roll >= 0.85:
            return
        if roll >= 0.7:
            self.lines["journal_serviceagreement"].append(
                f"{case_id}\t{org}\t{worker}\t{NULL}\t\t{NULL}\t{texts['no_agreement']}\t"
                f"{self.date(received + 5)} 11:00:00+01\n"
            )
            return
        signed = received + int(r() * 60)
        while signed < closed:
            text = self.date(signed)
            self.lines["journal_serviceagreement"].append(
                f"{case_id}\t{org}\t{worker}\t{text}\t{texts['agreement']}\t"
                f"{self.date(signed + 365)}\t\t{text} 11:00:00+01\n"
            )
            signed += 365

    def manual_tasks(
        self, case_id: str, org: int, worker: int, opened: int, closed: int, language: str
    ) -> None:
        """About one task a year that a worker wrote down, done a few days after it was due."""
        r = self.r
        titles = TEXTS[language]["tasks"]
        d = opened + int(r() * 365)
        while d < closed:
            done = min(d + int(r() * 10), closed)
            self.lines["followup_task"].append(
                f"{case_id}\t{org}\tmanual\t{titles[int(r() * len(titles))]}\t\t{{}}\t\t"
                f"{self.date(d)}\t{worker}\t\tdone\t{worker}\t{self.date(done)} 16:00:00+01\t\t"
                f"{worker}\t{self.date(max(opened, d - 14))} 09:00:00+01\t\n"
            )
            d += 300 + int(r() * 500)

    def date(self, ordinal: int) -> str:
        return self.day[ordinal - self.first_day]


# --- entries of integration partners -----------------------------------------------------------

PARTNER_GAP_DAYS = 60  # a partner's coaching session, call or e-mail about every two months
PARTNER_NOTES = {
    "fr": (
        "Séance de coaching: dossier de candidature revu.",
        "Stage d'essai organisé, bilan intermédiaire positif.",
        "Absence excusée, nouveau rendez-vous fixé.",
    ),
    "de": (
        "Coaching: Bewerbungsdossier überarbeitet.",
        "Schnuppereinsatz organisiert, Zwischenbilanz positiv.",
        "Entschuldigte Absenz, neuer Termin vereinbart.",
    ),
}
_PARTNER_ENTRIES = """
INSERT INTO journal_contact (
    case_id, owner_id, author_organisation_id, kind, date, participants, topic_id,
    duration_minutes, note, counts, is_face_to_face, is_retracted, correction_reason,
    recorded_by_id, recorded_at
)
SELECT s.case_id, s.owner_id, s.organisation_id, e.kind, e.day,
       CASE WHEN e.kind = 'interview' THEN 'Client·e, job coach' ELSE '' END,
       (SELECT id FROM journal_topic WHERE code = 'work'),
       CASE WHEN e.kind = 'interview' THEN 60 END,
       (CASE WHEN p.language = 'fr' THEN %(fr)s::text[] ELSE %(de)s::text[] END)
           [1 + floor(e.roll * 1009)::int %% 3],
       false, false, false, '',
       p.staff[1 + floor(e.roll * 10007)::int %% cardinality(p.staff)],
       e.day + time '14:00'
FROM cases_share s
JOIN cases_case c ON c.id = s.case_id
JOIN LATERAL (
    SELECT array_agg(m.user_id ORDER BY m.user_id) AS staff, min(u.language) AS language
    FROM tenancy_membership m JOIN tenancy_user u ON u.id = m.user_id
    WHERE m.organisation_id = s.organisation_id AND m.role = 'partner_staff'
) p ON p.staff IS NOT NULL
CROSS JOIN LATERAL (
    SELECT g.at::date AS day, r.roll,
           CASE WHEN r.roll < 0.5 THEN 'interview' WHEN r.roll < 0.8 THEN 'phone'
                ELSE 'email' END AS kind
    FROM generate_series(
        greatest(c.opened_on, s.granted_at::date) + 7,
        least(coalesce(c.closed_on, %(today)s), coalesce(s.valid_until, %(today)s), %(today)s),
        make_interval(days => %(gap)s)
    ) AS g(at)
    CROSS JOIN LATERAL (SELECT random() AS roll, g.at) AS r
) e
WHERE s.access = 'write' AND 'journal' = ANY(s.sections) AND s.revoked_at IS NULL
"""


def partner_entries(today: Any, seed: int) -> int:
    """Journal entries of integration partners on the dossiers they hold a write share of the
    journal for: coaching sessions, calls and e-mails by the partner's staff. Recorded as the
    journal service does (``author_organisation`` the partner, ``owner`` the dossier's
    organisation), never counted as contacts (S6). One set-based statement."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT setseed(%s)", [(seed % 1000) / 1000])
        cursor.execute(
            _PARTNER_ENTRIES,
            {
                "today": today,
                "gap": PARTNER_GAP_DAYS,
                "fr": list(PARTNER_NOTES["fr"]),
                "de": list(PARTNER_NOTES["de"]),
            },
        )
        return cursor.rowcount


def step_partner_entries(vctx: Any) -> None:
    """A step of ``filum.demo.volume.VOLUME_STEPS`` (after the shares are loaded)."""
    vctx.rows["journal_contact (partners)"] += partner_entries(vctx.base.today, vctx.base.seed)
