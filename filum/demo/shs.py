"""Demo data of the federal statistics and the monitoring (D6, D7; decision 0035): canton
BE's SHS mapping table, filled with placeholder codes (the BFS code lists are not known here,
docs/federal-statistics.md) and with status S deliberately left out so that the deliveries show
how an unmapped value is reported; the monitoring's monthly figures; and the SHS delivery of
the last ended month for every social service."""

from __future__ import annotations

import datetime
from typing import Any

from filum.cases.models import ClosureReason
from filum.people.models import RelationToHead, ResidenceStatus, Sex
from filum.steering import monitoring, shs
from filum.steering.models import ShsMappingEntry, ShsMappingVersion

DEMO_NOTE = "Demo: placeholder codes, not the BFS code lists"


def demo_entries() -> list[tuple[str, str, str]]:
    """Placeholder codes for every Filum value but residence status S (left unmapped)."""
    entries = [
        ("statistic", shs.Statistic.WSH, "WSH"),
        ("statistic", shs.Statistic.REFUGEES, "FLUE"),
        ("statistic", shs.Statistic.ASYLUM, "ASYL"),
    ]
    entries += [("sex", value, value.upper()) for value in Sex.values]
    entries += [("relation", value, value[:3].upper()) for value in RelationToHead.values]
    entries += [("closure_reason", value, f"{i:03d}") for i, value in enumerate(ClosureReason, 1)]
    entries += [
        ("residence_status", value, value.upper())
        for value in ResidenceStatus.values
        if value != ResidenceStatus.S
    ]
    return entries


def fill_mapping(canton: str = "BE", entries: list[tuple[str, str, str]] | None = None) -> Any:
    number = ShsMappingVersion.objects.filter(canton=canton).count() + 1
    version = ShsMappingVersion.objects.create(canton=canton, number=number, note=DEMO_NOTE)
    ShsMappingEntry.objects.bulk_create(
        ShsMappingEntry(version=version, variable=v, filum_value=f, shs_code=c)
        for v, f, c in (entries if entries is not None else demo_entries())
    )
    return version


def seed_shs_demo(today: datetime.date) -> dict[str, int]:
    if not ShsMappingVersion.objects.filter(canton="BE").exists():
        fill_mapping("BE")
    rows = monitoring.refresh(today)
    made = shs.deliver_due(today)
    return {
        "monitoring months": rows,
        "SHS deliveries": len(made),
        "SHS unmapped values": sum(len(d.errors) for d in made),
    }


def step_shs(ctx: Any) -> None:
    """A step of ``filum.demo.seed.DEMO_STEPS`` (after the dossiers)."""
    ctx.counts.update(seed_shs_demo(ctx.today))
