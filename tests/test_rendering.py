"""Markup written in Python for speed renders as the templates it replaced (U4, decision 0015).

The journal's entries, the dossier list's rows and the ``when`` tag were Django template code;
they are Python now because the pages spent most of their time in them. These tests render
both ways, in French and German, over entries that take every branch, and compare the HTML
(whitespace between block elements and runs of spaces are not significant in HTML and are
normalised)."""

from __future__ import annotations

import datetime
import re
import uuid
from pathlib import Path
from typing import Any

import pytest
from django import forms
from django.template import engines
from django.template.defaultfilters import date as date_filter
from django.utils import timezone, translation

from filum.cases.models import Case
from filum.cases.rendering import dossier_rows
from filum.journal.models import Contact, ContactKind, Topic
from filum.journal.rendering import journal_entries
from filum.people.models import BirthDateKnown, Person
from filum.tenancy.models import Organisation, User
from filum.web.templatetags.filum import field_row, when

# The loop the journal page had (journal/journal_list.html before it was written in Python).
REFERENCE = (Path(__file__).parent / "templates" / "journal_entries_reference.html").read_text()
BLOCK = re.compile(r"\s*(</?(?:li|div|p|ol|fieldset|legend)\b[^>]*>)\s*")


def normalised(html: str) -> str:
    return BLOCK.sub(r"\1", re.sub(r"\s+", " ", html)).strip()


class _Case:
    pk = uuid.UUID("11111111-2222-3333-4444-555555555555")


def contacts() -> list[Contact]:
    owner = Organisation(pk=7, name="Service social <Bienne> & Co")
    partner = Organisation(pk=8, name='Partenaire "Insertion"')
    author = User(pk=3, username="mmuster", first_name="Maria", last_name="Müster & <Fils>")
    topic = Topic(pk=1, code="budget", name_fr="Budget & dettes", name_de="Budget & Schulden")
    recorded = timezone.make_aware(datetime.datetime(2026, 11, 30, 16, 45))
    base: dict[str, Any] = {
        "owner": owner,
        "topic": topic,
        "recorded_by": author,
        "recorded_at": recorded,
        "date": datetime.date(2026, 11, 30),
    }
    ids = iter(range(101, 200))
    return [
        # face to face, one minute (singular), participants, a note with markup
        Contact(
            pk=next(ids),
            kind=ContactKind.INTERVIEW,
            counts=True,
            is_face_to_face=True,
            duration_minutes=1,
            participants="Mère <et> fils",
            note="<b>Loyer</b> & caution",
            **base,
        ),
        # a correction, back-dated (the recording day in small print), minutes in plural
        Contact(
            pk=next(ids),
            kind=ContactKind.HOME_VISIT,
            counts=True,
            is_face_to_face=True,
            duration_minutes=45,
            supersedes_id=1,
            **{**base, "date": datetime.date(2026, 11, 20)},
        ),
        # remote contact, no duration, no note
        Contact(pk=next(ids), kind=ContactKind.PHONE, counts=True, is_face_to_face=False, **base),
        # no contact
        Contact(pk=next(ids), kind=ContactKind.LETTER, counts=False, is_face_to_face=False, **base),
        # a partner's entry
        Contact(
            pk=next(ids),
            kind=ContactKind.NETWORK_EXTERNAL,
            counts=False,
            is_face_to_face=False,
            author_organisation=partner,
            duration_minutes=30,
            **base,
        ),
    ]


@pytest.mark.parametrize("language", ["fr", "de"])
@pytest.mark.parametrize("can_write", [True, False])
def test_u4_journal_entries_render_as_the_template_did(language, can_write):
    entries = contacts()
    case = _Case()
    with translation.override(language):
        expected = (
            engines["django"]
            .from_string(REFERENCE)
            .render({"contacts": entries, "case": case, "can_write": can_write})
        )
        written = journal_entries(entries, case.pk, can_write)
    assert normalised(written) == normalised(expected)
    # what the comparison rests on: every branch was taken, and the values were escaped
    assert written.count("<li ") == 5
    assert "badge--corrected" in written and "recorded" in written or "erfasst" in written
    assert ("journal__actions" in written) is can_write
    assert "&lt;b&gt;Loyer&lt;/b&gt; &amp; caution" in written
    assert "<b>" not in written
    assert "Partenaire &quot;Insertion&quot;" in written


