"""A step's artifacts folder: its values saved by type, listed with their sha256 in
``manifest.json`` (written last, so a step's outputs count only once it exists), loaded back
checked against it, and its metrics.

Imported in every step kernel: the standard library only at module level (serializers.py
imports what a format needs when a value of that type appears).
"""

import functools
import json
import math
import numbers
import os
import sys
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from nb2pipe.errors import ArtifactError, first_line, os_problem
from nb2pipe.fileio import loads, sync_folder, write_with

from . import digest, serializers, shared
from .digest import file_sha256
from .general import PickleSerializer
from .rebind import rebind
from .serializers import candidates, type_name

MANIFEST = "manifest.json"
_HASH_ASIDE = 8 << 20  # bytes: from this size a file is hashed while it is read


def read_manifest(run_dir: str | os.PathLike[str], step: str) -> dict[str, Any] | None:
    """The manifest of `step`, or None if the step has not written one."""
    path = artifacts_dir(run_dir, step) / MANIFEST
    try:
        manifest = loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except ValueError as exc:
        raise ArtifactError(f"step {step!r}: manifest is not valid JSON: {path} ({exc})") from exc
    manifest.setdefault("artifacts", {})
    manifest.setdefault("metrics", {})
    return manifest


def save(run_dir: str | os.PathLike[str], step: str, /, **values: Any) -> dict[str, Any]:
    """Write each value as an artifact of `step`, then record them in its manifest."""
    directory = artifacts_dir(run_dir, step)
    directory.mkdir(parents=True, exist_ok=True)
    entries = {}
    for name, value in values.items():  # a loop, not a comprehension: warnings' stacklevel
        entries[name] = _save_one(directory, step, name, value)
    manifest = read_manifest(run_dir, step) or {"artifacts": {}, "metrics": {}}
    # A name saved again in another format leaves its old file behind; drop it once replaced.
    stale = [
        old["file"]
        for name, old in manifest["artifacts"].items()
        if name in entries and old["file"] != entries[name]["file"]
    ]
    manifest["artifacts"].update(entries)
    manifest.pop("aliases", None)  # pairs, as earlier versions listed them
    groups = shared.groups(values)
    manifest["shared"] = [shared.save_group(directory, step, values, g) for g in groups]
    if not manifest["shared"]:
        del manifest["shared"]
    write_manifest(directory, manifest)
    for file in stale:
        (directory / file).unlink(missing_ok=True)
    return manifest


