"""`nb2pipe test` end to end: real kernels, the summary lines, exit codes and the JUnit report."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest
from nbtestkit import (
    assertion_notebook,
    drift_notebook,
    error_notebook,
    lines,
    nb2pipe,
    passing_notebook,
)

pytestmark = pytest.mark.slow

TOOK = r"\(\d+\.\d s\)"


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    folder = tmp_path_factory.mktemp("nbtest")
    for make in (passing_notebook, error_notebook, assertion_notebook, drift_notebook):
        make(folder)
    (folder / "tmp").mkdir()
    return folder


def temp_workspaces(folder):
    return sorted((folder / "tmp").glob("nb2pipe-test-*"))


@pytest.fixture(scope="module")
def mixed(project):
    """One passing and three failing notebooks in one call, with a JUnit report."""
    out = nb2pipe(
        "test",
        "passing.ipynb",
        "error.ipynb",
        "assertion.ipynb",
        "drift.ipynb",
        "--junit-xml",
        "reports/junit.xml",
        cwd=project,
        env={"TMPDIR": str(project / "tmp")},
    )
    return out, ET.parse(project / "reports" / "junit.xml").getroot()


def test_one_line_per_notebook_and_exit_1_when_any_fails(mixed):
    out, _ = mixed
    assert out.returncode == 1, out.stderr
    summary = lines(out.stdout)
    assert re.fullmatch(rf"PASS passing\.ipynb 2 steps, 2 assertions, 2 output checks {TOOK}",
                        summary[0]), summary  # fmt: skip
    assert re.fullmatch(
        rf"FAIL error\.ipynb step 'divide' cell 3: ZeroDivisionError: division by zero {TOOK}",
        summary[1],
    )
    assert re.fullmatch(
        rf"FAIL assertion\.ipynb assertion 'total > 100' failed: total = 6 {TOOK}", summary[2]
    )
    assert re.fullmatch(
        rf"FAIL drift\.ipynb step 'compute' cell 1: output differs: "
        rf"text/plain: expected '41', got '42' {TOOK}",
        summary[3],
    )
    assert summary[4].startswith("executed notebooks kept in ")
    assert len(summary) == 5


def test_a_failed_run_keeps_its_executed_notebooks(mixed, project):
    out, _ = mixed
    kept = lines(out.stdout)[-1].removeprefix("executed notebooks kept in ")
    assert [str(p) for p in temp_workspaces(project)] == [kept]
    executed = list((project / "tmp").glob("nb2pipe-test-*/runs/*/divide/notebook.ipynb"))
    assert len(executed) == 1


def test_junit_has_a_case_per_step_output_and_assertion(mixed):
    _, root = mixed
    assert root.tag == "testsuites"
    assert (root.get("tests"), root.get("failures"), root.get("skipped")) == ("13", "3", "1")
    suites = {s.get("name"): s for s in root.iter("testsuite")}
    assert list(suites) == ["passing.ipynb", "error.ipynb", "assertion.ipynb", "drift.ipynb"]

    passing = suites["passing.ipynb"]
    assert [c.get("name") for c in passing.iter("testcase")] == [
        "step make",
        "step report",
        "output cell 3",
        "output cell 4",
        "assert total >= 6",
        "assert count == 4 and total < 100",
    ]
    assert {c.get("classname") for c in passing.iter("testcase")} == {"passing"}
    assert not list(passing.iter("failure"))
    properties = {p.get("name"): p.get("value") for p in passing.iter("property")}
    assert properties["profile"] == "ci"
    assert properties["param.n"] == "4"

    error = suites["error.ipynb"]
    cases = {c.get("name"): c for c in error.iter("testcase")}
    assert list(cases) == ["step load", "step divide", "step report"]
    skipped = cases["step report"].find("skipped")
    assert skipped.get("message") == "upstream failed: divide"
    failure = cases["step divide"].find("failure")
    assert failure.get("message") == "step 'divide' cell 3: ZeroDivisionError: division by zero"
    assert failure.get("type") == "step"
    assert "divide/notebook.ipynb" in failure.text
    assert "ZeroDivisionError" in failure.text and "\x1b" not in failure.text

    assertion = suites["assertion.ipynb"]
    failure = assertion.find("testcase[@name='assert total > 100']/failure")
    assert failure.get("message") == "assertion 'total > 100' failed: total = 6"
    assert failure.get("type") == "assertion"

    drift = suites["drift.ipynb"]
    failure = drift.find("testcase[@name='output cell 1']/failure")
    assert failure.get("type") == "output"
    assert failure.get("message").endswith("text/plain: expected '41', got '42'")


def test_lax_mode_passes_and_leaves_no_temporary_folder(project, tmp_path):
    out = nb2pipe("test", "passing.ipynb", cwd=project, env={"TMPDIR": str(tmp_path)})
    assert out.returncode == 0, out.stdout + out.stderr
    assert re.fullmatch(
        rf"PASS passing\.ipynb 2 steps, 2 assertions, 2 output checks {TOOK}", out.stdout.strip()
    )
    assert list(tmp_path.iterdir()) == []


def test_strict_mode_compares_untagged_outputs_too(project):
    out = nb2pipe("test", "passing.ipynb", "--strict", "--workspace", "ws", cwd=project)
    assert out.returncode == 1
    assert re.fullmatch(
        rf"FAIL passing\.ipynb step 'report' cell 5: output differs: "
        rf"stdout: expected 'rows: 99', got 'rows: 4' {TOOK}",
        lines(out.stdout)[0],
    )
    # With --workspace the runs stay there, and no temporary folder is mentioned.
    assert len(lines(out.stdout)) == 1
    assert len(list((project / "ws" / "runs").glob("*/report/notebook.ipynb"))) == 1


def test_p_values_win_over_the_profile(project):
    out = nb2pipe("test", "passing.ipynb", "-p", "n", "5", "--workspace", "ws5", cwd=project)
    assert out.returncode == 1
    line = lines(out.stdout)[0]
    assert line.startswith("FAIL passing.ipynb step 'make' cell 3: output differs: ")
    assert "expected '[0, 1, 2, 3]', got '[0, 1, 2, 3, 4]'" in line
    assert "(+1 more)" in line  # count == 4 no longer holds either
