"""Data versions by content: each run records the data files its steps read (sha256, size);
`status` names those changed since, `diff` compares two runs, `run --like` repeats a run only on
the data it read."""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

import pytest
from runkit import cli, code, error_lines, run, write_notebook


def data_notebook(
    folder: Path,
    total: str = "total = float(frame['y'].sum() * factor)",
    data: str = "x,y\n1,2\n3,4\n",
) -> Path:
    (folder / "data.csv").write_text(data)
    (folder / "other.csv").write_text("x,y\n5,6\n")
    (folder / "lookup.json").write_text('{"bonus": 1}')
    return write_notebook(
        folder / "data.ipynb",
        code("path = 'data.csv'  # the data\nfactor = 2", "parameters"),
        code("import json\nimport pandas as pd", "imports"),
        code("frame = pd.read_csv(path)", "step:load"),
        code("bonus = json.load(open('lookup.json'))['bonus']", "step:lookup"),
        code(f"{total}\ntotal += bonus\nprint(total)", "step:total", "metrics"),
    )


def info(result) -> dict:
    return json.loads((result.run_dir / "run.json").read_text())


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_run_records_every_data_file_its_steps_read_with_sha256_and_size(tmp_path):
    notebook = data_notebook(tmp_path)
    result = run(notebook, tmp_path / ".nb2pipe")
    assert result.ok, result.failure()
    files = info(result)["data_files"]
    assert files == {
        "data.csv": {"sha256": sha(tmp_path / "data.csv"), "size": 12, "steps": ["load"]},
        "lookup.json": {"sha256": sha(tmp_path / "lookup.json"), "size": 12, "steps": ["lookup"]},
    }
    assert info(result)["environment"]["packages"]["pandas"].startswith("pandas==")


def test_a_string_parameter_naming_a_file_is_read_and_its_changes_rerun_the_step(tmp_path):
    notebook = data_notebook(tmp_path)
    workspace = tmp_path / ".nb2pipe"
    first = run(notebook, workspace, params={"path": "other.csv"})
    assert first.ok, first.failure()
    assert "other.csv" in info(first)["data_files"]
    assert info(first)["data_files"]["other.csv"]["steps"] == ["load"]
    (tmp_path / "other.csv").write_text("x,y\n5,60\n")
    again = run(notebook, workspace, params={"path": "other.csv"})
    assert again.steps["load"].status == "done"  # the file it names changed: not from cache
    assert again.metrics["total"] == 121.0


def test_status_says_which_data_file_changed_since_which_run(tmp_path):
    notebook = data_notebook(tmp_path)
    first = run(notebook, tmp_path / ".nb2pipe")
    (tmp_path / "data.csv").write_text("x,y\n1,2\n3,5\n")
    done = cli("status", notebook, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert f"file data.csv changed since run {first.run_id}" in lines[0]
    assert lines[-1] == f"data: data.csv changed since run {first.run_id}"
    (tmp_path / "lookup.json").unlink()
    done = cli("status", notebook, cwd=tmp_path)
    assert f"data: lookup.json is gone since run {first.run_id}" in done.stdout.splitlines()


def test_run_like_repeats_a_run_with_its_parameters_on_the_same_data(tmp_path):
    notebook = data_notebook(tmp_path)
    first = run(notebook, tmp_path / ".nb2pipe", params={"factor": 5})
    done = cli("run", notebook, "--like", first.run_id, "--force", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    newest = max((tmp_path / ".nb2pipe" / "runs").iterdir())
    record = json.loads((newest / "run.json").read_text())
    assert record["like"] == first.run_id and record["params"]["factor"] == 5
    assert record["data_files"] == info(first)["data_files"]


def test_run_like_refuses_when_a_data_file_changed_naming_it(tmp_path):
    notebook = data_notebook(tmp_path)
    first = run(notebook, tmp_path / ".nb2pipe")
    runs_before = sorted((tmp_path / ".nb2pipe" / "runs").iterdir())
    old = sha(tmp_path / "data.csv")
    (tmp_path / "data.csv").write_text("x,y\n1,2\n3,4\n5,6\n")
    done = cli("run", notebook, "--like", first.run_id, cwd=tmp_path)
    assert done.returncode == 2
    assert error_lines(done.stderr) == [
        f"error: data.csv: changed since run {first.run_id} (sha256 {old[:12]} then, "
        f"{sha(tmp_path / 'data.csv')[:12]} now): --like repeats a run only on the data it read"
    ]
    assert sorted((tmp_path / ".nb2pipe" / "runs").iterdir()) == runs_before  # nothing started


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--like", "20990101-000000-abcdef"],
            "error: --like 20990101-000000-abcdef: no such run in",
        ),
        (["--like", "../x"], "error: --like ../x: no such run in"),
    ],
)
def test_run_like_of_an_unknown_run_is_one_line(tmp_path, args, message):
    notebook = data_notebook(tmp_path)
    done = cli("run", notebook, *args, cwd=tmp_path)
    assert done.returncode == 2
    [line] = error_lines(done.stderr)
    assert line.startswith(message)


