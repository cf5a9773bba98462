"""Data validation: new data checked against the schema kept beside the notebook.

The schema is pandera's, inferred, stored and read by data_schema.py (re-exported here).
`validate_frame` compares a frame with it and sorts every failure into one problem per column
and kind: missing column, unexpected column, wrong dtype, nulls, out of range, unknown
category (and an empty frame). `validate` raises `DataValidationError` when there is any; inside
a pipeline step it first writes ``<run>/<step>/validation.json``, so the run reads as failed by
validation rather than crashed.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from jupyter_mlops.data.schema import (
    DataSchemaError,
    check_frame,
    conform,
    default_schema_path,
    infer_schema,
    load_schema,
    read_data,
    save_schema,
)
from nb2pipe.errors import Nb2PipeError

__all__ = [
    "DataSchemaError",
    "DataValidationError",
    "Problem",
    "ValidationReport",
    "default_schema_path",
    "infer_schema",
    "load_schema",
    "read_data",
    "save_schema",
    "validate",
    "validate_frame",
    "validation_failures",
]

REPORT_FILE = "validation.json"  # in the step folder of a pipeline run
EXAMPLES = 3

# Problem kinds, in the order a report lists them.
EMPTY = "empty"
MISSING_COLUMN = "missing column"
UNEXPECTED_COLUMN = "unexpected column"
WRONG_DTYPE = "wrong dtype"
NULLS = "nulls"
OUT_OF_RANGE = "out of range"
UNKNOWN_CATEGORY = "unknown category"
OTHER = "failed check"
KINDS = (EMPTY, MISSING_COLUMN, UNEXPECTED_COLUMN, WRONG_DTYPE, NULLS, OUT_OF_RANGE)
KINDS += (UNKNOWN_CATEGORY, OTHER)

_RANGE_CHECKS = ("greater_than", "less_than", "in_range")


class DataValidationError(Nb2PipeError):
    """The data does not match its schema; `report` holds every problem found."""

    def __init__(self, report: ValidationReport):
        super().__init__(report.summary())
        self.report = report


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


@dataclass
class ValidationReport:
    """The outcome of checking a frame against a schema file."""

    schema: str
    rows: int
    columns: int
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        """One line naming each column and its problems."""
        if self.ok:
            return f"{self.rows} rows match the schema {self.schema}"
        by_column: dict[str | None, list[str]] = {}
        for p in self.problems:
            text = p.kind + (f" ({p.detail})" if p.detail else "")
            by_column.setdefault(p.column, []).append(text)
        parts = [
            ", ".join(texts) if column is None else f"{column}: {', '.join(texts)}"
            for column, texts in by_column.items()
        ]
        count = len(self.problems)
        return (
            f"data does not match the schema {self.schema} "
            f"({count} problem{'s' if count != 1 else ''}): {'; '.join(parts)}"
        )

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "summary": self.summary(), **asdict(self)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ValidationReport:
        problems = [Problem(**p) for p in data.get("problems", [])]
        return cls(data["schema"], data["rows"], data["columns"], problems)

    def to_frame(self):
        """One row per problem: column, kind, detail, count, examples."""
        import pandas as pd

        return pd.DataFrame(
            [asdict(p) for p in self.problems],
            columns=["column", "kind", "detail", "count", "examples"],
        )

    def _repr_html_(self) -> str:
        import html

        head = html.escape(self.summary() if self.ok else f"{len(self.problems)} problem(s)")
        if self.ok:
            return f"<p>&#10003; {head}</p>"
        rows = "".join(
            "<tr>"
            + "".join(
                f"<td>{html.escape(str(v))}</td>"
                for v in (p.column or "(frame)", p.kind, p.detail, p.count)
            )
            + "</tr>"
            for p in self.problems
        )
        return (
            f"<p><b>Data validation failed</b> against <code>{html.escape(self.schema)}</code>: "
            f"{head}</p><table><thead><tr><th>column</th><th>problem</th><th>detail</th>"
            f"<th>rows</th></tr></thead><tbody>{rows}</tbody></table>"
        )


# --- validation ------------------------------------------------------------------------------


def validate_frame(df, schema_path: str | os.PathLike | None = None) -> ValidationReport:
    """Check `df` against the schema file; every problem goes in the report, nothing raises
    except a missing or malformed schema (`DataSchemaError`)."""
    path = Path(schema_path) if schema_path is not None else default_schema_path()
    schema = load_schema(path)
    check_frame(df, "validate")
    report = ValidationReport(str(path), int(len(df)), int(len(df.columns)))
    if len(df) == 0:
        report.problems.append(Problem(None, EMPTY, "the frame has no rows"))
        return report
    import pandera.pandas as pa

    try:
        schema.validate(conform(df, schema), lazy=True)
    except pa.errors.SchemaErrors as e:
        report.problems = _problems(e.failure_cases)
    except pa.errors.SchemaError as e:  # raised alone for some frame-level failures
        report.problems = [Problem(None, OTHER, str(e).splitlines()[0])]
    return report


def _problems(cases) -> list[Problem]:
    """pandera's failure cases (one row per failing value) as one problem per column and kind."""
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
        kind = _kind(check)
        if kind in (MISSING_COLUMN, UNEXPECTED_COLUMN):
            column, value = str(value), None
        entry = found.setdefault(
            (column, kind), {"checks": [], "count": 0, "examples": [], "dtype": None}
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
    problems = []
    for (column, kind), entry in found.items():
        if column in mistyped and kind in (OUT_OF_RANGE, UNKNOWN_CATEGORY, OTHER):
            continue
        problems.append(
            Problem(column, kind, _detail(kind, entry), entry["count"], entry["examples"])
        )
    problems.sort(key=lambda p: (KINDS.index(p.kind), p.column or ""))
    return problems


def _kind(check: str) -> str:
    if check == "column_in_dataframe":
        return MISSING_COLUMN
    if check == "column_in_schema":
        return UNEXPECTED_COLUMN
    if check.startswith(("dtype(", "coerce_dtype(")):
        return WRONG_DTYPE
    if check == "not_nullable":
        return NULLS
    if check.startswith(_RANGE_CHECKS):
        return OUT_OF_RANGE
    if check.startswith(("isin(", "notin(")):
        return UNKNOWN_CATEGORY
    return OTHER


def _detail(kind: str, entry: dict[str, Any]) -> str:
    count, examples = entry["count"], ", ".join(map(repr, entry["examples"]))
    plural = "s" if count != 1 else ""
    if kind == WRONG_DTYPE:
        expected = entry["checks"][0].partition("(")[2].rstrip(")").strip("'")
        return f"{entry['dtype']}, expected {expected}"
    if kind == NULLS:
        return f"{count} row{plural}"
    if kind == OUT_OF_RANGE:
        bounds = " and ".join(_bound(c) for c in entry["checks"])
        return f"{count} value{plural} {bounds}, e.g. {examples}"
    if kind == UNKNOWN_CATEGORY:
        return f"{count} value{plural}: {examples}"
    if kind == OTHER:
        return f"{', '.join(entry['checks'])}: {count} value{plural}"
    return ""


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


def validate(df, schema_path: str | os.PathLike | None = None) -> ValidationReport:
    """Check `df` against its schema; raise `DataValidationError` naming each problem.

    Inside a pipeline step the report is also written to the step's ``validation.json`` and
    the step's run is tagged ``nb2pipe.validation`` (passed / failed), so a failing step reads
    as stopped by validation in the run and in MLflow.
    """
    report = validate_frame(df, schema_path)
    _record_in_step(report)
    if not report.ok:
        raise DataValidationError(report)
    return report


def _record_in_step(report: ValidationReport) -> None:
    from jupyter_mlops.tracking import journal

    where = journal.current_step()
    if where is None:
        return
    from nb2pipe.fileio import write_json

    run_dir, step = where
    path = run_dir / step / REPORT_FILE
    write_json(path, report.to_dict())
    log = journal.StepJournal(run_dir, step)
    log.tags({"nb2pipe.validation": "passed" if report.ok else "failed"})
    log.metrics({"validation_problems": float(len(report.problems))})
    log.artifact(path, "validation")


def validation_failures(run: Any) -> dict[str, ValidationReport]:
    """Steps of a finished run (a RunResult or its run directory) stopped by validation."""
    run_dir = Path(getattr(run, "run_dir", run))
    failed = {}
    for path in sorted(run_dir.glob(f"*/{REPORT_FILE}")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if not data.get("ok", True):
            failed[path.parent.name] = ValidationReport.from_dict(data)
    return failed