@pytest.mark.parametrize(
    "recorded, effective, day_only",
    [
        (datetime.datetime(2026, 3, 29, 1, 30, tzinfo=datetime.UTC), None, False),  # DST day
        (
            datetime.datetime(2026, 11, 30, 23, 5, tzinfo=datetime.UTC),
            None,
            True,
        ),  # next day in Zurich
        (
            datetime.datetime(2026, 11, 30, 9, 5, tzinfo=datetime.UTC),
            datetime.date(2026, 11, 2),
            True,
        ),
        (
            datetime.datetime(2026, 1, 5, 7, 0, tzinfo=datetime.UTC),
            datetime.date(2026, 1, 5),
            False,
        ),
    ],
)
def test_u4_when_writes_what_the_date_filter_wrote(recorded, effective, day_only):
    """``when`` formats with strftime and isoformat; the date filter's formats gave the same."""
    local = timezone.localtime(recorded)
    day = effective or local.date()
    html = when(recorded, effective, day_only=day_only)
    if effective is not None and effective != local.date():
        assert (
            f'<time datetime="{date_filter(day, "Y-m-d")}">{date_filter(day, "d.m.Y")}</time>'
            in html
        )
        assert date_filter(local, "d.m.Y H:i") in html
    elif day_only:
        assert (
            html
            == f'<time datetime="{date_filter(day, "Y-m-d")}">{date_filter(day, "d.m.Y")}</time>'
        )
    else:
        shown = date_filter(local, "d.m.Y H:i")
        assert html == f'<time datetime="{date_filter(local, "c")}">{shown}</time>'


ROWS_REFERENCE = (Path(__file__).parent / "templates" / "case_rows_reference.html").read_text()
TABLE = re.compile(r"\s*(</?(?:tr|td|th)\b[^>]*>)\s*")


def table_normalised(html: str) -> str:
    return TABLE.sub(r"\1", re.sub(r"\s+", " ", html)).strip()


def person(
    last_name: str,
    first_name: str,
    birth_date: datetime.date | None = None,
    known: str = BirthDateKnown.DAY,
    **fields: Any,
) -> Person:
    return Person(
        pk=uuid.uuid4(),
        last_name=last_name,
        first_name=first_name,
        birth_date=birth_date,
        birth_date_known=known,
        **fields,
    )


def dossiers() -> list[Case]:
    owner = Organisation(pk=7, name="Service social <Bienne> & Co")
    worker = User(pk=3, username="mmuster", first_name="Maria", last_name="Müster & <Fils>")
    known = person("Dupont <script>", "Léa & Jo", datetime.date(1987, 3, 14))
    year_only = person("Keller", "Urs", datetime.date(1960, 1, 1), BirthDateKnown.YEAR)
    unknown = person("Hotaki", "Farid")
    base = {"owner": owner, "domain": "economic_aid", "stage": "intake_1"}
    rows = [
        Case(
            pk=uuid.uuid4(),
            number=number,
            client=client,
            responsible=responsible,
            status=status,
            opened_on=opened_on,
            **base,
        )
        for number, client, responsible, status, opened_on in [
            (12, known, worker, "open", datetime.date(2026, 11, 3)),
            (1234567, year_only, None, "closed", datetime.date(2019, 2, 1)),
            (99, unknown, worker, "open", datetime.date(2025, 12, 31)),
        ]
    ]
    for row, visible in zip(rows, [True, True, False], strict=True):
        row.core_visible = visible
    return rows


@pytest.mark.parametrize("language", ["fr", "de"])
@pytest.mark.parametrize("scope", ["mine", "shared"])
def test_u4_dossier_rows_render_as_the_template_did(language, scope):
    rows = dossiers()
    with translation.override(language):
        expected = (
            engines["django"].from_string(ROWS_REFERENCE).render({"rows": rows, "scope": scope})
        )
        written = dossier_rows(rows, scope)
    assert table_normalised(written) == table_normalised(expected)
    # every branch was taken, and the values were escaped
    assert written.count("<tr>") == 3 and "badge--closed" in written and 'colspan="4"' in written
    assert "—" in written and "1960" in written and "14.03.1987" in written
    assert "Dupont &lt;script&gt;" in written and "<script>" not in written
    assert ("Service social &lt;Bienne&gt; &amp; Co" in written) is (scope == "shared")


