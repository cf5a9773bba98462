"""nb2pipe's papermill engine: papermill's nbclient engine that can run in a warm kernel.

Registered under papermill's `papermill.engine` entry point as ``nb2pipe``. Given a running
kernel manager (``km=``), it executes there and leaves the kernel alive for the next notebook;
without one it behaves like papermill's default engine. Either way it skips papermill's
rewrite of the whole output notebook at every cell (~0.1 s per cell on big
notebooks); the notebook is still written when execution ends and every `autosave_cell_every`
seconds.
"""

from __future__ import annotations

from pathlib import Path

from papermill.clientwrap import PapermillNotebookClient
from papermill.engines import NBClientEngine, NotebookExecutionManager
from papermill.utils import merge_kwargs, remove_args


class _ThrottledSaves(NotebookExecutionManager):
    """Writes the output notebook every `autosave_cell_every` seconds and at the end, instead
    of at every cell start and end (papermill's rewrite is O(notebook) per cell)."""

    _final = False

    def save(self, **kwargs):
        elapsed = (self.now() - self.last_save_time).total_seconds()
        periodic = self.autosave_cell_every and elapsed >= self.autosave_cell_every
        if self._final or periodic:
            super().save(**kwargs)

    def notebook_complete(self, **kwargs):
        self._final = True
        return super().notebook_complete(**kwargs)


class Nb2PipeEngine(NBClientEngine):
    @classmethod
    def execute_notebook(
        cls,
        nb,
        kernel_name,
        output_path=None,
        progress_bar=True,
        log_output=False,
        autosave_cell_every=30,
        keep=None,
        **kwargs,
    ):
        # papermill's execute_notebook consumes this option itself (False: output_path is None
        # here); passed on, it reached nbclient as an unknown trait (a traitlets deprecation
        # warning per step, an error in a future traitlets).
        kwargs.pop("request_save_on_cell_execute", None)
        # papermill's Engine.execute_notebook, with a manager that does not rewrite the whole
        # output notebook at every cell start and end.
        nb_man = _ThrottledSaves(
            nb,
            output_path=output_path,
            progress_bar=progress_bar,
            log_output=log_output,
            autosave_cell_every=autosave_cell_every,
        )
        nb_man.notebook_start()
        if keep is not None:  # the caller writes the executed notebook itself
            keep.append(nb_man.nb)
        try:
            cls.execute_managed_notebook(nb_man, kernel_name, log_output=log_output, **kwargs)
        finally:
            nb_man.cleanup_pbar()
            nb_man.notebook_complete()
        return nb_man.nb

    @classmethod
    def execute_managed_notebook(
        cls,
        nb_man,
        kernel_name,
        log_output=False,
        stdout_file=None,
        stderr_file=None,
        start_timeout=60,
        execution_timeout=None,
        km=None,
        prepare_code=None,
        partial_output_path=None,
        **kwargs,
    ):
        kwargs = remove_args(["input_path", "timeout", "startup_timeout"], **kwargs)
        final = merge_kwargs(
            kwargs,
            timeout=execution_timeout,
            startup_timeout=start_timeout,
            kernel_name=kernel_name,
            log_output=log_output,
            stdout_file=stdout_file,
            stderr_file=stderr_file,
        )
        client = PapermillNotebookClient(nb_man, km=km, **final)
        if prepare_code:
            client.on_notebook_start = _silently_run(client, prepare_code)
        try:
            return client.execute()
        except Exception as e:
            # papermill writes the output notebook only when the engine returns; when the
            # kernel dies there would be nothing to open. Keep what ran, and say what happened.
            if partial_output_path:
                _write_partial(nb_man.nb, partial_output_path, e)
            raise
        finally:
            # nbclient leaves the client of a kernel it does not own connected; close it so a
            # reused kernel does not collect one set of sockets per step.
            if km is not None and client.kc is not None:
                client.kc.stop_channels()
                client.kc = None


def _write_partial(nb, path, error: BaseException) -> None:
    import nbformat

    banner = nbformat.v4.new_markdown_cell(
        f"**nb2pipe: execution stopped: {type(error).__name__}: {error}** — the cells below "
        "show what ran until then."
    )
    banner.metadata["nb2pipe"] = {"role": "stopped"}
    copy = nbformat.from_dict(nb)
    copy.cells.insert(0, banner)
    try:
        from ..fileio import write_atomic

        write_atomic(Path(path), nbformat.writes(copy))
    except Exception:
        pass  # best effort: the step's error is reported either way


def _silently_run(client, code: str):
    """A hook running `code` in the kernel before the first cell, leaving no trace in the
    notebook: how the runner resets a reused kernel without a second connection (~0.2 s)."""

    async def hook(notebook) -> None:
        msg_id = client.kc.execute(code, silent=True, store_history=False)
        reply = await client.async_wait_for_reply(msg_id)
        content = (reply or {}).get("content", {})
        if content.get("status") != "ok":
            raise RuntimeError(f"preparing the kernel failed: {content.get('evalue', content)}")

    return hook


def execute(notebook: dict, parameters: dict, kernel_name: str, **engine_kwargs):
    """`papermill.execute_notebook` of a notebook built in memory, in our engine: papermill's
    own parameter injection, metadata, execution and error check (PapermillExecutionError), the
    executed notebook returned, nothing written.

    papermill's function takes a notebook object through JSON text and back before it starts,
    and serialises it again at the end even with no output path: three full, validated
    serialisations of the notebook, which were half the runner's CPU for a short step.
    """
    import nbformat
    from nbformat.v4.rwbase import rejoin_lines
    from papermill import __version__
    from papermill.execute import (
        prepare_notebook_metadata,
        raise_for_execution_errors,
        remove_error_markers,
    )
    from papermill.parameterize import parameterize_notebook

    # What papermill's load_notebook_node makes of every notebook it reads: text as strings,
    # papermill's metadata present.
    nb = rejoin_lines(nbformat.from_dict(notebook))
    nb.metadata.setdefault(
        "papermill",
        {
            "default_parameters": {},
            "parameters": {},
            "environment_variables": {},
            "version": __version__,
        },
    )
    for cell in nb.cells:
        cell.metadata.setdefault("tags", [])
        cell.metadata.setdefault("papermill", {})
    if parameters:
        nb = parameterize_notebook(
            nb, parameters, False, kernel_name=kernel_name, engine_name="nb2pipe"
        )
    nb = prepare_notebook_metadata(nb, None, None, False)
    nb = remove_error_markers(nb)
    nb = Nb2PipeEngine.execute_notebook(
        nb, kernel_name, input_path=None, output_path=None, **engine_kwargs
    )
    raise_for_execution_errors(nb, None)
    return nb


def register() -> None:
    """Make ``engine_name="nb2pipe"`` available to papermill in this process."""
    from papermill.engines import papermill_engines

    if "nb2pipe" not in papermill_engines._engines:
        papermill_engines.register("nb2pipe", Nb2PipeEngine)
