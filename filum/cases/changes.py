"""Telling the layers above that what a dossier's steering rules read has changed.

The rules live in ``filum.followup``, which imports this app, not the other way round; so the
services of ``cases`` and ``journal`` announce a change here, and ``followup`` listens (it
keeps each open dossier's traffic light, ``filum.followup.kept``). Call ``facts_changed``
inside the transaction of the write: the listener forgets the kept light at once (in the same
transaction) and evaluates the dossier again once the write has committed.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from django.dispatch import Signal

# sent with ``case_ids``: the dossiers whose stage, dates, segment history, proposals or
# counted contacts changed (or that were opened or closed)
dossier_facts_changed = Signal()


def facts_changed(case_ids: Iterable[uuid.UUID]) -> None:
    dossier_facts_changed.send(sender=None, case_ids=list(case_ids))
