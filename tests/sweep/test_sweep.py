"""Sweeps: a grid's shared prefix runs once, each trial equals a separate run, the best is the
best; random draws; Optuna with pruning; bad input in one line each."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support.notebooks import code, write_notebook
from sweepkit import (
    GRID_STEPS,
    cli,
    error_lines,
    grid_notebook,
    pruning_notebook,
    same_value,
    statuses,
)

from nb2pipe.artifacts import load, read_manifest
from nb2pipe.runner import load_pipeline, run_pipeline
from nb2pipe.sweep import run_sweep

GRID = {"C": [0.01, 1.0, 10.0], "max_depth": [2, 5]}


@pytest.fixture(scope="module")
def grid(tmp_path_factory):
    folder = tmp_path_factory.mktemp("grid")
    notebook = grid_notebook(folder)
    result = run_sweep(
        *load_pipeline(notebook),
        GRID,
        metric="accuracy",
        max_parallel=2,
        workspace=folder / ".nb2pipe",
    )
    return notebook, folder / ".nb2pipe", result


def executions(workspace: Path, runs: list[str]) -> dict[str, int]:
    """How many runs executed each step (not cached): the run folders' own account."""
    counts = dict.fromkeys(GRID_STEPS, 0)
    for run_id in runs:
        for step, status in statuses(workspace, run_id).items():
            counts[step] += status == "done"
    return counts


def test_a_grid_runs_each_step_once_per_distinct_set_of_the_parameters_it_uses(grid):
    _, workspace, sweep = grid
    assert sweep.status == "succeeded"
    assert [t.params for t in sweep.trials] == [
        {"C": c, "max_depth": d} for c in GRID["C"] for d in GRID["max_depth"]
    ]
    assert all(t.status == "succeeded" for t in sweep.trials)
    counts = executions(workspace, [t.run_id for t in sweep.trials])
    # load and split use no swept parameter: once for the six trials; linear once per C,
    # tree once per max_depth; evaluate reads both models, so once per trial.
    assert counts == {"load": 1, "split": 1, "linear": 3, "tree": 2, "evaluate": 6}
    for trial in sweep.trials:
        for step, status in statuses(workspace, trial.run_id).items():
            if status == "cached":
                meta = json.loads(
                    (workspace / "runs" / trial.run_id / step / "meta.json").read_text()
                )
                assert meta["cached_from"] in {t.run_id for t in sweep.trials}


def test_each_trial_equals_a_separate_cold_run_with_its_parameters(grid, tmp_path):
    notebook, workspace, sweep = grid
    for trial in sweep.trials:
        alone = run_pipeline(
            *load_pipeline(notebook),
            params=trial.params,
            workspace=tmp_path / trial.run_id,
            max_parallel=2,
        )
        assert alone.ok, alone.failure()
        assert all(s.status == "done" for s in alone.steps.values())
        assert trial.value == alone.metrics["accuracy"]
        for step in GRID_STEPS:
            mine = read_manifest(workspace / "runs" / trial.run_id, step)["artifacts"]
            assert mine.keys() == read_manifest(alone.run_dir, step)["artifacts"].keys()
            for name in mine:
                value = load(workspace / "runs" / trial.run_id, step, name)
                assert same_value(value, load(alone.run_dir, step, name)), (trial.params, name)


def test_the_best_trial_has_the_highest_metric_and_the_sweep_folder_says_so(grid):
    _, workspace, sweep = grid
    best = max(sweep.trials, key=lambda t: (t.value, -t.number))
    assert sweep.best is best
    record = json.loads((sweep.path / "sweep.json").read_text())
    assert record["best"] == best.number
    assert record["metric"] == "accuracy" and record["direction"] == "max"
    assert [t["run_id"] for t in record["trials"]] == [t.run_id for t in sweep.trials]
    info = json.loads((workspace / "runs" / best.run_id / "run.json").read_text())
    assert info["sweep"] == {"id": sweep.id, "trial": best.number, "dir": str(sweep.path)}
    assert info["params"]["C"] == best.params["C"]


