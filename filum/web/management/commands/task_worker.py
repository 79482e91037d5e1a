"""The task worker: django_tasks_db's ``db_worker`` plus a heartbeat for /readyz (X7).

A thread writes this worker's row in ``web_workerheartbeat`` every few seconds. While the
database is away it keeps trying (the worker loop itself exits on a lost database; the run
command, or systemd, starts it again).
"""

from __future__ import annotations

import datetime
import logging
import threading
from typing import Any

from django.db import DatabaseError, connection
from django.utils import timezone
from django_tasks_db.management.commands.db_worker import Command as DbWorkerCommand

from filum.batch import batch_job
from filum.web.models import WorkerHeartbeat
from filum.web.probes import HEARTBEAT_SECONDS

logger = logging.getLogger(__name__)
FORGET_AFTER = datetime.timedelta(days=1)  # heartbeats of workers gone long ago


def beat(worker_id: str) -> None:
    now = timezone.now()
    WorkerHeartbeat.objects.update_or_create(worker_id=worker_id, defaults={"seen_at": now})
    WorkerHeartbeat.objects.filter(seen_at__lt=now - FORGET_AFTER).delete()


def _heartbeat_loop(worker_id: str, stop: threading.Event) -> None:
    while not stop.is_set():
        try:
            beat(worker_id)
        except DatabaseError as error:
            logger.warning("task worker heartbeat failed: %s", error)
            connection.close()  # this thread's connection; the next beat reconnects
        stop.wait(HEARTBEAT_SECONDS)
    connection.close()


class Command(DbWorkerCommand):
    help = "Run the task worker (db_worker) and write its heartbeat for /readyz."

    @batch_job
    def handle(self, *args: Any, **options: Any) -> None:
        stop = threading.Event()
        thread = threading.Thread(
            target=_heartbeat_loop, args=(options["worker_id"], stop), daemon=True
        )
        thread.start()
        try:
            super().handle(*args, **options)
        finally:
            stop.set()
