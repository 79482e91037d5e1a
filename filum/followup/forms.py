from __future__ import annotations

import datetime
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from filum.cases.models import Case
from filum.people.forms import DateInput
from filum.tenancy.models import Role, User
from filum.web.forms import limit_dates

ASSIGNABLE_ROLES = (Role.SOCIAL_WORKER, Role.SECTION_HEAD, Role.ADMIN_ASSISTANT, Role.INTAKE_WORKER)


class TaskForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=200)
    due_on = forms.DateField(label=_("Due on"), widget=DateInput())
    assignee = forms.ChoiceField(
        label=_("For"),
        help_text=_(
            "A person, or a role: then everyone with that role in the organisation sees it."
        ),
    )
    description = forms.CharField(
        label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 4})
    )

    def __init__(
        self, *args: Any, case: Case, actor_user: User, organisation_id: int, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        people = (
            User.objects.filter(
                is_active=True,
                memberships__organisation_id=organisation_id,
                memberships__is_active=True,
            )
            .distinct()
            .order_by("last_name", "first_name")
        )
        self._people = {str(u.pk): u for u in people}
        self.fields["assignee"].choices = [  # type: ignore[attr-defined]
            (_("People"), [(f"user:{pk}", str(u)) for pk, u in self._people.items()]),
            (_("Roles"), [(f"role:{r.value}", r.label) for r in ASSIGNABLE_ROLES]),
        ]
        limit_dates(self, "due_on", opened_on=case.opened_on)
        if not self.is_bound:
            self.initial.setdefault("due_on", timezone.localdate() + datetime.timedelta(days=7))
            if str(case.responsible_id) in self._people:
                self.initial.setdefault("assignee", f"user:{case.responsible_id}")
            else:
                self.initial.setdefault("assignee", f"user:{actor_user.pk}")

    def clean_due_on(self) -> Any:
        value = self.cleaned_data["due_on"]
        if value < timezone.localdate():
            raise forms.ValidationError(_("The due date cannot be in the past."))
        return value

    def assigned(self) -> tuple[User | None, str]:
        kind, _sep, value = self.cleaned_data["assignee"].partition(":")
        if kind == "user":
            return self._people[value], ""
        return None, value


class CloseTaskForm(forms.Form):
    note = forms.CharField(label=_("Note"), required=False, max_length=1000)
