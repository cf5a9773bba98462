"""Kubeflow Pipelines v2, built with the kfp SDK (never hand-written YAML).

One container component per step runs the step's image: the launcher executes the step
notebook with papermill. The contract is the local runner's:

- pipeline parameters are the notebook's parameters (those of a KFP type: str, int, float,
  bool, list, dict; others keep the value written in the notebook), passed to the steps that
  read them;
- each step has one output artifact, ``artifacts``: the folder the local runner writes to
  ``<run>/<step>/artifacts/`` (files + manifest.json); a step reads the folders of the steps
  it takes inputs from as ``<producer>_artifacts`` input artifacts;
- ``cpu:``, ``memory:``, ``gpu:`` tags become limits, ``cache:off`` disables KFP's cache for
  the step, ``retries:N`` its retry policy, ``timeout:S`` papermill's per-cell timeout.

`local_pipeline` builds the same graph with lightweight Python components instead, calling the
same launcher on the compiled step notebooks, so `kfp.local`'s SubprocessRunner can execute it
on a machine without a cluster or a Docker daemon.
"""

from __future__ import annotations

import importlib.util
import inspect
import re
import tempfile
from pathlib import Path
from typing import Any

from ..compile.ir import Pipeline, Step
from ..compile.parameters import Param
from ..errors import Nb2PipeError
from ..rendering import one_line
from .dockerfile import STEP_NOTEBOOK
from .requirements import producers
from .templates import default_yaml_representers

LAUNCH = ["python", "-m", "nb2pipe.exports.launch"]
OUTPUT = "artifacts"  # the output artifact of every step: its artifacts folder
GPU_RESOURCE = "nvidia.com/gpu"
_TYPES: dict[str, type] = {"str": str, "int": int, "float": float, "bool": bool}
_TYPES.update(list=list, dict=dict)
_KFP_MEMORY = re.compile(r"[0-9]+(E|Ei|P|Pi|T|Ti|G|Gi|M|Mi|K|Ki)?\Z")
_UNITS = {"K": 1000, "M": 1000**2, "G": 1000**3, "T": 1000**4, "P": 1000**5}
_UNITS.update(Ki=1024, Mi=1024**2, Gi=1024**3, Ti=1024**4, Pi=1024**5)


def kfp_name(name: str) -> str:
    """A KFP pipeline name: lower case letters, digits and dashes."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "pipeline"


def exposed(pipeline: Pipeline) -> list[Param]:
    """The parameters that become pipeline parameters (a KFP type, not None)."""
    return [p for p in pipeline.params if p.type in _TYPES and p.value is not None]


def param_kind(param: Param) -> str:
    """How the launcher reads the parameter back from a command-line string."""
    return param.type if param.type in ("str", "int", "float", "bool") else "json"


def input_name(producer: str) -> str:
    return f"{producer}_artifacts"


def _step_interface(pipeline: Pipeline, step: Step) -> tuple[list[Param], list[str]]:
    """The step's KFP inputs: its exposed parameters and its producers; names checked."""
    names = {p.name for p in exposed(pipeline)}
    params = [pipeline.param(n) for n in step.params if n in names]
    upstream = producers(pipeline, step)
    taken = {p.name for p in params}
    for name in [*map(input_name, upstream), OUTPUT]:
        if name in taken:
            raise Nb2PipeError(
                f"step {step.name!r}: parameter {name!r} clashes with the KFP artifact of that "
                "name; rename the parameter"
            )
    return params, upstream


def container_component(pipeline: Pipeline, step: Step, image: str):
    """The step as a KFP container component running `image`."""
    from kfp import dsl
    from kfp.dsl import Artifact, Input, Output

    params, upstream = _step_interface(pipeline, step)
    signature = [_parameter(p.name, _TYPES[p.type]) for p in params]
    signature += [_parameter(input_name(u), Input[Artifact]) for u in upstream]
    signature.append(_parameter(OUTPUT, Output[Artifact]))
    names = [s.name for s in signature]

    def spec(*placeholders):
        given = dict(zip(names, placeholders, strict=True))
        args = ["--step", step.name, "--notebook", STEP_NOTEBOOK, "--kernel", pipeline.kernel]
        for p in params:
            args += ["--param", p.name, param_kind(p), given[p.name]]
        for producer in upstream:
            args += ["--input", producer, given[input_name(producer)].path]
        args += ["--output", given[OUTPUT].path]
        if step.timeout is not None:
            args += ["--timeout", str(step.timeout)]
        return dsl.ContainerSpec(image=image, command=LAUNCH, args=args)

    spec.__signature__ = inspect.Signature(signature)
    spec.__name__ = step.name
    spec.__doc__ = f"Step `{step.name}` of pipeline `{pipeline.name}`, run by nb2pipe."
    return dsl.container_component(spec)


