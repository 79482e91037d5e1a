"""Gunicorn settings for Filum: the one place for the web server's worker model (U4, issue 7).

Used by the run command (``gunicorn -c filum/gunicorn_conf.py filum.wsgi``), the benchmark and
production. Settings given on the command line win over these (the run command passes its
``--bind``).

Worker model: ``gthread``, a few processes with several threads each. A request spends about
half its time waiting for PostgreSQL; while one thread waits, another thread of the same
process runs Python, so a 2-core machine is kept busy by a few processes without one process
per concurrent request (decision and measurements: docs/admin-guide.md, "Web server").

One process per core, not more: a request is Python (about two thirds of its CPU) and PostgreSQL's
work on the same cores, and Python's lock lets one thread of a process run at a time; one
process per core uses them all, more only add context switches (admin guide, "Web server").
No ``preload_app``: it saves memory and start-up time, not CPU per request, and whatever the
app opened while loading (a connection, a thread) would be shared by the forked workers. No
``max_requests``: a restarted worker loses what it keeps warm (compiled templates, the
traffic-light rules' compiled query, the menus per role; decision 0015, "Per-request CPU").

Garbage collection: once a worker has loaded the app, everything it holds is moved out of the
collector's reach (``gc.freeze()``). Otherwise every full collection walks Django's, the
URL conf's and the compiled templates' objects again: about 75 ms, every twentieth request or
so of a large page, which is most of a page's 95th percentile (decision 0015).

Environment (all optional):

- ``FILUM_BIND``: address to listen on (default ``127.0.0.1:$PORT``, ``PORT`` default 8000);
- ``FILUM_WEB_WORKERS``: processes (default: the number of cores, at least 2);
- ``FILUM_WEB_THREADS``: threads per process (default 2; raise it, e.g. to 8, when the database
  runs on another machine and answers with network latency);
- ``FILUM_WEB_TIMEOUT``: seconds a request may take before its worker is restarted (default 60;
  the database's statement timeout for the app role, 30 s, ends a runaway query first).

Every thread keeps its own database connection open (``CONN_MAX_AGE``): workers × threads
connections, plus the task worker and a batch job, must stay well under PostgreSQL's
``max_connections`` (100 by default): 2 × 2 = 4 on a 2-core machine.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
from typing import Any


def _int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    return int(value) if value else default


wsgi_app = "filum.wsgi"
bind = [os.environ.get("FILUM_BIND") or f"127.0.0.1:{os.environ.get('PORT', '8000')}"]
worker_class = "gthread"
workers = _int("FILUM_WEB_WORKERS", max(2, multiprocessing.cpu_count()))
threads = _int("FILUM_WEB_THREADS", 2)
# requests beyond workers × threads wait in the listen queue, not in a thread
backlog = 256
timeout = _int("FILUM_WEB_TIMEOUT", 60)
graceful_timeout = 10
# browsers (and a proxy in front) reuse their connection for the htmx requests of a page
keepalive = 5
accesslog = "-"
# the tokens of providers' links (/f/<token>/) are masked in the access log (R27)
logger_class = "filum.assessments.logs.GunicornLogger"
# gunicorn 27's control socket in ~ would clash between checkouts on one machine
control_socket_disable = True


def post_worker_init(worker: Any) -> None:
    """The app is loaded: freeze what it holds, so full collections walk only what requests
    leave behind."""
    freeze_loaded()


def freeze_loaded() -> None:
    """Collect once, then move every object left out of the collector's generations."""
    gc.collect()
    gc.freeze()
