"""The features a model's serve cells computed, sampled into the prediction log lines, and read
back beside the raw inputs (served_features.py, prediction_log.logged_features)."""

import itertools
import json

import numpy as np
import pandas as pd

from jupyter_mlops.data.prediction_log import logged_features, logged_inputs
from jupyter_mlops.serving.prediction_log import PredictionLog
from jupyter_mlops.serving.served_features import sampled


class Served:
    """What `unwrap_python_model` gives for a model published with serve cells."""

    def __init__(self, features):
        self.features = features

    def last_features(self):
        return self.features


class Pyfunc:
    def __init__(self, inner):
        self.inner = inner

    def unwrap_python_model(self):
        return self.inner


def every_other():
    flips = itertools.cycle([0.0, 1.0])
    return lambda: next(flips)


def test_a_sample_of_rows_gets_its_features():
    frame = pd.DataFrame({"ratio": [0.5, 0.25, np.nan, 2.0], "colour_red": [1.0, 0.0, 0.0, 1.0]})
    got = sampled(Pyfunc(Served(frame)), 4, share=0.5, draw=every_other())
    assert got == [
        {"ratio": 0.5, "colour_red": 1.0},
        None,
        {"ratio": None, "colour_red": 0.0},
        None,
    ]
    array = np.array([[1.0, 2.0], [3.0, 4.0]])
    assert sampled(Pyfunc(Served(array)), 2, share=1.0) == [
        {"0": 1.0, "1": 2.0},
        {"0": 3.0, "1": 4.0},
    ]


def test_models_without_serve_cells_log_no_features():
    class Plain:
        def unwrap_python_model(self):
            raise AttributeError("not a python model")

    assert sampled(Plain(), 3) == [None, None, None]
    assert sampled(Pyfunc(object()), 2) == [None, None]
    assert sampled(Pyfunc(Served(None)), 2) == [None, None]
    assert sampled(Pyfunc(Served(pd.DataFrame({"a": [1.0]}))), 2) == [None, None]  # not these rows


def test_the_log_reads_back_raw_inputs_and_features_apart(tmp_path):
    log = PredictionLog(tmp_path / "predictions.jsonl")
    lines = [
        {"id": f"r-{i}", "ts": 1.0, "model": "wine", "version": "2", "prediction": i % 2,
         "inputs": {"alcohol": 12.0 + i, "colour": "red"},
         **({"features": {"ratio": 0.1 * i, "colour_red": 1.0}} if i % 3 == 0 else {})}
        for i in range(9)
    ]  # fmt: skip
    log.append(lines)
    inputs = logged_inputs(log.path)
    assert list(inputs.columns) == ["alcohol", "colour"] and len(inputs) == 9
    features = logged_features(log.path)
    assert list(features.columns) == ["model", "model_version", "colour_red", "ratio"]  # sorted
    assert features["ratio"].tolist() == [0.0, 0.30000000000000004, 0.6000000000000001]
    # A torn last line: the slow reader keeps the features apart too.
    with open(log.path, "a") as f:
        f.write(json.dumps(lines[0])[:-5])
    (tmp_path / "bad.jsonl").write_text(log.path.read_text().replace('"ts": 1.0', '"ts": "x"', 1))
    assert len(logged_features(tmp_path / "bad.jsonl")) == 3
    assert "features.ratio" not in logged_inputs(tmp_path / "bad.jsonl").columns
