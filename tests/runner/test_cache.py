"""The cache: a step runs again only when its code, parameters, inputs or policy say so."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from runkit import cache_notebook, code, meta, run, statuses, write_notebook

from nb2pipe.errors import Nb2PipeError
from nb2pipe.runner import events as ev

pytestmark = pytest.mark.slow

ALL_CACHED = {"load": "cached", "double": "cached", "total": "cached", "side": "cached"}


def test_base_run_executes_every_step_and_records_it(cache_base):
    result = cache_base.result
    assert statuses(result) == {"load": "done", "double": "done", "total": "done", "side": "done"}
    assert result.metrics == {"total_value": 12.0}  # (0+1+2+3) * 2
    for name in result.steps:
        data = meta(result, name)
        assert data["status"] == "done"
        assert data["cache_hit"] is False
        assert data["end"] >= data["start"]
        assert data["fingerprint"] == result.steps[name].fingerprint
        assert (result.run_dir / name / "notebook.ipynb").is_file()
        assert (result.run_dir / name / "log.txt").is_file()


def test_nothing_changed_reuses_every_step(cache_base, cached_workspace, tmp_path):
    seen = []
    result = run(cache_base.notebook, cached_workspace, observers=[seen.append])

    assert result.ok
    assert statuses(result) == ALL_CACHED
    assert result.run_id != cache_base.result.run_id
    assert result.metrics == cache_base.result.metrics
    kinds = [e.kind for e in seen]
    assert ev.STEP_STARTED not in kinds
    assert kinds.count(ev.STEP_CACHED) == 4
    for name, step in result.steps.items():
        assert step.cached_from == cache_base.result.run_id
        assert meta(result, name)["cache_hit"] is True
    # The artifacts are copies with the same bytes, never the earlier files themselves: a later
    # write to one run (an editor's autosave, a user's edit) cannot change the other.
    base_run = cached_workspace / "runs" / cache_base.result.run_id
    for item in ["double/artifacts/b.npy", "double/notebook.ipynb", "double/log.txt"]:
        base_file, new_file = base_run / item, result.run_dir / item
        assert new_file.read_bytes() == base_file.read_bytes()
        assert os.stat(new_file).st_ino != os.stat(base_file).st_ino


def test_all_cached_run_starts_no_kernel_and_imports_no_papermill(cache_base, cached_workspace):
    # A fresh process does only the second run: nothing heavy may be imported.
    script = textwrap.dedent(
        f"""
        import json, sys
        from nb2pipe.runner import load_pipeline, run_pipeline

        pipeline, notebook = load_pipeline({str(cache_base.notebook)!r})
        result = run_pipeline(pipeline, notebook, workspace={str(cached_workspace)!r})
        heavy = ["papermill", "jupyter_client", "nbclient", "zmq", "asyncio"]
        print(json.dumps({{
            "statuses": {{n: s.status for n, s in result.steps.items()}},
            "imported": [m for m in heavy if m in sys.modules],
        }}))
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True
    )
    report = json.loads(out.stdout.strip().splitlines()[-1])
    assert report["statuses"] == ALL_CACHED
    assert report["imported"] == []


def test_comment_and_layout_changes_keep_the_cache(cache_base, cached_workspace, tmp_path):
    notebook = cache_notebook(
        tmp_path,
        double="# double every value\nb = (a  *  scale)   # same code, new layout\n",
        extra_markdown=True,  # shifts every cell number below it, too
    )
    result = run(notebook, cached_workspace)
    assert statuses(result) == ALL_CACHED


def test_code_change_with_same_output_stops_at_that_step(cache_base, cached_workspace, tmp_path):
    notebook = cache_notebook(tmp_path, double="b = scale * a")
    result = run(notebook, cached_workspace)
    # double re-runs; its output has the same bytes, so total's inputs did not change.
    assert statuses(result) == {**ALL_CACHED, "double": "done"}
    assert result.metrics == {"total_value": 12.0}


