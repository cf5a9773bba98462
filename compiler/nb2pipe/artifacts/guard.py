"""The run-time guard: a step must not change an input in a way the compiler did not see.

The compiler makes a step that visibly changes an object (`df["x"] = …`, `model.fit(…)`) a new
producer of it. A change it cannot see — a library function that modifies its argument — would
leave a later step reading the earlier version, unlike Run All. For inputs that a later step
also reads, the load cell records a digest of each value (`watch`) and the save cell compares
(`check_unchanged`): a change becomes an error naming the step, the variable and the cell,
never a wrong number.

Digests hash the values' memory, not a serialization: a 200,000 × 20 DataFrame costs ~35 ms.
"""

import hashlib
import pickle
import sys
from typing import Any

from nb2pipe.errors import ArtifactError

_watched: dict[str, str | None] = {}


def digest(value: Any) -> str | None:
    """A content digest of `value`, or None if it cannot be computed. For objects other than
    tables, arrays and plain Python values it digests their pickle, which may also hold
    caches and counters that change without changing what the object computes."""
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


def check_unchanged(step: str, cell: int | None = None, /, **values: Any) -> list[str]:
    """Refuse to finish if a watched value (a table, an array, a plain Python value) changed in
    place; for another object, whose pickle may change with a cache or a counter (a KNN model's
    tree counts its queries), return the hazard to warn about instead (the save cell calls
    this): a check must not fail a run that may well compute what Run All computes."""
    hazards = []
    for name, value in values.items():
        before = _watched.get(name)
        if before is None:
            continue  # not watched, or not digestible: the static analysis is all there is
        if digest(value) != before:
            if not _by_content(value):
                hazards.append(
                    f"{name!r} (a {type(value).__name__}) changed in place in a way nb2pipe "
                    "cannot see (its state, maybe only a cache or a counter); a later step that "
                    f"reads {name!r} too gets it as it was before this step, which may differ "
                    "from Run All"
                )
                continue
            where = f"cell {cell}: " if cell else ""
            view = _view_of(value, name)
            how = (
                f"through {view!r}, a view of its memory (`{view} = {name}[…]`), which nb2pipe "
                "did not see"
                if view
                else "in a way nb2pipe cannot see (a function that modifies its argument?)"
            )
            raise ArtifactError(
                f"{where}step {step!r} changed {name!r} in place {how}; a later step reads "
                f"{name!r} too and would get the version before that change, unlike Run All. "
                f"Assign the result in this step (e.g. `{name} = modify({name})`) so the change "
                "is passed on"
            )
    _watched.clear()
    return hazards


def _by_content(value: Any) -> bool:
    """Whether `value`'s digest is of its contents only (tables, arrays, plain values)."""
    module = type(value).__module__.partition(".")[0]
    return module in ("builtins", "pandas", "numpy")


def _view_of(value: Any, name: str) -> str | None:
    """A variable of the notebook that is a NumPy view of `value`'s memory, if there is one."""
    np = sys.modules.get("numpy")
    main = sys.modules.get("__main__")
    if np is None or main is None or not isinstance(value, np.ndarray):
        return None
    for other, candidate in vars(main).items():
        if (
            other != name
            and not other.startswith("_")
            and isinstance(candidate, np.ndarray)
            and candidate is not value
            and np.may_share_memory(candidate, value)
        ):
            return other
    return None
