"""Benchmarks of the canton dataset (decision 0032), run by ``manage.py bench``: the nightly
extract of the largest canton, and an indicator over that canton from the extract. The
extract is written into a temporary folder, so the installation's own extracts stay as they
are."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from django.db.models import Count
from django.test import override_settings

from filum.cases.models import Case
from filum.steering.extract import extract_canton
from filum.steering.indicators import compute
from filum.steering.models import IndicatorDefinition

EXTRACT = "canton extract, largest canton"
INDICATOR = "indicator over the whole canton from the extract"
TARGETS_MS = {EXTRACT: 300_000.0, INDICATOR: 1000.0}
INDICATOR_KEY = "ais_language_a1"


def largest_canton() -> str | None:
    row = (
        Case.objects.values("owner__canton")
        .annotate(n=Count("pk"))
        .order_by("-n")
        .values_list("owner__canton", flat=True)
        .first()
    )
    return row


def measure(wanted: Callable[[str], bool], repeat: int) -> Iterator[tuple[str, list[float], str]]:
    """(figure name, samples in ms, note) for each wanted figure."""
    if not (wanted(EXTRACT) or wanted(INDICATOR)):
        return
    canton = largest_canton()
    if canton is None:
        return
    with (
        tempfile.TemporaryDirectory() as folder,
        override_settings(CANTON_DATASET_DIR=Path(folder)),
    ):
        started = time.perf_counter()
        result = extract_canton(canton)
        elapsed = (time.perf_counter() - started) * 1000
        rows = ", ".join(f"{name} {count:,}" for name, count in result.rows.items())
        if wanted(EXTRACT):
            yield EXTRACT, [elapsed], f"canton {canton}: {rows}"
        if wanted(INDICATOR):
            definition = (
                IndicatorDefinition.objects.filter(key=INDICATOR_KEY).order_by("-version").first()
            )
            if definition is None:
                return
            samples = []
            for _ in range(max(repeat, 5)):
                started = time.perf_counter()
                compute(definition.definition, result.folder, by="service")
                samples.append((time.perf_counter() - started) * 1000)
            yield (
                INDICATOR,
                samples,
                f"{INDICATOR_KEY} v{definition.version} by service over canton {canton} "
                f"({result.rows['ais_milestones']:,} milestone rows)",
            )
