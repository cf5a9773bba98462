"""The tag table as data: every nb2pipe tag with its argument, group, meaning and example (for
`nb2pipe tags` and the sidebar's tag editor), and the tags of other tools nb2pipe honours.
The parsing of tags is tags.py; tests/compiler/test_tags.py checks the two agree."""

from __future__ import annotations

from .tags import EXAMPLES

# Tags of other tools that nb2pipe honours (kept as foreign tags, never rewritten).
HONOURED = {
    "raises-exception": "the cell may raise (papermill's and nbval's tag): the step goes on, "
    "and a failure after it names the cell that really failed",
}


def grammar() -> list[dict]:
    """The tag table as data, for `nb2pipe tags` and the sidebar's tag editor."""
    rows = [
        ("parameters", None, "role", "pipeline parameters (papermill's tag); literal assignments"),
        ("imports", None, "role", "import statements, prepended to every step"),
        ("functions", None, "role", "helper functions and classes, prepended to every step"),
        ("skip", None, "role", "exploration cell, left out of the pipeline"),
        ("metrics", None, "role", "variables it assigns or prints are logged as step metrics"),
        ("step", "NAME", "step", "starts a step; untagged cells that follow belong to it"),
        ("after", "STEP[,STEP]", "step", "explicit upstream steps, added to the inferred ones"),
        ("image", "REF", "container", "container image of the step"),
        ("requirements", "PKG[,PKG]", "container", "extra pip requirements of the step"),
        ("cpu", "N", "resources", "CPU cores requested, e.g. 2 or 500m"),
        ("memory", "SIZE", "resources", "memory requested, e.g. 2Gi"),
        ("gpu", "N", "resources", "GPUs requested"),
        ("limit", "RESOURCE:AMOUNT", "resources", "Kale's spelling of cpu:, memory:, gpu:"),
        (
            "cache",
            "on|off",
            "policy",
            "off: run the step every time, never reuse an earlier result (on, the default, "
            "reuses it when nothing changed)",
        ),
        ("retries", "N", "policy", "re-run a failed step up to N times"),
        ("timeout", "SECONDS", "policy", "fail the step after this long"),
        ("inputs", "PATH[,PATH]", "files", "files the step reads: edits re-run it"),
        ("outputs", "PATH[,PATH]", "files", "files the step writes: readers run after it"),
        (
            "serve",
            None,
            "serving",
            "also runs on every prediction request, packaged with the published model "
            "(serve:NAME on the first one: the variable a request's rows are bound to)",
        ),
        (
            "features",
            "ENTITY",
            "serving",
            "the step's output frames are published as Feast feature views keyed by ENTITY",
        ),
    ]
    aliases = {
        "parameters": ["pipeline-parameters"],
        "metrics": ["pipeline-metrics"],
        "step": ["block"],
        "after": ["prev"],
    }
    return [
        {
            "name": name,
            "argument": argument,
            "group": group,
            "meaning": meaning,
            "example": f"{name}:{EXAMPLES[name]}" if argument else name,
            "aliases": aliases.get(name, []),
        }
        for name, argument, group, meaning in rows
    ]
