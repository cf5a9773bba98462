"""Tables between steps: pandas and polars objects as uncompressed Arrow IPC files.

Uncompressed and memory-mapped on reading: a frame crosses a step at the speed of the disk cache
(Parquet's encoding and compression cost ~4× more for data that lives one run). Polars, DuckDB
and `pandas.read_feather` read these files too.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .digest import HashingFile
from .serializers import Serializer, library

_COLUMN = "__nb2pipe_series__"  # a Series, Index or Categorical is stored as a one-column frame


def _is_str_or_none(names: Any) -> bool:
    return all(n is None or isinstance(n, str) for n in names)


# Values of an object column that come back from Arrow as they went in. Others do not: a list
# comes back as a NumPy array (`df.text.str.split()`), a datetime as a Timestamp.
_ARROW_OBJECTS = frozenset({str, bytes, bool, int, float, type(None)})


def _arrow_changes(column: Any) -> bool:
    """An object column Arrow would give back changed: holding a missing value other than None
    (NaN, pd.NA, NaT: Arrow has one null, which comes back as None), or values other than
    strings, bytes and plain numbers."""
    if column.dtype != object:
        return False
    if not set(map(type, column.array)) <= _ARROW_OBJECTS:
        return True
    missing = column[column.isna()]
    return any(v is not None for v in missing)


def _kind(value: Any) -> str:
    """What pandas object `value` is, as the file records it."""
    import pandas as pd

    if isinstance(value, pd.DataFrame):
        return "frame"
    if isinstance(value, pd.Series):
        return "series"
    if isinstance(value, pd.Index):
        return "index"
    return "categorical"


class ArrowSerializer(Serializer):
    """pandas DataFrame, Series, Index (MultiIndex too) and Categorical as an uncompressed Arrow
    IPC file (Feather v2), through pyarrow; indexes and names are kept."""

    name, extension = "arrow", "arrow"
    types = ("pandas.DataFrame", "pandas.Series", "pandas.Index", "pandas.Categorical")
    inert = True

    def accepts(self, value: Any) -> bool:
        pd = sys.modules.get("pandas")
        if pd is None:
            return False
        # Arrow names are strings: other labels would come back renamed.
        if type(value) is pd.DataFrame:  # subclasses (GeoDataFrame, ...) carry their own state
            return (
                all(isinstance(c, str) for c in value.columns)
                and _is_str_or_none(value.columns.names)
                and _is_str_or_none(value.index.names)
                and not any(_arrow_changes(value.iloc[:, i]) for i in range(value.shape[1]))
            )
        if type(value) is pd.Series:  # the name travels as JSON in the file's metadata
            return (
                _plain_name(value.name)
                and _is_str_or_none(value.index.names)
                and not _arrow_changes(value)
            )
        if isinstance(value, pd.Index):  # pandas' own kinds: DatetimeIndex, MultiIndex, ...
            return _is_str_or_none(value.names)
        return type(value) is pd.Categorical

    def table(self, value: Any):
        """`value` as an Arrow table; what kind of pandas object it was is in the table's own
        metadata, so the file can be read on its own."""
        import pandas as pd
        import pyarrow as pa

        kind = _kind(value)
        marker: dict[str, Any] = {"kind": kind}
        if kind == "series":
            frame, marker["name"] = value.to_frame(name=_COLUMN), value.name
        elif kind == "index":
            # The index of a frame, kept as Arrow keeps indexes; a column, so that the file
            # knows its number of rows (a RangeIndex is only metadata).
            frame = pd.DataFrame(index=value).assign(**{_COLUMN: False})
        elif kind == "categorical":
            frame = pd.DataFrame({_COLUMN: value})
        else:
            frame = value
        # A DatetimeIndex's frequency ("D") is not in Arrow's pandas metadata: Run All prints it.
        # (A PeriodIndex keeps its own in Arrow's period type; its freqstr is no offset alias.)
        index = value if kind == "index" else getattr(value, "index", None)
        freq = getattr(index, "freq", None) if _has_offset_freq(index) else None
        if freq is not None:
            marker["freq"] = freq.freqstr
        # preserve_index=None keeps a RangeIndex as metadata and any other index as columns.
        table = pa.Table.from_pandas(frame, preserve_index=None)
        if marker != {"kind": "frame"}:
            marked = {**table.schema.metadata, b"nb2pipe": json.dumps(marker).encode()}
            table = table.replace_schema_metadata(marked)
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
        kind = _kind(value)
        return {**({"kind": kind} if kind != "frame" else {}), "sha256": sha256}

    def load(self, path: Path, entry: Mapping[str, Any]) -> Any:
        import pyarrow.feather as feather

        # Memory-mapped: the page cache is read in place; to_pandas copies into pandas' own
        # (writable) blocks, so the file is not held once the value exists.
        return self.value(feather.read_table(path, memory_map=True))

    def value(self, table) -> Any:
        marker = json.loads((table.schema.metadata or {}).get(b"nb2pipe", b"{}"))
        frame = table.to_pandas()
        if marker.get("freq"):
            frame.index = type(frame.index)(frame.index, freq=marker["freq"])
        kind = marker.get("kind", "frame")
        if kind == "series":
            return frame[_COLUMN].rename(marker["name"])
        if kind == "index":
            return frame.index
        if kind == "categorical":
            return frame[_COLUMN].array
        return frame


def _plain_name(name: Any) -> bool:
    return type(name) in (type(None), str, int, float, bool)


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

    def load(self, path: Path, entry: Mapping[str, Any]) -> Any:
        import pyarrow.parquet as pq

        return self.value(pq.read_table(path))


class PolarsSerializer(Serializer):
    """polars DataFrame and Series as an uncompressed Arrow IPC file, polars' own writer."""

    name, extension = "polars", "arrow"
    types = ("polars.DataFrame", "polars.Series")
    inert = True

    def dump(self, value: Any, path: Path) -> dict[str, Any]:
        series = _is_series(value)
        frame = value.to_frame() if series else value
        sink = HashingFile(path)
        try:
            frame.write_ipc(sink, compression="uncompressed")
        finally:
            sha256 = sink.close()
        return {**({"kind": "series"} if series else {}), "sha256": sha256, **library("polars")}

    def load(self, path: Path, entry: Mapping[str, Any]) -> Any:
        import polars as pl

        frame = pl.read_ipc(path)
        return frame.to_series() if entry.get("kind") == "series" else frame


def _is_series(value: Any) -> bool:
    return any(cls.__name__ == "Series" for cls in type(value).__mro__)


def _has_offset_freq(index: Any) -> bool:
    import pandas as pd

    return isinstance(index, (pd.DatetimeIndex, pd.TimedeltaIndex))
