"""Warm kernels: started ahead of need, with the shared imports already run in them.

A step should pay only for its own cells. The pool starts kernels in background threads as soon
as the runner knows some step must execute, and runs the pipeline's `imports` cells in them, so
kernel start-up and the import of numpy/pandas/scikit-learn hide behind papermill's own import
and behind the steps already running. Before each step the kernel's user namespace is reset
(modules stay loaded), its working directory restored and the step's identity set in its
environment. With ``fresh=True`` (``--isolation process``) every step gets a kernel that has run
nothing else, still started ahead of need.
"""

from __future__ import annotations

import itertools
import json
import os
import queue
import threading
import time
from dataclasses import dataclass

from ..errors import Nb2PipeError


class KernelStartError(Nb2PipeError):
    exit_code = 1


@dataclass
class Kernel:
    km: object  # jupyter_client.AsyncKernelManager
    steps_run: int = 0


def _run(coro):
    """Run a coroutine to completion from a plain thread (each call gets its own loop)."""
    import asyncio  # here: a run whose steps are all cached starts no kernel (0.05 s of import)

    return asyncio.run(coro)


class KernelPool:
    def __init__(
        self,
        kernel_name: str,
        cwd: str,
        warmup: str,
        size: int,
        *,
        fresh: bool = False,
        env: dict[str, str] | None = None,
        starts: int = 1,
    ):
        self.kernel_name = kernel_name
        self.cwd = cwd
        self.warmup = warmup
        self.size = max(1, size)
        self.fresh = fresh
        self.env = env
        self.starts = max(1, starts)  # kernels started side by side at most
        self._ready: queue.Queue = queue.Queue()
        self._lock = threading.Lock()
        self._alive: list[Kernel] = []
        self._warming: list = []  # kernel managers started but still running the warm-up
        self._starting = 0
        self._wanted = 0  # kernels still needed by steps not yet started
        self._waiting = 0  # steps blocked in acquire(): they need a kernel now
        self._closed = False

    # --- demand --------------------------------------------------------------------------
    def expect(self, steps: int) -> None:
        """The scheduler will ask for `steps` more kernels: start as many as may run at once."""
        with self._lock:
            if self._closed:  # a step released after shutdown() must not start a new kernel
                return
            self._wanted = steps
            self._start_missing()

    def _start_missing(self) -> None:
        """Start the kernels still needed (call with the lock held), `starts` at a time.

        The scheduler chooses `starts`: side by side when the pipeline has branches that will
        want kernels at once and the machine has a core for each start-up (started one after
        the other, the second kernel was still importing scikit-learn when the branches were
        ready, and they ran one after the other); one at a time otherwise, so that the first
        kernel, which the first step waits for, does not share its core.
        """
        # Demand counts the steps blocked in acquire() and, for reused kernels, the busy ones:
        # `_wanted` alone drops to 0 once every submitted step is waiting, and then a second
        # kernel never started (two independent steps ran one after the other).
        idle = self._ready.qsize()
        if self.fresh:
            have, need = idle + self._starting, self._waiting + self._wanted
        else:
            busy = max(0, len(self._alive) - idle)
            have = len(self._alive) + self._starting
            need = busy + self._waiting + self._wanted
        while not self._closed and self._starting < self.starts and have < min(self.size, need):
            self._starting += 1
            have += 1
            threading.Thread(target=self._start_one, daemon=True).start()

    def acquire(self, timeout: float = 120) -> Kernel:
        with self._lock:
            self._wanted = max(0, self._wanted - 1)
            self._waiting += 1
            self._start_missing()
        try:
            while True:
                try:
                    item = self._ready.get(timeout=timeout)
                except queue.Empty:
                    raise KernelStartError(
                        f"no kernel became ready within {timeout:.0f} s"
                    ) from None
                if isinstance(item, BaseException):
                    raise KernelStartError(f"kernel {self.kernel_name!r} failed to start: {item}")
                if _is_alive(item):
                    return item
                self._discard(item)
                self.expect(self._wanted + 1)
        finally:
            with self._lock:
                self._waiting -= 1

    def release(self, kernel: Kernel, *, healthy: bool = True) -> None:
        """Give a kernel back after a step: reused, or retired and replaced if still needed."""
        kernel.steps_run += 1
        if healthy and not self.fresh and not self._closed and _is_alive(kernel):
            self._ready.put(kernel)
            return
        self._discard(kernel)
        self.expect(self._wanted)

    def prepare_code(
        self, step: str, run_dir: str, extra_env: dict[str, str], cwd: str | None = None
    ) -> str:
        """Code that empties the user namespace and points the kernel at this step (cwd, by
        default the pool's, and environment); the engine runs it silently before the step's
        first cell."""
        cwd = cwd or self.cwd
        env = {"NB2PIPE_STEP": step, "NB2PIPE_RUN_DIR": run_dir, **extra_env}
        # Local modules (the project's own .py files) are imported afresh by each step, as a
        # new kernel would: the file may have changed, or an earlier step may have written it.
        return (
            "get_ipython().run_line_magic('reset', '-f')\n"
            "import os as _nb2pipe_os, sys as _nb2pipe_sys\n"
            f"_nb2pipe_os.chdir({cwd!r})\n"
            f"_nb2pipe_os.environ.update({json.dumps(env)})\n"
            "for _nb2pipe_m in [n for n, m in list(_nb2pipe_sys.modules.items()) if\n"
            f"        (getattr(m, '__file__', None) or '').startswith({cwd + os.sep!r})\n"
            "        and 'site-packages' not in (m.__file__ or '')]:\n"
            "    del _nb2pipe_sys.modules[_nb2pipe_m]\n"
            "del _nb2pipe_os, _nb2pipe_sys\n"
        )

    def shutdown(self) -> None:
        """Stop every kernel now; the run is over (or interrupted)."""
        self._closed = True
        with self._lock:
            kernels, self._alive = list(self._alive), []
            kernels += [Kernel(km) for km in self._warming]
        threads = [threading.Thread(target=_shutdown, args=(k,), daemon=True) for k in kernels]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=10)
        # Wake any step still waiting in acquire(): it fails now instead of after its timeout.
        for _ in range(self.size):
            self._ready.put(KernelStartError("the run was stopped"))

    # --- internals -----------------------------------------------------------------------
    def _start_one(self) -> None:
        try:
            kernel = _run(self._start())
        except BaseException as e:  # reported to whoever waits for a kernel
            with self._lock:
                self._starting -= 1
            self._ready.put(e)
            return
        with self._lock:
            self._starting -= 1
            self._alive.append(kernel)
            closed = self._closed
        if closed:
            _shutdown(kernel)
        else:
            self._ready.put(kernel)
            # Only now: before the put, this kernel counted as busy *and* its waiting step
            # as still in need, which started one kernel too many.
            with self._lock:
                self._start_missing()

    async def _start(self) -> Kernel:
        from jupyter_client.manager import AsyncKernelManager

        # IPC sockets: no TCP ports to race for, and no "unencrypted TCP" warning. Their path
        # must be absolute, since the kernel starts in another working directory.
        sockets = os.path.join(_runtime_dir(), f"nb2pipe-{os.getpid()}-{id(self)}-{next(_ids)}")
        km = AsyncKernelManager(
            kernel_name=self.kernel_name,
            transport="ipc",
            ip=sockets,
            client_class="nb2pipe.runner.kernels.PromptClient",
        )
        extra = {"env": {**os.environ, **self.env}} if self.env else {}
        await km.start_kernel(cwd=self.cwd, **extra)
        with self._lock:
            self._warming.append(km)  # so that shutdown() can stop it mid warm-up
        if self.warmup.strip():
            await _execute(km, self.warmup, timeout=300, raise_errors=False)
        with self._lock:
            self._warming.remove(km)
        return Kernel(km)

    def _discard(self, kernel: Kernel) -> None:
        with self._lock:
            if kernel in self._alive:
                self._alive.remove(kernel)
        threading.Thread(target=_shutdown, args=(kernel,), daemon=True).start()


