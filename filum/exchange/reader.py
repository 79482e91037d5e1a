"""Reading a delivery of the intermediate format (M1): a folder or a zip, checked line by line.

``check_delivery(path)`` never raises for bad input: everything wrong with a delivery is a
``Problem`` in the ``Report``, with the file, the line and the field it concerns. A problem is
stored as a key and parameters (language-neutral) and rendered in the reader's language by
``Problem.message()``.

What is refused before anything is read (the zip is not trusted): entries whose path is
absolute or leaves the delivery's folder, symbolic links, more entries than ``Limits.entries``,
a declared uncompressed size over ``Limits.total_bytes``, an entry that expands more than
``Limits.ratio`` times, and an entry that yields more bytes than it declares."""

from __future__ import annotations

import abc
import hashlib
import io
import json
import os
import stat
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import IO, Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from pydantic import BaseModel, ValidationError

from filum.exchange.format import (
    DOCUMENTS_DIR,
    FORMAT_VERSION,
    KINDS,
    MANIFEST,
    DocumentRecord,
    Manifest,
    file_name,
    reference_values,
    references,
)

CHUNK = 64 * 1024


@dataclass(frozen=True)
class Limits:
    """What a delivery may be at most; the defaults fit a large service (2,500 hours of
    migration work: a few million lines and a few hundred thousand documents)."""

    entries: int = 500_000
    total_bytes: int = 200 * 1024**3
    ratio: int = 200  # uncompressed / compressed size of one entry
    ratio_from: int = 1024 * 1024  # entries smaller than this are not held to the ratio
    line_bytes: int = 4 * 1024 * 1024
    problems: int = 1000  # the report stops listing after this many


