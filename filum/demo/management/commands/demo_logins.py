"""Print the demo logins (username, role, organisation, password)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.core.management.base import BaseCommand

from filum.demo.mfa import demo_totp_secret, mfa_login_names
from filum.demo.seed import login_rows


def format_table(rows: Sequence[Sequence[str]], header: tuple[str, ...]) -> str:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(str(v).ljust(w) for v, w in zip(row, widths, strict=True)) for row in rows]
    rule = "  ".join("-" * w for w in widths)
    head = "  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True))
    return "\n".join(line.rstrip() for line in [head, rule, *lines])


class Command(BaseCommand):
    help = (
        "Print the demo logins that exist in the database: username, role, organisation and "
        "the shared demo password. Prints nothing when there are none (e.g. in production)."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        rows = login_rows()
        if not rows:
            return
        self.stdout.write("Demo logins (all with the same password):")
        self.stdout.write(format_table(rows, ("username", "role", "organisation", "password")))
        mfa = mfa_login_names()
        if mfa:
            self.stdout.write(
                "\nTwo-factor sign-in is required for "
                + ", ".join(sorted({f"{u} ({org})" for u, org in mfa}))
                + f".\nDemo-only TOTP key (add it to an authenticator app): {demo_totp_secret()}"
                + "\nor print the current code: "
                + f"python3 scripts/_bootstrap.py manage demo_totp {mfa[0][0]}"
            )
