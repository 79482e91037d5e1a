"""The audit trail of the ten-year volume (issue 7): change events of the open dossiers and the
read log of the last months, hash-chained so that ``verify_audit`` passes on the volume.

The volume loads with the audit triggers off (benchmark data, not audited work). A data
protection officer's audit page and ``verify_audit`` still need a realistic audit to read:

* **Change events** (``cases_caseevent`` and their ``pghistory_context``): every open dossier's
  creation by its worker, its transfer to Intake 2, its receipt in counselling and its last
  change of segment, each in a context (user, organisation, role, path) like a request's.
* **Read log** (``records_readlog``): the last ``READ_MONTHS`` months of page views of the open
  dossiers (one row per section shown, as the access door writes them), mostly by the
  responsible worker, some by a section head, a few by the data protection officer (kind
  ``audit``); one monthly partition, one chain, each.

The rows are chained here, in Python, exactly as the trigger ``filum_chain_row`` would
(decision 0006, migration ``records.0004``): ``chain_seq`` continues the table's chain,
``row_hash = sha256(prev_hash || text of the row as jsonb)``, where the jsonb text has its
keys sorted by length then bytes, NULLs left out, ``prev_hash``/``row_hash`` and the table's
excluded columns left out, and timestamps in UTC. Loading with the trigger on would cost about
70 µs a row in the database (decision 0006); hashing in Python costs a few.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import random
import uuid
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from django.db import connection

from filum.demo.copytext import NULL, CopyPipe, copy_text, reserve
from filum.records.chain import EXCLUDED_COLUMNS, READ_LOG

READ_MONTHS = 6  # months of read log (older partitions: shipped to the log store)
# Page views per month of an open dossier, by stage or segment (protection: "P").
VIEWS_PER_MONTH = {"intake_1": 3.0, "intake_2": 2.0, "A": 1.5, "B": 0.6, "C": 0.35, "P": 0.5}
# (sections shown, path suffix, weight): the dossier page, the journal, the steering page
PAGES: tuple[tuple[tuple[str, ...], str, float], ...] = (
    (("core", "journal", "assessment", "plan", "documents", "finances"), "", 0.45),
    (("journal", "core"), "journal/", 0.4),
    (("core",), "steering/", 0.15),
)
AUDIT_TABLES = ("cases_caseevent", "pghistory_context", READ_LOG)
_LOCK_CLASS = 1718579533  # the trigger's advisory lock class (migration records.0004)
_V4_MASK = ~((0xF << 76) | (0xC << 60)) & ((1 << 128) - 1)
_V4_BITS = (4 << 76) | (0x8 << 60)


# --- the chain -----------------------------------------------------------------------------


def _json_key(name: str) -> tuple[int, bytes]:
    """jsonb's key order: shorter keys first, then bytewise."""
    return (len(name.encode()), name.encode())


def _quoted(value: Any) -> str:
    return f'"{value}"'


def _text(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _bool(value: Any) -> str:
    return "true" if value else "false"


def _jsonb(value: Any) -> str:
    """PostgreSQL's jsonb text: keys sorted like jsonb, ", " and ": " between items."""
    if isinstance(value, dict):
        items = sorted(value.items(), key=lambda item: _json_key(item[0]))
        return "{" + ", ".join(f"{_text(k)}: {_jsonb(v)}" for k, v in items) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_jsonb(v) for v in value) + "]"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return _bool(value)
    if isinstance(value, int | float):
        return str(value)
    return _text(value)


def _json_renderer(sql_type: str) -> Callable[[Any], str]:
    """How to_jsonb renders a value of this type (values are given as their text forms:
    uuids with hyphens, dates ISO, timestamps ISO in UTC with "+00:00")."""
    if sql_type in ("integer", "bigint", "smallint"):
        return str
    if sql_type == "boolean":
        return _bool
    if sql_type in ("uuid", "date", "timestamp with time zone"):
        return _quoted
    if sql_type == "jsonb":
        return _jsonb
    if sql_type == "text" or sql_type.startswith("character varying"):
        return _text
    raise RuntimeError(f"the audit trail cannot hash a column of type {sql_type}")


def _copy_renderer(sql_type: str) -> Callable[[Any], str]:
    """COPY text of a value of this type (given as for ``_json_renderer``)."""
    if sql_type == "boolean":
        return lambda v: NULL if v is None else "t" if v else "f"
    if sql_type in ("integer", "bigint", "smallint", "uuid", "date", "timestamp with time zone"):
        return lambda v: NULL if v is None else str(v)
    if sql_type == "jsonb":
        return lambda v: NULL if v is None else copy_text(json.dumps(v))
    return copy_text


