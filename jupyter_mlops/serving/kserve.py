"""A registered version as a KServe ``InferenceService`` (serving.kserve.io/v1beta1).

What is served is the registered MLflow model itself: KServe's ``mlflow`` model format (its
MLServer runtime loads the MLflow model from `storageUri`, speaking the V2 protocol). The
manifest asks for the resources its training step was tagged with (``cpu:``, ``memory:``,
``gpu:``, recorded on the version as ``resources.*``), requests equal to limits.

A canary in KServe is a second revision of the same InferenceService: applying a manifest
whose `storageUri` is the challenger's with ``canaryTrafficPercent: 20`` sends 20% to that new
revision and 80% to the last ready one (the champion's). So ``--canary PCT`` writes the
challenger's manifest with that share; promoting is the same manifest without it.

The file is deterministic (sorted keys, no timestamps): the same version gives the same bytes.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from jupyter_mlops.serving.errors import ServingError

API_VERSION = "serving.kserve.io/v1beta1"
# Storage a KServe storage initializer reads (a cluster cannot read this machine's files).
CLUSTER_SCHEMES = ("s3://", "gs://", "https://", "http://", "pvc://", "oci://", "hf://", "azure://")


def service_name(model: str) -> str:
    """`model` as a Kubernetes object name (DNS-1123 label, at most 63 characters)."""
    name = re.sub(r"[^a-z0-9-]+", "-", model.lower()).strip("-")[:63].strip("-")
    if not name or not name[0].isalpha():
        name = ("m-" + name)[:63].strip("-")
    return name


def manifest(
    name: str,
    version: str,
    storage_uri: str,
    *,
    canary: float | None = None,
    resources: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The InferenceService of version `version` of model `name`, as a dict."""
    model: dict[str, Any] = {
        "modelFormat": {"name": "mlflow"},
        "protocolVersion": "v2",
        "storageUri": storage_uri,
    }
    amounts = {}
    for key, resource in (("cpu", "cpu"), ("memory", "memory"), ("gpu", "nvidia.com/gpu")):
        value = (resources or {}).get(key)
        if value:
            amounts[resource] = str(value)
    if amounts:
        model["resources"] = {"limits": dict(amounts), "requests": dict(amounts)}
    predictor: dict[str, Any] = {"model": model}
    if canary is not None:
        predictor["canaryTrafficPercent"] = int(round(canary))
    return {
        "apiVersion": API_VERSION,
        "kind": "InferenceService",
        "metadata": {
            "name": service_name(name),
            "labels": {"app.kubernetes.io/managed-by": "nb2pipe"},
            "annotations": {
                "mlops.nb2pipe/model": name,
                "mlops.nb2pipe/version": str(version),
            },
        },
        "spec": {"predictor": predictor},
    }


def write_inference_service(
    spec: str,
    output: str | os.PathLike,
    *,
    tracking_uri: str | None = None,
    canary: float | None = None,
    storage_uri: str | None = None,
) -> Path:
    """Write ``<output>/<name>-inferenceservice.yaml`` for the version `spec` names (with
    `canary`: the challenger's, taking that share); return its path."""
    import yaml

    from jupyter_mlops.credentials import redact_uri
    from jupyter_mlops.errors import translated
    from jupyter_mlops.registry.promote import CHALLENGER
    from jupyter_mlops.serving import models
    from jupyter_mlops.tracking import config, store
    from nb2pipe.fileio import write_atomic
    from nb2pipe.rendering import one_line

    uri = tracking_uri or config.tracking_uri()
    name, alias, version = models.parse_spec(spec)
    if canary is not None:
        if not 0 < canary <= 100:
            raise ServingError(f"--canary {canary:g}: give a percentage above 0, at most 100")
        if version is None and alias in (None, "champion"):
            spec = f"{name}@{CHALLENGER}"  # the new revision is the challenger's
    model = models.resolve(spec, uri)
    with translated(f"read model {name!r}", uri), models.unreachable(uri):
        client = store.client(uri)
        found = client.get_model_version(model.name, model.version)
        source = storage_uri or client.get_model_version_download_uri(model.name, model.version)
    if not source.startswith(CLUSTER_SCHEMES):
        raise ServingError(
            f"{model}: its files are at {redact_uri(source)}, which a cluster cannot read: "
            "give --storage-uri (s3://, gs://, pvc://, https://...) or use an object store "
            "for the registry's artifacts"
        )
    tags = found.tags or {}
    resources = {k: tags.get(f"resources.{k}", "") for k in ("cpu", "memory", "gpu")}
    document = manifest(model.name, model.version, source, canary=canary, resources=resources)
    path = Path(output) / f"{service_name(model.name)}-inferenceservice.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    text = yaml.safe_dump(document, sort_keys=True, default_flow_style=False)
    # A model name may hold a line break (the registry refuses only `/` and `:`): escaped, it
    # cannot end the comment and write a key of the manifest.
    header = f"# {one_line(str(model))}: written by nb2pipe deploy --target kserve\n"
    write_atomic(path, header + text)
    return path
