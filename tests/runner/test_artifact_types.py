"""Every serializer carries its kind of value from one step's kernel to the next one's."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from runkit import code, run, statuses, write_notebook

from nb2pipe import artifacts

pytestmark = pytest.mark.slow

EXPECTED_SERIALIZERS = {
    "frame": "arrow",
    "series": "arrow",
    "array": "npy",
    "model": "joblib",
    "config": "json",
    "point": "pickle",
}

PRODUCE = """\
frame = pd.DataFrame({"a": [1, 2, 3], "b": ["x", "y", "z"]}, index=[10, 20, 30])
series = pd.Series([1.5, 2.5, None], name="s")
array = np.arange(6, dtype=np.float32).reshape(2, 3)
model = LinearRegression().fit(np.arange(6).reshape(-1, 1), np.arange(6) * 2.0 + 1)
config = {"lr": 0.1, "layers": [64, 32], "name": "net", "dropout": None}
point = Point(1, 2)
"""

# The downstream step rebuilds each value and compares: a failed assert fails the run.
CONSUME = """\
pd.testing.assert_frame_equal(
    frame, pd.DataFrame({"a": [1, 2, 3], "b": ["x", "y", "z"]}, index=[10, 20, 30])
)
pd.testing.assert_series_equal(series, pd.Series([1.5, 2.5, None], name="s"))
np.testing.assert_array_equal(array, np.arange(6, dtype=np.float32).reshape(2, 3))
assert array.dtype == np.float32
assert type(model).__name__ == "LinearRegression"
np.testing.assert_allclose(model.predict(np.array([[10]])), [21.0])
assert config == {"lr": 0.1, "layers": [64, 32], "name": "net", "dropout": None}
assert point == Point(1, 2) and point.norm2() == 5
checked = len([frame, series, array, model, config, point])
"""


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    folder = tmp_path_factory.mktemp("types")
    notebook = write_notebook(
        folder / "types.ipynb",
        code(
            "import numpy as np\nimport pandas as pd\n"
            "from sklearn.linear_model import LinearRegression",
            "imports",
        ),
        code(
            "class Point:\n"
            "    def __init__(self, x, y):\n"
            "        self.x, self.y = x, y\n\n"
            "    def norm2(self):\n"
            "        return self.x**2 + self.y**2\n\n"
            "    def __eq__(self, other):  # by value: the class may come back by value\n"
            "        return (self.x, self.y) == (other.x, other.y)",
            "functions",
        ),
        code(PRODUCE, "step:produce"),
        code(CONSUME, "step:consume"),
        code("checked = checked", "metrics"),
    )
    return run(notebook, folder / ".nb2pipe")


def test_downstream_step_gets_equal_values(result):
    assert result.ok, result.failure()
    assert statuses(result) == {"produce": "done", "consume": "done"}
    assert result.metrics == {"checked": 6.0}


def test_manifest_names_the_serializer_of_each_type(result):
    manifest = artifacts.read_manifest(result.run_dir, "produce")
    found = {name: entry["serializer"] for name, entry in manifest["artifacts"].items()}
    assert found == EXPECTED_SERIALIZERS
    assert {n: e["serializer"] for n, e in result.steps["produce"].artifacts.items()} == found
    for name, entry in manifest["artifacts"].items():
        path = result.run_dir / "produce" / "artifacts" / entry["file"]
        assert artifacts.file_sha256(path) == entry["sha256"], name
    assert manifest["artifacts"]["series"]["kind"] == "series"
    assert manifest["artifacts"]["point"]["type"].endswith(".Point")


def test_artifacts_load_in_another_process_too(result):
    def load(name):
        return artifacts.load(result.run_dir, "produce", name)

    pd.testing.assert_frame_equal(
        load("frame"), pd.DataFrame({"a": [1, 2, 3], "b": ["x", "y", "z"]}, index=[10, 20, 30])
    )
    assert load("series").name == "s"
    np.testing.assert_array_equal(load("array"), np.arange(6, dtype=np.float32).reshape(2, 3))
    assert load("config")["layers"] == [64, 32]
    # (the model is checked by the consuming step: loading it here costs an sklearn import)
    point = load("point")  # cloudpickle stored the notebook's class by value
    assert (point.x, point.y, point.norm2()) == (1, 2, 5)


def test_a_framework_value_no_format_can_take_fails_its_own_step_before_any_reader(tmp_path):
    # `check` cannot see the type (a helper makes it): the step that made it fails at its end,
    # in XGBoost's own words, and the step that reads it never starts.
    notebook = write_notebook(
        tmp_path / "quantiles.ipynb",
        code("import numpy as np\nimport xgboost as xgb", "imports"),
        code("def quantiles(x, y):\n    return xgb.QuantileDMatrix(x, label=y)", "functions"),
        code("x = np.arange(40.0).reshape(20, 2)\ncuts = quantiles(x, x[:, 0] > 20)", "step:make"),
        code("booster = xgb.train({'max_depth': 2}, cuts, 3)", "step:train"),
    )
    result = run(notebook, tmp_path / ".nb2pipe")
    assert statuses(result) == {"make": "failed", "train": "skipped"}
    message = result.failure().message
    assert "'cuts' (xgboost.core.QuantileDMatrix) cannot be passed" in message
    assert "binary saving only supported by SimpleDMatrix" in message
    assert "Create it in the step that uses it" in message
    assert not (result.run_dir / "make" / "artifacts" / "manifest.json").exists()
