"""Human- and tool-readable summaries of a pipeline: `nb2pipe show` and `nb2pipe check`."""

from __future__ import annotations

from .ir import Pipeline


def layers(pipeline: Pipeline) -> list[list[str]]:
    """Steps grouped by depth: every step sits one layer below its deepest upstream."""
    depth: dict[str, int] = {}
    for step in pipeline.steps:  # upstream first
        depth[step.name] = 1 + max((depth[u] for u in step.upstream), default=-1)
    out: list[list[str]] = [[] for _ in range(max(depth.values(), default=-1) + 1)]
    for step in pipeline.steps:
        out[depth[step.name]].append(step.name)
    return out


def edges(pipeline: Pipeline) -> list[tuple[str, str, list[str]]]:
    """(upstream, step, variables carried), explicit `after:` edges carrying none."""
    out = []
    for step in pipeline.steps:
        for up in step.upstream:
            names = sorted({i.name for i in step.inputs if i.producer == up})
            out.append((up, step.name, names))
    return out


def text(pipeline: Pipeline) -> str:
    lines = [f"pipeline {pipeline.name}  (from {pipeline.source})", ""]
    if pipeline.params:
        lines.append("parameters")
        width = max(len(p.name) for p in pipeline.params)
        for p in pipeline.params:
            note = f"  # {p.comment}" if p.comment else ""
            lines.append(f"  {p.name:<{width}} = {p.value!r} ({p.type}){note}")
        lines.append("")
    lines.append("steps")
    width = max((len(s.name) for s in pipeline.steps), default=0)
    for step in pipeline.steps:
        numbers = [c.number for c in step.cells]
        cells = f"cell {numbers[0]}" if len(numbers) == 1 else f"cells {numbers[0]}-{numbers[-1]}"
        extras = []
        if step.params:
            extras.append("params " + ", ".join(step.params))
        if step.metrics:
            extras.append("metrics " + ", ".join(step.metrics))
        if not step.cache:
            extras.append("cache off")
        lines.append(f"  {step.name:<{width}}  {cells:<12} {'; '.join(extras)}".rstrip())
    lines.append("")
    pipe_edges = edges(pipeline)
    if pipe_edges:
        lines.append("edges")
        for up, down, names in pipe_edges:
            carried = ", ".join(names) if names else f"({_order(pipeline, up, down)})"
            lines.append(f"  {up} → {down}: {carried}")
        lines.append("")
    lines.append("graph")
    for depth, names in enumerate(layers(pipeline)):
        lines.append(f"  {depth + 1}. " + "  ".join(names))
    if pipeline.serve is not None:
        lines += ["", "served with the model", f"  {serving(pipeline)}"]
        if pipeline.serve.values:
            lines.append("  values from training: " + ", ".join(pipeline.serve.values))
    return "\n".join(lines)


def serving(pipeline: Pipeline) -> str:
    """What runs on every prediction request, in one line."""
    serve = pipeline.serve
    if serve is None:
        return "no serve cells"
    numbers = ", ".join(str(c.number) for c in serve.cells)
    cells = f"cell {numbers}" if len(serve.cells) == 1 else f"cells {numbers}"
    return f"a request's rows as {serve.input} → serve {cells} (step {serve.step}) → {serve.output}"


def _order(pipeline: Pipeline, up: str, down: str) -> str:
    """Why `down` waits for `up` when no variable passes between them."""
    step, upstream = pipeline.step(down), pipeline.step(up)
    if up in step.after:
        return "after: order only"
    if step.random_from == up:
        return "global random state"
    named = set(step.files_read) | set(step.files_written) | {f"{m}.py" for m in step.imports}
    files = sorted(named & set(upstream.files_written))
    return f"file {', '.join(files)}" if files else "order"


def summary(pipeline: Pipeline) -> dict:
    """What `check --format json` prints for tools (and the sidebar)."""
    return {
        "ok": True,
        "pipeline": pipeline.name,
        "parameters": {p.name: p.value for p in pipeline.params if _jsonable(p.value)},
        "steps": [
            {
                "name": s.name,
                "cells": [c.number for c in s.cells],
                "upstream": s.upstream,
                "inputs": [{"name": i.name, "producer": i.producer} for i in s.inputs],
                "outputs": s.outputs,
                "params": s.params,
                "metrics": s.metrics,
            }
            for s in pipeline.steps
        ],
        "edges": [{"from": a, "to": b, "names": n} for a, b, n in edges(pipeline)],
        "layers": layers(pipeline),
        "warnings": [{"cell": w.cell, "message": w.message} for w in pipeline.warnings],
        "serve": None
        if pipeline.serve is None
        else {
            "input": pipeline.serve.input,
            "output": pipeline.serve.output,
            "cells": [c.number for c in pipeline.serve.cells],
            "step": pipeline.serve.step,
            "values": pipeline.serve.values,
        },
    }


def _jsonable(value) -> bool:
    return isinstance(value, (str, int, float, bool, list, dict, type(None)))
