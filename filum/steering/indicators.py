"""Indicators as data (D1, D3; decision 0032): the definition language, its check, and the
computation over the canton's extract with DuckDB, with small cells suppressed (X3).

A definition is JSON, never code::

    {
      "table": "ais_milestones",                     # a table of dataset.TABLES
      "where": [{"field": "milestone", "op": "eq", "value": "language_a1"}],
      "measure": "share",                             # count | share | median
      "condition": [{"field": "state", "op": "eq", "value": "met"}],   # share only
      "field": "duration_days",                       # median only (an int column)
      "dimensions": ["service", "commune", "due_year"],  # what it may be split by
      "split": "milestone",                           # optional: the split shown first
      "period": "due_year"                            # optional: the period dimension
    }

``count`` counts the distinct units of the table (persons, dossiers, CII cases), ``share`` the
units meeting ``condition`` among them, ``median`` the median of ``field``. Fields are looked up
in the dataset's schema and quoted as identifiers; values are passed as query parameters. The
population is as of the extract's day (``manifest.json``), which a report keeps.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from filum.disclosure import hidden_in_line, is_small, rounded
from filum.steering.dataset import TABLES, Table
from filum.steering.extract import manifest

MEASURES = ("count", "share", "median")
OPERATORS = {
    "eq": "=",
    "ne": "<>",
    "lt": "<",
    "le": "<=",
    "gt": ">",
    "ge": ">=",
    "in": "IN",
    "not_in": "NOT IN",
    "is_null": "IS NULL",
    "not_null": "IS NOT NULL",
}
KEYS = frozenset(
    {"table", "where", "measure", "condition", "field", "dimensions", "split", "period"}
)
Scalar = str | int | float | bool


# --- the check ------------------------------------------------------------------------------


def _field_errors(table: Table, name: Any, *, dimension: bool = False) -> list[str]:
    if not isinstance(name, str) or table.column(name) is None:
        return [
            _("Unknown field “%(field)s” in the table “%(table)s”.")
            % {"field": name, "table": table.name}
        ]
    column = table.column(name)
    if dimension and column is not None and not column.dimension:
        return [_("The field “%(field)s” cannot split an indicator.") % {"field": name}]
    return []


def _condition_errors(table: Table, conditions: Any) -> list[str]:
    if not isinstance(conditions, list):
        return [_("A condition is a list of {field, op, value}.")]
    errors: list[str] = []
    for item in conditions:
        if not isinstance(item, dict) or set(item) - {"field", "op", "value"}:
            errors.append(_("A condition is a list of {field, op, value}."))
            continue
        errors += _field_errors(table, item.get("field"))
        op, value = item.get("op"), item.get("value")
        if op not in OPERATORS:
            errors.append(_("Unknown operator “%(op)s”.") % {"op": op})
        elif op in ("in", "not_in"):
            if not isinstance(value, list) or not value or not all(_scalar(v) for v in value):
                errors.append(_("The operator “%(op)s” needs a list of values.") % {"op": op})
        elif op in ("is_null", "not_null"):
            if value is not None:
                errors.append(_("The operator “%(op)s” takes no value.") % {"op": op})
        elif not _scalar(value):
            errors.append(_("The operator “%(op)s” needs one value.") % {"op": op})
    return errors


def _scalar(value: Any) -> bool:
    return isinstance(value, Scalar)


def definition_errors(definition: Any) -> list[str]:
    """What is wrong with a definition, in the reader's language (empty: nothing)."""
    if not isinstance(definition, dict):
        return [_("A definition is a JSON object.")]
    errors = [_("Unknown key “%(key)s”.") % {"key": k} for k in sorted(set(definition) - KEYS)]
    table = TABLES.get(definition.get("table"))  # type: ignore[arg-type]
    if table is None:
        return [*errors, _("Unknown table “%(table)s”.") % {"table": definition.get("table")}]
    errors += _condition_errors(table, definition.get("where", []))
    measure = definition.get("measure")
    if measure not in MEASURES:
        errors.append(_("Unknown measure “%(measure)s”.") % {"measure": measure})
    if measure == "share":
        if not definition.get("condition"):
            errors.append(_("A share needs a condition."))
        errors += _condition_errors(table, definition.get("condition", []))
    elif "condition" in definition:
        errors.append(_("Only a share has a condition."))
    if measure == "median":
        errors += _field_errors(table, definition.get("field"))
        column = table.column(str(definition.get("field")))
        if column is not None and column.type != "int":
            errors.append(_("A median needs a number field."))
    elif "field" in definition:
        errors.append(_("Only a median has a field."))
    dimensions = definition.get("dimensions", [])
    if not isinstance(dimensions, list):
        errors.append(_("The dimensions are a list of fields."))
        dimensions = []
    for name in dimensions:
        errors += _field_errors(table, name, dimension=True)
    for key in ("split", "period"):
        if key in definition and definition[key] not in dimensions:
            errors.append(
                _("The field “%(field)s” is not among the dimensions.") % {"field": definition[key]}
            )
    return errors


