"""What a notebook's `serve` cells start from and what they make, kept for the published model.

The step holding the serve cells keeps, just before the first one, the variable a request's
rows will be bound to and the values from training the cells read (`keep_input`), and just
after the last one what the model is fitted or predicts on (`keep_output`). Publishing packages
the values with the model and proves that the packaged cells compute the kept output from the
kept input. A big input is kept as every k-th row, and the output as the same rows (serve cells
keep every row, in order). The files sit beside the step's artifacts, listed in its manifest
under "serve" (so the cache and remote workspaces verify and copy them like artifacts).
"""

import math
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nb2pipe.errors import ArtifactError

from .store import _load_one, _save_one, artifacts_dir, read_manifest, write_manifest

KEPT_ROWS = 100_000  # rows of the input (and output) kept: enough to prove, cheap to write


@dataclass
class Kept:
    """The serve captures of a run, read back."""

    input_name: str
    input: Any
    output_name: str
    output: Any
    rows: dict[str, int] = field(default_factory=dict)  # input / output -> rows in the notebook
    every: int = 1  # kept one row in `every`
    values: dict[str, Any] = field(default_factory=dict)


def _rows(value: Any) -> int | None:
    return len(value) if hasattr(value, "iloc") or hasattr(value, "ndim") else None


def _sample(value: Any, every: int) -> Any:
    if every <= 1:
        return value
    return value.iloc[::every] if hasattr(value, "iloc") else value[::every]


def _update(run_dir, step: str, part: str, files: dict[str, dict], info: dict) -> None:
    manifest = read_manifest(run_dir, step) or {"artifacts": {}, "metrics": {}}
    kept = manifest.setdefault("serve", {})
    kept[part] = info
    kept.setdefault("files", {}).update(files)
    write_manifest(artifacts_dir(run_dir, step), manifest)


def _save(run_dir, step: str, prefix: str, name: str, value: Any) -> dict:
    directory = artifacts_dir(run_dir, step)
    directory.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():  # kept for publishing: cloudpickle is fine here
        warnings.simplefilter("ignore")
        return _save_one(directory, step, name, value, prefix=prefix)


def keep_input(run_dir, step: str, name: str, value: Any, /, **values: Any) -> None:
    """Keep the request's variable `name` (every k-th row of a big one) and the values."""
    rows = _rows(value)
    every = max(1, math.ceil(rows / KEPT_ROWS)) if rows else 1
    files = {"input": _save(run_dir, step, "serve.input.", name, _sample(value, every))}
    for value_name, item in values.items():
        files[f"value.{value_name}"] = _save(run_dir, step, "serve.value.", value_name, item)
    info = {"name": name, "rows": rows, "every": every, "values": sorted(values)}
    _update(run_dir, step, "input", files, info)


def keep_output(run_dir, step: str, name: str, value: Any) -> None:
    """Keep what the model is fitted or predicts on, as the last serve cell leaves it: the rows
    the input was kept as."""
    kept = (read_manifest(run_dir, step) or {}).get("serve", {})
    every = int(kept.get("input", {}).get("every", 1))
    rows = _rows(value)  # other than the input's: publishing refuses it, saying so
    files = {"output": _save(run_dir, step, "serve.output.", name, _sample(value, every))}
    _update(run_dir, step, "output", files, {"name": name, "rows": rows, "every": every})


def read(run_dir, step: str) -> Kept:
    """What step `step` of the run in `run_dir` kept for its serve cells."""
    kept = (read_manifest(run_dir, step) or {}).get("serve") or {}
    files = kept.get("files") or {}
    if not {"input", "output"} <= set(kept) or not {"input", "output"} <= set(files):
        raise ArtifactError(
            f"step {step!r} of run {Path(run_dir).name} kept nothing for its serve cells (it "
            "ran before they were tagged, or failed): run the pipeline again"
        )

    def value(key: str) -> Any:
        return _load_one(run_dir, step, f"the serve {key}", files[key])

    source, made = kept["input"], kept["output"]
    return Kept(
        input_name=source["name"],
        input=value("input"),
        output_name=made["name"],
        output=value("output"),
        rows={"input": source.get("rows"), "output": made.get("rows")},
        every=int(made.get("every", 1)),
        values={name: value(f"value.{name}") for name in source.get("values", [])},
    )
