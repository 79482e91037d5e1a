"""Two-factor sign-in for the demo: DEMO ONLY, never for a real installation (R1).

The demo organisations in ``demo.DEMO_MFA_ORGS`` require TOTP, and their demo users share one
published key (the RFC 6238 test key "12345678901234567890"), so that a tester can sign in:
the run command prints the key and ``manage.py demo_totp <username>`` prints the current code.
A code is printed only for a demo login whose device holds exactly this public key, so the
command can never reveal a real user's code.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable

from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from filum.tenancy.models import Organisation, User

DEMO_TOTP_KEY_HEX = "3132333435363738393031323334353637383930"  # b"12345678901234567890"
DEMO_DEVICE_NAME = "demo"


def demo_totp_secret() -> str:
    """The key as an authenticator app takes it (base32)."""
    return base64.b32encode(bytes.fromhex(DEMO_TOTP_KEY_HEX)).decode()


def require_demo_mfa(organisations: Iterable[Organisation]) -> None:
    """The organisations require TOTP; each of their users gets the demo device."""
    for organisation in organisations:
        organisation.mfa_required = True
        organisation.save(update_fields=["mfa_required"])
        users = User.objects.filter(memberships__organisation=organisation).distinct()
        TOTPDevice.objects.bulk_create(
            TOTPDevice(user=u, name=DEMO_DEVICE_NAME, key=DEMO_TOTP_KEY_HEX, confirmed=True)
            for u in users
        )


def demo_device(username: str) -> TOTPDevice | None:
    """The demo device of a demo user, or None for anyone else."""
    from filum.demo.seed import DEMO_LOGINS

    if username not in {spec.username for spec in DEMO_LOGINS}:
        return None
    return TOTPDevice.objects.filter(
        user__username=username, key=DEMO_TOTP_KEY_HEX, confirmed=True
    ).first()


def current_code(device: TOTPDevice) -> str:
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    return f"{totp.token():0{device.digits}d}"


def mfa_login_names() -> list[tuple[str, str]]:
    """(username, organisation) of the demo logins that must enter a code."""
    from filum.demo.seed import DEMO_LOGINS

    names = [spec.username for spec in DEMO_LOGINS]
    devices = TOTPDevice.objects.filter(
        user__username__in=names, key=DEMO_TOTP_KEY_HEX, confirmed=True
    ).select_related("user")
    orgs = {
        username: org
        for username, org in Organisation.objects.filter(
            mfa_required=True, memberships__user__username__in=names
        ).values_list("memberships__user__username", "name")
    }
    return sorted((d.user.username, orgs.get(d.user.username, "")) for d in devices)
