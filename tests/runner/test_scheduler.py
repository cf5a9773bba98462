"""Scheduling: independent steps overlap, bounded by max_parallel; kernels are reused or not."""

from __future__ import annotations

import pytest
from runkit import code, meta, run, statuses, write_notebook

from nb2pipe import artifacts
from nb2pipe.runner import events as ev

pytestmark = pytest.mark.slow

SLEEP = 1.5
ALL_DONE = {"left": "done", "right": "done", "join": "done"}

# Each branch says it started, then waits (at most `wait_for_other` seconds) until the other
# one has started too, then sleeps. The wait makes the overlap independent of how long the
# second kernel takes to start on a busy machine; if the runner never ran both at once, the
# first branch gives up waiting and the spans do not overlap.
MEET = """\
def meet(me, other, marker_dir, wait_for_other):
    Path(marker_dir, me).touch()
    deadline = time.time() + wait_for_other
    while not Path(marker_dir, other).exists() and time.time() < deadline:
        time.sleep(0.05)
"""


def branch(me: str, other: str) -> str:
    return (
        f"{me}_span = [time.time()]\n"
        f"{me}_pid = os.getpid()\n"
        f"meet({me!r}, {other!r}, marker_dir, wait_for_other)\n"
        f"time.sleep(delay)\n"
        f"{me}_span.append(time.time())"
    )


def branches_notebook(folder):
    """Two independent first steps, each sleeping SLEEP s; `join` compares their time spans."""
    return write_notebook(
        folder / "branches.ipynb",
        code(f'delay = {SLEEP}\nwait_for_other = 30.0\nmarker_dir = "."', "parameters"),
        code("import os\nimport time\nfrom pathlib import Path", "imports"),
        code(MEET, "functions"),
        code(branch("left", "right"), "step:left"),
        code(branch("right", "left"), "step:right"),
        code(
            "overlap = min(left_span[1], right_span[1]) - max(left_span[0], right_span[0])\n"
            "two_kernels = float(left_pid != right_pid)",
            "step:join",
        ),
        code("overlap_seconds = overlap\ntwo_kernels = two_kernels", "metrics"),
    )


def overlap(a: list[float], b: list[float]) -> bool:
    return max(a[0], b[0]) < min(a[1], b[1])


@pytest.fixture(scope="module")
def branches(tmp_path_factory):
    folder = tmp_path_factory.mktemp("branches")
    notebook = branches_notebook(folder)
    source = notebook.read_bytes()
    workspace = folder / ".nb2pipe"
    markers = tmp_path_factory.mktemp("markers")
    (markers / "parallel").mkdir()
    (markers / "serial").mkdir()
    events: list[ev.Event] = []
    parallel = run(
        notebook,
        workspace,
        max_parallel=2,
        params={"marker_dir": str(markers / "parallel")},
        observers=[events.append],
    )
    # One slot: the first branch must not wait for a second that cannot start.
    serial = run(
        notebook,
        workspace,
        max_parallel=1,
        params={"marker_dir": str(markers / "serial"), "wait_for_other": 0.0},
    )
    return folder, notebook, source, parallel, serial, events


def spans(result) -> tuple[list[float], list[float]]:
    return (
        artifacts.load(result.run_dir, "left", "left_span"),
        artifacts.load(result.run_dir, "right", "right_span"),
    )


def meta_span(result, step: str) -> list[float]:
    data = meta(result, step)
    return [data["start"], data["end"]]


def test_independent_steps_overlap_with_two_slots(branches):
    *_, parallel, _serial, _events = branches
    assert statuses(parallel) == ALL_DONE
    left, right = spans(parallel)
    assert overlap(left, right), (left, right)
    assert overlap(meta_span(parallel, "left"), meta_span(parallel, "right"))
    assert parallel.metrics["overlap_seconds"] > 0  # as seen by the step reading both
    assert parallel.metrics["two_kernels"] == 1.0


def test_independent_steps_do_not_overlap_with_one_slot(branches):
    *_, serial, _events = branches
    assert statuses(serial) == ALL_DONE
    left, right = spans(serial)
    assert not overlap(left, right), (left, right)
    assert not overlap(meta_span(serial, "left"), meta_span(serial, "right"))
    assert serial.metrics["overlap_seconds"] < 0
    assert serial.metrics["two_kernels"] == 0.0  # one slot, one warm kernel, reused
    assert serial.duration > 2 * SLEEP


def test_events_arrive_in_dependency_order(branches):
    *_, events = branches
    assert events[0].kind == ev.RUN_STARTED
    assert events[-1].kind == ev.RUN_FINISHED
    assert events[-1].data["result"].ok
    order = [(e.kind, e.step) for e in events[1:-1]]
    for step in ("left", "right", "join"):
        assert order.index((ev.STEP_STARTED, step)) < order.index((ev.STEP_FINISHED, step))
    join_started = order.index((ev.STEP_STARTED, "join"))
    assert order.index((ev.STEP_FINISHED, "left")) < join_started
    assert order.index((ev.STEP_FINISHED, "right")) < join_started


def test_sources_are_never_written(branches):
    folder, notebook, source, *_ = branches
    assert notebook.read_bytes() == source
    assert sorted(p.name for p in folder.iterdir()) == [".nb2pipe", "branches.ipynb"]


def test_run_directory_layout(branches):
    *_, parallel, _serial, _events = branches
    run_dir = parallel.run_dir
    assert (run_dir / "run.json").is_file()
    assert (run_dir / "pipeline.yaml").is_file()
    for step in ("left", "right", "join"):
        data = meta(parallel, step)
        assert {"status", "start", "end", "duration", "fingerprint", "cache_hit"} <= set(data)
        assert data["duration"] == pytest.approx(data["end"] - data["start"], abs=0.01)
        assert (run_dir / step / "notebook.ipynb").is_file()


# `secret` is looked up by a computed name, so the compiler sees no data flow between them.
KERNEL_NOTEBOOK = (
    code("import os", "imports"),
    code("secret = 1\nfirst_pid = os.getpid()", "step:first"),
    code("second_pid = os.getpid()", "step:second", "after:first"),
    code(
        "leaked = float(globals().get('sec' + 'ret') is not None)\n"
        "same_kernel = float(first_pid == second_pid)",
        "step:report",
    ),
    code("leaked = leaked\nsame_kernel = same_kernel", "metrics"),
)


@pytest.mark.parametrize(
    ("isolation", "same_kernel"), [("kernel", 1.0), ("process", 0.0)], ids=["kernel", "process"]
)
def test_isolation(tmp_path, isolation, same_kernel):
    notebook = write_notebook(tmp_path / "isolation.ipynb", *KERNEL_NOTEBOOK)
    result = run(notebook, tmp_path / ".nb2pipe", max_parallel=1, isolation=isolation)
    assert result.ok, result.failure()
    # A warm kernel is reused, with its namespace emptied; `process` gives each step its own.
    assert result.metrics == {"leaked": 0.0, "same_kernel": same_kernel}
