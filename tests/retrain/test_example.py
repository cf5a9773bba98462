"""example_notebooks/continuous_training.ipynb runs top to bottom under papermill."""

from __future__ import annotations

import json
import time

import pytest
from support.project import EXAMPLE

from nb2pipe.compile.compiler import compile_notebook

pytestmark = pytest.mark.slow


def outputs(notebook: dict) -> str:
    texts = []
    for cell in notebook["cells"]:
        for output in cell.get("outputs", []):
            texts.append(
                "".join(output.get("text") or output.get("data", {}).get("text/plain", ""))
            )
    return "\n".join(texts)


def test_the_example_is_a_four_step_pipeline():
    pipeline = compile_notebook(EXAMPLE)
    assert [s.name for s in pipeline.steps] == ["data", "validate", "train", "promote"]
    assert {p.name for p in pipeline.params} == {"workdir", "model_name", "shift", "schema"}
    assert EXAMPLE.with_name("continuous_training.schema.yaml").is_file()


def test_the_example_runs_the_whole_loop(tmp_path):
    import papermill

    before = sorted(p.name for p in EXAMPLE.parent.iterdir())
    start = time.monotonic()
    papermill.execute_notebook(
        str(EXAMPLE),
        str(tmp_path / "executed.ipynb"),
        parameters={"workdir": str(tmp_path / "work")},
        cwd=str(EXAMPLE.parent),
        progress_bar=False,
        kernel_name="python3",
    )
    took = time.monotonic() - start
    text = outputs(json.loads((tmp_path / "executed.ipynb").read_text()))
    assert "gate: wine-continuous version 1 promoted to champion: no champion yet" in text
    assert "serving at http://127.0.0.1:" in text
    assert "<DriftReport: no drift in 13 features (60 rows vs 178 reference rows)>" in text
    assert "<DriftReport: 2 of 13 features drifted: alcohol, color_intensity" in text
    assert "watch new-data: 1 new file in" in text and "batch-2.csv -> run" in text
    assert "watch drift: 2 of 13 features drifted: alcohol, color_intensity" in text
    assert "watch run: continuous_training.ipynb (triggered by new-data, drift)" in text
    # The schema's tolerances pass the clean batch and stop the new vineyard's, naming why.
    assert "run failed: data does not match the schema" in text
    assert "alcohol: mean shift (mean 13.61, expected 13 ± 0.385: moved +0.75 sd)" in text
    # Accepted, retrained: the gate decides both ways on real, noisy-enough data.
    # The champion is scored on the challenger's own held-out wines, not its published value.
    assert (
        "retrained on the new vineyard: wine-continuous version 2 promoted to champion: "
        "accuracy 0.966667 vs champion version 1's 0.933333 on the same held-out data" in text
    )
    assert (
        "retrained again, nothing new: wine-continuous version 3 stays challenger: "
        "accuracy 0.966667 vs champion version 2's 0.966667 on the same held-out data" in text
    )
    # Everything went into workdir, nothing beside the notebook.
    assert sorted(p.name for p in EXAMPLE.parent.iterdir()) == before
    assert (tmp_path / "work" / "predictions.jsonl").is_file()
    # Meant to take well under a minute; generous here for a loaded test machine.
    assert took < 180, f"the example took {took:.0f}s"
