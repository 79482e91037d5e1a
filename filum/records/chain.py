"""The hash chains over the audit tables and the app role's privileges on them (X2, X6, R28).

Protected tables: every pghistory event table, their context table, the read log (one chain
per monthly partition) and the security events. Each row carries ``chain_seq`` (its position),
``prev_hash`` and ``row_hash`` = SHA-256(prev_hash || the row as canonical jsonb), written by
a BEFORE INSERT trigger (SQL in migration 0004). ``seal()`` runs after every migrate: it puts
the columns, index and trigger on protected tables that lack them, chains rows written before,
and sets the app role's privileges. ``verify()`` recomputes every chain in the database.
"""

from __future__ import annotations

import datetime
import logging
from dataclasses import dataclass, field
from typing import Any

from django.apps import apps
from django.db import ProgrammingError, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.utils import timezone
from pghistory.models import Event

from filum.dbroles import APP_ROLE_SETTINGS, checked_role_name
from filum.records.roles import app_role

# Table and partition names in the SQL below come from Django's models and pg_catalog, never
# from user input.

logger = logging.getLogger(__name__)

READ_LOG = "records_readlog"
CONTEXT = "pghistory_context"
VERIFICATIONS = "records_auditverification"
# Audit rows removed with a disposed dossier leave their chain columns here (decision 0036).
TOMBSTONES = "records_audittombstone"
# Security events dropped past their retention leave a cut of their chain here (0036).
CHAIN_CUTS = "records_chaincut"
# pghistory refines a context's metadata during the request it belongs to (an upsert when the
# user signs in, for example): its chain covers the context's id and creation time only.
EXCLUDED_COLUMNS = {CONTEXT: ["metadata", "updated_at"]}
# A context may be refined by pghistory's upsert while its request runs, never later.
CONTEXT_GUARD = """
CREATE OR REPLACE FUNCTION filum_context_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.created_at < now() - interval '1 hour' OR NEW.id <> OLD.id
       OR NEW.created_at <> OLD.created_at OR NEW.chain_seq IS DISTINCT FROM OLD.chain_seq
       OR NEW.prev_hash IS DISTINCT FROM OLD.prev_hash
       OR NEW.row_hash IS DISTINCT FROM OLD.row_hash THEN
        RAISE EXCEPTION 'audit context % cannot be changed', OLD.id;
    END IF;
    RETURN NEW;
END
$$
"""

# pgtrigger skips a trigger named in the setting ``pgtrigger.ignore``, and any session may set
# it: the app role could switch the audit and the append-only guards off for its own writes.
# Only the tables' owner (a migration) may skip a trigger; for every other role the setting
# is not read. The owner's name is put in at seal time; pgtrigger writes its own version again
# when a migration installs a trigger, and ``seal`` runs after every migrate.
TRIGGER_SWITCH = """
CREATE OR REPLACE FUNCTION public._pgtrigger_should_ignore(trigger_name NAME)
RETURNS BOOLEAN LANGUAGE plpgsql AS $$
DECLARE
    ignored TEXT;
BEGIN
    IF current_user <> {owner} THEN
        RETURN FALSE;
    END IF;
    ignored := current_setting('pgtrigger.ignore', true);
    IF ignored IS NULL OR ignored = '' THEN
        RETURN FALSE;
    END IF;
    RETURN trigger_name = ANY(ignored::TEXT[]);
END
$$
"""


@dataclass(frozen=True)
class Table:
    name: str
    pk: str
    partitioned: bool = False

    @property
    def excluded(self) -> list[str]:
        return EXCLUDED_COLUMNS.get(self.name, [])


def protected_tables() -> list[Table]:
    """The chained tables, in a stable order."""
    events = [
        Table(model._meta.db_table, model._meta.pk.column)
        for model in apps.get_models()
        if issubclass(model, Event) and model._meta.managed and not model._meta.proxy
    ]
    fixed = [
        Table(CONTEXT, "id"),
        Table(READ_LOG, "id", partitioned=True),
        Table("records_securityevent", "id"),
        Table(TOMBSTONES, "id"),
        Table(CHAIN_CUTS, "id"),
    ]
    return sorted(events, key=lambda t: t.name) + fixed


