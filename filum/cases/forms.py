from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from filum.cases.models import (
    Case,
    Consent,
    Domain,
    DossierTransfer,
    Share,
    TransferDecline,
    TransferKind,
)
from filum.people.forms import DateInput
from filum.tenancy.labels import SECTION_CHOICES
from filum.tenancy.models import Organisation, User
from filum.tenancy.policy import dossier_holding_roles
from filum.web.forms import limit_dates


def _caseworkers_of(organisation_id: int, *, keep: int | None = None) -> Any:
    """Who may be made responsible for a dossier: active members of the organisation in a role
    that does casework. ``keep`` (the current responsible) stays choosable even without one."""
    holds = Q(
        memberships__organisation_id=organisation_id,
        memberships__is_active=True,
        memberships__role__in=dossier_holding_roles(),
    )
    return (
        User.objects.filter(holds | Q(pk=keep), is_active=True)
        .distinct()
        .order_by("last_name", "first_name")
    )


class CaseForm(forms.ModelForm):
    class Meta:
        model = Case
        fields = ["domain", "title", "opened_on", "responsible"]
        widgets = {"opened_on": DateInput()}

    def __init__(self, *args: Any, organisation_id: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["responsible"].queryset = _caseworkers_of(  # type: ignore[attr-defined]
            organisation_id, keep=self.instance.responsible_id
        )
        self.fields["domain"].choices = Domain.choices  # type: ignore[attr-defined]
        if self.instance._state.adding:
            # Not ``instance.pk``: a new dossier has its UUID before it is saved. And in
            # ``self.initial``, where the new instance's empty date would win over the field's.
            self.initial["opened_on"] = timezone.localdate()
        limit_dates(self, "opened_on")

    def clean_opened_on(self) -> Any:
        value = self.cleaned_data["opened_on"]
        if value > timezone.localdate():
            raise forms.ValidationError(_("The opening date cannot be in the future."))
        return value


class CaseEditForm(CaseForm):
    version = forms.IntegerField(widget=forms.HiddenInput)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["version"].initial = self.instance.version

    def clean_opened_on(self) -> Any:
        value = super().clean_opened_on()
        if self.instance.closed_on and value > self.instance.closed_on:
            raise forms.ValidationError(_("The opening date cannot be after the closure."))
        return value


class ShareForm(forms.Form):
    organisation = forms.ModelChoiceField(
        label=_("Organisation"), queryset=Organisation.objects.none()
    )
    sections = forms.MultipleChoiceField(
        label=_("Sections"), choices=SECTION_CHOICES, widget=forms.CheckboxSelectMultiple
    )
    access = forms.ChoiceField(label=_("Access"), choices=Share.Access.choices)
    basis = forms.ChoiceField(label=_("Basis"), choices=Share.Basis.choices)
    consent = forms.ModelChoiceField(
        label=_("Consent"), queryset=Consent.objects.none(), required=False
    )
    reason = forms.CharField(label=_("Reason (legal basis or consent reference)"), max_length=300)
    valid_until = forms.DateField(label=_("Valid until"), widget=DateInput())

    def __init__(self, *args: Any, case: Case, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["organisation"].queryset = Organisation.objects.filter(is_active=True).exclude(  # type: ignore[attr-defined]
            pk=case.owner_id
        )
        self.fields["consent"].queryset = Consent.objects.filter(case=case)  # type: ignore[attr-defined]
        limit_dates(self, "valid_until", opened_on=case.opened_on)


class ConsentForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind"), choices=Consent.Kind.choices)
    scope = forms.CharField(
        label=_("Scope"), widget=forms.Textarea(attrs={"rows": 3}), max_length=2000
    )
    sections = forms.MultipleChoiceField(
        label=_("Sections (specific consent)"),
        choices=SECTION_CHOICES,
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
    signed_on = forms.DateField(label=_("Signed on"), widget=DateInput())
    valid_until = forms.DateField(label=_("Valid until"), widget=DateInput(), required=False)

    def __init__(self, *args: Any, case: Case, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        limit_dates(self, "signed_on", opened_on=case.opened_on)
        limit_dates(self, "valid_until", opened_on=case.opened_on)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("kind") == Consent.Kind.SPECIFIC and not data.get("sections"):
            self.add_error("sections", _("A specific consent names the sections it covers."))
        return data


class TransferOfferForm(forms.Form):
    """Offer a dossier to the service that becomes competent (P3, P4)."""

    receiver = forms.ModelChoiceField(
        label=_("Receiving service"), queryset=Organisation.objects.none()
    )
    kind = forms.ChoiceField(label=_("Reason for the transfer"), choices=TransferKind.choices)
    cut_over_on = forms.DateField(
        label=_("Cut-over date"),
        widget=DateInput(),
        help_text=_(
            "From this day the receiving service holds the dossier; your service keeps reading "
            "what is dated before it."
        ),
    )
    note = forms.CharField(
        label=_("Transfer note"),
        widget=forms.Textarea(attrs={"rows": 6}),
        max_length=10000,
        help_text=_("What the receiving service needs to know to continue the dossier."),
    )
    tasks = forms.ChoiceField(
        label=_("Open tasks"),
        choices=DossierTransfer.Tasks.choices,
        widget=forms.RadioSelect,
        initial=DossierTransfer.Tasks.HAND_OVER,
    )
    shares = forms.ChoiceField(
        label=_("Shares with other organisations"),
        choices=DossierTransfer.Shares.choices,
        widget=forms.RadioSelect,
        initial=DossierTransfer.Shares.KEEP,
    )

    def __init__(self, *args: Any, case: Case, **kwargs: Any) -> None:
        from filum.cases.transfers import receivers_for

        super().__init__(*args, **kwargs)
        self.fields["receiver"].queryset = receivers_for(case)  # type: ignore[attr-defined]
        self.initial.setdefault("cut_over_on", timezone.localdate())
        if case.domain == Domain.ASYLUM_AID:
            self.initial.setdefault("kind", TransferKind.REFUGEE_TO_ORDINARY)


class TransferAcceptForm(forms.Form):
    responsible = forms.ModelChoiceField(
        label=_("Responsible worker"), queryset=User.objects.none()
    )

    def __init__(self, *args: Any, organisation_id: int, **kwargs: Any) -> None:
        from filum.cases.transfers import workers_of

        super().__init__(*args, **kwargs)
        self.fields["responsible"].queryset = workers_of(organisation_id)  # type: ignore[attr-defined]


class TransferDeclineForm(forms.Form):
    reason = forms.ChoiceField(label=_("Reason"), choices=TransferDecline.choices)
    note = forms.CharField(
        label=_("Note to the sending service"),
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        max_length=2000,
    )
