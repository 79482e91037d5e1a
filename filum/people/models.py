"""Persons, their identifiers and contact data, and assistance units (households)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.contrib.postgres.indexes import GinIndex, OpClass
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Exists, OuterRef, Q
from django.utils.translation import gettext_lazy as _
from stdnum.ch import ssn
from stdnum.exceptions import InvalidChecksum, InvalidComponent, InvalidFormat, InvalidLength

from filum.dates import stored_range
from filum.records.tracking import audited
from filum.tenancy.models import Organisation
from filum.web.choices import ChoiceLabels

if TYPE_CHECKING:
    from filum.cases.models import CaseQuerySet
    from filum.tenancy.policy import Actor


class Folded(models.Func):
    """Upper-cased, accent-free text for fuzzy name search. ``filum_fold`` is an immutable
    SQL wrapper around ``unaccent`` (created in tenancy's first migration) so it can be indexed."""

    function = "filum_fold"
    output_field = models.TextField()


class Sex(models.TextChoices):
    FEMALE = "f", _("female")
    MALE = "m", _("male")
    OTHER = "x", _("other / not specified")


class BirthDateKnown(models.TextChoices):
    """How much of a birth date is known (eCH-0044 ``datePartiallyKnownType``): the stored
    date is the first day of what is known (1 January of the year, the 1st of the month)."""

    DAY = "day", _("day, month and year")
    MONTH = "month", _("month and year only")
    YEAR = "year", _("year only")


class ResidenceStatus(models.TextChoices):
    SWISS = "swiss", _("Swiss citizen")
    C = "C", _("C – settlement permit")
    B = "B", _("B – residence permit")
    B_REFUGEE = "B_FL", _("B – recognised refugee")
    F = "F", _("F – provisionally admitted")
    F_REFUGEE = "F_FL", _("F – provisionally admitted refugee")
    N = "N", _("N – asylum seeker")
    L = "L", _("L – short-term residence permit")
    S = "S", _("S – protection status")
    G = "G", _("G – cross-border commuter")
    OTHER = "other", _("other")


def clean_ahv_number(value: str) -> str:
    """Validate an AHV number (756.nnnn.nnnn.nn) and return its 13-digit compact form."""
    try:
        return str(ssn.validate(value))
    except InvalidLength as exc:
        raise ValidationError(_("An AHV number has 13 digits."), code="ahv_length") from exc
    except InvalidComponent as exc:
        raise ValidationError(_("An AHV number starts with 756."), code="ahv_prefix") from exc
    except InvalidChecksum as exc:
        raise ValidationError(
            _("The check digit of this AHV number is wrong."), code="ahv_checksum"
        ) from exc
    except InvalidFormat as exc:
        raise ValidationError(_("An AHV number contains digits only."), code="ahv_format") from exc


def format_ahv_number(value: str) -> str:
    return str(ssn.format(value)) if value else ""


class PersonQuerySet(models.QuerySet["Person"]):
    def visible_to(self, actor: Actor, *, write: bool = False) -> PersonQuerySet:
        """Persons the actor may see (or change): registered by their organisation, or linked
        (as client or household member) to a dossier whose core data they may read (write)."""
        reach = person_reach(actor, write=write)
        if reach is None:
            return self.none()
        beyond = reach.beyond
        return self.filter(
            Exists(reach.own.filter(person=OuterRef("pk")))
            | Exists(beyond.filter(client=OuterRef("pk")))
            | Exists(beyond.filter(assistance_unit__members__person=OuterRef("pk")))
        )

    def visible_after(self, actor: Actor, *, after: uuid.UUID | None, size: int) -> PersonQuerySet:
        """The first ``size`` persons of ``visible_to(actor)`` by id after ``after`` (and a
        few more: order and cut them), for a keyset page: each part of the reach gives its own
        first ``size`` ids through its index (the organisation's reach rows by their primary
        key), and the page is the first of their union. Filtering every person by the whole
        reach instead hashes all of a large service's reach rows (170,000) for each page."""
        reach = person_reach(actor)
        if reach is None:
            return self.none()

        def first(qs: models.QuerySet[Any], field: str) -> models.QuerySet[Any]:
            if after is not None:
                qs = qs.filter(**{f"{field}__gt": after})
            return qs.order_by(field).values_list(field, flat=True)[:size]

        units = reach.beyond.values("assistance_unit_id")
        ids = first(reach.own, "person_id").union(
            first(reach.beyond, "client_id"),
            first(UnitMember.objects.filter(unit_id__in=units), "person_id"),
        )
        return self.filter(pk__in=ids)


@dataclass(frozen=True)
class Reach:
    """Where the persons an actor may see come from (``person_reach``)."""

    own: models.QuerySet[PersonReach]
    beyond: CaseQuerySet


def person_reach(actor: Actor, *, write: bool = False) -> Reach | None:
    """The persons an actor may see (change), in two parts, or None for none at all.

    ``own``: the reach rows of the actor's organisation: all of them when the role sees (edits)
    the organisation's dossiers' core data, else those of the persons it registered.
    ``beyond``: the dossiers whose core data the actor sees (edits) otherwise: active shares,
    and their own dossiers for a role that does not see the organisation's. Their clients and
    household members are visible, too. Together this is exactly "registered by the
    organisation, or client or household member of a dossier the actor may read (write) the
    core section of", which ``tests/test_person_reach.py`` pins."""
    from filum.cases.models import Case
    from filum.tenancy.policy import Relation, allowed_relations

    relations = allowed_relations(actor.role, "core.write" if write else "core.read")
    if not relations:
        return None
    own = PersonReach.objects.filter(organisation_id=actor.organisation_id)
    if Relation.OWN_ORG not in relations:
        own = own.filter(registered=True)
    beyond = Case.objects.visible_to(actor, section="core", write=write, beyond_organisation=True)
    return Reach(own=own, beyond=beyond)


@audited(history_of="pgh_obj")
class Person(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    last_name = models.CharField(_("last name"), max_length=100)
    first_name = models.CharField(_("first name"), max_length=100)
    birth_date = models.DateField(_("birth date"), null=True, blank=True)
    birth_date_known = models.CharField(
        _("birth date known to the"),
        max_length=5,
        choices=BirthDateKnown.choices,
        default=BirthDateKnown.DAY,
        help_text=_("Often only the year of birth is known for persons who fled."),
    )
    sex = models.CharField(_("sex"), max_length=1, choices=Sex.choices, blank=True)
    nationality = models.CharField(
        _("nationality"), max_length=2, blank=True, help_text=_("ISO country code, e.g. CH")
    )
    residence_status = models.CharField(
        _("residence status"), max_length=8, choices=ResidenceStatus.choices, blank=True
    )
    arrival_date = models.DateField(_("arrival in Switzerland"), null=True, blank=True)
    languages = models.CharField(
        _("languages"), max_length=200, blank=True, help_text=_("e.g. fr, de, ti (Tigrinya)")
    )
    # unique through the constraint ``person_ahv_unique`` (not ``unique=True``, which adds a
    # second, pattern-ops index that no query uses: AHV numbers are looked up by equality)
    # NULL, not "": many persons have none, and the constraint allows any number of NULLs
    ahv_number = models.CharField(  # noqa: DJ001
        _("AHV number"), max_length=13, null=True, blank=True
    )
    # Contact data
    street = models.CharField(_("street"), max_length=200, blank=True)
    postal_code = models.CharField(_("postal code"), max_length=10, blank=True)
    city = models.CharField(_("place"), max_length=100, blank=True)
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    email = models.EmailField(_("e-mail"), blank=True)

    registered_by = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="+", verbose_name=_("registered by")
    )
    created_at = models.DateTimeField(auto_now_add=True)
    version = models.PositiveIntegerField(default=1)

    objects = PersonQuerySet.as_manager()

    class Meta:
        ordering = ["last_name", "first_name"]
        verbose_name = _("person")
        verbose_name_plural = _("persons")
        constraints = [
            models.UniqueConstraint(fields=["ahv_number"], name="person_ahv_unique"),
            models.CheckConstraint(
                condition=Q(ahv_number__isnull=True) | Q(ahv_number__regex=r"^756[0-9]{10}$"),
                name="person_ahv_format",
            ),
            models.CheckConstraint(
                condition=Q(arrival_date__isnull=True)
                | Q(birth_date__isnull=True)
                | Q(arrival_date__gte=models.F("birth_date")),
                name="person_arrival_after_birth",
            ),
            models.CheckConstraint(
                condition=Q(birth_date_known=BirthDateKnown.DAY)
                | Q(birth_date_known=BirthDateKnown.MONTH, birth_date__day=1)
                | Q(birth_date_known=BirthDateKnown.YEAR, birth_date__day=1, birth_date__month=1)
                | Q(birth_date__isnull=True),
                name="person_partial_birth_date_is_first_day",
            ),
            stored_range("birth_date", name="person_birth_date_range", birth=True),
            stored_range("arrival_date", name="person_arrival_date_range"),
        ]
        indexes = [
            # Fuzzy, accent-insensitive name search (P8): trigram indexes on the
            # unaccented, upper-cased names (see migration for the immutable unaccent).
            # One GIN index on both names: a query on both runs in one index scan (about
            # twice as fast as two ANDed scans at 1.5 M persons), one name alone as fast as
            # with an index of its own.
            GinIndex(
                OpClass(Folded("last_name"), name="gin_trgm_ops"),
                OpClass(Folded("first_name"), name="gin_trgm_ops"),
                name="person_names_trgm",
            ),
            # exact folded full name: the duplicate check's cheap branch (people.search)
            models.Index(Folded("last_name"), Folded("first_name"), name="person_folded_name"),
            models.Index(fields=["birth_date"], name="person_birth_date"),
            models.Index(fields=["last_name", "first_name", "id"], name="person_name_order"),
        ]

    def __str__(self) -> str:
        return f"{self.last_name} {self.first_name}"

    @property
    def birth_date_display(self) -> str:
        """The birth date as far as it is known: 14.03.1987, 03.1987 or 1987."""
        if self.birth_date is None:
            return ""
        if self.birth_date_known == BirthDateKnown.YEAR:
            return f"{self.birth_date:%Y}"
        if self.birth_date_known == BirthDateKnown.MONTH:
            return f"{self.birth_date:%m.%Y}"
        return f"{self.birth_date:%d.%m.%Y}"

    @property
    def ahv_display(self) -> str:
        return format_ahv_number(self.ahv_number or "")

    def clean(self) -> None:
        if self.arrival_date and self.birth_date and self.arrival_date < self.birth_date:
            raise ValidationError(
                {"arrival_date": _("The arrival date cannot be before the birth date.")}
            )


class RelationToHead(models.TextChoices):
    APPLICANT = "applicant", _("applicant")
    SPOUSE = "spouse", _("spouse / partner")
    CHILD = "child", _("child")
    PARENT = "parent", _("parent")
    SIBLING = "sibling", _("sibling")
    OTHER = "other", _("other relative")


@audited()
class AssistanceUnit(models.Model):
    """A household supported together: the applicant and their relatives (P7)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(_("name"), max_length=200)
    registered_by = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("assistance unit")
        verbose_name_plural = _("assistance units")

    def __str__(self) -> str:
        return self.name


@audited()
class UnitMember(ChoiceLabels, models.Model):
    # no index of its own: ``unit_member_unique`` (unit, person) serves lookups by unit
    unit = models.ForeignKey(
        AssistanceUnit, on_delete=models.CASCADE, related_name="members", db_index=False
    )
    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="unit_memberships")
    relation = models.CharField(_("relation"), max_length=16, choices=RelationToHead.choices)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["unit", "person"], name="unit_member_unique"),
            models.UniqueConstraint(
                fields=["unit"],
                condition=Q(relation="applicant"),
                name="unit_one_applicant",
            ),
        ]
        verbose_name = _("member")
        verbose_name_plural = _("members")

    def __str__(self) -> str:
        return f"{self.person_id} ({self.relation})"


class PersonReach(models.Model):
    """Which organisation reaches which person without a share (U4, issue 7): derived state,
    kept by database triggers, never written by the app.

    A row (organisation, person) exists while the person is registered by the organisation
    (``registered``) or is the client or a household member of a dossier it owns (``cases``
    counts those facts: one per dossier as client, one per dossier and household membership).
    The folded names are copied here so that the person search runs on the reach of one
    organisation through an index, instead of matching a name across the canton and checking
    visibility row by row. Shares are not stored: they end by date and are few, so the search
    checks them when it runs. The person lists (decision 0034) walk one organisation's reach
    in name order, with the person columns they filter on copied here too. The triggers on
    persons, dossiers and household members are in people migrations 0005 and 0008;
    ``people_personreach_refill()`` rebuilds the table from the facts (those migrations, the
    volume loader)."""

    pk = models.CompositePrimaryKey("organisation", "person")
    # no foreign-key constraints (the triggers keep the rows in step) and no indexes of their
    # own: the primary key starts with the organisation, ``person_reach_person`` serves the rest
    organisation = models.ForeignKey(
        Organisation,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,
        related_name="+",
    )
    person = models.ForeignKey(
        Person, on_delete=models.DO_NOTHING, db_constraint=False, db_index=False, related_name="+"
    )
    registered = models.BooleanField()
    cases = models.IntegerField()
    last_name = models.TextField()  # filum_fold(person.last_name)
    first_name = models.TextField()  # filum_fold(person.first_name)
    # the person columns the person lists filter on (decision 0034), copied by the triggers
    residence_status = models.CharField(max_length=8)
    birth_date = models.DateField(null=True)
    arrival_date = models.DateField(null=True)

    class Meta:
        indexes = [
            models.Index(fields=["person"], name="person_reach_person"),
            # the filtered columns included: the list's walk reads the index alone
            models.Index(
                fields=["organisation", "last_name", "first_name", "person"],
                include=["residence_status", "birth_date", "arrival_date"],
                name="person_reach_last",
            ),
            models.Index(fields=["organisation", "first_name"], name="person_reach_first"),
        ]

    def __str__(self) -> str:
        return f"{self.organisation_id} reaches {self.person_id}"


class FoldedName(models.Model):
    """Every folded last and first name ever registered (U4): the person search first finds
    the names similar to what was typed here, a few hundred among a few thousand, then the
    persons bearing them through ``PersonReach``'s name indexes. Matching the names of 1.5 M
    persons directly (and rechecking tens of thousands of trigram candidates for a common name)
    was the slow part. Append-only, filled by the person trigger; a name no one bears any more
    matches no person."""

    name = models.TextField(primary_key=True)

    class Meta:
        indexes = [GinIndex(OpClass("name", name="gin_trgm_ops"), name="folded_name_trgm")]

    def __str__(self) -> str:
        return self.name
