"""The statistics of a rollout: a metric's confidence interval on one side, the interval of
the difference between two sides, and how far their outputs are apart.

Intervals are scipy's: Wilson's for accuracy alone, else a bootstrap (percentile) over the
labelled rows, paired on the same requests in a shadow: 999 resamples, vectorized, for the
metrics that are means over rows (accuracy, mae, mse, rmse), 199 for the others (computed by
scikit-learn on each resample).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

CONFIDENCE = 0.95
RESAMPLES = 999
SLOW_RESAMPLES = 199


@dataclass
class Labelled:
    ids: list[str]
    y: list[Any]
    p: list[Any]

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def values(self) -> tuple[list[Any], list[Any]]:
        return self.y, self.p


def labelled(rows, labels: dict) -> Labelled:
    known = rows[rows["id"].isin(labels.keys())]
    ids = known["id"].astype(str).tolist()
    return Labelled(ids, [labels[i] for i in ids], known["prediction"].tolist())


def _per_row(metric: str, y: list, p: list):
    """For a metric that is a mean over rows: each row's term and how terms aggregate (so the
    bootstrap runs vectorized, in milliseconds); None for the others."""
    import numpy as np

    if metric == "accuracy":
        terms = np.array([1.0 if t == q else 0.0 for t, q in zip(y, p, strict=True)])
        return terms, np.mean
    if metric in ("mae", "mse", "rmse"):
        try:
            gap = np.asarray(y, dtype=float) - np.asarray(p, dtype=float)
        except (TypeError, ValueError):
            return None
        if metric == "mae":
            return np.abs(gap), np.mean
        if metric == "mse":
            return gap**2, np.mean
        return gap**2, lambda x, axis=-1: np.sqrt(np.mean(x, axis=axis))
    return None


def _bootstrap(samples, statistic, *, paired: bool, vectorized: bool):
    import numpy as np
    from scipy import stats

    found = stats.bootstrap(
        samples,
        statistic,
        paired=paired,
        vectorized=vectorized,
        n_resamples=RESAMPLES if vectorized else SLOW_RESAMPLES,
        confidence_level=CONFIDENCE,
        method="percentile",
        random_state=np.random.default_rng(0),
    )
    return _finite(found.confidence_interval)


def interval(metric: str, y: list, p: list) -> tuple[float, float]:
    import numpy as np
    from scipy import stats

    from jupyter_mlops.metrics import score

    if metric == "accuracy":
        hits = sum(1 for t, q in zip(y, p, strict=True) if t == q)
        ci = stats.binomtest(hits, len(y)).proportion_ci(CONFIDENCE, method="wilson")
        return float(ci.low), float(ci.high)
    if len(y) < 2:
        value = score(metric, list(y), list(p))
        return value, value
    rows = _per_row(metric, y, p)
    if rows is not None:
        terms, aggregate = rows
        return _bootstrap(
            (terms,), lambda x, axis=-1: aggregate(x, axis=axis), paired=False, vectorized=True
        )
    ya, pa = np.asarray(y, dtype=object), np.asarray(p, dtype=object)
    return _bootstrap(
        (np.arange(len(ya)),),
        lambda i: score(metric, list(ya[i]), list(pa[i])),
        paired=False,
        vectorized=False,
    )


def difference(metric: str, a: Labelled, b: Labelled, paired: bool):
    """challenger − champion, and its bootstrap interval (paired: resampling the requests
    both answered, not each side apart)."""
    import numpy as np

    from jupyter_mlops.metrics import score

    if paired:
        where = {i: k for k, i in enumerate(b.ids)}
        common = [(k, where[i]) for k, i in enumerate(a.ids) if i in where]
        a = Labelled(
            [a.ids[k] for k, _ in common], [a.y[k] for k, _ in common], [a.p[k] for k, _ in common]
        )
        b = Labelled(
            [b.ids[k] for _, k in common], [b.y[k] for _, k in common], [b.p[k] for _, k in common]
        )
    point = score(metric, b.y, b.p) - score(metric, a.y, a.p)
    rows_a, rows_b = _per_row(metric, a.y, a.p), _per_row(metric, b.y, b.p)
    if rows_a is not None and rows_b is not None:
        (ta, aggregate), (tb, _) = rows_a, rows_b
        interval = _bootstrap(
            (ta, tb),
            lambda x, z, axis=-1: aggregate(z, axis=axis) - aggregate(x, axis=axis),
            paired=paired,
            vectorized=True,
        )
        return float(point), interval
    ya, pa = np.asarray(a.y, dtype=object), np.asarray(a.p, dtype=object)
    yb, pb = np.asarray(b.y, dtype=object), np.asarray(b.p, dtype=object)
    interval = _bootstrap(
        (np.arange(len(ya)), np.arange(len(yb))),
        lambda i, k: (
            score(metric, list(yb[k]), list(pb[k])) - score(metric, list(ya[i]), list(pa[i]))
        ),
        paired=paired,
        vectorized=False,
    )
    return float(point), interval


def _finite(ci) -> tuple[float, float]:
    low, high = float(ci.low), float(ci.high)
    return (0.0 if math.isnan(low) else low, 0.0 if math.isnan(high) else high)


def drift(champ, chall, mode: str) -> str:
    """How far the two sides' outputs are apart."""
    import numpy as np
    from scipy import stats

    if not len(champ) or not len(chall):
        return ""
    if mode == "shadow":
        mine = chall.set_index("id")["prediction"]
        theirs = champ.set_index("id")["prediction"]
        common = mine.index.intersection(theirs.index)
        if not len(common):
            return ""
        a, b = theirs.loc[common].tolist(), mine.loc[common].tolist()
        agree = sum(1 for x, y in zip(a, b, strict=True) if x == y) / len(common)
        text = f"agree on {agree:.1%} of {len(common)} requests answered by both"
        if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in a + b):
            gap = float(np.mean(np.abs(np.asarray(a, float) - np.asarray(b, float))))
            text += f", mean absolute difference {gap:.4g}"
        return text
    a, b = champ["prediction"].tolist(), chall["prediction"].tolist()
    numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in a + b)
    classes = sorted({str(v) for v in a + b})
    if numeric and len(classes) > 10:
        test = stats.ks_2samp(np.asarray(a, float), np.asarray(b, float))
        return f"Kolmogorov-Smirnov {test.statistic:.3f} (p {test.pvalue:.3g})"
    counts = np.array(
        [[sum(1 for v in side if str(v) == c) for c in classes] for side in (a, b)], dtype=float
    )
    shares = ", ".join(
        f"{c}: {counts[0, k] / counts[0].sum():.1%} vs {counts[1, k] / counts[1].sum():.1%}"
        for k, c in enumerate(classes)
    )
    if len(classes) < 2:
        return f"both answer only {classes[0]}"
    test = stats.chi2_contingency(counts)
    return f"class shares {shares} (chi-square p {test.pvalue:.3g})"
