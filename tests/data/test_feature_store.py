"""Feature views in Feast, for real: a step tagged `features:driver_id` publishes its frame to a
local Feast repository (`feast apply`, `feast materialize-incremental`), a serve cell reads those
online features by entity key (`get_online_features`), and the model published with it serves
the notebook's own predictions.

Feast 0.67 needs pandas<3 while jupyter-mlops pins pandas 3.1, so everything that touches Feast
runs in Feast's own environment (tests/data/setup_feast.sh: `.cache/feast-venv`, jupyter-mlops
installed there too), as a team using Feast runs it. Without it these tests skip locally and fail
under CI. The rest (what is generated, what is refused) runs here, without Feast.
"""

from __future__ import annotations

import json
import os
import subprocess
import urllib.request
from pathlib import Path

import pytest
from support.notebooks import ROOT, code, markdown, write_notebook
from support.servers import unavailable

from jupyter_mlops.data import feature_store

VENV = Path(os.environ.get("NB2PIPE_FEAST_VENV", ROOT / ".cache" / "feast-venv"))
SETUP = "tests/data/setup_feast.sh"


def feast_venv() -> Path:
    if not (VENV / "bin" / "feast").is_file():
        unavailable(f"Feast is not installed in {VENV}: run {SETUP}")
    return VENV / "bin"


def rides_notebook(folder: Path) -> Path:
    return write_notebook(
        folder / "rides.ipynb",
        markdown("# Rides\n\nWill a ride be accepted? The drivers' stats come from Feast."),
        code(
            "import numpy as np\nimport pandas as pd\nfrom feast import FeatureStore\n"
            "from sklearn.linear_model import LogisticRegression",
            "imports",
        ),
        code('feature_repo = "feature_repo"', "parameters"),
        code(
            "rng = np.random.default_rng(5)\n"
            "driver_stats = pd.DataFrame({\n"
            "    'driver_id': np.arange(1000, 1050),\n"
            "    'conv_rate': rng.uniform(0, 1, 50),\n"
            "    'trips': rng.integers(10, 500, 50),\n"
            "})",
            "step:drivers",
            "features:driver_id",
        ),
        code(
            "rng = np.random.default_rng(6)\n"
            "rides = pd.DataFrame({\n"
            "    'driver_id': rng.integers(1000, 1050, 800),\n"
            "    'distance': rng.gamma(2, 3, 800),\n"
            "})",
            "step:rides",
        ),
        code(
            "online = FeatureStore(repo_path=feature_repo).get_online_features(\n"
            "    features=['driver_stats:conv_rate', 'driver_stats:trips'],\n"
            "    entity_rows=[{'driver_id': int(d)} for d in rides['driver_id']],\n"
            ").to_df()\n"
            "X = rides[['distance']].assign(\n"
            "    conv_rate=online['conv_rate'].to_numpy(), trips=online['trips'].to_numpy()\n"
            ")",
            "step:features",
            "after:drivers",
            "serve",
        ),
        code(
            "label = ((X.conv_rate > 0.5) & (X.distance < 8)).astype(int)\n"
            "model = LogisticRegression(max_iter=1000).fit(X.iloc[:600], label.iloc[:600])\n"
            "predictions = model.predict(X.iloc[600:])",
            "step:train",
        ),
        code("print(model.classes_, predictions.mean())", "step:evaluate"),
    )


