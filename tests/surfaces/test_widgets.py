"""The notebook's ipywidgets views in a real kernel: `%mlops run` watched live, `%mlops runs`
as a table to sort, tick and compare."""

from __future__ import annotations

import contextlib
import queue
import re
import time

import pytest
from support.mlflow_server import code, markdown, write_notebook

pytestmark = pytest.mark.slow


def pipeline_notebook(folder):
    return write_notebook(
        folder / "tiny.ipynb",
        markdown("# Tiny pipeline"),
        code("rows = 10", "parameters"),
        code("data = list(range(rows))", "step:load"),
        code("import time\ntime.sleep(1)\ntotal = sum(data)", "step:train"),
        code("score = total / 100", "metrics"),
    )


def execute(kernel, source: str, timeout: float = 300) -> list[dict]:
    """Run `source` in `kernel`; every iopub message until the kernel is idle again."""
    msg_id = kernel.execute(source)
    messages = []
    while True:
        try:
            message = kernel.get_iopub_msg(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"no answer within {timeout} s: {messages[-5:]}") from None
        if message["parent_header"].get("msg_id") != msg_id:
            continue
        messages.append(message)
        content = message["content"]
        if message["msg_type"] == "status" and content["execution_state"] == "idle":
            return messages


def stdout(messages: list[dict]) -> str:
    return "".join(
        m["content"]["text"]
        for m in messages
        if m["msg_type"] == "stream" and m["content"]["name"] == "stdout"
    )


def widget_values(messages: list[dict]) -> list[str]:
    """Every `value` a widget was created with or updated to, in the order sent."""
    out = []
    for m in messages:
        if m["msg_type"] in ("comm_open", "comm_msg"):
            state = m["content"].get("data", {}).get("state", {})
            if isinstance(state.get("value"), str):
                out.append(state["value"])
    return out


def linked_later(kernel, timeout: float = 180) -> None:
    """The view shows the MLflow run's link within `timeout` seconds (sent after the cell)."""
    later: list[dict] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not any(
        "MLflow run <code>" in v for v in widget_values(later)
    ):
        with contextlib.suppress(queue.Empty):
            later.append(kernel.get_iopub_msg(timeout=2))
    assert any("MLflow run <code>" in v for v in widget_values(later)), widget_values(later)


@pytest.fixture
def kernel(tmp_path, tracking_uri):
    from jupyter_client.manager import start_new_kernel

    manager, client = start_new_kernel(kernel_name="python3", cwd=str(tmp_path))
    try:
        yield client
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)


def test_mlops_run_updates_the_view_as_steps_go(kernel, tmp_path, client, unique):
    pipeline_notebook(tmp_path)
    execute(kernel, f"%load_ext jupyter_mlops\n%mlops experiment {unique}")
    messages = execute(kernel, "%mlops run tiny.ipynb -p rows=20")
    errors = [m["content"] for m in messages if m["msg_type"] == "error"]
    assert not errors, errors
    values = widget_values(messages)
    # the step rows went pending → running → done, in that order, while the cell ran
    running = [i for i, v in enumerate(values) if ">running<" in v]
    done = [i for i, v in enumerate(values) if ">done<" in v]
    assert running and done and min(running) < max(done), values
    assert any(">succeeded<" in v for v in values)
    assert any("score = 1.9" in v for v in values), values  # sum(range(20)) / 100
    # The cell returns with the last step: a detached process logs the run, and the view
    # links the MLflow run once that process has logged it.
    assert any("logging the run to MLflow" in v for v in values), values
    linked_later(kernel)

    # Again: every step comes from the cache; the same.
    again = widget_values(execute(kernel, "%mlops run tiny.ipynb -p rows=20"))
    assert any(">cached<" in v for v in again), again
    assert any("logging the run to MLflow" in v for v in again), again
    linked_later(kernel)

    # the same call as a function: the view's state, read back in the kernel
    shown = stdout(
        execute(
            kernel,
            "import jupyter_mlops\n"
            "view = jupyter_mlops.run('tiny.ipynb', rows=5)\n"
            "print(view.status, sorted(view.statuses.items()), view.metrics)",
        )
    )
    # With a tracking server MLflow's "View run" links are printed too (the pipeline's only).
    lines = [line for line in shown.splitlines() if not line.startswith(("🏃", "🧪"))]
    assert lines == ["succeeded [('load', 'done'), ('train', 'done')] {'score': 0.1}"], shown


