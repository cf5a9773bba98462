"""Profiles of a DataFrame and drift between two, for the Data panel.

Numeric means a numeric, non-boolean dtype; datetimes drift like numbers (their time values);
every other column (strings, categories, booleans) is categorical. Drift per feature: the
two-sample Kolmogorov–Smirnov test for numeric features, the chi-squared test of the two
samples' value counts for categorical ones, and the population stability index (PSI) for both:
reference deciles as bins for numeric features, the values themselves for categorical ones.
A feature has drifted when its test's p-value is below `alpha`.

At scale: above `SAMPLE_ROWS` rows, each dataset is compared through a uniform sample of
`SAMPLE_ROWS` rows (fixed seed, so a report is reproducible). What that costs, at 100,000 rows
a side: the KS statistic moves by at most ~0.006 (95%: 1.36·sqrt(2/100,000)), PSI on ten bins
by ~0.0002 (about bins/n) — both far below what is called drift (PSI 0.1); p-values are those
of the samples, so a shift must be visible in 100,000 rows to be significant (a shift of
0.02 sd is). Features are compared side by side on all cores (numpy's sorts and the
tests release the GIL).
"""

from __future__ import annotations

import math
from typing import Any

from jupyter_mlops.data import charts

BINS = 20
TOP_VALUES = 20
PSI_BINS = 10
EPSILON = 1e-4  # share given to an empty PSI bin, so that log(0) never happens
MAX_CHARTS = 50
SAMPLE_ROWS = 100_000
SEED = 0


def _is_numeric(series) -> bool:
    import pandas as pd

    return pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)


def _is_datetime(series) -> bool:
    import pandas as pd

    return pd.api.types.is_datetime64_any_dtype(series)


def _finite(series):
    """The finite values as floats (datetimes as nanoseconds since the epoch)."""
    import numpy as np

    present = series.dropna()
    if _is_datetime(present):
        values = present.to_numpy(dtype="datetime64[ns]").astype("int64").astype(float)
    else:
        values = present.to_numpy(dtype=float)
    return values[np.isfinite(values)]


def _labels(series):
    return series.dropna().astype(str)


def profile(frame) -> dict[str, Any]:
    """Per column: dtype, missing and present values, stats; a histogram or bar chart each."""
    import numpy as np

    columns, specs = [], []
    for label in frame.columns:
        series = frame[label]
        name = str(label)
        entry: dict[str, Any] = {
            "name": name,
            "dtype": str(series.dtype),
            "missing": int(series.isna().sum()),
            "count": int(series.notna().sum()),
        }
        chart = None
        if _is_numeric(series):
            values = _finite(series)
            entry["kind"] = "numeric"
            if values.size:
                entry.update(
                    mean=float(values.mean()),
                    std=float(values.std(ddof=1)) if values.size > 1 else 0.0,
                    min=float(values.min()),
                    max=float(values.max()),
                )
                counts, edges = np.histogram(values, bins=BINS)
                chart = charts.histogram(name, edges.tolist(), counts.tolist())
        elif _is_datetime(series):
            entry["kind"] = "datetime"
            present = series.dropna()
            if len(present):
                entry.update(min=present.min().isoformat(), max=present.max().isoformat())
        else:
            entry["kind"] = "categorical"
            counts = _labels(series).value_counts()
            entry["unique"] = int(counts.size)
            if counts.size:
                entry["top"] = str(counts.index[0])
                entry["freq"] = int(counts.iloc[0])
                top = [(str(v), int(c)) for v, c in counts.head(TOP_VALUES).items()]
                chart = charts.bars(name, top)
        if chart is not None and len(specs) < MAX_CHARTS:
            specs.append(chart)
        columns.append(entry)
    return {"columns": columns, "rows": int(len(frame)), "charts": specs}


def psi(reference: list[float], current: list[float]) -> float:
    """Population stability index of two lists of bin shares (each summing to 1)."""
    total = 0.0
    for r, c in zip(reference, current, strict=True):
        r, c = max(r, EPSILON), max(c, EPSILON)
        total += (c - r) * math.log(c / r)
    return total


def _shares(counts) -> list[float]:
    total = float(sum(counts))
    return [float(c) / total if total else 0.0 for c in counts]


def _ks(a, b) -> tuple[float, float]:
    """Two-sample Kolmogorov–Smirnov statistic and p-value of two *sorted* arrays: scipy's
    exact test for small samples, Kolmogorov's limiting distribution for large ones."""
    import numpy as np
    from scipy import stats

    n, m = a.size, b.size
    if n * m <= 10_000 or min(n, m) < 1_000:
        result = stats.ks_2samp(a, b)
        return float(result.statistic), float(result.pvalue)
    # Both are sorted: a stable sort of the two runs is one merge (timsort), O(n + m).
    order = np.argsort(np.concatenate([a, b]), kind="stable")
    values = np.concatenate([a, b])[order]
    from_a = order < n
    gap = np.cumsum(from_a) / n - np.cumsum(~from_a) / m
    last = np.append(values[1:] != values[:-1], True)  # tied values: compare after the last
    d = float(np.abs(gap[last]).max())
    from scipy.special import kolmogorov  # the limiting distribution: exact enough above 1,000

    return d, float(kolmogorov(d * np.sqrt(n * m / (n + m))))


