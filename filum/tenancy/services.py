"""Membership management by an organisation's super-user (X1)."""

from __future__ import annotations

from django.db import transaction
from django.http import Http404

from filum.tenancy.models import Membership, Team, User
from filum.tenancy.policy import Actor


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
) -> Membership:
    """Add a role in the actor's organisation, creating the user if new. A new user gets an
    unusable password and sets one through the password-reset link sent by e-mail."""
    user, created = User.objects.get_or_create(
        username=username,
        defaults={"first_name": first_name, "last_name": last_name, "email": email},
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
    return membership


@transaction.atomic
def do_deactivate_membership(*, actor: Actor, membership: Membership) -> None:
    if membership.organisation_id != actor.organisation_id:
        raise Http404
    membership.is_active = False
    membership.save(update_fields=["is_active"])
