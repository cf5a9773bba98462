"""Apache Airflow 3: one DAG file per pipeline, one task per step, the same launcher as KFP/Argo.

Two forms, two export targets:

- ``airflow``: each task is a `PythonOperator` that runs ``python -m nb2pipe.exports.launch``
  as a subprocess (an argument list, no shell) on the worker, on a step notebook shipped beside
  the DAG file (``DAGS/<dag id>/steps/``). This is the form that runs wherever Airflow's own
  workers run, with no container engine or cluster; the interpreter is the worker's
  ``NB2PIPE_PYTHON``, since Airflow's own pins clash with a data-science environment.
  A `PythonOperator` rather than a `BashOperator`: parameters given when a run is triggered
  never pass through a shell, so no quoting can go wrong.
- ``airflow-kubernetes`` (`kubernetes.py`): each task is a `KubernetesPodOperator` running the
  step's image, as the Argo and KFP exports do.

In both the steps of a DAG run share one run folder laid out as the local runner's
(``<run>/<step>/artifacts/``): Airflow passes no files between tasks, so the folder is shared
storage (a path every worker sees, or a volume every pod mounts). The notebook's parameters
are DAG params; ``retries:`` is the task's retries; ``timeout:`` is both the task's
execution timeout and papermill's per-cell timeout, as in the local runner. Airflow has no
step cache, so ``cache:off`` needs nothing.

Every value that comes from the notebook is written as a Python literal (`repr`, checked by
reading it back) or escaped in the docstring, so no name or text can change the DAG's code.
"""

from __future__ import annotations

import ast
import json
import keyword
import re
import textwrap
from pathlib import Path
from typing import Any

from ..compile.ir import Pipeline, Step
from ..errors import Nb2PipeError
from ..fileio import write_atomic
from ..rendering import render_template
from .kfp import exposed, param_kind, summary

# The JSON Schema type of an Airflow `Param`, by the parameter's Python type.
SCHEMA_TYPES = {
    "str": "string",
    "int": "integer",
    "float": "number",
    "bool": "boolean",
    "list": "array",
    "dict": "object",
}
LINE = 100  # the longest line written, as ruff's default: generated DAGs pass `ruff format`


def dag_id(pipeline: Pipeline) -> str:
    """An Airflow DAG id (letters, digits, ``_``, ``-``), also the name of the DAG's files."""
    name = re.sub(r"[^A-Za-z0-9_-]+", "_", pipeline.name).strip("_")
    return name or "pipeline"


def py(value: Any) -> str:
    """`value` as a Python literal that reads back as the same value (else an error); strings
    in double quotes, as the rest of the DAG file."""
    text = _literal(value)
    try:
        same = ast.literal_eval(text) == value
    except (ValueError, SyntaxError):
        same = False
    if not same:
        raise Nb2PipeError(f"cannot write {value!r} into an Airflow DAG as a Python literal")
    return text


def _literal(value: Any) -> str:
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # JSON's escapes are Python's
    if isinstance(value, list):
        return "[" + ", ".join(map(_literal, value)) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_literal(k)}: {_literal(v)}" for k, v in value.items()) + "}"
    return repr(value)


def docstring(text: str) -> str:
    """`text` made safe inside a triple-quoted docstring: it reads back as written. Control
    characters other than line ends and tabs are escaped (a NUL byte would make the DAG file
    unreadable to Python)."""
    text = text.replace("\\", "\\\\").replace('"""', '\\"\\"\\"')
    return re.sub(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]", lambda m: f"\\x{ord(m.group()):02x}", text)


def dag_params(pipeline: Pipeline) -> tuple[list[dict[str, str]], list[str]]:
    """The DAG params (name, literal default, schema type, description), and the names of the
    parameters that keep the notebook's value (no JSON type, a None default, or not finite)."""
    params, fixed = [], []
    names = {p.name for p in exposed(pipeline)}
    for p in pipeline.params:
        if p.name in names and _json_able(p.value):
            params.append(
                {
                    "name": p.name,
                    "value": py(p.value),
                    "type": SCHEMA_TYPES[p.type],
                    "description": p.comment,
                }
            )
        else:
            fixed.append(p.name)
    return params, fixed


def _json_able(value: Any) -> bool:
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError):
        return False
    return True


def uses(pipeline: Pipeline, step_params: list[str]) -> dict[str, str]:
    """The DAG params a step reads → how the launcher types them (``float``, ``json``, …)."""
    names = {p["name"] for p in dag_params(pipeline)[0]}
    return {n: param_kind(pipeline.param(n)) for n in sorted(step_params) if n in names}


