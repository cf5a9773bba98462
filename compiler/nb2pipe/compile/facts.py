"""What the analysis finds in notebook code (analysis.py finds it): the names it reads, binds,
changes and deletes, its imports and settings, and what calling its functions does.

The names a kernel provides without code (builtins, `display`, IPython's history) are here too:
every reader of the facts needs them.
"""

from __future__ import annotations

import builtins
import re
from dataclasses import dataclass, field

# Names a Jupyter kernel provides besides Python's builtins.
KERNEL_NAMES = frozenset(
    {
        "get_ipython",
        "display",
        "In",
        "Out",
        "exit",
        "quit",
        "_",
        "__",
        "___",
        "_ih",
        "_oh",
        "_dh",
        "__file__",
        "__name__",
        "__builtins__",
        "__doc__",
    }
)
BUILTIN_NAMES = frozenset(dir(builtins)) | KERNEL_NAMES

# IPython's input and output history: `In`, `Out`, `_`, `_7`, `_i7`… In a step notebook they hold
# that step's cells, not the whole notebook's.
_HISTORY = re.compile(r"In|Out|_ih|_oh|_{1,3}|_i{1,3}|_i?\d+")


def is_history(name: str) -> bool:
    return bool(_HISTORY.fullmatch(name))


@dataclass
class Reads:
    """A name read, and the cell it is first read in."""

    name: str
    cell: int | None


@dataclass
class Function:
    """What calling a function defined in the notebook does to names outside it."""

    params: list[str] = field(default_factory=list)  # positional order, then keyword-only
    changes_params: set[str] = field(default_factory=set)
    changes_globals: set[str] = field(default_factory=set)
    draws_random: bool = False
    seeds_random: bool = False
    generator: bool = False
    decorated: bool = False  # a wrapper may keep state on itself (call counts, caches)
    evaluates: bool = False  # runs code given as strings (`eval(name)`): its string arguments


@dataclass
class Statement:
    """A top-level statement of a cell, kept as source so it can be replayed in later steps."""

    source: str
    cell: int | None
    replayable: bool = True
    index: int = 0  # its place among the statements analysed together: notebook order
    module: str | None = None  # for an import: the top-level module it imports


@dataclass
class CodeFacts:
    """What one step's (or one cell group's) code does with names."""

    reads: list[Reads] = field(default_factory=list)  # free reads, first use order
    late_reads: list[Reads] = field(default_factory=list)  # reads inside function bodies
    maybe_reads: list[Reads] = field(default_factory=list)  # in strings a helper evaluates
    writes: list[str] = field(default_factory=list)  # bound or changed, first-write order
    changed: dict[str, int | None] = field(default_factory=dict)  # changed in place -> cell
    deleted: dict[str, int | None] = field(default_factory=dict)  # `del name` last -> cell
    write_cells: dict[str, int | None] = field(default_factory=dict)  # name -> last write cell
    modules: set[str] = field(default_factory=set)  # top-level modules imported
    star_import: bool = False
    star_imports: list[Statement] = field(default_factory=list)  # `from m import *` (and %run)
    imported: dict[str, str] = field(default_factory=dict)  # name -> import statement binding it
    imports: list[Statement] = field(default_factory=list)  # every import, in order
    origins: dict[str, str] = field(default_factory=dict)  # name -> dotted origin, if imported
    functions: dict[str, Function] = field(default_factory=dict)  # defined here
    function_late_reads: dict[str, list[str]] = field(default_factory=dict)
    seeds_random: bool = False
    draws_random: bool = False
    exits: bool = False  # may end the notebook early (`sys.exit()`, `raise SystemExit`)
    shell: bool = False  # runs shell commands, which may read and write any file
    settings: list[Statement] = field(default_factory=list)  # global settings changed
    star_modules: list[str] = field(default_factory=list)  # `from m import *`: m
    unpassable: dict[str, tuple[str, int | None]] = field(default_factory=dict)
    shown: list[str] = field(default_factory=list)  # names printed or shown as bare expressions
    # written only because a name made here shares their object (`w_value = w` writes w too)
    carried: set[str] = field(default_factory=set)
