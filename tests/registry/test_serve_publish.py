"""The served model computes what the notebook computed, for real.

Notebooks whose features are made by `serve` cells (tests/support/features.py: ratios, one-hot columns
with fixed categories, a mean of the training rows, a fitted scaler, a helper, a parameter) are
run by `nb2pipe run`, published by `nb2pipe publish` (the cells packaged with the model and
proved equal first) and served by `nb2pipe serve`: the served predictions on the raw held-out
rows equal the notebook's own, bit for bit. What cannot be served is refused, in one line.
"""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from support import features as featurekit
from support.notebooks import code
from support.project import cli, error_lines

from jupyter_mlops.serving.server import start_server
from nb2pipe.runner.workspaces import open_workspace

pytestmark = pytest.mark.slow


def latest_run(notebook: Path):
    name = notebook.stem
    return open_workspace(None, notebook).all_runs(name)[0]


def run_and_publish(folder: Path, notebook: Path, name: str, uri: str):
    done = cli("run", notebook.name, cwd=folder)
    assert done.returncode == 0, done.stderr
    return cli("publish", notebook.name, "--name", name, cwd=folder, MLFLOW_TRACKING_URI=uri)


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """The three notebooks, each run and published (alias challenger) into one store."""
    folder = tmp_path_factory.mktemp("serve-project")
    uri = f"sqlite:///{folder / 'mlflow.db'}"
    for name in featurekit.NAMES:
        notebook = getattr(featurekit, name)(folder)
        done = run_and_publish(folder, notebook, name, uri)
        assert done.returncode == 0, done.stderr
        assert f"published {name} version 1 (alias challenger)" in done.stdout
    return folder, uri


@pytest.fixture(scope="module")
def servers(project):
    folder, uri = project
    running = {}
    try:
        for name in featurekit.NAMES:
            log = folder / f"{name}-predictions.jsonl"
            running[name] = start_server(f"{name}@challenger", log=log, tracking_uri=uri)
        yield running
    finally:
        for server in running.values():
            server.stop()


