from pathlib import Path

import pytest
from nbfactory import EXAMPLE, KALE, UNTAGGED, code, markdown, raw

from nb2pipe.compile import pipeline_file
from nb2pipe.compile.compiler import IMPLICIT_STEP, compile_notebook, pipeline_name
from nb2pipe.compile.ir import Input
from nb2pipe.compile.show import edges, layers
from nb2pipe.compile.tags import Resources
from nb2pipe.errors import CodeError, GraphError, Nb2PipeError, ParameterError, TagError


def inputs(step) -> list[tuple[str, str]]:
    return [(i.producer, i.name) for i in step.inputs]


# --- the example notebook ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def example():
    return compile_notebook(EXAMPLE)


def test_example_steps_in_order(example):
    assert [s.name for s in example.steps] == [
        "load",
        "scaled_features",
        "poly_features",
        "train",
        "evaluate",
    ]
    assert layers(example) == [
        ["load"],
        ["scaled_features", "poly_features"],
        ["train"],
        ["evaluate"],
    ]


def test_example_metadata(example):
    assert example.name == "breast_cancer_diagnosis"
    assert example.source == "breast_cancer_diagnosis.ipynb"
    assert example.kernel == "python3"
    assert example.language == "python"
    assert example.description.startswith("# Breast cancer diagnosis\n\nPredicts whether")
    assert "## Load and split" in example.description  # the markdown just before step:load
    assert "## Feature branch 1" not in example.description
    assert [c.number for c in example.imports] == [5]
    assert [c.number for c in example.functions] == [6]


def test_example_parameters(example):
    assert [(p.name, p.value, p.type) for p in example.params] == [
        ("test_size", 0.25, "float"),
        ("random_state", 42, "int"),
        ("n_estimators", 100, "int"),
        ("max_depth", 4, "int"),
        ("C", 0.1, "float"),
    ]
    assert example.param("n_estimators").comment == "trees in the random forest"


def test_example_data_flow(example):
    load, scaled, poly, train, evaluate = example.steps
    assert inputs(load) == []
    assert load.outputs == ["test_df", "train_df"]
    assert inputs(scaled) == [("load", "test_df"), ("load", "train_df")]
    assert scaled.outputs == ["X_test_scaled", "X_train_scaled", "y_test", "y_train"]
    assert inputs(poly) == [("load", "test_df"), ("load", "train_df")]
    assert poly.outputs == ["X_test_poly", "X_train_poly"]
    assert inputs(train) == [
        ("poly_features", "X_train_poly"),
        ("scaled_features", "X_train_scaled"),
        ("scaled_features", "y_train"),
    ]
    assert train.outputs == ["features_used", "model"]
    assert inputs(evaluate) == [
        ("poly_features", "X_test_poly"),
        ("scaled_features", "X_test_scaled"),
        ("scaled_features", "y_test"),
        ("train", "features_used"),
        ("train", "model"),
    ]
    assert evaluate.outputs == []
    assert [s.upstream for s in example.steps] == [
        [],
        ["load"],
        ["load"],
        ["poly_features", "scaled_features"],
        ["poly_features", "scaled_features", "train"],
    ]
    assert all(s.after == [] for s in example.steps)


def test_example_parameters_metrics_and_resources_per_step(example):
    load, scaled, poly, train, evaluate = example.steps
    assert load.params == ["random_state", "test_size"]
    assert scaled.params == poly.params == evaluate.params == []
    assert train.params == ["C", "max_depth", "n_estimators", "random_state"]
    assert evaluate.metrics == ["accuracy", "f1_macro"]
    assert [s.metrics for s in example.steps[:4]] == [[], [], [], []]
    assert poly.resources == Resources(cpu="1", memory="1Gi")
    assert train.resources == Resources(cpu="2")
    assert load.resources == Resources()
    assert all(s.cache and s.retries == 0 and s.timeout is None for s in example.steps)
    assert all(s.imports == ["numpy", "pandas", "sklearn"] for s in example.steps)


def test_example_cells_per_step(example):
    assert [[c.number for c in s.cells] for s in example.steps] == [
        [10, 11],
        [12, 13],
        [14, 15],
        [16, 17, 18],
        [19, 20],
    ]
    in_steps = {c.number for s in example.steps for c in s.cells}
    assert 8 not in in_steps  # the skip cell
    assert 3 not in in_steps  # parameters


