"""The statistical checks a tolerant schema uses, registered with pandera so they round-trip
through the schema YAML (`register()` runs before any schema is built or read).

Each check answers per value where it can, so a failure names the values that caused it:
- `null_share_at_most(max_share)`: nulls fail only when their share exceeds `max_share`;
- `unseen_share_at_most(allowed, max_share, policy)`: values outside `allowed` fail only when
  their share of the present values exceeds `max_share` (policy ``warn``: never fail, the
  report lists them as warnings);
- `mean_within(mean, sd, rows, z, min_shift)`: the batch mean may move from the training mean
  by `z` standard errors of the difference of two means, and never less than `min_shift` sd.
"""

from __future__ import annotations

import math

_registered = False


def mean_tolerance(sd: float, rows: int, n: int, z: float, min_shift: float) -> float:
    """How far a batch of `n` rows may move the mean from a training mean of `rows` rows."""
    return max(min_shift * sd, z * sd * math.sqrt(1.0 / max(n, 1) + 1.0 / max(rows, 1)))


def register() -> None:
    """Register the checks with pandera (once per process)."""
    global _registered
    if _registered:
        return
    import pandas as pd
    from pandera import extensions

    @extensions.register_check_method(statistics=["max_share"], check_type="vectorized")
    def null_share_at_most(series, *, max_share):
        missing = series.isna()
        if not len(series) or missing.mean() <= max_share:
            return pd.Series(True, index=series.index)
        return ~missing

    @extensions.register_check_method(
        statistics=["allowed", "max_share", "policy"], check_type="vectorized"
    )
    def unseen_share_at_most(series, *, allowed, max_share, policy="share"):
        present = series.dropna()
        unseen = ~present.astype(str).isin([str(a) for a in allowed])
        if policy == "warn" or not len(present) or unseen.mean() <= max_share:
            return pd.Series(True, index=series.index)
        return (~unseen).reindex(series.index, fill_value=True)

    @extensions.register_check_method(statistics=["mean", "sd", "rows", "z", "min_shift"])
    def mean_within(series, *, mean, sd, rows, z, min_shift):
        present = series.dropna().astype(float)
        if not len(present):
            return True
        limit = mean_tolerance(sd, rows, len(present), z, min_shift)
        return bool(abs(float(present.mean()) - mean) <= limit)

    _registered = True
