"""Persons, their identifiers and contact data, and assistance units (households)."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

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

if TYPE_CHECKING:
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
        from filum.cases.models import Case
        from filum.tenancy.policy import allowed_relations

        if not allowed_relations(actor.role, "core.write" if write else "core.read"):
            return self.none()
        cases = Case.objects.visible_to(actor, section="core", write=write)
        as_client = cases.filter(client=OuterRef("pk"))
        as_member = cases.filter(assistance_unit__members__person=OuterRef("pk"))
        return self.filter(
            Q(registered_by_id=actor.organisation_id) | Exists(as_client) | Exists(as_member)
        )


@audited(history_of="pgh_obj")
class Person(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    last_name = models.CharField(_("last name"), max_length=100)
    first_name = models.CharField(_("first name"), max_length=100)
    birth_date = models.DateField(_("birth date"), null=True, blank=True)
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
    ahv_number = models.CharField(
        _("AHV number"), max_length=13, null=True, blank=True, unique=True
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
class UnitMember(models.Model):
    unit = models.ForeignKey(AssistanceUnit, on_delete=models.CASCADE, related_name="members")
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
