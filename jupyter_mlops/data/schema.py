"""The data schema: inferred from a DataFrame, stored as reviewable YAML beside the notebook.

The schema is pandera's (`pandera.infer_schema`), made strict: extra columns are refused and
dtypes are never coerced. It records dtypes, nullability, value ranges (rounded outwards to
six significant digits, optionally widened by a margin) and, for text columns with few
distinct values, the allowed categories. It lives in ``<notebook stem>.schema.yaml``; edit it
freely, it is the contract new data must meet (see validation.py). pandera (~1 s to import)
is imported only when needed.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

from nb2pipe.errors import Nb2PipeError

SCHEMA_SUFFIX = ".schema.yaml"
MAX_CATEGORIES = 20  # a text column with at most this many distinct values gets an `isin` check
_HEADER = (
    "# Data schema for {what}: inferred by jupyter-mlops from {rows} rows.\n"
    "# Review and edit it: new data is validated against it (jupyter_mlops.validate).\n"
)


class DataSchemaError(Nb2PipeError):
    """No usable schema: a missing or malformed schema file, or nothing to infer one from."""


# --- where the schema lives ------------------------------------------------------------------


def _notebook() -> Path | None:
    """The notebook being run: the pipeline's source inside a step, else the kernel's notebook."""
    from jupyter_mlops.tracking import journal

    step = journal.current_step()
    if step is not None:
        from nb2pipe.runner.rundir import RunDir

        source = RunDir(step[0]).info().get("source")
        return Path(source) if source else None
    from jupyter_mlops.tracking.session import notebook_path

    return notebook_path()


def default_schema_path(notebook: str | os.PathLike | None = None) -> Path:
    """``<notebook stem>.schema.yaml`` beside the notebook (given, or the one being run)."""
    path = Path(notebook) if notebook is not None else _notebook()
    if path is None:
        raise DataSchemaError(
            "no notebook to put the schema beside: pass the schema file's path explicitly"
        )
    return path.with_name(path.stem + SCHEMA_SUFFIX)


# --- inference -------------------------------------------------------------------------------


def check_frame(df: Any, what: str) -> None:
    import pandas as pd

    if not isinstance(df, pd.DataFrame):
        kind = f"{type(df).__module__}.{type(df).__qualname__}"
        raise DataSchemaError(f"{what}: expected a pandas DataFrame, got a {kind}")


def _text_like(series) -> bool:
    import pandas as pd

    if pd.api.types.is_string_dtype(series.dtype) and not isinstance(
        series.dtype, pd.CategoricalDtype
    ):
        return all(isinstance(v, str) for v in series.dropna().head(1000))
    return False


def _text_categories(series) -> bool:
    import pandas as pd

    return isinstance(series.dtype, pd.CategoricalDtype) and all(
        isinstance(v, str) for v in series.cat.categories
    )


def infer_schema(df, *, margin: float | None = 0.0, max_categories: int = MAX_CATEGORIES):
    """A strict pandera `DataFrameSchema` inferred from `df` (not written anywhere).

    Ranges are the observed min/max widened by `margin` × their span on each side (None: no
    range checks). Text columns with at most `max_categories` distinct values get the observed
    values as allowed categories. Extra columns are refused and dtypes are never coerced.
    """
    check_frame(df, "infer_schema")
    if df.empty or len(df.columns) == 0:
        raise DataSchemaError("cannot infer a schema from an empty frame (no rows or no columns)")
    import pandera.pandas as pa

    frame = df.copy()
    for name in frame.columns:
        if frame[name].dtype == object and _text_like(frame[name]):
            frame[name] = frame[name].astype("str")
    inferred = pa.infer_schema(frame)
    columns = {}
    for name, column in inferred.columns.items():
        checks = []
        for check in column.checks:
            stats = check.statistics or {}
            if "min_value" in stats or "max_value" in stats:
                if margin is None:
                    continue
                checks.append(_widened(check, frame[name], margin))
            else:
                checks.append(check)
        values = frame[name].dropna()
        if _text_like(frame[name]) and 0 < values.nunique() <= max_categories:
            checks.append(pa.Check.isin(sorted(values.unique().tolist())))
        columns[name] = pa.Column(
            column.dtype, checks=checks, nullable=column.nullable, coerce=False, name=name
        )
    return pa.DataFrameSchema(columns, strict=True, coerce=False)


def _widened(check, series, margin: float):
    """The observed bound, widened by `margin` × the span (never below 0 for data that has no
    negative value) and rounded outwards to six significant digits: readable, and robust to data
    that went through a lossy text format."""
    import pandas as pd
    import pandera.pandas as pa

    if not pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series):
        return check
    low, high = float(series.min()), float(series.max())
    pad = margin * (high - low) if high > low else margin * max(abs(high), 1.0)
    integral = pd.api.types.is_integer_dtype(series)
    if "min_value" in check.statistics:
        bound = math.floor(low - pad) if integral else _outwards(low - pad, math.floor)
        if low >= 0:  # amounts, counts, prices: widening never makes them negative
            bound = max(bound, 0)
        return pa.Check.greater_than_or_equal_to(bound)
    bound = math.ceil(high + pad) if integral else _outwards(high + pad, math.ceil)
    return pa.Check.less_than_or_equal_to(bound)


def _outwards(value: float, direction) -> float:
    value = float(f"{value:.12g}")  # 11.03 - 3.8 is 7.229999999999999: mean 7.23
    if value == 0 or not math.isfinite(value):
        return value
    scale = 10 ** (5 - math.floor(math.log10(abs(value))))
    return float(f"{direction(value * scale) / scale:.6g}")


def save_schema(
    df,
    path: str | os.PathLike | None = None,
    *,
    margin: float | None = 0.0,
    max_categories: int = MAX_CATEGORIES,
) -> Path:
    """Infer the schema of `df` and write it as YAML (default: beside the notebook); its path."""
    schema = infer_schema(df, margin=margin, max_categories=max_categories)
    target = Path(path) if path is not None else default_schema_path()
    header = _HEADER.format(what=target.name.removesuffix(SCHEMA_SUFFIX), rows=len(df))
    from nb2pipe.fileio import write_atomic

    write_atomic(target, header + schema.to_yaml())
    return target


def load_schema(path: str | os.PathLike):
    """The pandera schema stored in `path`, or a one-line `DataSchemaError`."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DataSchemaError(
            f"no schema file {path} (write one with jupyter_mlops.data.validation.save_schema)"
        ) from None
    except (OSError, UnicodeDecodeError) as e:
        raise DataSchemaError(f"cannot read the schema file {path}: {e}") from None
    import pandera.pandas as pa

    try:
        schema = pa.DataFrameSchema.from_yaml(text)
    except Exception as e:
        reason = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise DataSchemaError(f"{path} is not a pandera schema file: {reason}") from None
    if not isinstance(schema, pa.DataFrameSchema) or not schema.columns:
        raise DataSchemaError(f"{path} is not a pandera schema file: it declares no columns")
    return schema


