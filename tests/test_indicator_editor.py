"""The canton analyst's indicator editor (D1, D3; decision 0039): create and change definitions
in the browser (a change is a new version), preview on the current extract, retire, the
versions with their differences, and what each bad input does."""

from __future__ import annotations

import datetime
import html
from typing import Any

import pytest
from django.apps import apps
from django.urls import reverse

from filum.plans.milestones import DEFAULT_MILESTONES
from filum.plans.models import MilestoneRule
from filum.steering.extract import current_extract, extract_canton
from filum.steering.indicators import revise
from filum.steering.models import IndicatorDefinition, IndicatorReport
from filum.steering.shipped import SHIPPED
from tests.test_steering_indicators import cohort, dataset_dir  # noqa: F401 (fixtures)

EDUCATION = "ais_education_16_25"
TEXTS = {
    "label_fr": "Jeunes AIS : part des jalons manqués",
    "label_de": "Junge IAS: Anteil verpasster Meilensteine",
    "description_fr": "Part des jalons formation échus et manqués.",
    "description_de": "Anteil der fälligen und verpassten Ausbildungs-Meilensteine.",
}


def latest(key: str) -> IndicatorDefinition:
    return IndicatorDefinition.objects.filter(key=key).order_by("-version").first()


def form_data(definition: dict[str, Any], *, base: int, **texts: str) -> dict[str, Any]:
    """What the editor's form posts for a definition, as the browser would send it."""
    data: dict[str, Any] = {
        "base_version": base,
        **TEXTS,
        **texts,
        "table": definition["table"],
        "measure": definition["measure"],
        "median_field": definition.get("field", ""),
        "dimensions": definition.get("dimensions", []),
        "split": definition.get("split", ""),
        "period": definition.get("period", ""),
    }
    for prefix in ("where", "condition"):
        rows = definition.get(prefix, [])
        data |= {
            f"{prefix}-TOTAL_FORMS": len(rows) + 1,
            f"{prefix}-INITIAL_FORMS": len(rows),
            f"{prefix}-MIN_NUM_FORMS": 0,
            f"{prefix}-MAX_NUM_FORMS": 12,
        }
        for i, row in enumerate(rows):
            value = row.get("value")
            if isinstance(value, list):
                value = ", ".join(str(v) for v in value)
            elif isinstance(value, bool):
                value = "true" if value else "false"
            data |= {
                f"{prefix}-{i}-field": row["field"],
                f"{prefix}-{i}-op": row["op"],
                f"{prefix}-{i}-value": "" if value is None else str(value),
            }
    return data


def missed(definition: dict[str, Any]) -> dict[str, Any]:
    """The education indicator counting the missed milestones instead of the met ones."""
    return {**definition, "condition": [{"field": "state", "op": "eq", "value": "missed"}]}


def errors_of(response: Any) -> str:
    return html.unescape(response.content.decode())


# --- create and change ------------------------------------------------------------------------


def test_d1_the_analyst_creates_an_indicator_in_the_browser(world, dataset_dir):  # noqa: F811
    client = world.analyst.client()
    page = client.get(reverse("indicator_create"))
    assert page.status_code == 200
    text = errors_of(page)
    # tables, fields and operators are offered as words (with the field's name), not typed
    assert "dossiers" in text and "durée en jours (duration_days)" in text
    assert '<option value="ge">est au moins</option>' in text
    definition = {
        "table": "dossiers",
        "where": [
            {"field": "status", "op": "eq", "value": "open"},
            {"field": "domain", "op": "in", "value": ["economic_aid", "asylum_aid"]},
        ],
        "measure": "share",
        "condition": [{"field": "duration_days", "op": "ge", "value": 730}],
        "dimensions": ["service", "commune", "domain"],
        "split": "service",
    }
    response = client.post(
        reverse("indicator_create"),
        form_data(definition, base=0, label_fr="Dossiers ouverts depuis 2 ans ou plus"),
    )
    assert response.status_code == 302
    made = IndicatorDefinition.objects.get(key="dossiers_ouverts_depuis_2_ans_ou_plus")
    assert response.url == reverse("indicator_detail", args=[made.key])
    # the stored definition is the indicators' own language, values typed by the field
    assert made.definition == definition
    assert (made.version, made.created_by, made.retired) == (1, world.analyst.user, False)
    # audited like the other domain tables (X2)
    event_model = apps.get_model("steering", "IndicatorDefinitionEvent")
    [event] = event_model.objects.filter(pgh_obj=made).select_related("pgh_context")
    assert event.pgh_label == "insert"
    assert event.pgh_context.metadata["user"] == world.analyst.user.pk


