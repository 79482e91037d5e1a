"""A tamper-evident audit (X2, X6, R28): the app's database role may only append to the audit
tables, every row is chained by its hash, and ``verify_audit`` finds the row that was changed
or removed by someone who bypassed that (the tables' owner)."""

from __future__ import annotations

import io
import threading
from typing import Any

import pghistory
import pytest
from django.apps import apps
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, connections, transaction
from django.urls import reverse

from filum.cases.models import Case
from filum.records.chain import protected_tables
from filum.records.models import AuditVerification, ReadLog, SecurityEvent
from filum.records.services import ensure_read_log_partitions, log_read, log_security_event
from tests.conftest import as_app_role

CaseEvent = apps.get_model("cases", "CaseEvent")


def verify_audit() -> tuple[bool, str]:
    """Run the command; (intact, everything it printed)."""
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("verify_audit", stdout=out, stderr=err)
    except CommandError as error:
        return False, out.getvalue() + err.getvalue() + str(error)
    return True, out.getvalue() + err.getvalue()


def read_dossier(persona: Any, case: Any, times: int = 1) -> None:
    client = persona.client()
    for _ in range(times):
        assert client.get(reverse("case_detail", args=[case.pk])).status_code == 200


def as_owner(*statements: str, params: list[Any] | None = None) -> None:
    """Tamper as the owner would (triggers off, change the rows, triggers back on), then act
    as the app role again."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user")
        acting = cursor.fetchone()[0]
        cursor.execute("RESET ROLE")  # back to the session's role: the owner
        for statement in statements:
            cursor.execute(statement, params)
        cursor.execute("SELECT set_config('role', %s, false)", [acting])


# ---------------------------------------------------------------------------------------------
# The app role's privileges


PROTECTED_SAMPLES = {
    "cases_caseevent": "pgh_id",
    "pghistory_context": "id",
    "records_readlog": "id",
    "records_securityevent": "id",
    "records_auditverification": "id",
}
REFUSED = [
    "UPDATE {table} SET {pk} = {pk}",
    "DELETE FROM {table}",
    "TRUNCATE {table}",
    "ALTER TABLE {table} DISABLE TRIGGER ALL",
    "ALTER TABLE {table} DISABLE TRIGGER USER",
]


@pytest.mark.parametrize("statement", REFUSED)
@pytest.mark.parametrize("table", PROTECTED_SAMPLES)
def test_r28_the_app_role_may_not_change_or_remove_audit_rows(world, table, statement):
    read_dossier(world.worker, world.case)
    log_security_event("login.succeeded", user=world.worker.user)
    before = _count(table)
    with pytest.raises(DatabaseError, match="permission denied|must be owner"):
        with as_app_role() as cursor:
            cursor.execute(statement.format(table=table, pk=PROTECTED_SAMPLES[table]))
    assert _count(table) == before


def _count(table: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {table}")  # noqa: S608 (a constant above)
        return int(cursor.fetchone()[0])


def test_r28_every_audit_table_and_partition_is_append_only_for_the_app_role(db):
    ensure_read_log_partitions(start=_next_year(), months=1)  # made by the daily job later
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = 'records_readlog'::regclass"
        )
        partitions = [row[0] for row in cursor.fetchall()]
        tables = [t.name for t in protected_tables()] + partitions
        tables.append("records_auditverification")
        cursor.execute(
            "SELECT relname, has_table_privilege(%s, oid, 'SELECT'), "
            "has_table_privilege(%s, oid, 'UPDATE'), has_table_privilege(%s, oid, 'DELETE'), "
            "has_table_privilege(%s, oid, 'TRUNCATE'), pg_has_role(%s, relowner, 'USAGE') "
            "FROM pg_class WHERE relname = ANY(%s)",
            [settings.DB_APP_ROLE] * 5 + [tables],
        )
        rights = {row[0]: row[1:] for row in cursor.fetchall()}
    assert len(partitions) >= 14  # default + this month and the next 12 + next year's
    assert len([t for t in tables if t.endswith("event")]) >= 20
    assert set(rights) == set(tables)
    assert {name: r for name, r in rights.items() if r != (True, False, False, False, False)} == {}


def _next_year() -> Any:
    import datetime

    return datetime.date.today().replace(day=1, year=datetime.date.today().year + 2)


def test_r28_the_app_keeps_writing_what_it_needs(world):
    with as_app_role() as cursor:
        cursor.execute("UPDATE cases_case SET title = 'Titre' WHERE id = %s", [world.case.pk])
        cursor.execute(
            "SELECT count(*) FROM cases_caseevent WHERE pgh_obj_id = %s", [world.case.pk]
        )
        assert cursor.fetchone()[0] >= 2  # the update was audited, by the app role


def test_r28_the_app_role_cannot_switch_the_audit_triggers_off(world):
    """The triggers' library skips a trigger named in the setting ``pgtrigger.ignore``, which
    any session may set: for the app role the setting is not honoured, so a change is still
    audited and an append-only table still refuses changes (a migration, run by the owner,
    may still skip a trigger)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT array_agg(DISTINCT tgname::text) FROM pg_trigger WHERE NOT tgisinternal"
        )
        every_trigger = cursor.fetchone()[0]
    events = CaseEvent.objects.filter(pgh_obj_id=world.case.pk).count()
    with as_app_role() as cursor:
        cursor.execute("SELECT set_config('pgtrigger.ignore', %s, true)", [_array(every_trigger)])
        cursor.execute("UPDATE cases_case SET title = 'Sans trace' WHERE id = %s", [world.case.pk])
    assert CaseEvent.objects.filter(pgh_obj_id=world.case.pk).count() == events + 1
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user")
        acting = cursor.fetchone()[0]
        cursor.execute("RESET ROLE")  # the owner, as a migration runs
        cursor.execute("SELECT set_config('pgtrigger.ignore', %s, true)", [_array(every_trigger)])
        cursor.execute("SELECT public._pgtrigger_should_ignore(%s)", [every_trigger[0]])
        skipped_for_owner = cursor.fetchone()[0]
        cursor.execute("SELECT set_config('role', %s, false)", [acting])
    assert skipped_for_owner is True


