"""Keep the tokens of providers' links (``/f/<token>/``) out of the logs (R27, A8).

The token is the only key to a provider's form, so no log line may hold it: Django's request
and CSRF warnings (a 404 for an unusable link, a refused POST) and gunicorn's access log name
the path. ``MaskLinkTokens`` (a logging filter on those Django loggers, ``settings.LOGGING``)
and ``GunicornLogger`` (``filum/gunicorn_conf.py``) replace the token with ``…``.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from gunicorn.glogging import Logger  # type: ignore[import-untyped]

TOKEN_PATH = re.compile(r"/f/[^/\s\"'?#]+")
MASKED = "/f/…"


def mask(text: str) -> str:
    return TOKEN_PATH.sub(MASKED, text)


def _masked(value: Any) -> Any:
    return mask(value) if isinstance(value, str) else value


class MaskLinkTokens(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = _masked(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(_masked(a) for a in record.args)
        elif isinstance(record.args, dict):
            record.args = {k: _masked(v) for k, v in record.args.items()}
        return True


class GunicornLogger(Logger):
    """gunicorn's logger, with the link tokens masked in the access log's request line."""

    def atoms(self, resp: Any, req: Any, environ: Any, request_time: Any) -> dict[str, Any]:
        atoms: dict[str, Any] = super().atoms(resp, req, environ, request_time)
        return {key: _masked(value) for key, value in atoms.items()}
