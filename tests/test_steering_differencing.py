"""Differencing (X3; decision 0032, amendment "Differencing"): what the analyst's pages show
cannot be subtracted into a count of fewer than 5 persons.

The attacks read what leaves the server (the page's HTML, a kept report's JSON) over a
hand-built extract, then search every table of counts that agrees with all of it: a hidden
count is recovered when only one value is left. With the rule in place several are; without
the rounding, the same attack finds the hidden count."""

from __future__ import annotations

import html
import itertools
import json
import re

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from django.urls import reverse
from django.utils import translation

from filum import disclosure
from filum.steering import indicators
from filum.steering.dataset import TABLES
from filum.steering.models import IndicatorReport

SERVICE_A, SERVICE_B = 9901, 9902
COMMUNE_X, COMMUNE_Y = 9971, 9972
# open dossiers: service x commune. B in X is the small cell (3) the attacker wants.
TRUE = {(SERVICE_A, COMMUNE_X): 57, (SERVICE_A, COMMUNE_Y): 43, (SERVICE_B, COMMUNE_X): 3}
TRUE[(SERVICE_B, COMMUNE_Y)] = 10
URL = reverse("indicator_detail", args=["case_volume"])  # open dossiers, a count


@pytest.fixture
def extract(settings, tmp_path):
    """A current extract of canton BE whose dossiers table holds the counts of TRUE."""
    settings.CANTON_DATASET_DIR = tmp_path / "dataset"
    folder = settings.CANTON_DATASET_DIR / "BE" / "extract-20261201T020000000000Z"
    folder.mkdir(parents=True)
    table = TABLES["dossiers"]
    rows = []
    for (service, commune), count in TRUE.items():
        for i in range(count):
            row = dict.fromkeys(c.name for c in table.columns)
            row.update(
                dossier=f"d-{service}-{commune}-{i}",
                person=f"p-{service}-{commune}-{i}",
                service=service,
                commune=commune,
                domain="economic_aid",
                status="open",
                stage="counselling",
                opened_year=2025,
            )
            rows.append(row)
    pq.write_table(pa.Table.from_pylist(rows, schema=table.schema), folder / "dossiers.parquet")
    (folder / "manifest.json").write_text(json.dumps({"canton": "BE", "as_of": "2026-12-01"}))
    (folder.parent / "current").symlink_to(folder.name)
    return folder


CELL = re.compile(
    r"<tr><td>(?:<a [^>]*>)?([^<]*)(?:</a>)?</td><td data-testid=\"cell\">([^<]*)</td>"
)
TOTAL = re.compile(r'data-testid="total">([^<]*)<')


def published(client, **query) -> tuple[str, dict[str, str]]:
    """The total and the cells (label -> text) of a page, read from its HTML."""
    text = client.get(URL, {k: str(v) for k, v in query.items()}).content.decode()
    total = html.unescape(TOTAL.search(text).group(1))
    return total, {html.unescape(k): html.unescape(v) for k, v in CELL.findall(text)}


def possible(text: str) -> range:
    """The true counts a shown text allows: a rounded count its interval, "fewer than 5" 1-4,
    "not shown" (hidden beside a small one: never small itself) 5 and more."""
    if text == "moins de 5":
        return range(1, 5)
    if text == "non affiché":
        return range(5, 200)
    value = int(text.replace("\u202f", ""))
    if indicators.rounded(7) == 7:  # no rounding (the attack's control)
        return range(value, value + 1)
    return range(value - 2, value + 3)


def attack(client) -> set[int]:
    """Every view of the two dimensions an analyst can open, then every 2 x 2 table agreeing
    with all of them: the values of B in X that remain."""
    views = {
        ("all", "service"): published(client, by="service"),
        ("all", "commune"): published(client, by="commune"),
    }
    for s in (SERVICE_A, SERVICE_B):
        views[("service", s)] = published(client, service=s, by="commune")
    for c in (COMMUNE_X, COMMUNE_Y):
        views[("commune", c)] = published(client, commune=c, by="service")

    def agrees(t: dict[tuple[int, int], int]) -> bool:
        def check(text: str | None, value: int) -> bool:
            return value == 0 if text is None else value in possible(text)

        grand = sum(t.values())
        for key, (total, cells) in views.items():
            kind, value = key
            if kind == "all":
                dims = (SERVICE_A, SERVICE_B) if value == "service" else (COMMUNE_X, COMMUNE_Y)
                index = 0 if value == "service" else 1
                if not check(total, grand):
                    return False
                for d in dims:
                    part = sum(v for k, v in t.items() if k[index] == d)
                    if not check(cells.get(str(d)), part):
                        return False
            else:
                index = 0 if kind == "service" else 1
                line = {k: v for k, v in t.items() if k[index] == value}
                if not check(total, sum(line.values())):
                    return False
                for k, v in line.items():
                    if not check(cells.get(str(k[1 - index])), v):
                        return False
        return True

    left = set()
    for ax, ay, bx, by in itertools.product(
        range(45, 70), range(33, 55), range(0, 9), range(3, 18)
    ):
        table = {
            (SERVICE_A, COMMUNE_X): ax,
            (SERVICE_A, COMMUNE_Y): ay,
            (SERVICE_B, COMMUNE_X): bx,
            (SERVICE_B, COMMUNE_Y): by,
        }
        if agrees(table):
            left.add(bx)
    return left


