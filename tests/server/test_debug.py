"""The sidebar's "debug in this notebook" route, data files changed since the latest run, and a
sweep's trials for the Experiments view: against a real Jupyter server."""

from __future__ import annotations

import pytest
from serverkit import code, write_notebook

pytestmark = pytest.mark.slow


def finished(server, path: str, params: dict | None = None) -> dict:
    answer = server.post("runs", {"path": path, "params": params or {}})
    assert answer.status_code == 202, answer.text
    return server.wait_run(answer.json()["run_id"])


def test_a_failed_step_answers_the_line_that_loads_it_in_its_notebook(server):
    write_notebook(
        server.root / "fails.ipynb",
        code("offset = 1", "parameters"),
        code("a = 1", "step:load"),
        code("b = 1 / (a - offset)", "step:train"),
    )
    status = finished(server, "fails.ipynb")
    assert status["status"] == "failed"
    assert {s["name"]: s["status"] for s in status["steps"]} == {"load": "done", "train": "failed"}
    answer = server.get(
        f"runs/{status['run_id']}/steps/train/debug", params={"path": "fails.ipynb"}
    )
    assert answer.status_code == 200, answer.text
    assert answer.json() == {
        "run_id": status["run_id"],
        "step": "train",
        "code": f"%load_ext jupyter_mlops\n%mlops load train fails.ipynb --run {status['run_id']}",
        "inputs": ["a (from load)"],
        "params": ["offset"],
    }


def test_debug_refuses_what_cannot_be_loaded_in_one_line(server, runs):
    run_id = runs.base["run_id"]
    answer = server.get(f"runs/{run_id}/steps/trian/debug", params={"path": "pipe.ipynb"})
    assert answer.status_code == 409
    assert answer.json()["error"] == "pipe.ipynb: no step 'trian' (did you mean 'train'?)"
    answer = server.get(f"runs/{run_id}/steps/train/debug", params={"path": "bad.ipynb"})
    assert answer.status_code == 409  # that run is another notebook's
    assert "that run is of" in answer.json()["error"] and "\n" not in answer.json()["error"]
    answer = server.get(
        "runs/20990101-000000-abcdef/steps/train/debug", params={"path": "pipe.ipynb"}
    )
    assert answer.status_code == 404
    answer = server.get(f"runs/{run_id}/steps/train/debug", params={"path": "../x.ipynb"})
    assert answer.status_code == 403
    answer = server.get(f"runs/{run_id}/steps/Bad-Name/debug", params={"path": "pipe.ipynb"})
    assert answer.status_code == 400


def test_data_changes_name_the_file_changed_since_the_latest_run(server):
    (server.root / "sales.csv").write_text("amount\n1\n2\n")
    write_notebook(
        server.root / "sales.ipynb",
        code("import pandas as pd", "imports"),
        code("frame = pd.read_csv('sales.csv')", "step:load"),
        code("total = float(frame.amount.sum())", "step:total", "metrics"),
    )
    status = finished(server, "sales.ipynb")
    assert status["status"] == "succeeded", status
    answer = server.get("data/changes", params={"path": "sales.ipynb"})
    assert answer.status_code == 200 and answer.json() == {"changes": []}
    (server.root / "sales.csv").write_text("amount\n1\n2\n3\n")
    answer = server.get("data/changes", params={"path": "sales.ipynb"})
    assert answer.json() == {
        "changes": [
            {
                "path": "sales.csv",
                "run_id": status["run_id"],
                "message": f"sales.csv changed since run {status['run_id']}",
                "gone": False,
            }
        ]
    }
    assert server.get("data/changes", params={"path": "../secret.ipynb"}).status_code == 403


def test_a_sweep_is_one_row_of_its_experiment_and_opens_to_its_trials(server):
    from jupyter_mlops.tracking.observer import MlflowTracker
    from nb2pipe.runner import load_pipeline
    from nb2pipe.sweep import run_sweep

    tracker = MlflowTracker(server.tracking_uri, "sweeps-route")
    sweep = run_sweep(
        *load_pipeline(server.root / "pipe.ipynb"), {"shift": [0.0, 1.0]}, metric="r2",
        observers=[tracker], max_parallel=2,
    )  # fmt: skip
    assert sweep.status == "succeeded"
    answer = server.get(f"sweeps/{tracker.mlflow_run_id}")
    assert answer.status_code == 200, answer.text
    detail = answer.json()
    assert detail["sweep_id"] == sweep.id and detail["metric"] == "r2"
    assert detail["params"] == ["shift"]
    assert [(t["number"], t["params"], t["value"]) for t in detail["trials"]] == [
        (t.number, t.params, t.value) for t in sweep.trials
    ]
    experiment = detail["sweep"]["experiment_id"]
    rows = server.get(f"experiments/{experiment}/runs").json()["runs"]
    assert [r["run_id"] for r in rows] == [tracker.mlflow_run_id]
    assert rows[0]["tags"]["nb2pipe.kind"] == "sweep"
    trial = detail["trials"][0]["run_id"]
    answer = server.get(f"sweeps/{trial}")
    assert answer.status_code == 400 and "is not a sweep" in answer.json()["error"]
    assert server.get("sweeps/not%20an%20id").status_code == 400
