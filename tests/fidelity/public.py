"""The first law on notebooks nobody here wrote: each one split automatically, compared with
plain papermill cell by cell, and a table of what nb2pipe did.

    python tests/fidelity/public.py DIR [--split headings|cells|both] [--jobs N] [-k TEXT]
                                        [--json FILE] [--keep FOLDER]

DIR holds public notebooks (textbooks, lecture notes, library tutorials) with the data files
they read beside them. They are never committed: fetch them, keep them offline, run this.

For each notebook:

1. Run All with plain papermill in a copy of its folder. Old notebooks often fail after a while
   under today's libraries, so only the cells before the first failing cell are kept.
2. Run All again on that part: cells whose output differs between two plain runs (timings,
   clocks, unseeded random numbers) are left out of the comparison, and so are files.
3. For each split, tag a copy: `headings` starts a step at the first code cell after each
   markdown heading (and at the first code cell), `cells` starts one every three code cells.
   `nb2pipe check`, then `nb2pipe run` in a fresh copy of the folder, and every step cell is
   compared with the same cell of the first Run All (fidelitykit's comparison: text output,
   errors, files written).

Outcomes: **equal** (the run succeeded, nothing differs, nothing warned); **refused** (`nb2pipe
check` exit 2 with one `error:` line naming the notebook and a cell); **warned** (a `warning:`
line names the notebook and a cell: the run succeeded, with or without differences); **failed
with a line** (a step failed in the user's cells or in a check of nb2pipe's, and an `error:`
line names the notebook and a cell); **failed in generated code** (a step failed in a cell
nb2pipe wrote: replay, load or save, other than its own checks — our bug); **silent
difference** (outputs differ and nothing was said: the worst bug); **failed silently** (a failure
no line explains).

Run it niced on a shared machine (`nice -n 10`): it is CPU-heavy (a notebook costs two Run Alls
and one pipeline run per split).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]

import fidelitykit as kit  # noqa: E402
from support.commands import NB2PIPE, no_tracking_env  # noqa: E402
from support.notebooks import KERNELSPEC  # noqa: E402

SPLITS = ("headings", "cells")
EVERY = 3  # code cells per step in the `cells` split
CELL_TIMEOUT = 300  # seconds a plain Run All may spend in one cell (a download that hangs)
RUN_TIMEOUT = 1800
OUTCOMES = (
    "equal",
    "refused",
    "warned",
    "failed with a line",
    "failed in generated code",
    "silent difference",
    "failed silently",
)
GENERATED_ROLES = {"replay", "load", "save", "parameters", "header"}
NB2PIPE_CHECKS = {"ArtifactError", "StepFailed"}  # nb2pipe's own run-time checks, with a line
SKIP_PARTS = {".git", ".nb2pipe", ".ipynb_checkpoints", "__pycache__"}
CLOCK = re.compile(r"\b\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?\b")  # `ls -l`, logs: when, not what


class Normaliser(kit.Normaliser):
    """fidelitykit's, and times of day too: two runs a minute apart print other times."""

    def __call__(self, text: str) -> str:
        return CLOCK.sub("<time>", super().__call__(text))


@dataclass
class Result:
    notebook: str
    split: str
    outcome: str
    reason: str = ""
    steps: int = 0
    cells: int = 0  # code cells compared
    lines: list[str] = field(default_factory=list)  # nb2pipe's warning:/error: lines
    seconds: float = 0.0


@dataclass
class Plain:
    """What Run All printed, for the cells both plain runs agree on."""

    document: dict  # the trimmed source notebook
    cells: dict[int, kit.CellText]
    code: set[int]
    files: dict[str, str]
    unstable: set[int]
    note: str = ""


# --- folders -----------------------------------------------------------------------------------


def copy_folder(notebook: Path, target: Path) -> None:
    """The notebook's folder without the other notebooks (their data stays)."""

    def ignore(folder: str, names: list[str]) -> set[str]:
        skipped = {n for n in names if n in SKIP_PARTS}
        return skipped | {n for n in names if n.endswith(".ipynb") and n != notebook.name}

    shutil.copytree(notebook.parent, target, ignore=ignore, symlinks=True)


