"""Health probes for a load balancer and the answer while the database is away (X7).

- ``/healthz``: the process is up (liveness); it asks nothing of the database, so an outage
  of the database does not make the load balancer kill healthy web workers.
- ``/readyz``: the instance can serve (readiness): database reachable, migrations applied,
  a task worker alive (its heartbeat, see ``manage.py task_worker``), disk space left for
  documents. 503 names the failing checks, never internals.

Both are public (PUBLIC_VIEWS), write no read-log rows and, through ``ProbeMiddleware``,
never load a session, so a probe neither touches ``django_session`` nor prolongs anyone's
idle timeout.

While the database is unreachable, every page answers 503 with a short French and German
message and ``Retry-After`` (``server_error``, Django's handler500): Django turns an exception
into a response inside each middleware layer, so an outer middleware would only see the 500;
the error handler sees the exception itself, wherever it arose (the session load included).
"""

from __future__ import annotations

import datetime
import shutil
import sys
from collections.abc import Callable
from pathlib import Path

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.models import AnonymousUser
from django.core.files.storage import default_storage
from django.db import DEFAULT_DB_ALIAS, InterfaceError, OperationalError, connections
from django.db.migrations.executor import MigrationExecutor
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.views import defaults

from filum.web.models import WorkerHeartbeat

PROBE_PATHS = frozenset({"/healthz", "/readyz"})
RETRY_AFTER_SECONDS = 30
# A worker writes its heartbeat every HEARTBEAT_SECONDS; readiness wants one this recent.
HEARTBEAT_SECONDS = 15

DATABASE_UNAVAILABLE_PAGE = """<!DOCTYPE html>
<html lang="fr">
<head><meta charset="utf-8"><title>Filum</title></head>
<body>
<h1>Filum est momentanément indisponible</h1>
<p>La base de données ne répond pas. Réessayez dans une minute. Ce qui était enregistré
avant reste enregistré&nbsp;; un formulaire que vous veniez d'envoyer doit être renvoyé.</p>
<div lang="de">
<h1>Filum ist vorübergehend nicht verfügbar</h1>
<p>Die Datenbank antwortet nicht. Versuchen Sie es in einer Minute wieder. Was vorher
gespeichert war, bleibt gespeichert; ein eben gesendetes Formular muss erneut gesendet werden.</p>
</div>
</body>
</html>
"""


class ProbeMiddleware:
    """Probes act as anonymous: no session is loaded or saved for them (after
    AuthenticationMiddleware, before everything that asks who the user is)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path_info in PROBE_PATHS:
            request.user = AnonymousUser()
        return self.get_response(request)


def database_unavailable() -> HttpResponse:
    response = HttpResponse(DATABASE_UNAVAILABLE_PAGE, status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response["Cache-Control"] = "no-store"
    return response


def server_error(request: HttpRequest) -> HttpResponse:
    """handler500: 503 and the bilingual page if the database is away, Django's 500 else."""
    if isinstance(sys.exc_info()[1], OperationalError | InterfaceError):
        return database_unavailable()
    return defaults.server_error(request)


@login_not_required
def healthz(request: HttpRequest) -> HttpResponse:
    """200 while the process serves requests; asks nothing of the database."""
    return JsonResponse({"status": "ok"})


healthz.filum_action = "public"  # type: ignore[attr-defined]

_migrations_applied = False  # once true for this process, it stays true


def _check_database() -> bool:
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        cursor.execute("SELECT 1")
        return cursor.fetchone() == (1,)


def _check_migrations() -> bool:
    global _migrations_applied
    if not _migrations_applied:
        executor = MigrationExecutor(connections[DEFAULT_DB_ALIAS])
        _migrations_applied = not executor.migration_plan(executor.loader.graph.leaf_nodes())
    return _migrations_applied


def _check_worker() -> bool:
    if not settings.TASKS["default"]["BACKEND"].startswith("django_tasks_db."):
        return True  # tasks run without a worker process (immediate or dummy backend)
    since = timezone.now() - datetime.timedelta(seconds=settings.READYZ_WORKER_STALE_SECONDS)
    return WorkerHeartbeat.objects.filter(seen_at__gte=since).exists()


def documents_folder() -> Path:
    """Where documents are stored (the default storage's folder)."""
    return Path(getattr(default_storage, "location", settings.BASE_DIR / "var" / "documents"))


def _check_disk() -> bool:
    folder = documents_folder()
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent  # not made yet: the space is where it will be made
    return shutil.disk_usage(folder).free >= settings.READYZ_MIN_FREE_DISK_MB * 1024 * 1024


CHECKS: dict[str, Callable[[], bool]] = {
    "database": _check_database,
    "migrations": _check_migrations,
    "worker": _check_worker,
    "disk": _check_disk,
}


@login_not_required
def readyz(request: HttpRequest) -> HttpResponse:
    """200 when this instance can serve; 503 naming the failing checks."""
    results: dict[str, str] = {}
    for name, check in CHECKS.items():
        if results.get("database") == "failed" and name in {"migrations", "worker"}:
            results[name] = "unknown"
            continue
        try:
            results[name] = "ok" if check() else "failed"
        except (OperationalError, InterfaceError, OSError):
            results[name] = "failed"
    ready = all(value == "ok" for value in results.values())
    response = JsonResponse(
        {"status": "ok" if ready else "unavailable", "checks": results},
        status=200 if ready else 503,
    )
    if not ready:
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


readyz.filum_action = "public"  # type: ignore[attr-defined]
