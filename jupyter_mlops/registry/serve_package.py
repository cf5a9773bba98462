"""A model published with its notebook's `serve` cells: one MLflow pyfunc that runs the cells,
then the model, on every request (served_model.py is its code).

The cells come compiled by nb2pipe (`Pipeline.serve`, from the run's pipeline.yaml or from the
notebook); what they start from comes from where the model was made: the nb2pipe run's kept
input, values and output (`nb2pipe.artifacts.served`), or, interactively, this kernel's
variables. The package holds `serve.json`, the model and each value from training (JSON, .npy
or cloudpickle, each with its sha256). It is saved and loaded back here first, and published
only once serve_proof.py has shown that, loaded the way any MLflow runtime loads it, it
computes what the notebook computed.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jupyter_mlops.errors import TrackingError
from jupyter_mlops.registry import served_model
from jupyter_mlops.registry.serve_proof import model_columns
from nb2pipe.artifacts import file_sha256
from nb2pipe.artifacts.served import KEPT_ROWS, Kept
from nb2pipe.compile.ir import Serve

CODE = Path(served_model.__file__)  # MLflow copies it into the model as its code
REFERENCE_ROWS = 10_000  # training features kept with the model, for `nb2pipe watch --skew`
REFERENCE = "reference_features.parquet"  # beside serve.json
_PROGRESS = "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR"


@dataclass
class ServeSource:
    """A notebook's compiled serve cells, and what they started from and made there."""

    serve: Serve
    notebook: str  # the notebook's file name, for messages and the card
    kept: Kept


def from_run(run_dir: str | os.PathLike) -> ServeSource | None:
    """The serve cells of an nb2pipe run and what its serve step kept (None: no serve cells)."""
    from nb2pipe.artifacts import served
    from nb2pipe.compile import pipeline_file

    pipeline = pipeline_file.load((Path(run_dir) / "pipeline.yaml").read_text(encoding="utf-8"))
    if pipeline.serve is None:
        return None
    kept = served.read(run_dir, pipeline.serve.step)
    return ServeSource(pipeline.serve, Path(pipeline.source).name, kept)