# The plain words of every problem, by key; the parameters fill them in.
MESSAGES: dict[str, Any] = {
    "delivery.missing": gettext_lazy("The delivery %(path)s does not exist."),
    "delivery.not_zip": gettext_lazy("The file is not a zip archive or it is damaged."),
    "zip.unsafe_path": gettext_lazy(
        "The zip contains %(name)s, a path outside the delivery's folder: refused."
    ),
    "zip.symlink": gettext_lazy("The delivery contains %(name)s, a symbolic link: refused."),
    "zip.too_many": gettext_lazy(
        "The zip has more than %(limit)s entries: refused as a possible zip bomb."
    ),
    "zip.too_large": gettext_lazy(
        "The zip would expand to %(size)s bytes, more than the %(limit)s allowed: refused."
    ),
    "zip.ratio": gettext_lazy(
        "%(name)s expands %(ratio)s times its compressed size (at most %(limit)s): "
        "refused as a possible zip bomb."
    ),
    "zip.size_mismatch": gettext_lazy(
        "%(name)s holds more data than the zip declares: refused as a possible zip bomb."
    ),
    "zip.damaged": gettext_lazy("%(name)s cannot be read from the zip: it is damaged."),
    "manifest.missing": gettext_lazy("The delivery has no manifest.json."),
    "manifest.json": gettext_lazy("manifest.json is not valid JSON (%(detail)s)."),
    "manifest.version": gettext_lazy(
        "The delivery is in format version %(found)s; this Filum reads version %(expected)s."
    ),
    "manifest.unknown_file": gettext_lazy(
        "The manifest lists %(file)s, which is not a file of the format."
    ),
    "file.missing": gettext_lazy("The manifest lists %(file)s but the delivery lacks it."),
    "file.unlisted": gettext_lazy("%(file)s is in the delivery but not in the manifest."),
    "file.checksum": gettext_lazy(
        "The SHA-256 of %(file)s does not match the manifest: the file was changed or damaged."
    ),
    "file.count": gettext_lazy(
        "%(file)s has %(found)s records; the manifest announces %(expected)s."
    ),
    "line.empty": gettext_lazy("The line is empty."),
    "line.too_long": gettext_lazy("The line is longer than %(limit)s bytes."),
    "line.encoding": gettext_lazy("The line is not UTF-8 text."),
    "line.json": gettext_lazy("The line is not valid JSON (%(detail)s)."),
    "line.not_object": gettext_lazy("The line is not a JSON object."),
    "field.unknown": gettext_lazy("The field %(field)s is not part of the format."),
    "field.missing": gettext_lazy("The required field %(field)s is missing."),
    "field.type": gettext_lazy("The field %(field)s must be %(expected)s."),
    "field.choice": gettext_lazy("The field %(field)s must be one of %(expected)s."),
    "field.pattern": gettext_lazy("The field %(field)s does not have the expected form."),
    "field.length": gettext_lazy("The field %(field)s is too long or too short."),
    "field.range": gettext_lazy("The field %(field)s is out of range."),
    "field.ahv_checksum": gettext_lazy(
        "The field %(field)s: the check digit of this AHV number is wrong."
    ),
    "field.document_path": gettext_lazy(
        "The field %(field)s must be a plain path under documents/."
    ),
    "field.version": gettext_lazy("The field %(field)s must be %(expected)s."),
    "field.invalid": gettext_lazy("The field %(field)s is not valid (%(detail)s)."),
    "record.duplicate": gettext_lazy(
        "The source id %(source_id)s appears twice in %(file)s (first on line %(first)s)."
    ),
    "record.reference": gettext_lazy(
        "The field %(field)s names %(source_id)s, which is not in %(target)s."
    ),
    "document.missing": gettext_lazy("The document's file %(path)s is not in the delivery."),
    "document.checksum": gettext_lazy(
        "The SHA-256 of %(path)s does not match the record: the file was changed or damaged."
    ),
    "document.size": gettext_lazy(
        "%(path)s has %(found)s bytes; the record announces %(expected)s."
    ),
    "document.twice": gettext_lazy("The file %(path)s is named by two documents."),
    # the import's dry run (filum.exchange.dryrun): what the delivery names outside itself
    "import.organisation": gettext_lazy(
        "The organisation %(name)s does not exist in Filum: create it first."
    ),
    "import.topic": gettext_lazy("The journal topic %(code)s does not exist in Filum."),
    "import.template": gettext_lazy(
        "The assessment template %(canton)s %(code)s version %(version)s does not exist in Filum."
    ),
    "import.share_organisation": gettext_lazy(
        "The organisation %(name)s, which the dossier is shared with, does not exist in Filum."
    ),
    "import.ahv_twice": gettext_lazy(
        "The AHV number of this person is also the one of %(source_id)s (line %(first)s): "
        "an AHV number belongs to one person."
    ),
    "import.duration": gettext_lazy(
        "The field %(field)s: a face-to-face contact needs a duration, and a duration is at "
        "least one minute."
    ),
    "import.date_range": gettext_lazy(
        "The field %(field)s: the date is implausible (before %(floor)s or from 2200 on)."
    ),
    "import.partial_birth_date": gettext_lazy(
        "The field %(field)s: a birth date known only by month or year is given as the first "
        "day of that month or year."
    ),
    "import.arrival_before_birth": gettext_lazy(
        "The field %(field)s: the arrival date is before the birth date."
    ),
    "import.correction_order": gettext_lazy(
        "This journal entry corrects the entry %(id)s, which comes later in the file: "
        "an entry must come before its corrections."
    ),
    "report.truncated": gettext_lazy(
        "More than %(limit)s problems: the report lists the first ones only."
    ),
}

# What a value of the wrong type should have been, in plain words.
EXPECTED: dict[str, Any] = {
    "string": gettext_lazy("a text"),
    "int": gettext_lazy("a whole number"),
    "float": gettext_lazy("a number"),
    "bool": gettext_lazy("true or false"),
    "date": gettext_lazy("a date (YYYY-MM-DD)"),
    "datetime": gettext_lazy("a date and time (ISO 8601)"),
    "list": gettext_lazy("a list"),
    "dict": gettext_lazy("an object"),
    "model": gettext_lazy("an object"),
    "none": gettext_lazy("empty (null)"),
}


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a delivery: language-neutral (key + params), located."""

    key: str
    params: dict[str, Any] = field(default_factory=dict)
    file: str = ""
    line: int | None = None
    field: str = ""

    def message(self) -> str:
        """The problem in the reader's language, with where it is."""
        params = {k: str(v) for k, v in self.params.items()}
        if self.key == "field.type":
            params["expected"] = str(EXPECTED.get(params["expected"], params["expected"]))
        params.setdefault("field", self.field)
        params.setdefault("file", self.file)
        text = str(MESSAGES[self.key]) % params
        if self.file and self.line is not None:
            return _("%(file)s, line %(line)s: %(text)s") % {
                "file": self.file,
                "line": self.line,
                "text": text,
            }
        if self.file:
            return _("%(file)s: %(text)s") % {"file": self.file, "text": text}
        return text

    def as_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "params": self.params,
            "file": self.file,
            "line": self.line,
            "field": self.field,
        }


