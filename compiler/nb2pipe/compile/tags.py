"""The cell-tag grammar: the single source of truth for what a tag means.

Every other part of nb2pipe (and the sidebar's tag editor, through tag_table.py's `grammar()`) reads tags
through this module. Three dialects are understood:

* ours: ``parameters``, ``imports``, ``functions``, ``step:NAME``,
  ``after:A,B``, ``skip``, ``metrics``, ``image:REF``, ``requirements:PKG,PKG``, ``cpu:N``,
  ``memory:SIZE``, ``gpu:N``, ``cache:off``, ``retries:N``, ``timeout:SECONDS``,
  ``inputs:PATH,PATH`` and ``outputs:PATH,PATH`` (files, beyond the paths found in the code),
  ``features:ENTITY`` (the step's output frames become Feast feature views keyed by ENTITY),
  and ``serve`` (a step's cell that also runs on every prediction request, packaged with the
  published model);
* Kubeflow Kale's: ``block:NAME``, ``prev:NAME``, ``pipeline-parameters``,
  ``pipeline-metrics``, ``limit:KEY:VALUE`` (plus ``imports``/``functions``/``skip``/``image:``);
* papermill's ``parameters``.

Tags of other tools (``hide-input``, ``raises-exception``…) are kept as "foreign" and left alone;
a tag that looks like a misspelling of ours is an error with a suggestion.
"""

from __future__ import annotations

import difflib
import math
import re
from dataclasses import dataclass, field

from ..errors import TagError

STEP_NAME = re.compile(r"[a-z_][a-z0-9_]*\Z")
# A container image reference (registry:port/name:tag@sha256:…): it is written into
# Dockerfiles and workflows, where a space or a line break would start another instruction.
IMAGE_REF = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/:@+-]*\Z")
CPU = re.compile(r"(\d+(\.\d+)?|\d+m)\Z")
MEMORY = re.compile(r"\d+(\.\d+)?(Ki|Mi|Gi|Ti|Pi|K|M|G|T|P|k)?\Z")
REQUIREMENT = re.compile(
    r"[A-Za-z0-9][A-Za-z0-9._-]*(\[[A-Za-z0-9_,.-]+\])?\s*([<>=!~]=?[^,;\s]+)?\Z"
)

# Roles: what a whole cell is. A cell has at most one (``metrics`` may join a step start).
ROLES = {
    "parameters": "parameters",
    "pipeline-parameters": "parameters",  # Kale
    "imports": "imports",
    "functions": "functions",
    "skip": "skip",
    "metrics": "metrics",
    "pipeline-metrics": "metrics",  # Kale
}

# Prefixed tags: name -> canonical meaning. Kale's spellings map onto ours.
PREFIXES = {
    "step": "step",
    "block": "step",  # Kale
    "after": "after",
    "prev": "after",  # Kale
    "image": "image",
    "requirements": "requirements",
    "cpu": "cpu",
    "memory": "memory",
    "gpu": "gpu",
    "limit": "limit",  # Kale: limit:cpu:2, limit:memory:1Gi, limit:nvidia.com/gpu:1
    "cache": "cache",
    "retries": "retries",
    "timeout": "timeout",
    "inputs": "inputs",
    "outputs": "outputs",
    "features": "features",
}

# Flags: a cell of a step that is also something more. ``serve``: it runs on every prediction
# request too, inside the published model (serve.py checks and compiles those cells).
FLAGS = {"serve": "serve"}

_ON = {"on", "true", "yes", "enabled"}
_OFF = {"off", "false", "no", "disabled"}

# Tags other tools put on cells; never mistaken for a misspelling of ours.
KNOWN_FOREIGN = frozenset(
    """
    injected-parameters hide-input hide-output hide-cell remove-cell remove-input remove-output
    raises-exception skip-execution nbval-ignore-output nbval-skip nbval-check-output
    nbval-raises-exception thebe-init full-width margin output_scroll
    """.split()
)


