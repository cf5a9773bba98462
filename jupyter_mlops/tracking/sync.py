"""`sync_run`: log a finished run directory to MLflow, exactly once, whoever asks and how often
(`sync_sweep`: a sweep's folder, its trials nested under it, sweeps.py).

Everything comes from the run directory (run.json, each step's meta.json, artifact manifest
and tracking journal), so the same function serves the runner's observer, the detached
subprocess that logs fully cached runs, and a user re-syncing by hand. All writes go through
`log_batch` from this one process: no SQLite contention between parallel steps.

Exactly once: `runlog.RunLogger` finds the MLflow runs an earlier sync made (by the tag
``nb2pipe.run_id``) and continues them. Two syncs of one run never overlap: each holds an
exclusive lock on ``<run>/tracking.lock``. A sync leaves ``<run>/tracking.pending`` behind until
it has finished, so a sync that was killed (its MLflow run left RUNNING) or that failed (the
server was down) is found again: `catch_up` finishes such runs after the next successful sync
in the same workspace, and `not_tracked` lets the runner say so instead of staying silent.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from jupyter_mlops.credentials import one_line, redact_uri
from jupyter_mlops.errors import TrackingError, translated
from jupyter_mlops.tracking import config, provenance, store, sweeps
from jupyter_mlops.tracking import tags as tag
from jupyter_mlops.tracking.filelock import LockTimeout, locked
from jupyter_mlops.tracking.runlog import RUN_STATUS, Logged, RunLogger
from nb2pipe.fileio import read_json
from nb2pipe.runner.rundir import RunDir, process_alive
from nb2pipe.sweep.records import best_of, read_sweep

LOCK = "tracking.lock"
PENDING = "tracking.pending"
# run.json's "pending" notes (what is still to be done for a run, printed by nb2pipe): ours.
PENDING_NOTE = "mlflow"
NOT_YET_LOGGED = "not yet logged to MLflow (a background process is logging it)"
LOCK_WAIT = 300.0  # seconds to wait for another sync of the same run (a slow server)
CATCH_UP_LIMIT = 5  # earlier runs finished per sync at most: a sync stays short


class SyncBusy(TrackingError):
    """Another process is logging the same run right now."""


class RunNotFinished(TrackingError):
    """The run is still going: nothing to log yet."""


def sync_run(
    run_dir: str | Path,
    *,
    tracking_uri: str | None = None,
    experiment: str | None = None,
    force: bool = False,
    wait: float = LOCK_WAIT,
) -> str:
    """Log the finished run in `run_dir` to MLflow; return the pipeline's MLflow run id.

    The ids are written back into run.json (``mlflow_run_id``, ``mlflow_step_runs``). A run
    already logged as it is now is not sent again; with `force` every step is checked against
    the store anyway. Logging again never makes a second MLflow run.
    """
    run = RunDir(Path(run_dir).resolve())
    info = run.info()
    if not info:
        raise TrackingError(f"{run.path}: not an nb2pipe run directory (no run.json)")
    status = finished_status(info, run.path)
    source = Path(info.get("source") or run.path)
    uri = tracking_uri or config.tracking_uri(source.parent)
    if not force and _up_to_date(run, info, status, uri):
        _settle(run)
        return info["mlflow_run_id"]
    name = experiment or config.experiment_name(info.get("pipeline"), source.parent)
    try:
        with locked(run.path / LOCK, timeout=wait):
            info = run.info()  # again, under the lock: another sync may just have finished
            status = finished_status(info, run.path)
            if not force and _up_to_date(run, info, status, uri):
                _settle(run)
                return info["mlflow_run_id"]
            mark_pending(run, uri, name)
            try:
                logged = _log(run, info, status, source, uri, name)
            except Exception as e:
                mark_pending(run, uri, name, error=e)
                if PENDING_NOTE in (info.get("pending") or {}):
                    _settle(run, f"not logged to MLflow: {one_line(e)} (see tracking.log)")
                raise
            _record(run, logged, status, uri)
            (run.path / PENDING).unlink(missing_ok=True)
    except LockTimeout:
        raise SyncBusy(
            f"{run.path}: another process is logging this run to MLflow; retry later with "
            f"`python -m jupyter_mlops.tracking.observer sync {run.path}`"
        ) from None
    return logged.run_id


def finished_status(info: dict, where: Path) -> str:
    """The run's final status; a "running" run whose runner is gone counts as interrupted."""
    status = info.get("status")
    if status in RUN_STATUS:
        return status
    if status == "running" and process_alive(info) is False:  # its runner is gone
        return "interrupted"
    raise RunNotFinished(f"{where}: run is not finished (status {status!r})")


def _up_to_date(run: RunDir, info: dict, status: str, uri: str) -> bool:
    return (
        bool(info.get("mlflow_run_id"))
        and info.get("mlflow_tracking_uri") == redact_uri(uri)
        and info.get("mlflow_synced") == _synced(info, status)
        and not (run.path / PENDING).exists()
    )


def _synced(info: dict, status: str) -> dict:
    """What a sync logged, to tell whether the run changed since (``--resume`` rewrites it)."""
    return {"status": status, "end": info.get("end")}


def _log(run: RunDir, info: dict, status: str, source: Path, uri: str, name: str) -> Logged:
    origin = info.get("provenance") or provenance.collect(config.project_root(source))
    with translated(f"log run {run.id}", uri):
        client = store.client(uri)
        experiment_id = store.experiment_id(client, name, uri)
        return RunLogger(client, uri, experiment_id, run, info, status, source, origin).log()