class Chain:
    """One hash chain (a table, or a read-log partition), continued from its head. Takes the
    trigger's lock first, so nothing else writes the chain meanwhile."""

    def __init__(self, relation: str, table: str | None = None) -> None:
        self.relation = relation
        excluded = set(EXCLUDED_COLUMNS.get(table or relation, [])) | {"prev_hash", "row_hash"}
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_advisory_xact_lock(%s, hashtext(%s))",
                [_LOCK_CLASS, f"public.{relation}"],
            )
            cursor.execute(
                f'SELECT chain_seq, row_hash FROM "{relation}" WHERE chain_seq IS NOT NULL '  # noqa: S608
                "ORDER BY chain_seq DESC LIMIT 1"
            )
            head = cursor.fetchone()
            cursor.execute(
                "SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute "
                "WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped "
                "ORDER BY attnum",
                [relation],
            )
            self.types = dict(cursor.fetchall())
        self.seq = int(head[0]) if head else 0
        self.head: bytes | None = bytes(head[1]) if head else None
        self.columns = [c for c in self.types if c not in ("chain_seq", "prev_hash", "row_hash")]
        self.copy_columns = ", ".join(f'"{c}"' for c in [*self.columns, "chain_seq"]) + (
            ", prev_hash, row_hash"
        )
        hashed = sorted((c for c in self.types if c not in excluded), key=_json_key)
        self.hashed = [(c, _json_renderer(self.types[c])) for c in hashed]
        self.copied = [(c, _copy_renderer(self.types[c])) for c in self.columns]
        self.lines: list[str] = []

    def link(self, content: str) -> str:
        """Position, previous hash and own hash of the next row, whose jsonb text (with its
        ``chain_seq``) is ``content``, as the COPY text of the three chain columns."""
        digest = hashlib.sha256((self.head or b"") + content.encode()).digest()
        prev = f"\\\\x{self.head.hex()}" if self.head is not None else NULL
        self.head = digest
        return f"{self.seq}\t{prev}\t\\\\x{digest.hex()}"

    def add(self, values: dict[str, Any]) -> None:
        """A row given as {column: value} (all columns but the chain's)."""
        self.seq += 1
        values["chain_seq"] = self.seq
        content = (
            "{"
            + ", ".join(
                [f'"{c}": {render(v)}' for c, render in self.hashed if (v := values[c]) is not None]
            )
            + "}"
        )
        line = "\t".join([render(values[c]) for c, render in self.copied])
        self.lines.append(f"{line}\t{self.link(content)}\n")

    def remember_head(self) -> None:
        """Leave the head where the trigger looks for it within this transaction, in case
        anything else is written to the chain before the load commits."""
        if self.head is None:
            return
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT set_config('filum.chain_' || %s::regclass::oid::bigint, "
                "pg_current_xact_id()::text || ':' || %s || ':' || %s, true)",
                [self.relation, self.seq, self.head.hex()],
            )


# --- generation ----------------------------------------------------------------------------


