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

The intervals (scipy's) and the output comparison are rollout_stats.py's.

`promote` moves ``champion`` to the challenger and ends the rollout (the ``challenger``
alias is removed); `abort` only removes the ``challenger`` alias. Both go through
`move_alias`, so the history says who ended it and why; the service follows within seconds.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from jupyter_mlops.errors import ModelGateError
from jupyter_mlops.serving import rollout_stats as stats
from jupyter_mlops.serving.rollout_stats import CONFIDENCE

MIN_LABELS = 30
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

    from jupyter_mlops.data.prediction_log import parts, read_lines, read_log
    from jupyter_mlops.metrics import greater_is_better, score
    from jupyter_mlops.serving.monitoring import MonitoringError, feedback_path

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
    a = stats.labelled(champ, labels)
    b = stats.labelled(chall, labels)
    out.champion.labelled, out.challenger.labelled = len(a), len(b)
    for side, (y, p) in ((out.champion, a.values), (out.challenger, b.values)):
        if len(y):
            side.value = score(metric, y, p)
            side.interval = stats.interval(metric, y, p)
    out.drift = stats.drift(champ, chall, mode)
    if min(len(a), len(b)) < min_labels:
        out.verdict = UNDECIDED
        out.reason = (
            f"{min(len(a), len(b))} labelled predictions on the smaller side, fewer than "
            f"{min_labels}"
        )
        return out
    paired = mode == "shadow"
    out.difference, out.interval = stats.difference(metric, a, b, paired)
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
