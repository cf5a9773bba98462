"""How much a new batch may differ from the training data before validation stops it.

A schema that takes the training sample's exact min and max fails almost every fresh batch of
a continuous feature (a new sample has new extremes), so the defaults here are chosen so that
clean batches pass and real skew is named (measured in tests/data/test_alarm_rates.py):

- **ranges** (`ranges="quantile"`): from the 0.1% and 99.9% quantiles, widened on each side by
  `margin` × their distance (default 1.0): they catch impossible values (a unit error, a
  sentinel like -999, 1e6), not the tails of the distribution. `"minmax"`: the observed min
  and max widened by `margin` × the span (default 0: the old exact bounds). `None`: no range
  check. Data without negative values never gets a negative lower bound.
- **mean** (continuous features): the batch mean may move `MEAN_Z` standard errors from the
  training mean (a false alarm about once in 1.7 million batches), and never less than
  `MIN_SHIFT` sd (a shift that small is not worth a stop on a huge batch). It catches a shift
  of 1 sd from about 40 rows on.
- **nulls**: none in training → none allowed; some → up to 2 × the training share + 2 points.
- **categories** (text with at most `max_categories` values): unseen values may make up
  `unseen` of the present values (default 0.1%); `"error"`: any unseen value fails;
  `"warn"`: they are listed as warnings and never fail.

Every choice is written into the schema file with its reason (`description` and a comment).
"""

from __future__ import annotations

import math

QUANTILES = (0.001, 0.999)
QUANTILE_MARGIN = 1.0
MEAN_Z = 5.0
MIN_SHIFT = 0.1
UNSEEN_SHARE = 0.001


def null_allowance(share: float) -> float:
    """The null share a batch may have when the training data had `share`."""
    return min(1.0, round(2 * share + 0.02, 4))


def numeric_checks(
    series, *, ranges: str | None, margin: float | None, continuous: bool
) -> tuple[list, list[str]]:
    """Range and mean checks of a numeric column, and the reasons, one per check."""
    import pandera.pandas as pa

    checks, reasons = [], []
    values = series.dropna()
    values = values[values.map(math.isfinite)] if continuous else values
    if not len(values):
        return checks, reasons
    integral = not continuous
    if ranges is not None:
        if ranges == "quantile":
            margin = QUANTILE_MARGIN if margin is None else margin
            q_low, q_high = (float(values.quantile(q)) for q in QUANTILES)
            pad = margin * (q_high - q_low) if q_high > q_low else margin * max(abs(q_high), 1.0)
            why = (
                f"range: the {QUANTILES[0]:.1%}-{QUANTILES[1]:.1%} quantiles widened by "
                f"{margin:g} x their distance on each side"
            )
        elif ranges == "minmax":
            margin = 0.0 if margin is None else margin
            q_low, q_high = float(values.min()), float(values.max())
            pad = margin * (q_high - q_low) if q_high > q_low else margin * max(abs(q_high), 1.0)
            why = f"range: the observed min and max widened by {margin:g} x the span"
        else:
            raise ValueError(f"ranges={ranges!r}: use 'quantile', 'minmax' or None")
        low = math.floor(q_low - pad) if integral else _outwards(q_low - pad, math.floor)
        high = math.ceil(q_high + pad) if integral else _outwards(q_high + pad, math.ceil)
        if float(values.min()) >= 0:
            low = max(low, 0)
            why += ", never below 0 (no negative value seen)"
        checks += [pa.Check.greater_than_or_equal_to(low), pa.Check.less_than_or_equal_to(high)]
        reasons.append(why)
    if continuous and len(values) > 1 and float(values.std()) > 0:
        mean, sd = float(values.mean()), float(values.std())
        checks.append(
            pa.Check.mean_within(
                mean=_sig(mean), sd=_sig(sd), rows=int(len(values)), z=MEAN_Z, min_shift=MIN_SHIFT
            )
        )
        reasons.append(
            f"mean: may move {MEAN_Z:g} standard errors from {_sig(mean):g} (sd {_sig(sd):g}), "
            f"at least {MIN_SHIFT:g} sd"
        )
    return checks, reasons


def category_checks(values: list[str], unseen: str | float) -> tuple[list, list[str]]:
    """The allowed categories with the policy for values never seen in training."""
    import pandera.pandas as pa

    if unseen == "error":
        return [pa.Check.isin(values)], ["categories: any unseen value fails"]
    if unseen == "warn":
        check = pa.Check.unseen_share_at_most(allowed=values, max_share=1.0, policy="warn")
        return [check], ["categories: unseen values are warnings, never failures"]
    share = float(unseen)
    if not 0 <= share <= 1:
        raise ValueError(f"unseen={unseen!r}: use 'error', 'warn' or a share between 0 and 1")
    check = pa.Check.unseen_share_at_most(allowed=values, max_share=share, policy="share")
    return [check], [f"categories: unseen values may be up to {share:.2%} of present values"]


def null_checks(series) -> tuple[bool, list, list[str]]:
    """Whether nulls are allowed, the null-share check, and the reason."""
    import pandera.pandas as pa

    share = float(series.isna().mean())
    if share == 0:
        return False, [], ["nulls: none in training, none allowed"]
    allowed = null_allowance(share)
    check = pa.Check.null_share_at_most(max_share=allowed, ignore_na=False)
    return True, [check], [f"nulls: {share:.2%} in training, up to {allowed:.2%} allowed"]


def _sig(value: float) -> float:
    return float(f"{value:.6g}")


def _outwards(value: float, direction) -> float:
    """`value` rounded away from the data to six significant digits: readable, and robust to
    data that went through a lossy text format."""
    value = float(f"{value:.12g}")  # 11.03 - 3.8 is 7.229999999999999: mean 7.23
    if value == 0 or not math.isfinite(value):
        return value
    scale = 10 ** (5 - math.floor(math.log10(abs(value))))
    return float(f"{direction(value * scale) / scale:.6g}")


def describe(reasons: list[str]) -> str:
    return "; ".join(reasons)
