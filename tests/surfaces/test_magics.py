"""`%load_ext jupyter_mlops` and the `%mlops` magics, in a real kernel, on both stores."""

from __future__ import annotations

import ast
import re
import sys

import pytest

from jupyter_mlops.magics import analyse_cell

WIDGET = "application/vnd.jupyter.widget-view+json"


def run_cells(sources: list[str], cwd) -> list[list[dict]]:
    """Execute `sources` as one notebook in a fresh kernel; return each cell's outputs."""
    import nbformat
    from nbclient import NotebookClient

    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(source) for source in sources]
    NotebookClient(
        notebook,
        kernel_name="python3",
        timeout=600,
        allow_errors=True,
        resources={"metadata": {"path": str(cwd)}},
    ).execute()
    return [cell.outputs for cell in notebook.cells]


def text(outputs: list[dict]) -> str:
    parts = []
    for output in outputs:
        if output["output_type"] == "stream":
            parts.append(output["text"])
        elif output["output_type"] == "error":
            parts.append(f"{output['ename']}: {output['evalue']}")
        elif "text/plain" in output.get("data", {}):
            parts.append(output["data"]["text/plain"])
    return "".join(parts)


def tracked_run(output: str) -> str:
    """The run id in `%%mlops track`'s summary (a server also prints "View run" links)."""
    return re.search(r"tracked run ([0-9a-f]+)", output).group(1)


def test_analyse_cell_finds_parameters_and_assignments():
    literals, stored, read = analyse_cell(
        "lr = 0.1\nname: str = 'rf'\nscore = model.fit(X).score(X)\n"
        "def helper(a):\n    inner = a\n    return inner\nfor i in range(3):\n    total = i\n"
    )
    assert literals == {"lr": 0.1, "name": "rf"}
    # As the compiler sees it: `helper` is bound, `model.fit(...)` changes `model`; names bound
    # inside functions are not. Only numbers among them become metrics.
    assert stored == {"lr", "name", "score", "helper", "model", "i", "total"}
    assert read == {"model", "X", "range", "str"}  # builtins are filtered out later