class AuditTrail:
    def __init__(self, *, today: datetime.date, seed: int, pipe: CopyPipe) -> None:
        self.today = today
        self.rng = random.Random(seed + 7)  # noqa: S311 (reproducible demo data, not secrets)
        self.r = self.rng.random
        self.pipe = pipe
        self.counts: dict[str, int] = defaultdict(int)
        self.people = _people()

    def uuid(self) -> str:
        return str(uuid.UUID(int=(self.rng.getrandbits(128) & _V4_MASK) | _V4_BITS))

    def stamp(self, day: str) -> str:
        """A moment of an office day, in UTC as to_jsonb renders it."""
        r = self.r
        return f"{day}T{7 + int(r() * 10):02d}:{int(r() * 60):02d}:{int(r() * 60):02d}+00:00"

    def dossiers(self) -> list[dict[str, Any]]:
        """The open dossiers as to_jsonb renders them (UTC), oldest first."""
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL TimeZone = 'UTC'")
            cursor.execute(
                "SELECT to_jsonb(c)::text, o.kind FROM cases_case c "
                "JOIN tenancy_organisation o ON o.id = c.owner_id "
                "WHERE c.status = 'open' ORDER BY c.opened_on, c.number"
            )
            rows = cursor.fetchall()
        out = []
        for text, kind in rows:
            row = json.loads(text)
            row["_protection"] = kind == "protection_authority"
            out.append(row)
        return out

    # -- change events -------------------------------------------------------------------------

    def change_events(self, dossiers: list[dict[str, Any]]) -> None:
        events = Chain("cases_caseevent")
        contexts = Chain("pghistory_context")
        pgh_ids = reserve("pg_get_serial_sequence('cases_caseevent', 'pgh_id')", 4 * len(dossiers))
        for row in dossiers:
            for label, day, changes, path in self.steps(row):
                user = row["responsible_id"] or self.people.head(row["owner_id"])
                if user is None:
                    continue
                at = self.stamp(day)
                context = self.uuid()
                contexts.add(
                    {
                        "id": context,
                        "created_at": at,
                        "updated_at": at,
                        "metadata": {
                            "url": path,
                            "user": user,
                            "organisation": row["owner_id"],
                            "role": self.people.role(user),
                        },
                    }
                )
                values = {c: row.get(c) for c in events.columns}
                values.update(changes)
                values.update(
                    pgh_id=pgh_ids,
                    pgh_created_at=at,
                    pgh_label=label,
                    pgh_context_id=context,
                    pgh_obj_id=row["id"],
                    updated_at=at,
                )
                pgh_ids += 1
                events.add(values)
        self.pipe.submit(
            [(chain.relation, chain.copy_columns, chain.lines, "") for chain in (contexts, events)]
        )
        self.counts["cases_caseevent"] += len(events.lines)
        self.counts["pghistory_context"] += len(contexts.lines)
        self.pipe.wait()
        contexts.remember_head()
        events.remember_head()

    @staticmethod
    def steps(row: dict[str, Any]) -> list[tuple[str, str, dict[str, Any], str]]:
        """(label, day, values then, path) of the dossier's recorded changes, oldest first;
        the last one leaves the dossier as it is now."""
        case = f"/cases/{row['id']}/"
        opened = datetime.date.fromisoformat(row["opened_on"])
        intake = {
            "stage": "intake_1",
            "stage_since": None,
            "received_on": None,
            "segment": "",
            "segment_since": None,
            "exit_potential": "",
            "exit_expected_by": None,
        }
        out: list[tuple[str, str, dict[str, Any], str]] = [
            ("insert", row["opened_on"], intake, f"/cases/new/{row['client_id']}/")
        ]
        stage = row["stage"]
        if stage == "intake_1":
            out[0] = ("insert", row["opened_on"], {}, out[0][3])
            return out
        if stage == "intake_2":
            day = row["stage_since"] or (opened + datetime.timedelta(days=20)).isoformat()
            out.append(("update", day, {}, f"{case}steering/"))
            return out
        into_intake_2 = (opened + datetime.timedelta(days=20)).isoformat()
        out.append(
            (
                "update",
                into_intake_2,
                {**intake, "stage": "intake_2", "stage_since": into_intake_2},
                f"{case}steering/",
            )
        )
        received = row["received_on"]
        if received is None:  # a protection authority's dossier: no segments
            counselling = (opened + datetime.timedelta(days=120)).isoformat()
            out.append(("update", row["stage_since"] or counselling, {}, f"{case}edit/"))
            return out
        since = row["segment_since"] or received
        if since > received:
            out.append(
                (
                    "update",
                    received,
                    {"segment_since": received, "exit_potential": "", "exit_expected_by": None},
                    f"{case}steering/",
                )
            )
            out.append(("update", since, {}, f"{case}steering/"))
        else:
            out.append(("update", received, {}, f"{case}steering/"))
        return out

    # -- the read log ----------------------------------------------------------------------------

    def read_log(self, dossiers: list[dict[str, Any]]) -> None:
        """Page views of the last READ_MONTHS months, one partition (and chain) a month."""
        first = _month_start(self.today, -(READ_MONTHS - 1))
        for offset in range(READ_MONTHS):
            start = _month_start(first, offset)
            end = min(_month_start(first, offset + 1), self.today)  # until yesterday
            self.read_month(dossiers, start, end)

    def read_month(
        self, dossiers: list[dict[str, Any]], start: datetime.date, end: datetime.date
    ) -> None:
        r = self.r
        people = self.people
        days = (end - start).days
        first_ordinal = start.toordinal()
        day_text = [(start + datetime.timedelta(days=n)).isoformat() for n in range(days)]
        pages = [p for p in PAGES for _ in range(int(p[2] * 20))]
        views: list[tuple[str, int, int, str, tuple[str, ...], str, str]] = []
        for row in dossiers:
            opened = datetime.date.fromisoformat(row["opened_on"]).toordinal()
            if opened >= first_ordinal + days:
                continue
            key = "P" if row["_protection"] else row["segment"] or row["stage"]
            rate = VIEWS_PER_MONTH.get(key, 0.5) * days / 30
            count = int(rate + r())
            if not count:
                continue
            org = row["owner_id"]
            case_id = row["id"]
            low = max(0, opened - first_ordinal)
            for _ in range(count):
                at = self.stamp(day_text[low + int(r() * (days - low))])
                roll = r()
                dpo = people.dpo(org)
                if roll < 0.01 and dpo is not None:
                    views.append((at, dpo, org, case_id, PAGES[0][0], "audit", ""))
                    continue
                user = row["responsible_id"]
                if roll < 0.13 or user is None:
                    user = people.head(org) or user
                if user is None:
                    continue
                sections, suffix, _weight = pages[int(r() * len(pages))]
                views.append((at, user, org, case_id, sections, "view", suffix))
        views.sort()
        chain = Chain(f"{READ_LOG}_{start:%Y%m}", READ_LOG)
        expected = ["id", "at", "user_id", "organisation_id", "case_id", "person_id"]
        expected += ["section", "kind", "path"]
        if chain.columns != expected:
            raise RuntimeError(f"the read log's columns changed: {chain.columns}")
        total = sum(len(v[4]) for v in views)
        next_id = reserve(f"pg_get_serial_sequence('{READ_LOG}', 'id')", total)
        lines = chain.lines
        link = chain.link
        for at, user, org, case_id, sections, kind, suffix in views:
            path = f"/records/audit/{case_id}/" if kind == "audit" else f"/cases/{case_id}/{suffix}"
            for section in sections:
                chain.seq += 1
                content = (
                    f'{{"at": "{at}", "id": {next_id}, "kind": "{kind}", "path": "{path}", '
                    f'"case_id": "{case_id}", "section": "{section}", "user_id": {user}, '
                    f'"chain_seq": {chain.seq}, "organisation_id": {org}}}'
                )
                lines.append(
                    f"{next_id}\t{at}\t{user}\t{org}\t{case_id}\t{NULL}\t{section}\t{kind}\t"
                    f"{path}\t{link(content)}\n"
                )
                next_id += 1
        self.pipe.submit([(chain.relation, chain.copy_columns, lines, "")])
        self.counts[READ_LOG] += len(lines)
        self.pipe.wait()
        chain.remember_head()


