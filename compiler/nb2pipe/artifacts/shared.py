"""Values that share an object, kept sharing it from one step to the next.

In Run All, `y = x`, `d["k"] = x`, `model.fit(X)` (which keeps `X`) and a NumPy view
`x_sub = x[:1, :1]` leave two names on one object: a change made through one shows through the
other. Saved one by one, such values come back as separate copies. So a step also saves each
group of its outputs that share an object as one pickle (`dump`), which keeps them one object
(a view stays a view of its base), and a step that loads several of them loads that group.

This module is imported in every step kernel: the standard library only at module level.
"""

import contextlib
import gc
import itertools
import pickle
import sys
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from nb2pipe.errors import ArtifactError, os_problem
from nb2pipe.fileio import write_with

from . import digest, guard
from .digest import HashingFile, file_sha256
from .rebind import rebind

_IMMUTABLE = (int, float, complex, str, bytes, bool, type(None), frozenset, range)
_OPAQUE = (type, types.ModuleType, types.FunctionType, types.BuiltinFunctionType, types.CodeType)
_REACH_LIMIT = 20_000


def groups(values: dict[str, Any]) -> list[list[str]]:
    """The names of `values` that share an object, as groups of two or more (sorted)."""
    parent = {name: name for name in values}

    def root(name: str) -> str:
        while parent[name] != name:
            name = parent[name]
        return name

    for a, b in aliases(values):
        parent[root(a)] = root(b)
    found: dict[str, list[str]] = {}
    for name in values:
        found.setdefault(root(name), []).append(name)
    return sorted(sorted(g) for g in found.values() if len(g) > 1)


def aliases(values: dict[str, Any]) -> list[list[str]]:
    """Pairs of values that are, contain, hold a common object or share memory (`data = df`,
    `model = pipe.named_steps["clf"]`, `d = {"k": x}` and `h = [x]`, `head = arr[:5]`)."""
    candidates = {n: v for n, v in values.items() if not isinstance(v, _IMMUTABLE)}
    reach = {name: _reachable(value) for name, value in candidates.items()}
    pairs = []
    for a, b in itertools.combinations(candidates, 2):
        (ids_a, memory_a), (ids_b, memory_b) = reach[a], reach[b]
        # one holds the other, both hold a third, or arrays view the same memory
        if ids_a & ids_b or memory_a & memory_b:
            pairs.append(sorted([a, b]))
    return sorted(pairs)


def _reachable(value: Any) -> tuple[set[int], set[int]]:
    """Ids of the objects `value` holds, breadth first, bounded, and of the memory its NumPy
    arrays view (the array at the end of each one's `.base` chain, or the buffer under it).
    pandas objects are leaves (pandas copies on write); arrays are compared by memory."""
    np = sys.modules.get("numpy")
    seen = {id(value)}
    memory = {_memory(value)} if np is not None and isinstance(value, np.ndarray) else set()
    if _leaf(value):
        return seen, memory
    todo = [value]
    while todo and len(seen) < _REACH_LIMIT:
        item = todo.pop()
        for child in gc.get_referents(item):
            if id(child) in seen or isinstance(child, _IMMUTABLE) or isinstance(child, _OPAQUE):
                continue
            seen.add(id(child))
            if np is not None and isinstance(child, np.ndarray):
                memory.add(_memory(child))
            if not _leaf(child):
                todo.append(child)
    return seen, memory


def _memory(array: Any) -> int:
    """The id of what owns an array's memory: views of one array share it."""
    while getattr(array, "base", None) is not None:
        array = array.base
    return id(array)


def _leaf(value: Any) -> bool:
    module = type(value).__module__.partition(".")[0]
    return module in ("pandas", "numpy", "pyarrow") or isinstance(value, _IMMUTABLE)


# --- one pickle per group ------------------------------------------------------------------------


def save_group(directory: Path, step: str, values: dict[str, Any], names: list[str]) -> dict:
    """Values that share an object, also saved together as one pickle (shared.py)."""
    file = f"{names[0]}.shared.pkl"

    def write(tmp: Path) -> dict[str, Any]:
        sink = HashingFile(tmp)
        try:
            dump({n: values[n] for n in names}, sink)
        finally:
            sha256 = sink.close()
        return {"sha256": sha256}

    try:
        extra = write_with(directory / file, write, durable=False)
    except OSError as exc:
        raise ArtifactError(
            f"step {step!r}: {', '.join(names)} could not be written to {directory}: "
            f"{os_problem(exc)}"
        ) from None
    except Exception as exc:
        raise ArtifactError(
            f"step {step!r}: {', '.join(names)} share an object and cannot be saved together "
            f"for the steps that read them: {exc}. Create them in the step that uses them"
        ) from None
    sha256 = extra["sha256"]
    digest.remember(directory / file, sha256)
    return {
        "names": names,
        "file": file,
        "sha256": sha256,
        "size": (directory / file).stat().st_size,
    }


