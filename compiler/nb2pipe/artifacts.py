"""Load and save the values that flow between pipeline steps.

Generated step notebooks call `load` for their inputs and `save` for their outputs. Each value
is written to ``<run_dir>/<step>/artifacts/<name>.<ext>`` in a format chosen by its type, and
listed with its sha256 in ``manifest.json`` next to it. The manifest is written last, so a
step's outputs count only once its manifest exists.

This module is imported in every step kernel, so at module level it imports only the standard
library: pandas, pyarrow, numpy, joblib and cloudpickle are imported by the serializer that
needs them, and types are recognised without importing their libraries.
"""

import functools
import hashlib
import json
import math
import numbers
import os
import pickle
import sys
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from nb2pipe.errors import ArtifactError  # one exception family for the whole package

MANIFEST = "manifest.json"
_CHUNK = 1 << 20


class Serializer:
    """One on-disk format: which values it takes and how it writes and reads them."""

    name: str = ""
    extension: str = ""

    def accepts(self, value: Any) -> bool:
        """Whether this format stores `value` so that `load` gives back an equal value."""
        raise NotImplementedError

    def dump(self, value: Any, path: Path) -> dict[str, Any] | None:
        """Write `value` to `path`; may return extra fields for its manifest entry."""
        raise NotImplementedError

    def load(self, path: Path) -> Any:
        """Read back a value written by `dump`."""
        raise NotImplementedError


def _is_str_or_none(names: Any) -> bool:
    return all(n is None or isinstance(n, str) for n in names)


class ParquetSerializer(Serializer):
    """pandas DataFrame and Series, through pyarrow; the index is kept."""

    name, extension = "parquet", "parquet"
    _column = "__nb2pipe_series__"  # a Series is stored as a one-column frame

    def accepts(self, value: Any) -> bool:
        pd = sys.modules.get("pandas")
        if pd is None:
            return False
        # Exact types: subclasses (GeoDataFrame, ...) carry state that parquet would drop.
        if type(value) is pd.DataFrame:
            # Parquet names are strings: other labels would come back renamed.
            return (
                all(isinstance(c, str) for c in value.columns)
                and _is_str_or_none(value.columns.names)
                and _is_str_or_none(value.index.names)
            )
        if type(value) is pd.Series:
            # The name travels as JSON in the file's metadata.
            return type(value.name) in (type(None), str, int, float, bool) and _is_str_or_none(
                value.index.names
            )
        return False

    def dump(self, value: Any, path: Path) -> dict[str, Any] | None:
        import pandas as pd
        import pyarrow as pa
        import pyarrow.parquet as pq

        is_series = isinstance(value, pd.Series)
        frame = value.to_frame(name=self._column) if is_series else value
        # preserve_index=None keeps a RangeIndex as metadata and any other index as columns.
        table = pa.Table.from_pandas(frame, preserve_index=None)
        if is_series:
            # In the file, not only the manifest, so the file can be read on its own.
            marker = json.dumps({"kind": "series", "name": value.name}).encode()
            table = table.replace_schema_metadata({**table.schema.metadata, b"nb2pipe": marker})
        pq.write_table(table, path)
        return {"kind": "series"} if is_series else None

    def load(self, path: Path) -> Any:
        import pyarrow.parquet as pq

        table = pq.read_table(path)
        marker = json.loads((table.schema.metadata or {}).get(b"nb2pipe", b"{}"))
        frame = table.to_pandas()
        if marker.get("kind") != "series":
            return frame
        return frame[self._column].rename(marker["name"])


class NpySerializer(Serializer):
    """numpy arrays of plain (non-object) dtype."""

    name, extension = "npy", "npy"

    def accepts(self, value: Any) -> bool:
        np = sys.modules.get("numpy")
        # Subclasses (masked arrays, matrix) would lose their type; object arrays need pickle.
        return np is not None and type(value) is np.ndarray and not value.dtype.hasobject

    def dump(self, value: Any, path: Path) -> None:
        import numpy as np

        # A file object, because np.save appends ".npy" to a path that lacks it (our temp name).
        with open(path, "wb") as f:
            np.save(f, value, allow_pickle=False)

    def load(self, path: Path) -> Any:
        import numpy as np

        return np.load(path, allow_pickle=False)


class JoblibSerializer(Serializer):
    """scikit-learn estimators and XGBoost/LightGBM models."""

    name, extension = "joblib", "joblib"

    def accepts(self, value: Any) -> bool:
        if type(value).__module__.partition(".")[0] in ("xgboost", "lightgbm"):
            return True
        # Any class built on a scikit-learn base, found without importing sklearn.
        roots = {cls.__module__.partition(".")[0] for cls in type(value).__mro__}
        return "sklearn" in roots and hasattr(value, "fit")

    def dump(self, value: Any, path: Path) -> None:
        import joblib

        joblib.dump(value, path)

    def load(self, path: Path) -> Any:
        import joblib

        return joblib.load(path)