@dataclass
class Report:
    problems: list[Problem] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    manifest: Manifest | None = None
    limit: int = Limits.problems
    truncated: bool = False

    @property
    def ok(self) -> bool:
        return not self.problems

    def add(self, problem: Problem) -> None:
        if len(self.problems) < self.limit:
            self.problems.append(problem)
        elif not self.truncated:
            self.truncated = True
            self.problems.append(Problem("report.truncated", {"limit": self.limit}))

    def keys(self) -> list[str]:
        return [p.key for p in self.problems]


class Refused(Exception):
    """The delivery cannot be opened safely at all."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.key)
        self.problem = problem


# --- the container: a folder or a zip ---------------------------------------------------------


def _safe_name(name: str) -> bool:
    """A relative path that stays inside the delivery's folder."""
    if not name or name.startswith(("/", "\\")) or "\\" in name or "\x00" in name:
        return False
    if len(name) > 1 and name[1] == ":":  # a drive letter
        return False
    return all(part not in ("..",) for part in PurePosixPath(name).parts)


class Container(abc.ABC):
    """Files of a delivery by their relative name."""

    @abc.abstractmethod
    def names(self) -> list[str]: ...

    @abc.abstractmethod
    def open(self, name: str) -> IO[bytes]: ...

    def close(self) -> None:
        return None


class FolderContainer(Container):
    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self._names: list[str] = []
        for directory, dirs, files in os.walk(self.root, followlinks=False):
            for entry in [*dirs, *files]:
                full = Path(directory) / entry
                relative = full.relative_to(self.root).as_posix()
                if full.is_symlink():
                    raise Refused(Problem("zip.symlink", {"name": relative}))
                if entry in files:
                    self._names.append(relative)

    def names(self) -> list[str]:
        return self._names

    def open(self, name: str) -> IO[bytes]:
        if not _safe_name(name):
            raise Refused(Problem("zip.unsafe_path", {"name": name}))
        return (self.root / name).open("rb")


class _Bounded(io.RawIOBase):
    """A zip entry's stream that refuses to yield more than the entry declares."""

    def __init__(self, raw: IO[bytes], name: str, declared: int) -> None:
        self.raw, self.name, self.left = raw, name, declared

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self.raw.read(min(len(buffer), self.left + 1))
        if len(data) > self.left:
            raise Refused(Problem("zip.size_mismatch", {"name": self.name}))
        self.left -= len(data)
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        self.raw.close()
        super().close()


class ZipContainer(Container):
    def __init__(self, path: Path, limits: Limits) -> None:
        try:
            self.zip = zipfile.ZipFile(path)  # noqa: SIM115 (closed by close())
        except (zipfile.BadZipFile, OSError, ValueError) as exc:
            raise Refused(Problem("delivery.not_zip")) from exc
        try:
            self.infos = self._checked(limits)
        except Refused:
            self.zip.close()
            raise

    def _checked(self, limits: Limits) -> dict[str, zipfile.ZipInfo]:
        infos = self.zip.infolist()
        if len(infos) > limits.entries:
            raise Refused(Problem("zip.too_many", {"limit": limits.entries}))
        total = 0
        checked: dict[str, zipfile.ZipInfo] = {}
        for info in infos:
            name = info.filename
            if not _safe_name(name):
                raise Refused(Problem("zip.unsafe_path", {"name": name}))
            if stat.S_ISLNK(info.external_attr >> 16):
                raise Refused(Problem("zip.symlink", {"name": name}))
            total += info.file_size
            if total > limits.total_bytes:
                raise Refused(
                    Problem("zip.too_large", {"size": total, "limit": limits.total_bytes})
                )
            if info.file_size > limits.ratio_from:
                ratio = info.file_size // max(info.compress_size, 1)
                if ratio > limits.ratio:
                    raise Refused(
                        Problem("zip.ratio", {"name": name, "ratio": ratio, "limit": limits.ratio})
                    )
            if not info.is_dir():
                checked[name] = info
        return checked

    def names(self) -> list[str]:
        return list(self.infos)

    def open(self, name: str) -> IO[bytes]:
        info = self.infos[name]
        try:
            raw = self.zip.open(info)
        except (zipfile.BadZipFile, NotImplementedError, RuntimeError) as exc:
            raise Refused(Problem("zip.damaged", {"name": name})) from exc
        return io.BufferedReader(_Bounded(raw, name, info.file_size), CHUNK)

    def close(self) -> None:
        self.zip.close()