def find_notebooks(root: Path, only: list[str]) -> list[Path]:
    found = []
    for path in sorted(root.rglob("*.ipynb")):
        if set(path.relative_to(root).parts) & SKIP_PARTS:
            continue
        name = path.relative_to(root).as_posix()
        if not only or any(k in name for k in only):
            found.append(path)
    return found


# --- Run All -----------------------------------------------------------------------------------


def run_all(notebook: Path, folder: Path, output: Path) -> dict:
    """Plain papermill Run All; the executed document, even when a cell failed."""
    import papermill

    try:
        with kit.PAPERMILL_CWD:  # papermill's cwd is os.chdir: one Run All at a time (--jobs)
            papermill.execute_notebook(
                str(notebook),
                str(output),
                kernel_name="python3",
                cwd=str(folder),
                progress_bar=False,
                execution_timeout=CELL_TIMEOUT,
            )
    except Exception:  # a failing cell (or a timeout): the executed part is what counts
        if not output.exists():
            raise
    document = json.loads(output.read_text(encoding="utf-8"))
    document["cells"] = [
        c
        for c in document["cells"]
        if kit.PAPERMILL_MARKER not in ((c.get("metadata") or {}).get("tags") or [])
    ]
    return document


def first_failure(document: dict) -> int | None:
    """The number of the first code cell that raised or never ran (None: all ran)."""
    for number, cell in enumerate(document["cells"], start=1):
        if cell.get("cell_type") != "code":
            continue
        outputs = cell.get("outputs", [])
        if any(o.get("output_type") == "error" for o in outputs):
            return number
        status = ((cell.get("metadata") or {}).get("papermill") or {}).get("status")
        if status not in (None, "completed"):
            return number
    return None


def trimmed(source: dict, before: int | None) -> dict:
    document = json.loads(json.dumps(source))
    if before is not None:
        document["cells"] = document["cells"][: before - 1]
    for cell in document["cells"]:
        if cell.get("cell_type") == "code":
            cell["outputs"], cell["execution_count"] = [], None
            (cell.setdefault("metadata", {})).pop("tags", None)
    # Every notebook runs in this environment's kernel, whatever it was written with.
    document.setdefault("metadata", {})["kernelspec"] = dict(KERNELSPEC)
    return document


def plain_runs(notebook: Path, scratch: Path) -> Plain | str:
    """Two plain Run Alls of the notebook's part that runs; a string says why it is skipped."""
    source = json.loads(notebook.read_text(encoding="utf-8"))
    first = scratch / "plain1"
    copy_folder(notebook, first)
    before = kit.snapshot(first)
    document = run_all(first / notebook.name, first, scratch / "plain1.ipynb")
    failed = first_failure(document)
    keep = trimmed(source, failed)
    if sum(c.get("cell_type") == "code" for c in keep["cells"]) < 2:
        where = f" before the first failure (cell {failed})" if failed else ""
        return f"fewer than two code cells run{where}"
    files_one = kit.written(before, kit.snapshot(first))

    second = scratch / "plain2"
    copy_folder(notebook, second)
    (second / notebook.name).write_text(json.dumps(keep), encoding="utf-8")
    before_two = kit.snapshot(second)
    again = run_all(second / notebook.name, second, scratch / "plain2.ipynb")
    files_two = kit.written(before_two, kit.snapshot(second))

    norm = Normaliser([first, second, scratch])
    cells, code = kit.notebook_cells(document, norm)
    cells_two, _ = kit.notebook_cells(again, norm)
    limit = len(keep["cells"])
    cells = {n: t for n, t in cells.items() if n <= limit}
    code = {n for n in code if n <= limit}
    unstable = {n for n in code if cells_two.get(n) != cells.get(n)}
    stable_files = {k: v for k, v in files_one.items() if files_two.get(k) == v}
    note = f"cells after {failed - 1} left out (cell {failed} fails in Run All)" if failed else ""
    return Plain(keep, cells, code, stable_files, unstable, note)


# --- splits ------------------------------------------------------------------------------------


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")[:24] or "part"