def _existing(cursor: Any, names: list[str]) -> set[str]:
    cursor.execute(
        "SELECT relname FROM pg_class WHERE relname = ANY(%s) AND relnamespace = "
        "'public'::regnamespace",
        [names],
    )
    return {row[0] for row in cursor.fetchall()}


def partitions(cursor: Any, parent: str = READ_LOG) -> list[str]:
    cursor.execute(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "WHERE i.inhparent = %s::regclass ORDER BY c.relname",
        [parent],
    )
    return [row[0] for row in cursor.fetchall()]


def chains(cursor: Any) -> list[tuple[Table, str]]:
    """(table, relation holding one chain): the read log's partitions, the others themselves."""
    tables = protected_tables()
    present = _existing(cursor, [t.name for t in tables])
    result = []
    for table in tables:
        if table.name not in present:
            continue
        if table.partitioned:
            result += [(table, part) for part in partitions(cursor, table.name)]
        else:
            result.append((table, table.name))
    return result


# --- sealing (after every migrate, as the owner) --------------------------------------------


def seal(connection: BaseDatabaseWrapper) -> dict[str, int]:
    """Make every protected table chained and append-only for the app role. Idempotent and
    cheap when nothing changed; returns the number of earlier rows chained per relation."""
    sealed: dict[str, int] = {}
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regproc('filum_chain_row')")
        if cursor.fetchone()[0] is None:  # migrating backwards, or before records 0004
            return sealed
        candidates = protected_tables()
        present = _existing(cursor, [t.name for t in candidates])
        tables = [t for t in candidates if t.name in present]
        for table in tables:
            _install(cursor, table)
        for table, relation in chains(cursor):
            count = _chain_earlier_rows(cursor, table, relation)
            if count:
                sealed[relation] = count
        _guard_context(cursor)
        _guard_trigger_switch(cursor)
        _grant(cursor, [t.name for t in tables])
    if sealed:
        logger.warning("audit chain: chained %s earlier rows", sealed)
    return sealed


def _install(cursor: Any, table: Table) -> None:
    cursor.execute(
        "SELECT count(*) FROM pg_attribute WHERE attrelid = %s::regclass AND attname = "
        "ANY(ARRAY['chain_seq', 'prev_hash', 'row_hash']) AND NOT attisdropped",
        [table.name],
    )
    if cursor.fetchone()[0] < 3:
        cursor.execute(
            f'ALTER TABLE "{table.name}" ADD COLUMN IF NOT EXISTS chain_seq bigint, '
            "ADD COLUMN IF NOT EXISTS prev_hash bytea, ADD COLUMN IF NOT EXISTS row_hash bytea"
        )
        # the trigger reads the last position; verification walks the positions in order
        cursor.execute(
            f'CREATE INDEX IF NOT EXISTS "{table.name[:55]}_chain" ON "{table.name}" (chain_seq)'
        )
    cursor.execute(
        "SELECT 1 FROM pg_trigger WHERE tgrelid = %s::regclass AND tgname = 'filum_chain'",
        [table.name],
    )
    if cursor.fetchone() is None:
        arguments = ", ".join(f"'{column}'" for column in table.excluded)
        cursor.execute(
            f'CREATE TRIGGER filum_chain BEFORE INSERT ON "{table.name}" '
            f"FOR EACH ROW EXECUTE FUNCTION filum_chain_row({arguments})"
        )


def _chain_earlier_rows(cursor: Any, table: Table, relation: str) -> int:
    cursor.execute(f'SELECT EXISTS (SELECT 1 FROM "{relation}" WHERE chain_seq IS NULL)')  # noqa: S608
    if not cursor.fetchone()[0]:
        return 0
    # the event tables refuse UPDATE (pghistory's append-only trigger): off for this step,
    # inside the migration's transaction
    cursor.execute(f'ALTER TABLE "{relation}" DISABLE TRIGGER USER')
    cursor.execute(
        "SELECT filum_chain_seal(%s::regclass, %s, %s)", [relation, table.pk, table.excluded]
    )
    count = int(cursor.fetchone()[0])
    cursor.execute(f'ALTER TABLE "{relation}" ENABLE TRIGGER USER')
    return count