def read_group(path: Path, step: str, group: dict) -> dict[str, Any]:
    if _loading is not None and path in _loading:
        return _loading[path]
    where = f"the values {', '.join(map(str, group.get('names') or []))} of step {step!r}"
    if not path.is_file() or path.is_symlink():
        raise ArtifactError(f"{where} are missing: {path}")
    if not digest.known(path, group.get("sha256")):
        if file_sha256(path) != group.get("sha256"):  # checked before reading: a pickle
            raise ArtifactError(f"{where} do not match their sha256 in the manifest: {path}")
        digest.remember(path, group["sha256"])
    together = load(path)
    if _loading is not None:
        _loading[path] = together
    return together


# --- a step's load cell ---------------------------------------------------------------------------

# Group files read by the current load cell (`loading`), so that values that were one object
# in a step are one object here too, however many `load` calls read them.
_loading: dict[Path, dict[str, Any]] | None = None

# Companions loaded by this kernel's step: name -> (the value as loaded, its digest then).
_companions: dict[str, tuple[Any, str | None]] = {}


@contextlib.contextmanager
def loading() -> Iterator[None]:
    """The load cell of a step: values loaded inside it that shared an object where they were
    saved (artifacts/shared.py) come back sharing it."""
    global _loading
    _loading = {}
    try:
        yield
    finally:
        _loading = None


NOTHING = object()


def from_group(groups: list, locate, step: str, name: str, sharing: set[str]) -> Any:
    """`name` from the group of `step` that holds it, when it must come out as one object
    with others: inside a load cell, or with companions that this step may change through it
    (bound in the notebook's namespace and remembered). NOTHING: its own file will do."""
    for group in groups:
        members = [m for m in group.get("names") or [] if isinstance(m, str)]
        if name not in members:
            continue
        companions = [m for m in members if m in sharing and m != name]
        if _loading is None and not companions:
            return NOTHING
        together = read_group(locate(group), step, group)
        main = sys.modules.get("__main__")
        for other in companions:
            companion = rebind(together[other])
            remember_companion(other, companion)
            if main is not None:
                setattr(main, other, companion)
        return together[name]
    return NOTHING


def remember_companion(name: str, value: Any) -> None:
    """`name` was loaded as a companion: saved again by this step if it changes."""
    _companions[name] = (value, guard.digest(value))


def changed_companions(*names: str) -> dict[str, Any]:
    """Of the companions `names` this step loaded (see `load`), those it changed, to be saved
    again: a later step that reads them gets them as Run All has them then."""
    main = sys.modules.get("__main__")
    namespace = vars(main) if main is not None else {}
    out = {}
    for name in names:
        if name not in _companions or name not in namespace:
            continue
        loaded, before = _companions.pop(name)
        value = namespace[name]
        if value is not loaded or before is None or guard.digest(value) != before:
            out[name] = value
    return out


def dump(values: dict[str, Any], file) -> None:
    """Pickle `values` (name → value) into the open binary `file`: one object stays one."""
    _pickler(file).dump(values)


def load(path: Path) -> dict[str, Any]:
    with open(path, "rb") as f:
        return pickle.load(f)  # cloudpickle output is plain pickle


def _pickler(file):
    from .general import pickler_class

    np = sys.modules.get("numpy")

    class Pickler(pickler_class()):
        def reducer_override(self, obj):
            if np is not None and isinstance(obj, np.ndarray):
                view = _as_view(np, obj)
                if view is not None:
                    return view
            return super().reducer_override(obj)

    return Pickler(file, protocol=pickle.HIGHEST_PROTOCOL)


def _as_view(np, array):
    """An array that views another's memory, pickled as that view of its base (pickle would
    copy its data apart). None for an array that owns its data, or one that cannot be rebuilt
    as a view (object dtype, a base that is not one contiguous block)."""
    base, root = array.base, None
    while isinstance(base, np.ndarray):
        root, base = base, base.base
    if root is None or array.dtype.hasobject or root.dtype.hasobject:
        return None
    if not (root.flags.c_contiguous or root.flags.f_contiguous):
        return None
    offset = array.__array_interface__["data"][0] - root.__array_interface__["data"][0]
    from numpy.lib.array_utils import byte_bounds

    low, high = byte_bounds(array)
    start, end = byte_bounds(root)
    if low < start or high > end:
        return None
    return _view, (
        root,
        offset,
        array.shape,
        array.strides,
        array.dtype,
        type(array),
        bool(array.flags.writeable),
    )


def _view(root, offset, shape, strides, dtype, kind, writeable):
    """Rebuild a view of `root` (the counterpart of `_as_view`)."""
    import numpy as np

    flat = root.reshape(-1, order="A").view(np.uint8)
    array = np.ndarray(shape, dtype, buffer=flat, offset=offset, strides=strides)
    if kind is not np.ndarray:
        array = array.view(kind)
    if not writeable:
        array.flags.writeable = False
    return array
