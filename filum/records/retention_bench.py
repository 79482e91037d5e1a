"""The bench row of the nightly retention listing (M3, decision 0036): every organisation's
due dossiers with their rules, holds and offers, as ``manage.py retention --dry-run`` lists
them (nothing written), at the ten-year volume. Target 5 s."""

from __future__ import annotations

import time

from django.utils import timezone

from filum.records.retention import Nightly, offer_due

NIGHTLY = "nightly retention listing, every organisation"
TARGETS_MS = {NIGHTLY: 5000.0}


def list_once() -> Nightly:
    report = Nightly()
    offer_due(timezone.localdate(), dry_run=True, report=report)
    return report


def time_nightly_listing(repeat: int) -> tuple[list[float], str]:
    samples: list[float] = []
    report = Nightly()
    for _ in range(repeat):
        started = time.perf_counter()
        report = list_once()
        samples.append((time.perf_counter() - started) * 1000)
    due = len(report.offered) + len(report.waiting) + len(report.held)
    return samples, f"{due:,} dossiers past their retention ({len(report.held)} held)"
