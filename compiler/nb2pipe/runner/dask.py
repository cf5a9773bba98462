"""Steps on a Dask cluster: ``nb2pipe run --executor dask://HOST:PORT`` (or ``dask`` for a
local cluster of worker processes on this machine).

The scheduler (scheduler.py) still decides here, on the coordinator, what runs, when, and what
the cache serves; this `Isolation` only changes *where* a step runs: each step is one Dask task
running `remote_step.run_task` on a worker (the launcher, papermill on the step notebook, the
artifact contract), at most `max_parallel` at once, so independent steps land on different
workers. With a workspace at a URL the worker stages its inputs from there and publishes its
outputs there; the coordinator then downloads the finished step (verified against its sha256)
into its local copy of the run, where the records, the cache and the observers see it exactly
as after a local step. The worker's address is recorded in the step's meta.json.

A worker that dies while running a step is Dask's to handle: it re-runs the task elsewhere up
to its ``distributed.scheduler.allowed-failures`` and then the step fails, in one line. Ctrl-C
or the sidebar's Cancel cancels the futures (queued steps never start) and kills the kernels of
the run's steps still running on workers.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

from ..errors import Nb2PipeError
from ..fileio import plain
from .execute import Outcome
from .isolation import Isolation, width
from .remote_step import StepTask, run_task

LOCAL = "dask"
CONNECT_TIMEOUT = 15  # seconds to reach a scheduler before saying it is unreachable


class DaskExecutor(Isolation):
    """Each step a Dask task on the cluster at `address` (None: a LocalCluster started here)."""

    name = "dask"

    def __init__(self, *args: Any, address: str | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.address = address
        self.client = None
        self.cluster = None
        self.futures: set = set()
        self.run_ids: set[str] = set()
        self.kernels: str | None = None  # the name of our warm kernels' worker plugin
        self._lock = threading.Lock()

    @classmethod
    def options(cls, spec: str) -> dict[str, Any]:
        """``dask`` or ``dask://HOST:PORT``."""
        scheme, sep, rest = spec.partition("://")
        if scheme != LOCAL or (sep and (not rest or "/" in rest or ":" not in rest)):
            raise Nb2PipeError(f"--executor {spec}: expected dask or dask://HOST:PORT")
        return {"address": f"tcp://{rest}" if sep else None}

    @classmethod
    def default_parallel(cls, pipeline, address: str | None = None, **options: Any) -> int:
        """A cluster's scheduler queues what its workers cannot take yet: hand it every step
        that is ready (as wide as the pipeline), not as many as this machine has cores. A
        local cluster has one worker per core."""
        if address is None:
            return super().default_parallel(pipeline)
        return max(1, width(pipeline))

    def expect(self, steps: int) -> None:
        """Reach the cluster when the first step must run (a run served by the cache needs
        none): every worker then starts warm kernels and imports papermill."""
        if steps and self.client is None:
            self._client()

    def _client(self):
        with self._lock:
            if self.client is None:
                client = connect(self.address, self.max_parallel)
                if isinstance(client, tuple):
                    client, self.cluster = client
                self.kernels = _register_kernels(client, self.pipeline, self.notebook)
                # papermill costs seconds to import: every worker starts on it now.
                warm = threading.Thread(target=_quietly, args=(client.run, _import_papermill))
                warm.daemon = True
                warm.start()
                self.client = client
            return self.client

    def run(self, step, params, run_dir, env) -> Outcome:
        from ..compile.build import step_notebook

        run_dir = Path(run_dir)
        task = StepTask(
            step=step.name,
            notebook=json.dumps(step_notebook(self.pipeline, step)),
            kernel=self.pipeline.kernel,
            parameters={p: plain(params[p]) for p in step.params},
            run_id=run_dir.name,
            run_dir=str(run_dir),
            cwd=str(self.notebook.parent),
            storage=self.storage,
            inputs=sorted({*step.upstream, *(i.producer for i in step.inputs)}),
            env=dict(env),
            timeout=step.timeout,
            reusable=not step.changes_settings,
        )
        start = time.time()
        client = self._client()
        self.run_ids.add(task.run_id)
        future = client.submit(_on_worker, task, self.kernels, pure=False, key=_key(task))
        with self._lock:
            self.futures.add(future)
        try:
            result = future.result()
        except Exception as e:
            return Outcome(False, start, time.time(), {"message": _lost(step.name, e)})
        finally:
            with self._lock:
                self.futures.discard(future)
        extra: dict[str, Any] = {"worker": result["worker"]}
        if result.get("stopped") is not None:
            extra["stopped"] = result["stopped"]
        if result["ok"] and self.storage is not None:
            try:  # the coordinator's copy of the step, every artifact checked on the way
                self.storage.get_step(task.run_id, step.name, run_dir / step.name)
            except (OSError, Nb2PipeError) as e:
                message = f"step {step.name!r} finished but could not be fetched: {e}"
                return Outcome(False, result["start"], result["end"], {"message": message})
        elif self.storage is not None:
            _fetch_record(self.storage, task.run_id, step.name, run_dir / step.name)
        return Outcome(result["ok"], result["start"], result["end"], result["error"], extra=extra)

    def shutdown(self) -> None:
        with self._lock:
            client, futures = self.client, list(self.futures)
            self.client, self.futures = None, set()
            cluster, self.cluster = self.cluster, None
        if client is None:
            return
        try:
            if futures:
                client.cancel(futures, force=True)
                for run_id in self.run_ids:  # the kernels of steps running now
                    client.run(_stop_kernels, run_id)
            if self.kernels is not None:  # every worker stops our warm kernels
                client.unregister_worker_plugin(self.kernels)
        except Exception:
            pass  # the cluster is gone already: nothing left to cancel
        finally:
            client.close()
            if cluster is not None:
                cluster.close()


