"""Problems found by validation: pandera's failure cases sorted into one problem per column and
kind (missing column, unexpected column, wrong dtype, nulls, out of range, mean shift, unknown
category), each with a detail a reader can act on: counts, shares, bounds and example values.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

EXAMPLES = 3

# Problem kinds, in the order a report lists them.
EMPTY = "empty"
MISSING_COLUMN = "missing column"
UNEXPECTED_COLUMN = "unexpected column"
WRONG_DTYPE = "wrong dtype"
NULLS = "nulls"
OUT_OF_RANGE = "out of range"
MEAN_SHIFT = "mean shift"
UNKNOWN_CATEGORY = "unknown category"
OTHER = "failed check"
KINDS = (EMPTY, MISSING_COLUMN, UNEXPECTED_COLUMN, WRONG_DTYPE, NULLS, OUT_OF_RANGE)
KINDS += (MEAN_SHIFT, UNKNOWN_CATEGORY, OTHER)

_RANGE_CHECKS = ("greater_than", "less_than", "in_range")


@dataclass
class Problem:
    """One kind of problem in one column (`column` is None for the whole frame)."""

    column: str | None
    kind: str
    detail: str = ""
    count: int = 0  # rows (or values) affected
    examples: list[Any] = field(default_factory=list)

    def __str__(self) -> str:
        text = self.kind + (f" ({self.detail})" if self.detail else "")
        return f"{self.column}: {text}" if self.column is not None else text


def problems(cases, frame, schema) -> list[Problem]:
    """pandera's failure cases (one row per failing value) as one problem per column and kind;
    `frame` (the data checked) and `schema` give the shares and means the details quote."""
    found: dict[tuple[str | None, str], dict[str, Any]] = {}
    for row in cases.to_dict(orient="records"):
        check = str(row.get("check") or "")
        column = row.get("column")
        column = (
            None
            if column is None or (isinstance(column, float) and math.isnan(column))
            else str(column)
        )
        value = row.get("failure_case")
        kind = kind_of(check)
        if kind in (MISSING_COLUMN, UNEXPECTED_COLUMN):
            column, value = str(value), None
        entry = found.setdefault(
            (column, kind),
            {"checks": [], "count": 0, "examples": [], "dtype": None, "column": column},
        )
        if check not in entry["checks"]:
            entry["checks"].append(check)
        if kind == WRONG_DTYPE:
            entry["dtype"] = str(value)
            continue
        entry["count"] += 1
        plain_value = example_value(value)
        if (
            plain_value is not None
            and plain_value not in entry["examples"]
            and len(entry["examples"]) < EXAMPLES
        ):
            entry["examples"].append(plain_value)
    # A column of the wrong dtype fails its value checks as a consequence: report the cause.
    mistyped = {column for column, kind in found if kind == WRONG_DTYPE}
    problems: list[Problem] = []
    for (column, kind), entry in found.items():
        if column in mistyped and kind in (OUT_OF_RANGE, MEAN_SHIFT, UNKNOWN_CATEGORY, OTHER):
            continue
        if kind == MEAN_SHIFT and (column, OUT_OF_RANGE) in found:
            continue  # a few impossible values move the mean: name them, not the mean
        if kind == MEAN_SHIFT:
            entry["count"] = 0
        detail = _detail(kind, entry, frame, schema)
        problems.append(Problem(column, kind, detail, entry["count"], entry["examples"]))
    problems.sort(key=lambda p: (KINDS.index(p.kind), p.column or ""))
    return problems


def kind_of(check: str) -> str:
    if check == "column_in_dataframe":
        return MISSING_COLUMN
    if check == "column_in_schema":
        return UNEXPECTED_COLUMN
    if check.startswith(("dtype(", "coerce_dtype(")):
        return WRONG_DTYPE
    if check == "not_nullable" or check.startswith("null_share_at_most("):
        return NULLS
    if check.startswith("mean_within("):
        return MEAN_SHIFT
    if check.startswith(_RANGE_CHECKS):
        return OUT_OF_RANGE
    if check.startswith(("isin(", "notin(", "unseen_share_at_most(")):
        return UNKNOWN_CATEGORY
    return OTHER


def _statistics(schema, column: str | None, name: str) -> dict[str, Any]:
    if column is None or column not in schema.columns:
        return {}
    for check in schema.columns[column].checks:
        if check.name == name:
            return dict(check.statistics or {})
    return {}


def _detail(kind: str, entry: dict[str, Any], frame, schema) -> str:
    count, examples = entry["count"], ", ".join(map(repr, entry["examples"]))
    plural = "s" if count != 1 else ""
    column = entry["column"]
    series = frame[column] if column is not None and column in frame.columns else None
    if kind == MEAN_SHIFT and series is not None:
        from jupyter_mlops.data.checks import mean_tolerance

        stats = _statistics(schema, column, "mean_within")
        present = series.dropna().astype(float)
        limit = mean_tolerance(
            stats["sd"], stats["rows"], len(present), stats["z"], stats["min_shift"]
        )
        moved = (float(present.mean()) - stats["mean"]) / stats["sd"]
        return (
            f"mean {float(present.mean()):.4g}, expected {stats['mean']:.4g} ± {limit:.3g}: "
            f"moved {moved:+.2f} sd"
        )
    share = _share(kind, entry, series, schema)
    if kind == WRONG_DTYPE:
        expected = entry["checks"][0].partition("(")[2].rstrip(")").strip("'")
        return f"{entry['dtype']}, expected {expected}"
    if kind == NULLS:
        return f"{count} row{plural}{share}"
    if kind == OUT_OF_RANGE:
        bounds = " and ".join(_bound(c) for c in entry["checks"])
        return f"{count} value{plural} {bounds}, e.g. {examples}"
    if kind == UNKNOWN_CATEGORY:
        return f"{count} value{plural}{share}: {examples}"
    if kind == OTHER:
        return f"{', '.join(entry['checks'])}: {count} value{plural}"
    return ""


def _share(kind: str, entry: dict[str, Any], series, schema) -> str:
    """`, 30.0% > 12.6% allowed` when the check allows a share; else nothing."""
    name = {NULLS: "null_share_at_most", UNKNOWN_CATEGORY: "unseen_share_at_most"}.get(kind)
    allowed = _statistics(schema, entry["column"], name).get("max_share") if name else None
    if allowed is None or series is None or not len(series):
        return ""
    base = len(series) if kind == NULLS else max(int(series.notna().sum()), 1)
    return f", {entry['count'] / base:.2%} of rows > {allowed:.2%} allowed"


def _bound(check: str) -> str:
    name, _, arg = check.partition("(")
    arg = arg.rstrip(")")
    words = {
        "greater_than_or_equal_to": "below",
        "greater_than": "at or below",
        "less_than_or_equal_to": "above",
        "less_than": "at or above",
    }
    return f"{words[name]} {arg}" if name in words else check


def example_value(value: Any) -> Any:
    """A JSON-able example value (numpy scalars, timestamps, NaN made plain)."""
    if value is None:
        return None
    if hasattr(value, "item") and not isinstance(value, (list, dict, str)):
        try:
            value = value.item()
        except (ValueError, AttributeError):
            pass
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def unseen_warnings(frame, schema) -> list[str]:
    """One line per column whose policy for unseen categories is `warn` and that has some."""
    lines = []
    for name in schema.columns:
        stats = _statistics(schema, name, "unseen_share_at_most")
        if stats.get("policy") != "warn" or name not in frame.columns:
            continue
        present = frame[name].dropna().astype(str)
        unseen = present[~present.isin([str(a) for a in stats["allowed"]])]
        if len(unseen):
            examples = ", ".join(map(repr, unseen.unique()[:EXAMPLES].tolist()))
            lines.append(f"{name}: {len(unseen)} unseen value(s) (policy warn): {examples}")
    return lines
