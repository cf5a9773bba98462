"""Compiled output compared byte for byte with committed files under tests/golden/.

`pipeline.yaml` names its notebook relative to the output directory, so each notebook is
copied into tmp_path at its place relative to the repository root and compiled into
tmp_path/tests/golden/<name>/: the same relative depth as the committed files, hence the
same bytes with no normalisation at all.

Regenerate after an intended change of the output, then review the diff:

    NB2PIPE_UPDATE_GOLDEN=1 pytest tests/compiler/test_golden.py
"""

import difflib
import os
import shutil
from pathlib import Path

import pytest
from nbfactory import EXAMPLE, KALE, ROOT

from nb2pipe.compile.build import write_compiled
from nb2pipe.compile.compiler import compile_notebook

GOLDEN = ROOT / "tests" / "golden"
NOTEBOOKS = {"breast_cancer_diagnosis": EXAMPLE, "kale_dialect": KALE}
UPDATE = os.environ.get("NB2PIPE_UPDATE_GOLDEN") == "1"


def files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def compile_into(root: Path, name: str) -> Path:
    """Compile notebook `name` as if the repository were at `root`; return the output dir."""
    source = NOTEBOOKS[name]
    notebook = root / source.relative_to(ROOT)
    if notebook != source:
        notebook.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, notebook)
    out = root / GOLDEN.relative_to(ROOT) / name
    write_compiled(compile_notebook(notebook), out, notebook)
    return out


@pytest.mark.parametrize("name", sorted(NOTEBOOKS))
def test_compiled_output_matches_golden_files(name, tmp_path):
    if UPDATE:
        shutil.rmtree(GOLDEN / name, ignore_errors=True)
        compile_into(ROOT, name)
    expected = files(GOLDEN / name)
    assert expected, f"no golden files in {GOLDEN / name}: run NB2PIPE_UPDATE_GOLDEN=1 pytest"
    actual = files(compile_into(tmp_path, name))
    assert sorted(actual) == sorted(expected)
    for rel, data in expected.items():
        if actual[rel] != data:
            diff = difflib.unified_diff(
                data.decode().splitlines(),
                actual[rel].decode().splitlines(),
                f"golden/{name}/{rel}",
                f"compiled/{name}/{rel}",
                lineterm="",
                n=2,
            )
            pytest.fail("\n".join(list(diff)[:60]))


def test_golden_pipeline_names_its_notebook_relative_to_itself():
    text = (GOLDEN / "breast_cancer_diagnosis" / "pipeline.yaml").read_text(encoding="utf-8")
    assert "source: ../../../example_notebooks/breast_cancer_diagnosis.ipynb\n" in text
    text = (GOLDEN / "kale_dialect" / "pipeline.yaml").read_text(encoding="utf-8")
    assert "source: ../../compiler/fixtures/kale_dialect.ipynb\n" in text
