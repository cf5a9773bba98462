"""Generated export files compared byte for byte with tests/exports/golden/small/.

The golden pipeline (exportkit.golden_notebook) uses every tag an export reads; its pins come
from a fixed snapshot of distributions, and its images have fixed names, so the files change
only when the generators do. Regenerate after an intended change, then review the diff:

    NB2PIPE_UPDATE_GOLDEN=1 pytest tests/exports/test_export_golden.py
"""

from __future__ import annotations

import difflib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from exportkit import GOLDEN, render_golden

UPDATE = os.environ.get("NB2PIPE_UPDATE_GOLDEN") == "1"
SMALL = GOLDEN / "small"


def _golden_files() -> dict[str, str]:
    return {
        p.relative_to(SMALL).as_posix(): p.read_text(encoding="utf-8")
        for p in sorted(SMALL.rglob("*"))
        if p.is_file()
    }


def test_export_files_match_golden_files(tmp_path):
    actual = render_golden(tmp_path)
    if UPDATE:
        shutil.rmtree(SMALL, ignore_errors=True)
        for rel, text in actual.items():
            (SMALL / rel).parent.mkdir(parents=True, exist_ok=True)
            (SMALL / rel).write_text(text, encoding="utf-8")
    expected = _golden_files()
    assert expected, f"no golden files in {SMALL}: run NB2PIPE_UPDATE_GOLDEN=1 pytest"
    assert sorted(actual) == sorted(expected)
    for rel, text in expected.items():
        if actual[rel] != text:
            diff = "\n".join(
                difflib.unified_diff(
                    text.splitlines(), actual[rel].splitlines(), f"golden/{rel}", rel, lineterm=""
                )
            )
            raise AssertionError(f"{rel} differs from its golden file:\n{diff}")


@pytest.mark.slow
def test_export_files_are_the_same_bytes_in_every_process(tmp_path):
    """Rendered twice in fresh interpreters with different hash seeds: no set or dict order,
    time or path leaks into the output."""
    script = Path(__file__).with_name("exportkit.py")
    # run as a script, exportkit finds its own folder on sys.path but not the shared modules
    shared = str(Path(__file__).resolve().parents[1])
    pythonpath = os.pathsep.join(filter(None, [shared, os.environ.get("PYTHONPATH")]))
    outputs = []
    for seed in ("1", "2"):
        folder = tmp_path / f"run{seed}"  # a different folder each time, too
        done = subprocess.run(
            [sys.executable, str(script), str(folder)],
            capture_output=True,
            text=True,
            env={**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": pythonpath},
            check=True,
        )
        outputs.append(json.loads(done.stdout))
    assert outputs[0] == outputs[1]
    assert outputs[0] == render_golden(tmp_path / "here")
