"""Run and cache folders at an fsspec URL (``s3://bucket/prefix``, a shared path, ``gs://…``).

The tree at the URL is laid out as a local workspace (rundir.py): ``runs/<run-id>/<step>/…``
and ``cache/<fingerprint>``. Publication is atomic per object and ordered per step, so a reader
never sees half a step:

- on a file system (a shared mount) every file is written beside its target and renamed;
- on an object store every object is one complete PUT (S3 never shows a partial object);
- a step's artifacts go first, its ``manifest.json`` after them, its ``meta.json`` last; a
  step exists for readers once its manifest does, as on a local disk.

Everything read back is checked against the manifest's sha256 while it is downloaded: a byte
changed at the URL is an `ArtifactError`, never a value used. fsspec (and s3fs for S3) are
imported when a URL is opened, never at import time.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

from ..artifacts import MANIFEST, file_entries, file_sha256
from ..errors import ArtifactError, Nb2PipeError

META = "meta.json"


class Storage:
    """One workspace tree at `url`; every method raises `OSError` for a storage failure."""

    def __init__(self, url: str):
        self.url = url.rstrip("/")
        scheme, _, rest = url.partition("://")
        if not scheme or not rest.strip("/"):
            raise Nb2PipeError(f"workspace {url}: no bucket or folder after {scheme}://")
        try:
            import fsspec

            self.fs, self.root = fsspec.core.url_to_fs(self.url, **_options(self.url))
        except ImportError as e:
            raise Nb2PipeError(
                f"workspace {url}: {e.name or 'fsspec'} is not installed "
                "(pip install 'jupyter-mlops[s3]' for s3://, fsspec's backend for others)"
            ) from None
        except (ValueError, TypeError) as e:  # an unknown protocol, a malformed URL
            raise Nb2PipeError(f"workspace {url}: {e}") from None
        self.on_disk = "file" in _protocols(self.fs)

    def __reduce__(self):  # sent to cluster workers as its URL; each opens its own client
        return (Storage, (self.url,))

    def check(self) -> None:
        """Fail now, in one line, if the URL cannot be written (no bucket, no server)."""
        probe = f"cache/.probe-{os.getpid()}-{os.urandom(4).hex()}"
        try:
            self.write(probe, b"ok")
            self.delete(probe)
        except OSError as e:
            raise Nb2PipeError(f"workspace {self.url}: cannot write there: {_words(e)}") from None

    # --- single objects --------------------------------------------------------------------
    def _path(self, relative: str) -> str:
        return f"{self.root}/{relative}" if self.root else relative

    def read(self, relative: str) -> bytes | None:
        """The object's bytes, or None if there is none."""
        try:
            return self._call(self.fs.cat_file, self._path(relative))
        except FileNotFoundError:
            return None

    def write(self, relative: str, data: bytes) -> None:
        """Publish `data` whole: renamed into place on a file system, one PUT on a store."""
        target = self._path(relative)
        if self.on_disk:
            from ..fileio import write_with

            write_with(Path(target), lambda tmp: tmp.write_bytes(data), durable=False)
        else:
            self._call(self.fs.pipe_file, target, data)

    def delete(self, relative: str) -> None:
        try:
            self._call(self.fs.rm_file, self._path(relative))
        except FileNotFoundError:
            pass

    def upload(self, local: Path, relative: str) -> None:
        target = self._path(relative)
        if self.on_disk:
            from ..fileio import write_with

            write_with(Path(target), lambda tmp: shutil.copyfile(local, tmp))
        else:
            self._call(self.fs.put_file, str(local), target)

    def download(self, relative: str, local: Path, sha256: str | None = None) -> None:
        """Copy one object to `local` (atomically); with `sha256`, refuse different bytes."""
        local.parent.mkdir(parents=True, exist_ok=True)
        tmp = local.with_name(f".{local.name}.{os.getpid()}.tmp")
        try:
            self._call(self.fs.get_file, self._path(relative), str(tmp))
            if sha256 is not None and file_sha256(tmp) != sha256:
                raise ArtifactError(f"{self.url}/{relative} does not match its sha256")
            os.replace(tmp, local)
        finally:
            tmp.unlink(missing_ok=True)

    def listing(self, relative: str) -> list[str]:
        """Paths (relative to `relative`) of every object below it, freshly listed."""
        base = self._path(relative).rstrip("/")
        try:
            self.fs.invalidate_cache(base)
            found = self._call(self.fs.find, base)
        except FileNotFoundError:
            return []
        return sorted(p[len(base) + 1 :] for p in found if p.startswith(base + "/"))

    # --- whole steps -----------------------------------------------------------------------
    def put_step(self, step_dir: Path, run_id: str, step: str) -> None:
        """Publish a finished step folder: artifacts, then other files, the manifest, meta.

        If the URL already holds this very manifest (a cluster worker published the step),
        only the files that are not artifacts are sent again.
        """
        prefix = f"runs/{run_id}/{step}"
        manifest = step_dir / "artifacts" / MANIFEST
        done = manifest.is_file() and self.read(f"{prefix}/artifacts/{MANIFEST}") == _bytes(
            manifest
        )
        files = sorted(p for p in step_dir.rglob("*") if p.is_file() and not p.is_symlink())
        files = [p for p in files if not p.name.endswith(".tmp") and p.name != META]
        artifacts = [p for p in files if p.parent.name == "artifacts" and p.name != MANIFEST]
        others = [p for p in files if p not in artifacts and p != manifest]
        order = ([] if done else artifacts) + others + ([] if done else [manifest])
        if (step_dir / META).is_file():
            order.append(step_dir / META)
        for path in order:
            if path.exists():
                self.upload(path, f"{prefix}/{path.relative_to(step_dir).as_posix()}")

    def get_artifacts(self, run_id: str, step: str, target: Path) -> dict[str, Any]:
        """Download a step's artifacts folder into `target`, each file checked against the
        manifest's sha256; return the manifest. No manifest: `ArtifactError`."""
        from ..fileio import loads

        prefix = f"runs/{run_id}/{step}/artifacts"
        raw = self.read(f"{prefix}/{MANIFEST}")
        if raw is None:
            raise ArtifactError(f"{self.url}/{prefix}: step {step!r} has no manifest there")
        try:
            manifest = loads(raw)
        except ValueError:
            raise ArtifactError(f"{self.url}/{prefix}/{MANIFEST} is not valid JSON") from None
        for _, item in file_entries(manifest):
            if not isinstance(item, dict):
                continue
            file = item.get("file")
            if not isinstance(file, str) or Path(file).name != file or file in ("", ".", ".."):
                raise ArtifactError(f"{self.url}/{prefix}: names a bad artifact file {file!r}")
            self.download(f"{prefix}/{file}", target / file, item.get("sha256"))
        from ..fileio import write_with

        write_with(target / MANIFEST, lambda tmp: tmp.write_bytes(raw), durable=False)
        return manifest

    def get_step(self, run_id: str, step: str, step_dir: Path) -> None:
        """Download a whole step folder (artifacts verified, manifest and meta last)."""
        prefix = f"runs/{run_id}/{step}"
        self.get_artifacts(run_id, step, step_dir / "artifacts")
        for name in self.listing(prefix):
            if not name.startswith("artifacts/") and name != META:
                self.download(f"{prefix}/{name}", step_dir / name)
        if (meta := self.read(f"{prefix}/{META}")) is not None:
            (step_dir / META).write_bytes(meta)

    def _call(self, function, *args):
        """A storage call; the client's own exceptions become one `OSError`."""
        try:
            return function(*args)
        except OSError:
            raise
        except Exception as e:  # botocore's connection errors, a client's own classes
            raise OSError(_words(e)) from None


def _options(url: str) -> dict[str, Any]:
    if url.startswith(("s3://", "s3a://")):
        # Fail in seconds, not minutes of retries, when the endpoint does not answer.
        return {"config_kwargs": {"connect_timeout": 5, "retries": {"max_attempts": 2}}}
    return {}


def _protocols(fs) -> tuple[str, ...]:
    protocol = fs.protocol
    return (protocol,) if isinstance(protocol, str) else tuple(protocol)


def _words(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__


def _bytes(path: Path) -> bytes:
    return path.read_bytes()
