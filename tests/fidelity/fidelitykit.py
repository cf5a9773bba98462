"""The fidelity judge: does `nb2pipe run` compute what Run All computes, or say why not?

For one corpus notebook: `nb2pipe check` in folder A (exit 2 = refused: one `error:` line
naming the notebook and a cell); otherwise plain papermill Run All in folder A and `nb2pipe run`
in folder B, then the text outputs of every step cell are compared with the same source cell
of Run All, and the files each side wrote are compared too. The outcome is

* ``equal``: the run succeeded and nothing differs;
* ``warned``: something differs, or the run failed, and a `warning:`/`error:` line names the
  notebook and a cell;
* ``refused``: `nb2pipe check` refused the notebook with one proper `error:` line;
* ``failed``: a silent difference, or a failure nb2pipe did not explain in such a line.

Importable as `fidelitykit` from the tests of this folder.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

from support.commands import NB2PIPE, no_tracking_env

CORPUS = Path(__file__).resolve().parent / "corpus"
PUBLIC = CORPUS / "public"
KINDS = ("equal", "warned", "refused")
RUN_TIMEOUT = 420.0

# Tags that take a cell out of the steps: untagged cells below such a cell inherit the role
# (Kale's rule), so the judge does not expect to find them in a step either.
NON_STEP_ROLES = {"skip", "parameters", "pipeline-parameters", "imports", "functions"}
STEP_STARTS = ("step:", "block:")
METRICS_TAGS = {"metrics", "pipeline-metrics"}
PAPERMILL_MARKER = "papermill-error-cell-tag"  # cells papermill inserts when a cell raised
STEP_CELL_ROLES_SKIPPED = {"imports", "functions", "parameters", "header", "load", "save"}
EXISTENCE_ONLY = {".png", ".jpg", ".jpeg", ".svg", ".pdf", ".gif"}  # embed timestamps
IGNORED_PARTS = {".nb2pipe", "__pycache__", ".ipynb_checkpoints", "mlruns", "mlartifacts"}
IGNORED_FILES = {"mlflow.db"}


# --- the corpus --------------------------------------------------------------------------------


@dataclass
class Case:
    """One corpus notebook and what a correct nb2pipe must do with it."""

    name: str  # test id: "mut_alias" or "public/papermill_simple_execute"
    filename: str  # the notebook's file name inside its folder
    expect: str
    pattern: str
    accept: list[str] = field(default_factory=list)  # other outcomes that are also correct
    mentions: list[str] = field(default_factory=list)  # words the refusal must contain
    isolation_process: bool = False
    build: Callable[[Path], dict] | None = None  # writes the notebook; returns its JSON

    def allowed(self) -> list[str]:
        return [self.expect, *self.accept]


def _spec(meta: dict, where: str) -> dict:
    spec = meta.get("nb2pipe_fidelity")
    if not isinstance(spec, dict) or spec.get("expect") not in KINDS or not spec.get("pattern"):
        raise ValueError(f"{where}: metadata.nb2pipe_fidelity needs expect and pattern")
    for other in spec.get("accept", []):
        if other not in KINDS:
            raise ValueError(f"{where}: accept lists unknown outcome {other!r}")
    return spec


def cases() -> list[Case]:
    """Every notebook of the corpus: ours (*.ipynb), then the public overlays (public/*.json)."""
    out = []
    for path in sorted(CORPUS.glob("*.ipynb")):
        document = json.loads(path.read_text(encoding="utf-8"))
        spec = _spec(document.get("metadata", {}), path.name)
        out.append(_case(path.stem, path.name, spec, _copier(path)))
    for path in sorted(PUBLIC.glob("*.json")):
        overlay = json.loads(path.read_text(encoding="utf-8"))
        spec = _spec(overlay, path.name)
        build = _overlay(overlay, path.stem)
        out.append(_case(f"public/{path.stem}", f"{path.stem}.ipynb", spec, build))
    return out


def _case(name: str, filename: str, spec: dict, build) -> Case:
    return Case(
        name=name,
        filename=filename,
        expect=spec["expect"],
        pattern=spec["pattern"],
        accept=list(spec.get("accept", [])),
        mentions=list(spec.get("mentions", [])),
        isolation_process=bool(spec.get("isolation_process")),
        build=build,
    )


def _copier(path: Path):
    def build(folder: Path) -> dict:
        shutil.copyfile(path, folder / path.name)
        return json.loads(path.read_text(encoding="utf-8"))

    return build


def public_source(origin: dict) -> Path:
    """The file a public overlay starts from, inside an installed distribution."""
    from importlib.metadata import distribution

    return Path(distribution(origin["distribution"]).locate_file(origin["path"]))


def _overlay(overlay: dict, name: str):
    """A public notebook, read from the package that ships it, with our tags added.

    Only cell metadata changes (tags), and the cells listed in `drop_cells` are trimmed (they
    need a library or the network); the code is the project's own, byte for byte.
    """

    def build(folder: Path) -> dict:
        origin = overlay["origin"]
        source = public_source(origin)
        data = source.read_bytes()
        digest = hashlib.sha256(data).hexdigest()
        if digest != origin["sha256"]:
            raise AssertionError(
                f"{source} changed (sha256 {digest}, the overlay was written for "
                f"{origin['sha256']}): review the overlay's tags and update its sha256"
            )
        document = json.loads(data)
        for number, tags in overlay.get("add_tags", {}).items():
            cell = document["cells"][int(number) - 1]
            cell.setdefault("metadata", {}).setdefault("tags", [])
            cell["metadata"]["tags"] = (cell["metadata"]["tags"] or []) + tags
        drop = {int(n) for n in overlay.get("drop_cells", [])}
        document["cells"] = [c for i, c in enumerate(document["cells"], 1) if i not in drop]
        document.setdefault("metadata", {})["nb2pipe_fidelity"] = overlay["nb2pipe_fidelity"]
        kernelspec = document["metadata"].setdefault("kernelspec", {})
        kernelspec.setdefault("name", "python3")
        (folder / f"{name}.ipynb").write_text(json.dumps(document, indent=1), encoding="utf-8")
        return document

    return build


def prepare(case: Case, folder: Path) -> dict:
    """Lay out a fresh folder: the notebook, the corpus data and its local modules."""
    folder.mkdir(parents=True)
    shutil.copytree(CORPUS / "data", folder / "data")
    for module in CORPUS.glob("*.py"):
        shutil.copyfile(module, folder / module.name)
    return case.build(folder)


# --- what each side printed, cell by cell ------------------------------------------------------


@dataclass
class CellText:
    """The comparable text of one executed cell."""

    stdout: str = ""
    results: list[str] = field(default_factory=list)  # text/plain of results and displays
    errors: list[str] = field(default_factory=list)  # "ename: evalue"

    def empty(self) -> bool:
        return not (self.stdout or self.results or self.errors)


class Normaliser:
    """Removes what legitimately differs between two runs: addresses, timings, tmp folders."""

    def __init__(self, folders: list[Path]):
        paths = set()
        for folder in folders:
            paths |= {str(folder), str(folder.resolve())}
        self.paths = sorted(paths, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for path in self.paths:
            text = text.replace(path, "<DIR>")
        text = re.sub(r"0x[0-9a-fA-F]+", "0x?", text)
        lines = []
        for line in text.split("\n"):
            if re.match(r"\s*(CPU times|Wall time):", line):
                continue
            if re.search(r"per loop \(mean", line):
                line = "<timeit>"
            lines.append(line)
        return "\n".join(lines)


def _text(value) -> str:
    return "".join(value) if isinstance(value, list) else str(value or "")


def cell_text(outputs: list[dict], norm: Normaliser) -> CellText:
    out = CellText()
    stdout = []
    for output in outputs:
        kind = output.get("output_type")
        if kind == "stream":
            if output.get("name") == "stdout":
                stdout.append(_text(output.get("text")))
        elif kind in ("execute_result", "display_data"):
            plain = (output.get("data") or {}).get("text/plain")
            if plain is not None:
                out.results.append(norm(_text(plain)))
        elif kind == "error":
            out.errors.append(norm(f"{output.get('ename')}: {output.get('evalue')}"))
    out.stdout = norm("".join(stdout))
    return out


@dataclass
class NotebookRun:
    """Run All of the source notebook with plain papermill: text per cell number, files."""

    cells: dict[int, CellText]
    code_cells: set[int]
    files: dict[str, str]
    seconds: float


# held around every papermill run of this process (public.py's too): see run_papermill
PAPERMILL_CWD = threading.Lock()


def run_papermill(folder: Path, filename: str, output: Path) -> tuple[dict, float]:
    """Execute the notebook top to bottom (papermill's Run All); return the executed JSON."""
    import papermill

    started = time.monotonic()
    try:
        # papermill runs the kernel in `cwd` by changing this whole process's working folder
        # (os.chdir): two cases judged side by side (Scheduler) would write into each other's
        # folders, so Run All runs one at a time (the nb2pipe runs are processes of their own).
        with PAPERMILL_CWD:
            papermill.execute_notebook(
                str(folder / filename),
                str(output),
                kernel_name="python3",
                cwd=str(folder),
                progress_bar=False,
            )
    except papermill.PapermillExecutionError:
        # papermill raises after the run when any cell errored, even a cell tagged
        # raises-exception (nbclient went on past it). Only those are allowed here.
        document = json.loads(output.read_text(encoding="utf-8"))
        for cell in document["cells"]:
            raised = any(o.get("output_type") == "error" for o in cell.get("outputs", []))
            tags = (cell.get("metadata") or {}).get("tags") or []
            if raised and "raises-exception" not in tags:
                raise
    seconds = time.monotonic() - started
    document = json.loads(output.read_text(encoding="utf-8"))
    document["cells"] = [
        c
        for c in document["cells"]
        if PAPERMILL_MARKER not in ((c.get("metadata") or {}).get("tags") or [])
        and "injected-parameters" not in ((c.get("metadata") or {}).get("tags") or [])
    ]
    return document, seconds


def notebook_cells(document: dict, norm: Normaliser) -> tuple[dict[int, CellText], set[int]]:
    cells, code = {}, set()
    for number, cell in enumerate(document["cells"], start=1):
        if cell.get("cell_type") == "code":
            code.add(number)
            cells[number] = cell_text(cell.get("outputs", []), norm)
    return cells, code


def expected_step_cells(source: dict) -> set[int]:
    """Source code cells that belong to some step, by the tags alone (our dialect and Kale's):
    not parameters/imports/functions/skip, nor an untagged cell that follows one of those."""
    expected, inherited = set(), False
    for number, cell in enumerate(source["cells"], start=1):
        if cell.get("cell_type") != "code":
            continue
        tags = set((cell.get("metadata") or {}).get("tags") or [])
        if tags & NON_STEP_ROLES:
            inherited = True
            continue
        if any(t.startswith(STEP_STARTS) for t in tags) or tags & METRICS_TAGS:
            inherited = False
        if not inherited:
            expected.add(number)
    return expected


@dataclass
class StepCell:
    step: str
    text: CellText


def pipeline_cells(run_dir: Path, norm: Normaliser) -> dict[int, list[StepCell]]:
    """The step cells of every executed step notebook, by their source cell number."""
    out: dict[int, list[StepCell]] = {}
    for notebook in sorted(run_dir.glob("*/notebook.ipynb")):
        try:
            document = json.loads(notebook.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            continue
        for cell in document.get("cells", []):
            meta = (cell.get("metadata") or {}).get("nb2pipe") or {}
            if cell.get("cell_type") != "code" or "cell" not in meta:
                continue
            if meta.get("role") in STEP_CELL_ROLES_SKIPPED:
                continue
            text = cell_text(cell.get("outputs", []), norm)
            out.setdefault(int(meta["cell"]), []).append(StepCell(notebook.parent.name, text))
    return out


# --- files -------------------------------------------------------------------------------------


def snapshot(folder: Path) -> dict[str, str]:
    """Relative path → content digest ("exists" for formats that embed timestamps)."""
    out = {}
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder)
        if not path.is_file() or set(rel.parts) & IGNORED_PARTS or rel.name in IGNORED_FILES:
            continue
        if path.suffix.lower() in EXISTENCE_ONLY:
            out[rel.as_posix()] = "exists"
        else:
            out[rel.as_posix()] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def written(before: dict[str, str], after: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in after.items() if before.get(k) != v}


def compare_files(notebook: dict[str, str], pipeline: dict[str, str]) -> list[str]:
    diffs = []
    for rel in sorted(set(notebook) | set(pipeline)):
        if rel not in pipeline:
            diffs.append(f"file {rel}: written by the notebook, not by the pipeline")
        elif rel not in notebook:
            diffs.append(f"file {rel}: written by the pipeline, not by the notebook")
        elif notebook[rel] != pipeline[rel]:
            diffs.append(f"file {rel}: contents differ")
    return diffs


# --- comparing and judging ---------------------------------------------------------------------


def _short(text: str, limit: int = 160) -> str:
    text = text if len(text) <= limit else text[: limit - 1] + "…"
    return json.dumps(text, ensure_ascii=False)


def _first_difference(a: str, b: str) -> str:
    left, right = a.split("\n"), b.split("\n")
    for i, (x, y) in enumerate(zip(left, right, strict=False)):
        if x != y:
            return f"line {i + 1}: notebook {_short(x)} vs pipeline {_short(y)}"
    if len(left) != len(right):
        longer, who = (left, "notebook") if len(left) > len(right) else (right, "pipeline")
        extra = "\n".join(longer[min(len(left), len(right)) :])
        return f"only the {who} printed {_short(extra)}"
    return "whitespace differs"


def compare_cells(
    notebook: NotebookRun, pipeline: dict[int, list[StepCell]], expected: set[int]
) -> list[str]:
    """Differences, one line each, in cell order."""
    diffs: list[tuple[int, str]] = []
    for number, copies in sorted(pipeline.items()):
        if number not in notebook.code_cells:
            diffs.append((number, f"cell {number}: in the pipeline but not a code cell of Run All"))
            continue
        want = notebook.cells[number]
        for copy in copies:
            got, where = copy.text, f"cell {number} (step {copy.step})"
            if want.stdout != got.stdout:
                diffs.append(
                    (number, f"{where}: stdout, {_first_difference(want.stdout, got.stdout)}")
                )
            if want.results != got.results:
                diffs.append(
                    (
                        number,
                        f"{where}: results {_short(' | '.join(want.results))} in the notebook, "
                        f"{_short(' | '.join(got.results))} in the pipeline",
                    )
                )
            if want.errors != got.errors:
                diffs.append(
                    (
                        number,
                        f"{where}: errors {_short('; '.join(want.errors) or 'none')} in the "
                        f"notebook, {_short('; '.join(got.errors) or 'none')} in the pipeline",
                    )
                )
    for number in sorted(expected - set(pipeline)):
        text = notebook.cells.get(number)
        if text is not None and not text.empty():
            shown = text.stdout or " | ".join(text.results) or "; ".join(text.errors)
            diffs.append(
                (number, f"cell {number}: printed {_short(shown)} in the notebook; no step ran it")
            )
    return [d for _, d in sorted(diffs, key=lambda item: item[0])]


@dataclass
class Outcome:
    """The judgement of one notebook under one isolation."""

    notebook: str
    isolation: str
    expect: str
    accept: list[str]
    actual: str = "failed"
    reason: str = ""
    diagnostics: list[str] = field(default_factory=list)  # warning:/error: lines of nb2pipe
    differences: list[str] = field(default_factory=list)
    seconds: float = 0.0
    mentions: list[str] = field(default_factory=list)
    pipeline: dict[int, list[StepCell]] = field(default_factory=dict, repr=False)

    @property
    def ok(self) -> bool:
        return self.actual in (self.expect, *self.accept) and not self.mention_problem()

    def mention_problem(self) -> str:
        if self.actual != "refused" or not self.mentions:
            return ""
        text = " ".join(self.diagnostics)
        missing = [m for m in self.mentions if not re.search(rf"\b{re.escape(m)}\b", text)]
        return f"the refusal does not name {', '.join(missing)}" if missing else ""

    def summary(self) -> dict:
        data = asdict(self)
        data.pop("pipeline")
        data["ok"] = self.ok
        data["differences"] = self.differences[:10]
        data["seconds"] = round(self.seconds, 1)
        return data


def diagnostics(*texts: str) -> list[str]:
    return [
        line.strip()
        for text in texts
        for line in text.splitlines()
        if line.startswith(("warning:", "error:"))
    ]


def naming(lines: list[str], filename: str, kind: str = "warning|error") -> list[str]:
    """The lines that name the notebook file and a cell: `error: …/nb.ipynb: cell 7: …`."""
    pattern = re.compile(rf"^(?:{kind}): (?:.*/)?{re.escape(filename)}: cell \d+: ")
    return [line for line in lines if pattern.match(line)]


# Every judgement of this session, for the summary (conftest.py).
OUTCOMES: list[Outcome] = []

# Run All results are the same for every isolation: computed once per notebook.
_NOTEBOOK_RUNS: dict[str, NotebookRun] = {}


def judge(case: Case, tmp: Path, isolation: str = "kernel") -> Outcome:
    started = time.monotonic()
    outcome = Outcome(case.name, isolation, case.expect, case.accept, mentions=case.mentions)
    folder_a, folder_b = tmp / "a", tmp / "b"
    source = prepare(case, folder_a)
    prepare(case, folder_b)
    before = snapshot(folder_a)
    env = no_tracking_env()

    check = subprocess.run(
        [str(NB2PIPE), "check", case.filename],
        cwd=folder_a,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    outcome.diagnostics = diagnostics(check.stdout, check.stderr)
    if check.returncode == 2:
        errors = [line for line in check.stderr.splitlines() if line.startswith("error:")]
        proper = naming(errors, case.filename, "error")
        if len(errors) == 1 and proper:
            outcome.actual, outcome.reason = "refused", errors[0]
        else:
            outcome.reason = (
                "nb2pipe check refused (exit 2) without exactly one `error: FILE: cell N: …` "
                f"line; stderr: {_short(check.stderr, 400)}"
            )
        outcome.seconds = time.monotonic() - started
        return outcome
    if check.returncode != 0:
        outcome.reason = (
            f"nb2pipe check crashed (exit {check.returncode}): {_short(check.stderr[-400:], 400)}"
        )
        outcome.seconds = time.monotonic() - started
        return outcome

    # The pipeline runs in its own process while Run All runs here: the two overlap.
    log_out, log_err = tmp / "run.stdout", tmp / "run.stderr"
    with log_out.open("w") as out, log_err.open("w") as err:
        process = subprocess.Popen(
            [str(NB2PIPE), "run", case.filename, "--isolation", isolation],
            cwd=folder_b,
            env=env,
            stdout=out,
            stderr=err,
            start_new_session=True,  # its kernels too can be stopped on a timeout
        )
        try:
            notebook = _notebook_run(case, folder_a, tmp, before, folder_b)
            returncode = process.wait(timeout=RUN_TIMEOUT)
        except BaseException:
            _stop(process)
            raise
    run_stdout, run_stderr = log_out.read_text(), log_err.read_text()
    outcome.diagnostics += diagnostics(run_stdout, run_stderr)

    norm = Normaliser([folder_a, folder_b, tmp])
    runs = sorted((folder_b / ".nb2pipe" / "runs").glob("*/"))
    outcome.pipeline = pipeline_cells(runs[-1], norm) if runs else {}
    differences = compare_cells(notebook, outcome.pipeline, expected_step_cells(source))
    differences += compare_files(notebook.files, written(before, snapshot(folder_b)))
    outcome.differences = differences
    named = naming(outcome.diagnostics, case.filename)

    if returncode != 0:
        if named:
            outcome.actual, outcome.reason = "warned", f"run exit {returncode}: {named[-1]}"
        else:
            tail = run_stderr.strip().splitlines()[-3:]
            outcome.reason = (
                f"nb2pipe run exited {returncode} without an `error: {case.filename}: cell N: …` "
                f"line: {_short(' / '.join(tail), 400)}"
            )
    elif not differences:
        outcome.actual = "equal"
        outcome.reason = "outputs and files equal Run All's"
    elif named:
        outcome.actual, outcome.reason = "warned", f"{differences[0]} — warned: {named[0]}"
    else:
        outcome.reason = f"silent difference in {differences[0]}"
    outcome.seconds = time.monotonic() - started
    return outcome


def _notebook_run(case: Case, folder: Path, tmp: Path, before: dict, other: Path) -> NotebookRun:
    cached = _NOTEBOOK_RUNS.get(case.name)
    if cached is None:
        document, seconds = run_papermill(folder, case.filename, tmp / "run-all.ipynb")
        cells, code = notebook_cells(document, Normaliser([folder, other, tmp]))
        files = written(before, snapshot(folder))
        cached = _NOTEBOOK_RUNS[case.name] = NotebookRun(cells, code, files, seconds)
    return cached


def _stop(process: subprocess.Popen) -> None:
    """Stop the `nb2pipe run` this judge started, with the kernels it started."""
    if process.poll() is None:
        try:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=10)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def isolation_differences(a: Outcome, b: Outcome) -> list[str]:
    """Step outputs that differ between two runs of the same notebook (two isolations)."""
    diffs = []
    for number in sorted(set(a.pipeline) | set(b.pipeline)):
        left = [c.text for c in a.pipeline.get(number, [])]
        right = [c.text for c in b.pipeline.get(number, [])]
        if left != right:
            shown = [" | ".join([t.stdout, *t.results, *t.errors]) for t in (*left[:1], *right[:1])]
            diffs.append(
                f"cell {number}: {a.isolation} vs {b.isolation}: {_short(' ≠ '.join(shown))}"
            )
    return diffs


class Scheduler:
    """Judges the notebooks the session will test ahead of the tests that ask for them, `jobs`
    at a time (NB2PIPE_FIDELITY_JOBS, default 2), in the tests' order: one notebook's kernel
    start-ups and imports overlap another's steps."""

    def __init__(self) -> None:
        self.plan: list[tuple[Case, str]] = []  # (case, isolation) in test order (conftest.py)
        self.jobs = max(1, int(os.environ.get("NB2PIPE_FIDELITY_JOBS", "2")))
        self._pool: ThreadPoolExecutor | None = None
        self._futures: dict[tuple[str, str], Future] = {}

    def outcome(self, case: Case, isolation: str, tmp_factory) -> Outcome:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.jobs, thread_name_prefix="fidelity")
        keys = [(c.name, i) for c, i in self.plan]
        key = (case.name, isolation)
        ahead = self.plan[keys.index(key) :][: self.jobs] if key in keys else []
        for c, i in [(case, isolation), *ahead]:
            if (c.name, i) not in self._futures:
                folder = tmp_factory.mktemp(f"{c.name.replace('/', '-')}-{i}")
                self._futures[(c.name, i)] = self._pool.submit(judge, c, folder, i)
        return self._futures[key].result()

    def shutdown(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)


SCHEDULER = Scheduler()
