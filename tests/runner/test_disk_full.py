"""A full disk is one line that says so, and leaves every record whole and consistent."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from runkit import cli, code, temp_files, write_notebook
from support.servers import unavailable

from nb2pipe.runner.rundir import RunDir

pytestmark = pytest.mark.slow


@pytest.fixture
def small_disk(tmp_path):
    """A 2 MiB tmpfs mounted for the test (root only); under CI it must work."""
    mount = tmp_path / "small"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount)], capture_output=True
    )
    if done.returncode != 0:
        message = f"cannot mount a small tmpfs here: {done.stderr.decode().strip()}"
        unavailable(message)
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def records_are_whole(workspace: Path) -> None:
    """Every JSON record parses; no notebook is empty; no temp file is left behind."""
    for record in workspace.rglob("*.json"):
        json.loads(record.read_text())
    for executed in workspace.rglob("notebook.ipynb"):
        assert executed.stat().st_size > 0 and json.loads(executed.read_text())["cells"]
    assert temp_files(workspace) == []


def test_an_artifact_that_does_not_fit(tmp_path, small_disk):
    nb = write_notebook(
        tmp_path / "big.ipynb",
        code("import numpy as np", "imports"),
        code("a = np.random.default_rng(0).random(1_000_000)  # 8 MB", "step:make"),
        code("print(a.sum())", "step:use"),
    )
    result = cli("run", nb, "--workspace", small_disk, cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    [line] = [x for x in result.stderr.splitlines() if x.startswith("error:")]
    assert "the disk is full" in line and "'a'" in line and "Traceback" not in result.stderr
    [run] = list((small_disk / "runs").iterdir())
    assert RunDir(run).info()["status"] == "failed"
    assert json.loads((run / "make" / "meta.json").read_text())["status"] == "failed"
    records_are_whole(small_disk)


def test_a_disk_that_fills_up_while_the_run_records_it(tmp_path, small_disk):
    # The executed notebook (a long printout) does not fit where the run is recorded.
    nb = write_notebook(
        tmp_path / "loud.ipynb",
        code("for i in range(40_000):\n    print('line', i, 'x' * 40)", "step:loud"),
        code("print('after')", "step:after", "after:loud"),
    )
    filler = small_disk / "filler"
    filler.write_bytes(b"\0" * (1024 * 1024 + 512 * 1024))
    result = cli("run", nb, "--workspace", small_disk, cwd=tmp_path)
    assert result.returncode != 0
    errors = [x for x in result.stderr.splitlines() if x.startswith("error:")]
    assert len(errors) == 1 and "the disk is full" in errors[0], result.stderr
    assert "Traceback" not in result.stderr
    filler.unlink()
    [run] = list((small_disk / "runs").iterdir())
    assert RunDir(run).info()["status"] in ("failed", "interrupted")
    records_are_whole(small_disk)
