"""MLflow tracking of pipeline runs, as an observer of nb2pipe's runner.

The runner knows nothing of MLflow: the `nb2pipe` CLI finds `observer` through the entry-point
group ``nb2pipe.observers``. When the first step that really executed ends, the tracker opens a
`Stream`: a thread that imports mlflow behind the kernels and logs each step as it ends; when the run
finishes, `sync_run` closes the pipeline's MLflow run (batched, from this one process). A run where every step came from the cache never imports mlflow here: a detached
``python -m jupyter_mlops.tracking.observer sync RUN_DIR`` logs it, so a no-change re-run stays instant.
The detached process gets the tracking URI in its environment: a URI may hold a password, and
command lines are public on a shared machine.

Command line: ``python -m jupyter_mlops.tracking.observer sync RUN_DIR [--tracking-uri URI]
[--experiment NAME] [--force] [--catch-up]``, and ``sync-sweep SWEEP_DIR`` (a sweep and its
trials, sweeps.py).
"""

from __future__ import annotations

import contextlib
import os
import shlex
import subprocess
import sys
import warnings
from pathlib import Path

from jupyter_mlops.tracking import config, provenance
from jupyter_mlops.tracking.redact import one_line, redact_uri, refuse_credentials
from jupyter_mlops.tracking.stream import Stream
from jupyter_mlops.tracking.sync import catch_up, not_tracked, sync_run
from nb2pipe.errors import Nb2PipeError
from nb2pipe.runner import events as ev
from nb2pipe.runner.events import Observer
from nb2pipe.runner.rundir import RunDir

__all__ = ["MlflowTracker", "observer", "sync_run"]

DISABLE_ENV = "NB2PIPE_NO_TRACKING"
SYNC_LOG = "tracking.log"
EXECUTED = ("done", "failed", "interrupted")
STEP_ENDED = (ev.STEP_FINISHED, ev.STEP_FAILED, ev.STEP_CACHED, ev.STEP_SKIPPED)


def observer() -> MlflowTracker | None:
    """Entry point of ``nb2pipe.observers``: a tracker, or None when tracking is switched off."""
    if os.environ.get(DISABLE_ENV, "").strip().lower() in ("1", "true", "yes"):
        return None
    return MlflowTracker()


class MlflowTracker(Observer):
    """Observer that logs each pipeline run to MLflow once it has finished.

    `tracking_uri` and `experiment` default to `jupyter_mlops.tracking.config` resolved from the
    notebook's folder. With ``detach_cached=False`` fully cached and interrupted runs are
    logged in-process too.
    """

    def __init__(
        self,
        tracking_uri: str | None = None,
        experiment: str | None = None,
        *,
        detach_cached: bool = True,
        stream: bool = True,
    ):
        self.tracking_uri = tracking_uri
        self.experiment = experiment
        self.detach_cached = detach_cached
        self.streams = stream  # False: log the run at its end only (a sweep's trials)
        self.sweep: _SweepTracking | None = None
        self.run_dir: Path | None = None
        self.mlflow_run_id: str | None = None
        self.sync_process: subprocess.Popen | None = None
        self.stream: Stream | None = None
        self._ended: list[str] = []  # steps that ended before any executed (cached, skipped)
        self._uri: str | None = None
        self._experiment: str | None = None
        self._origin: dict | None = None

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
        elif event.kind in STEP_ENDED:
            self._ended.append(event.step)
            executed = event.kind in (ev.STEP_FINISHED, ev.STEP_FAILED)
            if self.stream is None and executed and self.streams:
                # A step really executed, and the kernels are warm: from now on, log while
                # they work (started earlier, the mlflow import slowed the first kernel's).
                self.stream = Stream(self.run_dir, self._uri, self._experiment, self._origin)
                for step in self._ended:
                    self.stream.step_ended(step)
            elif self.stream is not None:
                self.stream.step_ended(event.step)
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

    def _started(self, event: ev.Event) -> None:
        self.run_dir = Path(event.data["run_dir"]).resolve()
        self.mlflow_run_id = None
        self.sync_process = None
        self.stream = None
        self._ended = []
        source = Path(event.data.get("source") or self.run_dir)
        pipeline = event.data.get("pipeline")
        self._uri = self.tracking_uri or config.tracking_uri(source.parent)
        self._experiment = self.experiment or config.experiment_name(
            getattr(pipeline, "name", None), source.parent
        )
        # Recorded now, not at the end: the commit and dirty flag of the code that ran.
        self._origin = provenance.collect(config.project_root(source))

    def _finished(self, event: ev.Event) -> None:
        if self.run_dir is None:
            return
        run = RunDir(self.run_dir)
        info = run.info()
        info["provenance"] = self._origin
        run.write_info(info)
        self._report_untracked()
        result = event.data.get("result")
        executed = result is None or any(s.status in EXECUTED for s in result.steps.values())
        interrupted = result is not None and result.status == "interrupted"
        if self.stream is not None and not interrupted:
            self.stream.close()  # what it still has queued: the steps that ended last
        if self.detach_cached and (not executed or interrupted):
            # Nothing ran (mlflow was never imported here), or the user pressed Ctrl-C and
            # is waiting for the prompt: a detached process logs the run instead.
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


