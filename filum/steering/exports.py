"""The person list as CSV and XLSX (D4, decision 0034): the filter written in the file, the
column headers and labels in the user's language, the rows written batch by batch by the
export job (``filum.steering.export_jobs``).

CSV: a leading block of lines whose first cell starts with ``#`` (the title, the date, each
set part of the filter), an empty line, then the header and the rows; semicolon-separated with
a byte-order mark, as spreadsheet programs in Switzerland read it. XLSX: xlsxwriter in
constant-memory mode, a "Persons" sheet and a "Filter" sheet."""

from __future__ import annotations

import csv
import datetime
import os
from abc import ABC, abstractmethod
from collections.abc import Iterable
from typing import IO

import xlsxwriter  # type: ignore[import-untyped]
from django.utils import formats
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from filum.assessments.models import CEFR_LABELS
from filum.steering.person_lists import PersonRow


def headers() -> list[str]:
    return [
        _("Last name"),
        _("First name"),
        _("Birth date"),
        _("Age"),
        _("Residence status"),
        _("Arrival in Switzerland"),
        _("Years in Switzerland"),
        _("Latest language level"),
        _("Dossiers"),
        _("Organisation"),
        _("Stage"),
        _("Segment"),
    ]


def _date(day: datetime.date | None) -> str:
    return formats.date_format(day, "d.m.Y") if day else ""


def cells(row: PersonRow) -> list[str | int]:
    person = row.person
    dossiers = row.dossiers
    return [
        person.last_name,
        person.first_name,
        person.birth_date_display,
        row.age if row.age is not None else "",
        person.get_residence_status_display(),
        _date(person.arrival_date),
        row.stay_years if row.stay_years is not None else "",
        str(CEFR_LABELS[row.level]) if row.level else "",
        ", ".join(d.reference for d in dossiers),
        ", ".join(dict.fromkeys(d.owner for d in dossiers)),
        ", ".join(d.stage_label for d in dossiers),
        ", ".join(d.segment_label or "—" for d in dossiers),
    ]


def filter_block(described: list[tuple[str, str]], made: datetime.datetime) -> list[list[str]]:
    """The file's title, its date and the filter, one (label, value) line each."""
    lines = [
        [_("Filum – list of persons")],
        [_("Made on"), formats.date_format(made, "d.m.Y H:i")],
        [pgettext("noun", "Filter")],
    ]
    lines += [[label, value] for label, value in described]
    if not described:
        lines.append([_("no filter: every person of the dossiers you may read")])
    return lines


class FileWriter(ABC):
    """One export file written by batches to a local file (``path``, in a temporary folder of
    its own): the filter block and the headers first, the rows as each batch comes, the
    closing parts in ``close``."""

    def __init__(self, path: str, described: list[tuple[str, str]], made: datetime.datetime):
        self.path = path
        self.described = described
        self.made = made

    @abstractmethod
    def write(self, rows: Iterable[PersonRow]) -> None:
        """Append the rows of one batch."""

    @abstractmethod
    def close(self) -> None:
        """Write the closing parts and close the file."""

    @abstractmethod
    def discard(self) -> None:
        """Let go of the open files after a failure (the folder is removed by the caller)."""


class CsvWriter(FileWriter):
    """Semicolon-separated with a byte-order mark, as spreadsheet programs in Switzerland read
    it; a leading block of ``# `` lines, an empty line, the header and the rows."""

    def __init__(self, path: str, described: list[tuple[str, str]], made: datetime.datetime):
        super().__init__(path, described, made)
        self.handle: IO[str] = open(path, "w", encoding="utf-8-sig", newline="")  # noqa: SIM115
        self.writer = csv.writer(self.handle, delimiter=";")
        for line in filter_block(described, made):
            self.writer.writerow(["# " + line[0], *line[1:]])
        self.writer.writerow([])
        self.writer.writerow(headers())

    def write(self, rows: Iterable[PersonRow]) -> None:
        self.writer.writerows(cells(row) for row in rows)

    def close(self) -> None:
        self.handle.close()

    def discard(self) -> None:
        self.handle.close()


class XlsxWriter(FileWriter):
    """xlsxwriter in constant-memory mode: a "Persons" sheet with an autofilter and a
    "Filter" sheet."""

    def __init__(self, path: str, described: list[tuple[str, str]], made: datetime.datetime):
        super().__init__(path, described, made)
        # its row buffers beside the file: the job's temporary folder, removed as a whole
        self.book = xlsxwriter.Workbook(
            path, {"constant_memory": True, "tmpdir": os.path.dirname(path)}
        )
        self.bold = self.book.add_format({"bold": True})
        self.sheet = self.book.add_worksheet(_("Persons")[:31])
        self.sheet.write_row(0, 0, headers(), self.bold)
        self.sheet.freeze_panes(1, 0)
        self.number = 0

    def write(self, rows: Iterable[PersonRow]) -> None:
        for row in rows:
            self.number += 1
            self.sheet.write_row(self.number, 0, cells(row))

    def close(self) -> None:
        self.sheet.autofilter(0, 0, self.number, len(headers()) - 1)
        about = self.book.add_worksheet(pgettext("noun", "Filter")[:31])
        for index, line in enumerate(filter_block(self.described, self.made)):
            about.write_row(index, 0, line, self.bold if index == 0 else None)
        about.set_column(0, 0, 40)
        about.set_column(1, 1, 60)
        self.book.close()

    def discard(self) -> None:
        # constant-memory mode keeps each sheet's rows in an open temporary file
        for sheet in self.book.worksheets():
            handle = getattr(sheet, "row_data_fh", None)
            if handle is not None:
                handle.close()


WRITERS: dict[str, type[FileWriter]] = {"csv": CsvWriter, "xlsx": XlsxWriter}
CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
