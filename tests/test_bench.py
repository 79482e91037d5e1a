"""The benchmark command (issue 7): every figure is reported, with numbers, and the mixed load
against a real gunicorn records its contacts without errors. Speed is not asserted here: the
targets are the benchmark's business, on the ten-year volume."""

from __future__ import annotations

import json
import math
import statistics
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from io import StringIO

import pytest
from django.core.management import call_command

from filum.demo.load import KINDS, NOTE, LoadResult, SignedIn, SimulatedWorker
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
        *("--load-seconds", "2", "--load-clients", "2", "--load-rate", "10"),
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

    # the paced load at the rate asked (below the target: it cannot pass), then the capacity
    paced, capacity = result["load"], result["load_capacity"]
    assert (paced["paced_rate"], capacity["paced_rate"]) == (10.0, 0.0)
    recorded = 0
    for load in (paced, capacity):
        assert load["clients"] == 2
        assert [k["name"] for k in load["kinds"]] == list(KINDS)
        for row in [*load["kinds"], load["overall"]]:
            assert row["errors"] == 0, load["error_examples"]
            assert row["requests"] >= 2, row  # each worker finishes the round it started
            assert all(math.isfinite(row[k]) for k in ("per_second", "p50_ms", "p95_ms", "p99_ms"))
        recorded += next(k for k in load["kinds"] if k["name"] == "record contact")["requests"]
        recorded += load["warm_up_recorded"]  # the warm-up records contacts too, uncounted
        assert load["warm_up_requests"] >= 2 and load["warm_up_errors"] == 0
        assert load["generator_cpu_seconds"] >= 0
        assert isinstance(load["pass"], bool)
    assert Contact.objects.filter(note=NOTE).count() == recorded
    assert paced["pass"] is False  # 10 requests/s is not the design rate
    # paced at 10 a second, two workers make about 20 requests in 2 s, not as many as they can
    assert paced["overall"]["requests"] < capacity["overall"]["requests"]

    # --only: that figure alone, and no load
    out = StringIO()
    call_command("bench", "--json", "--repeat", "1", "--only", "detail", stdout=out)
    result = json.loads(out.getvalue())
    assert [f["name"] for f in result["figures"]] == ["dossier detail"]
    assert result["load"] is None and result["load_capacity"] is None


@pytest.mark.parametrize("gap, at_least_ms", [(0.0, 0), (0.01, 250)])
def test_u4_a_paced_request_is_timed_from_the_moment_it_was_due(gap, at_least_ms):
    """A server answering in 50 ms cannot keep up with a request due every 10 ms: paced, the
    tenth request's time includes the wait since it was due (no coordinated omission);
    as fast as answers come, the requests take about the server's 50 ms, no wait piles up."""

    class Slow(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            time.sleep(0.05)
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Slow)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        me = SignedIn("w", "k" * 32, "c" * 32, [])
        result = LoadResult(seconds=1.0)
        worker = SimulatedWorker(
            server.server_address[1], me, {}, result, time.monotonic() + 10, 1, gap
        )
        worker.due = time.monotonic()
        for _ in range(10):
            assert worker.request("journal", "GET", "/") == "ok"
        worker.conn.close()
    finally:
        server.shutdown()
        server.server_close()
    times = result.samples["journal"]
    assert len(times) == 10 and min(times) >= 45
    if gap:
        assert times[-1] >= at_least_ms, times
    else:
        # no wait piles up: most requests take about the server's time (the median, so that
        # one request slowed by a busy machine does not decide)
        assert statistics.median(times) < 3 * min(times), times
