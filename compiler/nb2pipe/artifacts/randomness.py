"""Global random state carried from step to step, so that seeded draws match Run All.

When a notebook seeds a global generator (`np.random.seed`, `random.seed`, `torch.manual_seed`),
the compiler chains the steps that may draw from it in notebook order: each saves the state it
leaves (`save_random_state`) and the next restores it (`restore_random_state`) before its own
cells run. Covered: Python's `random`, numpy's legacy global `RandomState` (which scikit-learn
uses when `random_state=None`) and torch's CPU generator, each only if the step imported it.

Other steps of such a notebook are watched (`watch_random_state`): one that draws anyway gets
a `warning:` line, since its numbers cannot equal Run All's.
"""

import hashlib
import os
import pickle
import sys
from pathlib import Path
from typing import Any

from nb2pipe.errors import ArtifactError

FILE = "random_state.pkl"
_watched: dict[str, str] | None = None  # generator -> digest of its state


def current() -> dict[str, Any]:
    """The global generators' states, for the generators this process has imported."""
    import random

    states: dict[str, Any] = {"random": random.getstate()}
    numpy = sys.modules.get("numpy")
    if numpy is not None and hasattr(numpy, "random"):
        states["numpy"] = numpy.random.get_state()
    torch = sys.modules.get("torch")
    if torch is not None:
        states["torch"] = torch.get_rng_state()
    return states


def apply(states: dict[str, Any]) -> None:
    import random

    random.setstate(states["random"])
    if "numpy" in states:
        import numpy

        numpy.random.set_state(states["numpy"])
    if "torch" in states and "torch" in sys.modules:
        sys.modules["torch"].set_rng_state(states["torch"])


def _digest(states: dict[str, Any]) -> str:
    return hashlib.sha256(pickle.dumps(states, protocol=4)).hexdigest()


def save(directory: Path, write_atomic) -> dict[str, Any]:
    """Write the current states next to the step's artifacts; return the manifest entry."""
    data = pickle.dumps(current(), protocol=4)
    path = directory / FILE
    write_atomic(path, lambda tmp: tmp.write_bytes(data))
    return {"file": FILE, "sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}


def restore(directory: Path, entry: dict[str, Any] | None, step: str) -> None:
    if entry is None:
        raise ArtifactError(f"step {step!r} saved no random state to continue from")
    path = directory / entry["file"]
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ArtifactError(f"the random state of step {step!r} is missing: {path}") from exc
    if hashlib.sha256(data).hexdigest() != entry["sha256"]:
        raise ArtifactError(f"the random state of step {step!r} does not match its sha256")
    apply(pickle.loads(data))


def watch() -> None:
    global _watched
    _watched = {name: _digest({name: state}) for name, state in current().items()}


def drew() -> bool:
    """Whether global random state changed since `watch` (and stop watching).

    A generator imported by the step itself (`import numpy as np` in its cell) was not there to
    watch: it counts as drawn from only if it left the state a fresh import gives."""
    global _watched
    before, _watched = _watched, None
    if before is None:
        return False
    for name, state in current().items():
        if name in before:
            if _digest({name: state}) != before[name]:
                return True
        elif not _untouched(name, state):
            return True
    return False


def _untouched(name: str, state: Any) -> bool:
    if name == "numpy":
        # numpy seeds its legacy generator from the OS at import: unknown words, but its
        # position is at the end of the buffer (623 after that seeding, 624 after `seed`) and
        # no Gaussian is cached until the first draw.
        _, _, position, has_gauss, _ = state
        return position in (623, 624) and not has_gauss
    if name == "torch":
        torch = sys.modules["torch"]
        return bool((state == torch.Generator().get_state()).all())  # its fixed default seed
    return False


def fresh() -> None:
    """Seed the generators from the OS, as a new process would (a reused kernel's leftover
    state must not decide a step's numbers)."""
    import random

    random.seed(os.urandom(16))
    numpy = sys.modules.get("numpy")
    if numpy is not None and hasattr(numpy, "random"):
        numpy.random.seed(int.from_bytes(os.urandom(4), "little"))
