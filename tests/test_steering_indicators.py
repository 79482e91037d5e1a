"""Indicators as data and the canton's anonymised dataset (D1, D3, D6, X3; decision 0032)."""

from __future__ import annotations

import datetime
import json

import duckdb
import pyarrow.parquet as pq
import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone, translation

from filum.dates import add_months
from filum.plans.models import SituationEntry
from filum.steering import extract as extract_module
from filum.steering.dataset import TABLES, Pseudonymiser, canton_key
from filum.steering.extract import current_extract, extract_canton
from filum.steering.indicators import compute, definition_errors, revise
from filum.steering.models import IndicatorDefinition, IndicatorReport
from filum.steering.shipped import SHIPPED
from tests import factories
from tests import plan_factories as pf

TODAY = timezone.localdate()
# arrived 5 years and 2 months ago: the education milestone (5 years) fell due 2 months ago
ARRIVAL = add_months(TODAY, -62)
DUE = add_months(ARRIVAL, 60)
KEY_A, KEY_B = "aa" * 32, "bb" * 32


@pytest.fixture
def dataset_dir(settings, tmp_path):
    settings.CANTON_DATASET_DIR = tmp_path / "dataset"
    settings.CANTON_DATASET_KEYS = {"BE": KEY_A}
    return settings.CANTON_DATASET_DIR


def young_refugee(org, worker, *, met: bool):
    """A provisionally admitted 20-year-old in an AIS dossier of ``org`` with a plan; with
    ``met``, in post-compulsory education from a year before the education milestone."""
    person = factories.PersonFactory(
        registered_by=org,
        residence_status="F",
        arrival_date=ARRIVAL,
        birth_date=add_months(DUE, -20 * 12),
        ahv_number=None,
    )
    case = factories.CaseFactory(
        owner=org, client=person, domain="asylum_aid", opened_on=ARRIVAL, title="Suivi AIS"
    )
    pf.plan(case, worker)
    if met:
        SituationEntry.objects.create(
            case=case,
            owner=org,
            person=person,
            kind="education",
            value="post_compulsory",
            since=add_months(DUE, -12),
            recorded_by=worker,
        )
    return person


@pytest.fixture
def cohort(world, dataset_dir):
    """Service A (Bienne): 10 young persons, 5 in post-compulsory education at the due date;
    service B: 4 persons, 1 of them. By hand: 6 of 14 met = 42.9 %; A 50.0 %; B too few."""
    bienne = factories.CommuneFactory(bfs_number=371, name="Biel/Bienne")
    world.service_org.communes.add(bienne)
    other = factories.OrganisationFactory(name="Service social B-Test")
    worker = world.worker.user
    for i in range(10):
        young_refugee(world.service_org, worker, met=i < 5)
    for i in range(4):
        young_refugee(other, worker, met=i < 1)
    return other


def education(version: int = 1) -> IndicatorDefinition:
    return IndicatorDefinition.objects.get(key="ais_education_16_25", version=version)


# --- definitions ----------------------------------------------------------------------------


def test_d1_every_shipped_definition_is_stored_and_valid(db):
    stored = {d.key: d for d in IndicatorDefinition.objects.filter(version=1)}
    assert set(stored) == {row[0] for row in SHIPPED}
    for definition in stored.values():
        assert definition_errors(definition.definition) == []
        assert definition.label_fr and definition.label_de
        assert definition.description_fr != definition.description_de
    # the AIS goals are the seeds' (AIS recommendations; domain.md section 6)
    keys = {c["value"] for c in stored["ais_language_a1"].definition["where"] if c["op"] == "eq"}
    assert keys == {"language_a1"}


