"""Print the current two-factor code of a demo user (DEMO ONLY: see filum/demo/mfa.py)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from filum.demo.mfa import current_code, demo_device


class Command(BaseCommand):
    help = (
        "Print the current six-digit code of a demo login of an organisation that requires "
        "two-factor sign-in. Refuses every account that is not a demo login with the public "
        "demo key."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")

    def handle(self, *args: Any, **options: Any) -> None:
        device = demo_device(options["username"])
        if device is None:
            raise CommandError(f"{options['username']} is not a demo login with the demo TOTP key")
        self.stdout.write(current_code(device))
