"""eCH-0044 version 4, person identification (X7): a person's identification out of Filum and
into it, as the XML element ``personIdentificationRoot`` of the standard.

The rules of the standard's schema, checked on both ways (domain.md section H):

* ``vn``: the AHV number, 13 digits without dots, from 7560000000001 to 7569999999999
  (and, as everywhere in Filum, with a correct check digit); optional;
* ``localPersonId``: the sending system's own id, a category (1-20 characters) and an id
  (1-36 characters); Filum sends ``LOC.FILUM`` and the person's UUID;
* ``otherPersonId`` and ``euPersonId``: any number of further ids (category and id);
* ``officialName``, ``firstName`` (1-100 characters), ``originalName`` (optional);
* ``sex``: 1 (male) or 2 (female), nothing else;
* ``dateOfBirth``: exactly one of ``yearMonthDay``, ``yearMonth`` or ``year``, a birth date
  that may be only partly known.

Reading refuses a document with a DOCTYPE (no entities, no external references) and reports
every problem it finds with the element it concerns, in the reader's language."""

from __future__ import annotations

import datetime
import re
import xml.etree.ElementTree as ET  # noqa: S405 (documents with a DOCTYPE are refused first)
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from filum.people.models import BirthDateKnown, Person, Sex, clean_ahv_number

NS = "http://www.ech.ch/xmlns/eCH-0044/4"
ROOT = "personIdentificationRoot"
LOCAL_CATEGORY = "LOC.FILUM"
VN_MIN, VN_MAX = 7560000000001, 7569999999999
MAX_BYTES = 64 * 1024  # a person's identification is a few hundred bytes

SEX_TO_ECH = {Sex.MALE: "1", Sex.FEMALE: "2"}
SEX_FROM_ECH = {code: sex for sex, code in SEX_TO_ECH.items()}


@dataclass(frozen=True)
class NamedId:
    category: str
    id: str


@dataclass(frozen=True)
class PartialDate:
    """A date of birth known to the day, the month or only the year."""

    year: int
    month: int | None = None
    day: int | None = None

    @property
    def known(self) -> str:
        if self.day is not None:
            return BirthDateKnown.DAY
        return BirthDateKnown.MONTH if self.month is not None else BirthDateKnown.YEAR

    def first_day(self) -> datetime.date:
        """The date Filum stores: the first day of what is known."""
        return datetime.date(self.year, self.month or 1, self.day or 1)

    @classmethod
    def of(cls, date: datetime.date, known: str) -> PartialDate:
        if known == BirthDateKnown.YEAR:
            return cls(date.year)
        if known == BirthDateKnown.MONTH:
            return cls(date.year, date.month)
        return cls(date.year, date.month, date.day)


@dataclass(frozen=True)
class PersonIdentification:
    local_id: NamedId
    official_name: str
    first_name: str
    sex: str  # "1" or "2"
    date_of_birth: PartialDate
    vn: str | None = None
    original_name: str | None = None
    other_ids: list[NamedId] = field(default_factory=list)
    eu_ids: list[NamedId] = field(default_factory=list)

    def person_fields(self) -> dict[str, object]:
        """The fields of a Filum person it fills in."""
        return {
            "last_name": self.official_name,
            "first_name": self.first_name,
            "sex": SEX_FROM_ECH[self.sex],
            "birth_date": self.date_of_birth.first_day(),
            "birth_date_known": self.date_of_birth.known,
            "ahv_number": self.vn,
        }


# --- out of Filum ------------------------------------------------------------------------------


def identification_of(person: Person) -> PersonIdentification:
    """The person's identification; ValidationError naming what is missing when the standard
    needs something Filum does not know (the sex as male or female, the birth date)."""
    problems = []
    if person.sex not in SEX_TO_ECH:
        problems.append(
            _("eCH-0044 knows only the sexes male and female; this person's sex is not one.")
        )
    if person.birth_date is None:
        problems.append(_("eCH-0044 needs a date of birth, at least its year."))
    if problems or person.birth_date is None:
        raise ValidationError(problems)
    return PersonIdentification(
        local_id=NamedId(LOCAL_CATEGORY, str(person.pk)),
        official_name=person.last_name,
        first_name=person.first_name,
        sex=SEX_TO_ECH[Sex(person.sex)],
        date_of_birth=PartialDate.of(person.birth_date, person.birth_date_known),
        vn=person.ahv_number or None,
    )


