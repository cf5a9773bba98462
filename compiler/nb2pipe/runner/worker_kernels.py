"""Warm kernels on Dask workers: the local runner's kernel pool (kernels.py), on each worker.

A worker that started a fresh kernel for every step paid its start-up and the pipeline's imports
(pandas, scikit-learn: seconds) once per step. `WarmKernels` is a Dask `WorkerPlugin`: the
coordinator registers it when the first step must run, every worker (and any that joins later)
then starts as many kernels as it has threads, right away, and runs the pipeline's `imports`
cells in them; `remote_step.run_task` runs each step in one of them, reset before the step as
locally (an empty namespace, the step's working directory and environment, the project's own
modules imported afresh). A step that changes global settings retires its kernel, as locally.
The coordinator removes the plugin when its run ends: the worker stops those kernels (and
stops them by itself after 15 idle minutes, should the coordinator die before it could).

Each registration has its own name (one per coordinator's executor), so two runs sharing a
cluster never stop each other's kernels.
"""

from __future__ import annotations

import os
import shutil
import signal
import tempfile
import threading
import time
import uuid

from distributed.diagnostics.plugin import WorkerPlugin

from .kernels import Kernel, KernelPool

PREFIX = "nb2pipe-kernels-"
IDLE = 900  # seconds without a step after which a worker stops the kernels by itself


class WarmKernels(WorkerPlugin):
    """Kernels for one pipeline's steps on every worker, started ahead of need."""

    idempotent = False

    def __init__(self, kernel_name: str, warmup: str, cwd: str):
        self.name = PREFIX + uuid.uuid4().hex[:12]
        self.kernel_name = kernel_name
        self.warmup = warmup
        self.cwd = cwd  # the coordinator's notebook folder, if this worker sees it too
        self.pool: KernelPool | None = None
        self.scratch: str | None = None

    def __getstate__(self) -> dict:
        # Sent to the workers before setup: only the description, never a pool.
        return {key: value for key, value in self.__dict__.items() if not key.startswith("_")} | {
            "pool": None,
            "scratch": None,
        }

    def setup(self, worker) -> None:
        """On the worker, in its event loop: start the kernels in threads and return."""
        size = max(1, worker.state.nthreads)
        if not os.path.isdir(self.cwd):
            self.scratch = tempfile.mkdtemp(prefix=PREFIX)
        self._lock = threading.Lock()
        self._busy: dict[int, tuple[str, Kernel]] = {}  # id(kernel) -> (run id, kernel)
        self.pool = KernelPool(self.kernel_name, self.scratch or self.cwd, self.warmup, size)
        self.pool.expect(size)
        self._used = time.monotonic()
        threading.Thread(target=self._watch, daemon=True).start()

    def teardown(self, worker) -> None:
        """The coordinator's run ended: stop the kernels, without making it wait for that."""
        threading.Thread(target=self._close, daemon=True).start()

    def _close(self) -> None:
        pool, self.pool = self.pool, None  # steps that arrive now start a kernel of their own
        if pool is not None:
            pool.shutdown()
        if self.scratch is not None:
            shutil.rmtree(self.scratch, ignore_errors=True)

    def _watch(self) -> None:
        """A coordinator that died never removes the plugin: stop idle kernels after a while."""
        while self.pool is not None:
            time.sleep(IDLE / 10)
            with self._lock:
                idle = not self._busy and time.monotonic() - self._used > IDLE
            if idle:
                self._close()

    # --- what a step on this worker uses (remote_step.run_task) --------------------------------
    def for_run(self, run_id: str) -> RunKernels:
        return RunKernels(self, run_id)

    def stop(self, run_id: str) -> int:
        """Kill the kernels running steps of `run_id` now (their steps then fail)."""
        with self._lock:
            kernels = [k for run, k in self._busy.values() if run == run_id]
        for kernel in kernels:
            pid = getattr(getattr(kernel.km, "provisioner", None), "pid", None)
            if pid:
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass  # gone already
        return len(kernels)


class RunKernels:
    """The plugin's pool as `execute.run_notebook` uses it, noting which run holds a kernel
    (so that a cancelled run's steps can be stopped) and keeping the pool full."""

    def __init__(self, plugin: WarmKernels, run_id: str):
        self.plugin, self.run_id = plugin, run_id
        self.pool = plugin.pool

    def acquire(self) -> Kernel:
        kernel = self.pool.acquire()
        # While this step runs, the worker's other threads still find kernels ready.
        self.pool.expect(self.pool.size)
        with self.plugin._lock:
            self.plugin._busy[id(kernel)] = (self.run_id, kernel)
            self.plugin._used = time.monotonic()
        return kernel

    def release(self, kernel: Kernel, *, healthy: bool = True) -> None:
        with self.plugin._lock:
            self.plugin._busy.pop(id(kernel), None)
            self.plugin._used = time.monotonic()
        self.pool.release(kernel, healthy=healthy)
        self.pool.expect(self.pool.size)

    def prepare_code(self, *args, **kwargs) -> str:
        return self.pool.prepare_code(*args, **kwargs)


def on_this_worker(name: str | None) -> WarmKernels | None:
    """The plugin `name` on the worker running this task, if it is set up here."""
    if not name:
        return None
    from distributed import get_worker

    plugin = get_worker().plugins.get(name)
    return plugin if isinstance(plugin, WarmKernels) and plugin.pool is not None else None


def stop_run(dask_worker, run_id: str) -> int:
    """On a worker (`Client.run`): kill the warm kernels running steps of `run_id`."""
    return sum(
        plugin.stop(run_id)
        for plugin in list(dask_worker.plugins.values())
        if isinstance(plugin, WarmKernels) and plugin.pool is not None
    )