def _parameter(name: str, annotation: Any) -> inspect.Parameter:
    return inspect.Parameter(name, inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=annotation)


def build(pipeline: Pipeline, components: dict[str, Any]):
    """The KFP pipeline (a GraphComponent) wiring one component per step."""
    from kfp import dsl

    params = exposed(pipeline)
    names = [p.name for p in params]

    def body(*channels):
        values = dict(zip(names, channels, strict=True))
        tasks: dict[str, Any] = {}
        for step in pipeline.steps:
            step_params, upstream = _step_interface(pipeline, step)
            kwargs = {p.name: values[p.name] for p in step_params}
            for producer in upstream:
                kwargs[input_name(producer)] = tasks[producer].outputs[OUTPUT]
            task = components[step.name](**kwargs)
            task.set_display_name(step.name)
            for name in step.upstream:  # `after:` edges carry no data but still order steps
                if name not in upstream:
                    task.after(tasks[name])
            _apply_policy(task, step)
            tasks[step.name] = task

    body.__signature__ = inspect.Signature(
        [
            inspect.Parameter(
                p.name,
                inspect.Parameter.POSITIONAL_OR_KEYWORD,
                default=p.value,
                annotation=_TYPES[p.type],
            )
            for p in params
        ]
    )
    body.__name__ = pipeline.name
    return dsl.pipeline(name=kfp_name(pipeline.name), description=summary(pipeline))(body)


def _apply_policy(task, step: Step) -> None:
    resources = step.resources
    if resources.cpu:
        task.set_cpu_limit(str(resources.cpu))
    if resources.memory:
        task.set_memory_limit(kfp_memory(resources.memory))
    if resources.gpu:
        task.set_accelerator_type(GPU_RESOURCE).set_accelerator_limit(int(resources.gpu))
    if not step.cache:
        task.set_caching_options(False)
    if step.retries:
        task.set_retry(step.retries)


def kfp_memory(memory: str) -> str:
    """A memory tag (``1Gi``, ``1.5Gi``, ``512k``…) in the integer form KFP accepts."""
    memory = memory.replace("k", "K")
    if _KFP_MEMORY.match(memory):
        return memory
    number = re.match(r"[0-9.]+", memory)
    unit = memory[number.end() :] if number else ""
    if number is None or unit not in _UNITS:
        raise Nb2PipeError(f"memory {memory!r}: expected e.g. 512Mi, 1Gi or 2G")
    return str(int(float(number.group()) * _UNITS[unit]))


def summary(pipeline: Pipeline) -> str:
    """The first paragraph of the notebook's description that is not a heading, on one line."""
    for paragraph in pipeline.description.split("\n\n"):
        lines = [line for line in paragraph.splitlines() if not line.lstrip().startswith("#")]
        text = " ".join(line.strip() for line in lines).strip()
        if text:
            return text
    return f"Pipeline {pipeline.name}, compiled by nb2pipe."


def kfp_pipeline(pipeline: Pipeline, images: dict[str, str]):
    """The pipeline with one container component per step, running `images[step]`."""
    return build(
        pipeline, {s.name: container_component(pipeline, s, images[s.name]) for s in pipeline.steps}
    )


def compile_yaml(graph) -> str:
    """The KFP pipeline-spec YAML of a pipeline built here (compiled by the kfp SDK)."""
    from kfp import compiler

    with tempfile.TemporaryDirectory() as tmp, default_yaml_representers():
        path = Path(tmp) / "pipeline.yaml"
        compiler.Compiler().compile(graph, str(path))
        with open(path, encoding="utf-8", newline="") as f:  # a \r stays a \r
            return _one_line_header(f.read(), graph)