def _named(parent: ET.Element, tag: str, named: NamedId) -> None:
    element = ET.SubElement(parent, f"{{{NS}}}{tag}")
    ET.SubElement(element, f"{{{NS}}}personIdCategory").text = named.category
    ET.SubElement(element, f"{{{NS}}}personId").text = named.id


def to_xml(identification: PersonIdentification) -> bytes:
    """The ``personIdentificationRoot`` document, UTF-8, elements in the schema's order."""
    ET.register_namespace("eCH-0044", NS)
    root = ET.Element(f"{{{NS}}}{ROOT}")
    person = ET.SubElement(root, f"{{{NS}}}personIdentification")

    def text(tag: str, value: str) -> None:
        ET.SubElement(person, f"{{{NS}}}{tag}").text = value

    if identification.vn:
        text("vn", identification.vn)
    _named(person, "localPersonId", identification.local_id)
    for named in identification.other_ids:
        _named(person, "otherPersonId", named)
    for named in identification.eu_ids:
        _named(person, "euPersonId", named)
    text("officialName", identification.official_name)
    text("firstName", identification.first_name)
    if identification.original_name:
        text("originalName", identification.original_name)
    text("sex", identification.sex)
    birth = ET.SubElement(person, f"{{{NS}}}dateOfBirth")
    d = identification.date_of_birth
    if d.day is not None:
        ET.SubElement(birth, f"{{{NS}}}yearMonthDay").text = d.first_day().isoformat()
    elif d.month is not None:
        ET.SubElement(birth, f"{{{NS}}}yearMonth").text = f"{d.year:04d}-{d.month:02d}"
    else:
        ET.SubElement(birth, f"{{{NS}}}year").text = f"{d.year:04d}"
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


# --- into Filum --------------------------------------------------------------------------------