async def _execute(
    km, code: str, timeout: float, raise_errors: bool = True, wait_ready: bool = True
) -> None:
    kc = km.client()
    kc.start_channels()
    try:
        if wait_ready:
            await kc.wait_for_ready(timeout=timeout)
        reply = await kc.execute_interactive(
            code, timeout=timeout, store_history=False, output_hook=lambda msg: None
        )
        if raise_errors and reply["content"]["status"] != "ok":
            content = reply["content"]
            raise RuntimeError(f"{content.get('ename')}: {content.get('evalue')}")
    finally:
        kc.stop_channels()


_ids = itertools.count()


def _prompt_client_class():
    from jupyter_client.asynchronous import AsyncKernelClient

    class PromptClient(AsyncKernelClient):
        """A client that is ready as soon as both channels answer.

        jupyter_client's `wait_for_ready` drains IOPub for a fixed 0.2 s after the kernel_info
        reply: 0.2 s for every step, since papermill connects anew for each notebook. The
        "idle" status of our own kernel_info request on IOPub proves the same thing (the
        subscription is live) in a few milliseconds; if it was missed, ask again.
        """

        async def wait_for_ready(self, timeout: float | None = None) -> None:
            deadline = time.monotonic() + (timeout or 60)
            while time.monotonic() < deadline:
                msg_id = self.kernel_info()
                try:
                    while True:
                        msg = await self.iopub_channel.get_msg(timeout=0.5)
                        if (
                            msg["parent_header"].get("msg_id") == msg_id
                            and msg["msg_type"] == "status"
                            and msg["content"].get("execution_state") == "idle"
                        ):
                            return
                except queue.Empty:
                    if not await self.is_alive():
                        raise RuntimeError("the kernel died before it answered") from None
            raise RuntimeError(f"the kernel did not answer within {timeout} s")

    return PromptClient


def __getattr__(name: str):
    # Built on first use: importing this module must not import jupyter_client.
    if name == "PromptClient":
        cls = _prompt_client_class()
        globals()["PromptClient"] = cls
        return cls
    raise AttributeError(name)


def _runtime_dir() -> str:
    from jupyter_core.paths import jupyter_runtime_dir

    path = jupyter_runtime_dir()
    os.makedirs(path, exist_ok=True)
    return path


def _is_alive(kernel: Kernel) -> bool:
    try:
        return bool(_run(kernel.km.is_alive()))
    except Exception:
        return False


def _shutdown(kernel: Kernel) -> None:
    try:
        _run(kernel.km.shutdown_kernel(now=True))
    except Exception:
        pass
