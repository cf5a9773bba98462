"""The pipeline IR: plain dataclasses, and their deterministic `pipeline.yaml` form.

Everything downstream of the compiler (runner, exports, sidebar) reads this, never the
notebook. `dump(pipeline)` gives the same bytes for the same notebook: fields in declaration
order, lists in a defined order, no timestamps, code as YAML literal blocks so reviews read it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from .parameters import Param
from .tags import Resources

FORMAT = 1


@dataclass
class Cell:
    """A cell copied from the source notebook; `number` is its position there, from 1."""

    number: int
    kind: str  # code | markdown
    source: str
    tags: list[str] = field(default_factory=list)  # other tools' tags, kept as they were


@dataclass
class Input:
    """An artifact a step reads: variable `name`, as last assigned by step `producer`."""

    name: str
    producer: str
    # Other variables of the producer that a step in between changes in place: if `name` was
    # the same object as one of them there, Run All's `name` has the change (checked at load).
    changed_later: list[str] = field(default_factory=list)
    cell: int | None = None  # where this step first reads it


@dataclass
class Hazard:
    """Something that may make the pipeline differ from Run All, said as a `warning:` line."""

    cell: int | None
    message: str


@dataclass
class Step:
    name: str
    cells: list[Cell]
    upstream: list[str] = field(default_factory=list)  # every step this one waits for
    after: list[str] = field(default_factory=list)  # the explicit part of `upstream`
    inputs: list[Input] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)
    params: list[str] = field(default_factory=list)  # parameters its code (or helpers) reads
    metrics: list[str] = field(default_factory=list)
    imports: list[str] = field(default_factory=list)  # top-level modules, sorted
    # Statements of earlier steps re-run before this step's cells: the imports of names it
    # uses, star imports, and global settings (`pd.set_option`, `%matplotlib`…), as in Run All.
    replay: list[Cell] = field(default_factory=list)
    # Inputs a later step also reads in the same version: a change this step makes to them
    # unseen by the analysis would be lost, so the runtime checks they come out unchanged.
    guard: list[str] = field(default_factory=list)
    # Global random state carried along the notebook order when the notebook seeds it.
    random_from: str | None = None  # restore the state this step left; None: as imports leave it
    random_state: bool = False  # save the state this step leaves, for the next one
    files_read: list[str] = field(default_factory=list)  # paths named in reading code
    files_written: list[str] = field(default_factory=list)  # paths written (and `outputs:`)
    changes_settings: bool = False  # its kernel is not reused: settings would leak
    image: str | None = None
    requirements: list[str] = field(default_factory=list)
    resources: Resources = field(default_factory=Resources)
    cache: bool = True
    retries: int = 0
    timeout: float | None = None

    @property
    def first_cell(self) -> int:
        return self.cells[0].number if self.cells else 0

    def code_cells(self) -> list[Cell]:
        return [c for c in self.cells if c.kind == "code"]


@dataclass
class Pipeline:
    name: str
    source: str  # the notebook, relative to wherever pipeline.yaml is written
    kernel: str = "python3"
    language: str = "python"
    description: str = ""  # the markdown before the first step: the notebook's purpose
    params: list[Param] = field(default_factory=list)
    imports: list[Cell] = field(default_factory=list)
    functions: list[Cell] = field(default_factory=list)
    steps: list[Step] = field(default_factory=list)
    warnings: list[Hazard] = field(default_factory=list)

    def step(self, name: str) -> Step:
        for step in self.steps:
            if step.name == name:
                return step
        raise KeyError(name)

    def param(self, name: str) -> Param:
        for param in self.params:
            if param.name == name:
                return param
        raise KeyError(name)

    def downstream(self, name: str) -> list[str]:
        """Steps that (transitively) wait for `name`, in pipeline order."""
        found: set[str] = {name}
        for step in self.steps:  # steps are stored in an order where upstream comes first
            if found.intersection(step.upstream):
                found.add(step.name)
        return [s.name for s in self.steps if s.name in found and s.name != name]


# --- dict / YAML form ------------------------------------------------------------------------


def to_dict(obj: Any) -> Any:
    """Dataclasses to plain data, leaving out fields that hold their default (less noise)."""
    if dataclasses.is_dataclass(obj):
        out = {}
        for f in dataclasses.fields(obj):
            value = getattr(obj, f.name)
            default = (
                f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default
            )
            if value == default and f.name not in ("name", "cells", "steps"):
                continue
            out[f.name] = to_dict(value)
        return out
    if isinstance(obj, (list, tuple)):
        return [to_dict(v) for v in obj]
    if isinstance(obj, dict):
        return {k: to_dict(v) for k, v in obj.items()}
    return obj


def _yaml_exact(value: Any) -> bool:
    """Whether YAML gives this value back unchanged (no tuples, sets, complex, bytes)."""
    if isinstance(value, list):
        return all(_yaml_exact(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _yaml_exact(v) for k, v in value.items())
    return value is None or isinstance(value, (bool, int, float, str))


def _param_to_dict(param: Param) -> dict:
    out = to_dict(param)
    if not _yaml_exact(param.value):
        # Tuples, sets, complex numbers…: kept exactly as the Python literal they were written as.
        del out["value"]
        out["literal"] = _literal(param.value)
    return out


def _literal(value: Any) -> str:
    """`repr`, except that sets list their items sorted, so the bytes never vary between runs."""
    if isinstance(value, (set, frozenset)):
        items = sorted(_literal(v) for v in value)
        return "{" + ", ".join(items) + "}" if items else "set()"
    if isinstance(value, tuple):
        inner = ", ".join(_literal(v) for v in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    if isinstance(value, list):
        return "[" + ", ".join(_literal(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_literal(k)}: {_literal(v)}" for k, v in value.items()) + "}"
    return repr(value)


def pipeline_to_dict(pipeline: Pipeline) -> dict:
    data = {"format": FORMAT, **to_dict(pipeline)}
    data["params"] = [_param_to_dict(p) for p in pipeline.params]
    return data


def pipeline_from_dict(data: dict) -> Pipeline:
    if data.get("format") != FORMAT:
        raise ValueError(f"unsupported pipeline format {data.get('format')!r}")

    def cells(items):
        return [Cell(**c) for c in items or []]

    def param(d):
        d = dict(d)
        if "literal" in d:
            import ast

            d["value"] = ast.literal_eval(d.pop("literal"))
        return Param(**d)

    steps = []
    for s in data.get("steps", []):
        s = dict(s)
        s["cells"] = cells(s.get("cells"))
        s["inputs"] = [Input(**i) for i in s.get("inputs", [])]
        s["resources"] = Resources(**s.get("resources", {}))
        s["replay"] = cells(s.get("replay"))
        steps.append(Step(**s))
    rest = {
        k: v
        for k, v in data.items()
        if k not in ("format", "params", "imports", "functions", "steps", "warnings")
    }
    return Pipeline(
        **rest,
        params=[param(p) for p in data.get("params", [])],
        imports=cells(data.get("imports")),
        functions=cells(data.get("functions")),
        steps=steps,
        warnings=[Hazard(**w) for w in data.get("warnings", [])],
    )


def dump(pipeline: Pipeline) -> str:
    """The deterministic `pipeline.yaml` text."""
    import yaml

    class _Dumper(yaml.SafeDumper):
        pass

    def _str(dumper, value: str):
        # Code and markdown as literal blocks; YAML cannot keep trailing spaces in one.
        style = (
            "|"
            if "\n" in value and not any(line != line.rstrip() for line in value.splitlines())
            else None
        )
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)

    _Dumper.add_representer(str, _str)
    header = "# Generated by nb2pipe from the notebook named in `source`. Do not edit: recompile.\n"
    return header + yaml.dump(
        pipeline_to_dict(pipeline), Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100
    )


def load(text: str) -> Pipeline:
    import yaml

    return pipeline_from_dict(yaml.safe_load(text))