# --- reading data ----------------------------------------------------------------------------


def conform(df, schema):
    """Undo harmless representation changes (ints in a float column, text stored as object,
    text in a categorical column) so only real dtype skew is reported."""
    import pandas as pd

    frame = df
    for name, column in schema.columns.items():
        if name not in df.columns or column.dtype is None:
            continue
        series, expected = df[name], column.dtype.type
        try:
            target = pd.api.types.pandas_dtype(expected)
        except TypeError:
            continue
        if series.dtype == target:
            continue
        benign = (
            (pd.api.types.is_float_dtype(target) and pd.api.types.is_integer_dtype(series))
            or (
                pd.api.types.is_string_dtype(target)
                and (_text_like(series) or _text_categories(series))
            )
            or (isinstance(target, pd.CategoricalDtype) and _text_like(series))
        )
        if benign:
            if frame is df:
                frame = df.copy()
            frame[name] = series.astype(target)
    return frame


def read_data(path: str | os.PathLike):
    """A data file as a DataFrame: .csv, .parquet, .json/.jsonl (a prediction log: its inputs)."""
    import pandas as pd

    path = Path(path)
    suffix = path.suffix.lower()
    if not path.is_file():
        raise DataSchemaError(f"no such data file: {path}")
    try:
        if suffix == ".csv":
            return pd.read_csv(path)
        if suffix in (".parquet", ".pq"):
            return pd.read_parquet(path)
        if suffix in (".jsonl", ".json"):
            from jupyter_mlops.serving.prediction_log import is_prediction_log, logged_inputs

            if is_prediction_log(path):
                return logged_inputs(path)
            return pd.read_json(path, lines=suffix == ".jsonl")
    except Nb2PipeError:
        raise
    except Exception as e:
        raise DataSchemaError(
            f"cannot read {path}: {str(e).splitlines()[0] if str(e) else e!r}"
        ) from None
    raise DataSchemaError(f"{path}: unknown data format (use .csv, .parquet or .jsonl)")


def as_frame(data: Any, what: str):
    """A DataFrame from a DataFrame, a Series (one column) or a data file (.csv, .parquet,
    .jsonl, a prediction log); anything else is a `DataSchemaError` naming its type."""
    import pandas as pd

    if isinstance(data, pd.DataFrame):
        return data
    if isinstance(data, pd.Series):
        return data.to_frame(name=str(data.name) if data.name is not None else "value")
    if isinstance(data, (str, os.PathLike)):
        return read_data(data)
    kind = f"{type(data).__module__}.{type(data).__qualname__}"
    raise DataSchemaError(f"{what} is a {kind}, not a DataFrame or a data file")
