"""Values that share an object, kept sharing it from one step to the next.

In Run All, `y = x`, `d["k"] = x`, `model.fit(X)` (which keeps `X`) and a NumPy view
`x_sub = x[:1, :1]` leave two names on one object: a change made through one shows through the
other. Saved one by one, such values come back as separate copies. So a step also saves each
group of its outputs that share an object as one pickle (`dump`), which keeps them one object
(a view stays a view of its base), and a step that loads several of them loads that group.

This module is imported in every step kernel: the standard library only at module level.
"""

import gc
import itertools
import pickle
import sys
import types
from pathlib import Path
from typing import Any

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


def dump(values: dict[str, Any], file) -> None:
    """Pickle `values` (name → value) into the open binary `file`, one object staying one."""
    _pickler(file).dump(values)


def load(path: Path) -> dict[str, Any]:
    with open(path, "rb") as f:
        return pickle.load(f)  # cloudpickle output is plain pickle


def _pickler(file):
    from .serializers import pickler_class

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