def _guard_context(cursor: Any) -> None:
    """pghistory's context upsert runs as the owner (the app role may not UPDATE contexts),
    limited by a trigger to refining a context of the last hour's requests."""
    cursor.execute(CONTEXT_GUARD)
    cursor.execute(
        "SELECT 1 FROM pg_trigger WHERE tgrelid = %s::regclass AND tgname = 'filum_context_guard'",
        [CONTEXT],
    )
    if cursor.fetchone() is None:
        cursor.execute(
            f"CREATE TRIGGER filum_context_guard BEFORE UPDATE ON {CONTEXT} "
            "FOR EACH ROW EXECUTE FUNCTION filum_context_guard()"
        )
    cursor.execute("SELECT to_regprocedure('_pgh_attach_context()')")
    if cursor.fetchone()[0] is not None:
        cursor.execute(
            "ALTER FUNCTION _pgh_attach_context() SECURITY DEFINER "
            "SET search_path = public, pg_temp"
        )


def _guard_trigger_switch(cursor: Any) -> None:
    """Let only the owner (running this) skip a trigger by pgtrigger's setting (R28)."""
    cursor.execute(
        "SELECT to_regproc('public._pgtrigger_should_ignore'), quote_literal(current_user)"
    )
    function, owner = cursor.fetchone()
    if function is not None:  # pgtrigger installs it with its first trigger
        cursor.execute(TRIGGER_SWITCH.format(owner=owner))


def _grant(cursor: Any, protected: list[str]) -> None:
    """The app role: full DML on the other tables, INSERT and SELECT on the protected ones
    (their partitions and the verification log included), nothing it could alter."""
    role = checked_role_name(app_role())
    cursor.execute(
        "SELECT rolsuper, current_user = rolname FROM pg_roles WHERE rolname = %s", [role]
    )
    row = cursor.fetchone()
    if row is None or row[0] or row[1]:
        # no separate app role here (a single-role set-up): nothing to grant
        logger.info("audit privileges: no app role %r to grant to", role)
        return
    read_only = [*protected, *partitions(cursor), VERIFICATIONS]
    cursor.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role}")
    cursor.execute(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role}")
    names = ", ".join(f'"{name}"' for name in read_only)
    cursor.execute(f"REVOKE UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON {names} FROM {role}")
    if TOMBSTONES in protected:  # written only by filum_dispose_events, as the owner
        cursor.execute(f"REVOKE INSERT ON {TOMBSTONES} FROM {role}")
    if CHAIN_CUTS in protected:  # written only by filum_drop_security_events, as the owner
        cursor.execute(f"REVOKE INSERT ON {CHAIN_CUTS} FROM {role}")
    # tables made later by the owner outside migrate (the daily read-log partitions) start
    # with reading and appending only
    cursor.execute(
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT ON TABLES TO {role}"
    )
    _set_role_defaults(cursor, role)


def _set_role_defaults(cursor: Any, role: str) -> None:
    """The app role's session defaults in this database (U4, dbroles.APP_ROLE_SETTINGS): they
    apply to its new connections. Changing another role's defaults takes a superuser or
    CREATEROLE; an owner without either leaves them to the administrator (docs/admin-guide.md,
    "PostgreSQL settings for a real server")."""
    cursor.execute("SELECT current_database()")
    quoted = str(cursor.fetchone()[0]).replace('"', '""')
    try:
        with transaction.atomic(using=cursor.db.alias):
            for name, value in APP_ROLE_SETTINGS.items():
                # names and values are constants of dbroles; the database name is quoted
                cursor.execute(f'ALTER ROLE {role} IN DATABASE "{quoted}" SET {name} = %s', [value])
    except ProgrammingError:  # insufficient_privilege
        logger.warning(
            "could not set the defaults of role %s (jit, statement_timeout, ...): set them as "
            "described in docs/admin-guide.md",
            role,
        )


