"""The data schema: inferred from a DataFrame, stored as reviewable YAML beside the notebook.

The schema is pandera's (`pandera.infer_schema`), made strict: extra columns are refused and
dtypes are never coerced. It records dtypes and the tolerances of tolerance.py (ranges, mean,
null share, the categories of text columns with few distinct values and the policy for unseen
ones), each with its reason as a comment. It lives in ``<notebook stem>.schema.yaml``; edit it
freely, it is the contract new data must meet (see validation.py). pandera (~1 s to import)
is imported only when needed.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from jupyter_mlops.data.tolerance import UNSEEN_SHARE
from nb2pipe.compile import strict_yaml
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


def infer_schema(
    df,
    *,
    ranges: str | None = "quantile",
    margin: float | None = None,
    unseen: str | float = UNSEEN_SHARE,
    max_categories: int = MAX_CATEGORIES,
):
    """A strict pandera `DataFrameSchema` inferred from `df` (not written anywhere).

    Tolerances (ranges, mean, null share, unseen categories) are tolerance.py's: chosen so a
    fresh clean batch passes and real skew is named; each column's `description` says which.
    Extra columns are refused and dtypes are never coerced.
    """
    check_frame(df, "infer_schema")
    if df.empty or len(df.columns) == 0:
        raise DataSchemaError("cannot infer a schema from an empty frame (no rows or no columns)")
    import pandera.pandas as pa

    from jupyter_mlops.data import checks as registered

    registered.register()
    frame = df.copy()
    for name in frame.columns:
        if frame[name].dtype == object and _text_like(frame[name]):
            frame[name] = frame[name].astype("str")
    inferred = pa.infer_schema(frame)
    try:
        columns = _columns(inferred, frame, ranges, margin, unseen, max_categories)
    except ValueError as e:  # an unknown policy: say which
        raise DataSchemaError(f"infer_schema: {e}") from None
    return pa.DataFrameSchema(columns, strict=True, coerce=False)


def _columns(inferred, frame, ranges, margin, unseen, max_categories) -> dict:
    import pandas as pd
    import pandera.pandas as pa

    from jupyter_mlops.data import tolerance

    columns = {}
    for name, column in inferred.columns.items():
        series = frame[name]
        nullable, checks, reasons = tolerance.null_checks(series)
        if pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series):
            continuous = pd.api.types.is_float_dtype(series)
            found, why = tolerance.numeric_checks(
                series, ranges=ranges, margin=margin, continuous=continuous
            )
            checks, reasons = checks + found, reasons + why
        values = series.dropna()
        if _text_like(series) and 0 < values.nunique() <= max_categories:
            found, why = tolerance.category_checks(sorted(values.unique().tolist()), unseen)
            checks, reasons = checks + found, reasons + why
        columns[name] = pa.Column(
            column.dtype,
            checks=checks,
            nullable=nullable,
            coerce=False,
            name=name,
            description=tolerance.describe(reasons),
        )
    return columns


def _commented(text: str, schema) -> str:
    """The schema YAML with each column's reasons as comments above it."""
    reasons = iter([column.description or "" for column in schema.columns.values()])
    out: list[str] = []
    in_columns = False
    for line in text.splitlines():
        if line == "columns:":
            in_columns = True
        elif line and not line.startswith(" "):
            in_columns = False
        elif in_columns and line.startswith("  ") and not line.startswith("   "):
            out += [f"  # {reason}" for reason in next(reasons, "").split("; ") if reason]
        out.append(line)
    return "\n".join(out) + "\n"


def save_schema(
    df,
    path: str | os.PathLike | None = None,
    **options: Any,
) -> Path:
    """Infer the schema of `df` and write it as YAML (default: beside the notebook); its path.

    `options` are `infer_schema`'s (ranges, margin, unseen, max_categories)."""
    schema = infer_schema(df, **options)
    target = Path(path) if path is not None else default_schema_path()
    header = _HEADER.format(what=target.name.removesuffix(SCHEMA_SUFFIX), rows=len(df))
    from nb2pipe.fileio import write_atomic

    write_atomic(target, header + _commented(schema.to_yaml(), schema))
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

    from jupyter_mlops.data import checks as registered

    registered.register()
    try:
        strict_yaml.load(text)  # a column or check given twice: pandera would keep the last
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
    if suffix in (".jsonl", ".json"):
        from jupyter_mlops.data.prediction_log import is_prediction_log, logged_inputs

        if is_prediction_log(path):  # its parts, even between a rotation and the next line
            return logged_inputs(path)
    if not path.is_file():
        raise DataSchemaError(f"no such data file: {path}")
    try:
        if suffix == ".csv":
            return pd.read_csv(path)
        if suffix in (".parquet", ".pq"):
            return pd.read_parquet(path)
        if suffix in (".jsonl", ".json"):
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
