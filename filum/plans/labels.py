"""Words for the codes the timeline stores, in the active language."""

from __future__ import annotations

from filum.plans.models import MilestoneKey


def milestone_label(key: str) -> str:
    try:
        return str(MilestoneKey(key).label)
    except ValueError:
        return key
