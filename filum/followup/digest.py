"""The optional daily e-mail of due tasks, sent by the task worker (off by default).

The e-mail lists task titles, due dates and dossier numbers only: no client names and no
journal content leave the system by e-mail.
"""

from __future__ import annotations

import datetime
from functools import partial

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext as _
from django.utils.translation import ngettext, override
from django_tasks import task

from filum.followup.models import Task, TaskStatus, UserPreference
from filum.followup.texts import task_title
from filum.tenancy.models import Membership

DIGEST_HORIZON_DAYS = 7


def due_tasks_for_user(user_id: int, as_of: datetime.date) -> list[Task]:
    """Open tasks due within the horizon, addressed to the user or to one of their roles."""
    memberships = (
        Membership.objects.active().filter(user_id=user_id).values_list("organisation_id", "role")
    )
    by_role = Q(pk__in=[])
    for organisation_id, role in memberships:
        by_role |= Q(assigned_to__isnull=True, owner_id=organisation_id, assigned_role=role)
    return list(
        Task.objects.filter(
            status=TaskStatus.OPEN, due_on__lte=as_of + datetime.timedelta(days=DIGEST_HORIZON_DAYS)
        )
        .filter(Q(assigned_to_id=user_id) | by_role)
        .select_related("case")
        .order_by("due_on", "id")[:200]
    )


@task()
def send_task_digest(user_id: int, as_of: str) -> int:
    """Send one user their digest; returns the number of tasks listed (0: nothing sent)."""
    preference = (
        UserPreference.objects.select_related("user")
        .filter(user_id=user_id, task_digest=True)
        .first()
    )
    if preference is None or not preference.user.email or not preference.user.is_active:
        return 0
    day = datetime.date.fromisoformat(as_of)
    tasks = due_tasks_for_user(user_id, day)
    if not tasks:
        return 0
    with override(preference.user.language):
        lines = [f"{t.due_on:%d.%m.%Y}  {t.case.reference}  {task_title(t)}" for t in tasks]
        subject = ngettext("Filum: %(count)d task due", "Filum: %(count)d tasks due", len(tasks))
        subject %= {"count": len(tasks)}
        body = _("Your tasks due by %(date)s:") % {
            "date": f"{day + datetime.timedelta(days=DIGEST_HORIZON_DAYS):%d.%m.%Y}"
        }
    send_mail(
        subject,
        body + "\n\n" + "\n".join(lines),
        settings.DEFAULT_FROM_EMAIL,
        [preference.user.email],
    )
    return len(tasks)


def enqueue_task_digests(*, as_of: datetime.date) -> int:
    """Queue one digest per user who asked for it, once the surrounding transaction commits."""
    user_ids = list(
        UserPreference.objects.filter(task_digest=True, user__is_active=True).values_list(
            "user_id", flat=True
        )
    )
    for user_id in user_ids:
        transaction.on_commit(partial(send_task_digest.enqueue, user_id, as_of.isoformat()))
    return len(user_ids)