@pytest.mark.parametrize(
    ("language", "words"),
    [("fr", "Champ inconnu « last_name »"), ("de", "Unbekanntes Feld «last_name»")],
)
def test_d3_a_definition_naming_an_unknown_field_is_refused_in_the_users_language(
    db, language, words
):
    data = dict(education().definition)
    data["dimensions"] = ["service", "last_name"]
    with translation.override(language), pytest.raises(ValidationError) as raised:
        revise("ais_education_16_25", definition=data)
    assert words in " ".join(raised.value.message_dict["definition"])
    assert not IndicatorDefinition.objects.filter(key="ais_education_16_25", version=2).exists()


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"table": "people_person"}, "Unknown table"),
        ({"measure": "sum"}, "Unknown measure"),
        ({"where": [{"field": "state", "op": "like", "value": "m%"}]}, "Unknown operator"),
        ({"where": [{"field": "state", "op": "in", "value": "met"}]}, "needs a list"),
        ({"where": "state = 'met'"}, "A condition is a list"),
        ({"condition": []}, "A share needs a condition"),
        ({"dimensions": ["due_on"]}, "cannot split"),
        ({"split": "commune", "dimensions": ["service"]}, "not among the dimensions"),
        ({"sql": "DROP TABLE x"}, "Unknown key"),
    ],
)
def test_d3_bad_definitions_are_refused_with_a_message(db, change, fragment):
    data = {**education().definition, **change}
    with translation.override("en"):
        assert any(fragment in e for e in definition_errors(data))
        with pytest.raises(ValidationError):
            IndicatorDefinition(
                key="x",
                version=1,
                label_fr="x",
                label_de="x",
                description_fr="x",
                description_de="x",
                definition=data,
            ).save()


def test_d1_a_stored_definition_is_never_changed(db):
    definition = education()
    definition.label_fr = "autre"
    with pytest.raises(ValueError, match="never changed"):
        definition.save()


# --- the extract ----------------------------------------------------------------------------


def test_d6_ais_education_indicator_against_hand_built_data(cohort):
    folder = extract_canton("BE").folder
    outcome = compute(education().definition, folder, by="service")
    assert (outcome.total.n, outcome.total.k) == (14, 6)
    assert outcome.total.shown("share") == 42.9
    assert {cell.value for cell in outcome.groups} == {cohort.pk, cohort.pk} | {
        c.value for c in outcome.groups if c.n == 10
    }
    a = next(c for c in outcome.groups if c.n == 10)
    b = next(c for c in outcome.groups if c.n == 4)
    # B is too few (4); A (5 of 10) is hidden with it, since the total and A would give B's
    # share away by subtraction (decision 0032, "Differencing")
    assert (a.k, a.shown("share"), a.hidden, a.secondary) == (5, None, True, True)
    assert b.hidden and not b.secondary and b.shown("share") is None
    assert not outcome.total.hidden
    # the commune: the service's only commune (Bienne, BFS 371); B serves none
    communes = compute(education().definition, folder, by="commune").groups
    assert {c.value for c in communes} == {371, None}


def test_d3_an_old_report_rerun_on_its_version_gives_the_old_result(world, cohort):
    client = world.analyst.client()
    url = reverse("indicator_detail", args=["ais_education_16_25"])
    extract_canton("BE")
    assert client.post(url).status_code == 302
    report = IndicatorReport.objects.get()
    assert report.definition.version == 1 and report.result["total"]["shown"] == 42.9
    # the kept JSON holds the figures as shown, never a count (exact or hidden)
    assert "n" not in report.result["total"] and "k" not in report.result["total"]
    assert [g["shown"] for g in report.result["groups"]] == [42.9]
    # a new version counts the missed milestones instead
    data = education().definition
    revise(
        "ais_education_16_25",
        definition={**data, "condition": [{"field": "state", "op": "eq", "value": "missed"}]},
    )
    extract_canton("BE")  # a newer extract; the report's is kept
    latest = client.get(url)
    assert latest.context["outcome"].total.k == 8 and latest.context["definition"].version == 2
    rerun = client.get(url, {"version": 1, "extract": report.extract, "by": report.by})
    assert rerun.context["definition"].version == 1
    assert rerun.context["outcome"].as_json()["total"] == report.result["total"]
    assert rerun.context["outcome"].extract == report.extract