# --- which step a name comes from -------------------------------------------------------------


def test_input_comes_from_the_nearest_earlier_step_that_assigns_it(make_notebook):
    nb = make_notebook(
        code("df = [3, 1, 2]", "step:a"),
        code("n = len(df)", "step:b"),  # reads df, does not assign it
        code("print(sorted(df), n)", "step:c"),
    )
    a, b, c = compile_notebook(nb).steps
    assert inputs(b) == [("a", "df")]
    assert inputs(c) == [("a", "df"), ("b", "n")]
    assert c.upstream == ["a", "b"]
    assert a.outputs == ["df"]
    assert b.outputs == ["n"]


def test_a_reassignment_makes_the_later_step_the_producer(make_notebook):
    nb = make_notebook(
        code("df = [3, 1, 2]", "step:a"),
        code("df = sorted(df)", "step:b"),
        code("print(df)", "step:c"),
    )
    a, b, c = compile_notebook(nb).steps
    assert inputs(b) == [("a", "df")]
    assert inputs(c) == [("b", "df")]
    assert c.upstream == ["b"]
    assert a.outputs == b.outputs == ["df"]


def test_a_name_bound_before_it_is_read_in_the_same_step_is_no_input(make_notebook):
    nb = make_notebook(code("x = 1", "step:a"), code("x = 2\nprint(x)", "step:b"))
    a, b = compile_notebook(nb).steps
    assert inputs(b) == []
    assert a.outputs == []


def test_helper_function_reading_an_upstream_name(make_notebook):
    nb = make_notebook(
        code("threshold = 0.5", "step:a"),
        code(
            "def above(v):\n    return v > threshold\n\nflags = [above(v) for v in [0.1, 0.9]]",
            "step:b",
        ),
    )
    _, b = compile_notebook(nb).steps
    assert inputs(b) == [("a", "threshold")]


def test_helper_reading_an_upstream_variable_makes_it_an_input(make_notebook):
    nb = make_notebook(
        code("def show():\n    print(df)", "functions"),
        code("df = [1]", "step:a"),
        code("show()", "step:b"),
    )
    a, b = compile_notebook(nb).steps
    assert inputs(b) == [("a", "df")]
    assert a.outputs == ["df"]


def test_after_adds_an_edge_without_data(make_notebook):
    nb = make_notebook(
        code("x = 1", "step:a"),
        code("y = 2", "step:b", "after:a"),
    )
    pipeline = compile_notebook(nb)
    a, b = pipeline.steps
    assert b.after == ["a"]
    assert b.upstream == ["a"]
    assert inputs(b) == []
    assert edges(pipeline) == [("a", "b", [])]


def test_after_is_added_to_inferred_edges(make_notebook):
    nb = make_notebook(
        code("x = 1", "step:a"),
        code("y = 2", "step:b"),
        code("print(x)", "step:c", "after:b"),
    )
    c = compile_notebook(nb).step("c")
    assert c.upstream == ["a", "b"]
    assert c.after == ["b"]
    assert inputs(c) == [("a", "x")]


def test_after_on_a_later_cell_of_the_step_counts(make_notebook):
    nb = make_notebook(
        code("x = 1", "step:a"),
        code("y = 2", "step:b"),
        code("z = 3", "after:a"),
    )
    assert compile_notebook(nb).step("b").after == ["a"]


def test_after_a_step_further_down_reorders_the_pipeline(make_notebook):
    nb = make_notebook(
        code("cleanup = True", "step:report", "prev:prepare"),
        code("data = [1]", "step:prepare"),
    )
    pipeline = compile_notebook(nb)
    assert [s.name for s in pipeline.steps] == ["prepare", "report"]
    assert layers(pipeline) == [["prepare"], ["report"]]


def test_independent_steps_share_a_layer(make_notebook):
    nb = make_notebook(
        code("a = 1", "step:one"),
        code("b = 2", "step:two"),
        code("print(a, b)", "step:three"),
    )
    assert layers(compile_notebook(nb)) == [["one", "two"], ["three"]]


