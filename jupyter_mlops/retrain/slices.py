"""The gate per slice: challenger and champion compared on every slice of the held-out data.

A slice is the rows where one column has one value (``region=north``). Each slice with at
least `min_rows` rows is scored for both models with the gate's metric (metrics.evaluate);
smaller slices are listed but not judged, since a handful of rows says nothing. The gate
(registry.promote) refuses a challenger when any slice drops by more than its threshold, even
when the overall metric improves — the failure a single overall number hides — and names the
slice. The table goes into the model card and the version's tags (the Models view reads it).
"""

from __future__ import annotations

import math
from typing import Any

from jupyter_mlops.errors import ModelGateError


def compare_slices(
    challenger: Any,
    champion: Any | None,
    X,
    y,
    slices: list[str],
    metric: str,
    *,
    min_rows: int = 30,
    greater_is_better: bool = True,
) -> list[dict[str, Any]]:
    """One row per slice: ``{"slice", "column", "value", "rows", "challenger", "champion",
    "drop", "skipped"}``; `drop` is how much worse the challenger does there (positive: worse)."""
    from jupyter_mlops.metrics import evaluate

    if isinstance(slices, str):
        slices = [slices]
    columns = [str(c) for c in getattr(X, "columns", [])]
    if len(X) != len(y):
        raise ModelGateError(f"gate: {len(X)} rows of data but {len(y)} labels")
    rows = []
    for column in slices:
        if column not in columns:
            raise ModelGateError(
                f"gate: slice {column!r} is not a column of the held-out data "
                f"(columns: {', '.join(columns[:20]) or 'none: pass a DataFrame'})"
            )
        values = X[column]
        for value in _values(values):
            mask = (values.isna() if _missing(value) else values == value).to_numpy()
            count = int(mask.sum())
            row = {"slice": f"{column}={value}", "column": column, "value": _plain(value),
                   "rows": count, "challenger": None, "champion": None, "drop": None,
                   "skipped": None}  # fmt: skip
            if count < min_rows:
                row["skipped"] = f"{count} rows, fewer than {min_rows}"
                rows.append(row)
                continue
            part_X, part_y = X[mask], y[mask]
            try:
                row["challenger"] = evaluate(challenger, part_X, part_y, metric)
                if champion is not None:
                    row["champion"] = evaluate(champion, part_X, part_y, metric)
            except ValueError as e:  # e.g. a score that needs both classes, on a one-class slice
                row["skipped"] = f"{metric} cannot be computed there ({e})"
                row["challenger"] = row["champion"] = None
            if row["challenger"] is not None and row["champion"] is not None:
                change = row["challenger"] - row["champion"]
                row["drop"] = -change if greater_is_better else change
            rows.append(row)
    return rows


def registry_slices(
    name: str,
    metric: str,
    slices: list[str],
    data,
    target: str | None,
    min_rows: int,
    greater_is_better: bool,
    uri: str,
) -> list[dict[str, Any]]:
    """`compare_slices` for the registry's challenger and champion of `name`, on the held-out
    rows of the file `data` (labels in its column `target`): `nb2pipe promote --slices`."""
    from jupyter_mlops.registry.promote import CHALLENGER, CHAMPION

    if data is None or target is None:
        raise ModelGateError("--slices needs --data (held-out rows) and --target (their label)")
    X, y = held_out(data, target)
    challenger = load_alias(name, CHALLENGER, uri)
    if challenger is None:
        raise ModelGateError(f"model {name!r} has no {CHALLENGER!r} version: publish one first")
    return compare_slices(
        challenger, load_alias(name, CHAMPION, uri), X, y, slices, metric,
        min_rows=min_rows, greater_is_better=greater_is_better,
    )  # fmt: skip


def load_alias(name: str, alias: str, uri: str) -> Any | None:
    """The version of model `name` that `alias` points at, loaded to score (scikit-learn's
    flavour when it has it, else pyfunc); None when the alias is not set."""
    from jupyter_mlops.tracking import store

    client = store.client(uri)
    try:
        client.get_model_version_by_alias(name, alias)
    except Exception:  # no such model or alias
        return None
    with store.fluent_uri(uri):
        try:
            import mlflow.sklearn

            return mlflow.sklearn.load_model(f"models:/{name}@{alias}")
        except Exception:
            import mlflow.pyfunc

            return mlflow.pyfunc.load_model(f"models:/{name}@{alias}")


def held_out(path, target: str):
    """Rows and labels from a data file (.csv, .parquet, .jsonl): every column but `target`,
    and `target`."""
    from jupyter_mlops.data.schema import read_data

    frame = read_data(path)
    if target not in frame.columns:
        raise ModelGateError(
            f"--target {target}: no such column in {path} (columns: "
            f"{', '.join(map(str, frame.columns[:20]))})"
        )
    return frame.drop(columns=[target]), frame[target]


def _values(series) -> list[Any]:
    values = list(series.dropna().unique())
    try:
        values.sort()
    except TypeError:
        values.sort(key=str)
    if series.isna().any():
        values.append(None)
    return values


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _plain(value: Any) -> Any:
    item = getattr(value, "item", None)  # numpy scalars
    value = item() if callable(item) else value
    return value if isinstance(value, (str, int, float, bool)) or value is None else str(value)
