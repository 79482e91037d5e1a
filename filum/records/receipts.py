"""The archive's receipt of an offered package (M3, decision 0036 amendment).

The state archive answers an offer either by taking the package (it names its own reference
for it) or by declining it as not worth archiving; both end the offering that archive law asks
before destruction, so either lets the super-user approve the disposal. The receipt names the
SHA-256 of the package the archive received: it must be the offered package's, or the receipt
is refused (the package was damaged or is another one). The organisation's super-user enters
it on the retention page (the archive's reference and checksum, or the receipt file the
archive sent, in which the checksum is looked for); an automated archive interface uses
``manage.py archive_receipt``. One receipt per offer.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from django.db import IntegrityError, transaction
from django.utils.translation import gettext_lazy as _

from filum.records.archive import archive_dir
from filum.records.retention_models import ArchiveDecision, ArchiveOffer, ArchiveReceipt
from filum.tenancy.models import User

RECEIPT_MAX_BYTES = 1024 * 1024
RECEIPTS = "receipts"
_SHA256 = re.compile(r"(?<![0-9a-fA-F])[0-9a-fA-F]{64}(?![0-9a-fA-F])")

# Why a receipt is refused: the message shown (codes are what the command prints).
RECEIPT_REFUSALS = {
    "unknown": _("No package of that name was offered to the archive."),
    "twice": _("The archive's answer for this package is already recorded."),
    "checksum": _(
        "The checksum the archive received is not the offered package's: the package was "
        "damaged or is another one. Nothing was recorded; check with the archive."
    ),
    "no_checksum": _(
        "Give the SHA-256 checksum of the package the archive received (64 hexadecimal "
        "characters), or upload the archive's receipt that names it."
    ),
    "reference": _("Give the archive's reference of the package it took."),
    "decision": _("Choose whether the archive took the package or declined it."),
    "file": _("The receipt file is empty or larger than 1 MB."),
}


class ReceiptRefused(Exception):
    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code

    @property
    def message(self) -> str:
        return str(RECEIPT_REFUSALS[self.code])


def checksums_in(data: bytes) -> set[str]:
    """The SHA-256 checksums (64 hexadecimal characters) a receipt file names."""
    return {match.lower() for match in _SHA256.findall(data.decode("utf-8", "replace"))}


def _checked(
    offer: ArchiveOffer, decision: str, reference: str, sha256: str, file: bytes | None
) -> str:
    """The received checksum once everything is checked (or ``ReceiptRefused``)."""
    if decision not in ArchiveDecision.values:
        raise ReceiptRefused("decision")
    if decision == ArchiveDecision.TAKEN and not reference:
        raise ReceiptRefused("reference")
    if file is not None and not 0 < len(file) <= RECEIPT_MAX_BYTES:
        raise ReceiptRefused("file")
    typed = sha256.strip().lower()
    named = checksums_in(file) if file else set()
    if typed and not _SHA256.fullmatch(typed):
        raise ReceiptRefused("no_checksum")
    if not typed and not named:
        raise ReceiptRefused("no_checksum")
    # a typed checksum must be the package's; a file must name it among its checksums
    if (typed and typed != offer.package_sha256) or (named and offer.package_sha256 not in named):
        raise ReceiptRefused("checksum")
    return offer.package_sha256


def _store_file(offer: ArchiveOffer, data: bytes, name: str) -> tuple[str, str]:
    """Keep the receipt file beside the packages (written aside, then renamed)."""
    folder = archive_dir() / RECEIPTS
    folder.mkdir(parents=True, exist_ok=True)
    suffix = "".join(c for c in Path(name).suffix[:10] if c.isalnum() or c == ".") or ".bin"
    target = folder / f"{Path(offer.package).stem}.receipt{suffix}"
    partial = folder / f".{target.name}.part"
    partial.write_bytes(data)
    partial.replace(target)
    return f"{RECEIPTS}/{target.name}", hashlib.sha256(data).hexdigest()


def record_receipt(
    offer: ArchiveOffer,
    *,
    decision: str,
    reference: str = "",
    sha256: str = "",
    file: bytes | None = None,
    file_name: str = "",
    entered_by: User | None = None,
) -> ArchiveReceipt:
    """Record the archive's answer to an offer, all or nothing (``ReceiptRefused``)."""
    reference = reference.strip()[:100]
    received = _checked(offer, decision, reference, sha256, file)
    stored: Path | None = None
    try:
        with transaction.atomic():
            # the offer locked: two receipts entered at once cannot both pass
            locked = ArchiveOffer.objects.select_for_update().get(pk=offer.pk)
            if ArchiveReceipt.objects.filter(offer=locked).exists():
                raise ReceiptRefused("twice")
            file_ref, file_sha = "", ""
            if file:
                file_ref, file_sha = _store_file(locked, file, file_name)
                stored = archive_dir() / file_ref
            return ArchiveReceipt.objects.create(
                offer=locked,
                decision=decision,
                reference=reference,
                package_sha256=received,
                receipt_file=file_ref,
                receipt_sha256=file_sha,
                entered_by=entered_by,
            )
    except BaseException as error:  # nothing half-written: the file goes with the row
        if stored is not None:
            stored.unlink(missing_ok=True)
        if isinstance(error, IntegrityError):  # another receipt won the race
            raise ReceiptRefused("twice") from error
        raise


def offer_of_package(name: str) -> ArchiveOffer:
    """The offer of a package named by the archive interface (``ReceiptRefused`` if none)."""
    offer = ArchiveOffer.objects.filter(package=Path(name).name).first()
    if offer is None:
        raise ReceiptRefused("unknown")
    return offer