# --- verification ---------------------------------------------------------------------------


@dataclass
class ChainResult:
    relation: str
    rows: int
    head: tuple[int, str] | None
    broken_row: str = ""
    problem: str = ""  # a key of PROBLEMS
    position: int = 0  # the chain position the problem is about

    @property
    def message(self) -> str:
        return PROBLEMS[self.problem].format(seq=self.position)


@dataclass
class Verification:
    started_at: datetime.datetime
    results: list[ChainResult] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return sum(r.rows for r in self.results)

    @property
    def broken(self) -> list[ChainResult]:
        return [r for r in self.results if r.problem]


# What a broken link can be: the code stored with the verification, and the command's text
PROBLEMS = {
    "unchained": "not in the chain (written with its trigger off)",
    "missing": "chain position {seq} missing before this row (rows deleted)",
    "link": "link to the previous row does not match (a row before it was changed or replaced)",
    "content": "content changed after it was written",
    "checkpoint": (
        "chain position {seq}, verified earlier, is gone or changed (rows removed or the chain "
        "rewritten)"
    ),
}

# One pass over one chain, in the server: recompute each row's hash and compare each row's
# link and position with the row before it. Only the first problem and a count come back.
_WALK = """
WITH chained AS (
    SELECT {pk}::text AS pk, chain_seq, prev_hash, row_hash,
           filum_chain_digest(prev_hash, to_jsonb(t), %(excluded)s) AS computed
    FROM "{relation}" t
    {tombstones}
), walk AS (
    SELECT pk, chain_seq, prev_hash, row_hash, computed,
           coalesce(lag(chain_seq) OVER w, %(start_seq)s) AS before_seq,
           CASE WHEN row_number() OVER w = 1 THEN %(start_hash)s::bytea
                ELSE lag(row_hash) OVER w END AS before_hash
    FROM chained
    WINDOW w AS (ORDER BY chain_seq)
), judged AS (
    SELECT pk, chain_seq, before_seq + 1 AS expected, CASE
        WHEN chain_seq IS NULL THEN 'unchained'
        WHEN chain_seq <> before_seq + 1 THEN 'missing'
        WHEN prev_hash IS DISTINCT FROM before_hash THEN 'link'
        WHEN row_hash IS DISTINCT FROM computed THEN 'content'
    END AS problem
    FROM walk
)
SELECT count(*),
       (array_agg(pk ORDER BY chain_seq NULLS FIRST) FILTER (WHERE problem IS NOT NULL))[1],
       (array_agg(problem ORDER BY chain_seq NULLS FIRST) FILTER (WHERE problem IS NOT NULL))[1],
       (array_agg(expected ORDER BY chain_seq NULLS FIRST) FILTER (WHERE problem IS NOT NULL))[1]
FROM judged
"""
# A tombstone stands for its removed row: its link is checked, its content is gone (0036).
_TOMBSTONES = """
    UNION ALL
    SELECT row_pk, event_seq, event_prev, event_hash, event_hash FROM records_audittombstone
    WHERE relation = %(relation)s
"""
# The last position of a chain, a removed row's included.
_HEAD = """
SELECT chain_seq, encode(row_hash, 'hex') FROM "{relation}" WHERE chain_seq IS NOT NULL
{tombstones}
ORDER BY 1 DESC LIMIT 1
"""
_TOMBSTONE_HEAD = """
UNION ALL
SELECT event_seq, encode(event_hash, 'hex') FROM records_audittombstone
WHERE relation = %(relation)s
"""


def _has_tombstones(cursor: Any, relation: str) -> bool:
    if relation == TOMBSTONES or not _existing(cursor, [TOMBSTONES]):
        return False
    cursor.execute(f"SELECT EXISTS (SELECT 1 FROM {TOMBSTONES} WHERE relation = %s)", [relation])  # noqa: S608
    return bool(cursor.fetchone()[0])