def test_minimising_picks_the_lowest_value(grid, tmp_path):
    notebook, workspace, _ = grid
    sweep = run_sweep(
        *load_pipeline(notebook),
        {"C": [0.01, 1.0], "max_depth": [2]},
        metric="accuracy",
        direction="min",
        workspace=workspace,
    )
    assert sweep.best is min(sweep.trials, key=lambda t: (t.value, t.number))
    # Everything came from the grid's results: no step executed again.
    assert executions(workspace, [t.run_id for t in sweep.trials]) == dict.fromkeys(GRID_STEPS, 0)


def test_random_draws_are_reproducible_and_share_the_prefix(grid, tmp_path):
    notebook, _, _ = grid
    first = run_sweep(
        *load_pipeline(notebook), [("C", "0.001..100:log"), ("max_depth", "2..6")], mode="random", trials=3,
        seed=7, workspace=tmp_path / "a", max_parallel=2,
    )  # fmt: skip
    assert first.status == "succeeded" and len(first.trials) == 3
    for trial in first.trials:
        assert 0.001 <= trial.params["C"] <= 100 and trial.params["max_depth"] in range(2, 7)
        assert isinstance(trial.params["max_depth"], int)
    counts = executions(tmp_path / "a", [t.run_id for t in first.trials])
    assert counts["load"] == 1 and counts["split"] == 1 and counts["evaluate"] == 3
    again = run_sweep(
        *load_pipeline(notebook), [("C", "0.001..100:log"), ("max_depth", "2..6")], mode="random", trials=3,
        seed=7, workspace=tmp_path / "a",
    )  # fmt: skip
    assert [t.params for t in again.trials] == [t.params for t in first.trials]


def test_optuna_finds_the_best_value_and_prunes_trials_that_report_badly(tmp_path):
    notebook = pruning_notebook(tmp_path)
    sweep = run_sweep(
        *load_pipeline(notebook), [("lr", "0.0..1.0")], mode="optuna", trials=12, metric="score",
        seed=3, max_parallel=2, workspace=tmp_path / ".nb2pipe",
    )  # fmt: skip
    assert len(sweep.trials) == 12
    done = [t for t in sweep.trials if t.status == "succeeded"]
    pruned = [t for t in sweep.trials if t.status == "pruned"]
    assert done and pruned, [(t.params, t.status) for t in sweep.trials]
    assert sweep.best is max(done, key=lambda t: (t.value, -t.number))
    for trial in pruned:
        run = tmp_path / ".nb2pipe" / "runs" / trial.run_id
        assert json.loads((run / "run.json").read_text())["status"] == "pruned"
        meta = json.loads((run / "train" / "meta.json").read_text())
        assert meta["error"]["ename"] == "TrialPruned"
        assert "pruned by the sweep at step" in meta["error"]["message"]
        reported = (run / "train" / "intermediate.jsonl").read_text().splitlines()
        assert len(reported) < 12  # it stopped before the end of its loop


def test_the_sweep_command_prints_each_trial_and_the_best(grid, tmp_path):
    notebook, _, sweep = grid
    done = cli("sweep", notebook, "-p", "C", "0.01,1,10", "-p", "max_depth", "2,5",
               "--metric", "accuracy", cwd=notebook.parent)  # fmt: skip
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("sweep ") and "grid, 6 trials over C, max_depth" in lines[0]
    assert sum(line.startswith("trial ") for line in lines) == 6
    best = sweep.best
    assert lines[-2].startswith(f"best: trial {best.number} ")
    assert f"accuracy={best.value:.6g}" in lines[-2]
    assert " succeeded: 6 trials (6 succeeded)" in lines[-1]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-p", "Cx", "1,2"], "error: -p Cx: not a parameter of the notebook (did you mean 'C'?)"),
        (["-p", "C", ","], "error: -p C: no values to sweep (an empty grid)"),
        (["-p", "C", ""], "error: -p C: no values to sweep (an empty grid)"),
        ([], "error: nothing to sweep: give -p NAME VALUES (e.g. -p C 0.1,1,10)"),
        (["-p", "C", "1,2", "--optuna", "3"], "error: --optuna needs --metric: the metric Optuna optimises"),
        (["-p", "C", "0.1..2"], "error: -p C 0.1..2.0: a range cannot be a grid; list the values (-p C 1,2,3) or draw from it with --random N or --optuna N"),
        (["-p", "C", "a,b"], "error: parameter 'C' expects a float, got 'a'"),
        (["-p", "C", "2..1", "--random", "2"], "error: -p C 2..1: an empty range (LOW must be below HIGH)"),
        (["-p", "C", "1", "-p", "C", "2"], "error: -p C: given twice; list its values once: -p C a,b"),
    ],
)  # fmt: skip
def test_bad_sweeps_are_one_error_line_and_run_nothing(tmp_path, args, message):
    notebook = grid_notebook(tmp_path)
    done = cli("sweep", notebook, *args, cwd=tmp_path)
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert error_lines(done.stderr) == [message]
    assert not (tmp_path / ".nb2pipe" / "runs").exists()