def test_repeated_step_tag_merges_cells(make_notebook):
    nb = make_notebook(
        code("x = 1", "block:a"),
        code("y = x", "block:a"),
        code("print(y)", "block:b"),
    )
    a, b = compile_notebook(nb).steps
    assert [c.number for c in a.cells] == [1, 2]
    assert inputs(b) == [("a", "y")]


# --- a notebook without step tags ---------------------------------------------------------------


def test_no_step_tags_gives_one_step_named_main(make_notebook):
    nb = make_notebook(
        markdown("# Title\n\nWhat it does."),
        code("import math"),
        markdown("Some notes"),
        code("r = math.sqrt(2)\nprint(r)"),
    )
    pipeline = compile_notebook(nb)
    (step,) = pipeline.steps
    assert step.name == IMPLICIT_STEP == "main"
    assert [c.number for c in step.cells] == [2, 3, 4]
    assert pipeline.description == "# Title\n\nWhat it does."
    assert step.imports == ["math"]


def test_untagged_fixture_compiles_to_one_step():
    pipeline = compile_notebook(UNTAGGED)
    (step,) = pipeline.steps
    assert step.name == "main"
    assert [c.number for c in step.cells] == [2, 3, 4]
    assert pipeline.description == "# Untagged notebook\n\nA plain notebook without any cell tags."
    assert (step.inputs, step.outputs, step.params, step.upstream) == ([], [], [], [])
    assert step.imports == ["numpy"]
    assert pipeline.params == []


def test_only_a_parameters_cell_tagged(make_notebook):
    nb = make_notebook(code("n = 3", "parameters"), code("print(list(range(n)))"))
    (step,) = compile_notebook(nb).steps
    assert step.name == "main"
    assert step.params == ["n"]


def test_notebook_without_code_is_refused(make_notebook):
    with pytest.raises(GraphError, match="the notebook has no code to run"):
        compile_notebook(make_notebook(markdown("# Just notes")))


# --- description, skip, raw ------------------------------------------------------------------


def test_markdown_before_the_first_step_is_the_description(make_notebook):
    nb = make_notebook(
        markdown("# Churn model\n"),
        code("k = 3", "parameters"),
        markdown("  Predicts churn.  "),
        markdown(""),
        code("x = k", "step:a"),
        markdown("About a."),
    )
    pipeline = compile_notebook(nb)
    assert pipeline.description == "# Churn model\n\nPredicts churn."
    a = pipeline.step("a")
    assert [(c.number, c.kind) for c in a.cells] == [(5, "code"), (6, "markdown")]


def test_skip_and_raw_cells_are_left_out(make_notebook):
    nb = make_notebook(
        code("x = 1", "step:a"),
        code("explore(x)", "skip"),
        raw("not code at all"),
        code("y = x + 1"),
    )
    (a,) = compile_notebook(nb).steps
    assert [c.number for c in a.cells] == [1, 4]


def test_foreign_tags_travel_with_their_cell(make_notebook):
    nb = make_notebook(
        code("x = 1", "step:a", "hide-input"),
        code("1 / 0", "raises-exception"),
    )
    (a,) = compile_notebook(nb).steps
    assert [c.tags for c in a.cells] == [["hide-input"], ["raises-exception"]]


# --- parameters -------------------------------------------------------------------------------


def test_parameters_used_per_step(make_notebook):
    nb = make_notebook(
        code("n = 3\nscale = 2.0\nunused = 'x'", "parameters"),
        code("xs = list(range(n))", "step:a"),
        code("ys = [x * scale for x in xs]", "step:b"),
        code("print(ys)", "step:c"),
    )
    pipeline = compile_notebook(nb)
    assert [(s.name, s.params) for s in pipeline.steps] == [
        ("a", ["n"]),
        ("b", ["scale"]),
        ("c", []),
    ]
    assert [p.name for p in pipeline.params] == ["n", "scale", "unused"]


def test_a_parameter_read_by_a_helper_goes_to_every_step(make_notebook):
    nb = make_notebook(
        code("scale = 2.0", "parameters"),
        code("def scaled(v):\n    return v * scale", "functions"),
        code("a = scaled(1)", "step:one"),
        code("print(a)", "step:two"),
    )
    assert [s.params for s in compile_notebook(nb).steps] == [["scale"], ["scale"]]