def test_code_change_with_new_output_reruns_downstream(cache_base, cached_workspace, tmp_path):
    notebook = cache_notebook(tmp_path, double="b = a * scale + 1")
    result = run(notebook, cached_workspace)
    assert statuses(result) == {**ALL_CACHED, "double": "done", "total": "done"}
    assert result.metrics == {"total_value": 16.0}
    assert (
        meta(result, "total")["parts"]["inputs"]["double.b"]
        != (meta(cache_base.result, "total")["parts"]["inputs"]["double.b"])
    )


def test_parameter_change_reruns_only_the_steps_that_use_it(cache_base, cached_workspace):
    result = run(cache_base.notebook, cached_workspace, params={"scale": 3})
    # scale is read by double only; total re-runs because double's output changed.
    assert statuses(result) == {**ALL_CACHED, "double": "done", "total": "done"}
    assert result.metrics == {"total_value": 18.0}
    assert meta(result, "double")["parts"]["params"] == {"scale": 3}
    assert meta(result, "load")["parts"]["params"] == {"n": 4}


def test_force_reruns_everything(cache_base, cached_workspace):
    result = run(cache_base.notebook, cached_workspace, force=True)
    assert statuses(result) == {"load": "done", "double": "done", "total": "done", "side": "done"}
    assert result.metrics == {"total_value": 12.0}


def test_from_step_reruns_it_and_its_descendants(cache_base, cached_workspace):
    result = run(cache_base.notebook, cached_workspace, from_step="double")
    assert statuses(result) == {**ALL_CACHED, "double": "done", "total": "done"}


def test_only_runs_one_step_on_cached_upstream(cache_base, cached_workspace):
    result = run(cache_base.notebook, cached_workspace, only="total")
    assert statuses(result) == {"load": "cached", "double": "cached", "total": "done"}
    assert "side" not in result.steps  # not upstream of total: not part of the run
    assert result.ok
    assert result.metrics == {"total_value": 12.0}


def test_only_without_cached_upstream_is_an_error(cache_base, tmp_path):
    with pytest.raises(Nb2PipeError, match=r"--only total: upstream step 'load' has no cached"):
        run(cache_base.notebook, tmp_path / ".nb2pipe", only="total")


@pytest.mark.parametrize("flag", ["from_step", "only"])
def test_unknown_step_suggests_the_closest(cache_base, tmp_path, flag):
    with pytest.raises(Nb2PipeError, match=r"no such step \(did you mean 'double'\?\)"):
        run(cache_base.notebook, tmp_path / ".nb2pipe", **{flag: "dubble"})


def test_cache_off_step_always_runs(tmp_path: Path):
    notebook = write_notebook(
        tmp_path / "policy.ipynb",
        code("import time", "imports"),
        code("stamp = time.time()", "step:clock", "cache:off"),
        code("value = 41 + 1", "step:plain"),
    )
    workspace = tmp_path / ".nb2pipe"
    first = run(notebook, workspace)
    second = run(notebook, workspace)
    assert statuses(first) == {"clock": "done", "plain": "done"}
    assert statuses(second) == {"clock": "done", "plain": "cached"}
    assert meta(second, "clock")["cache_hit"] is False


def test_a_corrupt_cached_artifact_is_not_reused(cache_base, cached_workspace):
    """A byte flipped in an artifact that no step of the next run would load is still found:
    the cache verifies what it reuses, warns, and runs the step again."""
    base_run = cached_workspace / "runs" / cache_base.result.run_id
    artifact = base_run / "double" / "artifacts" / "b.npy"
    data = bytearray(artifact.read_bytes())
    data[-1] ^= 0xFF
    artifact.chmod(0o644)
    artifact.write_bytes(bytes(data))
    seen = []
    result = run(cache_base.notebook, cached_workspace, observers=[seen.append])
    assert result.ok
    assert statuses(result)["double"] == "done" and statuses(result)["total"] == "cached"
    [warning] = [e for e in seen if e.kind == ev.WARNING]
    assert warning.step == "double"
    assert "corrupt artifact 'b'" in warning.data["message"]
    assert "running the step again" in warning.data["message"]
    assert result.metrics == cache_base.result.metrics


def test_finished_records_are_read_only(cache_base):
    step = cache_base.result.run_dir / "double"
    for item in [step / "notebook.ipynb", step / "log.txt", step / "artifacts" / "b.npy"]:
        assert item.stat().st_mode & 0o222 == 0, item