def test_the_runs_table_sorts_ticks_and_compares(tracking_uri, client, unique):
    """`%mlops runs`' table: its state as the buttons and ticks change it."""
    import jupyter_mlops
    from jupyter_mlops.tracking import read
    from jupyter_mlops.widgets.runs_table import RunsTable

    experiment = client.create_experiment(unique)
    for acc in (0.7, 0.9, None, 0.8):
        run = client.create_run(experiment, run_name=f"acc-{acc}")
        if acc is not None:  # a run without the metric: last, whichever way the table sorts
            client.log_metric(run.info.run_id, "acc", acc)
        client.log_param(run.info.run_id, "lr", str((acc or 0) / 10))
        client.set_terminated(run.info.run_id)
    jupyter_mlops.set_experiment(unique)
    table = RunsTable(read.recent_runs(client, unique), "4 latest runs")
    by_id = {r["run_id"]: r["metrics"].get("acc") for r in table.runs}
    table.sort("acc")
    assert [by_id[i] for i in table.order] == [0.9, 0.8, 0.7, None]
    table.sort("acc")
    assert [by_id[i] for i in table.order] == [0.7, 0.8, 0.9, None]
    assert table.compare_button.disabled
    table.tick(table.order[0])
    table.tick(table.order[2])
    assert not table.compare_button.disabled
    table.compare()
    assert "acc-0.7" in table.comparison.value and "acc-0.9" in table.comparison.value
    assert "lr" in table.comparison.value and "*" in table.comparison.value
    assert "acc" in table.text().splitlines()[1]


def test_mlops_runs_after_mlops_run_lists_that_pipeline_with_its_steps(kernel, tmp_path, unique):
    """Right after `%mlops run nb.ipynb`, `%mlops runs` looks where that run was logged (not in
    the experiment of the notebook the kernel runs), lists the pipeline run once with its
    steps nested under it, named by the values it changed, and compares two pipeline runs
    with columns headed by name and id."""
    pipeline_notebook(tmp_path)
    execute(kernel, f"%load_ext jupyter_mlops\n%mlops experiment {unique}")
    for rows in (20, 30):
        execute(kernel, f"%mlops run tiny.ipynb -p rows={rows}")
    listed = execute(
        kernel,
        "%mlops runs -n 10\n"
        "import jupyter_mlops\n"
        "runs = jupyter_mlops.recent_runs(10)\n"
        "print([(r['name'], r['kind'], [s['step'] for s in r['steps']]) for r in runs])",
    )
    tables = [
        m["content"]["data"]["text/plain"]
        for m in listed
        if m["msg_type"] == "display_data" and "text/plain" in m["content"]["data"]
    ]
    assert tables, stdout(listed)
    lines = tables[0].splitlines()
    assert "experiment 'tiny'" in lines[0], lines
    width = lines[2].index(" ")  # the dashes under the first column
    # the two runs just made come first (a shared server's experiment may hold older ones)
    names = [line[:width].rstrip() for line in lines[3:9]]
    assert names == [
        "tiny · rows=30",
        "  └ load",
        "  └ train",
        "tiny · rows=20",
        "  └ load",
        "  └ train",
    ], lines
    assert "('tiny · rows=30', 'pipeline', ['load', 'train'])" in stdout(listed)

    compared = execute(
        kernel,
        "from jupyter_mlops.tracking.compare import compare_runs\n"
        "headers, rows = compare_runs(runs[0]['run_id'], runs[1]['run_id'])\n"
        "print(headers)",
    )
    ids = [line for line in stdout(compared).splitlines() if line.startswith("[")][-1]
    assert "'tiny · rows=30 · " in ids and "'tiny · rows=20 · " in ids, ids


def test_mlops_sweep_shows_each_trial_live_and_the_best(kernel, tmp_path, client, unique):
    pipeline_notebook(tmp_path)
    execute(kernel, f"%load_ext jupyter_mlops\n%mlops experiment {unique}")
    messages = execute(kernel, "%mlops sweep tiny.ipynb -p rows=10,20,30 --metric score")
    errors = [m["content"] for m in messages if m["msg_type"] == "error"]
    assert not errors, errors
    values = widget_values(messages)
    tables = [v for v in values if "jp-mlops-sweep-trials" in v]
    # every trial listed pending up front, then running, then succeeded with its score
    assert tables and tables[0].count(">pending<") == 3, tables[:1]
    assert any(">running<" in v for v in tables)
    final = tables[-1]
    assert final.count(">succeeded<") == 3 and "<td>4.35</td>" in final  # sum(range(30)) / 100
    assert '<tr data-trial="2" style="font-weight:bold">' in final  # the best, marked
    assert any("best: trial 2 (score = 4.35)" in v for v in values), values
    # the sweep reached MLflow (the pipeline's experiment, as `%mlops run` logs), its best tagged
    from jupyter_mlops.tracking import config

    [sweep_id] = {
        m.group(1) for v in values for m in [re.search(r"sweep <code>([\w-]+)</code>", v)] if m
    }
    experiment = client.get_experiment_by_name(config.experiment_name("tiny", tmp_path))
    found = client.search_runs(
        [experiment.experiment_id], f"tags.`nb2pipe.sweep_id` = '{sweep_id}'"
    )
    kinds = sorted(r.data.tags["nb2pipe.kind"] for r in found)
    assert kinds == ["sweep", "trial", "trial", "trial"]
    assert (
        next(r for r in found if r.data.tags["nb2pipe.kind"] == "sweep").data.tags[
            "nb2pipe.best_trial"
        ]
        == "2"
    )

    bad = execute(kernel, "%mlops sweep tiny.ipynb -p rowz=1,2")
    said = "".join(m["content"]["text"] for m in bad if m["msg_type"] == "stream")
    assert said.strip() == (  # IPython shows a UsageError as one line, no traceback
        "UsageError: -p rowz: not a parameter of the notebook (did you mean 'rows'?)"
    )
