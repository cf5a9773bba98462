"""The detached process that logs a finished run (or a sweep) to MLflow, and its command line:
``python -m jupyter_mlops.tracking.observer sync RUN_DIR [--tracking-uri URI] [--experiment NAME]
[--force] [--catch-up] [--background]`` and ``sync-sweep SWEEP_DIR``.

With ``--background`` (as the CLI's tracker starts it) it yields: the lowest CPU priority, and
it waits while a run of the same workspace executes steps, so it never takes the cores from
kernels; the run says "not yet logged" until it has finished.
"""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path

from jupyter_mlops.credentials import one_line, refuse_credentials
from jupyter_mlops.tracking import config
from jupyter_mlops.tracking.sync import catch_up, sync_run
from nb2pipe.errors import Nb2PipeError
from nb2pipe.runner.rundir import RunDir


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
        lowest_priority()
        wait_while_steps_run(args.run_dir.resolve().parent)
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
    from jupyter_mlops.tracking.sync import sync_sweep

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


def lowest_priority() -> None:
    """Bookkeeping nobody waits for yields to what they do.

    (Within its own session only, where automatic grouping of sessions is on, as on most Linux
    machines: a lower niceness of the session itself starved the sync on a busy machine for
    minutes, so the next run's steps are kept clear by `wait_while_steps_run` instead.)
    """
    with contextlib.suppress(OSError):
        os.nice(19)


def wait_while_steps_run(runs: Path, limit: float = 600.0, newest: int = 20) -> None:
    """Wait (at most `limit` seconds) while a run of this workspace is executing steps: the
    user started the next run, whose kernels must have the cores; this run is logged after."""
    import time

    from nb2pipe.runner.rundir import process_alive

    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        names = sorted((p.name for p in runs.iterdir() if p.is_dir()), reverse=True)[:newest]
        infos = [RunDir(runs / name).info() for name in names]
        if not any(i.get("status") == "running" and process_alive(i) for i in infos):
            return
        time.sleep(0.5)


def _source_folder(run_dir: Path) -> Path:
    source = RunDir(run_dir.resolve()).info().get("source")
    return Path(source).parent if source else run_dir
