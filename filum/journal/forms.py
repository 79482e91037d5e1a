"""Forms of the journal. The rules (future dates, duration of face-to-face interviews, topic)
are checked by filum.journal.services; the forms add the same checks early so the user sees
every problem next to its field at once."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from filum.journal.models import (
    FACE_TO_FACE_KINDS,
    NOT_A_CONTACT_KINDS,
    Contact,
    ContactKind,
    Topic,
)
from filum.people.forms import DateInput
from filum.web.forms import ListedChoiceIterator, Select, limit_dates


class TopicChoiceField(forms.ModelChoiceField):
    iterator = ListedChoiceIterator

    def label_from_instance(self, obj: Any) -> str:
        if not obj.is_social_work:
            return gettext("%(topic)s (not counted as a contact)") % {"topic": obj.name}
        return str(obj.name)


def _kind_choices() -> list[tuple[Any, Any]]:
    face = [(k.value, k.label) for k in ContactKind if k in FACE_TO_FACE_KINDS]
    other = [
        (k.value, k.label)
        for k in ContactKind
        if k not in FACE_TO_FACE_KINDS and k not in NOT_A_CONTACT_KINDS
    ]
    none = [(k.value, k.label) for k in ContactKind if k in NOT_A_CONTACT_KINDS]
    return [
        ("", "---------"),
        (_("Face to face"), face),
        (_("Other contacts"), other),
        (_("No contact"), none),
    ]


class ContactForm(forms.Form):
    kind = forms.ChoiceField(
        label=_("Type"),
        widget=Select,
        help_text=_(
            "Face to face: interviews, home visits, network meetings, spontaneous interviews. "
            "Dropping off documents is recorded but is no contact."
        ),
    )
    date = forms.DateField(label=_("Date"), widget=DateInput())
    topic = TopicChoiceField(
        label=_("Topic"),
        queryset=Topic.objects.none(),
        widget=Select,
        help_text=_("A contact needs a social-work topic."),
    )
    duration_minutes = forms.IntegerField(
        label=_("Duration (minutes)"),
        required=False,
        min_value=1,
        max_value=24 * 60,
        help_text=_("Required for every face-to-face interview, even a short one."),
    )
    participants = forms.CharField(label=_("Participants"), max_length=300, required=False)
    note = forms.CharField(
        label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 5})
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = _kind_choices()  # type: ignore[attr-defined]
        self.fields["topic"].queryset = Topic.objects.filter(is_active=True).order_by(  # type: ignore[attr-defined]
            "position", "code"
        )
        if not self.is_bound and "date" not in self.initial:
            self.initial["date"] = timezone.localdate()
        limit_dates(self, "date")

    def clean_date(self) -> Any:
        value = self.cleaned_data["date"]
        if value and value > timezone.localdate():
            raise forms.ValidationError(_("A contact cannot be dated in the future."))
        return value

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("kind") in FACE_TO_FACE_KINDS and not data.get("duration_minutes"):
            self.add_error(
                "duration_minutes",
                _("Give the duration of every face-to-face interview, however short."),
            )
        return data

    @classmethod
    def initial_from(cls, contact: Contact) -> dict[str, Any]:
        return {
            "kind": contact.kind,
            "date": contact.date,
            "topic": contact.topic_id,
            "duration_minutes": contact.duration_minutes,
            "participants": contact.participants,
            "note": contact.note,
        }


class CorrectionForm(ContactForm):
    correction_reason = forms.CharField(
        label=_("Reason for the correction"),
        max_length=300,
        help_text=_("The previous version stays in the history with its text."),
    )

    field_order = ["correction_reason"]


class ServiceAgreementForm(forms.Form):
    """A service agreement, or the reason why there is none (S9)."""

    has_agreement = forms.TypedChoiceField(
        label=_("Service agreement"),
        choices=[("yes", _("An agreement was made")), ("no", _("No agreement"))],
        widget=forms.RadioSelect,
        coerce=lambda value: value == "yes",
    )
    signed_on = forms.DateField(label=_("Signed on"), required=False, widget=DateInput())
    valid_until = forms.DateField(label=_("Valid until"), required=False, widget=DateInput())
    summary = forms.CharField(
        label=_("What was agreed"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("Services and counter-services agreed with the client."),
    )
    no_agreement_reason = forms.CharField(
        label=_("Reason why there is no agreement"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        limit_dates(self, "signed_on")
        limit_dates(self, "valid_until")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("has_agreement") is True:
            if not data.get("signed_on"):
                self.add_error("signed_on", _("Give the date of the signature."))
            if not (data.get("summary") or "").strip():
                self.add_error("summary", _("Summarise what was agreed."))
        elif data.get("has_agreement") is False:
            if not (data.get("no_agreement_reason") or "").strip():
                self.add_error(
                    "no_agreement_reason", _("Give the reason why there is no agreement.")
                )
        return data