def open_container(path: Path, limits: Limits) -> Container:
    if path.is_dir():
        return FolderContainer(path)
    if not path.exists():
        raise Refused(Problem("delivery.missing", {"path": str(path)}))
    return ZipContainer(path, limits)


# --- validation errors in plain words --------------------------------------------------------


def _field_path(loc: tuple[Any, ...]) -> str:
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path


def _expected(error_type: str) -> str:
    """The kind of value a type error expected (a key of ``EXPECTED``, stored as such)."""
    base = error_type.split("_")[0]
    return base if base in EXPECTED else error_type


def problems_of(error: ValidationError, *, file: str, line: int) -> list[Problem]:
    """The problems of one line, in plain words (several fields may be wrong at once)."""
    found: list[Problem] = []
    seen: set[str] = set()
    for item in error.errors(include_url=False):
        loc = tuple(item.get("loc", ()))
        kind = item["type"]
        # a union (e.g. "a date or null") reports each branch: keep the first per field
        loc = tuple(p for p in loc if not _is_branch(p))
        name = _field_path(loc)
        if name in seen and kind != "extra_forbidden":
            continue
        seen.add(name)
        ctx = item.get("ctx") or {}
        params: dict[str, Any] = {}
        if kind == "json_invalid":
            key, params = "line.json", {"detail": ctx.get("error", "")}
        elif kind in ("model_type", "model_attributes_type") and not loc:
            key = "line.not_object"
        elif kind == "extra_forbidden":
            key = "field.unknown"
        elif kind == "missing":
            key = "field.missing"
        elif kind in ("enum", "literal_error"):
            key, params = "field.choice", {"expected": ctx.get("expected", "")}
        elif kind == "string_pattern_mismatch":
            key = "field.pattern"
        elif kind.startswith(("string_too", "too_", "list_too")):
            key = "field.length"
        elif kind.startswith(("greater_than", "less_than")):
            key = "field.range"
        elif kind in ("ahv_checksum", "document_path"):
            key = f"field.{kind}"
        elif kind.endswith(("_type", "_parsing")) or kind.startswith(("date_", "datetime_")):
            key, params = "field.type", {"expected": _expected(kind)}
        else:
            key, params = "field.invalid", {"detail": item.get("msg", kind)}
        found.append(Problem(key, params, file=file, line=line, field=name))
    return found


_UNION_BRANCHES = frozenset({"str", "int", "float", "bool"})


def _is_branch(part: Any) -> bool:
    """A union's branch in an error's location (``constrained-str``, ``function-after[...]``,
    ``date``): field names of the format have neither dashes nor brackets."""
    return isinstance(part, str) and (part in _UNION_BRANCHES or "-" in part or "[" in part)


# --- reading ---------------------------------------------------------------------------------


def _lines(stream: IO[bytes], limits: Limits) -> Iterator[tuple[int, bytes | None]]:
    """Numbered lines; None for a line over the limit (its rest is skipped)."""
    number = 0
    while True:
        raw = stream.readline(limits.line_bytes + 1)
        if not raw:
            return
        number += 1
        if len(raw) > limits.line_bytes and not raw.endswith(b"\n"):
            while raw and not raw.endswith(b"\n"):
                raw = stream.readline(CHUNK)
            yield number, None
            continue
        yield number, raw


class _Hashing:
    def __init__(self, stream: IO[bytes]) -> None:
        self.stream = stream
        self.sha = hashlib.sha256()

    def readline(self, size: int = -1) -> bytes:
        data = self.stream.readline(size)
        self.sha.update(data)
        return data


def _sha256(stream: IO[bytes]) -> tuple[str, int]:
    sha, size = hashlib.sha256(), 0
    while chunk := stream.read(CHUNK):
        sha.update(chunk)
        size += len(chunk)
    return sha.hexdigest(), size


RecordHandler = Callable[[str, int, BaseModel], None]


