"""Retention and disposal (issue 10 item 6, M3, decision 0036): a dossier past its retention
is offered to the archive as an eCH-0160 package and disposed of end to end by the
organisation's super-user; refusals, legal holds, all or nothing, dry runs, the disposal
record, the audit chain and the read-log partitions."""

from __future__ import annotations

import datetime
import io
import json
import zipfile
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.html import escape
from django.utils.translation import gettext

from filum.cases.models import Case, Domain
from filum.dates import add_months
from filum.documents.models import Document
from filum.journal.models import Contact
from filum.people.models import Person
from filum.records.archive import verify_package
from filum.records.models import (
    ArchiveOffer,
    ArchiveReceipt,
    AuditTombstone,
    DisposalRecord,
    LegalHold,
    RetentionRule,
)
from filum.records.receipts import RECEIPT_REFUSALS, ReceiptRefused, record_receipt
from filum.records.retention import (
    FAILED,
    REFUSALS,
    DisposalRefused,
    Nightly,
    dispose,
    dispose_many,
    drop_expired_partitions,
    due_on,
    rule_for,
)
from tests import factories
from tests.test_exchange_export import fill, private_storage  # noqa: F401 (fixture)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("private_storage")]


def shown(message: Any, case: Case | None = None) -> str:
    """A message as the page shows it: in French (the default language), escaped."""
    with translation.override("fr"):
        text = gettext(message) if isinstance(message, str) else str(message)
    return escape(text % {"dossier": case.reference} if case else text)


def stored(document: Document) -> Path:
    return Path(document.file.path)


NAME = "Kassationstest"
FIRST = "Ottilie"
NOTE = "Geheimnis-Notiz-4711"


@pytest.fixture(autouse=True)
def archive(settings: Any, tmp_path: Path) -> Path:
    settings.FILUM_ARCHIVE_DIR = str(tmp_path / "archive")
    return tmp_path / "archive"


def close(case: Case, *, years_ago: int = 11) -> Case:
    today = timezone.localdate()
    Case.objects.filter(pk=case.pk).update(
        status="closed",
        opened_on=add_months(today, -12 * years_ago - 6),
        closed_on=add_months(today, -12 * years_ago),
        closure_reason="employment",
    )
    case.refresh_from_db()
    return case


def old_dossier(world: Any) -> Case:
    case = world.case
    Person.objects.filter(pk=case.client_id).update(last_name=NAME, first_name=FIRST)
    close(case)
    fill(world)
    contact = Contact.objects.filter(case=case).first()
    assert contact is not None
    contact.pk, contact.supersedes, contact.correction_reason, contact.note = None, None, "", NOTE
    contact.save()
    case.refresh_from_db()
    return case


def receive_all(decision: str = "taken") -> None:
    """The archive's receipt of every package offered and not answered yet."""
    for offer in ArchiveOffer.objects.filter(receipt__isnull=True):
        record_receipt(
            offer, decision=decision, reference=f"StABE {offer.pk}", sha256=offer.package_sha256
        )