class _People:
    """Per organisation its section heads and data protection officer; each user's role."""

    def __init__(self, rows: list[tuple[int, str, int]]) -> None:
        self.heads: dict[int, list[int]] = defaultdict(list)
        self.dpos: dict[int, int] = {}
        self.roles: dict[int, str] = {}
        for org, role, user in rows:
            self.roles.setdefault(user, role)
            if role == "section_head":
                self.heads[org].append(user)
            elif role == "data_protection_officer":
                self.dpos.setdefault(org, user)
        self.turn = 0

    def head(self, org: int) -> int | None:
        heads = self.heads.get(org)
        if not heads:
            return None
        self.turn += 1
        return heads[self.turn % len(heads)]

    def dpo(self, org: int) -> int | None:
        return self.dpos.get(org)

    def role(self, user: int) -> str:
        return self.roles.get(user, "")


def _people() -> _People:
    with connection.cursor() as cursor:
        cursor.execute("SELECT organisation_id, role, user_id FROM tenancy_membership ORDER BY id")
        return _People(cursor.fetchall())


def _month_start(day: datetime.date, months: int) -> datetime.date:
    index = day.year * 12 + day.month - 1 + months
    return datetime.date(index // 12, index % 12 + 1, 1)


def read_log_start(today: datetime.date) -> datetime.date:
    """The first day of the read log the volume writes (its partitions must exist)."""
    return _month_start(today, -(READ_MONTHS - 1))


def seed_audit_trail(*, today: datetime.date, seed: int) -> dict[str, int]:
    """Change events and read log of the open dossiers, chained; returns row counts. Runs
    inside the volume's load (the chain triggers of these tables are off meanwhile)."""
    trail = AuditTrail(today=today, seed=seed, pipe=CopyPipe())
    dossiers = trail.dossiers()
    trail.change_events(dossiers)
    trail.read_log(dossiers)
    return dict(trail.counts)


def step_audit_trail(vctx: Any) -> None:
    """A step of ``filum.demo.volume.VOLUME_STEPS`` (after the steering data)."""
    for name, n in seed_audit_trail(today=vctx.base.today, seed=vctx.base.seed).items():
        vctx.rows[name] += n