def post(url: str, body: bytes) -> tuple[int, dict]:
    request = urllib.request.Request(
        url + "/invocations", data=body, headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


@pytest.mark.parametrize("name", featurekit.NAMES)
def test_served_predictions_on_raw_rows_equal_the_notebooks_own_bit_for_bit(project, servers, name):
    import numpy as np

    folder, _ = project
    rows, expected = featurekit.held_out(latest_run(folder / f"{name}.ipynb").path, name)
    status, answer = post(servers[name].url, featurekit.request(rows))
    assert status == 200, answer
    served = np.asarray(answer["predictions"])
    assert served.shape == np.asarray(expected).shape
    assert served.dtype.kind == np.asarray(expected).dtype.kind
    assert np.array_equal(served, expected)  # exact: the same doubles, not close ones
    # One row at a time, too: nothing in the cells depends on the other rows of a request.
    status, single = post(servers[name].url, featurekit.request(rows.iloc[3:4]))
    assert status == 200 and single["predictions"] == answer["predictions"][3:4]


def test_the_version_is_documented_with_its_serve_cells_and_the_proof(project):
    from mlflow.tracking import MlflowClient

    _, uri = project
    version = MlflowClient(uri, uri).get_model_version("houses", "1")
    card = version.description
    serving = card[card.index("## Serving") : card.index("## Lineage")]
    assert "a request's rows are bound to `test_raw`" in serving
    assert "the model predicts on `X_test`" in serving
    assert "`area_scaler` (StandardScaler), `encoder` (OneHotEncoder)" in serving
    assert "# serve cell 7\nX_test = make_features(test_raw)" in serving
    assert "def make_features(frame):" in serving
    assert (
        "Proved when published: equal, bit for bit, on 400 rows of 'test_raw' the serve cells "
        "ran on in the notebook: 'X_test' (7 columns) and the model's predictions"
    ) in serving
    assert version.tags["serve.input"] == "test_raw"
    assert version.tags["model.flavor"] == "pyfunc"
    assert version.tags["model.class"] == "sklearn.linear_model._ridge.Ridge"


def test_serve_cells_changed_since_the_run_are_a_warning_naming_the_run(project):
    """Publishing packages the cells the run ran (its proof checks those): a notebook whose
    serve cells changed since says so, in one line, rather than publish the old ones silently."""
    folder, uri = project
    notebook = folder / "houses.ipynb"
    original = notebook.read_text()
    document = json.loads(original)
    [cell] = [c for c in document["cells"] if "serve" in c["metadata"].get("tags", [])]
    cell["source"] = "".join(cell["source"]) + "\nX_test = X_test.clip(lower=-50)"
    notebook.write_text(json.dumps(document))
    try:
        done = cli("publish", notebook.name, "--name", "houses-stale", cwd=folder,
                   MLFLOW_TRACKING_URI=uri)  # fmt: skip
    finally:
        notebook.write_text(original)
    assert done.returncode == 0, done.stderr
    run = latest_run(notebook)
    assert [x for x in done.stderr.splitlines() if x.startswith(("warning:", "error:"))] == [
        f"warning: {notebook.name}: the serve cells 7 changed since run {run.id}: the "
        "run's are published; nb2pipe run the notebook again to publish its own"
    ]
    assert "published houses-stale version 1 (alias challenger)" in done.stdout


def test_serve_cells_tagged_since_the_run_are_named(tmp_path):
    import dataclasses
    from types import SimpleNamespace

    from jupyter_mlops.registry.publish_run import serve_cells_since
    from nb2pipe.compile import pipeline_file
    from nb2pipe.compile.compiler import compile_notebook

    now = compile_notebook(featurekit.wine(tmp_path))
    run = SimpleNamespace(id="r1", path=tmp_path / "run")
    run.path.mkdir()
    (run.path / "pipeline.yaml").write_text(
        pipeline_file.dump(dataclasses.replace(now, serve=None))
    )
    assert serve_cells_since(now, run) == (
        "run r1 ran no serve cells, the notebook has serve cells 6, 7 now: the run's are "
        "published; nb2pipe run the notebook again to publish its own"
    )
    (run.path / "pipeline.yaml").write_text(pipeline_file.dump(now))
    assert serve_cells_since(now, run) is None


def test_the_served_model_loads_where_neither_jupyter_mlops_nor_nb2pipe_is_installed(
    project, tmp_path
):
    """Any MLflow runtime serves it: its code is one file that imports neither package."""
    folder, uri = project
    rows, expected = featurekit.held_out(latest_run(folder / "wine.ipynb").path, "wine")
    rows.to_parquet(tmp_path / "rows.parquet")
    script = (
        "import sys, json\n"
        "sys.modules['jupyter_mlops'] = None\n"  # `import jupyter_mlops` now fails
        "sys.modules['nb2pipe'] = None\n"
        "import mlflow.pyfunc, pandas as pd\n"
        f"mlflow.set_tracking_uri({uri!r})\n"
        "model = mlflow.pyfunc.load_model('models:/wine@challenger')\n"
        f"rows = pd.read_parquet({str(tmp_path / 'rows.parquet')!r})\n"
        "print(json.dumps(model.predict(rows).tolist()))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=240, cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1]) == expected.tolist()


def test_bad_requests_are_one_line_client_errors(servers):
    url = servers["wine"].url
    rows = featurekit.wine_rows(3)
    status, answer = post(url, featurekit.request(rows.drop(columns=["sugar"])))
    assert status == 400
    assert answer["message"] == (
        "the input does not fit the model's signature: Model is missing inputs ['sugar']."
    )
    wrong = rows.astype(object)
    wrong.loc[1, "alcohol"] = "strong"
    status, answer = post(url, featurekit.request(wrong))
    assert status == 400 and "alcohol" in answer["message"]
    # A request the serve cells cannot take: the scaler refuses an infinite sugar content.
    data = json.loads(featurekit.request(rows))
    data["dataframe_split"]["data"][0][1] = float("inf")
    status, answer = post(url, json.dumps(data).encode())
    assert status == 400, answer
    assert answer["message"].startswith(
        "serve cell 7 of wine.ipynb: failed on this request: ValueError: Input X contains infinity"
    )
    assert "\n" not in answer["message"]
    # A null passes the signature and the cells (the scaler keeps NaN); the model refuses it.
    data["dataframe_split"]["data"][0][1] = None
    status, answer = post(url, json.dumps(data).encode())
    assert status == 400, answer
    assert answer["message"].startswith(
        "serve cell 7 of wine.ipynb: the model refused what it made for this request: "
        "ValueError: Input X contains NaN"
    )


def test_mlflow_models_serve_runs_the_serve_cells_too(project, tmp_path):
    """MLflow's own scoring server: the same predictions, and a failing cell is its 400."""
    import os
    import time

    import numpy as np

    from jupyter_mlops.serving.server import free_port

    folder, uri = project
    rows, expected = featurekit.held_out(latest_run(folder / "wine.ipynb").path, "wine")
    port = free_port()
    bin_dir = Path(sys.executable).parent
    env = {**os.environ, "MLFLOW_TRACKING_URI": uri, "PATH": f"{bin_dir}:{os.environ['PATH']}"}
    output = open(tmp_path / "mlflow-serve.txt", "wb")  # noqa: SIM115
    process = subprocess.Popen(
        [bin_dir / "mlflow", "models", "serve", "-m", "models:/wine@challenger", "--port",
         str(port), "--env-manager", "local", "--workers", "1"],
        env=env, stdout=output, stderr=subprocess.STDOUT, cwd=tmp_path,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            assert process.poll() is None, (tmp_path / "mlflow-serve.txt").read_text()
            try:
                with urllib.request.urlopen(url + "/ping", timeout=2):
                    break
            except OSError:
                time.sleep(0.5)
        status, answer = post(url, featurekit.request(rows))
        assert status == 200, answer
        assert np.array_equal(np.asarray(answer["predictions"]), expected)
        data = json.loads(featurekit.request(rows.head(2)))
        data["dataframe_split"]["data"][0][1] = float("inf")
        status, answer = post(url, json.dumps(data).encode())
        assert status == 400, answer  # MLflow's message quotes the data, then ours
        assert "serve cell 7 of wine.ipynb: failed on this request: ValueError" in answer["message"]
    finally:
        process.terminate()
        process.wait(30)
        output.close()


def test_a_model_without_serve_cells_is_published_and_served_as_before(tmp_path, monkeypatch):
    from mlflow.tracking import MlflowClient
    from support.serving import MODEL, publish_champion

    uri = publish_champion(tmp_path)
    version = MlflowClient(uri, uri).get_model_version(MODEL, "1")
    assert version.tags["model.flavor"] == "sklearn"
    assert not [k for k in version.tags if k.startswith("serve.")]
    assert "## Serving" not in version.description


def test_a_cell_computing_across_rows_that_check_misses_is_refused_at_publish(tmp_path):
    """`1 / len(X)` depends on how many rows a request has: the rules cannot see it, the proof
    (one row alone) does; nothing is registered."""
    from mlflow.tracking import MlflowClient

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    notebook = featurekit.wine(
        tmp_path, encoding=featurekit.WINE_ENCODING + "\nX['share'] = 1.0 / len(X)"
    )
    assert cli("check", notebook.name, cwd=tmp_path).returncode == 0
    done = run_and_publish(tmp_path, notebook, "wine-share", uri)
    assert done.returncode == 2, done.stdout + done.stderr
    [line] = error_lines(done.stderr)
    assert line == (
        "error: served, 'X' differs from the notebook's (the first row alone): row 0 (index "
        "0 of 'raw'), column 'share': served 1.0, notebook 0.0016666666666666668"
    )
    assert "Traceback" not in done.stderr
    assert MlflowClient(uri, uri).search_registered_models() == []


def test_a_mean_in_a_serve_cell_is_refused_at_check_naming_the_cell(tmp_path):
    notebook = featurekit.wine(
        tmp_path,
        features=featurekit.WINE_FEATURES.replace("- alcohol_mean", "- X['alcohol'].mean()"),
    )
    done = cli("check", notebook.name, cwd=tmp_path)
    assert done.returncode == 2
    assert error_lines(done.stderr) == [
        "error: wine.ipynb: cell 6: `X['alcohol'].mean()` computes over the rows at hand: served, "
        "it would use the request's rows instead of the training rows; compute it in a training "
        "step before the serve cells (e.g. `x_mean = train.x.mean()`) and read that value here"
    ]


def test_publish_model_in_a_kernel_packages_the_serve_cells_it_ran(tmp_path):
    """Interactively: the notebook ran top to bottom in a kernel; `publish_model` there takes
    the serve cells from the notebook and their values from the kernel."""
    import papermill
    from mlflow.tracking import MlflowClient

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    notebook = featurekit.wine(tmp_path)
    document = json.loads(notebook.read_text())
    document["cells"].append(
        code(
            "import jupyter_mlops\n"
            "published = jupyter_mlops.publish_model(model, 'wine-kernel', notebook='wine.ipynb')\n"
            "print(published.version)"
        )
    )
    (tmp_path / "run.ipynb").write_text(json.dumps(document))
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MLFLOW_TRACKING_URI", uri)
        mp.setenv("MLFLOW_EXPERIMENT_NAME", "kernel")
        papermill.execute_notebook(
            str(tmp_path / "run.ipynb"), str(tmp_path / "out.ipynb"), cwd=str(tmp_path),
            progress_bar=False, kernel_name="python3",
        )  # fmt: skip
    version = MlflowClient(uri, uri).get_model_version("wine-kernel", "1")
    assert version.tags["serve.input"] == "raw"
    assert version.tags["serve.proof"].startswith("equal, bit for bit, on 600 rows of 'raw'")


# --- nb2pipe score: the same packaged model, chunk by chunk --------------------------------------


@pytest.mark.parametrize("fmt", ["csv", "parquet", "jsonl"])
def test_score_streams_a_file_through_the_served_model(project, servers, tmp_path, fmt):
    import numpy as np
    import pandas as pd

    folder, uri = project
    rows, expected = featurekit.held_out(latest_run(folder / "houses.ipynb").path, "houses")
    data = tmp_path / f"houses.{fmt}"
    if fmt == "csv":
        rows.to_csv(data, index=False)  # floats in shortest repr: they read back exactly
    elif fmt == "parquet":
        rows.to_parquet(data, index=False)
    else:
        table = json.loads(featurekit.request(rows))["dataframe_split"]
        records = [dict(zip(table["columns"], row, strict=True)) for row in table["data"]]
        data.write_text("".join(json.dumps(r) + "\n" for r in records))
    out = tmp_path / f"scored.{fmt}"
    done = cli(
        "score", "houses@challenger", data, "-o", out, "--chunk-rows", "64",
        cwd=tmp_path, MLFLOW_TRACKING_URI=uri,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert f"scored 400 rows of {data} with houses version 1 (alias challenger)" in done.stdout
    assert "(7 chunks," in done.stdout
    scored = {
        "csv": pd.read_csv,
        "parquet": pd.read_parquet,
        "jsonl": lambda p: pd.read_json(p, lines=True, precise_float=True),
    }[fmt](out)
    assert list(scored.columns) == [*rows.columns, "prediction"]
    assert np.array_equal(scored["prediction"].to_numpy(), expected)  # the notebook's, exactly
    sample = rows.iloc[::37]
    status, answer = post(servers["houses"].url, featurekit.request(sample))
    assert status == 200
    assert answer["predictions"] == scored["prediction"].iloc[::37].tolist()  # = served
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary left


@pytest.fixture(scope="module")
def houses_model(project):
    """The published houses model, loaded in this process as `nb2pipe score` loads it."""
    from jupyter_mlops.serving.models import load

    _, uri = project
    return load("houses@challenger", uri).pyfunc


@pytest.mark.parametrize(
    ("content", "name", "message"),
    [
        (None, "missing.csv", "DATA {data}: no such file"),
        ("x", "data.txt", "DATA {data}: use a .csv, .parquet or .jsonl file"),
        ("area,rooms,age,district\n", "data.csv", "DATA {data}: no rows to score"),
        ("area,rooms,age,district\n1.0,2,3.0\n", "data.csv", "DATA {data}: cannot read it: CSV"),
        ("area,rooms,age,district\nbig,2,3.0,north\n", "data.csv", "DATA {data}: cannot read it"),
        ("area,age,district\n1.0,3.0,north\n", "data.csv", "DATA {data}: rows 1-1: "),
        ('{"area": 1.0}\n[1, 2]\n', "data.jsonl", "DATA {data}: cannot read it"),
    ],
)
def test_score_bad_inputs_are_one_line_and_write_nothing(
    houses_model, tmp_path, content, name, message
):
    from jupyter_mlops.serving.batch import ScoringError, score_file

    data = tmp_path / name
    if content is not None:
        data.write_text(content)
    out = tmp_path / "scored.csv"
    with pytest.raises(ScoringError) as caught:
        score_file(houses_model, data, out)
    assert str(caught.value).startswith(message.format(data=data)), caught.value
    assert "\n" not in str(caught.value)
    assert not out.exists() and not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_score_refuses_in_one_line_on_the_command_line(project, tmp_path):
    _, uri = project
    data = tmp_path / "houses.csv"
    data.write_text("area,rooms,age,district\n1.0,2,3.0\n")
    for args in ((data, "-o", data), (data, "-o", tmp_path / "out.xlsx"), (data, "-o", "x.csv")):
        done = cli("score", "houses@challenger", *args, cwd=tmp_path, MLFLOW_TRACKING_URI=uri)
        assert done.returncode == 2, done.stdout
        [line] = error_lines(done.stderr)
        assert "Traceback" not in done.stderr
        assert line.startswith(
            (
                f"error: OUT {data} is DATA",
                f"error: OUT {tmp_path / 'out.xlsx'}: use a .csv",
                f"error: DATA {data}: cannot read it: CSV parse error",
            )
        ), line
    assert not (tmp_path / "x.csv").exists()


# --- skew: the features computed while serving, against the training features -------------------


def test_the_log_keeps_raw_inputs_and_sampled_features_and_watch_skew_names_what_diverged(
    project, servers, tmp_path
):
    from support.project import marker_notebook, runs_recorded

    from jupyter_mlops.data.prediction_log import logged_features, logged_inputs, read_log

    folder, uri = project
    server = servers["wine"]
    start = len(read_log(server.log))
    log = tmp_path / "wine.jsonl"

    def traffic(frame):
        status, _ = post(server.url, featurekit.request(frame))
        assert status == 200
        log.write_text("\n".join(server.log.read_text().splitlines()[start:]) + "\n")

    traffic(featurekit.wine_rows(1000, seed=21))
    inputs, features = logged_inputs(log), logged_features(log)
    assert sorted(inputs.columns) == sorted(featurekit.WINE_COLUMNS) and len(inputs) == 1000
    assert 40 <= len(features) <= 180  # a sample (10% of the rows)
    assert "sugar_per_alcohol" in features.columns and "colour_rose" in features.columns
    assert set(features["model_version"]) == {"1"}

    notebook = marker_notebook(tmp_path)
    watch = ("watch", notebook, "--log", log, "--skew", "--once", "--min-rows", "30")
    done = cli(*watch, cwd=tmp_path, MLFLOW_TRACKING_URI=uri)
    assert done.returncode == 0, done.stderr
    assert "watch skew: the features computed while serving match training (wine version 1: " in (
        done.stdout
    )
    assert runs_recorded(tmp_path) == 0

    shifted = featurekit.wine_rows(1000, seed=22)
    shifted["alcohol"] += 3.0  # a new vineyard: the computed features move with it
    traffic(shifted)
    done = cli(*watch, cwd=tmp_path, MLFLOW_TRACKING_URI=uri)
    assert done.returncode == 0, done.stderr
    line = next(x for x in done.stdout.splitlines() if "watch skew:" in x)
    assert "features computed while serving diverged from training:" in line, line
    assert "alcohol_above_mean" in line and line.endswith("-> run")
    assert runs_recorded(tmp_path) == 1