def check_definition(definition: Any) -> None:
    errors = definition_errors(definition)
    if errors:
        raise ValidationError({"definition": errors})


class StaleVersion(Exception):
    """The indicator has a newer version than the one a change was made on (decision 0039)."""

    def __init__(self, latest: Any) -> None:
        super().__init__(f"{latest.key} is at version {latest.version}")
        self.latest = latest


def revise(key: str, *, by: Any = None, base: int | None = None, **changes: Any) -> Any:
    """A new version of an indicator: the latest one with ``changes`` (fields of the model),
    checked before it is stored. The earlier versions stay as they were. With ``base``, the
    version the change was made on: if the latest is another one (someone saved meanwhile),
    nothing is stored and ``StaleVersion`` is raised. The latest row is locked, so two
    concurrent changes of one version make one new version."""
    from filum.steering.models import IndicatorDefinition

    with transaction.atomic():
        latest = (
            IndicatorDefinition.objects.select_for_update().filter(key=key).order_by("-version")
        ).first()
        if latest is None:
            raise IndicatorDefinition.DoesNotExist(key)
        if base is not None and latest.version != base:
            raise StaleVersion(latest)
        new = IndicatorDefinition(
            key=key,
            version=latest.version + 1,
            label_fr=changes.get("label_fr", latest.label_fr),
            label_de=changes.get("label_de", latest.label_de),
            description_fr=changes.get("description_fr", latest.description_fr),
            description_de=changes.get("description_de", latest.description_de),
            definition=changes.get("definition", latest.definition),
            retired=changes.get("retired", latest.retired),
            created_by=by,
        )
        new.save()
        return new


def create_indicator(
    *,
    label_fr: str,
    label_de: str,
    description_fr: str,
    description_de: str,
    definition: dict[str, Any],
    by: Any = None,
) -> Any:
    """Version 1 of a new indicator, under a key made from its French name (``new`` and keys
    in use are skipped). Two concurrent creations with one name get two keys or, in the rare
    race on one key, an IntegrityError from the unique (key, version) constraint."""
    from django.utils.text import slugify

    from filum.steering.models import IndicatorDefinition

    stem = (slugify(label_fr).replace("-", "_") or "indicator")[:40].strip("_") or "indicator"
    with transaction.atomic():
        taken = set(
            IndicatorDefinition.objects.filter(key__startswith=stem).values_list("key", flat=True)
        ) | {"new"}
        key, n = stem, 1
        while key in taken:
            n += 1
            key = f"{stem}_{n}"
        new = IndicatorDefinition(
            key=key,
            version=1,
            label_fr=label_fr,
            label_de=label_de,
            description_fr=description_fr,
            description_de=description_de,
            definition=definition,
            created_by=by,
        )
        new.save()
        return new


# --- the computation ------------------------------------------------------------------------


@dataclass
class Cell:
    value: Any  # the group's value (None: the total, or unknown)
    n: int  # distinct units
    k: int = 0  # ... meeting the condition (share)
    m: float | None = None  # the median (median)
    hidden: bool = False
    # hidden although not small itself, so that a small cell beside it cannot be worked out
    # by subtraction (decision 0032, "Differencing")
    secondary: bool = False

    def shown(self, measure: str) -> float | int | None:
        """The figure as the analyst sees it: None when hidden; a count rounded to 5."""
        if self.hidden:
            return None
        if measure == "share":
            return round(100 * self.k / self.n, 1) if self.n else None
        if measure == "median":
            return self.m
        return rounded(self.n)

    def published(self, measure: str) -> dict[str, Any]:
        """What may leave the page (a kept report's JSON): never a hidden cell's counts, never
        an exact count."""
        return {
            "value": self.value,
            "hidden": self.hidden,
            "secondary": self.secondary,
            "shown": self.shown(measure),
        }


@dataclass
class Outcome:
    measure: str
    as_of: str
    extract: str
    by: str
    total: Cell
    groups: list[Cell] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        """The figure as shown, for a kept report (no exact or hidden count is stored)."""
        return {
            "measure": self.measure,
            "as_of": self.as_of,
            "extract": self.extract,
            "by": self.by,
            "total": self.total.published(self.measure),
            "groups": [cell.published(self.measure) for cell in self.groups],
        }


