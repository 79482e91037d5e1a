"""Forms of the CII pages. Rules that must hold are checked again by the services and the
database; the forms give the first, clear message beside the field."""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from typing import Any, cast

from django import forms
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from filum.cases.models import Case, Consent
from filum.cii.models import BODIES_OF_KIND, Body, CiiCase, ExitState
from filum.cii.services import AuthorisationSpec, PartnerSpec, coordinator_roles
from filum.people.forms import DateInput
from filum.plans.goals import IntermediateGoal
from filum.tenancy.labels import SECTION_CHOICES
from filum.tenancy.models import Organisation, User
from filum.web.forms import limit_dates


def coordinators_of(organisation_ids: Iterable[int], *, keep: int | None = None) -> QuerySet[User]:
    """Who may lead a CII case: active members of its institutions who may write the plan."""
    ids = list(organisation_ids)
    members = User.objects.filter(
        memberships__organisation_id__in=ids,
        memberships__is_active=True,
        memberships__role__in=coordinator_roles(),
        is_active=True,
    )
    if keep is not None:
        members = members | User.objects.filter(pk=keep)
    return members.distinct().order_by("last_name", "first_name", "pk")


def partner_organisations(owner_id: int) -> QuerySet[Organisation]:
    """The organisations that can take part in a CII case: the three bodies' kinds."""
    return (
        Organisation.objects.filter(is_active=True, kind__in=list(BODIES_OF_KIND))
        .exclude(pk=owner_id)
        .order_by("name")
    )


