"""Upload checks (R21): an allowlist of types where the extension and the file's first bytes
must agree, and a size limit. The declared content type of the browser is ignored; the type
served on download is the one from this allowlist."""

from __future__ import annotations

import re
import unicodedata
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import PurePosixPath, PureWindowsPath

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.utils.formats import number_format
from django.utils.translation import gettext as _

MAX_SIZE = 10 * 1024 * 1024
# Office files are ZIP archives: read their directory only, never extract (zip bombs).
MAX_ZIP_ENTRIES = 5000
HEAD_BYTES = 8192
ODT_MIMETYPE = b"application/vnd.oasis.opendocument.text"
MARKUP = re.compile(rb"<\s*(!doctype\s+html|html|script|svg|iframe|body|head)\b", re.IGNORECASE)


def format_size(size: int) -> str:
    """A file size as the reader writes it: "13,5 Ko" in French, "13,5 kB" in German, and a
    round "10 Mo" for the limit. Django's ``filesizeformat`` keeps "KB"/"MB" in French and
    always shows a decimal. Units of 1024, like the limit."""
    units = (_("%(size)s B"), _("%(size)s KB"), _("%(size)s MB"))
    value, step = float(size), 0
    while value >= 1024 and step < len(units) - 1:
        value /= 1024
        step += 1
    rounded = round(value, 1)
    shown = int(rounded) if rounded.is_integer() else rounded
    return units[step] % {"size": number_format(shown, use_l10n=True)}


def _is_pdf(head: bytes, upload: UploadedFile) -> bool:
    return head.startswith(b"%PDF-")


def _is_png(head: bytes, upload: UploadedFile) -> bool:
    return head.startswith(b"\x89PNG\r\n\x1a\n")


def _is_jpeg(head: bytes, upload: UploadedFile) -> bool:
    return head.startswith(b"\xff\xd8\xff")


def _zip_names(upload: UploadedFile) -> list[str] | None:
    upload.seek(0)
    try:
        with zipfile.ZipFile(upload) as archive:
            infos = archive.infolist()
            if len(infos) > MAX_ZIP_ENTRIES:
                return None
            return [info.filename for info in infos]
    except (zipfile.BadZipFile, OSError, ValueError):
        return None
    finally:
        upload.seek(0)


def _is_docx(head: bytes, upload: UploadedFile) -> bool:
    if not head.startswith(b"PK\x03\x04"):
        return False
    names = _zip_names(upload)
    return names is not None and "[Content_Types].xml" in names and "word/document.xml" in names


def _is_odt(head: bytes, upload: UploadedFile) -> bool:
    # OpenDocument: the first entry is "mimetype", stored uncompressed, so the type string
    # sits at a fixed offset right after the local file header (ODF 1.2, part 3, 3.3).
    if not (head.startswith(b"PK\x03\x04") and head[30:38] == b"mimetype"):
        return False
    if head[38 : 38 + len(ODT_MIMETYPE)] != ODT_MIMETYPE:
        return False
    names = _zip_names(upload)
    return names is not None and "content.xml" in names


def _is_text(head: bytes, upload: UploadedFile) -> bool:
    upload.seek(0)
    data = upload.read()
    upload.seek(0)
    if b"\x00" in data:
        return False
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        try:
            data.decode("cp1252")
        except UnicodeDecodeError:
            return False
    # A text file that is really a web page would open as one if ever served inline.
    return MARKUP.search(data[:HEAD_BYTES]) is None


@dataclass(frozen=True)
class FileType:
    label: str
    content_type: str
    check: Callable[[bytes, UploadedFile], bool]


ALLOWED: dict[str, FileType] = {
    "pdf": FileType("PDF", "application/pdf", _is_pdf),
    "png": FileType("PNG", "image/png", _is_png),
    "jpg": FileType("JPEG", "image/jpeg", _is_jpeg),
    "jpeg": FileType("JPEG", "image/jpeg", _is_jpeg),
    "docx": FileType(
        "DOCX",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        _is_docx,
    ),
    "odt": FileType("ODT", "application/vnd.oasis.opendocument.text", _is_odt),
    "txt": FileType("TXT", "text/plain; charset=utf-8", _is_text),
}
ACCEPT = ",".join(f".{ext}" for ext in ALLOWED)
ALLOWED_LABELS = ", ".join(sorted({t.label for t in ALLOWED.values()}))


def clean_filename(name: str) -> str:
    """The user's file name as data: no folders, no control or direction characters (an
    RTL override can disguise ``exe.pdf``), at most 255 characters, never empty."""
    base = PureWindowsPath(PurePosixPath(name).name).name
    base = "".join(ch for ch in base if unicodedata.category(ch) not in {"Cc", "Cf", "Zl", "Zp"})
    base = base.strip().strip(".")
    if len(base) > 255:
        stem, dot, ext = base.rpartition(".")
        base = (stem[: 254 - len(ext)] + dot + ext) if dot and len(ext) <= 10 else base[:255]
    return base or "document"


def extension_of(name: str) -> str:
    _stem, dot, ext = name.rpartition(".")
    return ext.lower() if dot else ""


def check_upload(upload: UploadedFile) -> tuple[str, FileType]:
    """Validate an uploaded file; return its cleaned name and its type, or raise with a
    message the user can act on."""
    name = clean_filename(upload.name or "")
    size = upload.size or 0
    if size == 0:
        raise ValidationError(_("The file is empty."), code="empty")
    if size > MAX_SIZE:
        raise ValidationError(
            _("The file is too large (%(size)s). The limit is %(limit)s.")
            % {"size": format_size(size), "limit": format_size(MAX_SIZE)},
            code="too_large",
        )
    file_type = ALLOWED.get(extension_of(name))
    if file_type is None:
        raise ValidationError(
            _("This type of file is not accepted. Accepted are: %(types)s.")
            % {"types": ALLOWED_LABELS},
            code="type",
        )
    upload.seek(0)
    head = upload.read(HEAD_BYTES)
    upload.seek(0)
    if not file_type.check(head, upload):
        raise ValidationError(
            _(
                "The content of the file does not match its type (.%(ext)s). Save it again "
                "in the right format, or check that it is the right file."
            )
            % {"ext": extension_of(name)},
            code="mismatch",
        )
    return name, file_type
