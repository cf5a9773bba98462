"""Schema inference, each kind of skew named in one line, and a validation step stopping a run."""

from __future__ import annotations

import io
import json

import pandas as pd
import pytest
import yaml
from support.project import cli, code, error_lines, frame, write_notebook

from jupyter_mlops.data.validation import (
    DataSchemaError,
    DataValidationError,
    default_schema_path,
    infer_schema,
    save_schema,
    validate,
    validate_frame,
    validation_failures,
)
from jupyter_mlops.tracking import journal
from nb2pipe.runner import load_pipeline, run_pipeline

# Each kind of skew: how to make it from clean data, the column and words the report names.
SKEWS = {
    "missing": ("df = df.drop(columns=['x'])", "x: missing column"),
    "unexpected": ("df['extra'] = 1", "extra: unexpected column"),
    "dtype": ("df['y'] = df['y'].astype(str)", "y: wrong dtype (str, expected float64)"),
    "nulls": ("df.loc[0, 'x'] = None", "x: nulls (1 row)"),
    "range": ("df.loc[0, 'y'] = 1e6", "y: out of range (1 value above"),
    "category": (
        "df.loc[0, 'colour'] = 'purple'",
        "colour: unknown category (1 value, 0.50% of rows > 0.10% allowed: 'purple')",
    ),
    "empty": ("df = df.iloc[:0]", "empty (the frame has no rows)"),
}


def skewed(kind: str) -> pd.DataFrame:
    namespace = {"df": frame(200, seed=1)}
    exec(SKEWS[kind][0], {}, namespace)  # the same code the pipeline's steps run
    return namespace["df"]


@pytest.fixture
def schema(tmp_path):
    return save_schema(frame(200, seed=1), tmp_path / "data.schema.yaml")


def test_schema_is_inferred_into_a_reviewable_file_beside_the_notebook(tmp_path):
    notebook = tmp_path / "churn.ipynb"
    assert default_schema_path(notebook) == tmp_path / "churn.schema.yaml"
    data = frame(200, seed=1)
    path = save_schema(data, default_schema_path(notebook))
    text = path.read_text()
    assert text.startswith("# Data schema for churn: inferred by jupyter-mlops from 200 rows.")
    spec = yaml.safe_load(text)
    assert spec["strict"] is True and spec.get("coerce", False) is False
    assert list(spec["columns"]) == ["x", "y", "colour"]
    x = spec["columns"]["x"]
    assert x["dtype"] == "float64" and x.get("nullable", False) is False
    # The 0.1%-99.9% quantiles widened by their distance, rounded outwards to six digits.
    low, high = x["greater_than_or_equal_to"], x["less_than_or_equal_to"]
    q_low, q_high = data["x"].quantile(0.001), data["x"].quantile(0.999)
    assert low == pytest.approx(2 * q_low - q_high, rel=1e-5)
    assert high == pytest.approx(2 * q_high - q_low, rel=1e-5)
    assert len(repr(low).lstrip("-").replace(".", "")) <= 6
    assert x["mean_within"]["rows"] == 200 and x["mean_within"]["z"] == 5.0
    colour = spec["columns"]["colour"]["unseen_share_at_most"]
    assert colour["allowed"] == ["blue", "green", "red"] and colour["max_share"] == 0.001
    # Every choice is explained to the reviewer, in a comment above its column.
    assert "  # range: the 0.1%-99.9% quantiles widened by 1 x their distance" in text
    assert "  # categories: unseen values may be up to 0.10% of present values" in text
    assert "  # nulls: none in training, none allowed\n" in text
    assert "index" not in spec  # the row index is not part of the data's contract
    # Deterministic: the same data gives the same bytes.
    assert save_schema(data.copy(), path).read_text() == text


def bounds(schema) -> dict[str, list[dict]]:
    return {
        name: [c.statistics for c in column.checks if "min_value" in c.statistics]
        + [c.statistics for c in column.checks if "max_value" in c.statistics]
        for name, column in schema.columns.items()
    }


def test_minmax_margin_widens_ranges_and_none_drops_them():
    data = pd.DataFrame({"v": [10.0, 20.0], "signed": [-1.0, 1.0], "amount": [0.5, 10.5]})
    found = bounds(infer_schema(data, ranges="minmax", margin=0.5))
    assert found["v"] == [{"min_value": 5.0}, {"max_value": 25.0}]
    assert found["signed"] == [{"min_value": -2.0}, {"max_value": 2.0}]
    # Data without negative values keeps a lower bound of 0 at least.
    assert found["amount"] == [{"min_value": 0}, {"max_value": 15.5}]
    assert bounds(infer_schema(data, ranges=None))["v"] == []


