"""A step's executed notebook, read-only: the route the sidebar's "open" links use.

Runs live under the hidden `.nb2pipe/` folder, which Jupyter's contents API refuses to serve
unless the server was started with `allow_hidden`; and a notebook opened through it starts a
kernel and autosaves. This route serves the executed notebook of one step of one run, rendered
by nbconvert (the same page the step's MLflow run holds), with a plain `jupyter lab`. The file
is found from the run id and the step name, both checked to be one path component, and must
lie inside that run's folder.
"""

from __future__ import annotations

from pathlib import Path

import tornado

from jupyter_mlops.server.base import ApiError, MlopsHandler
from jupyter_mlops.server.paths import find_run, step_name


def executed_notebook(run, step: str) -> Path:
    """The executed notebook of `step` in `run`, refused when it leads out of the run folder."""
    notebook = run.notebook(step)
    if not notebook.is_file():
        raise ApiError(404, f"step {step} of run {run.id} has no executed notebook (yet)")
    folder = run.path.resolve()
    if not notebook.resolve().is_relative_to(folder):
        raise ApiError(403, f"step {step} of run {run.id}: its notebook leads out of the run")
    return notebook


def page(run, step: str) -> dict:
    from jupyter_mlops.tracking import notebook_html

    title = f"{step} · {run.id}"
    return {"title": title, "html": notebook_html.render(executed_notebook(run, step), title)}


class ExecutedNotebookHandler(MlopsHandler):
    """GET runs/<id>/steps/<step>/notebook[?path=<source notebook>]: {"title", "html"}."""

    @tornado.web.authenticated
    async def get(self, run_id: str, step: str) -> None:
        step = step_name(step)
        path = self.get_query_argument("path", None)
        run = await self.blocking(find_run, self.state, run_id, path)
        self.reply(await self.blocking(page, run, step))