def file_entries(manifest: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(label, entry) of every file a manifest lists: artifacts, shared groups, random state,
    what the serve cells started from and made (served.py)."""
    out = list((manifest.get("artifacts") or {}).items())
    for group in manifest.get("shared") or []:
        if isinstance(group, dict):
            out.append((" and ".join(map(str, group.get("names") or [])), group))
    if manifest.get("random_state"):
        out.append(("random state", manifest["random_state"]))
    kept = manifest.get("serve") if isinstance(manifest.get("serve"), dict) else {}
    out += [(f"serve {name}", entry) for name, entry in sorted((kept.get("files") or {}).items())]
    return out


def load(
    run_dir: str | os.PathLike[str],
    step: str,
    name: str,
    *,
    resaved_by: tuple[str, ...] | list[str] = (),
    sharing: tuple[str, ...] | list[str] = (),
) -> Any:
    """Artifact `name` of `step`, after checking it against its sha256. `resaved_by`: later
    steps that may have saved it again (they changed an object it shares): the latest that did
    is read instead. `sharing`: other names of `step` that may be one object with it, which this
    step may change through it: those that are come with it (`shared.from_group`)."""
    source = next(
        (s for s in reversed(list(resaved_by)) if name in _manifest(run_dir, s)["artifacts"]), step
    )
    value = shared.from_group(
        _manifest(run_dir, source).get("shared") or [],
        lambda group: artifacts_dir(run_dir, source) / _file_name(group, source),
        source,
        name,
        set(sharing),
    )
    value = rebind(value if value is not shared.NOTHING else _load_one(run_dir, source, name))
    if name in sharing:
        shared.remember_companion(name, value)
    return value


def _manifest(run_dir: str | os.PathLike[str], step: str) -> dict[str, Any]:
    return read_manifest(run_dir, step) or {"artifacts": {}}


def _load_one(run_dir: str | os.PathLike[str], step: str, name: str, entry=None) -> Any:
    """Artifact `name` of `step` (or the file its manifest `entry` lists), sha256 checked."""
    manifest = read_manifest(run_dir, step)
    directory = artifacts_dir(run_dir, step)
    if manifest is None:
        raise ArtifactError(
            f"step {step!r} has no manifest (not finished?): {directory / MANIFEST}"
        )
    where = f"artifact {name!r} of step {step!r}" if entry is None else f"{name} of step {step!r}"
    entry = entry or manifest["artifacts"].get(name)
    if entry is None:
        known = ", ".join(sorted(manifest["artifacts"])) or "none"
        raise ArtifactError(f"step {step!r} saved no artifact {name!r} (it saved: {known})")
    path = directory / _file_name(entry, step)
    if path.is_symlink():  # the manifest lists files the step wrote, never links elsewhere
        raise ArtifactError(f"{where} is a link, not the file the step wrote: {path}")
    if not path.is_file():
        raise ArtifactError(f"{where} is missing: {path}")
    if entry.get("serializer") not in serializers.SERIALIZERS:
        raise ArtifactError(f"{where} needs serializer {entry.get('serializer')!r}, not registered")
    serializer = serializers.SERIALIZERS[entry["serializer"]]
    if digest.known(path, entry["sha256"]):  # this kernel wrote or checked it, unchanged since
        intact, value = True, serializer.load(path, entry)
    elif serializer.inert and entry.get("size", 0) >= _HASH_ASIDE:
        # A big data-only file: hash it on another core while it is read; the value is handed
        # over only if the file is the one the manifest lists.
        with ThreadPoolExecutor(1) as pool:
            hashing = pool.submit(file_sha256, path)
            try:
                value = serializer.load(path, entry)
            except Exception:
                if hashing.result() == entry["sha256"]:
                    raise
                value = None  # a damaged file: say so, not how the reader choked on it
            intact = hashing.result() == entry["sha256"]
    else:  # checked before reading: a pickle runs code as it loads
        intact = file_sha256(path) == entry["sha256"]
        value = serializer.load(path, entry) if intact else None
    if not intact:
        raise ArtifactError(f"{where} does not match its sha256 in the manifest: {path}")
    digest.remember(path, entry["sha256"])
    return value


def save_metrics(run_dir: str | os.PathLike[str], step: str, /, **values: Any) -> dict[str, float]:
    """Record finite numbers as metrics of `step`; skip anything else with a warning."""
    kept = {}
    for name, value in values.items():
        number = _as_metric(value)
        if number is None:
            warnings.warn(
                f"nb2pipe: metric {name!r} of step {step!r} is skipped: {value!r:.60} "
                "is not a finite number",
                stacklevel=2,
            )
        else:
            kept[name] = number
    directory = artifacts_dir(run_dir, step)
    directory.mkdir(parents=True, exist_ok=True)
    manifest = read_manifest(run_dir, step) or {"artifacts": {}, "metrics": {}}
    manifest["metrics"].update(kept)
    write_manifest(directory, manifest)
    return manifest["metrics"]


def _as_metric(value: Any) -> float | None:
    np = sys.modules.get("numpy")
    # numpy registers its integer and floating scalars as numbers.Real, but not numpy.bool_.
    if not (isinstance(value, numbers.Real) or (np is not None and isinstance(value, np.bool_))):
        return None
    try:
        number = float(value)
    except (OverflowError, ValueError):
        return None
    return number if math.isfinite(number) else None


def artifacts_dir(run_dir: str | os.PathLike[str], step: str) -> Path:
    # A step name is one path component, so no artifact lands outside the run directory.
    if step in ("", ".", "..") or Path(step).name != step:
        raise ArtifactError(f"invalid step name {step!r}")
    return Path(run_dir) / step / "artifacts"


def _save_one(directory: Path, step: str, name: str, value: Any, prefix: str = "") -> dict:
    if not name.isidentifier():
        raise ArtifactError(f"step {step!r}: invalid artifact name {name!r}")
    error: Exception | None = None
    for serializer in candidates(value):
        if isinstance(serializer, PickleSerializer):
            warnings.warn(
                f"nb2pipe: artifact {name!r} of type {type_name(value)} is saved with "
                "cloudpickle, which may not load under other library versions; convert it to a "
                "DataFrame, array or JSON value, or register a serializer for its type",
                stacklevel=3,
            )
        file = f"{prefix}{name}.{serializer.extension}"
        if file == MANIFEST:  # an artifact called "manifest" must not overwrite the manifest
            file = f"{name}.artifact.{serializer.extension}"
        path = directory / file
        try:
            # Not flushed to disk one by one (for a 500 MB frame that cost as much as writing
            # it): the manifest, flushed, holds each file's sha256, and every reader checks it,
            # so a file a crash left torn is refused, never read.
            extra = write_with(path, functools.partial(serializer.dump, value), durable=False)
        except OSError as exc:  # a full disk will not get better with another format
            raise ArtifactError(
                f"step {step!r}: artifact {name!r} could not be written to {directory}: "
                f"{os_problem(exc)}"
            ) from None
        except Exception as exc:
            if isinstance(serializer, PickleSerializer):
                # The format made for its type says why best (XGBoost: "binary saving only
                # supported by SimpleDMatrix"), pickle only that it holds a pointer.
                raise ArtifactError(
                    f"step {step!r}: {name!r} ({type_name(value)}) cannot be passed to the "
                    f"steps that read it: {first_line(error or exc)}. Create it in the step that "
                    "uses it"
                ) from None
            # The type fits but this value does not (e.g. a column mixing ints and strings,
            # which Arrow cannot type): pass it on to the next serializer that accepts it.
            warnings.warn(
                f"nb2pipe: artifact {name!r} could not be saved as {serializer.name} "
                f"({first_line(exc)}); "
                "trying the next serializer",
                stacklevel=3,
            )
            error = error or exc
            continue
        sha256 = (extra or {}).pop("sha256", None) or file_sha256(path)
        digest.remember(path, sha256)
        core = {
            "file": file,
            "serializer": serializer.name,
            "sha256": sha256,
            "size": path.stat().st_size,
            "type": type_name(value),
        }
        return {**(extra or {}), **core}
    raise ArtifactError(f"step {step!r}: no serializer could save artifact {name!r}") from error


def write_manifest(directory: Path, manifest: dict[str, Any]) -> None:
    text = json.dumps(manifest, sort_keys=True, indent=1) + "\n"
    write_with(directory / MANIFEST, lambda tmp: tmp.write_text(text, encoding="utf-8"))
    sync_folder(directory)  # make the renames themselves durable


def _file_name(entry: dict[str, Any], step: str) -> str:
    """A manifest's file name, refused if it would lead out of the artifacts folder."""
    file = entry.get("file")
    if not isinstance(file, str) or not file or Path(file).name != file or file in (".", ".."):
        raise ArtifactError(f"step {step!r}: the manifest names a bad file {file!r}")
    return file