def test_d3_a_change_is_a_new_version_and_an_old_report_still_reruns_on_its_own(
    world,
    cohort,  # noqa: F811
):
    client = world.analyst.client()
    extract_canton("BE")
    detail = reverse("indicator_detail", args=[EDUCATION])
    assert client.post(detail).status_code == 302  # keep the figure of version 1
    report = IndicatorReport.objects.get()
    v1 = latest(EDUCATION)
    form = client.get(reverse("indicator_edit", args=[EDUCATION]))
    assert form.status_code == 200
    assert form.context["form"]["base_version"].value() == 1
    response = client.post(
        reverse("indicator_edit", args=[EDUCATION]), form_data(missed(v1.definition), base=1)
    )
    assert response.status_code == 302
    v2 = latest(EDUCATION)
    assert (v2.version, v2.created_by, v2.label_fr) == (2, world.analyst.user, TEXTS["label_fr"])
    assert v2.definition == missed(v1.definition)
    # version 1 is as it was, and the indicator page shows version 2: 8 of 14 missed
    v1.refresh_from_db()
    assert v1.definition["condition"] == [{"field": "state", "op": "eq", "value": "met"}]
    assert client.get(detail).context["outcome"].total.k == 8
    # the history links the report's re-run on version 1 and its extract
    history = client.get(reverse("indicator_history", args=[EDUCATION]))
    [(kept, href)] = history.context["rows"][1]["reports"]
    assert kept == report and f"extract={report.extract}" in href and "version=1" in href
    rerun = client.get(href)
    assert rerun.context["outcome"].as_json()["total"] == report.result["total"]


def test_d3_the_preview_computes_the_draft_like_the_indicator_page_and_saves_nothing(
    world,
    cohort,  # noqa: F811
):
    client = world.analyst.client()
    extract_canton("BE")
    v1 = latest(EDUCATION)
    response = client.post(
        reverse("indicator_edit", args=[EDUCATION]),
        {**form_data(v1.definition, base=1), "action": "preview"},
    )
    assert response.status_code == 200
    # the same figure as the indicator page (6 of 14 met), from the extract
    assert response.context["preview"]["total"] == "42,9 %"
    page = world.analyst.client().get(reverse("indicator_detail", args=[EDUCATION]))
    assert page.context["total"] == "42,9 %"
    draft = client.post(
        reverse("indicator_edit", args=[EDUCATION]),
        {**form_data(missed(v1.definition), base=1), "action": "preview"},
    )
    assert draft.context["preview"]["total"] == "57,1 %"  # 8 of 14 missed
    assert 'data-testid="preview-total">57,1 %' in draft.content.decode()
    assert latest(EDUCATION).version == 1


def test_d3_the_table_button_offers_the_other_tables_fields_and_keeps_the_names(
    world,
    dataset_dir,  # noqa: F811
):
    client = world.analyst.client()
    data = form_data(latest("cii_running").definition, base=1)
    response = client.post(
        reverse("indicator_edit", args=["cii_running"]),
        {**data, "table": "language_levels", "action": "table"},
    )
    assert response.status_code == 200 and not response.context["form"].errors
    text = errors_of(response)
    assert "rang CECR (0 pré-A1, 1 A1 … 6 C2) (rank)" in text
    assert TEXTS["label_fr"] in text and "(exit_state)" not in text
    assert latest("cii_running").version == 1


def test_d3_nothing_changed_saves_no_version(world, dataset_dir):  # noqa: F811
    """The form as the browser posts it back: its checked dimensions in the page's order (the
    definition's own order first: the drill-down follows it), its conditions as shown."""
    v1 = latest("segments")
    client = world.analyst.client()
    form = client.get(reverse("indicator_edit", args=["segments"])).context["form"]
    checked = [w.data["value"] for w in form["dimensions"] if w.data["selected"]]
    assert checked == ["segment", "service", "commune", "domain"] == v1.definition["dimensions"]
    texts = {k: getattr(v1, k) for k in TEXTS}
    data = form_data({**v1.definition, "dimensions": checked}, base=1, **texts)
    assert data["where-1-value"] == "A, B, C"
    response = client.post(reverse("indicator_edit", args=["segments"]), data)
    assert response.status_code == 200
    assert "Rien n'a changé" in errors_of(response)
    assert latest("segments").version == 1