@dataclass
class Resources:
    """What a step's container asks the scheduler for."""

    cpu: str | None = None
    memory: str | None = None
    gpu: int | None = None

    def merge(self, other: Resources) -> None:
        self.cpu = other.cpu or self.cpu
        self.memory = other.memory or self.memory
        self.gpu = other.gpu if other.gpu is not None else self.gpu


@dataclass
class CellTags:
    """The meaning of one cell's tags."""

    role: str | None = None  # parameters | imports | functions | skip | metrics
    step: str | None = None  # set when this cell starts a step
    after: list[str] = field(default_factory=list)
    image: str | None = None
    requirements: list[str] = field(default_factory=list)
    resources: Resources = field(default_factory=Resources)
    cache: bool | None = None
    retries: int | None = None
    timeout: float | None = None
    inputs: list[str] = field(default_factory=list)  # files the step reads
    outputs: list[str] = field(default_factory=list)  # files the step writes
    serve: bool = False  # also runs on every prediction request, in the published model
    serve_input: str | None = None  # serve:NAME: the variable a request's rows are bound to
    features: str | None = None  # features:ENTITY: the step's frames become Feast feature views
    foreign: list[str] = field(default_factory=list)

    @property
    def has_step_settings(self) -> bool:
        r = self.resources
        return bool(
            self.after
            or self.image
            or self.requirements
            or r.cpu
            or r.memory
            or r.gpu is not None
            or self.cache is not None
            or self.retries is not None
            or self.timeout is not None
            or self.inputs
            or self.outputs
            or self.features
        )


def parse_cell_tags(tags: list[str], cell: int | None = None) -> CellTags:
    """Read one cell's tags; raise `TagError` naming the cell for anything malformed."""
    out = CellTags()

    def fail(message: str) -> TagError:
        return TagError(message, cell=cell)

    for raw in tags:
        tag = raw.strip()
        if tag in ROLES:
            role = ROLES[tag]
            if role == "metrics" and out.role is None:
                out.role = role
                continue
            if out.role not in (None, role):
                raise fail(f"tags {out.role!r} and {tag!r} cannot be on the same cell")
            out.role = role
            continue
        if tag in FLAGS:
            out.serve = True
            continue
        prefix, sep, value = tag.partition(":")
        if prefix in FLAGS and sep:
            if not value.strip().isidentifier():
                raise fail(f"bad tag {tag!r}: serve:NAME names a variable, e.g. serve:raw")
            out.serve, out.serve_input = True, value.strip()
            continue
        if not sep and prefix in PREFIXES:
            raise fail(f"tag {tag!r} needs a value, e.g. {prefix}:{EXAMPLES.get(prefix, 'VALUE')}")
        if sep and prefix in PREFIXES:
            _apply_prefixed(out, PREFIXES[prefix], value.strip(), tag, fail)
            continue
        suggestion = _suggest(tag)
        if suggestion:
            raise fail(f"unknown tag {tag!r} (did you mean {suggestion!r}?)")
        out.foreign.append(raw)

    if out.step and out.role not in (None, "metrics"):
        raise fail(f"a {out.role!r} cell cannot also start step {out.step!r}")
    if out.serve and out.role is not None:
        raise fail(
            f"a {out.role!r} cell cannot be served: tag serve goes on a step's code that turns "
            "the raw input into the model's features"
        )
    return out