def test_policies_for_nulls_and_unseen_categories(tmp_path):
    data = frame(1000, seed=1)
    data.loc[data.index[::20], "y"] = None  # 5% nulls in training: a few are normal
    path = save_schema(data, tmp_path / "a.schema.yaml", unseen="warn")
    assert "  # nulls: 5.00% in training, up to 12.00% allowed" in path.read_text()
    batch = frame(1000, seed=2)
    batch.loc[batch.index[::12], "y"] = None
    batch.loc[:4, "colour"] = "purple"
    report = validate_frame(batch, path)
    assert report.ok, report.summary()
    assert report.warnings == ["colour: 5 unseen value(s) (policy warn): 'purple'"]
    batch.loc[batch.index[::4], "y"] = None
    [problem] = validate_frame(batch, path).problems
    assert str(problem) == "y: nulls (250 rows, 25.00% of rows > 12.00% allowed)"
    strict = save_schema(data, tmp_path / "b.schema.yaml", unseen="error")
    [problem] = validate_frame(batch.assign(y=1.0), strict).problems
    assert str(problem) == "colour: unknown category (5 values: 'purple')"


def test_clean_data_passes_after_csv_and_json_round_trips(schema):
    data = frame(200, seed=1)
    assert validate(data, schema).ok
    from_csv = pd.read_csv(io.StringIO(data.to_csv(index=False)))
    from_json = pd.read_json(
        io.StringIO(data.to_json(orient="records", lines=True)), lines=True, precise_float=True
    )
    as_object = data.astype({"colour": object})
    for variant in (from_csv, from_json, as_object, data.astype({"colour": "category"})):
        report = validate_frame(variant, schema)
        assert report.ok, report.summary()


def test_ints_in_a_float_column_are_not_skew(schema):
    data = frame(200, seed=1)
    data["y"] = 1  # integers, inside the range
    assert validate_frame(data, schema).ok


@pytest.mark.parametrize("kind", sorted(SKEWS))
def test_each_kind_of_skew_is_named_in_one_line(schema, kind):
    with pytest.raises(DataValidationError) as info:
        validate(skewed(kind), schema)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"data does not match the schema {schema} (1 problem): ")
    assert SKEWS[kind][1] in message
    assert info.value.exit_code == 2
    [problem] = info.value.report.problems
    assert str(problem).startswith(SKEWS[kind][1])


def test_all_problems_are_collected_at_once(schema):
    df = frame(200, seed=1).drop(columns=["x"])
    df["extra"] = 1
    df.loc[3, "colour"] = "purple"
    df.loc[4, "y"] = -1.0
    report = validate_frame(df, schema)
    kinds = [(p.column, p.kind) for p in report.problems]
    assert kinds == [
        ("x", "missing column"),
        ("extra", "unexpected column"),
        ("y", "out of range"),
        ("colour", "unknown category"),
    ]
    frame_view = report.to_frame()
    assert list(frame_view["column"]) == ["x", "extra", "y", "colour"]
    assert "Data validation failed" in report._repr_html_()


def test_a_mistyped_column_reports_its_dtype_not_its_values(schema):
    df = frame(200, seed=1)
    df["x"] = "text"
    report = validate_frame(df, schema)
    assert [(p.column, p.kind) for p in report.problems] == [("x", "wrong dtype")]


def test_bad_inputs_are_one_line_errors(tmp_path, schema):
    with pytest.raises(DataSchemaError, match="cannot infer a schema from an empty frame"):
        save_schema(pd.DataFrame(), tmp_path / "x.schema.yaml")
    with pytest.raises(DataSchemaError, match="expected a pandas DataFrame, got a builtins.list"):
        validate([1, 2], schema)
    with pytest.raises(DataSchemaError, match="no schema file .*nowhere.schema.yaml"):
        validate(frame(5), tmp_path / "nowhere.schema.yaml")
    not_yaml = tmp_path / "bad.schema.yaml"
    not_yaml.write_text("columns: [unclosed\n")
    yaml_not_schema = tmp_path / "other.schema.yaml"
    yaml_not_schema.write_text("name: a pipeline, not a schema\n")
    twice = tmp_path / "twice.schema.yaml"
    twice.write_text("schema_type: dataframe\ncolumns:\n  x: {dtype: int64}\n  x: {dtype: str}\n")
    for path in (not_yaml, yaml_not_schema, twice):
        with pytest.raises(DataSchemaError) as info:
            validate(frame(5), path)
        assert str(info.value).startswith(f"{path} is not a pandera schema file")
        assert "\n" not in str(info.value)
    assert str(info.value).endswith("line 4: the key 'x' is given twice")
    with pytest.raises(DataSchemaError, match="no notebook to put the schema beside"):
        default_schema_path()


def test_inside_a_step_the_report_lands_in_the_step_folder(schema, tmp_path, monkeypatch):
    run_dir = tmp_path / "run"
    (run_dir / "check").mkdir(parents=True)
    monkeypatch.setenv("NB2PIPE_RUN_DIR", str(run_dir))
    monkeypatch.setenv("NB2PIPE_STEP", "check")
    with pytest.raises(DataValidationError):
        validate(skewed("nulls"), schema)
    data = json.loads((run_dir / "check" / "validation.json").read_text())
    assert data["ok"] is False and data["problems"][0]["kind"] == "nulls"
    recorded = journal.read(run_dir / "check")
    assert recorded.tags == {"nb2pipe.validation": "failed"}
    assert [m.key for m in recorded.metrics] == ["validation_problems"]
    assert validation_failures(run_dir)["check"].problems[0].column == "x"