def tables_holding(text: str) -> list[str]:
    """Every table of the database where a row's text contains ``text`` in any case (a full
    dump: the person search keeps names folded to capitals)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace "
            "AND c.relkind IN ('r', 'p') ORDER BY 1"
        )
        found = []
        for (table,) in cursor.fetchall():
            query = f'SELECT count(*) FROM "{table}" t WHERE t::text ILIKE %s'  # noqa: S608
            cursor.execute(query, [f"%{text}%"])
            if cursor.fetchone()[0]:
                found.append(table)
    return found


def test_default_rules_are_ten_years_for_every_kind_and_the_most_specific_wins() -> None:
    rules = list(RetentionRule.objects.all())
    assert {(r.canton, r.domain, r.years) for r in rules} == {
        ("", domain, 10) for domain in Domain.values
    }
    canton = RetentionRule.objects.create(canton="BE", domain="", years=12)
    both = RetentionRule.objects.create(canton="BE", domain="child_protection", years=20)
    rules = list(RetentionRule.objects.all())
    assert rule_for(rules, "BE", "child_protection") == both
    assert rule_for(rules, "BE", "economic_aid") == canton
    assert rule_for(rules, "FR", "economic_aid").years == 10  # type: ignore[union-attr]
    assert due_on(datetime.date(2016, 2, 29), 10) == datetime.date(2026, 2, 28)


def test_m3_a_dossier_past_its_retention_is_archived_and_disposed_of_end_to_end(
    world: Any, archive: Path, django_capture_on_commit_callbacks: Any
) -> None:
    case = old_dossier(world)
    number, client_id = case.number, case.client_id
    document = Document.objects.get(case=case)
    file = stored(document)
    assert file.exists()
    assert tables_holding(NAME) and tables_holding(NOTE)

    # the nightly job offers it to the archive
    out = io.StringIO()
    call_command("retention", stdout=out)
    assert f"offered to the archive (were): 1 {case.reference}" in out.getvalue()
    offer = ArchiveOffer.objects.get(case=case)
    package = archive / offer.package
    assert verify_package(package) == []
    with zipfile.ZipFile(package) as sip:
        names = set(sip.namelist())
        metadata = sip.read("header/metadata.xml").decode()
        dossiers = [json.loads(line) for line in sip.read("content/dossiers.jsonl").splitlines()]
        journal = sip.read("content/journal.jsonl").decode()
    assert {"header/metadata.xml", "content/manifest.json", "content/persons.jsonl"} <= names
    assert f"content/documents/{document.pk}.pdf" in names
    assert "<paketTyp>SIP</paketTyp>" in metadata and case.reference in metadata
    assert metadata.count("<pruefsumme>") == len(names) - 1  # every file but the metadata
    assert dossiers[0]["source_id"] == f"filum:dossier:{case.pk}" and NOTE in journal
    # a package changed after it was written no longer verifies
    tampered = archive / "tampered.zip"
    with zipfile.ZipFile(package) as sip, zipfile.ZipFile(tampered, "w") as copy:
        for name in sip.namelist():
            data = sip.read(name)
            copy.writestr(name, data + b" " if name == "content/journal.jsonl" else data)
    assert verify_package(tampered) == ["content/journal.jsonl: checksum differs"]

    # the super-user sees it, previews its disposal (nothing changes), approves it
    client = world.superuser.client()
    page = client.get(reverse("disposal_list"))
    assert page.status_code == 200 and case.reference in page.content.decode()
    # without the archive's receipt, the disposal is refused
    answer = client.post(reverse("disposal_approve"), {"case": str(case.pk)}, follow=True)
    assert shown(REFUSALS["no_receipt"]) in answer.content.decode()
    assert Case.objects.filter(pk=case.pk).exists()
    # the archive took it: its receipt entered by the super-user, with the checksum it received
    answer = client.post(
        reverse("disposal_receipt"),
        {
            "case": str(case.pk),
            "decision": "taken",
            "reference": "StABE BB 11.4.2",
            "sha256": offer.package_sha256.upper(),
        },
        follow=True,
    )
    assert "StABE BB 11.4.2" in answer.content.decode()
    receipt = ArchiveReceipt.objects.get(offer=offer)
    assert (receipt.decision, receipt.entered_by) == ("taken", world.superuser.user)
    preview = client.get(reverse("disposal_list"), {"preview": str(case.pk)})
    assert "cases.case" in preview.content.decode()
    assert Case.objects.filter(pk=case.pk).exists() and not DisposalRecord.objects.exists()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        answer = client.post(reverse("disposal_approve"), {"case": str(case.pk)})
    assert answer.status_code == 302
    assert not Case.objects.filter(pk=case.pk).exists()
    assert not Person.objects.filter(pk=client_id).exists()
    assert file.exists()  # files go after the commit, not before
    for callback in callbacks:
        callback()
    assert not file.exists()
    assert package.exists()  # the archive's copy stays until the archive takes it

    record = DisposalRecord.objects.get()
    assert (record.case_number, record.domain, record.rule_years) == (number, "economic_aid", 10)
    assert record.approved_by == world.superuser.user
    assert record.closed_on == case.closed_on and record.package == offer.package
    assert (record.archive_decision, record.archive_reference) == ("taken", "StABE BB 11.4.2")
    assert record.archive_receipt_at == receipt.entered_at
    assert not ArchiveReceipt.objects.exists()  # went with the dossier; the record keeps it
    assert record.counts["cases.case"] == 1 and record.counts["persons"] == 2
    assert record.counts["audit_events"] > 0
    text = json.dumps(
        {f.name: str(getattr(record, f.attname)) for f in DisposalRecord._meta.fields}
    )
    assert NAME not in text and FIRST not in text and NOTE not in text

    # no content left in any table, and the audit chain still verifies
    assert tables_holding(NAME) == [] and tables_holding(NOTE) == [] and tables_holding(FIRST) == []
    assert AuditTombstone.objects.filter(disposal=record).count() == record.counts["audit_events"]
    out = io.StringIO()
    call_command("verify_audit", stdout=out)
    assert out.getvalue().startswith("intact")
    # the other organisation's dossier is untouched
    assert Case.objects.filter(pk=world.other_case.pk).exists()
    assert record.case_number not in set(Case.objects.values_list("number", flat=True))


def test_refused_disposals_leave_the_dossier_as_it_was(world: Any) -> None:
    client = world.superuser.client()
    open_case = world.case  # still open
    with pytest.raises(DisposalRefused) as refused:
        dispose(open_case.pk, approved_by=world.superuser.user)
    assert refused.value.code == "open"
    answer = client.post(reverse("disposal_approve"), {"case": str(open_case.pk)}, follow=True)
    assert shown(REFUSALS["open"]) in answer.content.decode()
    assert Case.objects.filter(pk=open_case.pk).exists()

    held = close(factories.CaseFactory(owner=world.service_org))
    call_command("retention", stdout=io.StringIO())
    client.post(reverse("disposal_hold"), {"case": str(held.pk), "reason": "Recours pendant"})
    hold = LegalHold.objects.get(case=held)
    assert hold.reason == "Recours pendant" and hold.set_by == world.superuser.user
    answer = client.post(reverse("disposal_approve"), {"case": str(held.pk)}, follow=True)
    assert shown(REFUSALS["hold"]) in answer.content.decode()
    assert Case.objects.filter(pk=held.pk).exists() and not DisposalRecord.objects.exists()
    # a second hold is refused; an empty reason is refused
    answer = client.post(
        reverse("disposal_hold"), {"case": str(held.pk), "reason": "x"}, follow=True
    )
    assert shown("%(dossier)s is already under legal hold.", held) in answer.content.decode()
    answer = client.post(
        reverse("disposal_hold"), {"case": str(held.pk), "reason": ""}, follow=True
    )
    assert shown("Choose a dossier and give the reason for the hold.") in answer.content.decode()
    # lifted, the disposal goes through (the archive having declined the package)
    receive_all("declined")
    client.post(reverse("disposal_lift"), {"case": str(held.pk)})
    assert LegalHold.objects.get(case=held).lifted_by == world.superuser.user
    client.post(reverse("disposal_approve"), {"case": str(held.pk)})
    assert not Case.objects.filter(pk=held.pk).exists()
    assert DisposalRecord.objects.get().archive_decision == "declined"

    young = close(factories.CaseFactory(owner=world.service_org), years_ago=9)
    with pytest.raises(DisposalRefused) as refused:
        dispose(young.pk, approved_by=world.superuser.user)
    assert refused.value.code == "not_due"
    unoffered = close(factories.CaseFactory(owner=world.service_org))
    with pytest.raises(DisposalRefused) as refused:
        dispose(unoffered.pk, approved_by=world.superuser.user)
    assert refused.value.code == "not_offered"


def test_a_failure_midway_rolls_that_dossier_back_and_the_run_goes_on(world: Any) -> None:
    first = old_dossier(world)
    second = close(factories.CaseFactory(owner=world.service_org))
    call_command("retention", stdout=io.StringIO())
    receive_all()
    events_before = tables_holding(NOTE)
    document = Document.objects.get(case=first)

    def fail_on_first(step: str) -> None:
        if step == "events" and Case.objects.filter(pk=first.pk).exists() is False:
            # the first dossier's rows are gone inside its transaction: fail now
            if not DisposalRecord.objects.filter(case_number=second.number).exists():
                raise RuntimeError("disk full")

    done, failed = dispose_many(
        [first.pk, second.pk], approved_by=world.superuser.user, on_step=fail_on_first
    )
    assert [pk for pk, _message in failed] == [first.pk]
    assert failed[0][1] == str(FAILED)
    assert [o.record.case_number for o in done if o.record] == [second.number]
    assert Case.objects.filter(pk=first.pk).exists()
    assert Contact.objects.filter(case=first).count() == 3
    assert Person.objects.filter(last_name=NAME).exists()
    assert tables_holding(NOTE) == events_before
    assert stored(document).exists()
    assert list(DisposalRecord.objects.values_list("case_number", flat=True)) == [second.number]
    assert not AuditTombstone.objects.exclude(disposal__case_number=second.number).exists()


def test_dry_runs_change_nothing(world: Any, archive: Path) -> None:
    case = old_dossier(world)
    out = io.StringIO()
    call_command("retention", "--dry-run", stdout=out)
    assert f"offered to the archive (would be): 1 {case.reference}" in out.getvalue()
    assert not ArchiveOffer.objects.exists()
    assert not archive.exists() or not any(archive.iterdir())
    call_command("retention", stdout=io.StringIO())
    receive_all()
    outcome = dispose(case.pk, approved_by=world.superuser.user, dry_run=True)
    assert outcome.record is None and outcome.counts["cases.case"] == 1
    assert outcome.persons_disposed == 2
    assert Case.objects.filter(pk=case.pk).exists() and not DisposalRecord.objects.exists()
    assert not AuditTombstone.objects.exists() and tables_holding(NOTE)


def test_a_person_kept_by_another_dossier_stays(world: Any) -> None:
    case = close(world.case)
    other = factories.CaseFactory(owner=world.outsider_org, client=case.client)
    call_command("retention", stdout=io.StringIO())
    receive_all()
    outcome = dispose(case.pk, approved_by=world.superuser.user)
    assert (outcome.persons_disposed, outcome.persons_kept) == (0, 1)
    assert Person.objects.filter(pk=case.client_id).exists()
    assert Case.objects.filter(pk=other.pk).exists()


def partition_names() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = 'records_readlog'::regclass"
        )
        return {row[0] for row in cursor.fetchall()}


def test_read_log_partitions_past_their_retention_are_dropped(settings: Any) -> None:
    today = timezone.localdate()
    old = add_months(today.replace(day=1), -14)
    recent = add_months(today.replace(day=1), -11)
    with connection.cursor() as cursor:
        for month in (old, recent):
            cursor.execute("SELECT filum_create_readlog_partition(%s)", [month])
    old_name, recent_name = (f"records_readlog_{m:%Y%m}" for m in (old, recent))
    report = Nightly()
    drop_expired_partitions(today, dry_run=True, report=report)
    assert old_name in report.dropped and old_name in partition_names()
    report = Nightly()
    drop_expired_partitions(today, dry_run=False, report=report)
    assert old_name in report.dropped and recent_name not in report.dropped
    assert old_name not in partition_names() and recent_name in partition_names()
    # a setting under a year is raised to the year the law asks (DSV art. 4)
    settings.FILUM_READ_LOG_RETENTION_MONTHS = 3
    report = Nightly()
    drop_expired_partitions(today, dry_run=False, report=report)
    assert recent_name in partition_names()
    # the database function refuses a young partition whatever it is asked
    with connection.cursor() as cursor:
        cursor.execute("SELECT filum_drop_readlog_partition(%s, 0)", [recent_name])
        assert cursor.fetchone()[0] is False
    assert recent_name in partition_names()


def test_the_retention_page_runs_a_fixed_number_of_queries(world: Any) -> None:
    from django.db import connection as db
    from django.test.utils import CaptureQueriesContext

    client = world.superuser.client()

    def count() -> int:
        with CaptureQueriesContext(db) as queries:
            assert client.get(reverse("disposal_list")).status_code == 200
        return len(queries)

    close(factories.CaseFactory(owner=world.service_org))
    call_command("retention", stdout=io.StringIO())
    client.get(reverse("disposal_list"))  # the first request of a session also saves it
    one = count()
    for _ in range(3):
        close(factories.CaseFactory(owner=world.service_org))
    call_command("retention", stdout=io.StringIO())
    held = close(factories.CaseFactory(owner=world.service_org))
    LegalHold.objects.create(case=held, reason="Enquête", set_by=world.superuser.user)
    assert count() == one


def test_m3_demo_has_a_dossier_offered_one_on_hold_and_one_disposed_in_both_languages(
    archive: Path,
) -> None:
    from filum.records.retention import due_dossiers
    from filum.tenancy.models import Organisation
    from tests.test_demo import seed

    seed()
    today = timezone.localdate()
    for name, reason in (
        ("Service social régional Bienne-Nidau", "Recours pendant"),
        ("Sozialdienst Thun", "Rückerstattungsverfahren"),
    ):
        organisation = Organisation.objects.get(name=name)
        due = {d.case.pk: d for d in due_dossiers(organisation, today)}
        offer = ArchiveOffer.objects.get(owner=organisation)
        hold = LegalHold.objects.get(case__owner=organisation, lifted_at__isnull=True)
        assert offer.case_id in due and hold.case_id in due
        assert due[offer.case_id].hold is None and due[hold.case_id].offer is None
        assert hold.reason.startswith(reason)
        assert verify_package(archive / offer.package) == []
        # one the archive took and the super-user disposed of: only its record is left
        record = DisposalRecord.objects.get(organisation=organisation)
        assert record.archive_decision == "taken"
        assert record.archive_reference.startswith("StABE BB 05.10.2015-")
        assert record.approved_by.username.startswith("su.")
        assert not Case.objects.filter(owner=organisation, number=record.case_number).exists()
        assert verify_package(archive / record.package) == []


# --- the archive's receipt (decision 0036 amendment) ------------------------------------------


def offered(world: Any) -> ArchiveOffer:
    case = close(factories.CaseFactory(owner=world.service_org))
    call_command("retention", stdout=io.StringIO())
    return ArchiveOffer.objects.get(case=case)


def post_receipt(client: Any, offer: ArchiveOffer, **data: Any) -> str:
    fields = {"case": str(offer.case_id), "decision": "taken", "reference": "StABE 7", **data}
    answer = client.post(reverse("disposal_receipt"), fields, follow=True)
    assert answer.status_code == 200
    return str(answer.content.decode())


def test_bad_receipts_are_refused_with_a_clear_message_and_nothing_recorded(
    world: Any, archive: Path
) -> None:
    offer = offered(world)
    client = world.superuser.client()
    wrong = "0" * 64
    # a checksum that is not the package's: refused (the package was damaged or is another)
    page = post_receipt(client, offer, sha256=wrong)
    assert shown(RECEIPT_REFUSALS["checksum"]) in page
    with pytest.raises(ReceiptRefused) as refused:
        record_receipt(offer, decision="taken", reference="R", sha256=wrong)
    assert refused.value.code == "checksum"
    # no checksum, or not 64 hexadecimal characters
    assert shown(RECEIPT_REFUSALS["no_checksum"]) in post_receipt(client, offer, sha256="")
    assert shown(RECEIPT_REFUSALS["no_checksum"]) in post_receipt(client, offer, sha256="abc")
    # taken without the archive's reference; an unknown answer
    page = post_receipt(client, offer, reference="", sha256=offer.package_sha256)
    assert shown(RECEIPT_REFUSALS["reference"]) in page
    page = post_receipt(client, offer, decision="lost", sha256=offer.package_sha256)
    assert shown(RECEIPT_REFUSALS["decision"]) in page
    # a receipt file naming another checksum only: refused, the file not kept
    other = io.BytesIO(f"<quittung><sha256>{wrong}</sha256></quittung>".encode())
    other.name = "quittung.xml"
    assert shown(RECEIPT_REFUSALS["checksum"]) in post_receipt(client, offer, receipt=other)
    assert not (archive / "receipts").exists() or not any((archive / "receipts").iterdir())
    # a dossier not offered: refused; disposal still refused without a receipt
    young = close(factories.CaseFactory(owner=world.service_org), years_ago=9)
    answer = client.post(
        reverse("disposal_receipt"),
        {"case": str(young.pk), "decision": "declined", "sha256": wrong},
        follow=True,
    )
    assert shown(REFUSALS["not_offered"]) in answer.content.decode()
    assert not ArchiveReceipt.objects.exists()
    with pytest.raises(DisposalRefused) as disposal:
        dispose(offer.case_id, approved_by=world.superuser.user)
    assert disposal.value.code == "no_receipt"

    # the archive's receipt file naming the package's checksum: recorded, the file kept
    good = io.BytesIO(
        b"Staatsarchiv Bern\nSignatur BB 05.10.1234\nSHA-256: "
        + offer.package_sha256.upper().encode()
    )
    good.name = "quittung.txt"
    page = post_receipt(client, offer, reference="BB 05.10.1234", receipt=good)
    receipt = ArchiveReceipt.objects.get(offer=offer)
    assert receipt.reference == "BB 05.10.1234" and receipt.package_sha256 == offer.package_sha256
    assert (
        receipt.receipt_file.startswith("receipts/") and (archive / receipt.receipt_file).exists()
    )
    # twice: refused, the first one stays
    page = post_receipt(client, offer, decision="declined", sha256=offer.package_sha256)
    assert shown(RECEIPT_REFUSALS["twice"]) in page
    assert ArchiveReceipt.objects.get(offer=offer).decision == "taken"
    with pytest.raises(ReceiptRefused) as refused:
        record_receipt(offer, decision="declined", sha256=offer.package_sha256)
    assert refused.value.code == "twice"


def test_the_archive_interface_records_its_receipt_by_command(world: Any, tmp_path: Path) -> None:
    offer = offered(world)
    with pytest.raises(CommandError, match="unknown"):
        call_command("archive_receipt", "SIP_nothing.zip", "--declined", "--sha256", "0" * 64)
    with pytest.raises(CommandError, match="checksum"):
        call_command("archive_receipt", offer.package, "--taken", "X", "--sha256", "1" * 64)
    receipt_file = tmp_path / "receipt.xml"
    receipt_file.write_text(f"<receipt><sha256>{offer.package_sha256}</sha256></receipt>")
    out = io.StringIO()
    call_command(
        "archive_receipt", offer.package, "--declined", "--receipt", receipt_file, stdout=out
    )
    assert out.getvalue().strip() == f"declined {offer.package}"
    receipt = ArchiveReceipt.objects.get(offer=offer)
    assert receipt.entered_by is None and receipt.decision == "declined"
    with pytest.raises(CommandError, match="twice"):
        call_command(
            "archive_receipt", offer.package, "--taken", "X", "--sha256", offer.package_sha256
        )
    record = dispose(offer.case_id, approved_by=world.superuser.user).record
    assert record is not None and record.archive_decision == "declined"


def test_the_retention_page_is_read_by_keyset_pages_with_a_fixed_number_of_queries(
    world: Any, monkeypatch: Any
) -> None:
    from django.test.utils import CaptureQueriesContext

    from filum.records import disposal_views

    monkeypatch.setattr(disposal_views, "PAGE", 2)
    cases = [
        close(factories.CaseFactory(owner=world.service_org), years_ago=11 + n % 2)
        for n in range(5)
    ]
    order = sorted(cases, key=lambda c: (c.closed_on, c.number))
    client = world.superuser.client()
    client.get(reverse("disposal_list"))
    seen: list[str] = []
    counts = []
    after = ""
    while True:
        with CaptureQueriesContext(connection) as queries:
            page = client.get(reverse("disposal_list"), {"after": after} if after else {})
        counts.append(len(queries))
        page_cases = page.context["rows"]
        seen += [row.case.reference for row in page_cases]
        after = page.context["next"]
        if not after:
            break
    assert seen == [c.reference for c in order]
    assert len(counts) == 3 and len(set(counts)) == 1
    # a damaged keyset is the first page
    page = client.get(reverse("disposal_list"), {"after": "yesterday_x"})
    assert [r.case.reference for r in page.context["rows"]] == seen[:2]


# --- security events past their retention (decision 0036 amendment) ---------------------------


def test_security_events_past_their_retention_are_dropped_and_the_chain_still_verifies(
    settings: Any,
) -> None:
    from filum.records.models import ChainCut, SecurityEvent
    from filum.records.retention import drop_expired_security_events

    now = timezone.now()
    ages = [40, 30, 25, 23, 13, 11, 1]  # months
    for months in ages:
        SecurityEvent.objects.create(kind="login", at=now - datetime.timedelta(days=31 * months))
    call_command("verify_audit", stdout=io.StringIO())  # a checkpoint before the drop
    report = Nightly()
    drop_expired_security_events(dry_run=True, report=report)
    assert report.security_events == 3 and SecurityEvent.objects.count() == 7
    report = Nightly()
    drop_expired_security_events(dry_run=False, report=report)
    assert report.security_events == 3  # older than 24 months (the default)
    kept = sorted(SecurityEvent.objects.values_list("at", flat=True))
    assert len(kept) == 4 and kept[0] > now - datetime.timedelta(days=31 * 24)
    cut = ChainCut.objects.get()
    assert (cut.relation, cut.first_seq, cut.last_seq, cut.rows) == (
        "records_securityevent",
        1,
        3,
        3,
    )
    out = io.StringIO()
    call_command("verify_audit", stdout=out)
    assert out.getvalue().startswith("intact"), out.getvalue()
    # a year is the least whatever the setting says (DSV art. 4 para. 5)
    settings.FILUM_SECURITY_EVENT_RETENTION_MONTHS = 2
    report = Nightly()
    drop_expired_security_events(dry_run=False, report=report)
    assert report.security_events == 2 and SecurityEvent.objects.count() == 2  # 23, 13
    SecurityEvent.objects.create(kind="login")  # the chain goes on after the cuts
    out = io.StringIO()
    call_command("verify_audit", stdout=out)
    assert out.getvalue().startswith("intact"), out.getvalue()
    # the newest row is never dropped (the next event links to it)
    with connection.cursor() as cursor:
        cursor.execute("SELECT filum_drop_security_events(0, false)")
        assert cursor.fetchone()[0] == 0
    assert SecurityEvent.objects.count() == 3 and ChainCut.objects.count() == 2


def test_the_app_role_cannot_drop_security_events_nor_fake_a_cut() -> None:
    from django.db import ProgrammingError

    from filum.records.models import SecurityEvent
    from tests.conftest import as_app_role

    SecurityEvent.objects.create(kind="login", at=timezone.now() - datetime.timedelta(days=1000))
    SecurityEvent.objects.create(kind="login")
    for statement in (
        "DELETE FROM records_securityevent",
        "TRUNCATE records_securityevent",
        "INSERT INTO records_chaincut (relation, first_seq, last_seq, rows, last_hash, before, "
        "made_at) VALUES ('records_securityevent', 1, 1, 1, '\\x00', now(), now())",
        "DELETE FROM records_chaincut",
    ):
        with pytest.raises(ProgrammingError, match="permission denied"), as_app_role() as cursor:
            cursor.execute(statement)
    assert SecurityEvent.objects.count() == 2