class _Reader:
    """Collects every problem of a document, each with the element it concerns."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def problem(self, where: str, message: str) -> None:
        self.problems.append(f"{where}: {message}")

    def children(self, element: ET.Element) -> list[ET.Element]:
        return list(element)

    def token(self, element: ET.Element | None, where: str, *, max_length: int) -> str | None:
        """An xs:token: whitespace collapsed, 1 to max_length characters."""
        if element is None:
            self.problem(where, _("missing"))
            return None
        if len(element):
            self.problem(where, _("holds elements instead of text"))
            return None
        value = " ".join((element.text or "").split())
        if not value:
            self.problem(where, _("empty"))
            return None
        if len(value) > max_length:
            self.problem(
                where,
                _("longer than %(n)d characters") % {"n": max_length},
            )
            return None
        return value

    def named(self, element: ET.Element, where: str) -> NamedId | None:
        category = self.token(
            element.find(f"{{{NS}}}personIdCategory"), f"{where}/personIdCategory", max_length=20
        )
        value = self.token(element.find(f"{{{NS}}}personId"), f"{where}/personId", max_length=36)
        if category is None or value is None:
            return None
        return NamedId(category, value)


_ORDER = [
    "vn",
    "localPersonId",
    "otherPersonId",
    "euPersonId",
    "officialName",
    "firstName",
    "originalName",
    "sex",
    "dateOfBirth",
]
_ONCE = {"vn", "localPersonId", "officialName", "firstName", "originalName", "sex", "dateOfBirth"}
_YEAR_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_YEAR = re.compile(r"^(\d{4})$")


def _vn(reader: _Reader, element: ET.Element | None) -> str | None:
    if element is None:
        return None
    value = (element.text or "").strip()
    if not value.isdigit() or not VN_MIN <= int(value) <= VN_MAX or len(value) != 13:
        reader.problem(
            "vn",
            _("an AHV number of 13 digits without dots, from 7560000000001 to 7569999999999"),
        )
        return None
    try:
        return clean_ahv_number(value)
    except ValidationError as exc:
        reader.problem("vn", " ".join(exc.messages))
        return None


def _date_of_birth(reader: _Reader, element: ET.Element | None) -> PartialDate | None:
    where = "dateOfBirth"
    if element is None:
        reader.problem(where, _("missing"))
        return None
    choice = list(element)
    if len(choice) != 1:
        reader.problem(where, _("exactly one of yearMonthDay, yearMonth or year"))
        return None
    tag = choice[0].tag.removeprefix(f"{{{NS}}}")
    value = (choice[0].text or "").strip()
    try:
        if tag == "yearMonthDay":
            date = datetime.date.fromisoformat(value) if len(value) == 10 else None
            if date is None:
                raise ValueError
            found = PartialDate(date.year, date.month, date.day)
        elif tag == "yearMonth" and (match := _YEAR_MONTH.match(value)):
            year, month = int(match[1]), int(match[2])
            datetime.date(year, month, 1)
            found = PartialDate(year, month)
        elif tag == "year" and (match := _YEAR.match(value)):
            found = PartialDate(int(match[1]))
            datetime.date(found.year, 1, 1)
        else:
            raise ValueError
    except ValueError:
        reader.problem(
            f"{where}/{tag}", _("not a valid date of this kind: %(value)s") % {"value": value[:40]}
        )
        return None
    if found.first_day() > datetime.date.today():
        reader.problem(f"{where}/{tag}", _("a date of birth cannot be in the future"))
        return None
    return found


def from_xml(data: bytes) -> PersonIdentification:
    """Read a ``personIdentificationRoot`` document. ValidationError with every problem
    found, each naming its element."""
    if len(data) > MAX_BYTES:
        raise ValidationError(_("The file is too large for a person's identification."))
    if b"<!DOCTYPE" in data.upper() or b"<!ENTITY" in data.upper():
        raise ValidationError(_("The file declares a DOCTYPE or entities, which are not accepted."))
    try:
        root = ET.fromstring(data)  # noqa: S314 (no DOCTYPE, see above)
    except ET.ParseError as exc:
        raise ValidationError(
            _("The file is not well-formed XML (line %(line)d).") % {"line": exc.position[0]}
        ) from exc
    if root.tag != f"{{{NS}}}{ROOT}":
        raise ValidationError(
            _("This is not an eCH-0044 version 4 person identification (root element %(tag)s).")
            % {"tag": root.tag}
        )
    person = root.find(f"{{{NS}}}personIdentification")
    if person is None or len(root) != 1:
        raise ValidationError(_("personIdentificationRoot holds exactly one personIdentification."))
    reader = _Reader()
    tags = [child.tag.removeprefix(f"{{{NS}}}") for child in person]
    unknown = [t for t in tags if t not in _ORDER]
    for tag in unknown:
        reader.problem(tag, _("not an element of eCH-0044 personIdentification"))
    known = [t for t in tags if t in _ORDER]
    if known != sorted(known, key=_ORDER.index):
        reader.problem("personIdentification", _("the elements are not in the standard's order"))
    for tag in _ONCE:
        if tags.count(tag) > 1:
            reader.problem(tag, _("appears more than once"))

    def one(tag: str) -> ET.Element | None:
        return person.find(f"{{{NS}}}{tag}")

    vn = _vn(reader, one("vn"))
    local = one("localPersonId")
    local_id = reader.named(local, "localPersonId") if local is not None else None
    if local is None:
        reader.problem("localPersonId", _("missing"))
    other_ids = [reader.named(e, "otherPersonId") for e in person.findall(f"{{{NS}}}otherPersonId")]
    eu_ids = [reader.named(e, "euPersonId") for e in person.findall(f"{{{NS}}}euPersonId")]
    official_name = reader.token(one("officialName"), "officialName", max_length=100)
    first_name = reader.token(one("firstName"), "firstName", max_length=100)
    original = one("originalName")
    original_name = (
        reader.token(original, "originalName", max_length=100) if original is not None else None
    )
    sex_element = one("sex")
    sex = (sex_element.text or "").strip() if sex_element is not None else None
    if sex is None:
        reader.problem("sex", _("missing"))
    elif sex not in SEX_FROM_ECH:
        reader.problem("sex", _("1 (male) or 2 (female), not %(value)s") % {"value": sex[:10]})
    date_of_birth = _date_of_birth(reader, one("dateOfBirth"))
    if reader.problems or not (local_id and official_name and first_name and sex and date_of_birth):
        raise ValidationError(reader.problems)
    return PersonIdentification(
        local_id=local_id,
        official_name=official_name,
        first_name=first_name,
        sex=sex,
        date_of_birth=date_of_birth,
        vn=vn,
        original_name=original_name,
        other_ids=[n for n in other_ids if n is not None],
        eu_ids=[n for n in eu_ids if n is not None],
    )