FIELD_REFERENCE = (Path(__file__).parent / "templates" / "field_reference.html").read_text()


class EveryKindOfField(forms.Form):
    name = forms.CharField(label="Nom <complet>", help_text="Tel qu'au registre & AVS")
    note = forms.CharField(label="Note", required=False, widget=forms.Textarea)
    agreed = forms.BooleanField(label="D'accord", required=False)
    kind = forms.ChoiceField(
        label="Genre", choices=[("a", "A & B"), ("c", "C")], widget=forms.RadioSelect
    )
    when = forms.DateField(
        label="Date", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )


@pytest.mark.parametrize("bound", [False, True])
@pytest.mark.parametrize("wide", [False, True])
def test_u4_form_fields_render_as_the_template_did(bound, wide):
    """Labels, required marks, help texts, errors, checkboxes and fieldsets: ``field_row``
    writes what ``web/_field.html`` wrote, for a fresh form and for one with errors."""
    form = EveryKindOfField({"name": "", "kind": "x", "when": "31.02.2026"} if bound else None)
    if bound:
        assert not form.is_valid()
    reference = engines["django"].from_string(FIELD_REFERENCE)
    for field in form:
        with translation.override("fr"):
            expected = reference.render({"field": field, "wide": wide})
            written = field_row(field, wide)
        assert normalised(written) == normalised(expected), field.name
    assert "field--wide" in field_row(form["name"], True)
    assert "&lt;complet&gt;" in field_row(form["name"])
    assert "<fieldset>" in field_row(form["kind"])
    if bound:
        assert 'class="field-errors"' in field_row(form["name"])
        assert 'aria-invalid="true"' in field_row(form["name"])


PERSON_ROWS_REFERENCE = (
    Path(__file__).parent / "templates" / "person_rows_reference.html"
).read_text()


def person_rows_of() -> list[Any]:
    from filum.steering.person_lists import ListedDossier, PersonRow

    known = person("Dupont <script>", "Léa & Jo", datetime.date(1987, 3, 14), residence_status="F")
    month_only = person("Keller", "Urs", datetime.date(1960, 5, 1), BirthDateKnown.MONTH)
    unknown = person("Hotaki", "Farid")

    def dossier(reference: str, segment: str, owner: str = "SSR <Bienne> & Co") -> Any:
        return ListedDossier(
            case_id=uuid.uuid4(),
            reference=reference,
            owner=owner,
            stage="counselling",
            segment=segment,
            status="open",
            own=True,
        )

    return [
        # two dossiers (a segment on one), every number known, a level
        PersonRow(
            person=known,
            age=39,
            stay_years=0,
            level="pre_a1",
            dossiers=[dossier("D-0000012", "A"), dossier("D-0000099", "", owner='KESB "Nord"')],
        ),
        # nothing known but the name and birth month: dashes
        PersonRow(person=month_only, age=None, stay_years=None, level="", dossiers=[]),
        # one dossier, no birth date
        PersonRow(person=unknown, age=0, stay_years=12, level="b1", dossiers=[dossier("D-1", "C")]),
    ]


@pytest.mark.parametrize("language", ["fr", "de"])
def test_u4_person_rows_render_as_the_template_did(language):
    from filum.steering.rendering import person_rows

    rows = person_rows_of()
    with translation.override(language):
        expected = (
            engines["django"].from_string(PERSON_ROWS_REFERENCE).render({"page": {"rows": rows}})
        )
        written = person_rows(rows)
    assert table_normalised(written) == table_normalised(expected)
    # every branch was taken, and the values were escaped
    assert written.count("<tr>") == 3 and written.count("<br>") == 3
    assert "05.1960" in written and "14.03.1987" in written and "PRE_A1" in written
    assert "Dupont &lt;script&gt;" in written and "<script>" not in written
    assert "KESB &quot;Nord&quot;" in written and "<td>—</td>" in written
