"""The registry of export targets and the content-hash image tags."""

from __future__ import annotations

import re

import pytest
from exportkit import SNAPSHOT, golden_notebook

from nb2pipe.compile.compiler import compile_notebook
from nb2pipe.errors import Nb2PipeError
from nb2pipe.exports import export_targets
from nb2pipe.exports.dockerfile import build_files
from nb2pipe.exports.images import find_engine, image_name, image_tags
from nb2pipe.plugins import Registry


def test_the_built_in_targets_are_registered():
    assert {"kfp", "argo", "airflow", "airflow-kubernetes"} <= set(export_targets.names())
    assert export_targets.get("kfp").name == "kfp"
    assert export_targets.get("argo").name == "argo"


def test_an_unknown_target_is_an_error_naming_the_known_ones():
    with pytest.raises(Nb2PipeError, match=r"unknown export target 'nomad' \(known: .*argo"):
        export_targets.get("nomad")


def test_a_new_target_is_one_register_call():
    class Echo:
        name = "echo"
        description = "the step names"

        def export(self, pipeline, images):
            return "\n".join(images)

    targets = Registry("export target")
    targets.register("echo", Echo())
    assert targets.get("echo").export(None, {"a": "x", "b": "y"}) == "a\nb"


def _tags(folder, base="python:3.11-slim", registry=""):
    notebook = golden_notebook(folder)
    pipeline = compile_notebook(notebook)
    files = build_files(pipeline, base, SNAPSHOT, out_dir=folder, notebook_path=notebook)
    return image_tags(pipeline, files, registry)


def test_images_are_tagged_by_the_hash_of_what_they_are_built_from(tmp_path):
    tags = _tags(tmp_path / "a")
    for step, ref in tags.items():
        assert re.fullmatch(rf"nb2pipe-small-{step}:[0-9a-f]{{12}}", ref)
    assert _tags(tmp_path / "b") == tags  # same notebook, same tags, wherever it is
    other_base = _tags(tmp_path / "c", base="debian:12")
    # `side` has its own image: tag, the others follow --base.
    assert {s for s in tags if other_base[s] != tags[s]} == {"make", "total", "report"}
    assert _tags(tmp_path / "d", registry="ghcr.io/team/")["make"].startswith(
        "ghcr.io/team/nb2pipe-small-make:"
    )


def test_image_names_are_valid_references():
    class P:
        name = "My Notebook (v2)"

    assert image_name(P(), "load_data") == "nb2pipe-my-notebook-v2-load-data"


def test_an_unknown_engine_is_refused():
    with pytest.raises(Nb2PipeError, match="unknown container engine 'rkt'"):
        find_engine("rkt")


def test_the_build_context_is_readable_by_all_and_loses_removed_steps(tmp_path):
    from nb2pipe.exports.images import write_files

    write_files({"requirements/a.lock": "x\n", "requirements/b.lock": "y\n"}, tmp_path)
    assert (tmp_path / "requirements" / "a.lock").stat().st_mode & 0o777 == 0o644
    write_files({"requirements/a.lock": "x\n"}, tmp_path)
    assert sorted(p.name for p in (tmp_path / "requirements").iterdir()) == ["a.lock"]
