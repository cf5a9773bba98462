"""What a sweep searches: `-p NAME VALUES` pairs read into one dimension per parameter.

    -p C 0.1,1,10              listed values, each typed like `nb2pipe run -p C 0.1`
    -p layers "[8, 8],[16]"    commas inside brackets or quotes belong to the value
    -p C 0.001..100:log        a range (int and float parameters): --random and --optuna draw
    -p max_depth 2..12         from it, log-uniformly with :log; a grid needs listed values

A grid is the product of the listed values, in the order given.
"""

from __future__ import annotations

import itertools
import math
import random
from dataclasses import dataclass, field
from typing import Any

from ..compile.ir import Pipeline
from ..compile.parameters import coerce, suggestion
from ..errors import ParameterError

RANGE_TYPES = ("int", "float")


@dataclass
class Dimension:
    name: str
    choices: list[Any] = field(default_factory=list)  # listed values, or empty for a range
    low: float | None = None
    high: float | None = None
    log: bool = False
    integer: bool = False

    @property
    def is_range(self) -> bool:
        return self.low is not None

    def describe(self) -> str:
        if not self.is_range:
            return ", ".join(repr(v) if isinstance(v, str) else str(v) for v in self.choices)
        return f"{self.low}..{self.high}" + (" (log)" if self.log else "")

    def sample(self, rng: random.Random) -> Any:
        if not self.is_range:
            return rng.choice(self.choices)
        if self.log:
            value = math.exp(rng.uniform(math.log(self.low), math.log(self.high)))
        else:
            value = rng.uniform(self.low, self.high)
        return min(int(self.high), max(int(self.low), round(value))) if self.integer else value

    def to_dict(self) -> dict[str, Any]:
        if not self.is_range:
            return {"name": self.name, "values": self.choices}
        return {"name": self.name, "low": self.low, "high": self.high, "log": self.log,
                "int": self.integer}  # fmt: skip


@dataclass
class Space:
    dimensions: list[Dimension]

    @property
    def names(self) -> list[str]:
        return [d.name for d in self.dimensions]

    def grid(self) -> list[dict[str, Any]]:
        """Every combination of the listed values, the first parameter varying slowest."""
        ranges = [d for d in self.dimensions if d.is_range]
        if ranges:
            d = ranges[0]
            raise ParameterError(
                f"-p {d.name} {d.describe()}: a range cannot be a grid; list the values "
                f"(-p {d.name} 1,2,3) or draw from it with --random N or --optuna N"
            )
        products = itertools.product(*(d.choices for d in self.dimensions))
        return [dict(zip(self.names, values, strict=True)) for values in products]

    def size(self) -> int | None:
        """How many distinct combinations there are (None: a range makes it unbounded)."""
        if any(d.is_range for d in self.dimensions):
            return None
        return math.prod(len(d.choices) for d in self.dimensions)

    def sample(self, n: int, seed: int) -> list[dict[str, Any]]:
        """`n` combinations drawn at random: distinct ones while the listed values allow."""
        rng = random.Random(seed)
        size = self.size()
        if size is not None and n <= size:
            return [self.grid()[i] for i in rng.sample(range(size), n)]
        return [{d.name: d.sample(rng) for d in self.dimensions} for _ in range(n)]


def parse_space(pipeline: Pipeline, pairs: list[tuple[str, str]] | dict[str, Any]) -> Space:
    """The space the `-p NAME VALUES` pairs describe (or a dict of name → list of values, as
    the magics and the Python API give); a bad pair is one `ParameterError` naming it."""
    declared = {p.name: p for p in pipeline.params}
    items = list(pairs.items()) if isinstance(pairs, dict) else list(pairs)
    if not items:
        raise ParameterError("nothing to sweep: give -p NAME VALUES (e.g. -p C 0.1,1,10)")
    dimensions: dict[str, Dimension] = {}
    for name, values in items:
        if name not in declared:
            raise ParameterError(
                f"-p {name}: not a parameter of the notebook ({suggestion(name, declared)})"
            )
        if name in dimensions:
            raise ParameterError(f"-p {name}: given twice; list its values once: -p {name} a,b")
        param = declared[name]
        if isinstance(values, str):
            dimension = _parse_text(param, values)
        else:
            dimension = Dimension(name, list(values))
        if not dimension.is_range:
            if not dimension.choices:
                raise ParameterError(f"-p {name}: no values to sweep (an empty grid)")
            dimension.choices = _distinct(dimension.choices)
        dimensions[name] = dimension
    return Space(list(dimensions.values()))


def _parse_text(param, text: str) -> Dimension:
    name = param.name
    if param.type in RANGE_TYPES and ".." in text and not text.lstrip().startswith(("[", "(")):
        return _range(param, text)
    return Dimension(name, [coerce(param, part) for part in split_values(text)])


def _range(param, text: str) -> Dimension:
    body, _, scale = text.partition(":")
    low_text, _, high_text = body.partition("..")
    if scale not in ("", "log"):
        raise ParameterError(f"-p {param.name} {text}: a range is LOW..HIGH or LOW..HIGH:log")
    try:
        low, high = coerce(param, low_text.strip()), coerce(param, high_text.strip())
    except ParameterError:
        raise ParameterError(
            f"-p {param.name} {text}: a range of {param.type} values is LOW..HIGH, e.g. 1..10"
        ) from None
    if not low < high:
        raise ParameterError(f"-p {param.name} {text}: an empty range (LOW must be below HIGH)")
    if scale == "log" and low <= 0:
        raise ParameterError(f"-p {param.name} {text}: a log range needs LOW above 0")
    return Dimension(param.name, [], low, high, scale == "log", param.type == "int")


def split_values(text: str) -> list[str]:
    """`text` cut at the commas outside brackets and quotes; blank parts dropped."""
    parts, depth, quote, current = [], 0, "", []
    for char in text:
        if quote:
            quote = "" if char == quote else quote
        elif char in "\"'":
            quote = char
        elif char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        elif char == "," and depth == 0:
            parts.append("".join(current))
            current = []
            continue
        current.append(char)
    parts.append("".join(current))
    return [p.strip() for p in parts if p.strip()]


def _distinct(values: list[Any]) -> list[Any]:
    out: list[Any] = []
    for value in values:
        if not any(type(value) is type(seen) and value == seen for seen in out):
            out.append(value)
    return out
