"""`%mlops load STEP`: in a real kernel, a step's inputs bound from a run's artifacts (checked by
sha256), its imports, settings and random state replayed; its own cells then give what the
pipeline's step gave."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from support.notebooks import code, write_notebook
from test_magics import run_cells, text

from nb2pipe.runner import load_pipeline, run_pipeline

TRAIN = (
    "noise = np.random.normal(0, noise_level, len(frame))\n"
    "coef = np.polyfit(frame['x'] + noise, frame['y'], 1)\n"
    "print(np.round(coef, 6), pd.get_option('display.precision'))"
)


def debug_notebook(folder: Path) -> Path:
    return write_notebook(
        folder / "fit.ipynb",
        code("n = 200\nscale = 2.0\nnoise_level = 0.1", "parameters"),
        code("import numpy as np\nimport pandas as pd", "imports"),
        code(
            "np.random.seed(0)\npd.set_option('display.precision', 3)\n"
            "frame = pd.DataFrame({'x': np.random.rand(n)})\nframe['y'] = frame['x'] * scale",
            "step:load",
        ),
        code("frame['x2'] = frame['x'] ** 2", "step:features"),
        code(TRAIN, "step:train"),
        code("fit_error = float(abs(coef[0] - scale))", "step:evaluate", "metrics"),
    )


@pytest.fixture(scope="module")
def ran(tmp_path_factory):
    folder = tmp_path_factory.mktemp("debug")
    notebook = debug_notebook(folder)
    result = run_pipeline(*load_pipeline(notebook), params={"noise_level": 0.2}, max_parallel=2)
    assert result.ok, result.failure()
    return notebook, result


def step_output(run_dir: Path, step: str) -> str:
    import nbformat

    executed = nbformat.read(run_dir / step / "notebook.ipynb", as_version=4)
    cells = [c for c in executed.cells if c.get("id", "").startswith("cell-")]
    return "".join(text(c["outputs"]) for c in cells)


def test_load_binds_the_runs_inputs_and_the_steps_cells_give_the_pipelines_outputs(ran):
    notebook, result = ran
    run = str(result.run_dir)
    outputs = run_cells(
        [
            "%load_ext jupyter_mlops",
            f"%mlops load train {notebook.name}",
            # what is bound equals the run's artifacts; the parameter has the run's value
            "from nb2pipe.artifacts import load as _artifact\n"
            f"print(frame.equals(_artifact({run!r}, 'features', 'frame')), noise_level)",
            TRAIN,  # the step's own cell, by hand
            f"print(np.array_equal(coef, _artifact({run!r}, 'train', 'coef')))",
        ],
        notebook.parent,
    )
    loaded = text(outputs[1])
    assert f"loaded step 'train' of run {result.run_id}" in loaded, loaded
    assert "inputs frame (from features)" in loaded and "noise_level=0.2" in loaded
    assert text(outputs[2]).strip() == "True 0.2"
    assert text(outputs[3]) == step_output(result.run_dir, "train")
    assert text(outputs[4]).strip() == "True"


def test_load_binds_the_parameters_the_step_reads_only(ran):
    notebook, result = ran
    outputs = run_cells(
        [
            "%load_ext jupyter_mlops",
            f"%mlops load train {notebook.name}",
            "print(noise_level)",
            "print('n' in dir())",
        ],  # fmt: skip
        notebook.parent,
    )
    assert text(outputs[2]).strip() == "0.2"
    assert text(outputs[3]).strip() == "False"


def test_load_of_a_named_run_and_of_bad_inputs_is_one_line_each(ran, tmp_path):
    notebook, result = ran
    outputs = run_cells(
        [
            "%load_ext jupyter_mlops",
            f"%mlops load train {notebook.name} --run {result.run_id}",
            f"%mlops load train {notebook.name} --run 20990101-000000-abcdef",
            f"%mlops load trian {notebook.name}",
            f"%mlops load train {tmp_path / 'elsewhere.ipynb'}",
        ],
        notebook.parent,
    )
    assert f"of run {result.run_id}" in text(outputs[1])
    assert text(outputs[2]).startswith("UsageError: ")
    assert "--run 20990101-000000-abcdef: no such run in" in text(outputs[2])
    assert "no step 'trian' (did you mean 'train'?)" in text(outputs[3])
    assert "no such notebook" in text(outputs[4])
    for output in outputs[2:]:
        assert len(text(output).strip().splitlines()) == 1


def test_load_refuses_an_artifact_that_fails_its_sha256_before_binding_anything(tmp_path):
    notebook = debug_notebook(tmp_path)
    result = run_pipeline(*load_pipeline(notebook), max_parallel=2)
    assert result.ok, result.failure()
    frame = next((result.run_dir / "features" / "artifacts").glob("frame.*"))
    os.chmod(frame, stat.S_IRUSR | stat.S_IWUSR)  # sealed read-only by the run
    data = bytearray(frame.read_bytes())
    data[len(data) // 2] ^= 0xFF
    frame.write_bytes(bytes(data))
    outputs = run_cells(
        ["%load_ext jupyter_mlops", f"%mlops load train {notebook.name}", "print('noise_level' in dir())"],
        notebook.parent,
    )  # fmt: skip
    message = text(outputs[1]).strip()
    assert message.startswith("UsageError: ") and len(message.splitlines()) == 1
    assert (
        f"run {result.run_id}: artifact 'frame' of step 'features' does not match its sha256"
        in message
    )
    assert text(outputs[2]).strip() == "False"  # nothing half bound


def test_load_without_any_run_says_to_run_the_pipeline_first(tmp_path):
    notebook = debug_notebook(tmp_path)
    outputs = run_cells(["%load_ext jupyter_mlops", f"%mlops load train {notebook.name}"], tmp_path)
    assert text(outputs[1]).strip() == (
        f"UsageError: {notebook}: no run of this notebook yet: run its pipeline first"
    )
