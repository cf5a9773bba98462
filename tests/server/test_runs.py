"""Runs started from the sidebar: background execution, live status, cancel, past runs."""

from __future__ import annotations

import shutil
import time

import pytest

pytestmark = pytest.mark.slow


def test_run_reaches_done_with_notebooks_metrics_and_mlflow_run(server, runs):
    status = runs.base
    assert status["path"] == "pipe.ipynb"
    assert [s["name"] for s in status["steps"]] == ["load", "train", "evaluate"]
    assert {s["status"] for s in status["steps"]} <= {"done", "cached"}
    for step in status["steps"]:
        assert step["error"] is None
        # A server-root-relative path the UI can open.
        assert step["notebook"] == f".nb2pipe/runs/{status['run_id']}/{step['name']}/notebook.ipynb"
        assert (server.root / step["notebook"]).is_file()
    train = next(s for s in status["steps"] if s["name"] == "train")
    assert train["artifacts"]["model"]["serializer"] == "joblib"
    # what each saved value is to the views: the model to publish, the table to profile
    assert train["artifacts"]["model"]["kind"] == "model"
    assert status["steps"][0]["artifacts"]["df"]["kind"] == "table"
    assert status["metrics"]["r2"] > 0.9
    assert status["mlflow_run_id"]
    detail = server.get(f"mlflow-runs/{status['mlflow_run_id']}")
    assert detail.status_code == 200, detail.text
    assert sorted(c["name"] for c in detail.json()["children"]) == ["evaluate", "load", "train"]


def test_parameters_are_coerced_to_the_declared_types(server, runs):
    assert runs.shifted["params"]["shift"] == 3.0  # sent as the string "3"
    assert runs.base["params"] == {"rows": 200, "shift": 0.0, "pause": 0.0}


def test_refused_parameters(server):
    cases = {
        "unknown": {"nope": 1},
        "wrong type": {"rows": "many"},
        "code": {"rows": "__import__('os').getpid()"},
        "str for a number": {"shift": [1, 2]},
    }
    for what, params in cases.items():
        answer = server.post("runs", {"path": "pipe.ipynb", "params": params})
        assert answer.status_code == 400, f"{what}: {answer.text}"
        assert "\n" not in answer.json()["error"]
    assert (
        "unknown parameter 'nope'"
        in server.post("runs", {"path": "pipe.ipynb", "params": {"nope": 1}}).json()["error"]
    )


def test_bad_run_requests(server):
    missing = server.post("runs", {"path": "pipe.ipynb", "resume": "20990101-000000-abcdef"})
    assert missing.status_code == 400 and "no such run" in missing.json()["error"]
    assert server.post("runs", {"path": "nothing.ipynb"}).status_code == 404
    assert server.post("runs", {"path": "bad.ipynb"}).status_code == 400
    assert server.post("runs", {"path": "pipe.ipynb", "force": "yes"}).status_code == 400
    assert server.delete("runs/20990101-000000-abcdef").status_code == 404


def test_cancel_a_long_run(server, runs):
    started = time.monotonic()
    answer = server.post("runs", {"path": "pipe.ipynb", "params": {"pause": 300}})
    assert answer.status_code == 202, answer.text
    run_id = answer.json()["run_id"]

    log = server.root / ".nb2pipe" / "runs" / run_id / "train" / "log.txt"

    def sleeping(status):
        """The train step's code is executing (not just its kernel starting)."""
        if status["status"] not in ("starting", "running"):
            return True
        return log.exists() and "training" in log.read_text(errors="replace")

    status = server.wait_run(run_id, timeout=120, until=sleeping)
    assert status["status"] == "running", status
    assert next(s for s in status["steps"] if s["name"] == "train")["status"] == "running"
    # load is unchanged since the base run: it comes from the cache.
    assert next(s for s in status["steps"] if s["name"] == "load")["status"] == "cached"
    time.sleep(1)  # well inside time.sleep(300)
    cancel = server.delete(f"runs/{run_id}")
    assert cancel.status_code == 200 and cancel.json() == {"status": "cancelling"}
    status = server.wait_run(run_id, timeout=90)
    assert status["status"] == "cancelled", status
    train = next(s for s in status["steps"] if s["name"] == "train")
    assert train["status"] == "interrupted"
    assert next(s for s in status["steps"] if s["name"] == "evaluate")["status"] == "cancelled"
    assert time.monotonic() - started < 150  # far less than the 300 s the step sleeps
    # Cancelling a finished run changes nothing.
    assert server.delete(f"runs/{run_id}").json() == {"status": "cancelled"}


