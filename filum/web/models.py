"""Operational tables: one-time form tokens (X7) and the task worker's heartbeat."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class SubmittedForm(models.Model):
    """A create form's one-time token, claimed in the transaction that stores the form.

    A second submission of the same token (double click, resend after a lost response,
    browser back) finds this row and is sent to ``result_url`` instead of storing again.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    token = models.UUIDField()
    result_url = models.CharField(max_length=500)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "token"], name="submitted_form_once_per_user")
        ]
        indexes = [models.Index(fields=["created_at"], name="submitted_form_created")]

    def __str__(self) -> str:
        return f"{self.token} -> {self.result_url}"


class WorkerHeartbeat(models.Model):
    """Last sign of life of each task worker process, for /readyz."""

    worker_id = models.CharField(max_length=64, primary_key=True)
    seen_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.worker_id} at {self.seen_at:%Y-%m-%d %H:%M:%S}"