class DeliveryReader:
    """Reads one delivery, checking everything; the records that pass go to ``on_record``."""

    def __init__(
        self,
        path: Path | str,
        *,
        limits: Limits | None = None,
        report: Report | None = None,
        checkpoint_every: int | None = None,
    ) -> None:
        self.path = Path(path)
        self.limits = limits or Limits()
        self.report = report if report is not None else Report(limit=self.limits.problems)
        # with ``checkpoint_every``: per kind, the SHA-256 of its file's first N lines for
        # every multiple N (``read_checked`` compares them before each batch is stored)
        self.checkpoint_every = checkpoint_every
        self.digests: dict[str, dict[int, str]] = {kind: {} for kind in KINDS}
        # source ids seen per kind: source id -> line number
        self.seen: dict[str, dict[str, int]] = {kind: {} for kind in KINDS}
        self.pending: list[tuple[str, int, str, str, str]] = []  # same-kind references

    def check(self, on_record: RecordHandler | None = None) -> Report:
        try:
            container = open_container(self.path, self.limits)
        except Refused as refused:
            self.report.add(refused.problem)
            return self.report
        try:
            self._read(container, on_record)
        except Refused as refused:
            self.report.add(refused.problem)
        finally:
            container.close()
        return self.report

    def _read(self, container: Container, on_record: RecordHandler | None) -> None:
        names = set(container.names())
        manifest = self._manifest(container, names)
        if manifest is None:
            return
        self.report.manifest = manifest
        kind_files = {file_name(kind): kind for kind in KINDS}
        for listed in manifest.files:
            if listed not in kind_files:
                self.report.add(Problem("manifest.unknown_file", {"file": listed}, file=MANIFEST))
        for name in sorted(names):
            if name != MANIFEST and not name.startswith(DOCUMENTS_DIR):
                if name not in manifest.files:
                    self.report.add(Problem("file.unlisted", {"file": name}, file=name))
        documents: list[tuple[int, DocumentRecord]] = []
        for kind in KINDS:
            name = file_name(kind)
            entry = manifest.files.get(name)
            if name not in names:
                if entry is not None:
                    self.report.add(Problem("file.missing", {"file": name}, file=MANIFEST))
                continue
            if entry is None:
                continue
            with container.open(name) as stream:
                hashing = _Hashing(stream)
                count = self._read_kind(kind, name, hashing, on_record, documents)
                sha = hashing.sha.hexdigest()
            self.report.counts[kind] = count
            if sha != entry.sha256:
                self.report.add(Problem("file.checksum", {"file": name}, file=name))
            if count != entry.count:
                self.report.add(
                    Problem(
                        "file.count",
                        {"file": name, "found": count, "expected": entry.count},
                        file=name,
                    )
                )
        for file, line, path, kind, value in self.pending:
            if value not in self.seen[kind]:
                self._unknown_reference(file, line, path, kind, value)
        self._check_documents(container, names, documents)

    def _manifest(self, container: Container, names: set[str]) -> Manifest | None:
        if MANIFEST not in names:
            self.report.add(Problem("manifest.missing"))
            return None
        with container.open(MANIFEST) as stream:
            data = stream.read(self.limits.line_bytes + 1)
        if len(data) > self.limits.line_bytes:
            self.report.add(
                Problem("line.too_long", {"limit": self.limits.line_bytes}, file=MANIFEST)
            )
            return None
        try:
            raw = json.loads(data)
        except (ValueError, UnicodeDecodeError) as exc:
            self.report.add(Problem("manifest.json", {"detail": str(exc)[:200]}, file=MANIFEST))
            return None
        if isinstance(raw, dict) and raw.get("format_version") != FORMAT_VERSION:
            found = raw.get("format_version")
            self.report.add(
                Problem(
                    "manifest.version",
                    {"found": str(found)[:20], "expected": FORMAT_VERSION},
                    file=MANIFEST,
                    field="format_version",
                )
            )
            return None
        try:
            return Manifest.model_validate_json(data)
        except ValidationError as exc:
            for problem in problems_of(exc, file=MANIFEST, line=1):
                self.report.add(Problem(problem.key, problem.params, MANIFEST, None, problem.field))
            return None

    def _read_kind(
        self,
        kind: str,
        name: str,
        stream: Any,
        on_record: RecordHandler | None,
        documents: list[tuple[int, DocumentRecord]],
    ) -> int:
        model = KINDS[kind]
        refs = references(model)
        seen = self.seen[kind]
        count = 0
        every = self.checkpoint_every
        digests = self.digests[kind]
        for number, raw in _lines(stream, self.limits):
            count += 1  # the manifest counts lines: one record each
            if every and number % every == 0:
                digests[number] = stream.sha.copy().hexdigest()
            if raw is None:
                self.report.add(
                    Problem("line.too_long", {"limit": self.limits.line_bytes}, name, number)
                )
                continue
            if not raw.strip():
                self.report.add(Problem("line.empty", {}, name, number))
                continue
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                self.report.add(Problem("line.encoding", {}, name, number))
                continue
            try:
                record = model.model_validate_json(text)
            except ValidationError as exc:
                for problem in problems_of(exc, file=name, line=number):
                    self.report.add(problem)
                continue
            first = seen.get(record.source_id)
            if first is not None:
                self.report.add(
                    Problem(
                        "record.duplicate",
                        {"source_id": record.source_id, "first": first},
                        name,
                        number,
                        "source_id",
                    )
                )
                continue
            seen[record.source_id] = number
            broken = False
            for path, target, _nested in refs:
                for value in reference_values(record, path):
                    if target == kind:
                        self.pending.append((name, number, path, target, value))
                    elif value not in self.seen[target]:
                        self._unknown_reference(name, number, path, target, value)
                        broken = True
            if isinstance(record, DocumentRecord):
                documents.append((number, record))
            if on_record is not None and not broken:
                on_record(kind, number, record)
        return count

    def _unknown_reference(self, file: str, line: int, path: str, kind: str, value: str) -> None:
        self.report.add(
            Problem(
                "record.reference",
                {"source_id": value, "target": file_name(kind)},
                file,
                line,
                path,
            )
        )

    def _check_documents(
        self, container: Container, names: set[str], documents: list[tuple[int, DocumentRecord]]
    ) -> None:
        name = file_name("documents")
        used: set[str] = set()
        for number, record in documents:
            params = {"path": record.path}
            if record.path in used:
                self.report.add(Problem("document.twice", params, name, number, "path"))
                continue
            used.add(record.path)
            if record.path not in names:
                self.report.add(Problem("document.missing", params, name, number, "path"))
                continue
            with container.open(record.path) as stream:
                sha, size = _sha256(stream)
            if size != record.size:
                self.report.add(
                    Problem(
                        "document.size",
                        {**params, "found": size, "expected": record.size},
                        name,
                        number,
                        "size",
                    )
                )
            elif sha != record.sha256:
                self.report.add(Problem("document.checksum", params, name, number, "sha256"))