def test_past_runs_and_runs_not_started_here(server, runs):
    listed = server.get("runs", params={"path": "pipe.ipynb"})
    assert listed.status_code == 200, listed.text
    ids = [r["run_id"] for r in listed.json()["runs"]]
    assert runs.base["run_id"] in ids and runs.shifted["run_id"] in ids
    # each run is named by the notebook and the values that differ from the notebook's own
    names = {r["run_id"]: r["name"] for r in listed.json()["runs"]}
    assert names[runs.base["run_id"]] == "pipe"
    assert names[runs.shifted["run_id"]] == "pipe · shift=3"
    assert runs.shifted["name"] == "pipe · shift=3"  # the live status says the same
    assert ids == sorted(ids, reverse=True)
    # A run made elsewhere (here: a copy, as if by the CLI) is read from its run directory.
    runs_dir = server.root / ".nb2pipe" / "runs"
    copy = runs.base["run_id"] + "-cli"
    shutil.copytree(runs_dir / runs.base["run_id"], runs_dir / copy, symlinks=True)
    status = server.get(f"runs/{copy}").json()
    assert status["run_id"] == copy and status["status"] == "succeeded"
    assert [s["status"] for s in status["steps"]] == [s["status"] for s in runs.base["steps"]]
    assert status["steps"][0]["notebook"] == f".nb2pipe/runs/{copy}/load/notebook.ipynb"
    assert status["metrics"]["r2"] == runs.base["metrics"]["r2"]
    assert server.get(f"runs/{copy}", params={"path": "pipe.ipynb"}).json()["run_id"] == copy


def test_resume_keeps_the_run_s_parameters(server, runs):
    shifted = runs.shifted
    answer = server.post("runs", {"path": "pipe.ipynb", "resume": shifted["run_id"]})
    assert answer.status_code == 202, answer.text
    assert answer.json()["run_id"] == shifted["run_id"]
    status = server.wait_run(shifted["run_id"])
    assert status["status"] == "succeeded" and status["params"] == shifted["params"]
    assert {s["status"] for s in status["steps"]} <= {"done", "cached"}
    # Other values make another run; the resumed one keeps what it ran with.
    other = server.post(
        "runs", {"path": "pipe.ipynb", "resume": shifted["run_id"], "params": {"shift": "5"}}
    )
    assert other.status_code == 202 and other.json()["run_id"] != shifted["run_id"]
    assert server.wait_run(other.json()["run_id"])["params"]["shift"] == 5.0
    assert server.get(f"runs/{shifted['run_id']}").json()["params"] == shifted["params"]


def test_an_executed_notebook_cannot_be_saved_over(server, runs):
    step = runs.base["steps"][0]
    path = server.root / step["notebook"]
    before = path.read_bytes()
    model = server.jupyter("GET", f"api/contents/{step['notebook']}").json()
    assert model["type"] == "notebook"  # readable…
    answer = server.jupyter("PUT", f"api/contents/{step['notebook']}", json=model)
    assert answer.status_code == 403, answer.text  # …but not writable: autosave is refused
    assert "read-only records" in answer.text
    assert path.read_bytes() == before


def test_an_executed_notebook_is_served_rendered_and_confined(server, runs):
    run_id = runs.base["run_id"]
    answer = server.get(f"runs/{run_id}/steps/train/notebook", params={"path": "pipe.ipynb"})
    assert answer.status_code == 200, answer.text
    shown = answer.json()
    assert shown["title"] == f"train · {run_id}"
    assert "<script" not in shown["html"] and f"<title>train · {run_id}</title>" in shown["html"]
    assert "training" in shown["html"]  # the step's output, as it ran
    assert server.get(f"runs/{run_id}/steps/nosuch/notebook").status_code == 404
    assert server.get(f"runs/{run_id}/steps/..%2Ftrain/notebook").status_code in (400, 404)
    assert server.get("runs/..%2F..%2Fetc/steps/train/notebook").status_code in (400, 404)
    outside = server.root / ".nb2pipe" / "runs" / run_id / "escape"
    outside.mkdir()
    (outside / "notebook.ipynb").symlink_to(server.outside / "secret.ipynb")
    assert server.get(f"runs/{run_id}/steps/escape/notebook").status_code in (403, 404)
