"""Tables between steps: pandas and polars objects as uncompressed Arrow IPC files.

Uncompressed, one record batch, and memory-mapped on reading: a frame crosses a step at the speed
of the disk cache (Parquet's encoding and compression cost ~4× more for data that lives one run).
Polars, DuckDB and `pandas.read_feather` read these files too.

A pandas frame is read without a copy where its types allow: every numeric column without nulls
is a view of the file's pages, mapped copy-on-write (private), so the reading kernel holds the
frame once instead of twice, and the frame can still be changed in place as in Run All — the
pages it changes become the kernel's own, the file never changes. Columns Arrow must convert
(nulls, strings, dates, categories) are pandas' own copies, as with a plain `read_feather`.
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
            # One record batch: a column split in batches cannot be read without a copy.
            feather.write_feather(
                table,
                pa.PythonFile(sink, mode="w"),
                compression="uncompressed",
                chunksize=max(1, table.num_rows),
            )
        finally:
            sha256 = sink.close()
        kind = _kind(value)
        return {**({"kind": kind} if kind != "frame" else {}), "sha256": sha256}

    def load(self, path: Path, entry: Mapping[str, Any]) -> Any:
        mapped = _map_private(path)
        if mapped is None:  # not an IPC file (Feather version 1), or nothing to map
            import pyarrow.feather as feather

            return self.value(feather.read_table(path, memory_map=True))
        table, mapping = mapped
        return self.value(table, mapping)

    def value(self, table, mapping=None) -> Any:
        marker = json.loads((table.schema.metadata or {}).get(b"nb2pipe", b"{}"))
        frame = _to_pandas(table, mapping)
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


def _map_private(path: Path):
    """The Arrow table in `path` over a private (copy-on-write) memory map of it, and the map;
    None if the file is not an Arrow IPC file."""
    import mmap

    import pyarrow as pa
    import pyarrow.ipc as ipc

    with open(path, "rb") as f:
        try:
            mapping = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_COPY)
        except (ValueError, OSError):  # an empty file; no address space left to map it
            return None
    try:
        return ipc.open_file(pa.py_buffer(mapping)).read_all(), mapping
    except pa.ArrowInvalid:
        return None


# Above this many blocks pandas warns that a frame "is highly fragmented" when a column is
# added: such frames are made as `read_feather` makes them (one block per type, copied).
_MAX_BLOCKS = 100


def _to_pandas(table, mapping) -> Any:
    """`table` as a pandas frame whose numeric columns are writable views of `mapping` (a
    private map of the file) where Arrow hands them over without a copy; the rest copied."""
    try:
        from pandas.api.internals import create_dataframe_from_blocks
    except ImportError:  # pandas < 3: no public way to build a frame from its blocks
        mapping = None
    if mapping is None:
        return table.to_pandas()
    # split_blocks: each column its own block, so Arrow converts none of them by copying it
    # into a shared 2-D block. Columns it hands over without a copy are read-only views of
    # the file's pages, which pandas would refuse to change in place; they are replaced by
    # writable views of the same (private) pages.
    frame = table.to_pandas(split_blocks=True)
    try:
        blocks = _writable_blocks(frame, mapping)
    except AttributeError:  # pandas' blocks changed shape
        blocks = None
    if blocks is None or len(blocks) > _MAX_BLOCKS:
        del frame
        return table.to_pandas()  # as read_feather makes it
    out = create_dataframe_from_blocks(blocks, index=frame.index, columns=frame.columns)
    out.attrs = frame.attrs
    return out


def _writable_blocks(frame, mapping) -> list[tuple[Any, Any]]:
    """The blocks of `frame` (values, column positions), none of them read-only."""
    import numpy as np

    base = np.frombuffer(mapping, dtype=np.uint8)
    start, end = _address(base), _address(base) + base.nbytes
    views: list[tuple[int, np.ndarray]] = []  # (column, 1-D writable view of the mapping)
    blocks: list[tuple[Any, np.ndarray]] = []
    for block in frame._mgr.blocks:
        values, columns = block.values, block.mgr_locs.as_array
        if isinstance(values, np.ndarray) and not values.flags.writeable:
            at = _address(values)
            if values.ndim == 2 and values.shape[0] == 1 and start <= at <= end - values.nbytes:
                view = base[at - start : at - start + values.nbytes].view(values.dtype)
                views.append((int(columns[0]), view))
                continue
            values = values.copy()
        elif not isinstance(values, np.ndarray) and not _arrow_backed(values):
            values = values.copy()  # its memory may be Arrow's, read-only
        blocks.append((values, columns))
    return blocks + _stacked(views)


def _address(array) -> int:
    return array.__array_interface__["data"][0]


def _arrow_backed(values: Any) -> bool:
    """pandas arrays over Arrow memory that pandas never writes into (it replaces them)."""
    return any(cls.__name__ == "ArrowExtensionArray" for cls in type(values).__mro__)


def _stacked(views: list) -> list:
    """Neighbouring columns of one type that lie at equal distances in the file, as one 2-D
    block (cols × rows) over the same pages, as pandas keeps a frame's columns of one type."""
    views.sort(key=lambda v: v[0])
    blocks, run = [], views[:1]
    for column, view in views[1:]:
        last_column, last = run[-1]
        step = _address(run[1][1]) - _address(run[0][1]) if len(run) > 1 else None
        gap = _address(view) - _address(last)
        if (
            column == last_column + 1
            and view.dtype == last.dtype
            and view.size == last.size
            and gap >= view.nbytes
            and gap % view.itemsize == 0
            and (step is None or gap == step)
        ):
            run.append((column, view))
            continue
        blocks.append(_block(run))
        run = [(column, view)]
    if run:
        blocks.append(_block(run))
    return blocks


def _block(run: list) -> tuple:
    import numpy as np

    first = run[0][1]
    gap = _address(run[1][1]) - _address(first) if len(run) > 1 else first.nbytes
    values = np.lib.stride_tricks.as_strided(
        first, shape=(len(run), first.size), strides=(gap, first.itemsize), writeable=True
    )
    return values, np.array([c for c, _ in run], dtype=np.intp)


def _plain_name(name: Any) -> bool:
    return type(name) in (type(None), str, int, float, bool)


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