def connect(address: str | None, workers: int):
    """A client of the scheduler at `address`, or (client, cluster) of a new local cluster."""
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise Nb2PipeError(
            "--executor dask: Dask is not installed (pip install 'jupyter-mlops[dask]')"
        ) from None
    if address is None:
        cluster = LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None
        )
        return Client(cluster), cluster
    try:
        return Client(address, timeout=CONNECT_TIMEOUT)
    except (OSError, TimeoutError) as e:
        raise Nb2PipeError(
            f"--executor dask://{address.removeprefix('tcp://')}: no Dask scheduler answers "
            f"there ({type(e).__name__})"
        ) from None


def _register_kernels(client, pipeline, notebook: Path) -> str | None:
    """Warm kernels for this pipeline on every worker (worker_kernels.py); their name, or None
    if the cluster refused (steps then start a kernel each)."""
    from .isolation import warmup
    from .worker_kernels import WarmKernels

    plugin = WarmKernels(pipeline.kernel, warmup(pipeline), str(notebook.parent))
    try:
        client.register_plugin(plugin, name=plugin.name)
    except Exception:
        return None
    return plugin.name


def _on_worker(task: StepTask, kernels: str | None) -> dict[str, Any]:
    """The task a worker runs: `run_task` in one of our warm kernels if this worker keeps
    them, and which worker ran it."""
    from distributed import get_worker

    from .worker_kernels import on_this_worker

    plugin = on_this_worker(kernels)
    result = run_task(task, plugin.for_run(task.run_id) if plugin is not None else None)
    result["worker"] = get_worker().address
    return result


def _import_papermill() -> None:
    from .execute import import_papermill

    import_papermill()


def _stop_kernels(run_id: str, dask_worker=None) -> int:
    """On a worker: kill the kernels running steps of `run_id` (their steps then fail)."""
    import signal

    import psutil

    from .worker_kernels import stop_run

    stopped = stop_run(dask_worker, run_id)
    for child in psutil.Process().children(recursive=True):
        try:
            if child.environ().get("NB2PIPE_RUN_ID") == run_id:
                child.send_signal(signal.SIGKILL)
                stopped += 1
        except psutil.Error:
            pass  # gone already
    return stopped


def _quietly(function, *args) -> None:
    try:
        function(*args)
    except Exception:
        pass  # a warm-up only: the step that needs papermill reports the real error


def _fetch_record(storage, run_id: str, step: str, step_dir: Path) -> None:
    """A failed step's executed notebook and log, for the message and for the user."""
    for name in ("notebook.ipynb", "log.txt"):
        try:
            storage.download(f"runs/{run_id}/{step}/{name}", step_dir / name)
        except (OSError, Nb2PipeError):
            pass


def _key(task: StepTask) -> str:
    return f"nb2pipe-{task.run_id}-{task.step}-{time.time_ns():x}"


def _lost(step: str, error: Exception) -> str:
    name = type(error).__name__
    if name == "KilledWorker":
        return f"step {step!r}: its Dask worker died while running it (killed, or out of memory)"
    if name == "CancelledError":
        return f"step {step!r}: cancelled on the Dask cluster"
    first = (str(error).strip().splitlines() or [name])[0]
    return f"step {step!r}: the Dask cluster lost it ({name}: {first})"
