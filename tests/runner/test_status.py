"""`nb2pipe status`: per step, would the next run execute it, and why — without running it."""

from __future__ import annotations

import pytest
from runkit import cache_notebook, cli, code, write_notebook

from nb2pipe.compile.compiler import compile_notebook
from nb2pipe.runner.status import step_status

pytestmark = pytest.mark.slow  # the shared base run starts kernels


def reasons(notebook, workspace, params=None) -> dict[str, tuple[bool, list[str]]]:
    rows = step_status(compile_notebook(notebook), notebook, params or {}, workspace)
    return {row["step"]: (row["run"], row["reasons"]) for row in rows}


def test_never_ran(cache_base, tmp_path):
    got = reasons(cache_base.notebook, tmp_path / ".nb2pipe")
    assert got["load"] == (True, ["never ran"])
    # Downstream steps would run because their upstream will, and they never ran either.
    assert got["double"] == (True, ["upstream will run (load)", "never ran"])
    assert got["total"] == (True, ["upstream will run (double)", "never ran"])
    assert got["side"] == (True, ["upstream will run (load)", "never ran"])


def test_cached_from_run(cache_base):
    got = reasons(cache_base.notebook, cache_base.workspace)
    expected = f"cached from run {cache_base.result.run_id}"
    assert got == {name: (False, [expected]) for name in ("load", "double", "total", "side")}


def test_code_changed(cache_base, cached_workspace, tmp_path):
    notebook = cache_notebook(tmp_path, double="b = a * scale + 1")
    got = reasons(notebook, cached_workspace)
    assert got["load"][0] is False
    assert got["double"] == (True, ["code changed"])
    assert got["total"] == (True, ["upstream will run (double)"])
    assert got["side"][0] is False


def test_comment_change_is_no_reason(cache_base, cached_workspace, tmp_path):
    notebook = cache_notebook(tmp_path, double="b = a * scale  # a comment", extra_markdown=True)
    assert not any(run for run, _ in reasons(notebook, cached_workspace).values())


def test_parameter_changed(cache_base):
    got = reasons(cache_base.notebook, cache_base.workspace, {"scale": 3})
    assert got["double"] == (True, ["parameter scale changed"])
    assert got["total"] == (True, ["upstream will run (double)"])
    assert got["load"][0] is False and got["side"][0] is False


def test_cache_off(tmp_path):
    notebook = write_notebook(
        tmp_path / "policy.ipynb", code("stamp = 1", "step:clock", "cache:off")
    )
    assert reasons(notebook, tmp_path / ".nb2pipe") == {
        "clock": (True, ["cache off for this step"])
    }


def test_cli_status_prints_one_line_per_step(cache_base, tmp_path):
    out = cli(
        "status", cache_base.notebook, "-p", "scale", "3", "--workspace", cache_base.workspace,
        cwd=tmp_path,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    lines = dict(line.split(None, 1) for line in out.stdout.splitlines())
    run_id = cache_base.result.run_id
    assert lines["load"].split() == ["up", "to", "date", "cached", "from", "run", run_id]
    assert lines["double"].startswith("would run") and "parameter scale changed" in lines["double"]
    assert "upstream will run (double)" in lines["total"]
    assert lines["side"].startswith("up to date")


def test_cli_status_unknown_parameter(cache_base, tmp_path):
    out = cli(
        "status", cache_base.notebook, "-p", "scal", "3", "--workspace", tmp_path / ".nb2pipe",
        cwd=tmp_path,
    )  # fmt: skip
    assert out.returncode == 2
    assert out.stderr.strip().splitlines() == [
        "error: -p scal: unknown parameter (did you mean 'scale'?)"
    ]
