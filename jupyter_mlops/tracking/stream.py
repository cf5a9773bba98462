"""Logging a pipeline run to MLflow while it runs, so tracking is not paid after the last step.

The MLflow observer opens a `Stream` when the first step really executes. Its thread imports
mlflow behind the running kernels, opens the store and the pipeline's MLflow run, then logs each
step as soon as it ends. When the run ends the observer closes the stream (waiting for what is
queued) and `sync_run` only has to close the pipeline's run: the steps are found already logged,
by the same `RunLogger` that keeps logging exactly once.

A stream never fails a run and never reports: if the store is down, it stops, and the final
`sync_run` meets the same error and says so in one line.
"""

from __future__ import annotations

import queue
import threading
from pathlib import Path

from jupyter_mlops.tracking import store
from jupyter_mlops.tracking.filelock import LockTimeout, locked
from jupyter_mlops.tracking.runlog import Logged, RunLogger
from jupyter_mlops.tracking.sync import LOCK, mark_pending
from nb2pipe.runner.rundir import RunDir

_CLOSE = object()


class Stream:
    """A thread logging the steps of the running run in `run_dir` to `experiment` at `uri`."""

    def __init__(self, run_dir: Path, uri: str, experiment: str, origin: dict | None):
        self.run = RunDir(run_dir)
        self.uri = uri
        self.experiment = experiment
        self.origin = origin or {}
        self.failed: BaseException | None = None
        self._queue: queue.Queue = queue.Queue()
        self._thread = threading.Thread(target=self._work, name="jupyter-mlops-stream", daemon=True)
        self._thread.start()

    def step_ended(self, step: str) -> None:
        """`step` finished, failed, was reused or skipped: log it."""
        self._queue.put(step)

    def close(self, timeout: float | None = None) -> None:
        """Log what is queued, then stop (after `timeout` seconds, give up waiting)."""
        self._queue.put(_CLOSE)
        self._thread.join(timeout)

    def _work(self) -> None:
        try:
            logger, logged, existing = self._open()
        except BaseException as e:  # the store is down: the final sync reports it
            self.failed = e
            self._drain()
            return
        while (step := self._queue.get()) is not _CLOSE:
            if self.failed is not None:
                continue
            try:
                self._log_step(logger, logged, step, existing.get(step))
            except BaseException as e:
                self.failed = e

    def _open(self) -> tuple[RunLogger, Logged, dict]:
        info = self.run.info()
        source = Path(info.get("source") or self.run.path)
        mark_pending(self.run, self.uri, self.experiment)  # a killed runner is caught up later
        client = store.client(self.uri)
        experiment_id = store.experiment_id(client, self.experiment, self.uri)
        logger = RunLogger(
            client, self.uri, experiment_id, self.run, info, "running", source, self.origin
        )
        with locked(self.run.path / LOCK, timeout=0):
            parent, existing, _ = logger.open()  # a resumed run: its steps logged before
        return logger, Logged(parent.info.run_id, parent.info.experiment_id), existing

    def _log_step(self, logger: RunLogger, logged: Logged, step: str, existing) -> None:
        try:
            with locked(self.run.path / LOCK, timeout=0):
                logged.step_runs[step], _ = logger.log_step(step, logged, existing)
        except LockTimeout:
            pass  # another process is syncing this run: it logs the step

    def _drain(self) -> None:
        while self._queue.get() is not _CLOSE:
            pass
