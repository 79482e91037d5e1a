"""Gunicorn settings of the run command and the benchmark's mixed load (`gunicorn -c
filum/gunicorn_conf.py filum.wsgi`). FILUM_BIND chooses the address (default 127.0.0.1:8000)."""

import os

bind = os.environ.get("FILUM_BIND", "127.0.0.1:8000")
workers = 2
worker_class = "sync"
graceful_timeout = 10
# gunicorn 27's default control socket in ~ would clash between checkouts
control_socket_disable = True