# --- bad input ----------------------------------------------------------------------------------


def _tamper(definition: dict[str, Any], data: dict[str, Any], change: str) -> dict[str, Any]:
    if change == "field":  # a POST naming a column the dataset does not have
        return {**data, "where-0-field": "last_name"}
    if change == "operator":
        return {**data, "where-0-op": "like"}
    if change == "title":
        return {**data, "label_de": "  "}
    if change == "split":  # a split dimension the dataset does not have
        return {**data, "split": "nationality_group"}
    if change == "not_a_dimension":  # a field of the table that cannot split
        return {**data, "dimensions": [*definition["dimensions"], "due_on"]}
    if change == "split_not_chosen":
        return {**data, "split": "commune", "dimensions": ["service"]}
    if change == "number":
        return {**data, "where-0-field": "due_year", "where-0-op": "ge", "where-0-value": "2020a"}
    if change == "list":
        return {**data, "where-0-op": "in", "where-0-value": " , "}
    if change == "share":  # a share without its numerator
        return {**data, "condition-0-field": "", "condition-0-op": "", "condition-0-value": ""}
    raise AssertionError(change)


@pytest.mark.parametrize(
    ("change", "language", "message"),
    [
        ("field", "fr", "Champ inconnu « last_name » dans la table « ais_milestones »."),
        ("field", "de", "Unbekanntes Feld «last_name» in der Tabelle «ais_milestones»."),
        ("operator", "fr", "Opérateur inconnu « like »."),
        ("operator", "de", "Unbekannter Operator «like»."),
        ("title", "fr", "Ce champ est obligatoire."),
        ("title", "de", "Dieses Feld ist zwingend erforderlich."),
        ("split", "fr", "Champ inconnu « nationality_group »"),
        ("split", "de", "Unbekanntes Feld «nationality_group»"),
        ("not_a_dimension", "fr", "Champ inconnu « due_on »"),
        ("split_not_chosen", "de", "Das Feld «Gemeinde (commune)» ist keine der Dimensionen."),
        ("number", "fr", "« 2020a » n'est pas un nombre entier."),
        ("list", "de", "braucht eine Liste von Werten"),
        ("share", "fr", "Une part demande une condition."),
    ],
)
def test_d3_bad_input_is_refused_in_the_users_language_and_nothing_is_saved(
    world,
    dataset_dir,  # noqa: F811
    change,
    language,
    message,
):
    v1 = latest(EDUCATION)
    data = _tamper(v1.definition, form_data(v1.definition, base=1), change)
    client = world.analyst.client()
    client.cookies["django_language"] = language
    for action in ("preview", "save"):
        response = client.post(
            reverse("indicator_edit", args=[EDUCATION]), {**data, "action": action}
        )
        assert response.status_code == 200
        assert message in errors_of(response), errors_of(response)[-3000:]
    assert IndicatorDefinition.objects.filter(key=EDUCATION).count() == 1


def test_d3_an_unknown_field_in_a_new_indicator_is_refused(world, dataset_dir):  # noqa: F811
    data = form_data(latest("case_volume").definition, base=0)
    response = world.analyst.client().post(
        reverse("indicator_create"), {**data, "dimensions": ["service", "ahv_number"]}
    )
    assert response.status_code == 200
    assert "Champ inconnu « ahv_number »" in errors_of(response)
    assert not IndicatorDefinition.objects.filter(created_by=world.analyst.user).exists()


def test_d3_two_saves_of_the_same_version_make_one_new_version(world, dataset_dir):  # noqa: F811
    """Two analysts open version 1 and save: the first makes version 2, the second is told
    who saved meanwhile and nothing of theirs is stored (the version number check; the latest
    row is locked while a version is made, so concurrent saves are checked one after the
    other)."""
    v1 = latest(EDUCATION)
    first, second = world.analyst.client(), world.analyst.client()
    url = reverse("indicator_edit", args=[EDUCATION])
    ok = first.post(url, form_data(missed(v1.definition), base=1))
    assert ok.status_code == 302
    late = second.post(url, form_data(v1.definition, base=1, label_fr="Autre nom"))
    assert late.status_code == 409
    text = errors_of(late)
    assert "La version 2 de cet indicateur a été enregistrée par" in text
    assert "vos modifications ne sont pas enregistrées" in text
    assert list(
        IndicatorDefinition.objects.filter(key=EDUCATION).values_list("version", "label_fr")
    ) == [(2, TEXTS["label_fr"]), (1, v1.label_fr)]


