"""Membership management by an organisation's super-user (X1)."""

from __future__ import annotations

from django.db import transaction
from django.http import Http404

from filum.tenancy.models import Membership, Organisation, Team, User
from filum.tenancy.policy import Actor


class SelfGrantRefused(Exception):
    """A super-user tried to give a role to their own account (X1): that needs another
    super-user of the organisation or the platform administrator."""


def get_membership_for_actor(*, actor: Actor, membership_id: int) -> Membership:
    """A membership of the actor's own organisation; any other answers 404."""
    try:
        return Membership.objects.select_related("user").get(
            pk=membership_id, organisation_id=actor.organisation_id
        )
    except Membership.DoesNotExist as exc:
        raise Http404 from exc


@transaction.atomic
def do_add_member(
    *,
    actor: Actor,
    username: str,
    first_name: str,
    last_name: str,
    email: str,
    role: str,
    team: Team | None,
    language: str = "fr",
) -> tuple[Membership, bool]:
    """Add a role in the actor's organisation, creating the user if new (then True). A new
    user gets an unusable password and chooses one through the invitation link."""
    if username == actor.user.get_username():
        raise SelfGrantRefused
    user, created = User.objects.get_or_create(
        username=username,
        defaults={
            "first_name": first_name,
            "last_name": last_name,
            "email": email,
            "language": language,
        },
    )
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    membership, _ = Membership.objects.update_or_create(
        user=user,
        organisation_id=actor.organisation_id,
        role=role,
        defaults={"is_active": True, "team": team},
    )
    return membership, created


@transaction.atomic
def do_deactivate_membership(*, actor: Actor, membership: Membership) -> None:
    if membership.organisation_id != actor.organisation_id:
        raise Http404
    membership.is_active = False
    membership.save(update_fields=["is_active"])


@transaction.atomic
def do_set_mfa_required(*, organisation: Organisation, required: bool) -> bool:
    """Switch two-factor sign-in for an organisation; True if that changed anything."""
    changed = Organisation.objects.filter(pk=organisation.pk).exclude(mfa_required=required)
    if not changed.exists():
        return False
    organisation.mfa_required = required
    organisation.save(update_fields=["mfa_required"])
    return True