class PartnerForm(forms.Form):
    organisation = forms.ModelChoiceField(
        label=_("Partner institution"), queryset=Organisation.objects.none()
    )
    # An empty first choice, so that a partner row left untouched stays empty.
    body = forms.ChoiceField(
        label=_("Body"),
        choices=[("", "—"), *Body.choices],
        help_text=_(
            "A social service is social assistance; an office of kind CII partner is invalidity "
            "or unemployment insurance."
        ),
    )
    case_number = forms.CharField(label=_("The partner's case number"), max_length=40)

    def __init__(self, *args: Any, owner_id: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["organisation"].queryset = partner_organisations(owner_id)  # type: ignore[attr-defined]

    def spec(self) -> PartnerSpec:
        data = self.cleaned_data
        return PartnerSpec(
            organisation=data["organisation"], body=data["body"], case_number=data["case_number"]
        )


class BasePartnerFormSet(forms.BaseFormSet):
    def clean(self) -> None:
        if any(self.errors):
            return
        chosen = [f.cleaned_data["organisation"].pk for f in self.filled()]
        if not chosen:
            raise forms.ValidationError(_("Name at least one partner institution."))
        if len(chosen) != len(set(chosen)):
            raise forms.ValidationError(_("Each partner institution is named once."))

    def filled(self) -> list[PartnerForm]:
        return [f for f in self.forms if f.has_changed() and f.cleaned_data]

    def specs(self) -> list[PartnerSpec]:
        return [f.spec() for f in self.filled()]


PartnerFormSet = forms.formset_factory(
    PartnerForm, formset=BasePartnerFormSet, extra=3, max_num=3, absolute_max=3
)


def partner_formset(data: Any, *, owner_id: int) -> BasePartnerFormSet:
    """Up to three partner institutions, each with its body and case number."""
    return cast(
        BasePartnerFormSet,
        PartnerFormSet(data, prefix="partner", form_kwargs={"owner_id": owner_id}),
    )


class AuthorisationForm(forms.Form):
    """The signed authorisation a CII case rests on: one already recorded in the dossier, or
    one recorded now."""

    missing = _("A CII case opens only with an authorisation signed by the person: record it.")

    consent = forms.ModelChoiceField(
        label=_("Authorisation already recorded"),
        queryset=Consent.objects.none(),
        required=False,
        help_text=_("Or record the signed authorisation below."),
    )
    kind = forms.ChoiceField(
        label=_("Kind of authorisation"), choices=[("", "—"), *Consent.Kind.choices], required=False
    )
    sections = forms.MultipleChoiceField(
        label=_("Sections (specific authorisation)"),
        choices=SECTION_CHOICES,
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text=_(
            "A specific authorisation for a CII case covers at least the journal and the plan."
        ),
    )
    scope = forms.CharField(
        label=_("Scope"),
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=2000,
        required=False,
        help_text=_("Which information, to which institutions, for what."),
    )
    signed_on = forms.DateField(
        label=_("Signed on"),
        widget=DateInput(),
        required=False,
        help_text=_("The CII case opens on the day the authorisation was signed."),
    )
    valid_until = forms.DateField(
        label=_("Authorisation valid until"),
        widget=DateInput(),
        required=False,
        help_text=_("Empty: until it is withdrawn. The partners' access ends with it."),
    )

    def __init__(
        self, *args: Any, dossier: Case | None, exclude: int | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        if dossier is not None:
            offered = Consent.objects.filter(case=dossier, withdrawn_on__isnull=True)
            if exclude is not None:
                offered = offered.exclude(pk=exclude)
            self.fields["consent"].queryset = offered.order_by("-signed_on")  # type: ignore[attr-defined]
        else:
            del self.fields["consent"]
        opened_on = dossier.opened_on if dossier is not None else None
        limit_dates(self, "signed_on", future=False, opened_on=opened_on)
        limit_dates(self, "valid_until", opened_on=opened_on)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("consent"):
            return data
        missing = [name for name in ("kind", "scope", "signed_on") if not data.get(name)]
        if len(missing) == 3:
            raise forms.ValidationError(self.missing)
        for name in missing:
            self.add_error(name, _("This field is required."))
        if data.get("kind") == Consent.Kind.SPECIFIC and not data.get("sections"):
            self.add_error("sections", _("A specific authorisation names the sections it covers."))
        return data

    def authorisation(self) -> AuthorisationSpec | None:
        data = self.cleaned_data
        if data.get("consent"):
            return None
        return AuthorisationSpec(
            kind=data["kind"],
            sections=list(data.get("sections") or []),
            scope=data["scope"],
            signed_on=data["signed_on"],
            valid_until=data.get("valid_until"),
        )


class OpenForm(AuthorisationForm):
    """Opening a CII case: the owner's body, the lead coordinator, and the signed
    authorisation."""

    owner_body = forms.ChoiceField(label=_("Your organisation's body"))
    coordinator = forms.ModelChoiceField(label=_("Lead coordinator"), queryset=User.objects.none())

    field_order = ["owner_body", "coordinator"]

    def __init__(
        self, *args: Any, organisation: Organisation, dossier: Case | None, **kwargs: Any
    ) -> None:
        super().__init__(*args, dossier=dossier, **kwargs)
        bodies = BODIES_OF_KIND.get(organisation.kind, ())
        self.fields["owner_body"].choices = [(b.value, b.label) for b in bodies]  # type: ignore[attr-defined]
        self.fields["coordinator"].queryset = coordinators_of([organisation.pk])  # type: ignore[attr-defined]


class RenewForm(AuthorisationForm):
    """A new signed authorisation for a running CII case."""

    missing = _("Choose or record the person's new signed authorisation.")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["signed_on"].help_text = _("The day the person signed the new authorisation.")


class CoordinatorForm(forms.Form):
    coordinator = forms.ModelChoiceField(label=_("Lead coordinator"), queryset=User.objects.none())

    def __init__(
        self, *args: Any, organisation_ids: Iterable[int], current: int, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["coordinator"].queryset = coordinators_of(organisation_ids)  # type: ignore[attr-defined]
        self.fields["coordinator"].initial = current


GOAL_CHOICES = IntermediateGoal.choices


class ProfileForm(forms.ModelForm):
    """The entry profile (D8) and the intermediate goals aimed at."""

    version = forms.IntegerField(widget=forms.HiddenInput)
    goals_aimed = forms.MultipleChoiceField(
        label=_("Intermediate goals aimed at"),
        choices=GOAL_CHOICES,
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )

    class Meta:
        model = CiiCase
        fields = ["health", "out_of_work", "language_level", "education", "nationality", "debts"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["version"].initial = self.instance.version
        self.fields["goals_aimed"].initial = list(self.instance.goals_aimed)
        for name in ("health", "out_of_work", "language_level", "education", "nationality"):
            self.fields[name].choices = [("", "—"), *self.fields[name].choices[1:]]  # type: ignore[attr-defined]

    def profile(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            **{name: data[name] for name in self.Meta.fields},
            "goals_aimed": list(data["goals_aimed"]),
        }


class CloseForm(forms.Form):
    """The exit (D8): its date, the state, the goals aimed at and those reached."""

    exit_on = forms.DateField(label=_("Exit on"), widget=DateInput())
    exit_state = forms.ChoiceField(
        label=_("State at exit"), choices=ExitState.choices, widget=forms.RadioSelect
    )
    goals_aimed = forms.MultipleChoiceField(
        label=_("Intermediate goals aimed at"),
        choices=GOAL_CHOICES,
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
    goals_reached = forms.MultipleChoiceField(
        label=_("Intermediate goals reached"),
        choices=GOAL_CHOICES,
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text=_("Only goals that were aimed at can be reached."),
    )
    note = forms.CharField(
        label=_("Note"), widget=forms.Textarea(attrs={"rows": 3}), max_length=2000, required=False
    )

    def __init__(self, *args: Any, record: CiiCase, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["exit_on"].initial = timezone.localdate()
        self.fields["goals_aimed"].initial = list(record.goals_aimed)
        limit_dates(self, "exit_on", future=False, opened_on=record.opened_on)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        aimed, reached = set(data.get("goals_aimed", [])), set(data.get("goals_reached", []))
        if not reached <= aimed:
            self.add_error("goals_reached", _("A goal can only be reached if it was aimed at."))
        if data.get("exit_state") == ExitState.GOALS_REACHED and not reached:
            self.add_error("goals_reached", _("Name the intermediate goals that were reached."))
        return data


FIRST_YEAR = 2000


class YearForm(forms.Form):
    """The year of the report: from 2000 to the current one."""

    def __init__(self, *args: Any, today: datetime.date, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["year"] = forms.IntegerField(
            label=_("Year"), min_value=FIRST_YEAR, max_value=today.year
        )
