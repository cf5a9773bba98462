"""What makes an nb2pipe process start and end seconds sooner, for every command line we own
(`nb2pipe`, the detached tracking sync) and the magics: `quick()`.

**Imports that cost seconds for nothing.** `jsonschema` (which nbformat, and so papermill and
nbconvert, import) loads every format checker it can find when it is imported. With the
`format-nongpl` extra that nbformat asks for, that includes `rfc3987_syntax`, which builds three
Earley parsers from its grammar at import: 1.4 s of CPU in every process that reads a notebook,
to check the `iri` formats that no notebook schema uses (python-jsonschema/jsonschema#1428;
rfc3987-syntax 1.1.0 is the newest release). `defer()` puts a stand-in under that name which
imports the real module on first use, so the checks still run, with the real parser, if any
schema ever asks for them. It changes nothing once jsonschema or the real module is loaded, and
nothing where the module is not installed.

**The way out.** A run leaves a large heap behind (papermill, pandas; MLflow and SQLAlchemy when
tracked): the full garbage collection Python makes at exit took 0.9 s after everything was
written. `skip_exit_collection()` freezes the heap after every other exit handler has run;
what must be closed (kernels, files, the store) is closed explicitly before.
"""

from __future__ import annotations

import atexit
import gc
import importlib
import importlib.util
import sys
import threading
import types

DEFERRED = "rfc3987_syntax"


class _StandIn(types.ModuleType):
    """`rfc3987_syntax` until something uses it: then the real module, imported once."""

    def __init__(self, name: str):
        super().__init__(name, "stands in for the real module until first use (nb2pipe)")
        self._lock = threading.Lock()
        self._real: types.ModuleType | None = None

    def real(self) -> types.ModuleType:
        with self._lock:
            if self._real is None:
                if sys.modules.get(self.__name__) is self:
                    del sys.modules[self.__name__]
                self._real = importlib.import_module(self.__name__)
            return self._real

    def __getattr__(self, name: str):
        if name.startswith("__"):  # import machinery probing the module: not a use
            raise AttributeError(name)
        return getattr(self.real(), name)


def quick() -> None:
    """Both, for a process's entry point (call it before anything imports jsonschema)."""
    defer()
    skip_exit_collection()


def skip_exit_collection() -> None:
    """Freeze the heap on the way out, after every exit handler registered later has run."""
    atexit.register(gc.freeze)


def defer() -> None:
    """Install the stand-in for `rfc3987_syntax`, unless it is too late or not needed."""
    if DEFERRED in sys.modules or "jsonschema" in sys.modules:
        return
    try:
        if importlib.util.find_spec(DEFERRED) is None:
            return
    except (ImportError, ValueError):
        return
    stand_in = _StandIn(DEFERRED)

    # jsonschema does `from rfc3987_syntax import is_valid_syntax` when it is imported: hand
    # it a function that reaches the real one only when a value is checked.
    def is_valid_syntax(term: str, value: str) -> bool:
        return stand_in.real().is_valid_syntax(term, value)

    stand_in.is_valid_syntax = is_valid_syntax
    sys.modules[DEFERRED] = stand_in