def _cut(cursor: Any, relation: str) -> tuple[int, bytes | None]:
    """Where a chain starts: after its latest cut (its oldest rows dropped past their
    retention), else at the beginning."""
    if relation == CHAIN_CUTS or not _existing(cursor, [CHAIN_CUTS]):
        return 0, None
    cursor.execute(
        f"SELECT last_seq, last_hash FROM {CHAIN_CUTS} WHERE relation = %s "  # noqa: S608
        "ORDER BY last_seq DESC LIMIT 1",
        [relation],
    )
    row = cursor.fetchone()
    return (int(row[0]), bytes(row[1])) if row else (0, None)


def _walk(cursor: Any, table: Table, relation: str) -> ChainResult:
    removed = _has_tombstones(cursor, relation)
    start_seq, start_hash = _cut(cursor, relation)
    parameters = {
        "excluded": table.excluded,
        "relation": relation,
        "start_seq": start_seq,
        "start_hash": start_hash,
    }
    cursor.execute(
        _WALK.format(
            pk=f'"{table.pk}"', relation=relation, tombstones=_TOMBSTONES if removed else ""
        ),
        parameters,
    )
    count, broken_row, problem, expected = cursor.fetchone()
    cursor.execute(
        _HEAD.format(relation=relation, tombstones=_TOMBSTONE_HEAD if removed else ""), parameters
    )
    head = cursor.fetchone()
    result = ChainResult(relation, int(count), (int(head[0]), head[1]) if head else None)
    if problem:
        result.broken_row, result.problem, result.position = broken_row, problem, expected
    return result


def _check_checkpoint(cursor: Any, result: ChainResult, seq: int, hex_hash: str) -> None:
    """The head recorded by the last intact run must still be there, unchanged: otherwise
    rows were removed from the chain's end (or it was rewritten)."""
    if result.problem:
        return
    cursor.execute(
        f'SELECT 1 FROM "{result.relation}" WHERE chain_seq = %s '  # noqa: S608
        "AND row_hash = decode(%s, 'hex') LIMIT 1",
        [seq, hex_hash],
    )
    found = cursor.fetchone() is not None
    if not found and _has_tombstones(cursor, result.relation):
        cursor.execute(
            f"SELECT 1 FROM {TOMBSTONES} WHERE relation = %s AND event_seq = %s "  # noqa: S608
            "AND event_hash = decode(%s, 'hex') LIMIT 1",
            [result.relation, seq, hex_hash],
        )
        found = cursor.fetchone() is not None
    if not found and result.relation != CHAIN_CUTS and _existing(cursor, [CHAIN_CUTS]):
        # dropped past its retention: a position inside a recorded cut (its last one with
        # the recorded hash)
        cursor.execute(
            f"SELECT 1 FROM {CHAIN_CUTS} WHERE relation = %s AND first_seq <= %s "  # noqa: S608
            "AND %s <= last_seq AND (%s < last_seq OR last_hash = decode(%s, 'hex')) LIMIT 1",
            [result.relation, seq, seq, seq, hex_hash],
        )
        found = cursor.fetchone() is not None
    if not found:
        result.broken_row, result.problem, result.position = f"#{seq}", "checkpoint", seq


def verify(
    connection: BaseDatabaseWrapper, *, checkpoints: dict[str, list[Any]], snapshot: bool = True
) -> Verification:
    """Walk every chain, inside a transaction. `checkpoints` are the heads of the last intact
    verification; `snapshot` (when the transaction is a new one) reads all chains as of one
    moment."""
    verification = Verification(started_at=timezone.now())
    with connection.cursor() as cursor:
        if snapshot:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        # timestamps rendered into the hashed text as the trigger rendered them
        cursor.execute("SET LOCAL TimeZone = 'UTC'")
        cursor.execute("SET LOCAL extra_float_digits = 1")
        found = chains(cursor)
        for table, relation in found:
            result = _walk(cursor, table, relation)
            if relation in checkpoints:
                seq, hex_hash = checkpoints[relation]
                _check_checkpoint(cursor, result, int(seq), str(hex_hash))
            verification.results.append(result)
    gone = sorted(set(checkpoints) - {relation for _, relation in found})
    verification.notes += [f"{name}: no longer in the database (detached?)" for name in gone]
    return verification