def in_feast(bin_dir: Path, *args, cwd: Path, timeout: float = 600, **env: str):
    clean = {k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"}
    clean["PATH"] = f"{bin_dir}{os.pathsep}{clean.get('PATH', '')}"
    return subprocess.run(
        [str(a) for a in args], cwd=cwd, capture_output=True, text=True, timeout=timeout,
        env={**clean, "NB2PIPE_NO_TRACKING": "1", **env},
    )  # fmt: skip


ONLINE = """
import json, sys
from feast import FeatureStore
ids = [int(i) for i in sys.argv[1:]]
rows = FeatureStore(repo_path="feature_repo").get_online_features(
    features=["driver_stats:conv_rate", "driver_stats:trips"],
    entity_rows=[{"driver_id": i} for i in ids],
).to_dict()
print(json.dumps(rows))
"""

HELD_OUT = """
import json, sys
from pathlib import Path
from nb2pipe.artifacts import load
from nb2pipe.fileio import plain
from nb2pipe.runner.workspaces import open_workspace
run = open_workspace(None, Path("rides.ipynb")).all_runs("rides")[0].path
rides = load(run, "rides", "rides").iloc[600:]
body = {"dataframe_split": {"columns": list(rides.columns),
        "data": [[plain(v) for v in row] for row in rides.itertuples(index=False)]}}
stats = load(run, "drivers", "driver_stats")
print(json.dumps({"body": body, "predictions": plain(load(run, "train", "predictions").tolist()),
                  "stats": stats.set_index("driver_id").loc[[1000, 1017]].to_dict("list")}))
"""


@pytest.mark.slow
@pytest.mark.timeout(1800)  # Feast's CLI takes seconds to start, twice per publish of views
def test_a_features_step_feeds_feast_and_a_serve_cell_reads_it_online(tmp_path):
    bin_dir = feast_venv()
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    rides_notebook(tmp_path)
    done = in_feast(bin_dir, bin_dir / "nb2pipe", "run", "rides.ipynb", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "observer" not in done.stderr, done.stderr  # the feature views were published
    repo = tmp_path / "feature_repo"
    assert (repo / "feature_store.yaml").is_file() and (
        repo / "data/driver_stats.parquet"
    ).is_file()
    definitions = (repo / "nb2pipe_rides.py").read_text()
    assert "driver_stats = FeatureView(" in definitions
    assert "Field(name='conv_rate', dtype=Float64)" in definitions
    assert "Field(name='trips', dtype=Int64)" in definitions

    # The repository is a real one: Feast answers by entity key what the step computed.
    done = in_feast(bin_dir, bin_dir / "python", "-c", HELD_OUT, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    held_out = json.loads(done.stdout.strip().splitlines()[-1])
    done = in_feast(bin_dir, bin_dir / "python", "-c", ONLINE, "1000", "1017", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    online = json.loads(done.stdout.strip().splitlines()[-1])
    assert online["conv_rate"] == held_out["stats"]["conv_rate"]
    assert online["trips"] == held_out["stats"]["trips"]

    done = in_feast(
        bin_dir, bin_dir / "nb2pipe", "publish", "rides.ipynb", "--name", "rides",
        cwd=tmp_path, MLFLOW_TRACKING_URI=uri,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "published rides version 1 (alias challenger)" in done.stdout

    port = _free_port()
    server = subprocess.Popen(
        [str(bin_dir / "nb2pipe"), "serve", "rides@challenger", "--port", str(port), "--log",
         str(tmp_path / "predictions.jsonl")],
        cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        env={**os.environ, "MLFLOW_TRACKING_URI": uri},
    )  # fmt: skip
    try:
        url = f"http://127.0.0.1:{port}"
        _wait(url, server)
        request = urllib.request.Request(
            url + "/invocations",
            data=json.dumps(held_out["body"]).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=120) as response:
            answer = json.loads(response.read())
        assert answer["predictions"] == held_out["predictions"]  # the notebook's own
    finally:
        server.terminate()
        server.wait(30)


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(url: str, process: subprocess.Popen, timeout: float = 180) -> None:
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, "the server exited"
        try:
            with urllib.request.urlopen(url + "/ping", timeout=2):
                return
        except OSError:
            time.sleep(0.5)
    raise AssertionError(f"no answer on {url}")


# --- without Feast: what is generated, what is refused --------------------------------------------


def test_the_definitions_are_deterministic_and_typed_from_the_frame():
    import numpy as np
    import pandas as pd

    frame = pd.DataFrame(
        {"driver_id": np.arange(3), "rate": [0.1, 0.2, 0.3], "city": ["a", "b", "c"],
         "active": [True, False, True]}
    )  # fmt: skip
    view = {
        "entity": "driver_id", "step": "drivers", "run": "r1", "path": "data/stats.parquet",
        "columns": {c: feature_store._dtype(frame[c]) for c in frame.columns},
    }  # fmt: skip
    text = feature_store.definitions("rides", {"stats": view})
    assert text == feature_store.definitions("rides", {"stats": dict(view)})
    assert "from feast.types import Bool, Float64, Int64, String" in text
    assert "driver_id_entity = Entity(name='driver_id', join_keys=['driver_id'])" in text
    assert "Field(name='city', dtype=String)" in text and "name='driver_id', dtype" not in text
    compile(text, "nb2pipe_rides.py", "exec")  # valid Python


def test_publishing_without_feast_is_one_line(tmp_path, monkeypatch):
    monkeypatch.setattr(feature_store.sys, "executable", str(tmp_path / "bin" / "python"))
    with pytest.raises(feature_store.FeatureStoreError, match="^Feast is not installed in this "):
        feature_store.publish(tmp_path, "drivers", "driver_id", tmp_path / "rides.ipynb")


def test_the_repository_is_the_teams_or_one_beside_the_notebook(tmp_path, monkeypatch):
    monkeypatch.delenv(feature_store.ENV, raising=False)
    notebook = tmp_path / "nb" / "rides.ipynb"
    notebook.parent.mkdir()
    assert feature_store.repository(notebook) == notebook.parent / "feature_repo"
    (tmp_path / "pyproject.toml").write_text(
        '[tool.jupyter-mlops]\nfeature_store = "stores/team"\n'
    )
    (tmp_path / ".git").mkdir()
    assert feature_store.repository(notebook) == tmp_path / "stores" / "team"
    monkeypatch.setenv(feature_store.ENV, str(tmp_path / "elsewhere"))
    assert feature_store.repository(notebook) == tmp_path / "elsewhere"
