"""The pipeline IR: plain dataclasses.

Everything downstream of the compiler (runner, exports, sidebar) reads this, never the
notebook. Its file form, `pipeline.yaml`, is written and read (and checked) by pipeline_file.py.
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
    cell: int | None = None  # where this step first reads it
    # Steps between the producer and this one that change in place another of the producer's
    # variables, which may be the same object as this one there (`y = x`, a view, a model
    # keeping its data): each saves this name again if it changed it, and the latest that did
    # is read instead, as Run All has it by then.
    resaved_by: list[str] = field(default_factory=list)
    # Other variables of the producer, read by later steps, that may be the same object as this
    # one, which this step changes in place: loaded with it when they are, and saved again.
    sharing: list[str] = field(default_factory=list)


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
    features: str | None = None  # features:ENTITY: its frames with that column, as feature views

    @property
    def first_cell(self) -> int:
        return self.cells[0].number if self.cells else 0

    def code_cells(self) -> list[Cell]:
        return [c for c in self.cells if c.kind == "code"]


@dataclass
class Serve:
    """What runs on every prediction request: the notebook's `serve` cells, compiled (serve.py).

    A request's rows are bound to `input`, the `prelude` (the imports and helper definitions the
    cells use) and the cells run, and the model predicts on `output`. The `values` the cells read
    from training (a fitted scaler, category lists, a training mean, parameters) travel with the
    model. Their `step` keeps the input and the values just before the first serve cell and the
    output just after the last one: the proof, when the model is published, that the packaged
    cells compute what the notebook computed.
    """

    input: str
    output: str
    cells: list[Cell]  # as the model runs them: Python, display-only statements left out
    prelude: list[Cell] = field(default_factory=list)
    values: list[str] = field(default_factory=list)
    step: str = ""


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
    serve: Serve | None = None

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