def _plain_json(value: Any) -> bool:
    kind = type(value)
    if kind in (type(None), bool, int, float, str):
        return True
    if kind is list:
        return all(_plain_json(v) for v in value)
    if kind is dict:
        return all(type(k) is str and _plain_json(v) for k, v in value.items())
    return False


class JsonSerializer(Serializer):
    """None, bool, int, float, str, and lists and str-keyed dicts of them."""

    name, extension = "json", "json"

    def accepts(self, value: Any) -> bool:
        # Exact types and a round trip: tuples, int keys, enums, numpy scalars and NaN would
        # otherwise come back as something else.
        try:
            return _plain_json(value) and json.loads(json.dumps(value, allow_nan=False)) == value
        except (ValueError, RecursionError):
            return False

    def dump(self, value: Any, path: Path) -> None:
        with open(path, "w", encoding="utf-8") as f:
            json.dump(value, f, ensure_ascii=False, allow_nan=False)

    def load(self, path: Path) -> Any:
        with open(path, encoding="utf-8") as f:
            return json.load(f)


class PickleSerializer(Serializer):
    """Anything else, with cloudpickle (which also stores functions and classes by value)."""

    name, extension = "pickle", "pkl"

    def accepts(self, value: Any) -> bool:
        return True

    def dump(self, value: Any, path: Path) -> None:
        import cloudpickle

        with open(path, "wb") as f:
            cloudpickle.dump(value, f)

    def load(self, path: Path) -> Any:
        with open(path, "rb") as f:
            return pickle.load(f)  # cloudpickle output is plain pickle


# Tried in order; the first serializer that accepts a value writes it.
SERIALIZERS: dict[str, Serializer] = {
    s.name: s
    for s in (
        ParquetSerializer(),
        NpySerializer(),
        JoblibSerializer(),
        JsonSerializer(),
        PickleSerializer(),
    )
}


def register(serializer: Serializer, before: str | None = None) -> None:
    """Add `serializer` in front of the one named `before` (default: in front of all)."""
    items = [(n, s) for n, s in SERIALIZERS.items() if n != serializer.name]
    names = [n for n, _ in items]
    if before is not None and before not in names:
        raise ValueError(f"no serializer named {before!r}; known: {', '.join(names)}")
    items.insert(0 if before is None else names.index(before), (serializer.name, serializer))
    SERIALIZERS.clear()
    SERIALIZERS.update(items)


def _candidates(value: Any) -> Iterator[Serializer]:
    return (s for s in SERIALIZERS.values() if s.accepts(value))


def serializer_for(value: Any) -> Serializer:
    """The serializer that `save` tries first for `value`, chosen by its type."""
    for serializer in _candidates(value):
        return serializer
    raise ArtifactError(f"no serializer accepts a value of type {_type_name(value)}")