class _SweepTracking:
    """A sweep's events: a tracker per trial (a nested run under the sweep's, sweeps.py), each
    trial logged at its end on one thread of its own — not while the trials run, so parallel
    trials never write one SQLite store at once, and the scheduler never waits for the store —
    and the sweep's own run once every trial is logged."""

    def __init__(self, tracking_uri: str | None, experiment: str | None):
        from concurrent.futures import ThreadPoolExecutor

        self.tracking_uri = tracking_uri
        self.experiment = experiment
        self.trials: dict[str, MlflowTracker] = {}
        self.logging = ThreadPoolExecutor(1, thread_name_prefix="jupyter-mlops-sweep")
        self.sweep_dir: Path | None = None
        self.mlflow_run_id: str | None = None

    def __call__(self, event: ev.Event) -> None:
        if event.kind == ev.SWEEP_STARTED:
            self.sweep_dir = Path(event.data["sweep"].path)
        elif event.kind == ev.RUN_STARTED:
            tracker = MlflowTracker(
                self.tracking_uri, self.experiment, detach_cached=False, stream=False
            )
            self.trials[event.run_id] = tracker
            tracker(event)
        elif event.kind == ev.RUN_FINISHED and event.run_id in self.trials:
            self.logging.submit(self.trials.pop(event.run_id), event)
        elif event.run_id in self.trials:
            self.trials[event.run_id](event)
        elif event.kind == ev.SWEEP_FINISHED:
            self._finished()

    def step_env(self, step: str) -> dict[str, str]:
        tracker = next(iter(self.trials.values()), None)
        return tracker.step_env(step) if tracker is not None else {}

    def _finished(self) -> None:
        self.logging.shutdown(wait=True)
        if self.sweep_dir is None:
            return
        from jupyter_mlops.tracking.sweeps import sync_sweep

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


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(
        prog="python -m jupyter_mlops.tracking.observer", description="Log nb2pipe runs to MLflow."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    sync = commands.add_parser("sync", help="log a finished run directory")
    sync.add_argument("run_dir", type=Path)
    sync.add_argument(
        "--tracking-uri", help="default: MLFLOW_TRACKING_URI, then pyproject.toml (no passwords)"
    )
    sync.add_argument("--experiment")
    sync.add_argument(
        "--force", action="store_true", help="check every step against the store again"
    )
    sync.add_argument(
        "--catch-up",
        action="store_true",
        help="then finish logging earlier runs of the workspace whose sync was cut short",
    )
    sync.add_argument(
        "--background",
        action="store_true",
        help="at low CPU priority: bookkeeping that nobody waits for yields to what they do",
    )
    sweep = commands.add_parser("sync-sweep", help="log a finished sweep and its trials")
    sweep.add_argument("sweep_dir", type=Path)
    sweep.add_argument("--tracking-uri", help="default: MLFLOW_TRACKING_URI, then pyproject.toml")
    sweep.add_argument("--experiment")
    args = parser.parse_args(argv)
    if args.command == "sync-sweep":
        return _sync_sweep(args)
    if args.background:
        with contextlib.suppress(OSError):
            os.nice(10)
    try:
        refuse_credentials("--tracking-uri", args.tracking_uri)
        run_id = sync_run(
            args.run_dir,
            tracking_uri=args.tracking_uri,
            experiment=args.experiment,
            force=args.force,
        )
    except Nb2PipeError as e:
        print(f"error: {one_line(e)}", file=sys.stderr)
        return e.exit_code
    except Exception as e:  # the store failed: one line, never a traceback with a URL in it
        print(f"error: {args.run_dir}: not tracked: {one_line(e)}", file=sys.stderr)
        return 1
    print(f"logged {args.run_dir} as MLflow run {run_id}")
    if args.catch_up:
        uri = args.tracking_uri or config.tracking_uri(_source_folder(args.run_dir))
        for caught in catch_up(args.run_dir.resolve().parent, uri, exclude=args.run_dir.resolve()):
            print(f"logged earlier run {caught}, whose tracking had been cut short")
    return 0


def _sync_sweep(args) -> int:
    from jupyter_mlops.tracking.sweeps import sync_sweep

    try:
        refuse_credentials("--tracking-uri", args.tracking_uri)
        run_id = sync_sweep(
            args.sweep_dir, tracking_uri=args.tracking_uri, experiment=args.experiment, trials=True
        )
    except Nb2PipeError as e:
        print(f"error: {one_line(e)}", file=sys.stderr)
        return e.exit_code
    except Exception as e:  # the store failed: one line, never a traceback with a URL in it
        print(f"error: {args.sweep_dir}: not tracked: {one_line(e)}", file=sys.stderr)
        return 1
    print(f"logged sweep {args.sweep_dir} as MLflow run {run_id}")
    return 0


def _source_folder(run_dir: Path) -> Path:
    source = RunDir(run_dir.resolve()).info().get("source")
    return Path(source).parent if source else run_dir


if __name__ == "__main__":
    from nb2pipe import startup

    startup.quick()
    sys.exit(main())
