"""`nb2pipe score NAME[@ALIAS] DATA -o OUT`: a file of raw rows through the served model, in
chunks.

The model is the registered version the server would load (`models.load`): a model published
with its notebook's `serve` cells runs them on every chunk, exactly as on a request. DATA (.csv,
.parquet, .jsonl) is read by pyarrow's streaming readers, typed by the model's input schema
where the file format has no types of its own, so a chunk reads as a request does; OUT gets the
input columns and the predictions, chunk by chunk. Only one chunk is in memory at a time: a
file larger than memory streams through. OUT is written to a temporary file beside it and
renamed once complete, so a failure leaves nothing half-written; every failure is one line
naming the file (and the rows, for a chunk the model refused).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nb2pipe.errors import Nb2PipeError

CHUNK_ROWS = 50_000
BLOCK_BYTES = 64 * 1024
FORMATS = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet", ".jsonl": "jsonl"}
FORMATS |= {".ndjson": "jsonl"}
_ARROW_TYPES = {
    "double": "float64", "float": "float32", "long": "int64", "integer": "int32",
    "boolean": "bool_", "string": "string", "binary": "binary",
}  # fmt: skip


class ScoringError(Nb2PipeError):
    """DATA cannot be scored: unreadable, of the wrong shape, or refused by the model."""


@dataclass
class Scored:
    rows: int
    chunks: int
    seconds: float
    output: Path


def file_format(path: Path, what: str) -> str:
    found = FORMATS.get(path.suffix.lower())
    if found is None:
        raise ScoringError(f"{what} {path}: use a .csv, .parquet or .jsonl file")
    return found


def _arrow_schema(input_schema: Any) -> dict[str, Any]:
    """Column -> pyarrow type, from the model's input schema (its named columns)."""
    import pyarrow as pa

    types = {}
    for column in getattr(input_schema, "inputs", None) or []:
        kind = getattr(getattr(column, "type", None), "name", None)
        name = getattr(column, "name", None)
        if name and kind in _ARROW_TYPES:
            types[name] = getattr(pa, _ARROW_TYPES[kind])()
    return types


def batches(path: Path, chunk_rows: int, types: dict[str, Any]) -> Iterator[Any]:
    """pyarrow tables of `chunk_rows` rows (the last one shorter), streamed from `path`."""
    import pyarrow as pa

    fmt = file_format(path, "DATA")
    if fmt == "parquet":
        import pyarrow.parquet as pq

        stream: Iterator[Any] = pq.ParquetFile(path).iter_batches(batch_size=chunk_rows)
    elif fmt == "csv":
        import pyarrow.csv as pc

        stream = pc.open_csv(
            path,
            read_options=pc.ReadOptions(block_size=_block_size(path), use_threads=False),
            convert_options=pc.ConvertOptions(column_types=types),
        )
    else:
        import pyarrow.json as pj

        header = _jsonl_columns(path)
        schema = pa.schema([(n, t) for n, t in types.items() if n in header]) if types else None
        stream = pj.open_json(
            path,
            read_options=pj.ReadOptions(block_size=_block_size(path), use_threads=False),
            parse_options=pj.ParseOptions(
                explicit_schema=schema, unexpected_field_behavior="infer"
            ),
        )
    pending: list[Any] = []
    held = 0
    for batch in stream:
        pending.append(batch)
        held += batch.num_rows
        while held >= chunk_rows:
            table = pa.Table.from_batches(pending)
            chunk, rest = table.slice(0, chunk_rows), table.slice(chunk_rows)
            pending, held = rest.to_batches(), rest.num_rows
            del table, rest  # only the chunk and what follows it stay in memory
            yield chunk
            del chunk
    if held:
        yield pa.Table.from_batches(pending)


def _block_size(path: Path) -> int:
    """Bytes pyarrow parses at a time: small, so that what it reads ahead of the chunk stays
    small (1 MiB blocks took twice the memory of a 50,000-row chunk), yet several of the file's
    longest lines (a row may not straddle two blocks)."""
    with open(path, "rb") as f:
        head = f.read(BLOCK_BYTES)
    longest = max((len(line) for line in head.split(b"\n")), default=0)
    return max(BLOCK_BYTES, 8 * longest)


def _jsonl_columns(path: Path) -> set[str]:
    with open(path, encoding="utf-8") as f:
        first = f.readline()
    try:
        record = json.loads(first)
    except ValueError:
        raise ScoringError(f"DATA {path}: the first line is not a JSON object") from None
    return set(record) if isinstance(record, dict) else set()


