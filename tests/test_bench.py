"""The benchmark command (issue 7): every figure is reported, with numbers, and the mixed load
against a real gunicorn records its contacts without errors. Speed is not asserted here: the
targets are the benchmark's business, on the ten-year volume."""

from __future__ import annotations

import json
import math
from io import StringIO

import pytest
from django.core.management import call_command

from filum.demo.load import KINDS, NOTE
from filum.demo.management.commands.bench import TARGETS_MS
from filum.journal.models import Contact
from tests.browser.conftest import reference_data  # noqa: F401 (topics after a flush)


@pytest.mark.owner  # the volume load switches triggers off
@pytest.mark.usefixtures("reference_data")
def test_issue7_bench_reports_every_page_and_a_mixed_load_without_errors_and_only_what_is_asked(
    transactional_db,
):
    call_command("seed_demo", "--size", "600", "--seed", "42", stdout=StringIO())
    out = StringIO()
    call_command(
        "bench",
        "--json",
        *("--repeat", "2", "--long-repeat", "2"),
        *("--load-seconds", "2", "--load-clients", "2"),
        stdout=out,
    )
    result = json.loads(out.getvalue())

    assert result["skipped"] == []
    # the import figures (hours at their full size, committed) run only when asked by name
    assert (result["import"], result["import_resume"], result["import_medium"]) == (None,) * 3
    figures = {f["name"]: f for f in result["figures"]}
    assert list(figures) == list(TARGETS_MS)
    for figure in figures.values():
        assert figure["n"] == 2, figure
        for key in ("p50_ms", "p95_ms", "ratio_p95_to_target"):
            assert math.isfinite(figure[key]) and figure[key] > 0, figure
        assert figure["queries"] >= 1, figure
        assert isinstance(figure["pass"], bool)

    load = result["load"]
    assert load["clients"] == 2
    assert [k["name"] for k in load["kinds"]] == list(KINDS)
    for row in [*load["kinds"], load["overall"]]:
        assert row["errors"] == 0, load["error_examples"]
        assert row["requests"] >= 2, row  # each worker finishes the round it started
        assert all(math.isfinite(row[k]) for k in ("per_second", "p50_ms", "p95_ms", "p99_ms"))
    recorded = next(k for k in load["kinds"] if k["name"] == "record contact")["requests"]
    assert Contact.objects.filter(note=NOTE).count() == recorded
    assert load["generator_cpu_seconds"] >= 0
    assert isinstance(load["pass"], bool)

    # --only: that figure alone, and no load
    out = StringIO()
    call_command("bench", "--json", "--repeat", "1", "--only", "detail", stdout=out)
    result = json.loads(out.getvalue())
    assert [f["name"] for f in result["figures"]] == ["dossier detail"]
    assert result["load"] is None
