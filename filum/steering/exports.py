"""The person list as CSV and XLSX (D4, decision 0034): the filter written in the file, the
column headers and labels in the user's language, every row read in keyset batches.

CSV: a leading block of lines whose first cell starts with ``#`` (the title, the date, each
set part of the filter), an empty line, then the header and the rows; semicolon-separated with
a byte-order mark, as spreadsheet programs in Switzerland read it. XLSX: xlsxwriter in
constant-memory mode, a "Persons" sheet and a "Filter" sheet."""

from __future__ import annotations

import csv
import datetime
import os
import tempfile
from collections.abc import Iterable, Iterator
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


class _Echo:
    def write(self, value: str) -> str:
        return value


def csv_lines(
    rows: Iterable[PersonRow], described: list[tuple[str, str]], made: datetime.datetime
) -> Iterator[str]:
    """The CSV file line by line, for a streamed response."""
    writer = csv.writer(_Echo(), delimiter=";")
    yield "\ufeff"
    for line in filter_block(described, made):
        yield writer.writerow(["# " + line[0], *line[1:]])
    yield writer.writerow([])
    yield writer.writerow(headers())
    for row in rows:
        yield writer.writerow(cells(row))


def xlsx_file(
    rows: Iterable[PersonRow], described: list[tuple[str, str]], made: datetime.datetime
) -> IO[bytes]:
    """The XLSX file, written in constant-memory mode to a temporary file and returned open
    for reading (the name is already unlinked: the file goes when it is closed)."""
    handle, name = tempfile.mkstemp(suffix=".xlsx")
    os.close(handle)
    try:
        book = xlsxwriter.Workbook(name, {"constant_memory": True, "tmpdir": tempfile.gettempdir()})
        bold = book.add_format({"bold": True})
        sheet = book.add_worksheet(_("Persons")[:31])
        sheet.write_row(0, 0, headers(), bold)
        sheet.freeze_panes(1, 0)
        number = 0
        for number, row in enumerate(rows, start=1):
            sheet.write_row(number, 0, cells(row))
        sheet.autofilter(0, 0, number, len(headers()) - 1)
        about = book.add_worksheet(pgettext("noun", "Filter")[:31])
        for index, line in enumerate(filter_block(described, made)):
            about.write_row(index, 0, line, bold if index == 0 else None)
        about.set_column(0, 0, 40)
        about.set_column(1, 1, 60)
        book.close()
        opened = open(name, "rb")  # noqa: SIM115 (handed to the response, which closes it)
    finally:
        os.unlink(name)
    return opened
