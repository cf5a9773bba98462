"""The served model of a notebook with `serve` cells: the cells, then the model, as one pyfunc.

MLflow loads this file as the model's code ("models from code"), in any MLflow runtime —
`nb2pipe serve`, `mlflow models serve`, KServe's MLflow format, batch scoring — so it imports
the standard library, MLflow and what the notebook's cells import, never jupyter_mlops or
nb2pipe. Its artifacts hold `serve.json` (written by serve_package.py: the cells as nb2pipe
compiled them, the variable a request's rows are bound to, the output, the model's columns) and
the model and the values from training, each checked against its sha256 and loaded once.

On each request a fresh namespace gets the prelude (imports, helper definitions), the values
and the request's rows bound to the input variable; the cells run in order, and the model
predicts on the output, restricted to the columns it was fitted on, in their order. A cell that
fails on a request, output the model cannot take, or a model that refuses it (ValueError,
TypeError, KeyError: `Input X contains NaN`) is a `ServeCellError`: a client error (400) naming
the cell, in MLflow's scoring server as in ours.
"""

from __future__ import annotations

import builtins
import hashlib
import json
import pickle
import threading
from pathlib import Path
from typing import Any

import mlflow.models
import mlflow.pyfunc
import pandas as pd
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import BAD_REQUEST

SPEC = "serve.json"
ARTIFACT = "serve"  # the key of the folder in the model's artifacts


class ServeCellError(MlflowException):
    """A request the notebook's serve cells cannot turn into the model's input: a client error.

    An MlflowException with BAD_REQUEST, so MLflow's own scoring server answers 400 with the
    message; `http_status` is what `nb2pipe serve` reads from a model's client errors.
    """

    status = http_status = 400

    def __init__(self, message: str):
        super().__init__(message, error_code=BAD_REQUEST)


def read_value(folder: Path, entry: dict[str, str]) -> Any:
    """A value written by serve_package.py, after checking its sha256 (a pickle runs code)."""
    path = folder / entry["file"]
    data = path.read_bytes()
    if hashlib.sha256(data).hexdigest() != entry["sha256"]:
        raise MlflowException(f"the served model's {entry['file']} does not match its sha256")
    if entry["format"] == "json":
        return json.loads(data)
    if entry["format"] == "npy":
        import io

        import numpy as np

        return np.load(io.BytesIO(data), allow_pickle=False)
    return pickle.loads(data)  # written by cloudpickle


def _shown(*args: Any, **kwargs: Any) -> None:
    """`display` where no notebook shows anything."""


class ServedNotebook(mlflow.pyfunc.PythonModel):
    """The serve cells of a notebook, then its model."""

    def load_context(self, context) -> None:
        folder = Path(context.artifacts[ARTIFACT])
        self.spec = json.loads((folder / SPEC).read_text(encoding="utf-8"))
        self.model = read_value(folder, self.spec["model"])
        self.values = {n: read_value(folder, e) for n, e in self.spec["values"].items()}
        self.prelude = [(c["cell"], self._compile(c)) for c in self.spec["prelude"]]
        self.cells = [(c["cell"], self._compile(c)) for c in self.spec["cells"]]
        self._last = threading.local()

    def _compile(self, cell: dict) -> Any:
        return compile(
            cell["source"], f"<{self.spec['notebook']}: serve cell {cell['cell']}>", "exec"
        )

    def _fail(self, cell: int | None, problem: str) -> ServeCellError:
        where = f"serve cell {cell} of {self.spec['notebook']}" if cell else "the serve cells"
        return ServeCellError(f"{where}: {problem}")

    def features(self, frame: Any) -> Any:
        """What the model predicts on, computed from a request's rows by the serve cells."""
        namespace: dict[str, Any] = {"__builtins__": builtins, "__name__": "__main__"}
        namespace["display"] = _shown
        for number, code in self.prelude:
            try:
                exec(code, namespace)  # the notebook's own imports and helpers, compiled by nb2pipe
            except Exception as e:
                raise self._fail(number, f"cannot run here: {type(e).__name__}: {e}") from None
        namespace.update(self.values)
        namespace[self.spec["input"]] = frame.copy() if hasattr(frame, "copy") else frame
        for number, code in self.cells:
            try:
                exec(code, namespace)  # a serve cell of the notebook, compiled by nb2pipe
            except Exception as e:
                reason = " ".join(f"{type(e).__name__}: {e}".split())[:300]
                raise self._fail(number, f"failed on this request: {reason}") from None
        return self._model_input(namespace, len(frame))

    def _model_input(self, namespace: dict[str, Any], rows: int) -> Any:
        name, last = self.spec["output"], self.cells[-1][0]
        if name not in namespace:
            raise self._fail(last, f"made no {name!r} for this request")
        out = namespace[name]
        if not hasattr(out, "__len__") or len(out) != rows:
            made = len(out) if hasattr(out, "__len__") else type(out).__name__
            raise self._fail(last, f"made {made} rows of {name!r} from {rows}: one per request row")
        columns = self.spec.get("columns")
        if columns is None or not hasattr(out, "columns"):
            width = self.spec.get("width")
            shape = getattr(out, "shape", ())
            if width is not None and len(shape) == 2 and shape[1] != width:
                raise self._fail(last, f"made {shape[1]} columns of {name!r}, not {width}")
            return out
        made = [str(c) for c in out.columns]
        missing = [c for c in columns if c not in made]
        unknown = [c for c in made if c not in self.spec.get("made", made)]
        if missing or unknown:
            what = f"no column {missing[0]!r}" if missing else f"a column {unknown[0]!r}"
            raise self._fail(
                last,
                f"made {what} for this request; the notebook's {name!r} had columns "
                f"{', '.join(self.spec.get('made', columns))}",
            )
        return out[columns]

    # The hint only says what MLflow passes here; the model's signature is the raw input.
    def predict(self, context, model_input: pd.DataFrame, params=None):
        features = self.features(model_input)
        self._last.features = features
        try:
            return getattr(self.model, self.spec.get("method", "predict"))(features)
        except (ValueError, TypeError, KeyError) as e:
            # The proof at publishing showed the model takes what the cells make from the
            # notebook's rows: what it refuses now comes from this request (a null, say).
            reason = " ".join(f"{type(e).__name__}: {e}".split())[:300]
            raise self._fail(
                self.cells[-1][0], f"the model refused what it made for this request: {reason}"
            ) from None

    def last_features(self) -> Any:
        """What the model predicted on in this thread's last request (for the prediction log)."""
        return getattr(self._last, "features", None)


mlflow.models.set_model(ServedNotebook())
