"""The run-time guard: a step must not change an input in a way the compiler did not see.

The compiler makes a step that visibly changes an object (`df["x"] = …`, `model.fit(…)`) a new
producer of it. A change it cannot see — a library function that modifies its argument — would
leave a later step reading the earlier version, unlike Run All. For inputs that a later step
also reads, the load cell records a digest of each value (`watch`) and the save cell compares
(`check_unchanged`): a change becomes an error naming the step, the variable and the cell,
never a wrong number.

Digests hash the values' memory, not a serialization: a 200,000 × 20 DataFrame costs ~35 ms.
"""

import gc
import hashlib
import itertools
import pickle
import sys
import types
from typing import Any

from nb2pipe.errors import ArtifactError

_watched: dict[str, str | None] = {}


def digest(value: Any) -> str | None:
    """A content digest of `value`, or None if it cannot be computed."""
    h = hashlib.sha256()
    try:
        _feed(h, value)
    except Exception:
        return None
    return h.hexdigest()


def _feed(h, value: Any) -> None:
    pd = sys.modules.get("pandas")
    np = sys.modules.get("numpy")
    kind = type(value)
    h.update(f"{kind.__module__}.{kind.__qualname__}|".encode())
    if pd is not None and kind is pd.DataFrame:
        h.update(repr((list(value.columns), [str(t) for t in value.dtypes])).encode())
        _feed(h, value.index)
        for position in range(value.shape[1]):
            _feed_array(h, value.iloc[:, position].array)
        return
    if pd is not None and kind is pd.Series:
        h.update(repr((value.name, str(value.dtype))).encode())
        _feed(h, value.index)
        _feed_array(h, value.array)
        return
    if pd is not None and isinstance(value, pd.RangeIndex):
        h.update(repr((value.start, value.stop, value.step, value.name)).encode())
        return
    if pd is not None and isinstance(value, pd.Index):
        h.update(repr((value.names, str(value.dtype))).encode())
        _feed_array(h, value.array)
        return
    if np is not None and kind is np.ndarray and not value.dtype.hasobject:
        h.update(repr((value.dtype.str, value.shape)).encode())
        h.update(np.ascontiguousarray(value).view(np.uint8).data)
        return
    buffers: list = []
    h.update(pickle.dumps(value, protocol=5, buffer_callback=buffers.append))
    for buffer in buffers:
        h.update(buffer.raw())


def _feed_array(h, array: Any) -> None:
    """The memory of a pandas extension or numpy-backed array."""
    np = sys.modules["numpy"]
    chunked = getattr(array, "_pa_array", None)  # pyarrow-backed strings and types
    if chunked is not None:
        for chunk in chunked.chunks:
            h.update(repr((chunk.offset, len(chunk))).encode())
            for buffer in chunk.buffers():
                if buffer is not None:
                    h.update(buffer)
        return
    values = array.to_numpy() if not isinstance(array, np.ndarray) else array
    if isinstance(values, np.ndarray) and not values.dtype.hasobject:
        h.update(values.dtype.str.encode())
        h.update(np.ascontiguousarray(values).view(np.uint8).data)
        return
    pd = sys.modules["pandas"]
    h.update(pd.util.hash_array(np.asarray(values, dtype=object)).view(np.uint8).data)
    h.update(repr([type(v).__name__ for v in values[:1]]).encode())


def watch(**values: Any) -> None:
    """Remember the inputs a later step reads in the same version (the load cell calls this)."""
    _watched.clear()
    for name, value in values.items():
        _watched[name] = digest(value)


def check_unchanged(step: str, cell: int | None = None, /, **values: Any) -> None:
    """Refuse to finish if a watched input changed in place (the save cell calls this)."""
    for name, value in values.items():
        before = _watched.get(name)
        if before is None:
            continue  # not watched, or not digestible: the static analysis is all there is
        if digest(value) != before:
            where = f"cell {cell}: " if cell else ""
            raise ArtifactError(
                f"{where}step {step!r} changed {name!r} in place in a way nb2pipe cannot see "
                f"(a function that modifies its argument?); a later step reads {name!r} too "
                "and would get the version before that change, unlike Run All. Assign the "
                f"result in this step (e.g. `{name} = modify({name})`) so the change is passed on"
            )
    _watched.clear()


# --- values that share parts --------------------------------------------------------------------

_IMMUTABLE = (int, float, complex, str, bytes, bool, type(None), frozenset, range)
_OPAQUE = (type, types.ModuleType, types.FunctionType, types.BuiltinFunctionType, types.CodeType)
_REACH_LIMIT = 20_000


def aliases(values: dict[str, Any]) -> list[list[str]]:
    """Pairs of values that are, contain or share memory with each other (`data = df`,
    `model = pipe.named_steps["clf"]`, `head = arr[:5]`): saved apart, they come back apart."""
    np = sys.modules.get("numpy")
    candidates = {n: v for n, v in values.items() if not isinstance(v, _IMMUTABLE)}
    reach = {name: _reachable(value) for name, value in candidates.items()}
    pairs = []
    for (a, va), (b, vb) in itertools.combinations(candidates.items(), 2):
        shared = id(vb) in reach[a] or id(va) in reach[b]
        if not shared and np is not None:
            arrays = [v for v in (va, vb) if type(v) is np.ndarray]
            shared = len(arrays) == 2 and bool(np.may_share_memory(va, vb))
        if shared:
            pairs.append(sorted([a, b]))
    return sorted(pairs)


def _reachable(value: Any) -> set[int]:
    """Ids of the objects `value` holds, breadth first, bounded. Frames and arrays are leaves:
    pandas copies on write, and arrays are compared by memory instead."""
    seen = {id(value)}
    if _leaf(value):
        return seen
    todo = [value]
    while todo and len(seen) < _REACH_LIMIT:
        item = todo.pop()
        for child in gc.get_referents(item):
            if id(child) in seen or isinstance(child, _IMMUTABLE) or isinstance(child, _OPAQUE):
                continue
            seen.add(id(child))
            if not _leaf(child):
                todo.append(child)
    return seen


def _leaf(value: Any) -> bool:
    module = type(value).__module__.partition(".")[0]
    return module in ("pandas", "numpy", "pyarrow") or isinstance(value, _IMMUTABLE)


def check_not_shared(
    manifest: dict[str, Any], producer: str, name: str, changed: list[str], cell: int | None
) -> None:
    """Refuse `name` if, in `producer`, it shared parts with a variable a later step changed."""
    for pair in manifest.get("aliases", []):
        if name in pair:
            other = next(n for n in pair if n != name) if pair.count(name) == 1 else name
            if other in changed:
                where = f"cell {cell}: " if cell else ""
                raise ArtifactError(
                    f"{where}{name!r} shares its object with {other!r} in step {producer!r} "
                    f"(`{name} = {other}` or a part of it), and a later step changed {other!r} "
                    f"in place: Run All's {name!r} shows that change, the pipeline's would not. "
                    f"Make {name!r} a copy in step {producer!r} (e.g. `{name} = {other}.copy()`)"
                )
