"""A failing step stops its descendants only, and says where to look in one line."""

from __future__ import annotations

import json
import os

import pytest
from runkit import cli, code, error_lines, meta, run, statuses, write_notebook

from nb2pipe.errors import StepFailed

pytestmark = pytest.mark.slow

FAILING_CELL = 4  # position of the `raise` in the source notebook, from 1


def failing_notebook(folder):
    #        root ──► bad ──► after_bad
    #          └────► independent
    return write_notebook(
        folder / "failing.ipynb",
        code("import numpy as np", "imports"),
        code("base = np.arange(3)", "step:root"),
        code("x = base + 1", "step:bad"),
        code("raise ValueError('boom: bad input')"),  # still step bad: cell 4
        code("y = x * 2", "step:after_bad"),
        code("z = base * 3", "step:independent"),
        code("z_sum = float(z.sum())", "metrics"),
    )


@pytest.fixture(scope="module")
def failed(tmp_path_factory):
    folder = tmp_path_factory.mktemp("failing")
    notebook = failing_notebook(folder)
    workspace = folder / ".nb2pipe"
    return folder, notebook, workspace, run(notebook, workspace)


def test_failure_stops_descendants_only(failed):
    *_, result = failed
    assert result.status == "failed"
    assert not result.ok
    assert statuses(result) == {
        "root": "done",
        "bad": "failed",
        "after_bad": "skipped",
        "independent": "done",
    }
    assert result.metrics == {"z_sum": 9.0}  # the independent branch finished its work
    assert meta(result, "after_bad")["error"] == {"message": "upstream failed: bad"}
    assert not (result.run_dir / "after_bad" / "artifacts").exists()
    run_info = json.loads((result.run_dir / "run.json").read_text())
    assert run_info["status"] == "failed"


def test_failed_step_records_its_error(failed):
    *_, result = failed
    data = meta(result, "bad")
    assert data["status"] == "failed"
    assert data["error"]["ename"] == "ValueError"
    assert data["error"]["cell"] == FAILING_CELL
    assert data["error"]["message"] == "ValueError: boom: bad input"
    # A failed step is no cache entry and writes no outputs for anyone to read.
    assert not (result.run_dir / "bad" / "artifacts" / "manifest.json").exists()


def test_executed_notebook_of_failed_step_holds_papermills_error(failed):
    *_, result = failed
    executed = result.steps["bad"].notebook
    assert executed == result.run_dir / "bad" / "notebook.ipynb"
    text = executed.read_text(encoding="utf-8")
    nb = json.loads(text)
    assert "papermill-error-cell" in text  # papermill's "An Exception was encountered" marker
    errors = [
        o for c in nb["cells"] for o in c.get("outputs", []) if o.get("output_type") == "error"
    ]
    assert [(e["ename"], e["evalue"]) for e in errors] == [("ValueError", "boom: bad input")]


def test_failure_names_step_cell_and_notebook(failed):
    _folder, notebook, _workspace, result = failed
    failure = result.failure()
    assert isinstance(failure, StepFailed)
    assert failure.exit_code == 1
    assert failure.cell == FAILING_CELL
    assert failure.file == str(notebook)
    text = str(failure)
    assert text.startswith(f"{notebook}: cell {FAILING_CELL}: step 'bad' failed: ValueError")
    assert os.path.relpath(result.run_dir / "bad" / "notebook.ipynb") in text


def test_cli_prints_one_error_line_and_exits_1(failed):
    folder, notebook, workspace, _ = failed
    out = cli("run", notebook.name, "--workspace", workspace, "--max-parallel", "2", cwd=folder)
    assert out.returncode == 1, out.stderr
    assert "Traceback" not in out.stderr
    [line] = error_lines(out.stderr)
    assert line.startswith(f"error: failing.ipynb: cell {FAILING_CELL}: step 'bad' failed: ")
    assert "ValueError: boom: bad input" in line
    assert "bad/notebook.ipynb" in line
    run_id = out.stdout.split()[1]
    assert out.stdout.startswith(f"run {run_id} failed")
    # The earlier run's good steps came from the cache; the failed one ran again.
    rerun = workspace / "runs" / run_id
    status = {s: json.loads((rerun / s / "meta.json").read_text())["status"] for s in
              ("root", "bad", "after_bad", "independent")}  # fmt: skip
    assert status == {
        "root": "cached",
        "bad": "failed",
        "after_bad": "skipped",
        "independent": "cached",
    }


def test_retries_rerun_a_step_that_fails_once(tmp_path):
    marker = tmp_path / "first-attempt-happened"
    notebook = write_notebook(
        tmp_path / "flaky.ipynb",
        code("from pathlib import Path", "imports"),
        code(
            f"marker = Path({str(marker)!r})\n"
            "if not marker.exists():\n"
            "    marker.write_text('failed once')\n"
            "    raise RuntimeError('transient failure')\n"
            "value = 42",
            "step:flaky",
            "retries:1",
        ),
        code("doubled = value * 2", "step:after"),
        code("answer = doubled", "metrics"),
    )
    result = run(notebook, tmp_path / ".nb2pipe")
    assert result.ok, result.failure()
    assert statuses(result) == {"flaky": "done", "after": "done"}
    assert marker.read_text() == "failed once"
    assert meta(result, "flaky")["attempts"] == 2
    assert meta(result, "after")["attempts"] == 1
    assert result.metrics == {"answer": 84.0}


def test_dead_kernel_fails_its_step_within_seconds(tmp_path):
    notebook = write_notebook(
        tmp_path / "dies.ipynb",
        code("import time", "imports"),
        code("import os, signal\nos.kill(os.getpid(), signal.SIGKILL)\nx = 1", "step:die"),
        code("y = x + 1", "step:after_die"),
        code("time.sleep(1)\nz = 3", "step:other"),
        code("w = z * 2", "step:other_after"),
        code("w_value = w", "metrics"),
    )
    result = run(notebook, tmp_path / ".nb2pipe")
    assert result.status == "failed"
    assert statuses(result) == {
        "die": "failed",
        "after_die": "skipped",
        "other": "done",
        "other_after": "done",
    }
    died = result.steps["die"]
    assert "kernel died" in died.error["message"]
    assert died.duration < 30
    assert result.duration < 60
    assert result.metrics == {"w_value": 6.0}
    assert "step 'die' failed: the kernel died" in str(result.failure())


def test_an_error_whose_text_starts_on_a_new_line_still_says_what_went_wrong(tmp_path):
    """`raise ValueError("\\nthe column is empty")`: the one-line message (the sidebar's, the
    CLI's) is the error's first line of text, not a bare "ValueError:"."""
    from nb2pipe.executed import failure

    executed = tmp_path / "step.ipynb"
    error = {"output_type": "error", "ename": "ValueError", "evalue": "\n  the column is empty\n",
             "traceback": []}  # fmt: skip
    cell = {"cell_type": "code", "metadata": {"nb2pipe": {"cell": 4}}, "outputs": [error],
            "source": "", "execution_count": 1}  # fmt: skip
    executed.write_text(json.dumps({"cells": [cell]}), encoding="utf-8")
    found = failure(executed)
    assert (found.cell, found.message) == (4, "ValueError: the column is empty")
