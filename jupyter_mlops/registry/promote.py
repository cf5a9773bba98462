"""The model gate: move alias ``champion`` to the ``challenger`` only when it wins.

A version's metric values are its ``metric.<name>`` tags (written by `publish_model`), else
the metrics of the run that logged it. The decision and both values are recorded as tags on
the challenger version, so the registry itself says why a model is (or is not) champion.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field

from jupyter_mlops.errors import ModelGateError, translated
from jupyter_mlops.registry import aliases
from jupyter_mlops.registry.aliases import move_alias
from jupyter_mlops.tracking import config, journal, provenance, store

CHALLENGER = "challenger"
CHAMPION = aliases.CHAMPION
METRIC_TAG = "metric."  # version tag prefix holding each metric's value


@dataclass
class GateDecision:
    name: str
    metric: str
    promoted: bool
    reason: str
    challenger_version: str
    challenger_value: float
    champion_version: str | None = None
    champion_value: float | None = None
    slices: list[dict] = field(default_factory=list)  # retrain.slices.compare_slices' rows

    def __str__(self) -> str:
        verdict = "promoted to champion" if self.promoted else "stays challenger"
        return f"{self.name} version {self.challenger_version} {verdict}: {self.reason}"


def _by_alias(client, name: str, alias: str):
    from mlflow.exceptions import MlflowException

    try:
        return client.get_model_version_by_alias(name, alias)
    except MlflowException as e:
        if e.error_code in ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE", "NOT_FOUND"):
            return None
        raise


def _value(client, version, metric: str) -> float | None:
    tagged = store.as_number(version.tags.get(f"{METRIC_TAG}{metric}"))
    if tagged is not None:
        return tagged
    if version.run_id:
        return store.as_number(client.get_run(version.run_id).data.metrics.get(metric))
    return None


def promote(
    name: str,
    metric: str,
    *,
    greater_is_better: bool = True,
    threshold: float = 0.0,
    tracking_uri: str | None = None,
    dry_run: bool = False,
    champion_value: float | None = None,
    slices: list[dict] | None = None,
    slice_threshold: float = 0.0,
) -> GateDecision:
    """Move alias `champion` to the `challenger` version when it beats the champion on `metric`.

    Wins means ``challenger > champion + threshold`` (``<  champion - threshold`` when lower is
    better); with no champion yet the challenger wins. The decision and both values are
    recorded as tags on the challenger version. `dry_run` decides and changes nothing (CI's gate
    job on a pull request). `champion_value`: the champion's score on the challenger's own
    held-out data (the gate step measures it), rather than the value it was published with.
    `slices` (retrain.slices.compare_slices): a challenger that wins overall is still refused
    when a slice drops by more than `slice_threshold`; the table joins the model card.
    """
    from jupyter_mlops.tracking.session import SESSION

    # The store asked for; else, in a pipeline step, the project's; else this session's.
    uri = tracking_uri or (SESSION.uri if journal.current_step() is None else config.tracking_uri())
    with translated(f"move the aliases of model {name!r}", uri):
        client = store.client(uri)
        challenger = _by_alias(client, name, CHALLENGER)
        if challenger is None:
            raise ModelGateError(f"model {name!r} has no {CHALLENGER!r} version: publish one first")
        value = _value(client, challenger, metric)
        if value is None:
            raise ModelGateError(
                f"{name} version {challenger.version} has no value for metric {metric!r}"
            )
        champion = _by_alias(client, name, CHAMPION)
        decision = GateDecision(name, metric, True, "", str(challenger.version), value)
        if champion is None:
            decision.reason = f"no champion yet ({metric} = {value:.6g})"
        elif champion.version == challenger.version:
            decision.promoted = False
            decision.reason = "it is already the champion"
            decision.champion_version, decision.champion_value = str(champion.version), value
        else:
            best = (
                champion_value if champion_value is not None else _value(client, champion, metric)
            )
            if best is None:
                raise ModelGateError(
                    f"champion {name} version {champion.version} has no value for metric "
                    f"{metric!r}: the gate cannot compare them"
                )
            decision.champion_version, decision.champion_value = str(champion.version), best
            margin = value - best if greater_is_better else best - value
            decision.promoted = margin > threshold
            better = "higher" if greater_is_better else "lower"
            same = " on the same held-out data" if champion_value is not None else ""
            decision.reason = (
                f"{metric} {value:.6g} vs champion version {champion.version}'s {best:.6g}"
                f"{same} ({better} is better, threshold {threshold:g})"
            )
        decision.slices = list(slices or [])
        _judge_slices(decision, slice_threshold)
        record = {
            "gate.decision": "promoted" if decision.promoted else "rejected",
            "gate.metric": metric,
            "gate.direction": "higher" if greater_is_better else "lower",
            "gate.threshold": repr(float(threshold)),
            "gate.challenger_value": repr(value),
            "gate.champion_value": repr(decision.champion_value)
            if decision.champion_value is not None
            else "none",
            "gate.champion_version": decision.champion_version or "none",
            "gate.decided_by": provenance.user(),
            "gate.decided_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        }
        if decision.slices:
            record["gate.slices"] = slice_tag(decision.slices)
            record["gate.slice_threshold"] = repr(float(slice_threshold))
            record["gate.decision"] = "promoted" if decision.promoted else "rejected"
        if dry_run:
            return decision
        for key, text in record.items():
            client.set_model_version_tag(name, challenger.version, key, text)
        for key in ("gate.slices", "gate.slice_threshold"):  # an earlier gate's, not this one's
            if key in (challenger.tags or {}) and key not in record:
                client.delete_model_version_tag(name, challenger.version, key)
        if decision.slices:
            from jupyter_mlops.registry.modelcard import with_slices

            card = with_slices(challenger.description or "", decision, slice_threshold)
            client.update_model_version(name, challenger.version, description=card)
        if decision.promoted:
            move_alias(
                client,
                name,
                CHAMPION,
                str(challenger.version),
                why=decision.reason,
                kind="gate",
                gate="promoted",
            )
    return decision


def _judge_slices(decision: GateDecision, threshold: float) -> None:
    """Refuse a challenger that wins overall but drops on a slice by more than `threshold`."""
    judged = [r for r in decision.slices if r.get("drop") is not None and not r.get("skipped")]
    worst = max(judged, key=lambda r: r["drop"], default=None)
    if not decision.promoted or worst is None or worst["drop"] <= threshold:
        return
    decision.promoted = False
    decision.reason = (
        f"slice {worst['slice']} ({worst['rows']} rows): {decision.metric} "
        f"{worst['challenger']:.6g} vs champion's {worst['champion']:.6g}, a drop of "
        f"{worst['drop']:.3g}, more than the slice threshold {threshold:g} (overall: "
        f"{decision.reason})"
    )


def slice_tag(rows: list[dict], limit: int = 7000) -> str:
    """The slice table as a version tag (JSON; the worst drops kept if it must be cut)."""
    ordered = sorted(rows, key=lambda r: -(r.get("drop") if r.get("drop") is not None else -1e9))
    while True:
        text = json.dumps(ordered, separators=(",", ":"), default=str)
        if len(text) <= limit or not ordered:
            return text
        ordered = ordered[:-1]