def from_session(notebook: str | os.PathLike) -> ServeSource | None:
    """The serve cells of `notebook`, with this kernel's variables (it ran them)."""
    from nb2pipe.compile.compiler import compile_notebook

    serve = compile_notebook(notebook).serve
    if serve is None:
        return None
    shell = sys.modules.get("IPython") and sys.modules["IPython"].get_ipython()
    namespace = getattr(shell, "user_ns", None)
    needed = [serve.input, serve.output, *serve.values]
    missing = [n for n in needed if namespace is None or n not in namespace]
    if missing:
        raise TrackingError(
            f"publish_model: {Path(notebook).name} has serve cells, and {missing[0]!r}, which "
            "they need, is not a variable of this kernel: run the notebook first, publish from "
            "a pipeline run (nb2pipe publish), or pass serve=False"
        )
    raw, made = namespace[serve.input], namespace[serve.output]
    every = max(1, -(-len(raw) // KEPT_ROWS)) if hasattr(raw, "__len__") else 1
    kept = Kept(
        serve.input,
        raw.iloc[::every] if hasattr(raw, "iloc") else raw,
        serve.output,
        made.iloc[::every] if hasattr(made, "iloc") else made[::every],
        {"input": len(raw), "output": len(made)},
        every,
        {n: namespace[n] for n in serve.values},
    )
    return ServeSource(serve, Path(notebook).name, kept)


def _write_value(folder: Path, name: str, value: Any) -> dict[str, str]:
    from nb2pipe.artifacts.arrays import NpySerializer
    from nb2pipe.artifacts.general import JsonSerializer, PickleSerializer

    serializer = next(
        (s for s in (JsonSerializer(), NpySerializer()) if s.accepts(value)), PickleSerializer()
    )
    path = folder / f"{name}.{serializer.extension}"
    serializer.dump(value, path)
    return {"file": path.name, "format": serializer.name, "sha256": file_sha256(path)}


def write(source: ServeSource, model: Any, folder: Path) -> dict[str, Any]:
    """Write the package's artifacts into `folder`; its serve.json."""
    serve, made = source.serve, source.kept.output
    folder.mkdir(parents=True)
    spec = {
        "format": 1,
        "notebook": source.notebook,
        "input": serve.input,
        "output": serve.output,
        "columns": model_columns(model, made),
        "made": [str(c) for c in made.columns] if hasattr(made, "columns") else None,
        "width": made.shape[1] if getattr(made, "ndim", 0) == 2 else None,
        "method": "predict",
        "prelude": [{"cell": c.number, "source": c.source} for c in serve.prelude],
        "cells": [{"cell": c.number, "source": c.source} for c in serve.cells],
        "model": _write_value(folder, "model", model),
        "values": {n: _write_value(folder, f"value.{n}", v) for n, v in source.kept.values.items()},
    }
    (folder / served_model.SPEC).write_text(json.dumps(spec, indent=1), encoding="utf-8")
    return spec


def signature(source: ServeSource, model: Any):
    """The pyfunc's signature: the raw input a request brings, and the model's output."""
    from mlflow.models import infer_signature

    columns = model_columns(model, source.kept.output)
    made = source.kept.output
    sample = made[columns].head(50) if columns and hasattr(made, "columns") else made[:50]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return infer_signature(source.kept.input, model.predict(sample))


def reference(source: ServeSource, model: Any, folder: Path) -> Path | None:
    """A sample of the training features (what the model was fitted on), for skew watching."""
    import pandas as pd

    made = source.kept.output
    columns = model_columns(model, made)
    if not hasattr(made, "columns"):
        made = pd.DataFrame(made, columns=columns or None)
    every = max(1, -(-len(made) // REFERENCE_ROWS))
    frame = made[columns] if columns and set(columns) <= set(map(str, made.columns)) else made
    frame = frame.iloc[::every].reset_index(drop=True)
    frame.columns = [str(c) for c in frame.columns]
    path = folder / REFERENCE
    frame.to_parquet(path)
    return path


def save_and_load(source: ServeSource, model: Any, reqs: list[str], folder: Path):
    """Save the package under `folder` and load it back as MLflow would serve it."""
    import mlflow.pyfunc

    artifacts = folder / served_model.ARTIFACT  # in the model: artifacts/serve/
    write(source, model, artifacts)
    reference(source, model, artifacts)
    raw = source.kept.input
    options = {
        "python_model": str(CODE),
        "artifacts": {served_model.ARTIFACT: str(artifacts)},
        "signature": signature(source, model),
        "input_example": raw.head(5) if hasattr(raw, "head") else raw[:5],
        "pip_requirements": reqs,
    }
    with quietly():
        mlflow.pyfunc.save_model(str(folder / "model"), **options)
        loaded = mlflow.pyfunc.load_model(str(folder / "model"))
    return loaded, options


@contextlib.contextmanager
def quietly():
    """No progress bars for the local copies MLflow makes while saving and checking."""
    before = os.environ.get(_PROGRESS)
    os.environ[_PROGRESS] = "false"
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(_PROGRESS, None)
        else:
            os.environ[_PROGRESS] = before


@dataclass
class Packaged:
    """A package saved, loaded back as MLflow loads it, and proved equal to the notebook."""

    proof: Any  # serve_proof.Proof
    options: dict[str, Any]  # what logs it (flavors.log_served)
    loaded: Any  # the loaded pyfunc: what any runtime serves
    folder: tempfile.TemporaryDirectory


def package(source: ServeSource, model: Any, reqs: list[str]) -> Packaged:
    """The package, saved and loaded back, proved equal to the notebook (or refused, one line);
    its folder is removed once it is logged (`Packaged.folder.cleanup()`)."""
    from jupyter_mlops.registry import serve_proof

    folder = tempfile.TemporaryDirectory(prefix="nb2pipe-serve-")
    try:
        loaded, options = save_and_load(source, model, reqs, Path(folder.name))
        proof = serve_proof.prove(loaded, source, model)
    except BaseException:
        folder.cleanup()
        raise
    return Packaged(proof, options, loaded, folder)


def tagged(notebook: str | os.PathLike) -> bool:
    """Whether a cell of `notebook` is tagged serve (read without compiling it)."""
    try:
        cells = json.loads(Path(notebook).read_text(encoding="utf-8")).get("cells", [])
    except (OSError, ValueError, AttributeError):
        return False
    return any(
        tag.strip() == "serve" or tag.strip().startswith("serve:")
        for cell in cells
        if isinstance(cell, dict)
        for tag in (cell.get("metadata") or {}).get("tags") or []
        if isinstance(tag, str)
    )


def version_tags(source: ServeSource, proof: Any) -> dict[str, str]:
    """What the registry shows about the serve cells, on the model version."""
    serve = source.serve
    return {
        "serve.cells": ",".join(str(c.number) for c in serve.cells),
        "serve.input": serve.input,
        "serve.output": serve.output,
        "serve.proof": proof.summary(),
    }


def modules(source: ServeSource) -> set[str]:
    """Top-level modules the prelude and the cells import (their distributions are pinned)."""
    import ast

    found: set[str] = set()
    for cell in source.serve.prelude + source.serve.cells:
        for node in ast.walk(ast.parse(cell.source)):
            if isinstance(node, ast.Import):
                found |= {alias.name.partition(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                found.add(node.module.partition(".")[0])
    for value in [*source.kept.values.values()]:
        found.add(type(value).__module__.partition(".")[0])
    return found - set(sys.stdlib_module_names) - {"builtins", "__main__"}
