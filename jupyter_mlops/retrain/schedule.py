"""`nb2pipe schedule`: a CI workflow that runs a pipeline on a cron schedule.

Rendered from ``templates/schedule/`` (GitHub Actions, ``on: schedule``) into the project's
``.github/workflows/``. The output depends only on its inputs, never on the clock, so a
regenerated workflow diffs cleanly; an existing file is only replaced with ``force``.
"""

from __future__ import annotations

import re
from pathlib import Path

from nb2pipe.errors import Nb2PipeError

TEMPLATE = "github.yml.j2"
# (name, lowest, highest) of the five cron fields; names allowed in the last two.
_FIELDS = (("minute", 0, 59), ("hour", 0, 23), ("day of month", 1, 31))
_FIELDS += (("month", 1, 12), ("day of week", 0, 6))
_NAMES = {
    3: "jan feb mar apr may jun jul aug sep oct nov dec".split(),
    4: "sun mon tue wed thu fri sat".split(),
}
_PART = re.compile(r"^(\*|[0-9a-z]+(?:-[0-9a-z]+)?)(?:/([0-9]+))?$")


def check_cron(expression: str) -> str:
    """`expression` normalised to single spaces, or a one-line error naming the bad field."""
    fields = expression.split()
    if len(fields) != 5:
        raise Nb2PipeError(
            f"--cron {expression!r}: give five fields (minute hour day-of-month month "
            'day-of-week), e.g. "0 3 * * 1"'
        )
    for index, (text, (name, low, high)) in enumerate(zip(fields, _FIELDS, strict=True)):
        for part in text.lower().split(","):
            match = _PART.match(part)
            values = match.group(1).split("-") if match else []
            ok = match is not None and all(
                v == "*" or _value(v, index, low, high) is not None for v in values
            )
            step = match.group(2) if match else None
            if not ok or (step is not None and int(step) == 0):
                raise Nb2PipeError(
                    f"--cron {expression!r}: bad {name} field {text!r} "
                    f"(numbers {low}-{high}, '*', ranges a-b, lists a,b, steps /n)"
                )
    return " ".join(fields)


def _value(text: str, index: int, low: int, high: int) -> int | None:
    if text.isdigit():
        number = int(text)
        # 7 is Sunday too in most crons, GitHub's included.
        return number if low <= number <= (7 if index == 4 else high) else None
    names = _NAMES.get(index, [])
    return names.index(text) + low if text in names else None


def render(root: Path, notebook: Path, cron: str, params: list[tuple[str, str]] = ()) -> str:
    """The workflow text; nothing is written.

    The notebook's path and the parameter values go into the workflow's shell script quoted,
    each one argument; what a workflow cannot carry (a line break, ``${{``) is refused.
    """
    from nb2pipe.compile.compiler import compile_notebook
    from nb2pipe.compile.parameters import from_command_line
    from nb2pipe.exports.ci import PYTHON, _install_commands, ci_value, command_path
    from nb2pipe.rendering import render_template

    relative = notebook.resolve().relative_to(root.resolve()).as_posix()
    ci_value(relative, "the notebook's path", file=str(notebook))
    pipeline = compile_notebook(notebook)
    from_command_line(pipeline.params, params)  # refused now, not at the scheduled hour
    command = ["nb2pipe", "run", command_path(relative), "--force", "--workspace", "reports/runs"]
    for name, value in params:
        command += ["-p", name, ci_value(str(value), f"-p {name}: the value")]
    return render_template(
        f"schedule/{TEMPLATE}",
        notebook=relative,
        pipeline=pipeline.name,
        workflow_name=f"nb2pipe-schedule-{pipeline.name.replace('_', '-')}",
        cron=check_cron(cron),
        command=command,
        python=PYTHON,
        install=_install_commands(root),
        pip_cache=(root / "requirements.txt").is_file() or (root / "pyproject.toml").is_file(),
    )


def write_schedule(
    notebook: str | Path,
    cron: str,
    *,
    output: str | Path | None = None,
    params: list[tuple[str, str]] = (),
    force: bool = False,
) -> Path:
    """Write the scheduled workflow of `notebook`'s pipeline; return its path.

    Default path: ``.github/workflows/nb2pipe-schedule-<pipeline>.yml`` in the notebook's
    project root (the nearest folder with pyproject.toml or .git).
    """
    import yaml

    from nb2pipe.exports.ci import printable
    from nb2pipe.fileio import write_atomic
    from nb2pipe.runner.rundir import project_root

    notebook = Path(notebook)
    if not notebook.is_file():
        raise Nb2PipeError("no such notebook", file=printable(str(notebook)))
    root = project_root(notebook)
    text = render(root, notebook, cron, list(params))
    name = yaml.safe_load(text)["name"]  # the workflow parses, and names its file
    target = Path(output) if output else root / ".github" / "workflows" / f"{name}.yml"
    if target.exists() and not force:
        if target.read_text(encoding="utf-8") == text:
            return target
        raise Nb2PipeError(f"{target} already exists (overwrite with --force)")
    write_atomic(target, text)
    return target