class DeliveryChanged(Exception):
    """The delivery read for the import is not the one its dry run checked."""

    def __init__(self, file: str, line: int | None = None) -> None:
        where = file if line is None else f"{file}, line {line}"
        super().__init__(f"the delivery changed after its dry run ({where})")
        self.file, self.line = file, line


def read_checked(
    path: Path | str,
    *,
    manifest: Manifest,
    digests: dict[str, dict[int, str]],
    every: int,
    on_record: RecordHandler,
    limits: Limits | None = None,
) -> None:
    """Read a delivery its dry run found without a problem (``DeliveryReader`` with
    ``checkpoint_every=every``), passing its records to ``on_record`` without checking again
    what the dry run checked (unique source ids, references, the documents' checksums: the
    import checks each document's bytes as it copies it). What is read must be what the dry
    run read: before the record of each line numbered a multiple of ``every`` is passed on, the
    file's first lines up to it must have the SHA-256 the dry run noted, and each file must end
    with the checksum and line count of the manifest the dry run checked; otherwise
    ``DeliveryChanged`` is raised. A caller that stores records by batches of ``every`` per
    kind so stores only lines the dry run checked."""
    limits = limits or Limits()
    container = open_container(Path(path), limits)
    try:
        names = set(container.names())
        for kind in KINDS:
            name = file_name(kind)
            entry = manifest.files.get(name)
            if entry is None:
                continue
            if name not in names:
                raise DeliveryChanged(name)
            model = KINDS[kind]
            noted = digests.get(kind, {})
            count = 0
            with container.open(name) as raw_stream:
                stream = _Hashing(raw_stream)
                for number, raw in _lines(stream, limits):  # type: ignore[arg-type]
                    count = number
                    if raw is None:
                        raise DeliveryChanged(name, number)
                    if number % every == 0 and noted.get(number) != stream.sha.copy().hexdigest():
                        raise DeliveryChanged(name, number)
                    try:
                        record = model.model_validate_json(raw)
                    except ValidationError as exc:
                        raise DeliveryChanged(name, number) from exc
                    on_record(kind, number, record)
                if stream.sha.hexdigest() != entry.sha256 or count != entry.count:
                    raise DeliveryChanged(name)
    finally:
        container.close()


def check_delivery(
    path: Path | str,
    *,
    limits: Limits | None = None,
    on_record: RecordHandler | None = None,
    report: Report | None = None,
) -> Report:
    """Check a delivery (folder or zip); every problem is in the report, none raised. A
    ``report`` given (a subclass that tallies, for the readiness check) collects them."""
    return DeliveryReader(path, limits=limits, report=report).check(on_record)