@pytest.mark.slow
def test_magics_in_a_real_kernel(tracking_uri: str, client, unique: str, tmp_path):
    model_name = f"{unique}-iris"
    cells = [
        # 0: loading the extension must not import mlflow
        "import sys, time\nstart = time.perf_counter()\n%load_ext jupyter_mlops\n"
        "load_ext_seconds = time.perf_counter() - start\n"
        "print('mlflow' in sys.modules, round(load_ext_seconds, 3))",
        # 1
        f"%mlops experiment {unique}",
        # 2: a parameter set earlier, read by the tracked cell
        "depth = 4",
        # 3
        "%%mlops track --name first\nlr = 0.1\nepochs = 3\nlabel = 'baseline'\n"
        "acc = lr * epochs + depth / 100",
        # 4
        "%%mlops track --name second\nlr = 0.2\nepochs = 3\nacc = lr * epochs + depth / 100",
        # 5
        "%mlops log f1=0.5 note=hello",
        # 6
        "%mlops runs -n 5",
        # 7
        "import jupyter_mlops\n"
        "ids = {r['name']: r['run_id'] for r in jupyter_mlops.recent_runs(10)}\n"
        "first, second = ids['first'], ids['second']",
        # 8
        "%mlops compare $first $second",
        # 9
        "from sklearn.datasets import load_iris\n"
        "from sklearn.linear_model import LogisticRegression\n"
        "X, y = load_iris(return_X_y=True, as_frame=True)\n"
        "model = LogisticRegression(max_iter=500).fit(X, y)\n"
        "accuracy = float(model.score(X, y))",
        # 10
        f"%mlops publish model {model_name} --metric accuracy --data X",
        # 11
        f"%mlops promote {model_name} --metric accuracy",
        # 12
        "%mlops registry",
        # 13
        f"%mlops registry {model_name}",
        # 14..: bad input, one UsageError line each
        "%mlops",
        "%mlops bogus",
        f"%mlops publish no_such_variable {model_name} --metric accuracy",
        f"%mlops promote {model_name}",
        "%mlops log novalue",
        "%mlops track",
        f"%mlops promote {unique}-missing --metric accuracy",
        # 21: a failing tracked cell fails (a pipeline step stops) and its run is FAILED
        "%%mlops track --name broken\nloss = 3 / 2\nraise ValueError('boom')",
    ]
    outputs = run_cells(cells, tmp_path)
    out = [text(o) for o in outputs]

    imported, seconds = out[0].split()
    assert imported == "False", "%load_ext imported mlflow"
    assert float(seconds) < 2.0
    assert out[1].strip() == f"experiment: {unique}"

    first_id, second_id = tracked_run(out[3]), tracked_run(out[4])
    assert "4 parameters (depth, lr, epochs, label), 1 metrics (acc)" in out[3]
    first, second = client.get_run(first_id), client.get_run(second_id)
    assert first.info.run_name == "first" and first.info.status == "FINISHED"
    assert first.data.params == {"depth": "4", "lr": "0.1", "epochs": "3", "label": "baseline"}
    assert first.data.metrics == {"acc": pytest.approx(0.34)}
    assert second.data.metrics == {"acc": pytest.approx(0.64)}
    assert client.get_experiment(first.info.experiment_id).name == unique

    assert "logged 1 metrics, 1 parameters" in out[5]
    [table] = [o for o in outputs[6] if o["output_type"] == "display_data"]
    assert WIDGET in table["data"]  # an ipywidgets table...
    plain = table["data"]["text/plain"]  # ...with a plain-text fallback
    assert "first" in plain and "second" in plain and first_id[:8] in plain

    compare = out[8]
    assert "lr" in compare and "0.1" in compare and "0.2" in compare
    assert any(
        line.split()[:2] == ["param", "lr"] and line.endswith("*") for line in compare.splitlines()
    )

    assert f"published {model_name} version 1 as 'challenger'" in out[10]
    assert f"{model_name} version 1 promoted to champion" in out[11]
    assert model_name in out[12] and "champion→1" in out[12]
    assert "challenger, champion" in out[13]
    version = client.get_model_version_by_alias(model_name, "champion")
    assert "| accuracy (gate) |" in version.description
    assert "150 rows, 4 columns" in version.description

    for cell, output in zip(cells[14:21], out[14:21], strict=True):
        lines = [line for line in output.strip().splitlines() if line.strip()]
        assert len(lines) == 1 and lines[0].startswith("UsageError: "), (cell, output)
    assert "a subcommand is needed" in out[14]
    assert "invalid choice: 'bogus'" in out[15]
    assert "no variable named 'no_such_variable'" in out[16]
    assert "--metric" in out[17]
    assert "expected NAME=VALUE" in out[18]
    assert "%%mlops track" in out[19]
    assert "has no 'challenger' version" in out[20]

    [error] = [o for o in outputs[21] if o["output_type"] == "error"]
    assert (error["ename"], error["evalue"]) == ("ValueError", "boom")
    broken = client.get_run(tracked_run(out[21]))
    assert broken.info.status == "FAILED" and broken.data.metrics == {"loss": 1.5}


def test_load_ext_registers_both_magics_without_mlflow():
    code = (
        "import sys\n"
        "from IPython.testing.globalipapp import start_ipython\n"
        "ip = start_ipython()\n"
        "ip.run_line_magic('load_ext', 'jupyter_mlops')\n"
        "magics = ip.magics_manager.magics\n"
        "assert 'mlops' in magics['line'] and 'mlops' in magics['cell']\n"
        "print('mlflow' in sys.modules)\n"
    )
    import subprocess

    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert ast.literal_eval(done.stdout.strip().splitlines()[-1]) is False