def test_a_step_assignment_shadows_a_parameter(make_notebook):
    nb = make_notebook(
        code("n = 3", "parameters"),
        code("n = 10\nprint(n)", "step:a"),
    )
    assert compile_notebook(nb).step("a").params == []


def test_kale_pipeline_parameters(make_notebook):
    nb = make_notebook(code("lr = 0.1", "pipeline-parameters"), code("print(lr)", "block:a"))
    assert compile_notebook(nb).step("a").params == ["lr"]


# --- metrics ----------------------------------------------------------------------------------


def test_metrics_cell_assigns_and_prints(make_notebook):
    nb = make_notebook(
        code("scores = {'acc': 0.9, 'loss': 0.1}\nloss = scores['loss']", "step:evaluate"),
        code("acc = scores['acc']\nprint(loss)\nlabel = 'x'", "metrics"),
    )
    step = compile_notebook(nb).step("evaluate")
    assert step.metrics == ["acc", "label", "loss"]


def test_metrics_on_the_step_start_cell(make_notebook):
    nb = make_notebook(
        code("x = 1", "step:a"),
        code("acc = x / 2\nacc", "step:b", "metrics"),
    )
    assert compile_notebook(nb).step("b").metrics == ["acc"]


def test_metrics_may_show_an_input(make_notebook):
    nb = make_notebook(
        code("acc = 0.5", "step:a"),
        code("display(acc)", "pipeline-metrics", "block:b"),
    )
    b = compile_notebook(nb).step("b")
    assert b.metrics == ["acc"]
    assert inputs(b) == [("a", "acc")]


def test_no_metrics_cell_no_metrics(make_notebook):
    nb = make_notebook(code("acc = 1\nprint(acc)", "step:a"))
    assert compile_notebook(nb).step("a").metrics == []


# --- step settings ----------------------------------------------------------------------------


def test_step_settings_from_every_cell_of_the_step(make_notebook):
    nb = make_notebook(
        code("x = 1", "step:a", "cpu:2", "image:python:3.11-slim"),
        code("y = 2", "memory:4Gi", "limit:nvidia.com/gpu:1", "cache:off"),
        code("z = 3", "retries:2", "timeout:60", "requirements:xgboost==2.1"),
    )
    step = compile_notebook(nb).step("a")
    assert step.resources == Resources(cpu="2", memory="4Gi", gpu=1)
    assert step.image == "python:3.11-slim"
    assert (step.cache, step.retries, step.timeout) == (False, 2, 60.0)
    assert step.requirements == ["xgboost==2.1"]


# --- the Kale fixture -------------------------------------------------------------------------


def test_kale_fixture_compiles():
    pipeline = compile_notebook(KALE)
    assert [s.name for s in pipeline.steps] == ["load_data", "prepare", "train_model"]
    load_data, prepare, train_model = pipeline.steps
    assert [p.name for p in pipeline.params] == ["n_samples", "noise", "seed"]
    assert load_data.params == ["n_samples", "noise", "seed"]
    assert load_data.outputs == ["X", "y"]
    assert prepare.after == ["load_data"]
    assert inputs(prepare) == [("load_data", "X"), ("load_data", "y")]
    assert prepare.params == ["n_samples"]
    assert [c.number for c in train_model.cells] == [8, 9, 10]
    assert inputs(train_model) == [
        ("prepare", "X_test"),
        ("prepare", "X_train"),
        ("prepare", "y_test"),
        ("prepare", "y_train"),
    ]
    assert train_model.resources == Resources(memory="1Gi")
    assert train_model.metrics == ["test_mse"]
    assert [c.number for c in pipeline.imports] == [3]
    assert [c.number for c in pipeline.functions] == [4]
    assert pipeline.description.startswith("# Least-squares regression")


# --- names that are fine without a producer ----------------------------------------------------


def test_builtins_and_kernel_names_need_no_producer(make_notebook):
    nb = make_notebook(
        code("xs = [1, 2]", "step:a"),
        code("print(len(xs), sorted(xs))\ndisplay(xs)\nget_ipython()", "step:b"),
    )
    assert inputs(compile_notebook(nb).step("b")) == [("a", "xs")]