def with_predictions(frame: Any, predictions: Any) -> Any:
    """The input rows and their predictions: `prediction`, or one column per output."""
    import numpy as np
    import pandas as pd

    if isinstance(predictions, pd.DataFrame):
        extra = predictions.set_axis([f"prediction_{c}" for c in predictions.columns], axis=1)
    else:
        values = np.asarray(predictions)
        if values.ndim == 2 and values.shape[1] > 1:
            names = [f"prediction_{i}" for i in range(values.shape[1])]
            extra = pd.DataFrame(values, columns=names)
        else:
            extra = pd.DataFrame({"prediction": values.reshape(len(frame))})
    return pd.concat([frame.reset_index(drop=True), extra.reset_index(drop=True)], axis=1)


class _Writer:
    """Chunks into a temporary file beside `path`, renamed into place by `close`."""

    def __init__(self, path: Path):
        self.path = path
        self.format = file_format(path, "OUT")
        self.tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        self.schema = None
        self._writer: Any = None
        self._file: Any = None

    def write(self, frame: Any) -> None:
        import pyarrow as pa

        if self.format == "jsonl":
            from nb2pipe.fileio import plain

            if self._file is None:
                self._file = open(self.tmp, "w", encoding="utf-8")  # noqa: SIM115
            names = [str(c) for c in frame.columns]
            for row in frame.itertuples(index=False, name=None):
                record = {n: plain(v) for n, v in zip(names, row, strict=True)}
                self._file.write(json.dumps(record) + "\n")
            return
        table = pa.Table.from_pandas(frame, preserve_index=False)
        if self.schema is None:
            self.schema = table.schema
            if self.format == "parquet":
                import pyarrow.parquet as pq

                self._writer = pq.ParquetWriter(self.tmp, self.schema)
            else:
                import pyarrow.csv as pc

                self._writer = pc.CSVWriter(self.tmp, self.schema)
        self._writer.write_table(table.cast(self.schema))

    def close(self) -> None:
        for handle in (self._writer, self._file):
            if handle is not None:
                handle.close()
        os.replace(self.tmp, self.path)

    def abort(self) -> None:
        for handle in (self._writer, self._file):
            try:
                if handle is not None:
                    handle.close()
            except Exception:
                pass
        self.tmp.unlink(missing_ok=True)


def score_file(
    pyfunc: Any, data: Path, output: Path, *, chunk_rows: int = CHUNK_ROWS, echo=None
) -> Scored:
    """Score every row of `data` with the loaded `pyfunc` into `output`, chunk by chunk."""
    import pyarrow as pa

    if not data.is_file():
        raise ScoringError(f"DATA {data}: no such file")
    if chunk_rows < 1:
        raise ScoringError("--chunk-rows: at least 1")
    writer = _Writer(output)
    types = _arrow_schema(pyfunc.metadata.get_input_schema())
    start, rows, chunks = time.perf_counter(), 0, 0
    try:
        for table in batches(data, chunk_rows, types):
            frame = table.to_pandas()
            try:
                predictions = pyfunc.predict(frame)
            except Exception as e:
                reason = " ".join(str(getattr(e, "message", None) or e).split())[:500]
                where = f"rows {rows + 1}-{rows + len(frame)}"
                raise ScoringError(f"DATA {data}: {where}: {reason}") from None
            writer.write(with_predictions(frame, predictions))
            rows, chunks = rows + len(frame), chunks + 1
            del table, frame, predictions  # before the next chunk is read, not after
            if echo is not None:
                echo(f"  {rows:,} rows scored")
        if rows == 0:
            raise ScoringError(f"DATA {data}: no rows to score")
        writer.close()
    except (pa.ArrowInvalid, pa.ArrowTypeError, OSError, UnicodeDecodeError) as e:
        writer.abort()
        message = " ".join(str(e).split())[:500]
        raise ScoringError(f"DATA {data}: cannot read it: {message}") from None
    except BaseException:
        writer.abort()
        raise
    return Scored(rows, chunks, time.perf_counter() - start, output)


def score(
    spec: str,
    data: str | os.PathLike,
    output: str | os.PathLike,
    *,
    tracking_uri: str | None = None,
    chunk_rows: int = CHUNK_ROWS,
    echo=None,
):
    """Score DATA with the registered model `spec` (NAME, NAME@ALIAS, NAME/VERSION) into
    OUTPUT; the model served and what was scored."""
    from jupyter_mlops.serving.models import load

    data, output = Path(data), Path(output)
    file_format(data, "DATA")
    file_format(output, "OUT")
    if output.resolve() == data.resolve():
        raise ScoringError(f"OUT {output} is DATA: write the predictions elsewhere")
    loaded = load(spec, tracking_uri)
    return loaded.model, score_file(loaded.pyfunc, data, output, chunk_rows=chunk_rows, echo=echo)
