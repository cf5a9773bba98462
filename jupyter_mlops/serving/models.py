"""Which version to serve, and that version loaded: a spec (``NAME``, ``NAME@ALIAS``,
``NAME/VERSION``) resolved in the registry, its files fetched, loaded with `mlflow.pyfunc`.

Fetching (network) and loading (this environment) are apart: a registry that does not answer
is an outage to wait out, a model that does not load is a verdict on the model.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jupyter_mlops.credentials import redact_uri
from jupyter_mlops.registry.aliases import CHAMPION
from jupyter_mlops.serving.errors import ServingError


@dataclass(frozen=True)
class ServedModel:
    name: str
    version: str
    alias: str | None
    run_id: str | None = None

    @property
    def uri(self) -> str:
        return f"models:/{self.name}/{self.version}"

    def __str__(self) -> str:
        alias = f" (alias {self.alias})" if self.alias else ""
        return f"{self.name} version {self.version}{alias}"


@dataclass(frozen=True)
class Loaded:
    """A version loaded in this process, ready to answer."""

    model: ServedModel
    pyfunc: Any
    path: Path | None = None  # its local copy

    @property
    def version(self) -> str:
        return self.model.version

    @property
    def input_schema(self) -> Any:
        return self.pyfunc.metadata.get_input_schema()


def parse_spec(spec: str) -> tuple[str, str | None, str | None]:
    """``name``, ``name@alias``, ``name/3`` or ``models:/…`` → (name, alias, version)."""
    text = spec.removeprefix("models:/").strip()
    if "@" in text:
        name, _, alias = text.partition("@")
        version = None
    elif "/" in text:
        name, _, version = text.partition("/")
        alias = None
    else:
        name, alias, version = text, CHAMPION, None
    if not name or (alias is not None and not alias) or (version is not None and not version):
        raise ServingError(f"{spec!r}: give a model as NAME, NAME@ALIAS or NAME/VERSION")
    return name, alias, version


def resolve(spec: str, tracking_uri: str | None = None) -> ServedModel:
    """The registered version `spec` names, or a one-line `ServingError`."""
    from jupyter_mlops.errors import translated
    from jupyter_mlops.tracking import config, store

    name, alias, version = parse_spec(spec)
    uri = tracking_uri or config.tracking_uri()
    with translated(f"read model {name!r}", uri), unreachable(uri):
        client = store.client(uri)
        return find(client, uri, name, alias, version)


def find(client, uri: str, name: str, alias: str | None, version: str | None) -> ServedModel:
    from mlflow.exceptions import MlflowException

    try:
        model = client.get_registered_model(name)
    except MlflowException as e:
        if e.error_code == "RESOURCE_DOES_NOT_EXIST":
            raise ServingError(f"no registered model named {name!r} in {redact_uri(uri)}") from None
        raise
    try:
        found = (
            client.get_model_version_by_alias(name, alias)
            if alias
            else client.get_model_version(name, version)
        )
    except MlflowException as e:
        if e.error_code not in ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE"):
            raise
        if alias:
            known = ", ".join(sorted(model.aliases or {})) or "none"
            raise ServingError(
                f"model {name!r} has no alias {alias!r} (aliases: {known})"
            ) from None
        raise ServingError(f"model {name!r} has no version {version!r}") from None
    return ServedModel(name, str(found.version), alias, found.run_id)


class unreachable:
    """Turn "the registry does not answer" (refused, timed out, 5xx) into one `ServingError`."""

    def __init__(self, uri: str):
        self.uri = uri

    def __enter__(self):
        return self

    def __exit__(self, kind, exc, tb) -> bool:
        if exc is not None and is_outage(exc):
            raise ServingError(
                f"the registry at {redact_uri(self.uri)} does not answer: {outage_reason(exc)}"
            ) from None
        return False


def is_outage(exc: BaseException) -> bool:
    """Whether `exc` means the registry could not be reached (rather than said no)."""
    import requests

    from jupyter_mlops.serving.errors import ServingError

    if isinstance(exc, ServingError):
        return False
    if isinstance(exc, (requests.ConnectionError, requests.Timeout, ConnectionError, TimeoutError)):
        return True
    text = str(exc)
    return any(
        marker in text
        for marker in (
            "Max retries exceeded",
            "Connection refused",
            "API request to endpoint",  # MLflow's wrapper around a failed HTTP call
            "database is locked",
            "unable to open database file",
        )
    )


def outage_reason(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    for marker in ("Connection refused", "timed out", "Max retries exceeded", "database is locked"):
        if marker in text:
            return marker.lower()
    return text[:200] or type(exc).__name__


def fetch(uri: str, model: ServedModel, into: Path | None = None) -> Path:
    """Download version `model`'s files (the MLmodel, the model, its requirements); the local
    folder. Network only: a failure here is the registry's, not the model's."""
    import tempfile

    from jupyter_mlops.tracking import store

    where = into or Path(tempfile.mkdtemp(prefix=f"nb2pipe-serve-{model.name}-v{model.version}-"))
    with store.fluent_uri(uri):
        from mlflow.artifacts import download_artifacts

        return Path(download_artifacts(artifact_uri=model.uri, dst_path=str(where)))


def load_local(model: ServedModel, path: Path) -> Loaded:
    """Load a fetched version with mlflow.pyfunc (what any MLflow runtime does)."""
    import mlflow.pyfunc

    return Loaded(model, mlflow.pyfunc.load_model(str(path)), path)


def load(spec: str, tracking_uri: str | None = None) -> Loaded:
    """Resolve `spec` and load that version with mlflow.pyfunc."""
    from jupyter_mlops.errors import translated
    from jupyter_mlops.tracking import config, store

    uri = tracking_uri or config.tracking_uri()
    model = resolve(spec, uri)
    with translated(f"load model {model.name!r}", uri), unreachable(uri), store.fluent_uri(uri):
        import mlflow.pyfunc

        return Loaded(model, mlflow.pyfunc.load_model(model.uri))


def missing_requirements(path: Path) -> list[str]:
    """What of a fetched model's requirements.txt this environment lacks, one phrase each."""
    import importlib.metadata

    from packaging.requirements import InvalidRequirement, Requirement

    try:
        lines = (path / "requirements.txt").read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return []
    problems = []
    for line in lines:
        text = line.split("#")[0].strip()
        if not text or text.startswith("-"):
            continue
        try:
            wanted = Requirement(text)
        except InvalidRequirement:
            problems.append(f"{text!r} is not a requirement pip reads")
            continue
        if wanted.marker is not None and not wanted.marker.evaluate():
            continue
        try:
            installed = importlib.metadata.version(wanted.name)
        except importlib.metadata.PackageNotFoundError:
            problems.append(f"{wanted} wanted, not installed")
            continue
        if wanted.specifier and not wanted.specifier.contains(installed, prereleases=True):
            problems.append(f"{wanted} wanted, {installed} installed")
    return problems
