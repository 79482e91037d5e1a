"""Benchmarks of the canton dataset (decision 0032), run by ``manage.py bench``: the nightly
extract of the largest canton, and an indicator over that canton from the extract. The
extract is written into a temporary folder, so the installation's own extracts stay as they
are."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from django.db import connection
from django.db.models import Count
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from filum.cases.models import Case
from filum.steering.extract import ExtractResult, extract_canton
from filum.steering.indicators import compute
from filum.steering.models import IndicatorDefinition

EXTRACT = "canton extract, largest canton"
INDICATOR = "indicator over the whole canton from the extract"
TARGETS_MS = {EXTRACT: 300_000.0, INDICATOR: 1000.0}
INDICATOR_KEY = "ais_language_a1"


def largest_canton() -> str | None:
    return (
        Case.objects.values("owner__canton")
        .annotate(n=Count("pk"))
        .order_by("-n")
        .values_list("owner__canton", flat=True)
        .first()
    )


def _indicator(result: ExtractResult) -> int:
    """The page's work: the latest definition, then DuckDB over the extract."""
    definition = IndicatorDefinition.objects.filter(key=INDICATOR_KEY).order_by("-version").first()
    if definition is None:
        return 0
    compute(definition.definition, result.folder, by="service")
    return definition.version


def measure(
    wanted: Callable[[str], bool], repeat: int, extracts: int = 2
) -> Iterator[tuple[str, list[float], int, str]]:
    """(figure name, samples in ms, queries, note) for each wanted figure: the extract
    ``extracts`` times (minutes each at full size), the indicator ``repeat`` times."""
    if not (wanted(EXTRACT) or wanted(INDICATOR)):
        return
    canton = largest_canton()
    if canton is None:
        return
    with (
        tempfile.TemporaryDirectory() as folder,
        override_settings(CANTON_DATASET_DIR=Path(folder)),
    ):
        samples: list[float] = []
        runs = max(1, extracts) if wanted(EXTRACT) else 1
        for _ in range(runs):
            with CaptureQueriesContext(connection) as queries:
                started = time.perf_counter()
                result = extract_canton(canton)
                samples.append((time.perf_counter() - started) * 1000)
        rows = ", ".join(f"{name} {count:,}" for name, count in result.rows.items())
        if wanted(EXTRACT):
            yield EXTRACT, samples, len(queries), f"canton {canton}: {rows}"
        if wanted(INDICATOR):
            samples, version = [], 0
            for _ in range(max(1, repeat)):
                with CaptureQueriesContext(connection) as queries:
                    started = time.perf_counter()
                    version = _indicator(result)
                    samples.append((time.perf_counter() - started) * 1000)
            yield (
                INDICATOR,
                samples,
                len(queries),
                f"{INDICATOR_KEY} v{version} by service over canton {canton} "
                f"({result.rows['ais_milestones']:,} milestone rows)",
            )