def _array(names: list[str]) -> str:
    return "{" + ",".join(names) + "}"


def test_r28_the_app_runs_as_its_role_and_leaves_an_intact_chain(world, app_role):
    """Requests under the app role: reads logged, changes audited with their context, the
    daily partition job works, and every chain verifies."""
    read_dossier(world.worker, world.case, times=3)
    client = world.worker.client()
    response = client.post(
        reverse("case_create", args=[world.case.client.pk]),
        {
            "domain": "economic_aid",
            "title": "Sous le rôle de l'app",
            "opened_on": world.case.opened_on.isoformat(),
            "responsible": world.worker.user.pk,
        },
    )
    assert response.status_code == 302
    case = Case.objects.get(title="Sous le rôle de l'app")
    [event] = CaseEvent.objects.filter(pgh_obj_id=case.pk).select_related("pgh_context")
    assert event.pgh_context.metadata["user"] == world.worker.user.pk
    call_command("read_log_partitions", months=15, stdout=io.StringIO())
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user")
        assert cursor.fetchone()[0] == settings.DB_APP_ROLE
    intact, output = verify_audit()
    assert intact, output
    assert "intact" in output


# ---------------------------------------------------------------------------------------------
# The chain and verify_audit


def _chain_of(case: Any) -> list[tuple[int, int]]:
    """(read-log id, chain position) of the dossier's reads, in chain order."""
    rows = ReadLog.objects.filter(case_id=case.pk).values_list("id", flat=True)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id, chain_seq FROM records_readlog WHERE id = ANY(%s) ORDER BY chain_seq",
            [list(rows)],
        )
        return list(cursor.fetchall())


def test_r28_each_row_is_linked_to_the_one_before(world):
    read_dossier(world.worker, world.case, times=2)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT chain_seq, prev_hash, row_hash FROM records_readlog "
            "WHERE case_id = %s ORDER BY chain_seq",
            [world.case.pk],
        )
        rows = cursor.fetchall()
    assert len(rows) >= 2
    assert [seq for seq, _, _ in rows] == list(range(rows[0][0], rows[0][0] + len(rows)))
    for (_, _, before), (_, link, own) in zip(rows, rows[1:], strict=False):
        assert bytes(link) == bytes(before)
        assert len(bytes(own)) == 32  # SHA-256


def test_r28_bulk_inserts_and_several_contexts_in_one_transaction_keep_the_chains(world):
    """The trigger remembers the head within a transaction; pghistory's context upserts (the
    trigger fires for a row that then conflicts) must not leave a gap behind."""
    for title in ("Un", "Deux"):
        with pghistory.context(user=world.head.user.pk):
            Case.objects.filter(pk=world.case.pk).update(title=title)
            Case.objects.filter(pk=world.case.pk).update(title=title + " bis")
    log_read(actor=world.worker.actor, sections=["core"] * 500, case_id=world.case.pk)
    intact, output = verify_audit()
    assert intact, output


