"""Pre-deployment checks: a version is checked where it will run before it takes traffic.

The same checks run in `nb2pipe deploy check` and `nb2pipe promote --check` (deploy_check.py:
here, or in the version's serving image) and in the serving process before every swap (there,
"where it will run" is that very process):

- ``requirements``: every requirement the model was logged with is installed here, at a
  version it allows (for an image: the image builds and starts);
- ``loads``: `mlflow.pyfunc.load_model` loads it;
- ``answers``: it answers its input example and the rows recorded at publish time (the model
  card's sample rows), sent as a request and parsed with its declared signature, one
  prediction per row;
- ``predictions``: those predictions equal the ones recorded at publish time (floats to a
  relative 1e-9): nothing drifted in serialization or environment;
- ``latency``: the p99 of 1-row requests is within budget: ``--latency-budget-ms``, by default
  1.5 × the champion's p99 measured in the same loop, interleaved, and never under the
  champion's + 5 ms (one request can wait a whole 5 ms thread switch on a busy machine: a
  budget below that would reject models at random). Over budget, it is timed again, up to 3
  times in all: a busy moment of the machine is not the model's fault, a slow model is slow
  every time. compare.py holds the comparisons.

Each result is recorded on the version (tags ``deploy.check`` and ``deploy.check.<name>``)
and in its model card; `Report.lines` gives one line per failed check.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jupyter_mlops.registry.read import CHECK_NAMES, CHECK_TAG
from jupyter_mlops.serving import compare, models
from jupyter_mlops.serving.errors import ClientError
from jupyter_mlops.serving.models import Loaded, ServedModel

CHECKS = CHECK_NAMES
TAG = CHECK_TAG


@dataclass
class Check:
    name: str
    ok: bool
    detail: str

    def __str__(self) -> str:
        return f"{self.name}: {'ok' if self.ok else 'failed'}: {self.detail}"


@dataclass
class Report:
    model: ServedModel
    where: str
    checks: list[Check] = field(default_factory=list)
    checked_at: str = ""

    @property
    def ok(self) -> bool:
        return bool(self.checks) and all(c.ok for c in self.checks)

    @property
    def failed(self) -> list[Check]:
        return [c for c in self.checks if not c.ok]

    def add(self, name: str, ok: bool, detail: str) -> bool:
        self.checks.append(Check(name, ok, detail))
        return ok

    def lines(self) -> list[str]:
        """One line per failed check."""
        m = self.model
        return [f"{m.name} version {m.version}: {c.name}: {c.detail}" for c in self.failed]

    def reason(self) -> str:
        return "; ".join(f"{c.name}: {c.detail}" for c in self.failed)

    def tags(self) -> dict[str, str]:
        tags = {
            TAG: "passed" if self.ok else "failed",
            f"{TAG}ed_at": self.checked_at,
            f"{TAG}ed_where": self.where,
        }
        for c in self.checks:
            tags[f"{TAG}.{c.name}"] = f"{'ok' if c.ok else 'failed'}: {c.detail}"[:4000]
        return tags


# --- the checks, in this process ---------------------------------------------------------------


def example_requests(path: Path | None, expected: dict | None) -> list[tuple[str, bytes]]:
    """The model's own input example (MLflow's serving_input_example.json) and the rows
    recorded at publish, as request bodies."""
    bodies = []
    if path is not None and (path / "serving_input_example.json").is_file():
        bodies.append(("input example", (path / "serving_input_example.json").read_bytes()))
    if expected and "dataframe_split" in expected:
        body = json.dumps({"dataframe_split": expected["dataframe_split"]}).encode()
        bodies.append(("rows recorded at publish", body))
    return bodies


def one_row(expected: dict | None, bodies: list[tuple[str, bytes]]) -> bytes | None:
    """A 1-row request: the first recorded row, else the input example."""
    if expected and expected.get("dataframe_split", {}).get("data"):
        split = expected["dataframe_split"]
        return json.dumps({"dataframe_split": {**split, "data": split["data"][:1]}}).encode()
    return bodies[0][1] if bodies else None


def answer(loaded: Loaded, body: bytes) -> Any:
    """The JSON predictions `loaded` gives for request `body`, as the server computes them."""
    from jupyter_mlops.serving import scoring

    data, params = scoring.parse(body, "application/json", loaded.input_schema)
    raw = scoring.predict(loaded.pyfunc, data, params)
    predictions = scoring.predictions_json(raw)
    count = len(data) if hasattr(data, "__len__") else 1
    if isinstance(predictions, list) and len(predictions) != count:
        raise ClientError(500, f"{len(predictions)} predictions for {count} rows")
    return predictions


def run_local(
    model: ServedModel,
    path: Path,
    expected: dict | None,
    *,
    baseline: Loaded | None = None,
    budget_ms: float | None = None,
    where: str | None = None,
) -> tuple[Report, Loaded | None]:
    """Check the fetched version at `path` in this process; the report and, if it loaded, the
    loaded version (the server swaps it in when the report is ok)."""
    report = Report(model, where or environment(), checked_at=now())
    problems = models.missing_requirements(path)
    report.add(
        "requirements",
        not problems,
        "; ".join(problems) if problems else "every requirement is installed here",
    )
    try:
        loaded = models.load_local(model, path)
    except Exception as e:  # noqa: BLE001 - whatever stops it loading is the verdict
        report.add("loads", False, f"{type(e).__name__}: {_short(e)}")
        for name in CHECKS[2:]:
            report.add(name, False, "not run: the model does not load")
        return report, None
    flavor = loaded.pyfunc.metadata.flavors.get("python_function", {}).get("loader_module")
    report.add("loads", True, f"mlflow.pyfunc.load_model ({flavor or 'pyfunc'})")
    bodies = example_requests(path, expected)
    answered = check_answers(report, bodies, lambda body: answer(loaded, body))
    check_predictions(report, answered, expected)
    body = one_row(expected, bodies)
    if body is None or len(answered) < len(bodies):
        report.add("latency", False, "not run: no example row it answers")
        return report, loaded
    others = [baseline] if baseline is not None and baseline.version != model.version else []
    try:
        attempt = 0
        while attempt < compare.ATTEMPTS:
            attempt += 1
            timings = compare.time_requests([loaded, *others], body, answer)
            if compare.within(timings, budget_ms):
                break
    except Exception as e:  # noqa: BLE001 - the champion failing here is not the candidate's fault
        report.add("latency", False, f"could not be timed: {_short(e)}")
        return report, loaded
    champion_p99 = timings[1] if others else None
    check_latency(report, timings[0], champion_p99, budget_ms, others, attempt)
    return report, loaded


def check_answers(report: Report, bodies, ask) -> dict[str, Any]:
    """Ask each example request; record the ``answers`` check; the predictions by example."""
    if not bodies:
        report.add(
            "answers",
            False,
            "no input example and no rows recorded at publish: publish it with data=<its input "
            "DataFrame>",
        )
        return {}
    answered, failures = {}, []
    for label, body in bodies:
        try:
            answered[label] = ask(body)
        except ClientError as e:
            failures.append(f"{label}: {e.status} {e}")
        except Exception as e:  # noqa: BLE001 - the model's own failure is the verdict
            failures.append(f"{label}: {type(e).__name__}: {_short(e)}")
    if failures:
        report.add("answers", False, "; ".join(failures))
    else:
        report.add("answers", True, " and ".join(label for label, _ in bodies))
    return answered


def check_predictions(report: Report, answered: dict, expected: dict | None) -> None:
    if not expected or "predictions" not in expected:
        report.add("predictions", False, "no predictions were recorded at publish to compare")
        return
    got = answered.get("rows recorded at publish")
    if got is None:
        report.add("predictions", False, "not run: the recorded rows were not answered")
        return
    found = compare.differences(got, expected["predictions"])
    if found:
        report.add(
            "predictions",
            False,
            f"{len(found)} of {len(expected['predictions'])} differ from those recorded at "
            f"publish ({'; '.join(found[:3])})",
        )
    else:
        count = len(got) if isinstance(got, list) else 1
        report.add("predictions", True, f"{count} equal to those recorded at publish")


def check_latency(
    report: Report,
    p99: float,
    champion_p99: float | None,
    budget_ms: float | None,
    others,
    attempt: int = 1,
) -> None:
    if budget_ms is None and champion_p99 is None:
        report.add("latency", True, f"p99 {p99:.2f} ms for 1-row requests (no champion to compare)")
        return
    budget = budget_ms if budget_ms is not None else compare.budget_for(champion_p99)
    told = "" if budget_ms is None else " (given)"
    against = (
        f"; champion version {others[0].version}: {champion_p99:.2f} ms"
        if champion_p99 is not None
        else ""
    )
    timed = f" (timing {attempt} of {compare.ATTEMPTS})" if attempt > 1 else ""
    report.add(
        "latency",
        p99 <= budget,
        f"p99 {p99:.2f} ms for 1-row requests, budget {budget:.2f} ms{told}{against}{timed}",
    )


def _short(e: BaseException) -> str:
    return " ".join(str(e).split())[:300] or type(e).__name__


def now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")


def environment() -> str:
    """Where this process runs, as a check records it."""
    import platform
    import socket

    import mlflow

    return (
        f"local: {socket.gethostname()}, Python {platform.python_version()}, "
        f"mlflow {mlflow.__version__}"
    )


# --- recording ------------------------------------------------------------------------------


def record(client, report: Report) -> None:
    """The results as tags on the version and as a section of its model card."""
    from jupyter_mlops.registry import modelcard

    m = report.model
    for key, value in report.tags().items():
        client.set_model_version_tag(m.name, m.version, key, value)
    version = client.get_model_version(m.name, m.version)
    card = modelcard.with_checks(
        version.description or "",
        [(c.name, c.ok, c.detail) for c in report.checks],
        where=report.where,
        when=report.checked_at,
    )
    if card != (version.description or ""):
        client.update_model_version(m.name, m.version, description=card)
