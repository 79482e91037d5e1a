"""The authentication backend: Django's model backend, with the signed-in user and their active
memberships read in one query per request (U4, decision 0015).

Every signed-in request loads the session's user, then the user's active memberships (the
acting one and the header's switcher). Both come from one join here, compiled once per thread;
``ActorMiddleware`` takes the memberships from the user instead of asking again. A user without
an active membership (or an inactive user) is read as Django reads it, with no memberships.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import backends

from filum.prepared import PreparedQuery
from filum.tenancy.models import Membership

# The same list, in the same order, as ``filum.tenancy.middleware.memberships_of``.
_SIGNED_IN = PreparedQuery(
    lambda user_id: (
        Membership.objects.active()
        .filter(user_id=user_id)
        .select_related("user", "organisation", "team")
        .order_by("organisation__name", "role")
    )
)


class ModelBackend(backends.ModelBackend):
    def get_user(self, user_id: Any) -> Any:
        try:
            key = int(user_id)
        except (TypeError, ValueError):
            return None
        memberships: list[Membership] = _SIGNED_IN.objects(key)
        user: Any
        if not memberships:
            user = super().get_user(key)
            if user is not None:
                user.filum_memberships = []
            return user
        user = memberships[0].user
        for membership in memberships:
            membership.user = user
        user.filum_memberships = memberships
        return user if self.user_can_authenticate(user) else None
