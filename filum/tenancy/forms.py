from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from filum.tenancy.models import Organisation, Role, Team, User


class SignInForm(AuthenticationForm):
    error_messages = {
        "invalid_login": _("Wrong user name or password."),
        "inactive": _("This account is deactivated."),
    }


class OtpForm(forms.Form):
    token = forms.CharField(
        label=_("Code from your authenticator app"),
        max_length=8,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )

    def __init__(self, *args: Any, device: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.device = device

    def clean_token(self) -> str:
        token = str(self.cleaned_data["token"]).strip()
        if not token.isdigit() or not self.device.verify_token(token):
            raise forms.ValidationError(_("This code is not valid (or was already used)."))
        return token


SELF_GRANT_REFUSED = _(
    "You cannot give a role to your own account. Ask another super-user of your "
    "organisation or the platform administrator."
)


class MemberForm(forms.Form):
    username = forms.CharField(label=_("User name"), max_length=150)
    first_name = forms.CharField(label=_("First name"), max_length=150)
    last_name = forms.CharField(label=_("Last name"), max_length=150)
    email = forms.EmailField(label=_("E-mail"))
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices)
    team = forms.ModelChoiceField(label=_("Team"), queryset=Team.objects.none(), required=False)
    language = forms.ChoiceField(
        label=_("Language"),
        choices=settings.LANGUAGES,
        help_text=_("For the invitation e-mail and the screens of a new account."),
    )

    def __init__(
        self, *args: Any, organisation: Organisation, granted_by: User, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.organisation = organisation
        self.granted_by = granted_by
        self.fields["team"].queryset = Team.objects.filter(organisation=organisation)  # type: ignore[attr-defined]
        self.fields["language"].initial = (get_language() or "fr")[:2]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        username = data.get("username")
        role = data.get("role")
        if username and username == self.granted_by.get_username():
            raise forms.ValidationError(SELF_GRANT_REFUSED)
        if username and role:
            user = User.objects.filter(username=username).first()
            if user and user.memberships.filter(organisation=self.organisation, role=role).exists():
                raise forms.ValidationError(_("This user already has this role here."))
        return data


class ForgotPasswordForm(forms.Form):
    email = forms.EmailField(
        label=_("E-mail"), widget=forms.EmailInput(attrs={"autocomplete": "email"})
    )


class OrganisationMfaForm(forms.Form):
    """Switch two-factor sign-in on or off for one organisation of ``organisations``."""

    organisation = forms.ModelChoiceField(
        queryset=Organisation.objects.none(), widget=forms.HiddenInput
    )
    mfa_required = forms.BooleanField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, organisations: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["organisation"].queryset = organisations  # type: ignore[attr-defined]