def test_x3_pseudonym_is_stable_and_keyed(cohort, settings):
    person = cohort.cases.model.objects.filter(owner=cohort).first().client
    first = Pseudonymiser(canton_key("BE"))("person", person.pk)
    assert first == Pseudonymiser(bytes.fromhex(KEY_A))("person", person.pk)
    assert len(first) == 32 and str(person.pk).replace("-", "") not in first
    one = set(pq.read_table(extract_canton("BE").folder / "persons.parquet")["person"].to_pylist())
    two = set(pq.read_table(extract_canton("BE").folder / "persons.parquet")["person"].to_pylist())
    assert first in one and one == two
    settings.CANTON_DATASET_KEYS = {"BE": KEY_B}
    other = set(
        pq.read_table(extract_canton("BE").folder / "persons.parquet")["person"].to_pylist()
    )
    assert len(other) == len(one) and not other & one
    assert Pseudonymiser(bytes.fromhex(KEY_B))("person", person.pk) in other
    assert Pseudonymiser(bytes.fromhex(KEY_B))("dossier", person.pk) != Pseudonymiser(
        bytes.fromhex(KEY_B)
    )("person", person.pk)


FORBIDDEN_COLUMNS = {
    "first_name",
    "last_name",
    "name",
    "ahv_number",
    "street",
    "postal_code",
    "city",
    "phone",
    "email",
    "title",
    "note",
    "text",
    "justification",
    "description",
    "birth_date",
    "id",
}


def test_x3_no_name_ahv_or_free_text_in_any_parquet_file(cohort):
    from filum.cases.models import Case
    from filum.people.models import Person

    Person.objects.filter(pk=Case.objects.first().client_id).update(ahv_number="7561234567897")
    folder = extract_canton("BE").folder
    secrets = set()
    for person in Person.objects.all():
        secrets |= {person.last_name, person.first_name, str(person.pk), person.ahv_number or ""}
    secrets |= {str(c.pk) for c in Case.objects.all()} | {"Suivi AIS", "7561234567897"}
    secrets.discard("")
    files = sorted(folder.glob("*.parquet"))
    assert {f.stem for f in files} == set(TABLES)
    for file in files:
        table = pq.read_table(file)
        assert not FORBIDDEN_COLUMNS & set(table.column_names), file.name
        assert table.schema == TABLES[file.stem].schema
        for column in table.column_names:
            values = {str(v) for v in table[column].to_pylist() if v is not None}
            assert not values & secrets, (file.name, column)
    # birth as a year only
    years = pq.read_table(folder / "persons.parquet")["birth_year"].to_pylist()
    assert all(isinstance(y, int) and 1900 < y <= TODAY.year for y in years)
    dictionary = json.loads((folder / "dictionary.json").read_text())
    described = {t["name"]: [c["name"] for c in t["columns"]] for t in dictionary["tables"]}
    assert described == {n: [c.name for c in t.columns] for n, t in TABLES.items()}


@pytest.mark.parametrize("failing", ["measures", "cii_cases"])
def test_d6_an_interrupted_extract_leaves_the_previous_one(cohort, monkeypatch, failing):
    """Midway through the measures (the tables before it are written in the hidden folder) or
    at the last table: nothing of the new extract is left, the previous one stays current."""
    before = extract_canton("BE").folder
    files = {f.name: f.read_bytes() for f in before.iterdir()}
    assert "measures.parquet" in files

    def broken(canton, pseudo, as_of):
        yield [("x",) * len(TABLES[failing].columns)][:0]
        raise RuntimeError("the database went away")

    monkeypatch.setitem(extract_module.READERS, failing, broken)
    with pytest.raises(RuntimeError):
        extract_canton("BE")
    assert current_extract("BE") == before
    assert {f.name: f.read_bytes() for f in before.iterdir()} == files
    root = before.parent
    assert [p.name for p in root.iterdir() if p.name.startswith(".")] == []
    assert [p for p in root.iterdir() if p.name.startswith("extract-")] == [before]
    # and DuckDB reads the previous extract as before
    with duckdb.connect() as con:
        count = con.execute(
            f"SELECT count(DISTINCT person) FROM '{before}/ais_milestones.parquet'"  # noqa: S608
        ).fetchall()
    assert count == [(14,)]


def test_d6_the_extract_keeps_the_two_latest(cohort):
    folders = [extract_canton("BE").folder for _ in range(3)]
    root = folders[0].parent
    assert sorted(p for p in root.iterdir() if p.name.startswith("extract-")) == folders[1:]
    assert current_extract("BE") == folders[-1]


# --- the analyst's pages --------------------------------------------------------------------


