"""Run for real: the pipeline prints and computes what papermill's Run All does, or says why not.

Each notebook here is run twice, by plain papermill and by `run_pipeline`, and the printed output
of every cell compared. The corpus in tests/fidelity does this for many more notebooks.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from runkit import code, run, write_notebook

from nb2pipe.runner import events as ev

pytestmark = pytest.mark.slow


def stdout_by_cell(document: dict) -> dict[int, str]:
    """Source cell number → what the cell printed (papermill's banner cells left out)."""
    out: dict[int, str] = {}
    # papermill's own cells (an error banner, the injected parameters) are not the notebook's.
    cells = [
        c
        for c in document["cells"]
        if not {"papermill-error-cell-tag", "injected-parameters"}
        & set(c["metadata"].get("tags", []))
    ]
    for index, cell in enumerate(cells, start=1):
        meta = cell["metadata"].get("nb2pipe") or {}
        if cell["cell_type"] != "code" or "role" in meta:
            continue
        text = "".join(
            "".join(o.get("text", ""))
            for o in cell.get("outputs", [])
            if o.get("output_type") == "stream" and o.get("name") == "stdout"
        )
        out[meta.get("cell", index)] = re.sub(r"0x[0-9a-f]+", "0x…", text)
    return out


def run_all(notebook: Path) -> dict[int, str]:
    from nb2pipe.runner.execute import import_papermill

    papermill = import_papermill()
    executed = notebook.with_name("run_all.ipynb")
    try:
        papermill.execute_notebook(
            str(notebook),
            str(executed),
            kernel_name="python3",
            cwd=str(notebook.parent),
            progress_bar=False,
        )
    except papermill.PapermillExecutionError:
        pass  # a raises-exception cell: papermill reports it, the outputs are what count
    return stdout_by_cell(json.loads(executed.read_text()))


def pipeline_outputs(result) -> dict[int, str]:
    out: dict[int, str] = {}
    for step in result.steps:
        executed = result.run_dir / step / "notebook.ipynb"
        out.update(stdout_by_cell(json.loads(executed.read_text())))
    return out


def assert_equal_to_run_all(tmp_path: Path, *cells: dict, files=None, **options) -> object:
    for folder in ("papermill", "pipeline"):
        write_notebook(tmp_path / folder / "nb.ipynb", *cells)
        for name, text in (files or {}).items():
            (tmp_path / folder / name).write_text(text)
    expected = run_all(tmp_path / "papermill" / "nb.ipynb")
    seen: list = []
    result = run(
        tmp_path / "pipeline" / "nb.ipynb",
        tmp_path / "pipeline" / ".nb2pipe",
        observers=[seen.append],
        **options,
    )
    assert result.ok, result.failure()
    got = pipeline_outputs(result)
    assert got, "no step printed anything"
    for cell, text in got.items():
        assert text == expected[cell], f"cell {cell} differs from Run All"
    assert not [e for e in seen if e.kind == ev.WARNING]
    return result


MUTATIONS = [
    code("import pandas as pd\nfrom sklearn.linear_model import LogisticRegression", "imports"),
    code(
        "df = pd.DataFrame({'a': range(8), 'b': [0, 1] * 4})\nnames = ['x']\n"
        "class Settings:\n    threshold = 0.5\nsettings = Settings()\nmodel = LogisticRegression()",
        "step:load",
    ),
    code("df['c'] = df['a'] * 2\ndf.drop(columns='b', inplace=True)", "step:clean"),
    code("names.append('y')\nsettings.threshold = 0.8", "step:configure"),
    code("model.fit(df[['a']], [0, 1] * 4)", "step:fit"),
    code("df['d'] = 1", "step:left"),
    code("df['e'] = 2", "step:right"),
    code(
        "print(df.columns.tolist(), names, settings.threshold)\nprint(model.predict(df[['a']]))",
        "step:report",
    ),
]


@pytest.mark.parametrize("isolation", ["kernel", "process"])
def test_changes_made_in_later_steps_reach_the_readers(tmp_path, isolation):
    assert_equal_to_run_all(tmp_path, *MUTATIONS, isolation=isolation)


SEEDED = [
    code("import numpy as np\nimport random", "imports"),
    code("from sklearn.ensemble import RandomForestClassifier", "imports"),
    code("from sklearn.model_selection import train_test_split", "imports"),
    code("np.random.seed(42)\nrandom.seed(7)\nX = np.random.rand(60, 3)", "step:seed"),
    code("y = (X[:, 0] > 0.5).astype(int)\nprint(np.random.rand(2), random.random())", "step:draw"),
    code("Xtr, Xte, ytr, yte = train_test_split(X, y)\nprint(Xtr[:2])", "step:split"),
    code(
        "m = RandomForestClassifier(n_estimators=5).fit(Xtr, ytr)\nprint(m.predict_proba(Xte[:3]))",
        "step:fit",
    ),
]


@pytest.mark.parametrize("isolation", ["kernel", "process"])
def test_seeded_random_numbers_equal_run_all_in_every_isolation(tmp_path, isolation):
    assert_equal_to_run_all(tmp_path, *SEEDED, isolation=isolation)


def test_functions_star_imports_settings_and_kale_folding(tmp_path):
    assert_equal_to_run_all(
        tmp_path,
        code("import pandas as pd", "imports"),
        code("import json"),  # untagged after imports: Kale folds it into the imports
        code(
            "theta = 2.0\nfrom math import *\npd.set_option('display.max_rows', 4)\n"
            "import collections as co",
            "step:a",
        ),
        code(
            "def predict(x):\n    return x * theta\nprint(predict(2))\ntheta = 5.0\n"
            "print(predict(2), sqrt(16))",
            "step:b",
        ),
        code("def scale(v):\n    return v * factor\nfactor = 3", "step:c"),
        code(
            "factor = 10\nprint(scale(2), floor(2.5), co.Counter('aab'), json.dumps([1]))\n"
            "print(pd.DataFrame({'x': range(10)}))",
            "step:d",
        ),
    )


def test_files_written_and_read_between_steps(tmp_path):
    assert_equal_to_run_all(
        tmp_path,
        code("import pandas as pd\nimport mylib", "imports"),
        code("df = pd.read_csv('data.csv')\nprint(mylib.double(int(df['a'].sum())))", "step:load"),
        code("df.to_csv('out.csv', index=False)", "step:write"),
        code("print(open('out.csv').read())", "step:read"),
        code("%%writefile gen_mod.py\nVALUE = 41\n", "step:module"),
        code("import gen_mod\nprint(gen_mod.VALUE + 1)", "step:use"),
        files={"data.csv": "a,b\n1,2\n3,4\n", "mylib.py": "def double(x):\n    return 2 * x\n"},
    )


def test_an_expected_exception_does_not_fail_the_step(tmp_path):
    result = assert_equal_to_run_all(
        tmp_path,
        code("x = 1\nprint(x)", "step:a"),
        code("raise ValueError('on purpose')", "step:b", "raises-exception"),
        code("print(x + 1)"),
    )
    assert result.steps["b"].status == "done"


def test_a_real_failure_after_an_expected_one_names_its_own_cell(tmp_path):
    nb = write_notebook(
        tmp_path / "nb.ipynb",
        code("x = 1", "step:a"),
        code("raise ValueError('on purpose')", "step:b", "raises-exception"),
        code("print(x)\n1 / 0"),
    )
    result = run(nb, tmp_path / ".nb2pipe")
    failure = result.failure()
    assert failure.cell == 3
    assert "ZeroDivisionError" in failure.message


# --- what static analysis cannot see is caught at run time ----------------------------------


def test_a_change_the_analysis_cannot_see_fails_the_step_naming_it(tmp_path):
    (tmp_path / "sneaky.py").write_text("def add_column(frame):\n    frame['z'] = 1\n")
    nb = write_notebook(
        tmp_path / "nb.ipynb",
        code("import pandas as pd\nimport sneaky", "imports"),
        code("df = pd.DataFrame({'a': [1, 2]})", "step:load"),
        code("sneaky.add_column(df)\nn = len(df)", "step:change"),
        code("print(df.columns.tolist(), n)", "step:report"),
    )
    result = run(nb, tmp_path / ".nb2pipe")
    assert result.steps["change"].status == "failed"
    failure = result.failure()
    assert failure.cell == 3
    assert "changed 'df' in place in a way nb2pipe cannot see" in failure.message
    assert "`df = modify(df)`" in failure.message


def test_a_draw_outside_the_carried_random_state_is_a_warning(tmp_path):
    (tmp_path / "noise.py").write_text(
        "import numpy as np\ndef jitter():\n    return np.random.rand()\n"
    )
    nb = write_notebook(
        tmp_path / "nb.ipynb",
        code("import numpy as np\nimport noise", "imports"),
        code("np.random.seed(0)\nx = np.random.rand()", "step:seed"),
        code("y = noise.jitter()", "step:other"),
    )
    seen: list = []
    result = run(nb, tmp_path / ".nb2pipe", observers=[seen.append])
    assert result.ok
    [warning] = [e for e in seen if e.kind == ev.WARNING]
    assert warning.step == "other" and warning.data["cell"] == 3
    assert "drew from global random state" in warning.data["message"]


def test_a_value_that_cannot_be_saved_names_the_variable_and_why(tmp_path):
    (tmp_path / "holder.py").write_text(
        "import threading\nclass Holder:\n    def __init__(self):\n        self.lock = threading.Lock()\n"
    )
    nb = write_notebook(
        tmp_path / "nb.ipynb",
        code("import holder", "imports"),
        code("h = holder.Holder()", "step:make"),
        code("print(h)", "step:use"),
    )
    failure = run(nb, tmp_path / ".nb2pipe").failure()
    assert "'h' (holder.Holder) cannot be passed to the steps that read it" in failure.message
    assert "lock" in failure.message


def test_a_step_of_imports_only_is_not_warned_in_a_seeded_notebook(tmp_path):
    """Importing numpy is not drawing from its global generator (issue 22): no warning."""
    assert_equal_to_run_all(
        tmp_path,
        code("import numpy as np\nimport matplotlib\nmatplotlib.use('Agg')", "step:imports_only"),
        code("import matplotlib.pyplot as plt\nprint(plt.gcf() is not None)"),
        code("np.random.seed(0)\nprint(np.random.rand(2))", "step:seed"),
        code("print(np.random.rand(2))", "step:draw"),
    )


def test_values_that_share_an_object_stay_shared_in_every_isolation(tmp_path):
    for isolation in ("kernel", "process"):
        assert_equal_to_run_all(
            tmp_path / isolation,
            code("import numpy as np", "imports"),
            code("x = [1, 2]\ny = x\ngrid = np.zeros((2, 2))\ncorner = grid[:1, :1]", "step:a"),
            code("x.append(3)\ncorner[0, 0] = 5\nprint(y, grid.sum())", "step:b"),
            code("print(y, y is x, grid, corner)", "step:c"),
            isolation=isolation,
        )