def test_r28_an_intact_audit_passes_and_is_recorded(world):
    read_dossier(world.worker, world.case, times=2)
    intact, output = verify_audit()
    assert intact, output
    rows = int(output.split("intact: ")[1].split(" rows")[0])
    assert rows >= ReadLog.objects.count() + CaseEvent.objects.count()
    last = AuditVerification.objects.get()
    assert (last.intact, last.rows_checked, last.broken_table) == (True, rows, "")
    assert last.heads  # each chain's head, checked again by the next run


def test_r28_an_owner_edit_of_a_read_log_row_is_found(world):
    read_dossier(world.worker, world.case, times=3)
    chain = _chain_of(world.case)
    tampered_id = chain[len(chain) // 2][0]
    as_owner("UPDATE records_readlog SET user_id = %s WHERE id = %s", params=[1, tampered_id])
    intact, output = verify_audit()
    assert not intact
    assert f"row {tampered_id}: content changed" in output
    assert "records_readlog_" in output
    last = AuditVerification.objects.get()
    assert (last.intact, last.broken_row) == (False, str(tampered_id))
    assert last.broken_table.startswith("records_readlog_")


def test_r28_an_owner_deleting_an_audit_event_in_the_middle_is_found(world):
    case = world.case
    for title in ("Un", "Deux", "Trois"):
        Case.objects.filter(pk=case.pk).update(title=title)
    events = list(CaseEvent.objects.filter(pgh_obj_id=case.pk).order_by("pgh_id"))
    assert len(events) >= 4
    removed, following = events[2], events[3]
    as_owner(
        "ALTER TABLE cases_caseevent DISABLE TRIGGER USER",
        f"DELETE FROM cases_caseevent WHERE pgh_id = {removed.pk}",  # noqa: S608 (an int)
        "ALTER TABLE cases_caseevent ENABLE TRIGGER USER",
    )
    intact, output = verify_audit()
    assert not intact
    assert f"BROKEN cases_caseevent row {following.pk}: chain position" in output
    assert "missing before this row" in output


def test_r28_a_row_added_with_the_trigger_off_is_found(world):
    read_dossier(world.worker, world.case)
    log_security_event("login.succeeded", user=world.worker.user)
    as_owner(
        "ALTER TABLE records_securityevent DISABLE TRIGGER USER",
        "INSERT INTO records_securityevent (at, kind, detail) VALUES (now(), 'forged', '{}')",
        "ALTER TABLE records_securityevent ENABLE TRIGGER USER",
    )
    forged = SecurityEvent.objects.get(kind="forged")
    intact, output = verify_audit()
    assert not intact
    assert f"records_securityevent row {forged.pk}: not in the chain" in output


def test_r28_rows_removed_from_the_end_after_a_verification_are_found(world):
    read_dossier(world.worker, world.case, times=2)
    assert verify_audit()[0]
    last_id, last_seq = _chain_of(world.case)[-1]
    as_owner(f"DELETE FROM records_readlog WHERE id = {last_id}")  # noqa: S608 (an int)
    intact, output = verify_audit()
    assert not intact
    assert f"chain position {last_seq}, verified earlier, is gone" in output


@pytest.mark.django_db(transaction=True)
def test_r28_eight_concurrent_writers_leave_a_valid_chain(world):
    def write(worker: int) -> None:
        try:
            for n in range(10):
                with transaction.atomic():
                    log_security_event("login.succeeded", worker=worker, n=n)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=write, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert SecurityEvent.objects.filter(kind="login.succeeded").count() == 80
    intact, output = verify_audit()
    assert intact, output


# ---------------------------------------------------------------------------------------------
# The DPO page


def test_r28_the_dpo_page_shows_the_last_verification(world):
    page = world.dpo.client().get(reverse("audit_find"))
    assert "Pas encore vérifié" in page.content.decode()
    read_dossier(world.worker, world.case)
    assert verify_audit()[0]
    last = AuditVerification.objects.get()
    page = world.dpo.client().get(reverse("audit_find"))
    text = page.content.decode()
    assert "Dernière vérification" in text
    assert "intact" in text
    assert f"{last.rows_checked:,}".replace(",", "\u202f") in text or str(last.rows_checked) in text
