"""Where MLflow clients come from: the one place that creates them (after the embedded SQLite
store is set up safely), imports mlflow, names experiments and logs batches. Other modules
call the client it gives them.

`import mlflow` costs seconds, so nothing here imports it at module level; callers that know
they will need it soon call `import_in_background()` to overlap the import with other work.
"""

from __future__ import annotations

import contextlib
import math
import os
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from jupyter_mlops import credentials
from jupyter_mlops.tracking import config, sqlite_store

# MLflow's limits (mlflow.utils.validation): per log_batch call and per value.
MAX_METRICS_PER_BATCH = 1000
MAX_PARAM_LENGTH = 6000
MAX_TAG_LENGTH = 8000

_import_lock = threading.Lock()
_import_thread: threading.Thread | None = None


def import_in_background() -> None:
    """Start importing mlflow in a daemon thread (once); a later import waits for it."""
    global _import_thread
    with _import_lock:
        if _import_thread is not None:
            return
        _import_thread = threading.Thread(
            target=_import_mlflow, name="jupyter-mlops-import", daemon=True
        )
        _import_thread.start()


def wait_for_import() -> None:
    """Let a background import finish before this thread imports mlflow itself.

    Two threads entering mlflow's circular imports at different modules can see a partially
    initialised module ("cannot import name ... from partially initialized module").
    """
    thread = _import_thread
    if thread is not None and thread is not threading.current_thread():
        thread.join()


def _import_mlflow() -> None:
    try:
        import mlflow  # noqa: F401
        from mlflow.tracking import MlflowClient  # noqa: F401
    except Exception:
        pass  # whoever needs it next reports the real error


@dataclass(frozen=True)
class Metric:
    """One metric value, as buffered before a batch: name, value, time (ms), step."""

    key: str
    value: float
    timestamp: int
    step: int = 0


def now_ms() -> int:
    return int(time.time() * 1000)


def client(uri: str):
    """An `MlflowClient` for tracking and registry at `uri` (an SQLite store made safely)."""
    wait_for_import()
    from mlflow.tracking import MlflowClient

    _quiet_mlflow_logs()
    sqlite_store.prepare(uri)
    return MlflowClient(tracking_uri=uri, registry_uri=uri)


def _quiet_mlflow_logs() -> None:
    """MLflow's log lines without passwords, and without its chatter in our output.

    Its records quote the URLs it calls, password included: masked. Its INFO lines ("Creating
    initial MLflow database tables...") land in the middle of `nb2pipe run`'s output: only
    warnings are shown, unless MLFLOW_LOGGING_LEVEL says otherwise. "Failed to resolve
    installed pip version" is dropped: it only says the venv has no pip (uv makes them so),
    and the models' requirements are given explicitly.
    """
    import logging

    mlflow = logging.getLogger("mlflow")
    credentials.redact_logs(mlflow, logging.getLogger())
    if not os.environ.get("MLFLOW_LOGGING_LEVEL") and mlflow.level < logging.WARNING:
        mlflow.setLevel(logging.WARNING)
    environment = logging.getLogger("mlflow.utils.environment")
    if _no_pip_warning not in environment.filters:
        environment.addFilter(_no_pip_warning)


def _no_pip_warning(record) -> bool:
    return not str(record.msg).startswith("Failed to resolve installed pip version")


def end_run(mlflow_client, uri: str, run_id: str, status: str, end_ms: int | None = None):
    """Terminate a run; for a server, print MLflow's "View run" links without credentials.

    MLflow's own links are built from the tracking URI as given, ``user:password@`` included.
    """
    name = "MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT"
    show = os.environ.get(name, "").strip().lower() not in ("1", "true")
    with quiet_urls():
        mlflow_client.set_terminated(run_id, status, end_ms)
    if show and uri.startswith(("http://", "https://")):
        run = mlflow_client.get_run(run_id)
        experiment = (
            f"{credentials.redact_uri(uri).rstrip('/')}/#/experiments/{run.info.experiment_id}"
        )
        print(f"🏃 View run {run.info.run_name} at: {experiment}/runs/{run_id}")
        print(f"🧪 View experiment at: {experiment}")


def experiment_id(mlflow_client, name: str, uri: str) -> str:
    """The id of experiment `name`, created if needed (artifacts beside an embedded database)."""
    from mlflow.exceptions import MlflowException

    found = mlflow_client.get_experiment_by_name(name)
    if found is not None:
        if found.lifecycle_stage == "deleted":
            mlflow_client.restore_experiment(found.experiment_id)
        return found.experiment_id
    root = config.sqlite_artifact_root(uri)
    location = f"{root}/{_slug(name)}" if root else None
    try:
        return mlflow_client.create_experiment(name, artifact_location=location)
    except MlflowException:
        # Another process created it between our lookup and our create.
        found = mlflow_client.get_experiment_by_name(name)
        if found is None:
            raise
        return found.experiment_id


def _slug(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name) or "experiment"


def param_value(value: Any) -> str:
    text = value if isinstance(value, str) else repr(value)
    return text[:MAX_PARAM_LENGTH]


def tag_value(value: Any) -> str:
    text = value if isinstance(value, str) else ("" if value is None else str(value))
    return text[:MAX_TAG_LENGTH]


def as_number(value: Any) -> float | None:
    """A finite float for numbers (numpy scalars too, not bools); None for anything else."""
    if isinstance(value, bool) or type(value).__name__ == "bool_":
        return None
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return number if math.isfinite(number) else None


def log_batch(
    mlflow_client,
    run_id: str,
    metrics: Sequence[Metric] = (),
    params: Mapping[str, Any] | None = None,
    tags: Mapping[str, Any] | None = None,
) -> None:
    """Log metrics, params and tags in one `MlflowClient.log_batch` (which splits them into
    as many requests as MLflow's per-request limits need)."""
    from mlflow.entities import Metric as MlflowMetric
    from mlflow.entities import Param, RunTag

    mlflow_client.log_batch(
        run_id,
        metrics=[MlflowMetric(m.key, m.value, m.timestamp, m.step) for m in metrics],
        params=[Param(k, param_value(v)) for k, v in (params or {}).items()],
        tags=[RunTag(k, tag_value(v)) for k, v in (tags or {}).items()],
    )


@contextlib.contextmanager
def quiet_urls() -> Iterator[None]:
    """Stop MLflow printing "View run ... at" for each run ended inside the block."""
    name = "MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT"
    before = os.environ.get(name)
    os.environ[name] = "true"
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = before


@contextlib.contextmanager
def fluent_uri(uri: str) -> Iterator[None]:
    """Point MLflow's global (fluent) tracking and registry URIs at `uri` for a block.

    `log_model` and `register_model` read the global URIs. `mlflow.set_tracking_uri` also
    writes the environment variables, which our own configuration reads: both are restored
    exactly afterwards, so a user's settings are left as they were.
    """
    wait_for_import()
    import mlflow
    from mlflow.tracking._model_registry import utils as registry_utils
    from mlflow.tracking._tracking_service import utils as tracking_utils

    _quiet_mlflow_logs()
    sqlite_store.prepare(uri)
    names = ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI")
    env = {name: os.environ.get(name) for name in names}
    globals_ = (tracking_utils._tracking_uri, registry_utils._registry_uri)
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    try:
        yield
    finally:
        tracking_utils._tracking_uri, registry_utils._registry_uri = globals_
        for name, value in env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
