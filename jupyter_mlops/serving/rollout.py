"""A rollout (canary or shadow) judged on the live log, and ended.

`status` compares the champion and the challenger on what they really answered: the
prediction log (each line names its version and path) joined with the feedback. Per side:
requests, labelled predictions, the metric with a confidence interval, latency; between them:
the difference in the metric with its own interval, and how far their outputs drift apart
(on the same requests in a shadow: how often they agree; on different requests in a canary:
a two-sample test of their output distributions). It says:

- ``promote`` when the whole interval of the difference favours the challenger,
- ``keep`` (the champion) when it favours the champion,
- ``not enough data`` when either side has fewer than `min_labels` labelled predictions, or the
  interval still holds both answers.

Intervals are scipy's: Wilson's for accuracy alone, else a bootstrap (percentile) over the
labelled rows, paired on the same requests in a shadow: 999 resamples, vectorized, for the
metrics that are means over rows (accuracy, mae, mse, rmse), 199 for the others.

`promote` moves ``champion`` to the challenger and ends the rollout (the ``challenger``
alias is removed); `abort` only removes the ``challenger`` alias. Both go through
`move_alias`, so the history says who ended it and why; the service follows within seconds.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from typing import Any

from jupyter_mlops.errors import ModelGateError

CONFIDENCE = 0.95
MIN_LABELS = 30
RESAMPLES = 999
SLOW_RESAMPLES = 199  # metrics computed by scikit-learn on each resample (f1, r2, ...)
PROMOTE, KEEP, UNDECIDED = "promote", "keep", "not enough data"


@dataclass
class Side:
    role: str  # champion | challenger
    version: str
    requests: int = 0
    labelled: int = 0
    value: float | None = None
    interval: tuple[float, float] | None = None
    p50_ms: float | None = None
    p99_ms: float | None = None

    def __str__(self) -> str:
        metric = (
            f"{self.value:.4g} [{self.interval[0]:.4g}, {self.interval[1]:.4g}]"
            if self.value is not None and self.interval is not None
            else "-"
        )
        latency = (
            f"p50 {self.p50_ms:.2f} ms, p99 {self.p99_ms:.2f} ms"
            if self.p50_ms is not None
            else "-"
        )
        return (
            f"{self.role:<10} version {self.version:<4} {self.requests:>7} predictions "
            f"{self.labelled:>6} labelled  metric {metric}  latency {latency}"
        )


@dataclass
class RolloutStatus:
    name: str
    mode: str  # canary | shadow | both
    metric: str
    champion: Side
    challenger: Side
    difference: float | None = None
    interval: tuple[float, float] | None = None
    drift: str = ""
    verdict: str = UNDECIDED
    reason: str = ""
    notes: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        diff = (
            f"{self.difference:+.4g} [{self.interval[0]:+.4g}, {self.interval[1]:+.4g}]"
            if self.difference is not None and self.interval is not None
            else "-"
        )
        return [
            f"{self.name}: {self.mode} rollout, metric {self.metric} "
            f"({int(CONFIDENCE * 100)}% intervals)",
            f"  {self.champion}",
            f"  {self.challenger}",
            f"  challenger - champion: {diff}",
            f"  outputs: {self.drift or '-'}",
            *(f"  {note}" for note in self.notes),
            f"verdict: {self.verdict}: {self.reason}",
        ]


def status(
    log: str | os.PathLike,
    name: str,
    champion: str,
    challenger: str,
    *,
    metric: str = "accuracy",
    min_labels: int = MIN_LABELS,
    since: float | None = None,
) -> RolloutStatus:
    """Compare version `champion` and version `challenger` of `name` on prediction log `log`."""
    import numpy as np

    from jupyter_mlops.retrain.step_gate import greater_is_better, score
    from jupyter_mlops.serving.monitoring import MonitoringError, feedback_path
    from jupyter_mlops.serving.prediction_log import parts, read_lines, read_log

    if not parts(log):
        raise MonitoringError(f"no prediction log at {log}")
    score(metric, [0, 1], [0, 1])  # an unknown metric is refused before any work
    frame = read_log(log, since)
    frame = frame[frame["model"].astype(str) == name]
    labels = {r["id"]: r.get("label") for r in read_lines(feedback_path(log)) if "id" in r}
    champ = frame[(frame["model_version"] == champion) & (frame["path"] == "champion")]
    chall = frame[(frame["model_version"] == challenger) & frame["path"].isin(["canary", "shadow"])]
    paths = set(chall["path"])
    mode = "shadow" if paths == {"shadow"} else "canary" if paths == {"canary"} else "both"
    if not paths:
        mode = "no challenger traffic"
    higher = greater_is_better(metric)
    out = RolloutStatus(
        name, mode, metric, Side("champion", champion), Side("challenger", challenger)
    )
    for side, rows in ((out.champion, champ), (out.challenger, chall)):
        side.requests = len(rows)
        latency = rows["latency_ms"].dropna().astype(float)
        if len(latency):
            side.p50_ms = float(np.percentile(latency, 50))
            side.p99_ms = float(np.percentile(latency, 99))
    a = _labelled(champ, labels)
    b = _labelled(chall, labels)
    out.champion.labelled, out.challenger.labelled = len(a), len(b)
    for side, (y, p) in ((out.champion, a.values), (out.challenger, b.values)):
        if len(y):
            side.value = score(metric, y, p)
            side.interval = _interval(metric, y, p)
    out.drift = _drift(champ, chall, mode)
    if min(len(a), len(b)) < min_labels:
        out.verdict = UNDECIDED
        out.reason = (
            f"{min(len(a), len(b))} labelled predictions on the smaller side, fewer than "
            f"{min_labels}"
        )
        return out
    paired = mode == "shadow"
    out.difference, out.interval = _difference(metric, a, b, paired)
    low, high = out.interval
    better = (low > 0) if higher else (high < 0)
    worse = (high < 0) if higher else (low > 0)
    direction = "higher" if higher else "lower"
    if better:
        out.verdict = PROMOTE
        out.reason = f"the challenger's {metric} is better ({direction} is better) beyond doubt"
    elif worse:
        out.verdict = KEEP
        out.reason = f"the champion's {metric} is better ({direction} is better) beyond doubt"
    else:
        out.verdict = UNDECIDED
        out.reason = "the interval of the difference still holds 0: gather more feedback"
    return out


@dataclass
class _Labelled:
    ids: list[str]
    y: list[Any]
    p: list[Any]

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def values(self) -> tuple[list[Any], list[Any]]:
        return self.y, self.p


def _labelled(rows, labels: dict) -> _Labelled:
    known = rows[rows["id"].isin(labels.keys())]
    ids = known["id"].astype(str).tolist()
    return _Labelled(ids, [labels[i] for i in ids], known["prediction"].tolist())


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


def _interval(metric: str, y: list, p: list) -> tuple[float, float]:
    import numpy as np
    from scipy import stats

    from jupyter_mlops.retrain.step_gate import score

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


def _difference(metric: str, a: _Labelled, b: _Labelled, paired: bool):
    """challenger − champion, and its bootstrap interval (paired: resampling the requests
    both answered, not each side apart)."""
    import numpy as np

    from jupyter_mlops.retrain.step_gate import score

    if paired:
        where = {i: k for k, i in enumerate(b.ids)}
        common = [(k, where[i]) for k, i in enumerate(a.ids) if i in where]
        a = _Labelled(
            [a.ids[k] for k, _ in common], [a.y[k] for k, _ in common], [a.p[k] for k, _ in common]
        )
        b = _Labelled(
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


def _drift(champ, chall, mode: str) -> str:
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


# --- ending a rollout ------------------------------------------------------------------------


def current(client, name: str) -> tuple[str | None, str | None]:
    """(champion, challenger) versions of `name` now."""
    from jupyter_mlops.registry.aliases import CHAMPION, holder, require_model
    from jupyter_mlops.registry.promote import CHALLENGER

    require_model(client, name)
    return holder(client, name, CHAMPION), holder(client, name, CHALLENGER)


def promote(client, name: str, why: str = "") -> str:
    """The challenger becomes champion; the rollout ends. Returns the new champion."""
    from jupyter_mlops.registry.aliases import CHAMPION, move_alias
    from jupyter_mlops.registry.promote import CHALLENGER

    champion, challenger = current(client, name)
    if challenger is None:
        raise ModelGateError(f"model {name!r} has no challenger: no rollout to promote")
    reason = why or f"rollout promoted: challenger version {challenger} replaces {champion}"
    move_alias(client, name, CHAMPION, challenger, why=reason, kind="rollout")
    move_alias(client, name, CHALLENGER, None, why=reason, kind="rollout")
    return challenger


def abort(client, name: str, why: str = "") -> str:
    """The challenger stops taking traffic (its alias is removed). Returns its version."""
    from jupyter_mlops.registry.aliases import move_alias
    from jupyter_mlops.registry.promote import CHALLENGER

    champion, challenger = current(client, name)
    if challenger is None:
        raise ModelGateError(f"model {name!r} has no challenger: no rollout to abort")
    reason = why or f"rollout aborted: version {champion} stays champion"
    move_alias(client, name, CHALLENGER, None, why=reason, kind="rollout")
    return challenger