def test_cli_validates_and_infers(tmp_path):
    data = tmp_path / "batch.csv"
    frame(100, seed=1).to_csv(data, index=False)
    schema = tmp_path / "batch.schema.yaml"
    done = cli("validate", data, "--schema", schema, "--infer", cwd=tmp_path, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"wrote {schema}: the schema of 100 rows, 3 columns")
    done = cli("validate", data, "--schema", schema, cwd=tmp_path, timeout=120)
    assert done.returncode == 0 and done.stdout.startswith("ok: ")
    bad = frame(100, seed=1)
    bad.loc[0, "colour"] = "purple"
    bad.drop(columns=["y"]).to_csv(tmp_path / "bad.csv", index=False)
    done = cli("validate", tmp_path / "bad.csv", "--schema", schema, cwd=tmp_path, timeout=120)
    assert done.returncode == 2
    [line] = error_lines(done.stderr)
    assert line.startswith(f"error: {tmp_path / 'bad.csv'}: data does not match the schema")
    assert "y: missing column" in line and "colour: unknown category" in line
    assert "Traceback" not in done.stderr
    for args, expected in (
        (("validate", tmp_path / "none.csv", "--schema", schema), "no such data file"),
        (("validate", data, "--schema", tmp_path / "none.yaml"), "no schema file"),
    ):
        done = cli(*args, cwd=tmp_path, timeout=120)
        assert done.returncode == 2 and expected in error_lines(done.stderr)[0]


# --- in a real pipeline run ------------------------------------------------------------------


def validation_notebook(folder):
    """load ──► check_<kind> ──► after_<kind>, for clean data and for each kind of skew."""
    cells = [
        code("import pandas as pd\nfrom jupyter_mlops.data.validation import validate", "imports"),
        code("base = pd.read_csv('data.csv')", "step:load"),
    ]
    for kind, (make, _) in {"clean": ("pass", ""), **SKEWS}.items():
        cells.append(
            code(
                f"df = base.copy()\n{make}\nvalidate(df, 'data.schema.yaml')\nchecked_{kind} = df",
                f"step:check_{kind}",
            )
        )
        cells.append(code(f"rows_{kind} = len(checked_{kind})", f"step:after_{kind}"))
    return write_notebook(folder / "validated.ipynb", *cells)


@pytest.mark.slow
def test_each_kind_of_skew_stops_a_real_pipeline_run(tmp_path, tracking_uri):
    from jupyter_mlops.tracking.observer import MlflowTracker

    frame(200, seed=1).to_csv(tmp_path / "data.csv", index=False)
    save_schema(pd.read_csv(tmp_path / "data.csv"), tmp_path / "data.schema.yaml")
    notebook = validation_notebook(tmp_path)
    tracker = MlflowTracker(tracking_uri, "validation")
    result = run_pipeline(
        *load_pipeline(notebook),
        workspace=tmp_path / ".nb2pipe",
        max_parallel=2,
        observers=[tracker],
    )
    assert result.status == "failed"
    status = {name: step.status for name, step in result.steps.items()}
    assert status["check_clean"] == status["after_clean"] == "done"
    for kind in SKEWS:
        assert (status[f"check_{kind}"], status[f"after_{kind}"]) == ("failed", "skipped")
        error = result.steps[f"check_{kind}"].error
        assert error["ename"] == "DataValidationError"
        assert SKEWS[kind][1] in error["message"]
    # Recognisably failed by validation: the report of each stopped step, and the clean pass.
    failures = validation_failures(result)
    assert sorted(failures) == sorted(f"check_{kind}" for kind in SKEWS)
    assert failures["check_missing"].problems[0].column == "x"
    clean = json.loads((result.run_dir / "check_clean" / "validation.json").read_text())
    assert clean["ok"] is True
    assert journal.read(result.run_dir / "check_range").tags["nb2pipe.validation"] == "failed"
    assert "DataValidationError: data does not match the schema" in str(result.failure())
    # ... and in MLflow: the step's run says so, with the report as an artifact.
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri)
    [step_run] = client.search_runs(
        [client.get_experiment_by_name("validation").experiment_id],
        "tags.`nb2pipe.step` = 'check_nulls'",
    )
    assert step_run.info.status == "FAILED"
    assert step_run.data.tags["nb2pipe.validation"] == "failed"
    assert "x: nulls (1 row)" in step_run.data.tags["nb2pipe.error"]
    assert step_run.data.metrics["validation_problems"] == 1.0
    files = [a.path for a in client.list_artifacts(step_run.info.run_id, "validation")]
    assert files == ["validation/validation.json"]
