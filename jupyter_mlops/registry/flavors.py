"""How a model is logged: its MLflow flavour, pinned requirements and skops trust.

scikit-learn estimators use MLflow's sklearn flavour (saved with skops); anything else with a
`predict` method becomes a pyfunc holding the cloudpickled object. Requirements are pinned
from the installed versions, so MLflow never infers them in a (slow) subprocess.
"""

from __future__ import annotations

import importlib.metadata
import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from jupyter_mlops.registry import modelcard
from jupyter_mlops.tracking import store

MODEL_NAME = "model"  # the model's name inside its run


def flavor_of(model: Any) -> str:
    """``"sklearn"`` for scikit-learn estimators, else ``"pyfunc"``."""
    return "sklearn" if is_sklearn(model) else "pyfunc"


def is_sklearn(model: Any) -> bool:
    """A scikit-learn estimator, recognised by its class hierarchy (no import of sklearn)."""
    roots = {cls.__module__.partition(".")[0] for cls in type(model).__mro__}
    return "sklearn" in roots and hasattr(model, "fit")


def _pin(distribution: str) -> str | None:
    try:
        return f"{distribution}=={importlib.metadata.version(distribution)}"
    except importlib.metadata.PackageNotFoundError:
        return None


def requirements(model: Any, flavor: str, served: Any = None) -> list[str]:
    """Explicit pins, so MLflow need not infer them in a (slow) subprocess. `served`: the
    notebook's serve cells packaged with the model (their imports and values are pinned too)."""
    names = ["scikit-learn", "skops"] if flavor == "sklearn" and served is None else ["cloudpickle"]
    tops = {type(model).__module__.partition(".")[0]}
    if served is not None:
        from jupyter_mlops.registry.serve_package import modules

        tops |= modules(served) | {"numpy", "pandas"}
    installed = importlib.metadata.packages_distributions()
    for top in sorted(tops):
        names += installed.get(top, [])
    for module, dist in (("numpy", "numpy"), ("pandas", "pandas")):
        if module in sys.modules:
            names.append(dist)
    pins = [_pin(n) for n in dict.fromkeys(names)]
    return sorted(p for p in pins if p)


def skops_trusted_types(model: Any) -> list[str] | None:
    """The types of `model` that skops would refuse to load (e.g. the trees of a forest).

    MLflow saves scikit-learn models with skops, which loads only types it trusts by default;
    the publisher made this model, so its own types are recorded as trusted in its MLmodel.
    """
    try:
        import skops.io

        return skops.io.get_untrusted_types(data=skops.io.dumps(model)) or None
    except Exception:
        return None  # MLflow reports the problem itself if the model cannot be saved


def _pyfunc(model: Any):
    """Wrap any object with a `predict` method as an MLflow PythonModel (cloudpickled)."""
    import mlflow.pyfunc

    class PickledModel(mlflow.pyfunc.PythonModel):
        def __init__(self, inner):
            self.inner = inner

        def predict(self, context, model_input, params=None):
            return self.inner.predict(model_input)

    return PickledModel(model)


@contextmanager
def _in_experiment_of(uri: str, run_id: str) -> Iterator[None]:
    """Make the run's experiment MLflow's active one for the block.

    MLflow 3.17's `log_model(run_id=…)` files the logged model under the *active* experiment,
    which in a fresh process is Default ("0"), not under its run's. Besides misplacing the
    model, that is refused by a basic-auth server to every user who may write only their own
    experiments (default permission READ).
    """
    import mlflow.tracking.fluent as fluent

    experiment = store.client(uri).get_run(run_id).info.experiment_id
    saved = fluent._active_experiment_id
    fluent._active_experiment_id = experiment
    try:
        yield
    finally:
        fluent._active_experiment_id = saved


def log_served(uri: str, run_id: str, options: dict[str, Any]):
    """Log a model packaged with its serve cells (serve_package.py) in run `run_id`."""
    from jupyter_mlops.registry.serve_package import quietly

    with store.fluent_uri(uri), _in_experiment_of(uri, run_id), quietly():
        import mlflow.models
        import mlflow.pyfunc

        return mlflow.models.Model.log(
            artifact_path=None, name=MODEL_NAME, flavor=mlflow.pyfunc, run_id=run_id, **options
        )


def log_model(model: Any, flavor: str, uri: str, run_id: str, reqs: list[str], data: Any):
    """Log `model` in run `run_id` with its flavour; MLflow's `ModelInfo` (model_uri, model_id)."""
    signature = None
    if data is not None:
        try:
            from mlflow.models import infer_signature

            sample = data.head(modelcard.SAMPLE_ROWS) if hasattr(data, "head") else data
            signature = infer_signature(sample, model.predict(sample))
        except Exception:
            signature = None  # a signature is a convenience; the card still has the schema
    with store.fluent_uri(uri), _in_experiment_of(uri, run_id):
        import mlflow.models
        import mlflow.pyfunc

        if flavor == "sklearn":
            import mlflow.sklearn

            return mlflow.sklearn.log_model(
                model,
                name=MODEL_NAME,
                run_id=run_id,
                pip_requirements=reqs,
                signature=signature,
                skops_trusted_types=skops_trusted_types(model),
            )
        # mlflow.pyfunc.log_model takes no run_id; the Model.log it wraps does. The wrapped
        # model's input is whatever it accepts: MLflow's advice to add type hints is noise.
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*type hints? to the `predict` method")
            return mlflow.models.Model.log(
                artifact_path=None,
                name=MODEL_NAME,
                flavor=mlflow.pyfunc,
                run_id=run_id,
                python_model=_pyfunc(model),
                pip_requirements=reqs,
                signature=signature,
            )
