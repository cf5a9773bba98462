"""Argo Workflows: the same contract as the KFP export, from `templates/argo_workflow.yaml.j2`.

A DAG with one task per step. Each step's container runs the step's image with the launcher;
the workflow's parameters are the notebook's, passed to the steps that read them; each step
outputs its artifacts folder as the artifact ``artifacts`` (Argo archives a folder) and reads the
folders of the steps it takes inputs from. ``cpu:``/``memory:``/``gpu:`` tags become limits,
``retries:`` a retry strategy, ``timeout:`` papermill's per-cell timeout. Argo caches nothing
unless told to (memoization needs a ConfigMap per cluster), so ``cache:off`` needs no field.

The rendered text is validated against Hera's models of Argo's schema (generated from Argo's
OpenAPI spec): the document must load into `hera.workflows.models.Workflow` and dump back
unchanged, which catches both ill-typed values and misspelt or misplaced fields.
"""

from __future__ import annotations

import json
import re
from typing import Any

from ..compile.ir import Pipeline
from ..errors import Nb2PipeError
from ..rendering import render_template
from .dockerfile import STEP_NOTEBOOK
from .kfp import GPU_RESOURCE, LAUNCH, OUTPUT, exposed, param_kind
from .requirements import producers
from .templates import default_yaml_representers

INPUTS_DIR = "/tmp/nb2pipe/inputs"
OUTPUT_DIR = "/tmp/nb2pipe/output"


def argo_name(name: str) -> str:
    """A Kubernetes-style name (template, task, generateName): lower case and dashes."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "x"


def _value(value: Any) -> str:
    """A parameter's default as Argo's string, readable back by the launcher."""
    return value if isinstance(value, str) else json.dumps(value)


def workflow_context(pipeline: Pipeline, images: dict[str, str]) -> dict[str, Any]:
    """What the template lays out: plain strings and lists, decided here."""
    params = exposed(pipeline)
    names = {p.name for p in params}
    steps = []
    for step in pipeline.steps:
        step_params = [pipeline.param(n) for n in step.params if n in names]
        upstream = producers(pipeline, step)
        args = ["--step", step.name, "--notebook", STEP_NOTEBOOK, "--kernel", pipeline.kernel]
        for p in step_params:
            args += ["--param", p.name, param_kind(p), f"{{{{inputs.parameters.{p.name}}}}}"]
        for producer in upstream:
            args += ["--input", producer, f"{INPUTS_DIR}/{producer}"]
        args += ["--output", OUTPUT_DIR]
        if step.timeout is not None:
            args += ["--timeout", str(step.timeout)]
        limits = {}
        if step.resources.cpu:
            limits["cpu"] = str(step.resources.cpu)
        if step.resources.memory:
            limits["memory"] = step.resources.memory
        if step.resources.gpu:
            limits[GPU_RESOURCE] = str(step.resources.gpu)
        steps.append(
            {
                "name": argo_name(step.name),
                "image": images[step.name],
                "dependencies": [argo_name(u) for u in step.upstream],
                "params": [
                    {"name": p.name, "argument": f"{{{{workflow.parameters.{p.name}}}}}"}
                    for p in step_params
                ],
                "inputs": [
                    {
                        "name": producer,
                        "path": f"{INPUTS_DIR}/{producer}",
                        "argument": f"{{{{tasks.{argo_name(producer)}.outputs.artifacts.{OUTPUT}}}}}",
                    }
                    for producer in upstream
                ],
                "args": args,
                "retries": step.retries,
                "limits": limits,
            }
        )
    return {
        "pipeline": pipeline.name,
        "name": argo_name(pipeline.name),
        "params": [{"name": p.name, "value": _value(p.value)} for p in params],
        "steps": steps,
        "command": LAUNCH,
        "output": {"name": OUTPUT, "path": OUTPUT_DIR},
    }


def render_workflow(pipeline: Pipeline, images: dict[str, str]) -> str:
    return render_template("argo_workflow.yaml.j2", **workflow_context(pipeline, images))


def validate(text: str) -> None:
    """Raise `Nb2PipeError` unless `text` is an Argo Workflow by Hera's models of its schema."""
    import yaml

    try:
        with default_yaml_representers():  # Hera patches PyYAML when first imported
            from hera.workflows.models import Workflow
        from pydantic import ValidationError
    except ImportError:
        raise Nb2PipeError(
            "validating Argo workflows needs Hera: pip install 'jupyter-mlops[kfp]'"
        ) from None
    data = yaml.safe_load(text)
    try:
        model = Workflow.model_validate(data)
    except ValidationError as e:
        error = e.errors()[0]
        where = ".".join(map(str, error["loc"]))
        raise Nb2PipeError(f"not a valid Argo Workflow: {where}: {error['msg']}") from None
    back = model.model_dump(mode="json", by_alias=True, exclude_none=True)
    where = _difference(data, back)
    if where is not None:
        raise Nb2PipeError(f"not a valid Argo Workflow: unknown or misplaced field at {where}")


def _difference(data: Any, back: Any, path: str = "") -> str | None:
    """The first path where the document and its round trip through the models differ."""
    if isinstance(data, dict) and isinstance(back, dict):
        for key in data:
            if key not in back:
                return f"{path}.{key}".lstrip(".")
            found = _difference(data[key], back[key], f"{path}.{key}")
            if found is not None:
                return found.lstrip(".")
        return None
    if isinstance(data, list) and isinstance(back, list) and len(data) == len(back):
        for i, (a, b) in enumerate(zip(data, back, strict=True)):
            found = _difference(a, b, f"{path}[{i}]")
            if found is not None:
                return found
        return None
    return None if data == back else path.lstrip(".") or "(root)"


class ArgoTarget:
    name = "argo"
    description = "Argo Workflows Workflow (YAML), one container template per step"

    def export(self, pipeline: Pipeline, images: dict[str, str]) -> str:
        text = render_workflow(pipeline, images)
        validate(text)
        return text
