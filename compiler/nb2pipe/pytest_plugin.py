"""`pytest --nb2pipe`: every pipeline notebook becomes one test, checked as `nb2pipe test` does.

Registered under pytest's ``pytest11`` entry point, so pytest loads it in every run: without
``--nb2pipe`` it collects nothing and imports nothing beyond this module. nbval's own
``--nbval`` / ``--nbval-lax`` collection is independent: each flag makes its plugin collect
notebooks, and with both a notebook yields nbval's cell items and this plugin's item.

    pytest --nb2pipe example_notebooks/
    pytest --nb2pipe --nb2pipe-strict --nb2pipe-profile ci notebooks/train.ipynb

A failure is reported in one line, the same as `nb2pipe test` prints; the executed notebooks
of a failed test are kept, and their folder is named in the test's report section.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("nb2pipe", "nb2pipe notebook pipelines")
    group.addoption(
        "--nb2pipe",
        action="store_true",
        help="Collect .ipynb pipeline notebooks: run each on sample parameters and check it.",
    )
    group.addoption(
        "--nb2pipe-strict",
        action="store_true",
        help="Compare every stored cell output, not only cells tagged nbval-check-output.",
    )
    group.addoption(
        "--nb2pipe-profile",
        metavar="NAME",
        help="Parameter profile from metadata.nb2pipe.profiles (default: 'ci' if declared).",
    )


def pytest_collect_file(file_path: Path, parent: pytest.Collector):
    if file_path.suffix != ".ipynb" or not parent.config.getoption("nb2pipe"):
        return None
    if _compiled_step_notebook(file_path):
        return None  # nb2pipe's own output (pipeline folders), not a source notebook
    return NotebookFile.from_parent(parent, path=file_path)


def _compiled_step_notebook(path: Path) -> bool:
    try:
        cells = json.loads(path.read_text(encoding="utf-8")).get("cells", [])
    except (OSError, ValueError, AttributeError):
        return False  # let the test report what is wrong with it
    return any("role" in ((c.get("metadata") or {}).get("nb2pipe") or {}) for c in cells)


class NotebookFile(pytest.File):
    def collect(self):
        yield NotebookItem.from_parent(self, name="nb2pipe")


class NotebookFailed(Exception):
    """A notebook's test failed or its input is bad; the message is the one-line summary."""


class NotebookItem(pytest.Item):
    def runtest(self) -> None:
        from .errors import Nb2PipeError
        from .testing import plan, run_plans

        config = self.config
        # Relative, so the one-line summary names the notebook as the user sees it.
        notebook = Path(os.path.relpath(self.path))
        try:
            ready = plan(notebook, profile=config.getoption("nb2pipe_profile"))
        except Nb2PipeError as e:
            raise NotebookFailed(f"error: {e}") from None
        reports, kept = run_plans([ready], strict=config.getoption("nb2pipe_strict"))
        report = reports[0]
        if kept is not None:
            self.add_report_section("call", "nb2pipe", f"executed notebooks kept in {kept}")
        if not report.ok:
            raise NotebookFailed(report.summary())

    def repr_failure(self, excinfo, style=None):
        if isinstance(excinfo.value, NotebookFailed):
            return str(excinfo.value)
        return super().repr_failure(excinfo, style=style)

    def reportinfo(self):
        return self.path, None, f"nb2pipe test {self.path.name}"