def _one_line_header(text: str, graph) -> str:
    """`text` with each line of the SDK's comment header kept to one line.

    The kfp SDK opens the file with comments listing the pipeline's inputs and their defaults,
    a string default written between quotes as it is: a line break in it would end the
    comment and write the rest as YAML (``x\\ninjected_key: value`` a key of the document).
    The header is made again from the same spec with each default escaped (`one_line`), and
    replaces the SDK's only where it is exactly what the SDK writes for that spec.
    """
    from google.protobuf import json_format
    from kfp.compiler.pipeline_spec_builder import extract_comments_from_pipeline_spec

    spec = json_format.MessageToDict(graph.pipeline_spec)
    written = extract_comments_from_pipeline_spec(spec, graph.description)
    if not text.startswith(written):
        raise Nb2PipeError("the kfp SDK wrote a header this nb2pipe does not know: update nb2pipe")
    inputs = spec.get("root", {}).get("inputDefinitions", {}).get("parameters", {})
    for definition in inputs.values():
        if isinstance(definition.get("defaultValue"), str):
            definition["defaultValue"] = one_line(definition["defaultValue"])
    header = extract_comments_from_pipeline_spec(spec, graph.description)
    return one_line_comments(header) + text[len(written) :]


def one_line_comments(header: str) -> str:
    """Every line of `header` a YAML comment on its own (the description's lines included)."""
    return "".join(f"{one_line(line)}\n" for line in header.split("\n")[:-1])


class KfpTarget:
    name = "kfp"
    description = "Kubeflow Pipelines v2 pipeline spec (YAML), one container component per step"

    def export(self, pipeline: Pipeline, images: dict[str, str]) -> str:
        return compile_yaml(kfp_pipeline(pipeline, images))


# --- the local flavour -----------------------------------------------------------------------

_LOCAL_COMPONENT = """

@dsl.component(base_image="python:3.11", install_kfp_package=False)
def {name}({signature}):
    from nb2pipe.exports.launch import run_step

    run_step(
        {step!r},
        {notebook!r},
        parameters={{{parameters}}},
        inputs={{{inputs}}},
        output={output}.path,
        kernel={kernel!r},
        timeout={timeout!r},
    )
"""


def local_pipeline(pipeline: Pipeline, steps_dir: Path, work_dir: Path):
    """The same pipeline with lightweight components for `kfp.local.SubprocessRunner`.

    Each component calls the launcher on ``steps_dir/<step>.ipynb`` (the compiled step
    notebooks) in the current Python environment. kfp reads a lightweight component's source
    text, so the components are written as a module into `work_dir` and imported from there.
    """
    source = [
        f'"""Generated by nb2pipe: local components of pipeline `{pipeline.name}`."""',
        "from kfp import dsl",
        "from kfp.dsl import Artifact, Input, Output",
    ]
    for step in pipeline.steps:
        if step.name in ("dsl", "kfp", "run_step"):
            raise Nb2PipeError(f"step {step.name!r}: the name is reserved in kfp.local runs")
        params, upstream = _step_interface(pipeline, step)
        signature = [f"{p.name}: {p.type}" for p in params]
        signature += [f"{input_name(u)}: Input[Artifact]" for u in upstream]
        signature.append(f"{OUTPUT}: Output[Artifact]")
        source.append(
            _LOCAL_COMPONENT.format(
                name=step.name,
                signature=", ".join(signature),
                step=step.name,
                notebook=str((Path(steps_dir) / f"{step.name}.ipynb").resolve()),
                parameters=", ".join(f"{p.name!r}: {p.name}" for p in params),
                inputs=", ".join(f"{u!r}: {input_name(u)}.path" for u in upstream),
                output=OUTPUT,
                kernel=pipeline.kernel,
                timeout=step.timeout,
            )
        )
    path = Path(work_dir) / f"nb2pipe_local_{pipeline.name}.py"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(source), encoding="utf-8")
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return build(pipeline, {s.name: getattr(module, s.name) for s in pipeline.steps})