def test_diff_lists_parameters_code_data_environment_and_metrics(tmp_path):
    notebook = data_notebook(tmp_path)
    first = run(notebook, tmp_path / ".nb2pipe")
    # other code and other data
    data_notebook(tmp_path, "total = float(frame['y'].sum() * factor * 10)", "x,y\n1,2\n3,40\n")
    second = run(notebook, tmp_path / ".nb2pipe", params={"factor": 3})
    record = info(second)  # another environment, as a hand-edited record says
    record["environment"]["packages"]["pandas"] = "pandas==0.0.1"
    (second.run_dir / "run.json").write_text(json.dumps(record))
    done = cli("diff", first.run_id, second.run_id, cwd=tmp_path)
    assert done.returncode == 1, done.stderr
    out = done.stdout
    assert f"runs {first.run_id} → {second.run_id}" in out
    assert "parameters:\n  factor: 2 → 3\n" in out
    assert (
        "step total: changed\n" in out and "+total = float(frame['y'].sum() * factor * 10)" in out
    )
    assert "step load" not in out and "step lookup" not in out
    assert "data files:\n  data.csv: " in out and "(12 bytes) → " in out and "(13 bytes)" in out
    assert "environment:\n  pandas: 'pandas==" in out and "→ 'pandas==0.0.1'" in out
    assert "metrics:\n  total: 13 → 1261 (+1.25e+03)" in out


def test_diff_of_a_run_with_itself_says_same_and_of_unknown_runs_one_line(tmp_path):
    notebook = data_notebook(tmp_path)
    first = run(notebook, tmp_path / ".nb2pipe")
    done = cli("diff", first.run_id, first.run_id[:-2], cwd=tmp_path)  # a unique prefix
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[1:] == [
        "parameters: same", "code: same", "data files: same", "environment: same", "metrics: same",
    ]  # fmt: skip
    done = cli("diff", first.run_id, "nope", cwd=tmp_path)
    assert done.returncode == 2
    assert error_lines(done.stderr) == [
        f"error: diff nope: no such run in {tmp_path / '.nb2pipe' / 'runs'} (newest: {first.run_id})"
    ]


def test_diff_of_hand_edited_records_compares_what_it_can(tmp_path):
    notebook = data_notebook(tmp_path)
    first = run(notebook, tmp_path / ".nb2pipe")
    second = run(notebook, tmp_path / ".nb2pipe", params={"factor": 4})
    record = info(second)
    record.update(data_files=["not", "a", "mapping"], environment="?", steps=[1, "../x"])
    (second.run_dir / "run.json").write_text(json.dumps(record))
    (first.run_dir / "run.json").write_text(
        json.dumps({**info(first), "data_files": {"data.csv": {"sha256": 5, "size": "big"}}})
    )
    done = cli("diff", first.run_id, second.run_id, cwd=tmp_path)
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr and not error_lines(done.stderr)
    assert "  factor: 2 → 4" in done.stdout
    assert "  data.csv: 5 → (not read)" in done.stdout
    assert "  total: 13 → (none)" in done.stdout  # the edited record lists no real steps


def test_runs_started_in_the_same_second_list_newest_first(tmp_path):
    """Runs served by the cache start several a second: the latest is still listed first."""
    from nb2pipe.runner.rundir import Workspace

    workspace = Workspace(tmp_path / ".nb2pipe")
    made = []
    for _ in range(5):
        run = workspace.new_run()
        (run.path / "run.json").write_text("{}")
        made.append(run.path.name)
        time.sleep(0.002)
    assert [r.path.name for r in workspace.all_runs()] == made[::-1]
