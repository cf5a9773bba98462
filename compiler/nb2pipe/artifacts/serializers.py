"""The on-disk formats of artifacts, chosen by the value's type: one registry, tried in order.

pandas → Arrow IPC (pyarrow; Parquet for artifacts written by earlier versions), numpy → .npy, scikit-learn/XGBoost estimators → joblib, JSON-able
values → JSON, anything else → cloudpickle. Types are recognised without importing their
libraries (this module is imported in every step kernel).
"""

import json
import pickle
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from nb2pipe.errors import ArtifactError
from nb2pipe.plugins import Registry

from .digest import HashingFile


class Serializer:
    """One on-disk format: which values it takes and how it writes and reads them."""

    name: str = ""
    extension: str = ""

    def accepts(self, value: Any) -> bool:
        """Whether this format stores `value` so that `load` gives back an equal value."""
        raise NotImplementedError

    def dump(self, value: Any, path: Path) -> dict[str, Any] | None:
        """Write `value` to `path`; may return extra fields for its manifest entry (with
        "sha256" if it hashed the bytes as it wrote them)."""
        raise NotImplementedError

    def load(self, path: Path) -> Any:
        """Read back a value written by `dump`."""
        raise NotImplementedError

    # Reading this format runs no code from the file (data only, no pickle): the loader may
    # check the file's sha256 while it reads, instead of before.
    inert = False


def _is_str_or_none(names: Any) -> bool:
    return all(n is None or isinstance(n, str) for n in names)


# Arrow drops a DatetimeIndex's or TimedeltaIndex's `freq` (`pd.date_range(…)` has one), which
# shows when the index is printed: such frames are pickled (the `getattr(…, "freq")` checks).


# Values of an object column that come back from Arrow as they went in. Others do not: a list
# comes back as a NumPy array (`df.text.str.split()`), a datetime as a Timestamp.
_ARROW_OBJECTS = frozenset({str, bytes, bool, int, float, type(None)})


def _nulls_arrow_changes(column: Any) -> bool:
    """An object column Arrow would give back changed: holding a missing value other than None
    (NaN, pd.NA, NaT: Arrow has one null, which comes back as None), or values other than
    strings, bytes and plain numbers."""
    if column.dtype != object:
        return False
    if not set(map(type, column.array)) <= _ARROW_OBJECTS:
        return True
    missing = column[column.isna()]
    return any(v is not None for v in missing)


class ArrowSerializer(Serializer):
    """pandas DataFrame and Series as an uncompressed Arrow IPC file (Feather v2), through
    pyarrow; the index is kept.

    Uncompressed and memory-mapped on reading: a frame crosses a step at the speed of the disk
    cache (Parquet's encoding and compression cost ~4× more for data that lives one run).
    Polars, DuckDB and `pandas.read_feather` read these files too.
    """

    name, extension = "arrow", "arrow"
    inert = True
    _column = "__nb2pipe_series__"  # a Series is stored as a one-column frame

    def accepts(self, value: Any) -> bool:
        pd = sys.modules.get("pandas")
        if pd is None:
            return False
        # Exact types: subclasses (GeoDataFrame, ...) carry state that Arrow would drop.
        if type(value) is pd.DataFrame:
            # Arrow names are strings: other labels would come back renamed.
            return (
                all(isinstance(c, str) for c in value.columns)
                and _is_str_or_none(value.columns.names)
                and _is_str_or_none(value.index.names)
                and getattr(value.index, "freq", None) is None
                and not any(_nulls_arrow_changes(value.iloc[:, i]) for i in range(value.shape[1]))
            )
        if type(value) is pd.Series:
            # The name travels as JSON in the file's metadata.
            return (
                type(value.name) in (type(None), str, int, float, bool)
                and _is_str_or_none(value.index.names)
                and getattr(value.index, "freq", None) is None
                and not _nulls_arrow_changes(value)
            )
        return False

    def table(self, value: Any):
        """`value` as an Arrow table, a Series marked as such in the table's own metadata."""
        import pandas as pd
        import pyarrow as pa

        is_series = isinstance(value, pd.Series)
        frame = value.to_frame(name=self._column) if is_series else value
        # preserve_index=None keeps a RangeIndex as metadata and any other index as columns.
        table = pa.Table.from_pandas(frame, preserve_index=None)
        if is_series:
            # In the file, not only the manifest, so the file can be read on its own.
            marker = json.dumps({"kind": "series", "name": value.name}).encode()
            table = table.replace_schema_metadata({**table.schema.metadata, b"nb2pipe": marker})
        return table

    def dump(self, value: Any, path: Path) -> dict[str, Any] | None:
        import pyarrow as pa
        import pyarrow.feather as feather

        table = self.table(value)
        sink = HashingFile(path)  # the sha256 is computed as the bytes leave
        try:
            feather.write_feather(table, pa.PythonFile(sink, mode="w"), compression="uncompressed")
        finally:
            sha256 = sink.close()
        series = {"kind": "series"} if type(value).__name__ == "Series" else {}
        return {**series, "sha256": sha256}

    def load(self, path: Path) -> Any:
        import pyarrow.feather as feather

        # Memory-mapped: the page cache is read in place; to_pandas copies into pandas' own
        # (writable) blocks, so the file is not held once the value exists.
        return self.value(feather.read_table(path, memory_map=True))

    def value(self, table) -> Any:
        marker = json.loads((table.schema.metadata or {}).get(b"nb2pipe", b"{}"))
        frame = table.to_pandas()
        if marker.get("kind") != "series":
            return frame
        return frame[self._column].rename(marker["name"])