def step_call(step: Step, pipeline: Pipeline, **first: Any) -> list[str]:
    """The lines of ``"name": step_task(...),`` in the DAG file: the step's name, `first`,
    then its params, retries and timeout, defaults left out; laid out as ruff formats code
    (one line if it fits, else one argument per line, a long dict one item per line)."""
    timeout = None if step.timeout is None else float(step.timeout)
    optional = {"uses": uses(pipeline, step.params), "retries": step.retries, "timeout": timeout}
    arguments: list[tuple[str | None, Any]] = [(None, step.name)]
    arguments += [(k, v) for k, v in first.items() if v]
    arguments += [(k, v) for k, v in optional.items() if v]
    written = [py(v) if k is None else f"{k}={py(v)}" for k, v in arguments]
    line = f"        {py(step.name)}: step_task({', '.join(written)}),"
    if len(line) <= LINE:
        return [line]
    lines = [f"        {py(step.name)}: step_task("]
    for (key, value), text in zip(arguments, written, strict=True):
        if isinstance(value, dict) and len(text) + 13 > LINE:
            lines.append(f"            {key}={{")
            lines += [f"                {py(k)}: {py(v)}," for k, v in value.items()]
            lines.append("            },")
        else:
            lines.append(f"            {text},")
    return [*lines, "        ),"]


def edges(pipeline: Pipeline) -> list[tuple[str, str]]:
    """(upstream, downstream) for every edge, in pipeline order."""
    return [(u, s.name) for s in pipeline.steps for u in s.upstream]


def dag_context(pipeline: Pipeline, target: str) -> dict[str, Any]:
    """What every form's template lays out: literals and escaped text, decided here."""
    for step in pipeline.steps:
        if keyword.iskeyword(step.name):  # never a variable here, but keep the DAG importable
            raise Nb2PipeError(f"step {step.name!r}: a Python keyword cannot name an Airflow task")
    params, fixed = dag_params(pipeline)
    source = Path(pipeline.source).name
    return {
        "title": docstring(f"Pipeline `{pipeline.name}` as an Airflow DAG: one task per step."),
        "source": docstring(f"`{source}`"),
        "source_name": docstring(source),
        "doc": docstring(textwrap.fill(summary(pipeline), 96)),
        "target": target,
        "dag_id": dag_id(pipeline),
        "bundle": dag_id(pipeline),
        "description": summary(pipeline),
        "kernel": pipeline.kernel,
        "params": params,
        "fixed": fixed,
        "edges": edges(pipeline),
    }


def render_local(pipeline: Pipeline) -> str:
    """The DAG file of the ``airflow`` target (PythonOperator tasks running the launcher)."""
    context = dag_context(pipeline, "airflow")
    context["steps"] = [line for s in pipeline.steps for line in step_call(s, pipeline)]
    return render_template("airflow/local_dag.py.j2", filters={"py": py}, **context)


def write_dags_folder(output: Path, files: dict[str, str]) -> None:
    """Write `files` (relative path → text) into the DAGs folder `output`.

    Each file is written atomically and the DAG file last, so that Airflow, which may parse
    the folder at any moment, never sees a DAG whose step notebooks are not there yet; step
    notebooks of steps that no longer exist are removed.
    """
    if output.suffix == ".py" or (output.exists() and not output.is_dir()):
        raise Nb2PipeError(
            f"{output}: an Airflow export is written into a DAGs folder: give -o a folder, "
            "e.g. -o dags/"
        )
    ordered = sorted(files, key=lambda rel: (rel.endswith(".py"), rel))
    for rel in ordered:
        path = output / rel
        if not path.exists() or path.read_text(encoding="utf-8") != files[rel]:
            write_atomic(path, files[rel])
    for folder in {(output / rel).parent for rel in files if rel.endswith(".ipynb")}:
        for stale in folder.glob("*.ipynb"):
            if stale.relative_to(output).as_posix() not in files:
                stale.unlink()


class AirflowTarget:
    name = "airflow"
    description = "Apache Airflow 3 DAG (a DAGs folder), one task per step running the launcher"
    runs_images = False  # the worker's own interpreter runs the step notebooks

    def export(self, pipeline: Pipeline, images: dict[str, str]) -> str:
        return render_local(pipeline)

    def export_folder(
        self, pipeline: Pipeline, images: dict[str, str], compiled: dict[str, str], output: Path
    ) -> None:
        """Write the DAG file and, beside it, the step notebooks (from `compiled`) it runs."""
        name = dag_id(pipeline)
        files = {f"{name}.py": self.export(pipeline, images)}
        for rel, text in compiled.items():
            if rel.startswith("steps/") and rel.endswith(".ipynb"):
                files[f"{name}/{rel}"] = text
        write_dags_folder(output, files)