def _numeric_drift(name: str, ref, cur) -> tuple[dict, dict | None]:
    import numpy as np

    a, b = np.sort(_finite(ref)), np.sort(_finite(cur))
    feature = {"name": name, "test": "ks", "statistic": None, "p_value": None, "psi": None}
    if not a.size or not b.size:
        return feature, None
    statistic, p_value = _ks(a, b)
    cuts = np.unique(np.quantile(a, np.linspace(0, 1, PSI_BINS + 1))[1:-1])
    bins_a = np.diff(np.searchsorted(a, cuts, side="right"), prepend=0, append=a.size)
    bins_b = np.diff(np.searchsorted(b, cuts, side="right"), prepend=0, append=b.size)
    feature.update(statistic=statistic, p_value=p_value, psi=psi(_shares(bins_a), _shares(bins_b)))
    low, high = float(min(a[0], b[0])), float(max(a[-1], b[-1]))
    edges = np.linspace(low, high if high > low else low + 1.0, BINS + 1)
    shares = {
        "reference": _shares(
            np.diff(np.searchsorted(a, edges[1:-1], side="left"), prepend=0, append=a.size)
        ),
        "current": _shares(
            np.diff(np.searchsorted(b, edges[1:-1], side="left"), prepend=0, append=b.size)
        ),
    }
    return feature, charts.compared_histogram(name, edges.tolist(), shares)


def _categorical_drift(name: str, ref, cur) -> tuple[dict, dict | None]:
    from scipy import stats

    a, b = _labels(ref).value_counts(), _labels(cur).value_counts()
    feature = {"name": name, "test": "chi2", "statistic": None, "p_value": None, "psi": None}
    if not a.sum() or not b.sum():
        return feature, None
    categories = sorted(set(a.index) | set(b.index), key=lambda v: -(a.get(v, 0) + b.get(v, 0)))
    counts_a = [int(a.get(v, 0)) for v in categories]
    counts_b = [int(b.get(v, 0)) for v in categories]
    if len(categories) > 1:
        result = stats.chi2_contingency([counts_a, counts_b])
        statistic, p_value = float(result.statistic), float(result.pvalue)
    else:
        statistic, p_value = 0.0, 1.0  # one value in both samples: nothing to compare
    share_a, share_b = _shares(counts_a), _shares(counts_b)
    feature.update(statistic=statistic, p_value=p_value, psi=psi(share_a, share_b))
    top = slice(0, TOP_VALUES)
    shares = {"reference": share_a[top], "current": share_b[top]}
    return feature, charts.compared_bars(name, [str(c) for c in categories[top]], shares)


def sample(frame, rows: int = SAMPLE_ROWS):
    """`frame`, or a uniform sample of `rows` of its rows when it has more (fixed seed)."""
    if len(frame) <= rows:
        return frame
    import numpy as np

    picked = np.sort(np.random.default_rng(SEED).choice(len(frame), rows, replace=False))
    return frame.take(picked)


def _feature(label, ref, cur) -> tuple[dict, dict | None]:
    if all(_is_numeric(s) or _is_datetime(s) for s in (ref, cur)):
        return _numeric_drift(str(label), ref, cur)
    return _categorical_drift(str(label), ref, cur)


def drift(reference, current, alpha: float = 0.05) -> dict[str, Any]:
    """Per shared column: test, statistic, p-value, PSI and whether it drifted; plus charts."""
    import os
    from concurrent.futures import ThreadPoolExecutor

    shared = [c for c in reference.columns if c in set(current.columns)]
    rows = {"reference": int(len(reference)), "current": int(len(current))}
    ref_sample, cur_sample = sample(reference), sample(current)  # rows first: no big copy
    workers = min(os.cpu_count() or 1, max(1, len(shared)))
    with ThreadPoolExecutor(workers) as pool:
        found = list(
            pool.map(lambda label: _feature(label, ref_sample[label], cur_sample[label]), shared)
        )
    features, specs = [], []
    for feature, chart in found:
        feature["drifted"] = feature["p_value"] is not None and feature["p_value"] < alpha
        features.append(feature)
        if chart is not None and len(specs) < MAX_CHARTS:
            specs.append(chart)
    sampled = {name: min(count, SAMPLE_ROWS) for name, count in rows.items() if count > SAMPLE_ROWS}
    return {
        "sampled": sampled,
        "features": features,
        "drifted": any(f["drifted"] for f in features),
        "alpha": alpha,
        "rows": rows,
        "missing_columns": {
            "reference": [str(c) for c in current.columns if c not in set(reference.columns)],
            "current": [str(c) for c in reference.columns if c not in set(current.columns)],
        },
        "chart": charts.drift_summary(features),
        "charts": specs,
    }
