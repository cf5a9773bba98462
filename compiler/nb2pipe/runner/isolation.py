"""Where a step executes: the one interface the scheduler uses, and its strategies.

The scheduler decides *what* runs and *when*; an `Isolation` decides *where*: a warm kernel
reset between steps (`kernel`), a kernel that has run nothing else (`process`), the step's own
container image (`container`, in container.py). Each is a small class; a new one (a cluster
executor) is one more subclass listed in the plugin table (nb2pipe/plugins.py, kind "isolation").

`run` is called from the scheduler's worker threads, one call per step attempt, and never
raises for a failing step: it returns an `Outcome`.
"""

from __future__ import annotations

import functools
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..compile.ir import Pipeline, Step
from ..errors import Nb2PipeError
from ..plugins import registry
from .execute import Outcome

if TYPE_CHECKING:
    from .storage import Storage


class Isolation:
    name = ""

    def __init__(
        self,
        pipeline: Pipeline,
        notebook: Path,
        workspace: Path,
        max_parallel: int,
        storage: Storage | None = None,
    ):
        self.pipeline = pipeline
        self.notebook = notebook
        self.workspace = workspace
        self.max_parallel = max_parallel
        self.storage = storage  # the workspace at a URL, if it lives at one (storage.py)

    @classmethod
    def options(cls, spec: str) -> dict[str, Any]:
        """The keyword arguments `spec` (``NAME`` or ``NAME://WHERE``) asks of this class."""
        if "://" in spec:
            raise Nb2PipeError(f"{spec}: {cls.name} takes no address")
        return {}

    @classmethod
    def default_parallel(cls, pipeline: Pipeline, **options: Any) -> int:
        """Steps at once when ``--max-parallel`` is not given: this machine's cores."""
        return os.cpu_count() or 1

    def prepare(self) -> None:
        """Before any step: what must exist first (images to build)."""

    def image(self, step: Step) -> str | None:
        """The image a step runs in, when its results depend on it (part of its fingerprint)."""
        return None

    def expect(self, steps: int) -> None:
        """At most `steps` more steps may need to run (warm up that many places to run)."""

    def run(
        self, step: Step, params: dict[str, Any], run_dir: Path, env: dict[str, str]
    ) -> Outcome:
        raise NotImplementedError

    def shutdown(self) -> None:
        """Stop everything still running: the run is over, or interrupted."""


class WarmKernels(Isolation):
    """Steps in warm kernels: started ahead of need, with the shared imports already run,
    reset before each step (kernels.py)."""

    name = "kernel"
    fresh = False  # True: a kernel runs one step only

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.pool = None
        self._lock = threading.Lock()

    def _pool(self):
        with self._lock:
            if self.pool is None:
                from .kernels import KernelPool

                size = min(self.max_parallel, width(self.pipeline))
                self.pool = KernelPool(
                    self.pipeline.kernel,
                    str(self.notebook.parent),
                    warmup(self.pipeline),
                    size,
                    fresh=self.fresh,
                    starts=size if (os.cpu_count() or 1) >= size else 1,
                )
                # papermill costs ~3 s to import: do it while the kernels start.
                threading.Thread(target=_import_papermill, daemon=True).start()
            return self.pool

    def expect(self, steps: int) -> None:
        if steps or self.pool is not None:
            self._pool().expect(steps)

    def run(self, step, params, run_dir, env) -> Outcome:
        from .execute import run_step

        return run_step(self.pipeline, step, params, run_dir, self._pool(), env)

    def shutdown(self) -> None:
        if self.pool is not None:
            self.pool.shutdown()


class FreshKernels(WarmKernels):
    """Every step in a kernel that has run nothing else, still started ahead of need."""

    name = "process"
    fresh = True


ISOLATIONS = registry("isolation")  # the built-ins are declared in nb2pipe/plugins.py


def isolation(spec: str) -> Callable[..., Isolation]:
    """The strategy `spec` names (``kernel``, ``dask://HOST:PORT``…), with its options bound;
    an `Nb2PipeError` listing them for anything else."""
    found = ISOLATIONS.get(spec.partition("://")[0])
    options = found.options(spec)
    return functools.partial(found, **options) if options else found


def default_parallel(strategy: Callable[..., Isolation], pipeline: Pipeline) -> int:
    """What `strategy` (a class, or one with its options bound by `isolation`) runs at once
    by default."""
    cls = getattr(strategy, "func", strategy)
    return cls.default_parallel(pipeline, **getattr(strategy, "keywords", {}))


def warmup(pipeline: Pipeline) -> str:
    """What a warm kernel runs before its first step: the imports every step begins with."""
    code = "\n".join(c.source for c in pipeline.imports)
    code += "\nfrom nb2pipe import artifacts as _nb2pipe_artifacts\n"
    if any("pandas" in s.imports for s in pipeline.steps):
        # DataFrames travel as Arrow IPC: pay pyarrow's import before a step.
        code += "import pyarrow.feather\n"
    return code


def width(pipeline: Pipeline) -> int:
    """How many steps may run at once: the most steps at one depth of the DAG."""
    depth: dict[str, int] = {}
    for step in pipeline.steps:  # in dependency order
        depth[step.name] = 1 + max((depth[u] for u in step.upstream if u in depth), default=0)
    counts: dict[int, int] = {}
    for level in depth.values():
        counts[level] = counts.get(level, 0) + 1
    return max(counts.values(), default=1)


def _import_papermill() -> None:
    try:
        from .execute import import_papermill

        import_papermill()
        import papermill.engines  # noqa: F401
    except Exception:
        pass  # the step that needs it reports the real error
