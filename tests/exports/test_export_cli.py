"""`nb2pipe export`: the command line door to the export targets."""

from __future__ import annotations

import shutil

import pytest
import yaml
from exportkit import EXAMPLE, cli

from nb2pipe.exports.argo import validate

pytestmark = pytest.mark.slow  # each test starts nb2pipe processes (~5 s of imports each)


def test_export_kfp_and_argo_from_a_notebook(tmp_path):
    notebook = tmp_path / "breast_cancer_diagnosis.ipynb"
    shutil.copyfile(EXAMPLE, notebook)
    done = cli(
        "export", notebook, "--target", "kfp", "-o", tmp_path / "out" / "example.yaml", cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    assert "exported 5 steps to" in done.stdout
    spec = yaml.safe_load((tmp_path / "out" / "example.yaml").read_text())
    assert spec["pipelineInfo"]["name"] == "breast-cancer-diagnosis"

    done = cli(
        "export", notebook, "--target", "argo", "-o", tmp_path / "example.argo.yaml", cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    validate((tmp_path / "example.argo.yaml").read_text())
    # Nothing but the requested file is written: no build context, no compiled folder.
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "breast_cancer_diagnosis.ipynb",
        "example.argo.yaml",
        "out",
    ]


def test_a_compiled_pipeline_exports_with_the_same_image_tags(tmp_path):
    notebook = tmp_path / "breast_cancer_diagnosis.ipynb"
    shutil.copyfile(EXAMPLE, notebook)
    assert cli("compile", notebook, cwd=tmp_path).returncode == 0
    compiled = tmp_path / "breast_cancer_diagnosis_pipeline" / "pipeline.yaml"
    for source, out in ((notebook, "a.yaml"), (compiled, "b.yaml")):
        done = cli(
            "export",
            source,
            "--target",
            "kfp",
            "--registry",
            "ghcr.io/team",
            "-o",
            out,
            cwd=tmp_path,
        )
        assert done.returncode == 0, done.stderr
    first, second = (tmp_path / "a.yaml").read_text(), (tmp_path / "b.yaml").read_text()
    assert first == second
    assert "image: ghcr.io/team/nb2pipe-breast-cancer-diagnosis-train:" in first


def test_an_unknown_target_is_one_error_line(tmp_path):
    done = cli("export", EXAMPLE, "--target", "nomad", "-o", tmp_path / "x.yaml", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.strip() == (
        "error: unknown export target 'nomad' (known: airflow, airflow-kubernetes, argo, kfp)"
    )
    assert not (tmp_path / "x.yaml").exists()