def _where(conditions: Sequence[dict[str, Any]]) -> tuple[list[str], list[Any]]:
    parts, params = [], []
    for item in conditions:
        column, op, value = f'"{item["field"]}"', item["op"], item.get("value")
        values: list[Any] = list(value) if isinstance(value, list) else []
        if op in ("is_null", "not_null"):
            parts.append(f"{column} {OPERATORS[op]}")
        elif op in ("in", "not_in"):
            parts.append(f"{column} {OPERATORS[op]} ({', '.join('?' * len(values))})")
            params += values
        else:
            parts.append(f"{column} {OPERATORS[op]} ?")
            params.append(value)
    return parts, params


def _primary(measure: str, cell: Cell) -> bool:
    return is_small(cell.n) or (
        measure == "share" and (is_small(cell.k) or is_small(cell.n - cell.k))
    )


def _suppress(measure: str, total: Cell, groups: list[Cell]) -> None:
    """Small cells (1 to 4 persons; a share also when those meeting the condition or the
    others are 1 to 4), then the line: for a count or a share, ``hidden_in_line`` hides the
    next-smallest group beside a single hidden one, or when the total minus the shown groups
    would be 1 to 4 (decision 0032, "Differencing")."""
    for cell in (total, *groups):
        cell.hidden = _primary(measure, cell)
    if measure not in ("count", "share") or not groups:
        return
    also = []
    if measure == "share":
        also = [
            ([c.k for c in groups], total.k),
            ([c.n - c.k for c in groups], total.n - total.k),
        ]
    first = {i for i, c in enumerate(groups) if c.hidden}
    hidden, total_hidden = hidden_in_line([c.n for c in groups], total.n, hidden=first, also=also)
    for i in hidden - first:
        groups[i].hidden = groups[i].secondary = True
    if total_hidden and not total.hidden:
        total.hidden = total.secondary = True


def compute(
    definition: dict[str, Any],
    folder: Path,
    *,
    by: str = "",
    filters: dict[str, Scalar] | None = None,
) -> Outcome:
    """The indicator over the extract in ``folder``: its total and, split ``by`` a dimension,
    its groups; ``filters`` narrow the population to values of dimensions (the drill-down).
    Both are checked against the definition's dimensions (ValueError otherwise)."""
    check_definition(definition)
    table = TABLES[definition["table"]]
    dimensions = definition.get("dimensions", [])
    filters = filters or {}
    if (by and by not in dimensions) or set(filters) - set(dimensions):
        raise ValueError("not a dimension of the indicator")
    measure = definition["measure"]
    parts, params = _where(definition.get("where", []))
    drill, drill_params = _where([{"field": f, "op": "eq", "value": v} for f, v in filters.items()])
    where = " AND ".join(parts + drill) or "TRUE"
    unit = f'"{table.unit}"'
    selects = [f"count(DISTINCT {unit})"]
    select_params: list[Any] = []
    if measure == "share":
        condition, condition_params = _where(definition["condition"])
        selects.append(f"count(DISTINCT CASE WHEN {' AND '.join(condition)} THEN {unit} END)")
        select_params = condition_params
    else:
        selects.append("0")
    selects.append(f'median("{definition["field"]}")' if measure == "median" else "NULL")
    path = str(folder / f"{table.name}.parquet").replace("'", "''")
    source = f"read_parquet('{path}')"
    with duckdb.connect() as con:
        head = f"SELECT {', '.join(selects)} FROM {source} WHERE {where}"  # noqa: S608
        row = con.execute(head, select_params + params + drill_params).fetchone() or (0, 0, None)
        total = Cell(None, int(row[0]), int(row[1]), _number(row[2]))
        groups: list[Cell] = []
        if by:
            sql = (
                f'SELECT "{by}", {", ".join(selects)} FROM {source} WHERE {where} '  # noqa: S608
                f'GROUP BY "{by}" ORDER BY "{by}" NULLS LAST'
            )
            rows = con.execute(sql, select_params + params + drill_params).fetchall()
            groups = [Cell(r[0], int(r[1]), int(r[2]), _number(r[3])) for r in rows]
    _suppress(measure, total, groups)
    info = manifest(folder)
    return Outcome(measure, info["as_of"], folder.name, by, total, groups)


def _number(value: Any) -> float | None:
    return None if value is None else round(float(value), 1)


def as_of_of(folder: Path) -> datetime.date:
    return datetime.date.fromisoformat(manifest(folder)["as_of"])