def test_d3_a_definition_whose_preview_fails_is_told_and_not_saved(
    world,
    dataset_dir,  # noqa: F811
):
    """A valid definition the extract cannot compute (here: its table's file is missing from the
    extract) is neither previewed nor saved: the indicator list would fail on it."""
    extract_canton("BE")
    (current_extract("BE") / "cii_cases.parquet").unlink()
    definition = latest("cii_running").definition
    client = world.analyst.client()
    url = reverse("indicator_edit", args=["cii_running"])
    for action in ("preview", "save"):
        response = client.post(url, {**form_data(definition, base=1), "action": action})
        assert response.status_code == 200
        assert "La définition ne peut pas être calculée sur l'extrait du" in errors_of(response)
    assert latest("cii_running").version == 1


def test_d3_without_an_extract_the_preview_says_so_and_a_save_is_still_checked(
    world,
    dataset_dir,  # noqa: F811
):
    v1 = latest(EDUCATION)
    client = world.analyst.client()
    url = reverse("indicator_edit", args=[EDUCATION])
    preview = client.post(url, {**form_data(v1.definition, base=1), "action": "preview"})
    assert 'data-testid="no-extract"' in preview.content.decode()
    assert client.post(url, form_data(v1.definition, base=1)).status_code == 302


# --- retire, shipped, history -------------------------------------------------------------------


def test_d1_retiring_hides_the_indicator_and_keeps_its_versions_and_reports(
    world,
    dataset_dir,  # noqa: F811
):
    client = world.analyst.client()
    extract_canton("BE")
    detail = reverse("indicator_detail", args=[EDUCATION])
    client.post(detail)
    retire = reverse("indicator_retire", args=[EDUCATION])
    assert client.get(retire).status_code == 405
    assert client.post(retire, {"base": 1, "retired": "1"}).status_code == 302
    v2 = latest(EDUCATION)
    assert (v2.version, v2.retired, v2.definition) == (2, True, latest(EDUCATION).definition)
    listing = client.get(reverse("indicator_list"))
    assert f"total-{EDUCATION}" not in listing.content.decode()
    assert listing.context["retired"] == [(EDUCATION, v2.label_fr)]
    # its page, its versions and the kept figure stay
    page = client.get(detail)
    assert page.status_code == 200 and 'data-testid="retired"' in page.content.decode()
    assert IndicatorReport.objects.get().definition.version == 1
    # a stale retire (base 1) changes nothing; bringing it back is version 3
    assert client.post(retire, {"base": 1, "retired": "0"}).status_code == 302
    assert latest(EDUCATION).version == 2
    client.post(retire, {"base": 2, "retired": "0"})
    assert (latest(EDUCATION).version, latest(EDUCATION).retired) == (3, False)
    assert f"total-{EDUCATION}" in client.get(reverse("indicator_list")).content.decode()


def test_d1_shipped_indicators_change_by_version_and_the_ais_goals_stay(
    world,
    dataset_dir,  # noqa: F811
):
    """A new version of another indicator leaves the AIS goals as shipped: A1 after 3 years,
    16-25 in post-compulsory education after 5 years, adults (18+) in the first labour market
    after 7 years (the milestone rules) and version 1 of the three AIS indicators."""
    client = world.analyst.client()
    segments = latest("segments")
    changed = {**segments.definition, "where": [{"field": "status", "op": "eq", "value": "open"}]}
    response = client.post(reverse("indicator_edit", args=["segments"]), form_data(changed, base=1))
    assert response.status_code == 302 and latest("segments").version == 2
    shipped = {row[0]: row for row in SHIPPED}
    for key in ("ais_language_a1", "ais_education_16_25", "ais_labour_market"):
        [only] = IndicatorDefinition.objects.filter(key=key)
        assert only.version == 1 and only.definition == shipped[key][5]
        assert (only.label_fr, only.label_de) == shipped[key][1:3]
    rules = {
        r.key: (r.years, r.min_age, r.max_age)
        for r in MilestoneRule.objects.filter(canton="", valid_from__lte=datetime.date.today())
    }
    assert rules == {
        "language_a1": (3, 5, None),
        "education_16_25": (5, 16, 25),
        "labour_market": (7, 18, None),
    }
    assert [(n.key, n.years) for n in DEFAULT_MILESTONES] == [
        ("language_a1", 3),
        ("education_16_25", 5),
        ("labour_market", 7),
    ]
    # a shipped indicator is never deleted: retiring it is a version too, version 1 stays
    retire = reverse("indicator_retire", args=["segments"])
    assert client.post(retire, {"base": 2, "retired": "1"}).status_code == 302
    assert list(
        IndicatorDefinition.objects.filter(key="segments").values_list("version", "retired")
    ) == [(3, True), (2, False), (1, False)]


