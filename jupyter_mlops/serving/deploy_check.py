"""`nb2pipe deploy check`: a registered version checked where it will run, the verdict recorded.

Here (the checks of checks.py against the version loaded in this process, timed against the
champion), or in its serving image (image.py: built, started, asked over HTTP). The report is
recorded on the version and in its model card; `nb2pipe promote --check` runs the same.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from jupyter_mlops.serving import checks, compare, models
from jupyter_mlops.serving.checks import Report, record, run_local
from jupyter_mlops.serving.image import build, run
from jupyter_mlops.serving.models import ServedModel


def check(
    spec: str,
    *,
    tracking_uri: str | None = None,
    budget_ms: float | None = None,
    target: str = "local",
    base: str | None = None,
    record_results: bool = True,
) -> Report:
    """Check the version `spec` names (default: the champion) where it will run."""
    from jupyter_mlops.errors import translated
    from jupyter_mlops.registry.aliases import CHAMPION, holder
    from jupyter_mlops.registry.expected import read_expected
    from jupyter_mlops.tracking import config, store

    uri = tracking_uri or config.tracking_uri()
    model = models.resolve(spec, uri)
    with (
        translated(f"check model {model.name!r}", uri),
        models.unreachable(uri),
        tempfile.TemporaryDirectory(prefix="nb2pipe-check-") as scratch,
    ):
        client = store.client(uri)
        expected = read_expected(client, model.name, model.version)
        path = models.fetch(uri, model, Path(scratch) / "candidate")
        champion = holder(client, model.name, CHAMPION)
        baseline = None
        if champion and champion != model.version and budget_ms is None and target == "local":
            champion_model = ServedModel(model.name, champion, CHAMPION)
            fetched = models.fetch(uri, champion_model, Path(scratch) / "champion")
            baseline = models.load_local(champion_model, fetched)
        if target == "local":
            report, _ = run_local(model, path, expected, baseline=baseline, budget_ms=budget_ms)
        else:
            report = check_in_image(model, path, expected, budget_ms=budget_ms, base=base)
        if record_results:
            record(client, report)
    return report


def check_in_image(
    model: ServedModel,
    path: Path,
    expected: dict | None,
    *,
    budget_ms: float | None = None,
    base: str | None = None,
):
    """The pre-deployment checks with the version in its serving image: the image builds and
    starts, answers the example rows over HTTP, predicts what was recorded, in budget."""
    from jupyter_mlops.serving.server import free_port

    report = checks.Report(model, "docker image (building)", checked_at=checks.now())
    try:
        with tempfile.TemporaryDirectory(prefix="nb2pipe-image-") as scratch:
            image = build(model, path, output=Path(scratch) / "context", base=base)
        report.where = f"{image.engine} image {image.ref}"
        container = run(image, free_port())
    except Exception as e:  # noqa: BLE001 - whatever stops it is the verdict
        report.add("requirements", False, f"the image does not build or start: {e}")
        for name in checks.CHECKS[1:]:
            report.add(name, False, "not run: no container")
        return report
    try:
        report.add("requirements", True, f"{image.ref} builds and starts")
        report.add("loads", True, "MLflow's scoring server loaded it in the container")
        bodies = checks.example_requests(path, expected)
        answered = checks.check_answers(
            report, bodies, lambda body: container.post(body)["predictions"]
        )
        checks.check_predictions(report, answered, expected)
        body = checks.one_row(expected, bodies)
        if body is None or len(answered) < len(bodies):
            report.add("latency", False, "not run: no example row it answers")
            return report
        for _ in range(10):
            container.post(body)
        samples = []
        for _ in range(100):
            began = time.perf_counter()
            container.post(body)
            samples.append(time.perf_counter() - began)
        checks.check_latency(report, compare.p99_ms(samples), None, budget_ms, [])
        return report
    finally:
        container.stop()
