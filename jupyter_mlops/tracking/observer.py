"""MLflow tracking of pipeline runs, as an observer of nb2pipe's runner.

The runner knows nothing of MLflow: the `nb2pipe` CLI finds `observer` through the entry-point
group ``nb2pipe.observers``. Nothing is logged while steps run: MLflow's import (seconds of CPU),
opening the store, the step pages (nbconvert) and the logging would take the cores from the
kernels. When the run ends, the tracker marks it "not yet logged" (`sync.mark_pending`, and a
note in run.json that `nb2pipe run` and `nb2pipe status` print) and a detached, low-priority
``python -m jupyter_mlops.tracking.observer sync RUN_DIR`` logs it, so the user's wait ends with
the last step and the MLflow run appears seconds later, exactly once (`sync_run`). A long-lived
process that has MLflow loaded (the Jupyter server) logs in-process instead (``detach=False``).
The detached process gets the tracking URI in its environment: a URI may hold a password, and
command lines are public on a shared machine.

Command line: ``python -m jupyter_mlops.tracking.observer sync RUN_DIR [--tracking-uri URI]
[--experiment NAME] [--force] [--catch-up]``, and ``sync-sweep SWEEP_DIR`` (a sweep and its
trials, sweeps.py): background.py.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import threading
import warnings
from pathlib import Path

from jupyter_mlops.credentials import one_line, redact_uri
from jupyter_mlops.tracking import config, provenance
from jupyter_mlops.tracking.sync import (
    NOT_YET_LOGGED,
    PENDING_NOTE,
    catch_up,
    mark_pending,
    not_tracked,
    sync_run,
)
from nb2pipe.runner import events as ev
from nb2pipe.runner.events import Observer
from nb2pipe.runner.rundir import RunDir

__all__ = ["MlflowTracker", "observer", "sync_run"]

DISABLE_ENV = "NB2PIPE_NO_TRACKING"
SYNC_LOG = "tracking.log"


def observer() -> MlflowTracker | None:
    """Entry point of ``nb2pipe.observers``: a tracker, or None when tracking is switched off."""
    if os.environ.get(DISABLE_ENV, "").strip().lower() in ("1", "true", "yes"):
        return None
    return MlflowTracker(detach=True)


class MlflowTracker(Observer):
    """Observer that logs each pipeline run to MLflow once it has finished.

    `tracking_uri` and `experiment` default to `jupyter_mlops.tracking.config` resolved from the
    notebook's folder. With ``detach=True`` (the CLI's and the magics') a detached process logs
    the run after its last step (`wait` waits for it); with ``detach=False`` it is logged in
    this process when the run ends.
    """

    def __init__(
        self,
        tracking_uri: str | None = None,
        experiment: str | None = None,
        *,
        detach: bool = False,
    ):
        self.tracking_uri = tracking_uri
        self.experiment = experiment
        self.detach = detach
        self.sweep: _SweepTracking | None = None
        self.run_dir: Path | None = None
        self.mlflow_run_id: str | None = None
        self.sync_process: subprocess.Popen | None = None
        self._uri: str | None = None
        self._experiment: str | None = None
        self._origin: _Origin | None = None

    def __call__(self, event: ev.Event) -> None:
        if event.kind == ev.SWEEP_STARTED:
            self.sweep = _SweepTracking(self.tracking_uri, self.experiment)
        if self.sweep is not None:
            self.sweep(event)
            if event.kind == ev.SWEEP_FINISHED:
                self.mlflow_run_id, self.sweep = self.sweep.mlflow_run_id, None
            return
        if event.kind == ev.RUN_STARTED:
            self._started(event)
        elif event.kind == ev.RUN_FINISHED:
            self._finished(event)

    def step_env(self, step: str) -> dict[str, str]:
        """Environment of a step's kernel: models it publishes go to this run's store."""
        if self.sweep is not None:
            return self.sweep.step_env(step)
        env = {}
        if self._uri:
            env["MLFLOW_TRACKING_URI"] = self._uri
        if self._experiment:
            env["MLFLOW_EXPERIMENT_NAME"] = self._experiment
        return env

    def where_to_look(self) -> list[str]:
        """The line `nb2pipe run` ends with: the experiment, and how to open it."""
        if self.sync_process is None and self.mlflow_run_id is None:
            return []  # not tracked: a warning said why
        state = "logged" if self.sync_process is None else "logging in the background"
        uri = redact_uri(self._uri)  # a password in the URI is never printed
        web = uri.startswith(("http://", "https://"))
        how = f"open {uri}" if web else f"mlflow ui --backend-store-uri {shlex.quote(uri)}"
        return [f"MLflow ({state}, experiment {self._experiment!r}): {how}"]

    def wait(self, timeout: float | None = None) -> str | None:
        """Wait for the detached process logging the last run; its MLflow run id, or None if
        it was not logged (the reason is in tracking.log in the run folder)."""
        if self.sync_process is not None:
            self.sync_process.wait(timeout)
        if self.mlflow_run_id is None and self.run_dir is not None:
            self.mlflow_run_id = RunDir(self.run_dir).info().get("mlflow_run_id")
        return self.mlflow_run_id

    def _started(self, event: ev.Event) -> None:
        self.run_dir = Path(event.data["run_dir"]).resolve()
        self.mlflow_run_id = None
        self.sync_process = None
        source = Path(event.data.get("source") or self.run_dir)
        pipeline = event.data.get("pipeline")
        self._uri = self.tracking_uri or config.tracking_uri(source.parent)
        self._experiment = self.experiment or config.experiment_name(
            getattr(pipeline, "name", None), source.parent
        )
        # Recorded now, not at the end: the commit and dirty flag of the code that ran.
        self._origin = _Origin(config.project_root(source))

    def _finished(self, event: ev.Event) -> None:
        if self.run_dir is None:
            return
        run = RunDir(self.run_dir)
        info = run.info()
        info["provenance"] = self._origin.result() if self._origin is not None else None
        if self.detach:
            # Until the detached process has logged it (sync._record removes the note).
            info.setdefault("pending", {})[PENDING_NOTE] = NOT_YET_LOGGED
            mark_pending(run, self._uri, self._experiment)
        run.write_info(info)
        self._report_untracked()
        if self.detach:
            self.sync_process = self._sync_detached()
            return
        try:
            self.mlflow_run_id = sync_run(
                self.run_dir, tracking_uri=self._uri, experiment=self._experiment
            )
        except Exception as e:  # a tracking server that is down must not fail the run
            self._warn(f"run {self.run_dir.name} not tracked: {one_line(e)}", self.run_dir)
            return
        # Runs whose tracking an earlier process started but never finished (killed, or the
        # store was down then): the store answers now, so finish them too.
        catch_up(self.run_dir.parent, self._uri, exclude=self.run_dir)

    def _report_untracked(self) -> None:
        """Say so when earlier runs of this workspace could not be logged (their detached
        sync wrote the reason only into their tracking.log)."""
        failed = not_tracked(self.run_dir.parent, exclude=self.run_dir)
        if failed:
            newest, error = failed[0]
            more = f" and {len(failed) - 1} earlier" if len(failed) > 1 else ""
            self._warn(f"run {newest.name}{more} not tracked: {error}", newest)

    def _warn(self, message: str, run_dir: Path) -> None:
        warnings.warn(
            f"jupyter-mlops: {message}; retry with "
            f"`python -m jupyter_mlops.tracking.observer sync {run_dir}`",
            stacklevel=3,
        )

    def _sync_detached(self) -> subprocess.Popen:
        command = [
            sys.executable,
            "-m",
            "jupyter_mlops.tracking.observer",
            "sync",
            str(self.run_dir),
        ]
        command += ["--catch-up", "--background"]
        # The URI may hold a password: it goes in the environment, never on the command line
        # (every user of the machine can read command lines, with `ps`).
        env = {**os.environ, "MLFLOW_TRACKING_URI": self._uri}
        env["MLFLOW_EXPERIMENT_NAME"] = self._experiment
        with open(self.run_dir / SYNC_LOG, "ab") as log:
            return subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,  # outlives the runner, ignores its Ctrl-C
                close_fds=True,
            )


class _Origin(threading.Thread):
    """Where the run comes from (provenance.collect: two `git` commands, tens of milliseconds
    in a large repository), asked for as the run starts, beside it: the first step need not
    wait for git. (git reads the tree while the run's first kernels start, which takes far
    longer than git: a step's own edits to tracked files come after.)"""

    def __init__(self, folder: Path):
        super().__init__(name="nb2pipe-provenance", daemon=True)
        self.folder = folder
        self.found: dict | None = None
        self.start()

    def run(self) -> None:
        self.found = provenance.collect(self.folder)

    def result(self) -> dict | None:
        self.join()
        return self.found


class _SweepTracking:
    """A sweep's events: a tracker per trial (a nested run under the sweep's, sweeps.py), every
    trial logged once the sweep's last step has ended — not while trials run, whose kernels
    need the cores (and parallel trials never write one SQLite store at once) — and then the
    sweep's own run."""

    def __init__(self, tracking_uri: str | None, experiment: str | None):
        self.tracking_uri = tracking_uri
        self.experiment = experiment
        self.trials: dict[str, MlflowTracker] = {}
        self.ended: list[tuple[MlflowTracker, ev.Event]] = []  # logged at the sweep's end
        self.sweep_dir: Path | None = None
        self.mlflow_run_id: str | None = None

    def __call__(self, event: ev.Event) -> None:
        if event.kind == ev.SWEEP_STARTED:
            self.sweep_dir = Path(event.data["sweep"].path)
        elif event.kind == ev.RUN_STARTED:
            tracker = MlflowTracker(self.tracking_uri, self.experiment)
            self.trials[event.run_id] = tracker
            tracker(event)
        elif event.kind == ev.RUN_FINISHED and event.run_id in self.trials:
            self.ended.append((self.trials.pop(event.run_id), event))
        elif event.run_id in self.trials:
            self.trials[event.run_id](event)
        elif event.kind == ev.SWEEP_FINISHED:
            self._finished()

    def step_env(self, step: str) -> dict[str, str]:
        tracker = next(iter(self.trials.values()), None)
        return tracker.step_env(step) if tracker is not None else {}

    def _finished(self) -> None:
        for tracker, event in self.ended:
            tracker(event)
        self.ended = []
        if self.sweep_dir is None:
            return
        from jupyter_mlops.tracking.sync import sync_sweep

        try:
            self.mlflow_run_id = sync_sweep(
                self.sweep_dir, tracking_uri=self.tracking_uri, experiment=self.experiment
            )
        except Exception as e:  # a tracking server that is down must not fail the sweep
            warnings.warn(
                f"jupyter-mlops: sweep {self.sweep_dir.name} not tracked: {one_line(e)}; retry "
                f"with `python -m jupyter_mlops.tracking.observer sync-sweep {self.sweep_dir}`",
                stacklevel=3,
            )


if __name__ == "__main__":
    from nb2pipe import startup

    startup.quick()
    from jupyter_mlops.tracking.background import main

    sys.exit(main())