def split(document: dict, how: str) -> tuple[dict, int]:
    """A copy tagged `step:` by the split `how`; the number of steps."""
    tagged = json.loads(json.dumps(document))
    heading: str | None = "start"  # the title a step starting at the next code cell gets
    code = steps = 0
    for cell in tagged["cells"]:
        source = "".join(cell.get("source") or "")
        if cell.get("cell_type") == "markdown" and how == "headings":
            titles = [line for line in source.splitlines() if re.match(r"#{1,6}\s", line)]
            if titles:
                heading = titles[0].lstrip("#").strip()
        if cell.get("cell_type") != "code":
            continue
        starts = heading is not None if how == "headings" else code % EVERY == 0
        if starts:
            steps += 1
            label = _slug(heading or "") if how == "headings" else f"cells_{code + 1}"
            cell.setdefault("metadata", {})["tags"] = [f"step:s{steps:02d}_{label}"]
            heading = None
        code += 1
    return tagged, steps


# --- one pipeline run ---------------------------------------------------------------------------


def judge_split(notebook: Path, plain: Plain, how: str, scratch: Path) -> Result:
    started = time.monotonic()
    document, steps = split(plain.document, how)
    result = Result(notebook.name, how, "failed silently", steps=steps)
    compared = plain.code - plain.unstable
    result.cells = len(compared)
    folder = scratch / f"pipeline-{how}"
    copy_folder(notebook, folder)
    (folder / notebook.name).write_text(json.dumps(document, indent=1), encoding="utf-8")
    before = kit.snapshot(folder)
    env = no_tracking_env()

    check = subprocess.run(
        [str(NB2PIPE), "check", notebook.name],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    result.lines = kit.diagnostics(check.stdout, check.stderr)
    if check.returncode == 2:
        errors = [line for line in check.stderr.splitlines() if line.startswith("error:")]
        proper = kit.naming(errors, notebook.name, "error")
        if len(errors) == 1 and proper:
            result.outcome, result.reason = "refused", errors[0]
        else:
            result.reason = f"check exit 2 without one proper error line: {check.stderr[-300:]}"
        result.seconds = time.monotonic() - started
        return result
    if check.returncode != 0:
        result.outcome = "failed in generated code"
        result.reason = f"nb2pipe check crashed: {check.stderr.strip()[-300:]}"
        result.seconds = time.monotonic() - started
        return result

    try:
        run = subprocess.run(
            [str(NB2PIPE), "run", notebook.name],
            cwd=folder,
            env=env,
            capture_output=True,
            text=True,
            timeout=RUN_TIMEOUT,
        )
    except subprocess.TimeoutExpired:
        result.reason = f"nb2pipe run took more than {RUN_TIMEOUT} s"
        result.seconds = time.monotonic() - started
        return result
    result.lines += kit.diagnostics(run.stdout, run.stderr)
    named = kit.naming(result.lines, notebook.name)
    warnings = [line for line in named if line.startswith("warning:")]

    norm = Normaliser([folder, scratch / "plain1", scratch / "plain2", scratch])
    runs = sorted((folder / ".nb2pipe" / "runs").glob("*/"))
    pipeline = kit.pipeline_cells(runs[-1], norm) if runs else {}
    pipeline = {n: copies for n, copies in pipeline.items() if n not in plain.unstable}
    expected = {n for n in plain.code if n not in plain.unstable}
    notebook_run = kit.NotebookRun(plain.cells, plain.code, plain.files, 0.0)
    differences = kit.compare_cells(notebook_run, pipeline, expected)
    pipeline_files = kit.written(before, kit.snapshot(folder))
    differences += kit.compare_files(
        plain.files, {k: v for k, v in pipeline_files.items() if k in plain.files}
    )

    if run.returncode != 0:
        generated = generated_failure(runs[-1]) if runs else None
        if generated:
            result.outcome, result.reason = "failed in generated code", generated
        elif named:
            result.outcome, result.reason = "failed with a line", named[-1]
        else:
            tail = " / ".join(run.stderr.strip().splitlines()[-3:])
            result.reason = f"run exit {run.returncode} without a line naming a cell: {tail}"
    elif warnings:
        result.outcome = "warned"
        result.reason = warnings[0] + (f" (differs: {differences[0]})" if differences else "")
    elif differences:
        result.outcome, result.reason = "silent difference", differences[0]
    else:
        result.outcome, result.reason = "equal", ""
    result.seconds = time.monotonic() - started
    return result


def generated_failure(run_dir: Path) -> str | None:
    """Where a step failed in a cell nb2pipe wrote (not one of its own checks), if it did."""
    for executed in sorted(run_dir.glob("*/notebook.ipynb")):
        try:
            document = json.loads(executed.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        for cell in document.get("cells", []):
            meta = (cell.get("metadata") or {}).get("nb2pipe") or {}
            for output in cell.get("outputs", []):
                if output.get("output_type") != "error":
                    continue
                role = meta.get("role")
                if role in GENERATED_ROLES and output.get("ename") not in NB2PIPE_CHECKS:
                    return (
                        f"step {executed.parent.name}, {role} cell: "
                        f"{output.get('ename')}: {str(output.get('evalue'))[:200]}"
                    )
    return None


# --- the whole corpus --------------------------------------------------------------------------


def judge(notebook: Path, root: Path, splits: list[str], keep: Path | None) -> list[Result]:
    name = notebook.relative_to(root).as_posix()
    scratch = Path(tempfile.mkdtemp(prefix="nb2pipe-public-"))
    try:
        try:
            plain = plain_runs(notebook, scratch)
        except Exception as e:  # the notebook itself cannot run here
            plain = f"Run All could not start: {type(e).__name__}: {e}"
        if isinstance(plain, str):
            return [Result(name, how, "skipped", plain) for how in splits]
        results = []
        for how in splits:
            result = judge_split(notebook, plain, how, scratch)
            result.notebook = name
            if plain.note and result.outcome != "equal":
                result.reason = f"{result.reason} [{plain.note}]"
            results.append(result)
        return results
    finally:
        if keep is not None:
            target = keep / name.replace("/", "__")
            shutil.rmtree(target, ignore_errors=True)
            shutil.copytree(scratch, target, symlinks=True)
        shutil.rmtree(scratch, ignore_errors=True)


def table(results: list[Result], splits: list[str]) -> str:
    lines = []
    for how in splits:
        rows = [r for r in results if r.split == how and r.outcome != "skipped"]
        counts = {o: sum(r.outcome == o for r in rows) for o in OUTCOMES}
        total = len(rows)
        share = 100.0 * counts["equal"] / total if total else 0.0
        lines.append(f"split {how}: {total} notebooks, {counts['equal']} equal ({share:.0f}%)")
        lines.append("  " + ", ".join(f"{o} {n}" for o, n in counts.items()))
        for r in rows:
            if r.outcome != "equal":
                lines.append(f"  - {r.notebook}: {r.outcome}: {r.reason[:300]}")
    skipped = sorted({r.notebook for r in results if r.outcome == "skipped"})
    if skipped:
        lines.append(f"skipped {len(skipped)}: " + ", ".join(skipped))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--split", choices=[*SPLITS, "both"], default="both")
    parser.add_argument("--jobs", type=int, default=1, help="notebooks judged at once")
    parser.add_argument("-k", dest="only", action="append", default=[], help="names containing")
    parser.add_argument("--json", type=Path, help="write every result here")
    parser.add_argument("--keep", type=Path, help="keep each notebook's folders here")
    args = parser.parse_args(argv)
    root = args.folder.resolve()
    splits = list(SPLITS) if args.split == "both" else [args.split]
    notebooks = find_notebooks(root, args.only)
    if not notebooks:
        print(f"error: no notebooks under {root}", file=sys.stderr)
        return 2
    results: list[Result] = []
    with ThreadPoolExecutor(max(1, args.jobs)) as pool:
        futures = [pool.submit(judge, nb, root, splits, args.keep) for nb in notebooks]
        for future in futures:
            for result in future.result():
                results.append(result)
                print(
                    f"{result.notebook} [{result.split}]: {result.outcome} "
                    f"({result.steps} steps, {result.cells} cells, {result.seconds:.0f} s) "
                    f"{result.reason[:200]}",
                    flush=True,
                )
                if args.json:
                    args.json.parent.mkdir(parents=True, exist_ok=True)
                    data = [asdict(r) for r in results]
                    args.json.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    print()
    print(table(results, splits))
    bad = {"failed in generated code", "silent difference", "failed silently"}
    return 1 if any(r.outcome in bad for r in results) else 0


if __name__ == "__main__":
    os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    sys.exit(main())