def test_x3_a_small_cell_cannot_be_recovered_by_subtraction_across_the_views(world, extract):
    client = world.analyst.client()
    # what the pages show: the small cell and its complement hidden, counts rounded to 5
    assert published(client, commune=COMMUNE_X, by="service") == (
        "60",
        {str(SERVICE_A): "non affiché", str(SERVICE_B): "moins de 5"},
    )
    assert published(client, service=SERVICE_B, by="commune") == (
        "15",
        {str(COMMUNE_X): "moins de 5", str(COMMUNE_Y): "non affiché"},
    )
    # A in X is shown where it is not beside a small cell (rounded: 57 -> 55)
    assert published(client, service=SERVICE_A, by="commune")[1] == {
        str(COMMUNE_X): "55",
        str(COMMUNE_Y): "45",
    }
    left = attack(client)
    assert TRUE[(SERVICE_B, COMMUNE_X)] in left and len(left & {1, 2, 3, 4}) > 1


def test_x3_without_the_rounding_the_same_attack_recovers_the_cell(world, extract, monkeypatch):
    """The control: the attack works, so the test above can fail. Suppression per view alone
    (small cells and their complement) lets commune X's total minus A's count in X, shown on
    A's page, give B in X."""
    monkeypatch.setattr(indicators, "rounded", lambda count: count)
    assert attack(world.analyst.client()) == {3}


def test_x3_a_total_beside_one_small_cell_does_not_give_it_away(world, extract):
    client = world.analyst.client()
    total, cells = published(client, commune=COMMUNE_X, by="service")
    shown = [int(v) for v in cells.values() if v.isdigit()]
    assert shown == []  # 60 - nothing: nothing to subtract


def test_x3_a_kept_report_stores_the_figures_as_shown(world, extract):
    client = world.analyst.client()
    assert client.post(f"{URL}?commune={COMMUNE_X}&by=service").status_code == 302
    result = IndicatorReport.objects.get().result
    assert result["total"] == {"value": None, "hidden": False, "secondary": False, "shown": 60}
    assert [(g["shown"], g["hidden"], g["secondary"]) for g in result["groups"]] == [
        (None, True, True),
        (None, True, False),
    ]
    assert "3" not in json.dumps([g["shown"] for g in result["groups"]])
    assert all(set(g) == {"value", "hidden", "secondary", "shown"} for g in result["groups"])


def test_x3_dates_are_no_drill_down_only_whole_years(world, extract):
    """The analyst cannot pick a date range: a drill-down is an equal value of a dimension (a
    year, a code), a date column is no dimension, and a date in the address is left out."""
    client = world.analyst.client()
    page = client.get(URL, {"opened_on": "2025-03-01", "by": "service"})
    assert page.context["outcome"].total.n == 113
    with translation.override("en"):
        errors = indicators.definition_errors(
            {"table": "dossiers", "measure": "count", "dimensions": ["opened_on"]}
        )
    assert errors == ["The field “opened_on” cannot split an indicator."]


@pytest.mark.parametrize(
    ("counts", "total", "hidden", "total_hidden"),
    [
        ([57, 3], 60, {0, 1}, False),  # one small: the next smallest with it
        ([57, 43], 100, set(), False),
        ([50, 2, 2, 40], 94, {1, 2, 3}, False),  # two small ones add up to 4: one more
        ([50, 3, 4], 57, {1, 2}, False),  # together 7: the total leaves 7
        ([3], 3, {0}, True),  # the total is the small cell itself
        ([0, 3, 60], 63, {1, 2}, False),  # zero shows nobody and is no complement
    ],
)
def test_x3_the_line_rule(counts, total, hidden, total_hidden):
    assert disclosure.hidden_in_line(counts, total) == (hidden, total_hidden)


def test_x3_counts_are_rounded_half_up_to_5():
    assert [disclosure.rounded(n) for n in (5, 7, 8, 12, 13, 57, 103)] == [
        5,
        5,
        10,
        10,
        15,
        55,
        105,
    ]