def test_d6_x3_analyst_sees_indicators_with_charts_and_small_cells_suppressed(world, cohort):
    extract_canton("BE")
    client = world.analyst.client()
    home = client.get(reverse("home"))
    assert home.status_code == 302 and home.url == reverse("indicator_list")
    page = client.get(reverse("indicator_list"))
    assert page.status_code == 200
    html = page.content.decode()
    assert 'data-testid="total-ais_education_16_25">42,9 %' in html
    assert "<svg" in html and "<script" not in html.split("</header>")[-1].split("<footer")[0]
    detail = client.get(
        reverse("indicator_detail", args=["ais_education_16_25"]), {"by": "service"}
    )
    cells = [bar.shown for bar in detail.context["chart"].bars]
    assert sorted(cells) == ["moins de 5", "non affiché"]
    assert "moins de 5" in detail.content.decode()
    assert 'data-testid="differencing"' in detail.content.decode()
    # drill-down: service A, split by commune
    service = world.service_org.pk
    drilled = client.get(
        reverse("indicator_detail", args=["ais_education_16_25"]),
        {"service": service, "by": "commune"},
    )
    assert drilled.context["outcome"].total.n == 10
    assert [c.value for c in drilled.context["outcome"].groups] == [371]
    # a value that is not one of the dimension is told, not used
    bad = client.get(
        reverse("indicator_detail", args=["ais_education_16_25"]), {"service": "Bienne"}
    )
    assert bad.context["outcome"].total.n == 14
    assert "n'est pas une valeur" in bad.content.decode().replace("&#x27;", "'")


def test_d6_analyst_page_without_an_extract_says_so(world, dataset_dir):
    page = world.analyst.client().get(reverse("indicator_list"))
    assert page.status_code == 200 and 'data-testid="no-extract"' in page.content.decode()


def test_d6_other_roles_do_not_see_the_indicators(world, dataset_dir):
    for persona in ("worker", "head", "dpo", "officer", "superuser"):
        assert getattr(world, persona).client().get(reverse("indicator_list")).status_code == 404


def test_d6_the_nightly_command_writes_every_canton(cohort, capsys):
    from django.conf import settings
    from django.core.management import call_command

    assert '"canton_extract",' in (settings.BASE_DIR / "scripts" / "run.py").read_text()
    call_command("canton_extract")
    assert "BE:" in capsys.readouterr().out
    assert (current_extract("BE") / "manifest.json").exists()
    assert json.loads((current_extract("BE") / "manifest.json").read_text())["as_of"] == (
        TODAY.isoformat()
    )


def test_d6_the_due_date_is_the_milestones(cohort):
    folder = extract_canton("BE").folder
    with duckdb.connect() as con:
        rows = con.execute(
            f"SELECT DISTINCT due_on FROM '{folder}/ais_milestones.parquet' "  # noqa: S608
            "WHERE milestone = 'education_16_25'"
        ).fetchall()
    assert rows == [(DUE,)] and DUE < TODAY < DUE + datetime.timedelta(days=70)


# --- the measures table ---------------------------------------------------------------------


