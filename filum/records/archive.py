"""The archive package of a dossier past its retention (M3, decision 0036): an eCH-0160 SIP.

``SIP_<date>_<organisation>_D-<number>.zip`` holds ``header/metadata.xml`` (a reduced arelda
description: package type, delivering office, provenance, one dossier with its period and
documents, and the table of contents with the SHA-256 of every file) and ``content/``: the
dossier in the exchange format (``filum.exchange.export.export_case``: manifest, JSON lines,
documents). ``verify_package`` checks a package against its own metadata.
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
import xml.etree.ElementTree as ET  # noqa: S405 (we only write, and read our own packages)
import zipfile
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from filum.cases.models import Case
from filum.exchange.export import export_case

ARELDA = "http://bar.admin.ch/arelda/v4"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
METADATA = "header/metadata.xml"
CONTENT = "content"


def archive_dir() -> Path:
    """Where packages wait for the archive to take them (``FILUM_ARCHIVE_DIR``)."""
    configured = getattr(settings, "FILUM_ARCHIVE_DIR", None)
    path = Path(configured) if configured else Path(settings.BASE_DIR) / "var" / "archive"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


def _el(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, f"{{{ARELDA}}}{tag}", attrs)
    if text is not None:
        element.text = text
    return element


def _contents(parent: ET.Element, folder: Path, root: Path, ids: dict[str, str]) -> None:
    """The arelda table of contents: a folder element per directory, a file element with its
    checksum per file."""
    for path in sorted(folder.iterdir()):
        if path.is_dir():
            sub = _el(parent, "ordner")
            _el(sub, "name", path.name)
            _contents(sub, path, root, ids)
        else:
            relative = path.relative_to(root).as_posix()
            ids[relative] = f"f{len(ids) + 1}"
            entry = _el(parent, "datei", id=ids[relative])
            _el(entry, "name", path.name)
            _el(entry, "originalName", path.name)
            _el(entry, "pruefalgorithmus", "SHA-256")
            _el(entry, "pruefsumme", _sha256(path))


def _metadata(case: Case, root: Path) -> bytes:
    ET.register_namespace("", ARELDA)
    ET.register_namespace("xsi", XSI)
    paket = ET.Element(f"{{{ARELDA}}}paket", {"schemaVersion": "4.1", f"{{{XSI}}}type": "paketSIP"})
    _el(paket, "paketTyp", "SIP")
    toc = _el(paket, "inhaltsverzeichnis")
    header = _el(toc, "ordner")
    _el(header, "name", "header")
    content = _el(toc, "ordner")
    _el(content, "name", CONTENT)
    ids: dict[str, str] = {}
    _contents(content, root / CONTENT, root, ids)
    delivery = _el(paket, "ablieferung", **{f"{{{XSI}}}type": "ablieferungFilesSIP"})
    _el(delivery, "ablieferungstyp", "FILES")
    _el(delivery, "ablieferndeStelle", case.owner.name)
    _el(delivery, "entstehungszeitraum")
    _el(delivery, "bemerkung", f"Filum {timezone.now():%Y-%m-%d}")
    provenance = _el(delivery, "provenienz")
    _el(provenance, "aktenbildnerName", case.owner.name)
    _el(provenance, "registratur", "Filum")
    system = _el(delivery, "ordnungssystem")
    _el(system, "name", "Filum")
    position = _el(system, "ordnungssystemposition", id=f"p-{case.domain}")
    _el(position, "nummer", case.domain)
    _el(position, "titel", case.domain)
    dossier = _el(position, "dossier", id=f"d-{case.pk}")
    _el(dossier, "aktenzeichen", case.reference)
    _el(dossier, "titel", case.reference)
    period = _el(dossier, "entstehungszeitraum")
    _el(_el(period, "von"), "datum", case.opened_on.isoformat())
    _el(_el(period, "bis"), "datum", case.closed_on.isoformat() if case.closed_on else "")
    for relative, file_id in ids.items():
        if relative.startswith(f"{CONTENT}/documents/"):
            document = _el(dossier, "dokument", id=f"doc-{file_id}")
            _el(document, "titel", Path(relative).name)
            _el(document, "dateiRef", file_id)
    ET.indent(paket)
    return ET.tostring(paket, encoding="utf-8", xml_declaration=True)


@dataclass(frozen=True)
class Package:
    path: Path
    sha256: str


def package_name(case: Case) -> str:
    return f"SIP_{timezone.localdate():%Y%m%d}_{case.owner_id}_{case.reference}.zip"


def write_package(case: Case, directory: Path | None = None) -> Package:
    """Write the dossier's SIP as a zip in the archive folder; the zip appears complete or
    not at all (written aside, then renamed)."""
    directory = directory or archive_dir()
    target = directory / package_name(case)
    with tempfile.TemporaryDirectory(dir=directory) as work:
        root = Path(work) / "sip"
        export_case(case, root / CONTENT)
        (root / "header").mkdir(parents=True)
        (root / METADATA).write_bytes(_metadata(case, root))
        partial = Path(work) / "package.zip"
        with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as archive:
            for path in sorted(root.rglob("*")):
                if path.is_file():
                    archive.write(path, path.relative_to(root).as_posix())
        shutil.move(partial, target)
    return Package(path=target, sha256=_sha256(target))


def verify_package(path: Path) -> list[str]:
    """What is wrong with a package (empty: its files are those its metadata lists, each with
    the listed checksum)."""
    problems: list[str] = []
    with zipfile.ZipFile(path) as archive:
        names = {name for name in archive.namelist() if not name.endswith("/")}
        if METADATA not in names:
            return [f"{METADATA} missing"]
        root = ET.fromstring(archive.read(METADATA))  # noqa: S314 (our own package)
        listed: dict[str, str] = {}

        def walk(folder: ET.Element, prefix: str) -> None:
            for child in folder:
                if child.tag == f"{{{ARELDA}}}ordner":
                    name = child.findtext(f"{{{ARELDA}}}name", "")
                    walk(child, f"{prefix}{name}/")
                elif child.tag == f"{{{ARELDA}}}datei":
                    name = child.findtext(f"{{{ARELDA}}}name", "")
                    listed[f"{prefix}{name}"] = child.findtext(f"{{{ARELDA}}}pruefsumme", "")

        toc = root.find(f"{{{ARELDA}}}inhaltsverzeichnis")
        if toc is not None:
            walk(toc, "")
        for name in sorted(names - {METADATA} - set(listed)):
            problems.append(f"{name}: not in the metadata")
        for name, checksum in sorted(listed.items()):
            if name not in names:
                problems.append(f"{name}: missing")
            elif hashlib.sha256(archive.read(name)).hexdigest() != checksum:
                problems.append(f"{name}: checksum differs")
    return problems
