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
import os
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from jupyter_mlops.data.problems import EMPTY, OTHER, Problem, problems, unseen_warnings
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


class DataValidationError(Nb2PipeError):
    """The data does not match its schema; `report` holds every problem found."""

    def __init__(self, report: ValidationReport):
        super().__init__(report.summary())
        self.report = report


@dataclass
class ValidationReport:
    """The outcome of checking a frame against a schema file."""

    schema: str
    rows: int
    columns: int
    problems: list[Problem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # unseen values under the `warn` policy

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
        warned = list(data.get("warnings", []))
        return cls(data["schema"], data["rows"], data["columns"], problems, warned)

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

    frame = conform(df, schema)
    try:
        schema.validate(frame, lazy=True)
    except pa.errors.SchemaErrors as e:
        report.problems = problems(e.failure_cases, frame, schema)
    except pa.errors.SchemaError as e:  # raised alone for some frame-level failures
        report.problems = [Problem(None, OTHER, str(e).splitlines()[0])]
    report.warnings = unseen_warnings(frame, schema)
    return report


def validate(df, schema_path: str | os.PathLike | None = None) -> ValidationReport:
    """Check `df` against its schema; raise `DataValidationError` naming each problem.

    Inside a pipeline step the report is also written to the step's ``validation.json`` and
    the step's run is tagged ``nb2pipe.validation`` (passed / failed), so a failing step reads
    as stopped by validation in the run and in MLflow.
    """
    report = validate_frame(df, schema_path)
    for line in report.warnings:
        warnings.warn(line, stacklevel=2)
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
