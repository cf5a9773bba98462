"""The proof, before a model is published with its serve cells, that it computes what the
notebook computed.

The package is loaded back the way any MLflow runtime loads it (the signature's schema enforced)
and given the rows the notebook's serve cells ran on (the kept input: all of them, or every k-th
row of a big one). Three passes: all rows at once, the first row alone, all rows in reverse
order. In each, what the packaged cells make for the model must equal what the notebook's cells
made, bit for bit; with all rows, the predictions must equal the notebook's model's on the
notebook's own features. A row alone and a reversed order catch code that computes across rows
which the compiler's rules did not see. Any difference refuses the publish in one line naming
the first row and column that differ.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from jupyter_mlops.errors import TrackingError

PASSES = ("all rows at once", "the first row alone", "the rows in reverse order")


class ServeProofError(TrackingError):
    """The packaged serve cells do not compute what the notebook computed: not published."""


@dataclass
class Proof:
    """What was compared, all equal."""

    input: str
    output: str
    rows: int  # rows compared
    notebook_rows: int | None  # rows the serve cells ran on in the notebook
    columns: int | None
    passes: list[str] = field(default_factory=lambda: list(PASSES))

    def summary(self) -> str:
        of = f" of {self.notebook_rows:,}" if self.notebook_rows not in (None, self.rows) else ""
        width = f" ({self.columns} columns)" if self.columns else ""
        return (
            f"equal, bit for bit, on {self.rows:,}{of} rows of {self.input!r} the serve cells "
            f"ran on in the notebook: {self.output!r}{width} and the model's predictions; "
            f"also {PASSES[1]} and {PASSES[2]}"
        )


def prove(loaded: Any, source: Any, model: Any) -> Proof:
    """Compare the loaded package with the notebook; a `ServeProofError` at the first difference."""
    kept, serve = source.kept, source.serve
    made_from, made = kept.rows.get("input"), kept.rows.get("output")
    if made_from is not None and made is not None and made_from != made:
        raise ServeProofError(
            f"the serve cells made {made:,} rows of {serve.output!r} from {made_from:,} rows of "
            f"{serve.input!r}: a served model answers every request row (if requests are not "
            f"{serve.input!r}, name their variable with serve:NAME on cell "
            f"{serve.cells[0].number})"
        )
    columns = model_columns(model, kept.output)
    expected = _select(kept.output, columns)
    raw = kept.input
    served = loaded.unwrap_python_model()

    def run(rows: Any, label: str) -> Any:
        try:
            predictions = loaded.predict(rows)
        except Exception as e:
            raise ServeProofError(
                f"the packaged serve cells fail on the notebook's rows ({label}): "
                f"{' '.join(str(e).split())[:400]}"
            ) from None
        return predictions, served.last_features()

    predictions, features = run(raw, PASSES[0])
    _compare(features, expected, raw, serve, PASSES[0])
    try:
        notebook = model.predict(expected)
    except Exception as e:
        raise ServeProofError(
            f"the model cannot predict on {serve.output!r} as the last serve cell (cell "
            f"{serve.cells[-1].number}) leaves it: {' '.join(str(e).split())[:300]} (a cell "
            "after it changes it? tag that cell serve)"
        ) from None
    _compare_predictions(predictions, notebook, raw, serve)
    _, features = run(raw.iloc[:1] if hasattr(raw, "iloc") else raw[:1], PASSES[1])
    _compare(features, _head(expected), raw, serve, PASSES[1])
    reverse = raw.iloc[::-1] if hasattr(raw, "iloc") else raw[::-1]
    _, features = run(reverse, PASSES[2])
    _compare(_reversed(features), expected, raw, serve, PASSES[2])
    width = len(columns) if columns else getattr(expected, "shape", (0, None))[1]
    return Proof(serve.input, serve.output, len(raw), kept.rows.get("input"), width)


def _select(made: Any, columns: list[str] | None) -> Any:
    if columns is not None and hasattr(made, "columns"):
        renamed = made.copy()
        renamed.columns = [str(c) for c in renamed.columns]
        return renamed[columns]
    return made


def _head(value: Any) -> Any:
    return value.iloc[:1] if hasattr(value, "iloc") else value[:1]


def _reversed(value: Any) -> Any:
    return value.iloc[::-1] if hasattr(value, "iloc") else value[::-1]


def _columns(value: Any) -> list[tuple[str, Any]]:
    """(name, numpy values) of each column of a frame, a series or an array."""
    import numpy as np

    if hasattr(value, "columns"):
        return [(str(c), value[c].to_numpy()) for c in value.columns]
    if hasattr(value, "to_numpy"):
        return [(str(value.name), value.to_numpy())]
    array = np.asarray(value)
    if array.ndim == 1:
        return [("0", array)]
    return [(str(i), array[:, i]) for i in range(array.shape[1])]


def _differs(a: Any, b: Any):
    """A boolean array: where `a` and `b` differ (equal NaNs, None and NA count as equal)."""
    import numpy as np
    import pandas as pd

    try:
        x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
        return ~((x == y) | (np.isnan(x) & np.isnan(y)))
    except (TypeError, ValueError):
        left, right = pd.Series(a, dtype=object), pd.Series(b, dtype=object)
        both_missing = left.isna().to_numpy() & right.isna().to_numpy()
        return ~((left.to_numpy() == right.to_numpy()) | both_missing)


def _first_difference(served: Any, expected: Any) -> tuple[int, str, Any, Any] | None:
    import numpy as np

    got, want = _columns(served), _columns(expected)
    if len(got) != len(want) or (got and len(got[0][1]) != len(want[0][1])):
        return -1, "", len(got), len(want)
    first: tuple[int, str, Any, Any] | None = None
    for (name, a), (_, b) in zip(got, want, strict=True):
        rows = np.flatnonzero(_differs(a, b))
        if rows.size and (first is None or rows[0] < first[0]):
            first = (int(rows[0]), name, _plain(a[rows[0]]), _plain(b[rows[0]]))
    return first


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value


def _where(raw: Any, row: int, serve: Any) -> str:
    label = (
        f" (index {_plain(raw.index[row])!r} of {serve.input!r})" if hasattr(raw, "index") else ""
    )
    return f"row {row}{label}"


def _compare(features: Any, expected: Any, raw: Any, serve: Any, how: str) -> None:
    found = _first_difference(features, expected)
    if found is None:
        return
    row, column, served, notebook = found
    if row < 0:
        raise ServeProofError(
            f"the packaged serve cells make {serve.output!r} of another shape than the "
            f"notebook ({how}): {served} columns, not {notebook}"
        )
    raise ServeProofError(
        f"served, {serve.output!r} differs from the notebook's ({how}): {_where(raw, row, serve)}, "
        f"column {column!r}: served {served!r}, notebook {notebook!r}"
    )


def _compare_predictions(predictions: Any, notebook: Any, raw: Any, serve: Any) -> None:
    found = _first_difference(predictions, notebook)
    if found is None:
        return
    row, column, served, expected = found
    where = "of another shape" if row < 0 else f"{_where(raw, row, serve)}, output {column}"
    raise ServeProofError(
        f"served, the predictions differ from the notebook model's on the notebook's "
        f"{serve.output!r}: {where}: served {served!r}, notebook {expected!r}"
    )


def model_columns(model: Any, made: Any) -> list[str] | None:
    """The columns the model was fitted on, in order (else those the notebook made)."""
    names = getattr(model, "feature_names_in_", None)
    if names is not None:
        return [str(n) for n in names]
    return [str(c) for c in made.columns] if hasattr(made, "columns") else None