def test_an_unknown_metric_names_the_metrics_there_are(tmp_path):
    notebook = grid_notebook(tmp_path)
    done = cli("sweep", notebook, "-p", "C", "1,2", "--metric", "f1", cwd=tmp_path)
    assert done.returncode == 2
    assert error_lines(done.stderr) == [
        f"error: {notebook}: --metric f1: no step records it (metrics: accuracy)"
    ]


def test_random_and_optuna_together_are_refused(tmp_path):
    notebook = grid_notebook(tmp_path)
    done = cli("sweep", notebook, "-p", "C", "1,2", "--random", "2", "--optuna", "2", cwd=tmp_path)
    assert done.returncode == 2
    assert "--random and --optuna: choose one" in done.stderr


def test_a_sweep_on_a_dask_cluster_shares_its_prefix_too(dask_cluster, tmp_path):
    notebook = grid_notebook(tmp_path)
    workspace = tmp_path / ".nb2pipe"
    sweep = run_sweep(
        *load_pipeline(notebook), {"C": [0.01, 1.0], "max_depth": [2]}, metric="accuracy",
        isolation=dask_cluster.address, workspace=workspace,
    )  # fmt: skip
    assert sweep.status == "succeeded", [(t.status, t.run_id) for t in sweep.trials]
    runs = [t.run_id for t in sweep.trials]
    assert executions(workspace, runs) == {
        "load": 1, "split": 1, "linear": 2, "tree": 1, "evaluate": 2
    }  # fmt: skip
    workers = set()
    for run_id in runs:
        for step, status in statuses(workspace, run_id).items():
            if status == "done":
                meta = json.loads((workspace / "runs" / run_id / step / "meta.json").read_text())
                workers.add(meta["worker"])
    assert workers <= dask_cluster.worker_addresses and workers


def test_trials_whose_steps_write_files_run_one_after_the_other_and_read_their_own(tmp_path):
    notebook = write_notebook(
        tmp_path / "files.ipynb",
        code("k = 1", "parameters"),
        code("with open('doubled.txt', 'w') as f:\n    f.write(str(k * 2))", "step:write"),
        code("value = float(open('doubled.txt').read())", "step:read", "metrics"),
    )
    warnings = []

    def seen(event):
        if event.kind == "warning":
            warnings.append(event.data["message"])

    workspace = tmp_path / ".nb2pipe"
    sweep = run_sweep(*load_pipeline(notebook), {"k": [1, 2, 3]}, max_parallel=2, observers=[seen],
                      workspace=workspace)  # fmt: skip
    assert [t.value for t in sweep.trials] == [2.0, 4.0, 6.0]
    assert warnings == [
        "step 'write' writes doubled.txt and differs between trials: the trials run one after "
        "the other, so that none reads another's file"
    ]
    # k=1 again: its `write` ran before, but the file it wrote has changed since: run again.
    again = run_sweep(*load_pipeline(notebook), {"k": [1]}, workspace=workspace)
    assert again.trials[0].value == 2.0
    assert statuses(workspace, again.trials[0].run_id)["write"] == "done"
