"""Sending a text message (SMS) through a pluggable sender (A8).

``settings.FILUM_SMS_SENDER`` names the sender class by its dotted path; it has a method
``send(*, to, body)``. Filum ships two: ``ConsoleSender`` (the default) writes the message to
standard output, like Django's console e-mail backend, for development and demos; an
installation plugs in a class that calls its SMS gateway. ``MemorySender`` keeps the messages
in ``MemorySender.outbox`` for tests. The message holds a link's token: senders must not pass
it to the logging system (R27).
"""

from __future__ import annotations

import sys
import threading
from dataclasses import dataclass
from typing import ClassVar, Protocol

from django.conf import settings
from django.utils.module_loading import import_string

DEFAULT_SENDER = "filum.assessments.sms.ConsoleSender"


@dataclass(frozen=True)
class TextMessage:
    to: str
    body: str


class Sender(Protocol):
    def send(self, *, to: str, body: str) -> None: ...


class ConsoleSender:
    """Writes each message to standard output (no gateway configured)."""

    def send(self, *, to: str, body: str) -> None:
        sys.stdout.write(f"SMS to {to}:\n{body}\n{'-' * 40}\n")
        sys.stdout.flush()


class MemorySender:
    """Keeps the messages in a list, for tests (the live server's thread included)."""

    outbox: ClassVar[list[TextMessage]] = []
    _lock: ClassVar[threading.Lock] = threading.Lock()

    def send(self, *, to: str, body: str) -> None:
        with self._lock:
            MemorySender.outbox.append(TextMessage(to=to, body=body))


def sender() -> Sender:
    path = getattr(settings, "FILUM_SMS_SENDER", "") or DEFAULT_SENDER
    sender_class = import_string(path)
    return sender_class()


def send_sms(*, to: str, body: str) -> None:
    sender().send(to=to, body=body)
