import json
import os
from pathlib import Path

import pytest
from nbfactory import EXAMPLE, KALE, UNTAGGED, code, markdown, write_notebook

from nb2pipe.compile import pipeline_file
from nb2pipe.compile.build import RUN_DIR_PARAM, render, step_notebook, write_compiled
from nb2pipe.compile.compiler import compile_notebook
from nb2pipe.errors import Nb2PipeError


@pytest.fixture(scope="module")
def example():
    return compile_notebook(EXAMPLE)


def cells_by_id(nb: dict) -> dict[str, dict]:
    return {c["id"]: c for c in nb["cells"]}


def source(cell: dict) -> str:
    return "".join(cell["source"])


# --- one step notebook ------------------------------------------------------------------------


def test_step_notebook_reads_top_to_bottom(example):
    nb = step_notebook(example, example.step("train"))
    assert [c["id"] for c in nb["cells"]] == [
        "train-header",
        "parameters",
        "imports-5",
        "functions-6",
        "load-inputs",
        "cell-16",
        "cell-17",
        "cell-18",
        "save-outputs",
    ]
    assert [c["cell_type"] for c in nb["cells"]].count("markdown") == 2  # header, cell 18
    assert nb["nbformat"] == 4
    assert nb["metadata"]["kernelspec"]["name"] == "python3"


def test_header_summarises_the_step(example):
    header = source(step_notebook(example, example.step("evaluate"))["cells"][0])
    assert header.startswith("# Step `evaluate` of pipeline `breast_cancer_diagnosis`\n")
    assert "from `breast_cancer_diagnosis.ipynb`" in header
    assert "`model (from train)`" in header
    assert "- outputs: none" in header
    assert "- parameters: none" in header
    assert "- metrics: `accuracy`, `f1_macro`" in header


def test_parameters_cell_holds_the_parameters_the_step_uses(example):
    cell = cells_by_id(step_notebook(example, example.step("load")))["parameters"]
    assert cell["metadata"]["tags"] == ["parameters"]
    text = source(cell)
    assert "random_state = 42  # seed for the split" in text
    assert "test_size = 0.25  # fraction of rows held out" in text
    assert "n_estimators" not in text
    assert text.endswith(f'{RUN_DIR_PARAM} = "."')


def test_load_cell_reads_each_input_from_its_producer(example):
    text = source(cells_by_id(step_notebook(example, example.step("train")))["load-inputs"])
    assert "from nb2pipe import artifacts as nb2pipe_artifacts" in text
    assert (
        'X_train_poly = nb2pipe_artifacts.load(nb2pipe_run_dir, "poly_features", "X_train_poly")'
        in text
    )
    assert 'y_train = nb2pipe_artifacts.load(nb2pipe_run_dir, "scaled_features", "y_train")' in text


def test_save_cell_writes_outputs_and_metrics(example):
    train = source(cells_by_id(step_notebook(example, example.step("train")))["save-outputs"])
    assert train.splitlines()[1:] == [
        "nb2pipe_artifacts.save(",
        '    nb2pipe_run_dir, "train",',
        "    features_used=features_used,",
        "    model=model,",
        ")",
    ]
    evaluate = source(cells_by_id(step_notebook(example, example.step("evaluate")))["save-outputs"])
    assert evaluate.splitlines()[1:] == [
        'nb2pipe_artifacts.save(nb2pipe_run_dir, "evaluate")',
        'nb2pipe_artifacts.save_metrics(nb2pipe_run_dir, "evaluate", accuracy=accuracy, '
        "f1_macro=f1_macro)",
    ]


def test_user_code_is_copied_verbatim(example):
    original = json.loads(EXAMPLE.read_text(encoding="utf-8"))["cells"]
    for step in example.steps:
        nb = step_notebook(example, step)
        for cell in step.cells:
            copied = cells_by_id(nb)[f"cell-{cell.number}"]
            assert source(copied) == "".join(original[cell.number - 1]["source"])
            assert copied["metadata"]["nb2pipe"] == {"cell": cell.number}
        shared = cells_by_id(nb)["functions-6"]
        assert source(shared) == "".join(original[5]["source"])


def test_outputs_are_cleared_and_foreign_tags_kept(make_notebook):
    output = {"name": "stdout", "output_type": "stream", "text": ["1\n"]}
    nb_path = make_notebook(code("x = 1\nprint(x)", "step:a", "hide-input", outputs=[output]))
    pipeline = compile_notebook(nb_path)
    cell = cells_by_id(step_notebook(pipeline, pipeline.step("a")))["cell-1"]
    assert cell["outputs"] == []
    assert cell["execution_count"] is None
    assert cell["metadata"]["tags"] == ["hide-input"]


def test_step_notebooks_are_valid_nbformat_as_nbformat_writes_them(tmp_path):
    import nbformat

    for path in (EXAMPLE, KALE, UNTAGGED):
        pipeline = compile_notebook(path)
        for rel, text in render(pipeline, tmp_path).items():
            if not rel.endswith(".ipynb"):
                continue
            nb = nbformat.reads(text, as_version=4)
            nbformat.validate(nb)
            nbformat.write(nb, tmp_path / "again.ipynb")
            assert (tmp_path / "again.ipynb").read_text(encoding="utf-8") == text


# --- rendering and writing --------------------------------------------------------------------


def test_render_writes_nothing_and_names_every_file(tmp_path, example):
    files = render(example, tmp_path / "out", EXAMPLE)
    assert sorted(files) == [
        "pipeline.yaml",
        "steps/evaluate.ipynb",
        "steps/load.ipynb",
        "steps/poly_features.ipynb",
        "steps/scaled_features.ipynb",
        "steps/train.ipynb",
    ]
    assert not (tmp_path / "out").exists()