class ParquetSerializer(ArrowSerializer):
    """DataFrames and Series that earlier versions saved as Parquet: read, no longer written
    (a run folder or cache made before keeps loading)."""

    name, extension = "parquet", "parquet"

    def accepts(self, value: Any) -> bool:
        return False

    def dump(self, value: Any, path: Path) -> dict[str, Any] | None:
        import pyarrow.parquet as pq

        pq.write_table(self.table(value), path)
        return {"kind": "series"} if type(value).__name__ == "Series" else None

    def load(self, path: Path) -> Any:
        import pyarrow.parquet as pq

        return self.value(pq.read_table(path))


class NpySerializer(Serializer):
    """numpy arrays of plain (non-object) dtype."""

    name, extension = "npy", "npy"
    inert = True  # allow_pickle=False

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
    inert = True

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


def pickler_class():
    """cloudpickle's Pickler, storing a library's class by reference even when the module its
    `__module__` names is not imported yet.

    cloudpickle stores a class by value when `sys.modules` lacks that module: NumPy's `recarray`
    says `numpy.rec`, which `import numpy` does not import. A copy made by value is another
    class in the step that loads it, and the class's own `super()` calls then fail
    ("super(type, obj): obj must be an instance or subtype of type").
    """
    import importlib

    import cloudpickle

    class Pickler(cloudpickle.Pickler):
        def reducer_override(self, obj):
            if isinstance(obj, type):
                module = getattr(obj, "__module__", None)
                if isinstance(module, str) and module != "__main__" and module not in sys.modules:
                    try:
                        importlib.import_module(module)
                    except Exception:
                        pass  # not importable: cloudpickle stores the class by value, as before
            return super().reducer_override(obj)

    return Pickler


class PickleSerializer(Serializer):
    """Anything else, with cloudpickle (which also stores functions and classes by value)."""

    name, extension = "pickle", "pkl"

    def accepts(self, value: Any) -> bool:
        return True

    def dump(self, value: Any, path: Path) -> None:
        with open(path, "wb") as f:
            pickler_class()(f).dump(value)

    def load(self, path: Path) -> Any:
        with open(path, "rb") as f:
            return pickle.load(f)  # cloudpickle output is plain pickle


# Tried in order; the first serializer that accepts a value writes it. Other packages add
# theirs under the ``nb2pipe.serializers`` entry-point group (tried after these).
SERIALIZERS = Registry(
    "serializer",
    "nb2pipe.serializers",
    {
        s.name: s
        for s in (
            ArrowSerializer(),
            ParquetSerializer(),
            NpySerializer(),
            JoblibSerializer(),
            JsonSerializer(),
            PickleSerializer(),
        )
    },
)


def register(serializer: Serializer, before: str | None = None) -> None:
    """Add `serializer` in front of the one named `before` (default: in front of all)."""
    first = next(iter(SERIALIZERS), None)
    SERIALIZERS.register(serializer.name, serializer, before=before or first)


def candidates(value: Any) -> Iterator[Serializer]:
    return (s for s in SERIALIZERS.values() if s.accepts(value))


def serializer_for(value: Any) -> Serializer:
    """The serializer that `save` tries first for `value`, chosen by its type."""
    for serializer in candidates(value):
        return serializer
    raise ArtifactError(f"no serializer accepts a value of type {type_name(value)}")


def type_name(value: Any) -> str:
    return f"{type(value).__module__}.{type(value).__qualname__}"