def test_d6_x3_measures_are_extracted_without_free_text_and_counted_by_an_indicator(world, cohort):
    """A running language course of a catalogue programme (a school), a completed one with a
    provider named outside the catalogue (free text: not extracted), a course marked running
    whose actual end has passed (not running on the extract day), and a job coaching for a
    member of the unit."""
    from filum.cases.models import Case
    from filum.demo.measures_indicator import DEFINITION

    worker = world.worker.user
    cases = list(Case.objects.filter(owner=world.service_org, plan__isnull=False).order_by("pk"))
    school = pf.provider(world.service_org, name="École Langues-Test", kind="school")
    course = pf.programme(world.service_org, of=school, name="Français A1-Test")
    started = TODAY - datetime.timedelta(days=30)
    running = []
    for case in cases[:6]:
        running.append(
            pf.measure(
                case.plan,
                worker,
                programme=course,
                provider=school,
                status="running",
                actual_start=started,
                title="Titre secret du cours",
            )
        )
    plan = running[0].plan
    member = factories.PersonFactory(registered_by=world.service_org, last_name="Membre-Test")
    pf.measure(
        plan,
        worker,
        category="language_course",
        provider_name="Cours privés Jeanne Muster",
        status="completed",
        actual_start=started - datetime.timedelta(days=200),
        actual_end=started - datetime.timedelta(days=100),
        result="certificate",
        conduct_note="Note libre sur la cliente",
    )
    pf.measure(
        plan,
        worker,
        status="running",
        actual_start=started - datetime.timedelta(days=100),
        actual_end=TODAY - datetime.timedelta(days=1),
    )
    pf.measure(plan, worker, category="job_coaching", person=member, status="planned")
    folder = extract_canton("BE").folder
    rows = pq.read_table(folder / "measures.parquet").to_pylist()
    assert len(rows) == 9
    assert json.loads((folder / "manifest.json").read_text())["rows"]["measures"] == 9
    pseudo = Pseudonymiser(canton_key("BE"))
    first = next(r for r in rows if r["measure"] == pseudo("measure", running[0].pk))
    assert first == {
        "measure": pseudo("measure", running[0].pk),
        "person": pseudo("person", cases[0].client_id),
        "dossier": pseudo("dossier", cases[0].pk),
        "service": world.service_org.pk,
        "service_name": world.service_org.name,
        "commune": 371,
        "kind": "language_course",
        "programme": course.pk,
        "provider": school.pk,
        "provider_kind": "school",
        "outside_catalogue": False,
        "status": "running",
        "planned_start": None,
        "planned_end": None,
        "started_on": started,
        "ended_on": None,
        "start_year": started.year,
        "running": True,
        "abort_reason": "",
        "result": "",
    }
    outside = next(r for r in rows if r["outside_catalogue"])
    assert (outside["provider"], outside["provider_kind"], outside["running"]) == (
        None,
        "",
        False,
    )
    assert outside["result"] == "certificate"
    ended = next(r for r in rows if r["status"] == "running" and r["ended_on"] is not None)
    assert ended["running"] is False
    coaching = next(r for r in rows if r["kind"] == "job_coaching")
    assert coaching["person"] == pseudo("person", member.pk)
    text = json.dumps(rows, default=str)
    for secret in ("Jeanne Muster", "Titre secret", "Note libre", "Membre-Test", "Langues-Test"):
        assert secret not in text
    # the indicator: persons with a language course running or completed (the first client
    # has three: counted once); running on the extract day: 6
    outcome = compute(DEFINITION, folder, by="running")
    assert outcome.total.n == 6
    assert [(c.value, c.n, c.hidden, c.secondary) for c in outcome.groups] == [
        (False, 1, True, False),
        (True, 6, True, True),  # shown beside the small one, the total would give it away
    ]
    running_today = compute(DEFINITION, folder, filters={"running": True})
    assert running_today.total.shown("count") == 5  # 6, rounded to 5
    # and DuckDB as the documentation shows it: persons in a language course by commune, year
    with duckdb.connect() as con:
        by_commune = con.execute(
            "SELECT commune, start_year, count(DISTINCT person) FROM read_parquet(?) "
            "WHERE kind = 'language_course' AND running GROUP BY ALL ORDER BY ALL",
            [str(folder / "measures.parquet")],
        ).fetchall()
    assert by_commune == [(371, started.year, 6)]


def test_d6_the_data_dictionary_is_in_english_french_and_german(dataset_dir, db):
    folder = extract_canton("BE").folder
    data = json.loads((folder / "dictionary.json").read_text())
    same = {"Segment (A, B, C)."}  # the same words in every language
    for table in data["tables"]:
        for item in (table, *table["columns"]):
            english = item["description"]
            if english not in same:
                assert english != item["description_fr"], english
                assert english != item["description_de"], english
                assert item["description_fr"] != item["description_de"], english
    measures = next(t for t in data["tables"] if t["name"] == "measures")
    running = next(c for c in measures["columns"] if c["name"] == "running")
    assert running["description_fr"].startswith("En cours à la date de l'extrait")
    assert running["description_de"].startswith("Läuft am Stichtag")
    assert "| running | bool | Läuft am Stichtag" in (folder / "dictionary.de.md").read_text()
    assert "# Jeu de données du canton" in (folder / "dictionary.fr.md").read_text()
    assert "| kind | string | Kind of measure" in (folder / "dictionary.md").read_text()
