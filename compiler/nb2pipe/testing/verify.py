"""`nb2pipe test`: run a notebook's pipeline on sample parameters and check what came out.

Two phases, so that bad input is reported before any kernel starts:

1. `plan()` compiles the notebook, reads its declarations (spec.py), checks the assertions
   against the metrics the pipeline records and resolves the parameters: ``-p`` values over
   the chosen profile over the parameters cell. Any problem is an `Nb2PipeError` (exit 2).
2. `execute()` runs every step (``force=True``: a test that reads the cache tests nothing),
   then turns what happened into `Check`s: one per step, one per compared cell output, one per
   assertion. A failure anywhere fails the notebook (exit 1).
"""

from __future__ import annotations

import difflib
import json
import re
import shutil
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..compile.ir import Pipeline
from ..compile.parameters import from_command_line, typed_values
from ..errors import Nb2PipeError, ParameterError
from .outputs import compare, has_stored_outputs, should_check
from .sanitize import Sanitizer
from .spec import DEFAULT_PROFILE, TestSpec, read_spec

PASSED, FAILED, SKIPPED = "passed", "failed", "skipped"
FINISHED = ("done", "cached")


@dataclass
class Check:
    """One verdict: a step, an assertion or a cell's output. `message` is one line."""

    kind: str  # step | assertion | output
    name: str
    status: str  # passed | failed | skipped
    message: str = ""
    detail: str = ""  # longer text for the JUnit report: traceback, executed notebook
    duration: float = 0.0


@dataclass
class Plan:
    """A notebook ready to test: compiled, declarations read, parameters resolved."""

    notebook: Path
    pipeline: Pipeline
    spec: TestSpec
    params: dict[str, Any]
    profile: str | None = None


@dataclass
class NotebookReport:
    notebook: Path
    checks: list[Check] = field(default_factory=list)
    duration: float = 0.0
    run_dir: Path | None = None
    params: dict[str, Any] = field(default_factory=dict)
    profile: str | None = None

    @property
    def ok(self) -> bool:
        return not self.failures

    @property
    def failures(self) -> list[Check]:
        return [c for c in self.checks if c.status == FAILED]

    def count(self, kind: str) -> int:
        return sum(1 for c in self.checks if c.kind == kind)

    def summary(self) -> str:
        """``PASS nb.ipynb 5 steps, 2 assertions (8.1 s)`` or ``FAIL nb.ipynb <first failure>``."""
        took = f"({self.duration:.1f} s)"
        if self.failures:
            first, more = self.failures[0], len(self.failures) - 1
            extra = f" (+{more} more)" if more else ""
            return f"FAIL {self.notebook} {first.message}{extra} {took}"
        parts = [_plural(self.count("step"), "step")]
        for kind, word in (("assertion", "assertion"), ("output", "output check")):
            if self.count(kind):
                parts.append(_plural(self.count(kind), word))
        skipped = sum(1 for c in self.checks if c.status == SKIPPED)
        if skipped:
            parts.append(f"{skipped} skipped")
        return f"PASS {self.notebook} {', '.join(parts)} {took}"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


# --- 1. plan ---------------------------------------------------------------------------------


def plan(
    notebook: str | Path,
    params: Iterable[tuple[str, str]] = (),
    profile: str | None = None,
) -> Plan:
    """Validate everything about `notebook` that can be known without running it."""
    from ..compile.compiler import compile_notebook

    path = Path(notebook)
    pipeline = compile_notebook(path)
    where = str(path)
    spec = read_spec(path)
    _check_metric_names(pipeline, spec, where)
    name = profile or DEFAULT_PROFILE
    values: dict[str, Any] = {}
    if name in spec.profiles:
        try:
            values = typed_values(pipeline.params, spec.profiles[name], text=False)
        except ParameterError as e:
            raise ParameterError(f"profile {name!r}: {e.message}", file=where) from None
    elif profile is not None:
        declared = ", ".join(sorted(spec.profiles)) or "none declared"
        raise Nb2PipeError(
            f"--profile {profile}: no such profile in metadata.nb2pipe.profiles ({declared})",
            file=where,
        )
    try:
        values.update(from_command_line(pipeline.params, params))
    except Nb2PipeError as e:
        raise e.located(where) from None
    return Plan(path, pipeline, spec, values, name if name in spec.profiles else None)


def _check_metric_names(pipeline: Pipeline, spec: TestSpec, where: str) -> None:
    metrics = sorted({m for step in pipeline.steps for m in step.metrics})
    for assertion in spec.assertions:
        for name in assertion.names:
            if name not in metrics:
                close = difflib.get_close_matches(name, metrics, n=1)
                if close:
                    hint = f"did you mean {close[0]!r}?"
                elif metrics:
                    hint = f"metrics: {', '.join(metrics)}"
                else:
                    hint = "no cell is tagged 'metrics'"
                raise Nb2PipeError(
                    f"assertion {assertion.text!r}: unknown metric {name!r} ({hint})",
                    file=where,
                    cell=assertion.cell,
                )


# --- 2. execute ------------------------------------------------------------------------------


def execute(
    planned: Plan, *, strict: bool = False, workspace: str | Path, observers: list = ()
) -> NotebookReport:
    """Run every step of the planned pipeline in `workspace` and check the results."""
    from ..runner import run_pipeline

    start = time.time()
    result = run_pipeline(
        planned.pipeline,
        planned.notebook,
        params=planned.params,
        force=True,
        workspace=workspace,
        observers=list(observers),
    )
    checks = _step_checks(planned.pipeline, result)
    checks += _output_checks(planned, result, strict, Sanitizer([result.run_dir, workspace]))
    checks += _assertion_checks(planned, result)
    return NotebookReport(
        planned.notebook,
        checks,
        time.time() - start,
        result.run_dir,
        dict(result.params),
        planned.profile,
    )


