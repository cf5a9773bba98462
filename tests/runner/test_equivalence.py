"""The pipeline computes what the notebook computes when run top to bottom."""

from __future__ import annotations

import json

import pytest
from runkit import EXAMPLE, code, run

pytestmark = pytest.mark.slow

STEPS = ["load", "scaled_features", "poly_features", "train", "evaluate"]
REPORT = "import json\nprint('METRICS ' + json.dumps({'accuracy': accuracy, 'f1_macro': f1_macro}))"


@pytest.fixture(scope="module")
def original_metrics(tmp_path_factory) -> dict[str, float]:
    """Run a copy of the original notebook, plus a reporting cell, with plain papermill."""
    from nb2pipe.runner.execute import import_papermill

    papermill = import_papermill()
    folder = tmp_path_factory.mktemp("original")
    document = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    document["cells"].append({**code(REPORT), "id": "report-metrics"})
    copy = folder / "breast_cancer_diagnosis.ipynb"
    copy.write_text(json.dumps(document), encoding="utf-8")
    executed = papermill.execute_notebook(
        str(copy),
        str(folder / "executed.ipynb"),
        kernel_name="python3",
        cwd=str(folder),
        progress_bar=False,
    )
    text = "".join(
        "".join(output.get("text", ""))
        for output in executed.cells[-1].outputs
        if output.get("output_type") == "stream"
    )
    [line] = [line for line in text.splitlines() if line.startswith("METRICS ")]
    return json.loads(line.removeprefix("METRICS "))


@pytest.mark.parametrize("isolation", ["kernel", "process"])
def test_pipeline_metrics_equal_the_notebooks(original_metrics, tmp_path, isolation):
    source = EXAMPLE.read_bytes()
    result = run(EXAMPLE, tmp_path / ".nb2pipe", isolation=isolation)

    assert result.ok, result.failure()
    assert list(result.steps) == STEPS
    assert all(step.status == "done" for step in result.steps.values())
    assert set(result.metrics) == {"accuracy", "f1_macro"}
    assert result.metrics == pytest.approx(original_metrics, rel=1e-12)
    assert 0.8 < result.metrics["accuracy"] <= 1.0
    assert json.loads((result.run_dir / "run.json").read_text())["isolation"] == isolation
    assert EXAMPLE.read_bytes() == source  # sources are never overwritten