def test_star_import_disables_the_undefined_name_check(make_notebook):
    nb = make_notebook(
        code("from math import *", "imports"),
        code("r = sqrt(2) * pi", "step:a"),
    )
    (a,) = compile_notebook(nb).steps
    assert inputs(a) == []


def test_star_import_in_a_step(make_notebook):
    nb = make_notebook(
        code("x = 1", "step:a"), code("from math import *\nprint(floor(x))", "step:b")
    )
    assert inputs(compile_notebook(nb).step("b")) == [("a", "x")]


def test_names_from_imports_and_functions_cells_are_shared(make_notebook):
    nb = make_notebook(
        code("import json", "imports"),
        code("def dump(v):\n    return json.dumps(v)", "functions"),
        code("s = dump([1])", "step:a"),
    )
    assert inputs(compile_notebook(nb).step("a")) == []


# --- errors -----------------------------------------------------------------------------------


def error(make_notebook, *cells, kind=Nb2PipeError) -> Nb2PipeError:
    nb = make_notebook(*cells)
    with pytest.raises(kind) as info:
        compile_notebook(nb)
    assert info.value.file == str(nb)
    return info.value


def test_undefined_name(make_notebook):
    e = error(
        make_notebook, code("x = 1", "step:a"), code("print(x, nowhere)", "step:b"), kind=GraphError
    )
    assert e.cell == 2
    assert e.message == (
        "name 'nowhere' is used but no earlier step, import or parameter defines it"
    )


def test_undefined_name_assigned_by_a_later_step(make_notebook):
    e = error(make_notebook, code("print(y)", "step:a"), code("y = 1", "step:b"), kind=GraphError)
    assert e.cell == 1
    assert e.message.endswith("(step 'b' assigns it later)")


def test_undefined_name_assigned_only_in_a_skipped_cell(make_notebook):
    e = error(
        make_notebook,
        code("data = [1]", "skip"),
        code("print(data)", "step:a"),
        kind=GraphError,
    )
    assert e.cell == 2
    assert e.message.endswith("(only the skipped cell 1 assigns it)")


def test_undefined_name_in_a_helper(make_notebook):
    e = error(
        make_notebook,
        code("def f():\n    return missing_thing", "functions"),
        code("f()", "step:a"),
        kind=GraphError,
    )
    assert e.cell == 1
    assert "'missing_thing' is used but never defined" in e.message


def test_cycle_through_after_tags(make_notebook):
    e = error(
        make_notebook,
        code("x = 1", "step:a", "after:b"),
        code("y = 2", "step:b", "after:a"),
        kind=GraphError,
    )
    assert e.cell == 1
    assert e.message == "steps form a cycle: a → b → a"


def test_cycle_through_after_and_data(make_notebook):
    e = error(
        make_notebook,
        code("x = 1", "step:a"),
        code("y = x", "step:b"),  # b reads from a
        code("u = 5", "block:a", "prev:b"),  # back in step a, which now waits for b
        kind=GraphError,
    )
    assert e.message in ("steps form a cycle: a → b → a", "steps form a cycle: b → a → b")
    assert e.cell == 3


def test_after_itself(make_notebook):
    e = error(make_notebook, code("x = 1", "step:a", "after:a"), kind=GraphError)
    assert e.message == "step 'a' cannot run after itself"
    assert e.cell == 1


def test_unknown_after_target_suggests_a_step(make_notebook):
    e = error(
        make_notebook,
        code("x = 1", "step:load"),
        code("y = 2", "step:train"),
        code("z = 3", "after:laod"),
        kind=TagError,
    )
    assert e.cell == 3
    assert e.message == "after:laod: no step is named 'laod' (did you mean 'load'?)"


def test_unknown_after_target_lists_the_steps(make_notebook):
    e = error(make_notebook, code("x = 1", "step:a"), code("y = 2", "step:b", "after:zzz"))
    assert e.message == "after:zzz: no step is named 'zzz' (steps: a, b)"


def test_bad_tag_names_its_cell(make_notebook):
    e = error(make_notebook, markdown("# t"), code("x = 1", "stpe:load"), kind=TagError)
    assert e.cell == 2
    assert "did you mean 'step:load'" in e.message
    assert str(e) == f"{e.file}: cell 2: {e.message}"


