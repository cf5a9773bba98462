"""Load and save the values that flow between pipeline steps.

Generated step notebooks call `load` for their inputs and `save` for their outputs. Each value
is written to ``<run_dir>/<step>/artifacts/<name>.<ext>`` in a format chosen by its type
(serializers.py), and listed with its sha256 in ``manifest.json`` next to it. The manifest is
written last, so a step's outputs count only once its manifest exists. The load and save cells
also carry global random state along (randomness.py) and check that inputs a later step reads
come out unchanged (guard.py).

This package is imported in every step kernel, so at module level it imports only the standard
library: pandas, pyarrow, numpy, joblib, cloudpickle and the ML frameworks are imported by the
serializer that needs them, and types are recognised without importing their libraries.
"""

import os
from typing import Any

from nb2pipe.errors import ArtifactError  # noqa: F401  (one family for the package's callers)
from nb2pipe.fileio import write_with

from . import guard, randomness
from .digest import file_sha256
from .serializers import SERIALIZERS, Serializer, register, serializer_for
from .shared import changed_companions, loading
from .store import (
    MANIFEST,
    artifacts_dir,
    file_entries,
    load,
    read_manifest,
    save,
    save_metrics,
    write_manifest,
)

# fmt: off
__all__ = [
    "MANIFEST", "SERIALIZERS", "Serializer", "changed_companions", "check_unchanged", "file_entries",
    "file_sha256", "load", "loading", "read_manifest", "register",
    "restore_random_state", "save", "save_metrics", "save_random_state", "serializer_for", "watch",
    "watch_random_state",
]
# fmt: on


# --- what the load and save cells of a step notebook call besides load/save -----------------


def watch(**values: Any) -> None:
    """Remember inputs that a later step reads too: they must come out of this step unchanged."""
    guard.watch(**values)


def check_unchanged(
    run_dir: str | os.PathLike[str], step: str, cell: int | None = None, /, **values: Any
) -> None:
    """Fail the step if a watched input changed in place, or warn (see guard.py)."""
    for hazard in guard.check_unchanged(step, cell, **values):
        warn(run_dir, step, cell, hazard)


def save_random_state(run_dir: str | os.PathLike[str], step: str) -> None:
    """Record the global random state this step leaves, for the next step that draws."""
    directory = artifacts_dir(run_dir, step)
    directory.mkdir(parents=True, exist_ok=True)
    entry = randomness.save(directory, write_with)
    manifest = read_manifest(run_dir, step) or {"artifacts": {}, "metrics": {}}
    manifest["random_state"] = entry
    write_manifest(directory, manifest)


def restore_random_state(run_dir: str | os.PathLike[str], step: str | None) -> None:
    """Continue from the random state `step` left (None: a fresh state, as a new process)."""
    if step is None:
        randomness.fresh()
        return
    manifest = read_manifest(run_dir, step) or {}
    randomness.restore(artifacts_dir(run_dir, step), manifest.get("random_state"), step)


def watch_random_state() -> None:
    """Start each step from fresh random state, and notice whether it draws from it."""
    randomness.fresh()
    randomness.watch()


def check_random_state(run_dir: str | os.PathLike[str], step: str, cell: int | None) -> None:
    if randomness.drew():
        warn(
            run_dir,
            step,
            cell,
            "drew from global random state that the notebook seeds, in a way nb2pipe did not "
            "expect, so its random numbers differ from Run All's; pass random_state= (or use "
            "np.random.default_rng(seed)) in this step",
        )


def warn(run_dir: str | os.PathLike[str], step: str, cell: int | None, message: str) -> None:
    """Record a hazard found at run time; the runner prints it as a `warning:` line."""
    directory = artifacts_dir(run_dir, step)
    directory.mkdir(parents=True, exist_ok=True)
    manifest = read_manifest(run_dir, step) or {"artifacts": {}, "metrics": {}}
    manifest.setdefault("warnings", []).append({"cell": cell, "message": message})
    write_manifest(directory, manifest)