def _apply_prefixed(out: CellTags, kind: str, value: str, tag: str, fail) -> None:
    if not value:
        raise fail(f"tag {tag!r} has no value")
    if kind == "step":
        if not STEP_NAME.match(value):
            hint = re.sub(r"[^a-z0-9_]", "_", value.lower())
            hint = hint if STEP_NAME.match(hint) else "my_step"
            raise fail(
                f"bad step name {value!r}: step names are lower-case identifiers "
                f"([a-z_][a-z0-9_]*), e.g. {hint!r}"
            )
        if out.step and out.step != value:
            raise fail(f"a cell can start only one step, not {out.step!r} and {value!r}")
        out.step = value
    elif kind == "after":
        for name in filter(None, (v.strip() for v in value.split(","))):
            if not STEP_NAME.match(name):
                raise fail(f"bad step name {name!r} in {tag!r}")
            if name not in out.after:
                out.after.append(name)
    elif kind == "image":
        if not IMAGE_REF.match(value):
            raise fail(f"bad image {value!r} in {tag!r} (expected e.g. 'python:3.11-slim')")
        out.image = value
    elif kind == "requirements":
        for req in filter(None, (v.strip() for v in value.split(","))):
            if not REQUIREMENT.match(req):
                raise fail(f"bad requirement {req!r} in {tag!r} (expected e.g. 'xgboost==2.1')")
            out.requirements.append(req)
    elif kind == "limit":
        key, sep, amount = value.rpartition(":")
        if not sep:
            raise fail(f"bad tag {tag!r}: expected limit:RESOURCE:AMOUNT, e.g. limit:memory:1Gi")
        resource = {"cpu": "cpu", "memory": "memory"}.get(key, "gpu" if "gpu" in key else None)
        if resource is None:
            raise fail(f"bad tag {tag!r}: unknown resource {key!r} (cpu, memory or *gpu)")
        _apply_prefixed(out, resource, amount, tag, fail)
    elif kind == "cpu":
        if not CPU.match(value):
            raise fail(f"bad tag {tag!r}: cpu is a number of cores, e.g. cpu:2 or cpu:500m")
        out.resources.cpu = value
    elif kind == "memory":
        if not MEMORY.match(value):
            raise fail(f"bad tag {tag!r}: memory is a size, e.g. memory:2Gi or memory:512Mi")
        out.resources.memory = value
    elif kind == "gpu":
        if not value.isdigit():
            raise fail(f"bad tag {tag!r}: gpu is a whole number, e.g. gpu:1")
        out.resources.gpu = int(value)
    elif kind == "cache":
        if value.lower() not in _ON | _OFF:
            raise fail(f"bad tag {tag!r}: use cache:on or cache:off")
        out.cache = value.lower() in _ON
    elif kind == "retries":
        if not value.isdigit():
            raise fail(f"bad tag {tag!r}: retries is a whole number, e.g. retries:2")
        out.retries = int(value)
    elif kind in ("inputs", "outputs"):
        for path in filter(None, (v.strip() for v in value.split(","))):
            if "\0" in path or "\n" in path:
                raise fail(f"bad path {path!r} in {tag!r}")
            getattr(out, kind).append(path)
    elif kind == "features":
        if not value.isidentifier():
            raise fail(f"bad tag {tag!r}: features:ENTITY names the entity's key column, e.g. "
                       "features:driver_id")  # fmt: skip
        out.features = value
    elif kind == "timeout":
        try:
            seconds = float(value)
        except ValueError:
            seconds = -1.0
        if not math.isfinite(seconds) or seconds <= 0:
            raise fail(f"bad tag {tag!r}: timeout is a number of seconds, e.g. timeout:600")
        out.timeout = seconds


def _suggest(tag: str) -> str | None:
    """Our tag that `tag` is probably a misspelling of, if any."""
    if tag in KNOWN_FOREIGN:
        return None
    prefix, sep, value = tag.partition(":")
    if sep:
        match = difflib.get_close_matches(prefix.lower(), PREFIXES, n=1, cutoff=0.75)
        return f"{match[0]}:{value}" if match else None
    match = difflib.get_close_matches(tag.lower(), [*ROLES, *FLAGS], n=1, cutoff=0.8)
    return match[0] if match else None


# An example value of each prefixed tag: in messages, `nb2pipe tags` and the tag editor
EXAMPLES = {
    "step": "train",
    "block": "train",
    "prev": "load",
    "limit": "memory:1Gi",
    "after": "load,clean",
    "image": "python:3.11-slim",
    "requirements": "xgboost==2.1",
    "cpu": "2",
    "memory": "2Gi",
    "gpu": "1",
    "cache": "off",
    "retries": "2",
    "timeout": "600",
    "inputs": "data/train.csv",
    "outputs": "reports/summary.csv",
    "features": "driver_id",
}
