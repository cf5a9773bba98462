"""Model metrics as people name them (accuracy, f1, rmse, ...): which way is better, a value.

The one table the model gate, the slices, a rollout's comparison and the live monitoring all
score with, so "accuracy" means the same thing on held-out data and on served predictions.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from jupyter_mlops.errors import ModelGateError


def _metric_table() -> dict[str, tuple[Callable, bool]]:
    import numpy as np
    from sklearn import metrics as m

    def rmse(y, p):
        return float(np.sqrt(m.mean_squared_error(y, p)))

    return {
        "accuracy": (m.accuracy_score, True),
        "balanced_accuracy": (m.balanced_accuracy_score, True),
        "f1": (lambda y, p: m.f1_score(y, p, average="macro"), True),
        "precision": (lambda y, p: m.precision_score(y, p, average="macro", zero_division=0), True),
        "recall": (lambda y, p: m.recall_score(y, p, average="macro", zero_division=0), True),
        "r2": (m.r2_score, True),
        "mae": (m.mean_absolute_error, False),
        "mse": (m.mean_squared_error, False),
        "rmse": (rmse, False),
    }


def greater_is_better(metric: str) -> bool:
    """Whether a higher value of `metric` is better (errors like rmse: lower is)."""
    known = _metric_table().get(metric)
    return known[1] if known else True


def score(metric: str, y_true, y_pred) -> float:
    """`metric` of predictions `y_pred` against labels `y_true`."""
    known = _metric_table().get(metric)
    if known is None:
        raise ModelGateError(
            f"unknown metric {metric!r} for labels and predictions "
            f"(known: {', '.join(sorted(_metric_table()))})"
        )
    return float(known[0](y_true, y_pred))


def evaluate(model: Any, X, y, metric: str) -> float:
    """`metric` of `model` on held-out `X`, `y` (our names, else a scikit-learn scorer)."""
    if len(X) == 0:
        raise ModelGateError("gate: the held-out set is empty")
    if metric in _metric_table():
        return score(metric, y, model.predict(X))
    from sklearn.metrics import get_scorer

    try:
        scorer = get_scorer(metric)
    except ValueError:
        raise ModelGateError(
            f"unknown metric {metric!r} (ours: {', '.join(sorted(_metric_table()))}; "
            "or a scikit-learn scorer name)"
        ) from None
    return float(scorer(model, X, y))