def _record(run: RunDir, logged: Logged, status: str, uri: str) -> None:
    info = run.info()  # re-read: keep anything the runner wrote since
    info.update(
        mlflow_run_id=logged.run_id,
        mlflow_step_runs=logged.step_runs,
        mlflow_experiment_id=logged.experiment_id,
        mlflow_tracking_uri=redact_uri(uri),
        mlflow_synced=_synced(info, status),
    )
    _note(info, None)
    run.write_info(info)


def _note(info: dict, text: str | None) -> bool:
    """Set (or with None, remove) our note among run.json's "pending" notes; whether the
    info changed."""
    pending = dict(info.get("pending") or {})
    if pending.get(PENDING_NOTE) == text:
        return False
    if text is None:
        pending.pop(PENDING_NOTE, None)
    else:
        pending[PENDING_NOTE] = text
    if pending:
        info["pending"] = pending
    else:
        info.pop("pending", None)
    return True


def _settle(run: RunDir, text: str | None = None) -> None:
    """Write our note (None: none) into run.json if it says otherwise."""
    info = run.info()
    if _note(info, text):
        run.write_info(info)


def mark_pending(run: RunDir, uri: str, experiment: str, error: BaseException | None = None):
    """Leave ``tracking.pending`` until a sync finishes: a run cut short is found again."""
    record = {"tracking_uri": redact_uri(uri), "experiment": experiment}
    if error is not None:
        record["error"] = one_line(error)
    path = run.path / PENDING
    tmp = path.with_name(f".{PENDING}.{os.getpid()}")
    tmp.write_text(json.dumps(record, sort_keys=True), encoding="utf-8")
    os.replace(tmp, path)


def not_tracked(runs: Path, exclude: Path | None = None) -> list[tuple[Path, str]]:
    """Runs of a workspace whose last sync failed, newest first, with the error it met."""
    out = []
    for marker in sorted(Path(runs).glob(f"*/{PENDING}"), reverse=True):
        if marker.parent == exclude:
            continue
        error = (read_json(marker) or {}).get("error")
        if error:
            out.append((marker.parent, error))
    return out


def catch_up(runs: Path, uri: str, *, exclude: Path | None = None) -> list[str]:
    """Finish logging the runs of a workspace (to the store at `uri`) whose sync was killed or
    failed; return their run ids. Stops at the first failure: the store is still unreachable."""
    done = []
    markers = sorted(Path(runs).glob(f"*/{PENDING}"), reverse=True)  # ids start with the time
    for marker in markers[: CATCH_UP_LIMIT + 1]:
        run_dir = marker.parent
        record = read_json(marker) or {}
        if run_dir == exclude or record.get("tracking_uri") != redact_uri(uri):
            continue
        try:
            sync_run(run_dir, tracking_uri=uri, experiment=record.get("experiment"), wait=0)
        except (SyncBusy, RunNotFinished):
            continue  # its own sync is under way, or it is being resumed
        except Exception:
            break
        done.append(run_dir.name)
        if len(done) >= CATCH_UP_LIMIT:
            break
    return done


def sync_sweep(sweep_dir: str | Path, *, tracking_uri: str | None = None,
               experiment: str | None = None, trials: bool = False) -> str:  # fmt: skip
    """Log the sweep in `sweep_dir`: what it searched, its best value, the best trial tagged;
    return the sweep's MLflow run id. With `trials`, log each trial's run first (again: it
    changes nothing already logged)."""
    sweep_dir = Path(sweep_dir).resolve()
    record = read_sweep(sweep_dir)
    if record is None:
        raise TrackingError(f"{sweep_dir}: not a sweep folder (no readable sweep.json)")
    source = Path(record.get("source") or sweep_dir)
    uri = tracking_uri or config.tracking_uri(source.parent)
    name = experiment or config.experiment_name(record.get("pipeline"), source.parent)
    if trials:
        for trial in record.get("trials", []):
            run_dir = sweep_dir.parent.parent / "runs" / str(trial.get("run_id"))
            if (
                sweeps.RUN_ID.fullmatch(str(trial.get("run_id")))
                and (run_dir / "run.json").exists()
            ):
                sync_run(run_dir, tracking_uri=uri, experiment=name)
    with translated(f"log sweep {record.get('id')}", uri):
        client = store.client(uri)
        experiment_id = store.experiment_id(client, name, uri)
        run_id = sweeps.sweep_run(client, experiment_id, sweep_dir, {})
        logged = client.get_run(run_id).data.params
        params = {f"sweep.{k}": v for k, v in sweeps.summary(record).items()}
        params = {k: v for k, v in params.items() if k not in logged}
        metrics = []
        best = best_of(record)
        tags = {tag.STATUS: str(record.get("status") or "")}
        when = sweeps.ms(record.get("end")) or store.now_ms()
        metrics.append(store.Metric("trials", float(len(record.get("trials", []))), when))
        if best is not None:
            tags[tag.BEST_TRIAL] = str(best["number"])
            tags["nb2pipe.best_run_id"] = str(best.get("run_id") or "")
            if record.get("metric") and best.get("value") is not None:
                key = f"best_{record['metric']}"
                metrics.append(store.Metric(key, float(best["value"]), when))
            best_mlflow = sweeps.trial_mlflow_id(sweep_dir, best)
            if best_mlflow:
                tags["nb2pipe.best_mlflow_run_id"] = best_mlflow
                client.set_tag(best_mlflow, tag.BEST, "true")
        store.log_batch(client, run_id, metrics, params=params, tags=tags)
        status = sweeps.STATUS.get(str(record.get("status")), "KILLED")
        store.end_run(client, uri, run_id, status, sweeps.ms(record.get("end")))
    return run_id