def test_d3_history_tells_who_saved_what_and_compares_field_by_field(
    world,
    dataset_dir,  # noqa: F811
    django_assert_num_queries,
):
    client = world.analyst.client()
    v1 = latest(EDUCATION)
    edit = reverse("indicator_edit", args=[EDUCATION])
    assert client.post(edit, form_data(missed(v1.definition), base=1)).status_code == 302
    url = reverse("indicator_history", args=[EDUCATION])
    with django_assert_num_queries(HISTORY_QUERIES):
        page = client.get(url)
    rows = page.context["rows"]
    assert [(r["version"].version, r["version"].created_by) for r in rows] == [
        (2, world.analyst.user),
        (1, None),
    ]
    changed = {line.label: (line.old, line.new) for line in page.context["lines"] if line.changed}
    # readable: the field's word and name, the operator and the value in the reader's language
    assert changed["compté si (numérateur d'une part)"] == (
        "état (state) est atteinte",
        "état (state) est manquée",
    )
    assert set(changed) == {
        "nom (français)",
        "nom (allemand)",
        "description (français)",
        "description (allemand)",
        "compté si (numérateur d'une part)",
    }
    text = errors_of(page)
    assert "livrée avec Filum" in text and str(world.analyst.user) in text
    # more versions and kept figures: the same number of queries
    revise(EDUCATION, by=world.analyst.user, label_fr="Encore un nom")
    for version in IndicatorDefinition.objects.filter(key=EDUCATION):
        IndicatorReport.objects.create(
            definition=version, canton="BE", extract="x", as_of=datetime.date(2026, 1, 1), result={}
        )
    with django_assert_num_queries(HISTORY_QUERIES):
        more = client.get(url)
    assert [len(row["reports"]) for row in more.context["rows"]] == [1, 1, 1]
    # the same version twice: nothing to compare
    same = client.get(url, {"a": 1, "b": 1})
    assert same.context["lines"] == []
    assert client.get(reverse("indicator_history", args=["nope"])).status_code == 404


# the session, the user with their memberships, the versions with who saved them, the kept figures:
# the same for any number of versions and kept figures
HISTORY_QUERIES = 4


def test_d3_the_editor_pages_are_the_analysts_only(world, dataset_dir):  # noqa: F811
    urls = [
        reverse("indicator_create"),
        reverse("indicator_edit", args=[EDUCATION]),
        reverse("indicator_history", args=[EDUCATION]),
    ]
    for persona in ("worker", "head", "dpo", "officer", "superuser", "outsider"):
        client = getattr(world, persona).client()
        for url in urls:
            assert client.get(url).status_code == 404
        retire = reverse("indicator_retire", args=[EDUCATION])
        assert client.post(retire, {"base": 1, "retired": "1"}).status_code == 404
    assert latest(EDUCATION).version == 1


def test_d3_the_demo_analysts_indicator_has_two_versions_and_a_readable_difference(
    world,
    dataset_dir,  # noqa: F811
):
    from collections import Counter
    from types import SimpleNamespace

    from filum.demo.indicator_editor import KEY, step_indicator_editor

    ctx = SimpleNamespace(actors={"canton": world.analyst.actor}, counts=Counter())
    step_indicator_editor(ctx)
    step_indicator_editor(ctx)  # run again: nothing doubles
    versions = list(IndicatorDefinition.objects.filter(key=KEY))
    assert [(v.version, v.created_by) for v in versions] == [
        (2, world.analyst.user),
        (1, world.analyst.user),
    ]
    assert ctx.counts["indicator versions by the analyst"] == 2
    extract_canton("BE")
    client = world.analyst.client()
    assert client.get(reverse("indicator_detail", args=[KEY])).status_code == 200
    history = client.get(reverse("indicator_history", args=[KEY]))
    changed = {line.label: line for line in history.context["lines"] if line.changed}
    threshold = changed["compté si (numérateur d'une part)"]
    assert (threshold.old, threshold.new) == (
        "durée en jours (duration_days) est au moins 365",
        "durée en jours (duration_days) est au moins 730",
    )
    assert set(changed) == {
        "compté si (numérateur d'une part)",
        "description (français)",
        "description (allemand)",
    }
