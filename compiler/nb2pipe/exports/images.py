"""Step images: their content-hash tags, and building them with podman or docker.

An image is named ``nb2pipe-<pipeline>-<step>:<sha12>``, where the hash covers every file its
Dockerfile reads (the Dockerfile with its base image, the pinned requirements, the step
notebook, the runtime). The same notebook in the same environment gives the same tags, so an
export names images before they are built, and `build-images` skips those already there.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..compile.ir import Pipeline
from ..errors import Nb2PipeError
from .dockerfile import step_context

ENGINES = ("podman", "docker")


def _name_part(text: str) -> str:
    """`text` as an image name component: lower case, [a-z0-9] joined by single separators."""
    part = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return part or "x"


def image_name(pipeline: Pipeline, step: str, registry: str = "") -> str:
    name = f"nb2pipe-{_name_part(pipeline.name)}-{_name_part(step)}"
    return f"{registry.rstrip('/')}/{name}" if registry else name


def content_hash(files: dict[str, str], paths: list[str]) -> str:
    """sha256 of the named files (path and text of each), first 12 hex digits."""
    digest = hashlib.sha256()
    for path in sorted(paths):
        data = files[path].encode("utf-8")
        digest.update(f"{path}\0{len(data)}\0".encode())
        digest.update(data)
    return digest.hexdigest()[:12]


def image_tags(pipeline: Pipeline, files: dict[str, str], registry: str = "") -> dict[str, str]:
    """Step name → image reference, from the build files of `dockerfile.build_files`."""
    return {
        step.name: f"{image_name(pipeline, step.name, registry)}:"
        f"{content_hash(files, step_context(step))}"
        for step in pipeline.steps
    }


def write_files(files: dict[str, str], out_dir: Path) -> None:
    """Write the build context (atomically, readable by all: COPY keeps the mode), and remove
    the requirements and Dockerfiles of steps that no longer exist."""
    from ..fileio import write_atomic

    for rel, text in files.items():
        path = out_dir / rel
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            write_atomic(path, text)
        path.chmod(0o644)
    for pattern in ("requirements/*.txt", "requirements/*.lock", "dockerfiles/*.Dockerfile"):
        for stale in out_dir.glob(pattern):
            if stale.relative_to(out_dir).as_posix() not in files:
                stale.unlink()


def find_engine(preferred: str | None = None) -> str:
    """The container engine to use: `preferred`, else podman, else a docker that answers."""
    if preferred is not None:
        if preferred not in ENGINES:
            raise Nb2PipeError(f"unknown container engine {preferred!r} (podman or docker)")
        if shutil.which(preferred) is None:
            raise Nb2PipeError(f"{preferred} is not installed")
        return preferred
    if shutil.which("podman"):
        return "podman"  # no daemon to ask: installed means usable
    if shutil.which("docker") and _quiet(["docker", "info"]):
        return "docker"
    raise Nb2PipeError(
        "no container engine: install podman (or docker with a running daemon)"
        + (
            " — docker is installed but its daemon does not answer"
            if shutil.which("docker")
            else ""
        )
    )


def _quiet(cmd: list[str]) -> bool:
    try:
        return subprocess.run(cmd, capture_output=True, timeout=30).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def image_exists(engine: str, ref: str) -> bool:
    if engine == "podman":
        return _quiet(["podman", "image", "exists", ref])
    return _quiet([engine, "image", "inspect", ref])


@dataclass
class Built:
    step: str
    image: str
    status: str  # built | present


def build_images(
    pipeline: Pipeline,
    out_dir: Path,
    files: dict[str, str],
    *,
    engine: str,
    registry: str = "",
    on_step: Callable[[Built], None] = lambda built: None,
) -> list[Built]:
    """Write the build context into `out_dir` and build every step image not built yet."""
    write_files(files, out_dir)
    tags = image_tags(pipeline, files, registry)
    results = []
    for step in pipeline.steps:
        ref = tags[step.name]
        if image_exists(engine, ref):
            built = Built(step.name, ref, "present")
        else:
            _build(engine, out_dir, step.name, ref)
            built = Built(step.name, ref, "built")
        results.append(built)
        on_step(built)
    return results


def _build(engine: str, out_dir: Path, step: str, ref: str) -> None:
    log = out_dir / "logs" / f"build-{step}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    cmd = [engine, "build", "-f", f"dockerfiles/{step}.Dockerfile", "-t", ref, "."]
    env = {**os.environ, "BUILDAH_LAYERS": "true"}  # podman: reuse the requirements layers
    with open(log, "w", encoding="utf-8") as out:
        code = subprocess.run(
            cmd, cwd=out_dir, stdout=out, stderr=subprocess.STDOUT, env=env
        ).returncode
    if code != 0:
        lines = [line for line in log.read_text(encoding="utf-8").splitlines() if line.strip()]
        last = lines[-1].strip() if lines else f"exit code {code}"
        raise Nb2PipeError(f"building the image of step {step!r} failed: {last} (see {log})")
