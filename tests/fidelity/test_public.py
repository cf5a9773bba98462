"""The public-notebook harness (public.py) splits and trims notebooks as it says."""

from __future__ import annotations

import public
from support.notebooks import code, markdown, notebook


def _steps(document: dict) -> list[tuple[int, str]]:
    return [
        (n, tag)
        for n, cell in enumerate(document["cells"], start=1)
        for tag in (cell.get("metadata") or {}).get("tags") or []
    ]


SOURCE = notebook(
    [
        code("import numpy as np"),
        markdown("# Arrays\nSome text"),
        markdown("Not a heading"),
        code("x = np.arange(3)"),
        code("y = x * 2"),
        markdown("## Sums"),
        code("s = x.sum()"),
        code("print(s)"),
    ]
)


def test_a_step_starts_at_the_first_code_cell_and_after_each_heading():
    document, steps = public.split(SOURCE, "headings")
    assert _steps(document) == [(1, "step:s01_start"), (4, "step:s02_arrays"), (7, "step:s03_sums")]
    assert steps == 3


def test_a_step_starts_every_three_code_cells():
    document, steps = public.split(SOURCE, "cells")
    assert _steps(document) == [(1, "step:s01_cells_1"), (7, "step:s02_cells_4")]
    assert steps == 2


def test_only_the_cells_before_the_first_failure_are_kept():
    executed = notebook(
        [
            code("x = 1", outputs=[{"output_type": "stream", "name": "stdout", "text": "1"}]),
            markdown("# Next"),
            code("1 / 0", outputs=[{"output_type": "error", "ename": "ZeroDivisionError"}]),
            code("print(x)"),
        ]
    )
    failed = public.first_failure(executed)
    assert failed == 3
    kept = public.trimmed(executed, failed)
    assert [c["cell_type"] for c in kept["cells"]] == ["code", "markdown"]
    assert kept["cells"][0]["outputs"] == [] and "tags" not in kept["cells"][0]["metadata"]


def test_times_of_day_are_not_compared(tmp_path):
    norm = public.Normaliser([tmp_path])
    assert norm("38K Dec  7 04:33 my_figure.png") == norm("38K Dec  7 04:34 my_figure.png")
    assert norm("12.5 s") != norm("13.5 s")
