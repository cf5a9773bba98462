"""A failed step, debugged in its notebook: the route behind the sidebar's "debug in this
notebook" button, and which data files changed since a notebook's latest run.

The server cannot bind variables in a kernel: the button runs `%mlops load` there (through the
notebook's own kernel, as a cell would). This route checks first that the step can be loaded
from that run — the run is of this notebook, the steps it reads from finished, every artifact
matches its sha256 — and answers the exact line to run, or the one-line reason it cannot.
"""

from __future__ import annotations

import shlex
from pathlib import Path

import tornado

from jupyter_mlops.server.base import ApiError, MlopsHandler, one_line, safe
from jupyter_mlops.server.paths import find_run, resolve, step_name, workspace_for


def debug_code(root: Path, notebook: Path, run_id: str, step: str) -> dict:
    from nb2pipe.errors import Nb2PipeError
    from nb2pipe.runner.debug import plan_load

    try:
        plan = plan_load(notebook, step, run_id)
    except Nb2PipeError as e:
        raise ApiError(409, one_line(safe(str(e), root))) from None
    line = shlex.join(["%mlops", "load", step, notebook.name, "--run", plan.run.id])
    return {
        "run_id": plan.run.id,
        "step": step,
        # the notebook's kernel runs in the notebook's folder: its name is enough
        "code": f"%load_ext jupyter_mlops\n{line}",
        "inputs": plan.inputs,
        "params": sorted(plan.params),
    }


class StepDebugHandler(MlopsHandler):
    """GET runs/<id>/steps/<step>/debug?path=<notebook>: {"code", "run_id", "step", "inputs",
    "params"}; 409 with the reason when the step cannot be loaded from that run."""

    @tornado.web.authenticated
    async def get(self, run_id: str, step: str) -> None:
        step = step_name(step)
        path = self.get_query_argument("path", None)
        notebook = resolve(self.state.root, path)
        run = await self.blocking(find_run, self.state, run_id, path)
        self.reply(await self.blocking(debug_code, self.state.root, notebook, run.id, step))


def changes(root: Path, notebook: Path) -> dict:
    from nb2pipe.runner.history import data_changes

    found = data_changes(workspace_for(root, notebook), notebook)
    return {
        "changes": [
            {"path": c.path, "run_id": c.run, "message": c.message, "gone": c.now == "absent"}
            for c in found
        ]
    }


class DataChangesHandler(MlopsHandler):
    """GET data/changes?path=<notebook>: the data files its latest run read that differ now."""

    @tornado.web.authenticated
    async def get(self) -> None:
        notebook = resolve(self.state.root, self.get_query_argument("path", None))
        self.reply(await self.blocking(changes, self.state.root, notebook))
