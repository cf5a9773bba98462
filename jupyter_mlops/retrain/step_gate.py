"""The model gate as a pipeline step: evaluate on held-out data, publish, promote or not.

`gate(model, X_test, y_test, name=..., metric="accuracy")` scores the model, publishes it as
the `challenger` (`registry.publish_model`) and lets `registry.promote.promote` decide whether it
replaces the `champion`. Inside a step the decision becomes the step's metrics
(``gate_<metric>``, ``gate_promoted``, ``gate_champion_<metric>``), its tags and a
``gate.json`` in the step folder, so the run shows what the gate decided and why.

Metrics are named as people say them (`jupyter_mlops.metrics`); any other name is looked up
among scikit-learn's scorers (higher is better there).
"""

from __future__ import annotations

from typing import Any

from jupyter_mlops.metrics import evaluate, greater_is_better

GATE_FILE = "gate.json"


def gate(
    model: Any,
    X_test,
    y_test,
    *,
    name: str,
    metric: str = "accuracy",
    greater_is_better: bool | None = None,
    threshold: float = 0.0,
    slices: list[str] | None = None,
    min_rows: int = 30,
    slice_threshold: float = 0.0,
    **publish_options: Any,
):
    """Score `model` on the held-out set, publish it as challenger, promote it if it wins.

    Returns the registry's `GateDecision`. `publish_options` go to `publish_model`
    (params, description, tags, ...); the held-out `X_test` documents the model's inputs.
    `slices` (columns of `X_test`): challenger and champion are compared on every slice of at
    least `min_rows` rows, and a challenger that drops by more than `slice_threshold` on any
    slice is refused, the slice named (retrain.slices).
    """
    from jupyter_mlops.registry import publish as registry
    from jupyter_mlops.registry.promote import promote
    from jupyter_mlops.retrain.slices import compare_slices

    higher = _higher(metric) if greater_is_better is None else greater_is_better
    value = evaluate(model, X_test, y_test, metric)
    # The champion is scored on the same held-out rows: the value it was published with came
    # from other data (a test split of older batches), and comparing those is not fair.
    champion = _champion(name)
    champion_value = _score(champion, X_test, y_test, metric)
    table = None
    if slices:
        scored = champion if champion_value is not None else None  # it takes these inputs
        table = compare_slices(
            model, scored, X_test, y_test, slices, metric,
            min_rows=min_rows, greater_is_better=higher,
        )  # fmt: skip
    publish_options.setdefault("data", X_test)
    metrics = {**(publish_options.pop("metrics", None) or {}), metric: value}
    published = registry.publish_model(
        model, name, metric=metric, metrics=metrics, **publish_options
    )
    decision = promote(
        name,
        metric,
        greater_is_better=higher,
        threshold=threshold,
        champion_value=champion_value,
        slices=table,
        slice_threshold=slice_threshold,
    )
    _record_in_step(decision, published)
    print(f"gate: {decision}")
    return decision


def _champion(name: str) -> Any | None:
    """The current champion as a scikit-learn model; None when there is no champion, or it
    cannot be loaded as one (the gate then uses the value it was published with)."""
    from jupyter_mlops.registry.promote import CHAMPION
    from jupyter_mlops.tracking import config, journal, store
    from jupyter_mlops.tracking.session import SESSION

    uri = SESSION.uri if journal.current_step() is None else config.tracking_uri()
    try:
        client = store.client(uri)
        client.get_model_version_by_alias(name, CHAMPION)
    except Exception:  # no such model or alias yet: nothing to compare with
        return None
    try:
        import mlflow.sklearn

        with store.fluent_uri(uri):
            return mlflow.sklearn.load_model(f"models:/{name}@{CHAMPION}")
    except Exception:  # another flavour
        return None


def _score(champion: Any | None, X_test, y_test, metric: str) -> float | None:
    """The champion's `metric` on this held-out set; None when it has none or no longer takes
    these inputs."""
    if champion is None:
        return None
    try:
        return evaluate(champion, X_test, y_test, metric)
    except Exception:
        return None


def _higher(metric: str) -> bool:
    try:
        return greater_is_better(metric)
    except ImportError:
        return True


def decision_metrics(decision) -> dict[str, float]:
    """The decision as numbers: what the run's metrics show."""
    out = {
        f"gate_{decision.metric}": decision.challenger_value,
        "gate_promoted": 1.0 if decision.promoted else 0.0,
    }
    if decision.champion_value is not None:
        out[f"gate_champion_{decision.metric}"] = decision.champion_value
    return out


def _record_in_step(decision, published) -> None:
    from jupyter_mlops.tracking import journal

    where = journal.current_step()
    if where is None:
        return
    from dataclasses import asdict

    from nb2pipe import artifacts
    from nb2pipe.fileio import write_json

    run_dir, step = where
    numbers = decision_metrics(decision)
    artifacts.save_metrics(run_dir, step, **numbers)  # the run's metrics, and MLflow's on sync
    log = journal.StepJournal(run_dir, step)
    log.tags(
        {
            "gate.model": decision.name,
            "gate.version": decision.challenger_version,
            "gate.decision": "promoted" if decision.promoted else "rejected",
            "gate.reason": decision.reason,
        }
    )
    write_json(
        run_dir / step / GATE_FILE,
        {**asdict(decision), "summary": str(decision), "model_uri": published.model_uri},
    )
