"""Every route of the sidebar's REST API, registered in one place (see SIDEBAR_API.md)."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from jupyter_server.utils import url_path_join

from jupyter_mlops.server.base import STATE, ServerState, redact_credentials
from jupyter_mlops.server.data import DriftHandler, ProfileHandler
from jupyter_mlops.server.debug import DataChangesHandler, StepDebugHandler
from jupyter_mlops.server.executed import ExecutedNotebookHandler
from jupyter_mlops.server.experiments import (
    ExperimentRunsHandler,
    ExperimentsHandler,
    MlflowRunHandler,
    SweepHandler,
)
from jupyter_mlops.server.models import (
    AliasHandler,
    ModelHandler,
    ModelsHandler,
    PromoteHandler,
    PublishHandler,
    RollbackHandler,
)
from jupyter_mlops.server.pipeline import GrammarHandler, PipelineHandler
from jupyter_mlops.server.runs import RunHandler, RunsHandler

PREFIX = "mlops"

# (pattern under <base_url>mlops/, handler). Tornado anchors each pattern at both ends, and
# `[^/]+` keeps `models/<name>` from swallowing `models/<name>/publish`.
ROUTES = [
    ("grammar", GrammarHandler),
    ("pipeline", PipelineHandler),
    ("runs", RunsHandler),
    (r"runs/(?P<run_id>[^/]+)", RunHandler),
    (r"runs/(?P<run_id>[^/]+)/steps/(?P<step>[^/]+)/notebook", ExecutedNotebookHandler),
    (r"runs/(?P<run_id>[^/]+)/steps/(?P<step>[^/]+)/debug", StepDebugHandler),
    ("experiments", ExperimentsHandler),
    (r"experiments/(?P<experiment_id>[^/]+)/runs", ExperimentRunsHandler),
    (r"mlflow-runs/(?P<run_id>[^/]+)", MlflowRunHandler),
    (r"sweeps/(?P<run_id>[^/]+)", SweepHandler),
    ("data/profile", ProfileHandler),
    ("data/drift", DriftHandler),
    ("data/changes", DataChangesHandler),
    ("models", ModelsHandler),
    (r"models/(?P<name>[^/]+)", ModelHandler),
    (r"models/(?P<name>[^/]+)/publish", PublishHandler),
    (r"models/(?P<name>[^/]+)/promote", PromoteHandler),
    (r"models/(?P<name>[^/]+)/aliases", AliasHandler),
    (r"models/(?P<name>[^/]+)/rollback", RollbackHandler),
]


def setup_route_handlers(web_app) -> None:
    """Register the ``/mlops/`` handlers on Jupyter's tornado application."""
    settings = web_app.settings
    redact_credentials(
        logging.getLogger(),
        logging.getLogger("ServerApp"),
        logging.getLogger("tornado"),
        logging.getLogger("mlflow"),
    )
    root = settings.get("server_root_dir") or os.getcwd()
    settings.setdefault(STATE, ServerState(Path(os.path.expanduser(root)).resolve()))
    base_url = settings["base_url"]
    handlers = [(url_path_join(base_url, PREFIX, pattern), cls) for pattern, cls in ROUTES]
    web_app.add_handlers(".*$", handlers)
