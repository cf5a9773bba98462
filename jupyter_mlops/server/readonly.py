"""Finished runs are records: Jupyter's contents API may read them, never write them.

An executed step notebook opened in JupyterLab autosaves like any other; saved over the run's
copy it would rewrite what the run computed (and, before runs were copied on reuse, the same
file in other runs). A pre-save hook refuses any save inside a `.nb2pipe` folder.
"""

from __future__ import annotations

from pathlib import PurePosixPath

from nb2pipe.runner.rundir import WORKSPACE


def refuse_run_files(model=None, path: str = "", contents_manager=None, **kwargs) -> None:
    """A Jupyter `pre_save_hook`: raise 403 for a path inside a runs or cache folder."""
    if WORKSPACE in PurePosixPath(path.strip("/")).parts:
        from tornado.web import HTTPError

        raise HTTPError(
            403,
            reason="a run's files are read-only records: copy the notebook to edit it",
        )


def protect_runs(server_app) -> None:
    server_app.contents_manager.register_pre_save_hook(refuse_run_files)