def _step_checks(pipeline: Pipeline, result) -> list[Check]:
    checks = []
    for step in pipeline.steps:
        name = f"step {step.name}"
        outcome = result.steps.get(step.name)
        if outcome is None:
            checks.append(Check("step", name, SKIPPED, "not run"))
        elif outcome.status in FINISHED:
            checks.append(Check("step", name, PASSED, duration=outcome.duration))
        elif outcome.status == "skipped":
            message = (outcome.error or {}).get("message", "not run")
            checks.append(Check("step", name, SKIPPED, message))
        else:
            error = outcome.error or {}
            cell = f" cell {error['cell']}" if error.get("cell") else ""
            message = f"step {step.name!r}{cell}: {error.get('message', outcome.status)}"
            detail = f"executed notebook: {outcome.notebook}\n{_traceback(outcome.notebook)}"
            checks.append(
                Check("step", name, FAILED, message, detail.strip(), duration=outcome.duration)
            )
    return checks


_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def _traceback(notebook: Path | None) -> str:
    """The error output of an executed notebook, without terminal colours."""
    for cell in _read(notebook).get("cells", []):
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                return _ANSI.sub("", "\n".join(output.get("traceback", [])))
    return ""


def _read(notebook: Path | None) -> dict:
    try:
        return json.loads(Path(notebook).read_text(encoding="utf-8")) if notebook else {}
    except (OSError, ValueError):
        return {}


def _executed_outputs(pipeline: Pipeline, result) -> dict[int, tuple[str, list]]:
    """Source cell number → (step, outputs), from the first finished step that ran it."""
    found: dict[int, tuple[str, list]] = {}
    for step in pipeline.steps:
        outcome = result.steps.get(step.name)
        if outcome is None or outcome.status not in FINISHED:
            continue
        for cell in _read(outcome.notebook).get("cells", []):
            number = ((cell.get("metadata") or {}).get("nb2pipe") or {}).get("cell")
            if cell.get("cell_type") == "code" and number is not None and number not in found:
                found[number] = (step.name, cell.get("outputs", []))
    return found


def _output_checks(planned: Plan, result, strict: bool, sanitize: Sanitizer) -> list[Check]:
    pipeline = planned.pipeline
    owner = {cell.number: step.name for step in pipeline.steps for cell in step.cells}
    shared = {cell.number for cell in pipeline.imports + pipeline.functions}
    executed = _executed_outputs(pipeline, result)
    checks = []
    for number, cell in sorted(planned.spec.cells.items()):
        if not should_check(cell, strict) or (number not in owner and number not in shared):
            continue  # unmarked, or not part of the pipeline (skip, parameters)
        name = f"output cell {number}"
        if not has_stored_outputs(cell):
            if not strict:  # marked for checking, but nothing to check against
                reason = "no stored output to compare (run the cell and save the notebook)"
                checks.append(Check("output", name, SKIPPED, f"cell {number}: {reason}"))
            continue
        if number not in executed:
            step = owner.get(number)
            reason = f"step {step!r} did not finish" if step else "no step finished"
            checks.append(Check("output", name, SKIPPED, f"cell {number}: {reason}"))
            continue
        step, outputs = executed[number]
        difference = compare(cell.get("outputs", []), outputs, sanitize)
        if difference is None:
            checks.append(Check("output", name, PASSED))
        else:
            message = f"step {step!r} cell {number}: output differs: {difference}"
            detail = f"executed notebook: {result.steps[step].notebook}"
            checks.append(Check("output", name, FAILED, message, detail))
    return checks


def _assertion_checks(planned: Plan, result) -> list[Check]:
    producer = {m: step.name for step in planned.pipeline.steps for m in step.metrics}
    metrics = result.metrics
    checks = []
    for assertion in planned.spec.assertions:
        name = f"assert {assertion.text}"
        unfinished = [
            producer[n]
            for n in assertion.names
            if getattr(result.steps.get(producer[n]), "status", None) not in FINISHED
        ]
        missing = [n for n in assertion.names if n not in metrics]
        if unfinished:
            message = f"assertion {assertion.text!r}: step {unfinished[0]!r} did not finish"
            checks.append(Check("assertion", name, SKIPPED, message))
        elif missing:
            message = (
                f"assertion {assertion.text!r}: metric {missing[0]!r} was not recorded "
                "(not a finite number?)"
            )
            checks.append(Check("assertion", name, FAILED, message))
        elif assertion.evaluate(metrics):
            checks.append(Check("assertion", name, PASSED, assertion.values(metrics)))
        else:
            message = f"assertion {assertion.text!r} failed: {assertion.values(metrics)}"
            checks.append(Check("assertion", name, FAILED, message))
    return checks


# --- both, for the CLI and the pytest plugin -------------------------------------------------


def run_plans(
    plans: list[Plan],
    *,
    strict: bool = False,
    workspace: str | Path | None = None,
    observers_for=lambda plan: [],
) -> tuple[list[NotebookReport], Path | None]:
    """Execute the plans one after the other; return the reports and the workspace if kept.

    Without `workspace`, runs go to a temporary folder, removed when every notebook passed
    and kept (so the executed notebooks can be opened) when one failed.
    """
    temporary = workspace is None
    root = Path(tempfile.mkdtemp(prefix="nb2pipe-test-")) if temporary else Path(workspace)
    reports: list[NotebookReport] = []
    keep = not temporary
    try:
        for item in plans:
            reports.append(
                execute(item, strict=strict, workspace=root, observers=observers_for(item))
            )
        keep = keep or not all(r.ok for r in reports)
    finally:
        if not keep:
            shutil.rmtree(root, ignore_errors=True)
    return reports, (root if keep else None)
