"""`nb2pipe watch`: new files start a run; bounded, logged, stopped cleanly; `nb2pipe schedule`."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest
import yaml
from support.project import (
    NB2PIPE,
    cli,
    cli_env,
    error_lines,
    frame,
    marker_notebook,
    runs_recorded,
)
from support.workflows import INJECTIONS, REFUSED, github_scripts, load, pwned, run_scripts

from jupyter_mlops.retrain.schedule import check_cron, write_schedule
from jupyter_mlops.retrain.triggers import DriftTrigger, NewFiles
from jupyter_mlops.retrain.watch import Watcher
from jupyter_mlops.serving.prediction_log import PredictionLog
from nb2pipe.errors import Nb2PipeError


def drop(folder: Path, name: str, age: float = 5.0) -> Path:
    """A data file, written as if `age` seconds ago (settled: no longer being written)."""
    path = folder / name
    path.write_text("a,b\n1,2\n")
    past = time.time() - age
    os.utime(path, (past, past))
    return path


def test_new_files_fire_once_each(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    drop(data, "old.csv")
    trigger = NewFiles(data)
    assert not trigger.check().fire  # present at start-up: not new
    drop(data, ".hidden.csv")
    drop(data, "upload.csv.tmp")
    assert not trigger.check().fire
    (data / "writing.csv").write_text("a\n")  # modified just now: may still be written
    assert not trigger.check().fire
    drop(data, "writing.csv")
    sub = data / "2026" / "11"
    sub.mkdir(parents=True)
    drop(sub, "batch.parquet")
    decision = trigger.check()
    assert decision.fire
    assert decision.reason == f"2 new files in {data}: 2026/11/batch.parquet, writing.csv"
    assert str(decision).endswith("-> run")
    assert not trigger.check().fire
    with pytest.raises(Nb2PipeError, match="no such folder"):
        NewFiles(tmp_path / "nowhere")


def test_a_file_overwritten_under_a_seen_name_fires_once(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    path = drop(data, "daily.csv", age=50)
    trigger = NewFiles(data)
    assert not trigger.check().fire
    past = time.time() - 40
    os.utime(path, (past, past))  # touched: same bytes, not new data
    assert not trigger.check().fire
    path.write_text("a,b\n3,4\n")  # the same size, other content
    os.utime(path, (past + 10, past + 10))
    decision = trigger.check()
    assert decision.fire and decision.reason == f"1 changed file in {data}: daily.csv"
    assert not trigger.check().fire
    # A later watcher (state saved as JSON) sees what this one saw, content included.
    later = NewFiles(data)
    later.restore(json.loads(json.dumps(trigger.state())))
    assert not later.check().fire
    drop(data, "daily.csv", age=20).write_text("a,b\n5,6,7\n")
    os.utime(path, (past + 20, past + 20))
    drop(data, "other.csv")
    decision = later.check()
    assert decision.reason == f"1 new file and 1 changed file in {data}: daily.csv, other.csv"
    # The older state (a list of names) counts their present content as seen.
    oldest = NewFiles(data)
    oldest.restore({"seen": ["daily.csv", "other.csv"]})
    assert not oldest.check().fire


@pytest.mark.slow
def test_watcher_runs_the_pipeline_on_a_new_file_and_stops_after_max_runs(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    notebook = marker_notebook(tmp_path)
    lines: list[str] = []
    watcher = Watcher(
        notebook,
        [NewFiles(data)],
        interval=0.2,
        max_runs=1,
        workspace=tmp_path / ".nb2pipe",
        echo=lines.append,
    )
    stop = threading.Event()
    thread = threading.Thread(target=watcher.watch, args=(stop,))
    thread.start()
    try:
        time.sleep(1.0)
        assert runs_recorded(tmp_path) == 0
        drop(data, "batch-1.csv")
        thread.join(timeout=120)
        assert not thread.is_alive(), lines
    finally:
        stop.set()
        thread.join(timeout=30)
    assert runs_recorded(tmp_path) == 1
    [result] = watcher.results
    assert result.ok and result.steps["retrain"].status == "done"
    text = "\n".join(line.split(" ", 2)[2] for line in lines)  # without the time stamps
    assert f"watch new-data: no new or changed file in {data} -> no run" in text
    assert f"watch new-data: 1 new file in {data}: batch-1.csv -> run" in text
    assert f"watch run: {notebook} (triggered by new-data)" in text
    assert f"watch run {result.run_id} succeeded in" in text
    assert text.endswith("watch stopped: 1 run(s), the --max-runs limit")
    # An unchanged check is logged once, not at every poll.
    assert text.count("no new or changed file") == 1


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def read_until(process: subprocess.Popen, needle: str, timeout: float = 180) -> str:
    """Lines of `process`'s stdout up to and including the first one containing `needle`."""
    seen = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            if process.poll() is not None:
                break
            continue
        seen.append(line)
        if needle in line:
            return "".join(seen)
    raise AssertionError(f"no {needle!r} in the watcher's output:\n{''.join(seen)}")


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_watch_cli_reacts_to_a_new_file_and_stops_cleanly_on_a_signal(tmp_path, signum):
    data = tmp_path / "data"
    data.mkdir()
    notebook = marker_notebook(tmp_path)
    process = subprocess.Popen(
        [str(NB2PIPE), "watch", notebook, "--data", data, "--interval", "0.3"],
        cwd=tmp_path,
        env=cli_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        read_until(process, "no new or changed file")
        # Polling, not spinning: idle, the watcher uses (almost) no CPU.
        before = cpu_seconds(process.pid)
        time.sleep(2.0)
        assert cpu_seconds(process.pid) - before < 0.3
        if signum == signal.SIGTERM:
            drop(data, "batch-1.csv")
            read_until(process, "succeeded in")
            assert runs_recorded(tmp_path) == 1
        process.send_signal(signum)
        out, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, err
    assert out.rstrip().endswith("watch stopped: signal received")
    assert "Traceback" not in err


@pytest.mark.slow
def test_watch_once_carries_on_where_the_last_watcher_stopped(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    drop(data, "initial.csv")
    notebook = marker_notebook(tmp_path)
    args = ("watch", notebook, "--data", data, "--once")
    first = cli(*args, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert "-> no run" in first.stdout and runs_recorded(tmp_path) == 0
    drop(data, "arrived-later.csv")
    second = cli(*args, cwd=tmp_path)
    assert second.returncode == 0, second.stderr
    assert f"1 new file in {data}: arrived-later.csv -> run" in second.stdout
    assert runs_recorded(tmp_path) == 1
    third = cli(*args, cwd=tmp_path)
    assert "-> no run" in third.stdout and runs_recorded(tmp_path) == 1
    assert (tmp_path / ".nb2pipe" / "watch" / "retrain.json").is_file()


def test_watch_bad_input_is_one_line_errors(tmp_path):
    notebook = marker_notebook(tmp_path)
    cases = [
        (("--data", tmp_path / "nowhere"), "no such folder"),
        (("--reference", tmp_path / "ref.csv"), "--reference, --skew and --metric need --log"),
        (("--log", tmp_path / "p.jsonl", "--metric", "accuracy"), "exactly one of --below"),
        (("--below", "0.5"), "--below and --above need --metric"),
        ((), "nothing to watch"),
    ]
    for args, expected in cases:
        done = cli("watch", notebook, *args, "--once", cwd=tmp_path, timeout=60)
        assert done.returncode == 2, (args, done.stdout, done.stderr)
        [line] = error_lines(done.stderr)
        assert expected in line, line
    done = cli("watch", tmp_path / "missing.ipynb", "--data", tmp_path, cwd=tmp_path, timeout=60)
    assert done.returncode == 2 and len(error_lines(done.stderr)) == 1


# --- nb2pipe schedule ------------------------------------------------------------------------


def test_schedule_writes_a_deterministic_ci_workflow(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "shop"\n')
    notebook = marker_notebook(tmp_path / "notebooks")
    done = cli("schedule", notebook, "--cron", "0 3 * * 1", cwd=tmp_path, timeout=60)
    assert done.returncode == 0, done.stderr
    path = tmp_path / ".github" / "workflows" / "nb2pipe-schedule-retrain.yml"
    assert done.stdout.startswith("wrote .github/workflows/nb2pipe-schedule-retrain.yml")
    text = path.read_text()
    workflow = yaml.safe_load(text)
    assert workflow[True] == {"schedule": [{"cron": "0 3 * * 1"}], "workflow_dispatch": None}
    steps = workflow["jobs"]["retrain"]["steps"]
    run = next(s["run"] for s in steps if s.get("name") == "nb2pipe run")
    assert run == "nb2pipe run notebooks/retrain.ipynb --force --workspace reports/runs"
    assert "pip install jupyter-mlops" in next(
        s["run"] for s in steps if s.get("name") == "Install"
    )
    # The same inputs give the same bytes; a different file is not overwritten silently.
    assert write_schedule(notebook, "0 3 * * 1") == path and path.read_text() == text
    again = cli("schedule", notebook, "--cron", "0 4 * * *", cwd=tmp_path, timeout=60)
    assert again.returncode == 2 and "already exists (overwrite with --force)" in again.stderr
    forced = cli("schedule", notebook, "--cron", "0 4 * * *", "--force", cwd=tmp_path, timeout=60)
    assert forced.returncode == 0 and 'cron: "0 4 * * *"' in path.read_text()


def test_schedule_parameters_and_output(tmp_path):
    notebook = marker_notebook(tmp_path)
    nb = notebook.read_text().replace('"cells": [', '"cells": [\n' + _parameters_cell(), 1)
    notebook.write_text(nb)
    out = tmp_path / "ci.yml"
    write_schedule(notebook, "*/15 * * * *", output=out, params=[("region", "north east")])
    assert "-p region 'north east'" in out.read_text()
    with pytest.raises(Nb2PipeError, match="-p nope: unknown parameter"):
        write_schedule(notebook, "0 3 * * *", output=out, params=[("nope", "1")], force=True)


def _parameters_cell() -> str:
    import json

    cell = {
        "cell_type": "code",
        "execution_count": None,
        "metadata": {"tags": ["parameters"]},
        "outputs": [],
        "source": "region = 'south'",
    }
    return json.dumps(cell) + ","


@pytest.mark.parametrize(
    "cron",
    ["0 3 * * 1", "*/5 * * * *", "0 0 1,15 * *", "30 2 * jan-mar mon-fri", "0 0 * * 7"],
)
def test_valid_cron_expressions(cron):
    assert check_cron(f"  {cron} ") == cron


@pytest.mark.parametrize(
    ("cron", "field"),
    [
        ("0 3 * *", "five fields"),
        ("60 * * * *", "bad minute field '60'"),
        ("0 24 * * *", "bad hour field '24'"),
        ("0 0 0 * *", "bad day of month field '0'"),
        ("0 0 * 13 *", "bad month field '13'"),
        ("0 0 * * 8", "bad day of week field '8'"),
        ("*/0 * * * *", "bad minute field '*/0'"),
        ("0 0 * * funday", "bad day of week field 'funday'"),
    ],
)
def test_bad_cron_expressions_are_one_line_errors(cron, field):
    with pytest.raises(Nb2PipeError, match=re.escape(field)):
        check_cron(cron)


def test_a_check_that_fails_is_logged_and_the_watcher_carries_on(tmp_path):
    reference = tmp_path / "reference.parquet"
    frame(100).to_parquet(reference)
    log = PredictionLog(tmp_path / "predictions.jsonl")
    rows = frame(40, seed=2).to_dict(orient="records")
    log.append([{"id": str(i), "inputs": r, "prediction": 0} for i, r in enumerate(rows)])
    trigger = DriftTrigger(log.path, reference)
    reference.unlink()  # the reference went away after start-up
    lines: list[str] = []
    watcher = Watcher(
        marker_notebook(tmp_path),
        [trigger],
        once=True,
        workspace=tmp_path / ".nb2pipe",
        echo=lines.append,
    )
    assert watcher.watch() == []
    text = [line.split(" ", 3)[3] for line in lines]
    assert text[1] == f"drift: cannot check: no such data file: {reference} -> no run"
    assert text[-1] == "stopped: --once"


@pytest.mark.parametrize("name", INJECTIONS)
def test_schedule_quotes_a_hostile_path_and_value_as_one_argument(tmp_path, name):
    project = tmp_path / "project"
    (project / ".git").mkdir(parents=True)
    notebook = marker_notebook(project / "nbs", name=name)
    nb = notebook.read_text().replace('"cells": [', '"cells": [\n' + _parameters_cell(), 1)
    notebook.write_text(nb)
    value = "north$(touch pwned) 'east'; `touch pwned`"
    done = cli("schedule", notebook, "--cron", "0 3 * * 1", "-p", "region", value, cwd=project)
    assert done.returncode == 0, done.stderr
    [path] = (project / ".github" / "workflows").glob("*.yml")
    calls = run_scripts(github_scripts(load(path)), tmp_path / "ci")
    nbs = f"nbs/{name}"
    assert calls == [["run", nbs, "--force", "--workspace", "reports/runs", "-p", "region", value]]
    assert not pwned(tmp_path)


@pytest.mark.parametrize("name", REFUSED)
def test_schedule_refuses_a_path_a_workflow_cannot_carry(tmp_path, name):
    (tmp_path / ".git").mkdir()
    notebook = marker_notebook(tmp_path, name=name)
    done = cli("schedule", notebook, "--cron", "0 3 * * 1", cwd=tmp_path, timeout=60)
    assert done.returncode == 2 and done.stdout == ""
    [line] = done.stderr.splitlines()
    assert line.startswith("error: ") and "(rename it)" in line
    assert not (tmp_path / ".github").exists()


@pytest.mark.parametrize("brk", ["\n", "\r", "\x85", "\u2028", "\u2029", "\x00"])
def test_schedule_refuses_a_parameter_value_with_a_line_break(tmp_path, brk):
    notebook = marker_notebook(tmp_path)
    nb = notebook.read_text().replace('"cells": [', '"cells": [\n' + _parameters_cell(), 1)
    notebook.write_text(nb)
    with pytest.raises(Nb2PipeError, match="-p region: the value holds a line break"):
        write_schedule(notebook, "0 3 * * 1", params=[("region", f"a{brk}rm -rf ~: x")])
    assert not (tmp_path / ".github").exists()