def test_source_is_relative_to_the_output_dir(tmp_path):
    nb = tmp_path / "project" / "notebooks" / "churn.ipynb"
    nb.parent.mkdir(parents=True)
    nb.write_bytes(UNTAGGED.read_bytes())
    pipeline = compile_notebook(nb)
    text = render(pipeline, tmp_path / "project" / "build" / "churn", nb)["pipeline.yaml"]
    assert "source: ../../notebooks/churn.ipynb\n" in text
    assert pipeline_file.load(text).source == "../../notebooks/churn.ipynb"


def test_pipeline_yaml_is_readable(example, tmp_path):
    text = render(example, tmp_path, EXAMPLE)["pipeline.yaml"]
    assert text.startswith("# Generated by nb2pipe")
    assert "format: 1\nname: breast_cancer_diagnosis\n" in text
    assert "source: |-\n" in text  # code as literal blocks
    assert "\n    from sklearn.datasets import load_breast_cancer\n" in text


def test_write_compiled_writes_every_file(tmp_path, example):
    out = tmp_path / "out"
    written = write_compiled(example, out, EXAMPLE)
    assert sorted(p.relative_to(out).as_posix() for p in written) == sorted(
        render(example, out, EXAMPLE)
    )
    assert all(p.is_file() for p in written)
    assert not list(out.rglob("*.tmp"))


def test_write_compiled_leaves_unchanged_files_alone(tmp_path, example):
    out = tmp_path / "out"
    write_compiled(example, out, EXAMPLE)
    before = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in out.rglob("*") if p.is_file()}
    for p in before:
        os.utime(p, ns=(1, 1))
    write_compiled(compile_notebook(EXAMPLE), out, EXAMPLE)
    after = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert after == {p: b for p, (b, _) in before.items()}
    assert all(p.stat().st_mtime_ns == 1 for p in after)  # not rewritten


def test_write_compiled_removes_notebooks_of_removed_steps(make_notebook, tmp_path):
    out = tmp_path / "out"
    two = make_notebook(code("x = 1", "step:a"), code("print(x)", "step:b"), name="nb.ipynb")
    write_compiled(compile_notebook(two), out, two)
    (out / "steps" / "notes.txt").write_text("mine")
    one = make_notebook(code("x = 1", "step:a"), code("print(x)"), name="nb.ipynb")
    write_compiled(compile_notebook(one), out, one)
    assert sorted(p.name for p in (out / "steps").iterdir()) == ["a.ipynb", "notes.txt"]


@pytest.mark.parametrize("step", ["a", "analysis"])
def test_compiling_never_touches_the_source_notebook(tmp_path, step):
    source = tmp_path / "steps" / "analysis.ipynb"
    write_notebook(source, code("x = 1", f"step:{step}"))
    before = source.read_bytes()
    with pytest.raises(Nb2PipeError, match="holds the source notebook"):
        write_compiled(compile_notebook(source), tmp_path, source)
    assert source.exists() and source.read_bytes() == before


def test_markdown_cells_of_a_step_are_kept(make_notebook):
    nb_path = make_notebook(code("x = 1", "step:a"), markdown("## Why x is one"))
    pipeline = compile_notebook(nb_path)
    cell = cells_by_id(step_notebook(pipeline, pipeline.step("a")))["cell-2"]
    assert cell["cell_type"] == "markdown"
    assert source(cell) == "## Why x is one"


# --- the compiled example runs under plain papermill -------------------------------------------


def _run(nb: Path, out: Path, cwd: Path, parameters: dict | None = None) -> dict:
    import papermill

    return papermill.execute_notebook(
        str(nb),
        str(out),
        parameters=parameters or {},
        cwd=str(cwd),
        kernel_name="python3",
        progress_bar=False,
    )


def _original_metrics(tmp_path: Path) -> dict:
    """Run the source notebook top to bottom and read the metrics its last cell prints."""
    nb = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    probe = (
        'import json\nprint("METRICS", json.dumps({"accuracy": accuracy, "f1_macro": f1_macro}))'
    )
    nb["cells"].append({**code(probe), "id": "metrics-probe"})
    copy = tmp_path / "original.ipynb"
    copy.write_text(json.dumps(nb), encoding="utf-8")
    executed = _run(copy, tmp_path / "original.out.ipynb", tmp_path)
    text = "".join(
        "".join(o.get("text", ""))
        for o in executed["cells"][-1]["outputs"]
        if o.get("name") == "stdout"
    )
    return json.loads(text.split("METRICS", 1)[1])


@pytest.mark.slow
def test_compiled_example_runs_step_by_step_with_papermill(tmp_path):
    from nb2pipe.artifacts import read_manifest

    out = tmp_path / "wine_pipeline"
    write_compiled(compile_notebook(EXAMPLE), out, EXAMPLE)
    pipeline = pipeline_file.load((out / "pipeline.yaml").read_text(encoding="utf-8"))
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    for step in pipeline.steps:  # upstream first
        for item in step.inputs:  # its inputs exist before it runs
            assert item.name in read_manifest(run_dir, item.producer)["artifacts"]
        _run(
            out / "steps" / f"{step.name}.ipynb",
            run_dir / f"{step.name}.ipynb",
            out / "steps",
            {RUN_DIR_PARAM: str(run_dir)},
        )
        manifest = read_manifest(run_dir, step.name)
        assert sorted(manifest["artifacts"]) == step.outputs
    metrics = read_manifest(run_dir, "evaluate")["metrics"]
    assert set(metrics) == {"accuracy", "f1_macro"}
    assert metrics["accuracy"] > 0.9
    assert metrics == _original_metrics(tmp_path)