def file_sha256(path: str | os.PathLike[str]) -> str:
    """The sha256 hex digest of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def read_manifest(run_dir: str | os.PathLike[str], step: str) -> dict[str, Any] | None:
    """The manifest of `step`, or None if the step has not written one."""
    path = _artifacts_dir(run_dir, step) / MANIFEST
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except ValueError as exc:
        raise ArtifactError(f"step {step!r}: manifest is not valid JSON: {path} ({exc})") from exc
    manifest.setdefault("artifacts", {})
    manifest.setdefault("metrics", {})
    return manifest


def save(run_dir: str | os.PathLike[str], step: str, /, **values: Any) -> dict[str, Any]:
    """Write each value as an artifact of `step`, then record them in its manifest."""
    directory = _artifacts_dir(run_dir, step)
    directory.mkdir(parents=True, exist_ok=True)
    entries = {}
    for name, value in values.items():  # a loop, not a comprehension: warnings' stacklevel
        entries[name] = _save_one(directory, step, name, value)
    manifest = read_manifest(run_dir, step) or {"artifacts": {}, "metrics": {}}
    # A name saved again in another format leaves its old file behind; drop it once replaced.
    stale = [
        old["file"]
        for name, old in manifest["artifacts"].items()
        if name in entries and old["file"] != entries[name]["file"]
    ]
    manifest["artifacts"].update(entries)
    _write_manifest(directory, manifest)
    for file in stale:
        (directory / file).unlink(missing_ok=True)
    return manifest


def load(run_dir: str | os.PathLike[str], step: str, name: str) -> Any:
    """Return artifact `name` of `step`, after checking it against its sha256."""
    manifest = read_manifest(run_dir, step)
    directory = _artifacts_dir(run_dir, step)
    if manifest is None:
        raise ArtifactError(
            f"step {step!r} has no manifest (not finished?): {directory / MANIFEST}"
        )
    entry = manifest["artifacts"].get(name)
    if entry is None:
        known = ", ".join(sorted(manifest["artifacts"])) or "none"
        raise ArtifactError(f"step {step!r} saved no artifact {name!r} (it saved: {known})")
    path = directory / entry["file"]
    where = f"artifact {name!r} of step {step!r}"
    if not path.is_file():
        raise ArtifactError(f"{where} is missing: {path}")
    if file_sha256(path) != entry["sha256"]:
        raise ArtifactError(f"{where} does not match its sha256 in the manifest: {path}")
    serializer = SERIALIZERS.get(entry["serializer"])
    if serializer is None:
        raise ArtifactError(f"{where} needs serializer {entry['serializer']!r}, not registered")
    return serializer.load(path)


def save_metrics(run_dir: str | os.PathLike[str], step: str, /, **values: Any) -> dict[str, float]:
    """Record finite numbers as metrics of `step`; skip anything else with a warning."""
    kept = {}
    for name, value in values.items():
        number = _as_metric(value)
        if number is None:
            warnings.warn(
                f"nb2pipe: metric {name!r} of step {step!r} is skipped: {value!r:.60} "
                "is not a finite number",
                stacklevel=2,
            )
        else:
            kept[name] = number
    directory = _artifacts_dir(run_dir, step)
    directory.mkdir(parents=True, exist_ok=True)
    manifest = read_manifest(run_dir, step) or {"artifacts": {}, "metrics": {}}
    manifest["metrics"].update(kept)
    _write_manifest(directory, manifest)
    return manifest["metrics"]


def _as_metric(value: Any) -> float | None:
    np = sys.modules.get("numpy")
    # numpy registers its integer and floating scalars as numbers.Real, but not numpy.bool_.
    if not (isinstance(value, numbers.Real) or (np is not None and isinstance(value, np.bool_))):
        return None
    try:
        number = float(value)
    except (OverflowError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _type_name(value: Any) -> str:
    return f"{type(value).__module__}.{type(value).__qualname__}"


def _artifacts_dir(run_dir: str | os.PathLike[str], step: str) -> Path:
    # A step name is one path component, so no artifact lands outside the run directory.
    if step in ("", ".", "..") or Path(step).name != step:
        raise ArtifactError(f"invalid step name {step!r}")
    return Path(run_dir) / step / "artifacts"


def _save_one(directory: Path, step: str, name: str, value: Any) -> dict[str, Any]:
    if not name.isidentifier():
        raise ArtifactError(f"step {step!r}: invalid artifact name {name!r}")
    error: Exception | None = None
    for serializer in _candidates(value):
        if isinstance(serializer, PickleSerializer):
            warnings.warn(
                f"nb2pipe: artifact {name!r} of type {_type_name(value)} is saved with "
                "cloudpickle, which may not load under other library versions; convert it to a "
                "DataFrame, array or JSON value, or register a serializer for its type",
                stacklevel=3,
            )
        file = f"{name}.{serializer.extension}"
        if file == MANIFEST:  # an artifact called "manifest" must not overwrite the manifest
            file = f"{name}.artifact.{serializer.extension}"
        path = directory / file
        try:
            extra = _write_atomic(path, functools.partial(serializer.dump, value))
        except OSError:
            raise  # a full disk will not get better with another format
        except Exception as exc:
            # The type fits but this value does not (e.g. a column mixing ints and strings,
            # which Arrow cannot type): pass it on to the next serializer that accepts it.
            warnings.warn(
                f"nb2pipe: artifact {name!r} could not be saved as {serializer.name} ({exc}); "
                "trying the next serializer",
                stacklevel=3,
            )
            error = exc
            continue
        core = {
            "file": file,
            "serializer": serializer.name,
            "sha256": file_sha256(path),
            "size": path.stat().st_size,
            "type": _type_name(value),
        }
        return {**(extra or {}), **core}
    raise ArtifactError(f"step {step!r}: no serializer could save artifact {name!r}") from error


def _write_atomic(path: Path, write: Callable[[Path], Any]) -> Any:
    """Run `write` on a temp file next to `path`, fsync it, then rename it over `path`."""
    # Not tempfile.mkstemp: its 0600 mode would stay on the artifact and hide it from other
    # users (e.g. a container reading the run directory); a plain create honours the umask.
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(4).hex()}.tmp")
    try:
        result = write(tmp)
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return result


def _write_manifest(directory: Path, manifest: dict[str, Any]) -> None:
    text = json.dumps(manifest, sort_keys=True, indent=1) + "\n"
    _write_atomic(directory / MANIFEST, lambda tmp: tmp.write_text(text, encoding="utf-8"))
    if os.name == "posix":  # make the renames themselves durable
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