def test_code_before_the_first_step_is_left_out_with_a_warning(make_notebook):
    # Kale ignores untagged cells before the first step; we do too, but say so.
    pipeline = compile_notebook(make_notebook(code("x = 1"), code("y = 2", "step:a")))
    assert [c.number for c in pipeline.step("a").cells] == [2]
    [warning] = pipeline.warnings
    assert warning.cell == 1
    assert warning.message.startswith("left out of the pipeline: it comes before the first")


def test_second_parameters_cell(make_notebook):
    e = error(
        make_notebook,
        code("a = 1", "parameters"),
        code("b = 2", "pipeline-parameters"),
        code("print(a, b)", "step:s"),
        kind=TagError,
    )
    assert e.cell == 2
    assert "the first is cell 1" in e.message


def test_parameters_tag_on_markdown(make_notebook):
    e = error(make_notebook, markdown("a = 1", "parameters"), kind=TagError)
    assert e.cell == 1


def test_step_settings_on_a_shared_cell(make_notebook):
    e = error(make_notebook, code("import os", "imports", "cpu:2"), code("x = 1", "step:a"))
    assert e.cell == 1
    assert "step settings" in e.message


@pytest.mark.parametrize("value", ["make_it()", "elsewhere", "[1, f()]"])
def test_parameter_that_is_no_literal(make_notebook, value):
    e = error(
        make_notebook,
        code("a = 1", "step:a"),
        code(f"p = {value}", "parameters"),
        kind=ParameterError,
    )
    assert e.cell == 2
    assert "parameter 'p' is not a constant expression" in e.message


def test_invalid_python_in_a_step(make_notebook):
    e = error(make_notebook, code("x = 1", "step:a"), code("y = (", "step:b"), kind=CodeError)
    assert e.cell == 2


def test_missing_file(tmp_path):
    with pytest.raises(Nb2PipeError) as info:
        compile_notebook(tmp_path / "nope.ipynb")
    assert str(info.value) == f"{tmp_path / 'nope.ipynb'}: no such file"


# --- names and the IR round trip --------------------------------------------------------------


@pytest.mark.parametrize(
    ("stem", "name"),
    [
        ("breast_cancer_diagnosis", "breast_cancer_diagnosis"),
        ("My Notebook-2", "my_notebook_2"),
        ("2024 results", "p_2024_results"),
        ("---", "pipeline"),
    ],
)
def test_pipeline_name(stem, name):
    assert pipeline_name(Path(f"{stem}.ipynb")) == name


@pytest.mark.parametrize("path", [EXAMPLE, KALE, UNTAGGED], ids=lambda p: p.stem)
def test_ir_round_trips_through_yaml(path):
    pipeline = compile_notebook(path)
    text = pipeline_file.dump(pipeline)
    assert pipeline_file.load(text) == pipeline
    assert pipeline_file.dump(pipeline_file.load(text)) == text


def test_ir_round_trips_tuples_sets_and_settings(make_notebook):
    nb = make_notebook(
        code("shape = (2, -3)\ntags = {'b', 'a'}\nnone = None\nraw = b'x'", "parameters"),
        code("print(shape, tags, none, raw)", "step:a", "cache:off", "gpu:1", "timeout:5"),
        code("k = 1", "step:b", "after:a"),
    )
    pipeline = compile_notebook(nb)
    loaded = pipeline_file.load(pipeline_file.dump(pipeline))
    assert loaded == pipeline
    assert loaded.param("shape").value == (2, -3)
    assert loaded.param("tags").value == {"a", "b"}
    assert loaded.step("b").after == ["a"]


def test_ir_round_trips_nested_tuples(make_notebook):
    nb = make_notebook(code("sizes = [(1, 2)]", "parameters"), code("print(sizes)", "step:a"))
    pipeline = compile_notebook(nb)
    assert pipeline_file.load(pipeline_file.dump(pipeline)).param("sizes").value == [(1, 2)]


def test_downstream(example):
    assert example.downstream("load") == ["scaled_features", "poly_features", "train", "evaluate"]
    assert example.downstream("poly_features") == ["train", "evaluate"]
    assert example.downstream("evaluate") == []


def test_input_dataclass_in_ir(example):
    assert Input("model", "train", cell=19) in example.step("evaluate").inputs
