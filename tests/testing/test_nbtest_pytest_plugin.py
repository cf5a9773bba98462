"""`pytest --nb2pipe`: one item per notebook, failing with the one-line summary; otherwise idle."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest
from nbtestkit import assertion_notebook, error_notebook, passing_notebook, run

from nb2pipe.compile.build import write_compiled
from nb2pipe.compile.compiler import compile_notebook


@pytest.fixture(scope="module")
def suite(tmp_path_factory):
    """Three notebooks, and a compiled pipeline folder whose step notebooks must be ignored."""
    folder = tmp_path_factory.mktemp("plugin")
    notebooks = folder / "notebooks"
    passing = passing_notebook(notebooks)
    error_notebook(notebooks)
    assertion_notebook(notebooks)
    write_compiled(compile_notebook(passing), notebooks / "compiled", passing)
    return folder


def pytest_run(folder, *args, nbval: bool = True):
    """pytest in a subprocess; without nbval's plugin where it plays no part (saves ~3 s)."""
    plugins = ["-p", "no:cacheprovider"] + ([] if nbval else ["-p", "no:nbval"])
    # Failed tests keep their runs in a temporary folder: keep those inside the test's folder.
    (folder / "tmp").mkdir(exist_ok=True)
    env = {"TMPDIR": str(folder / "tmp")}
    return run("python", "-m", "pytest", *plugins, *args, cwd=folder, env=env)


def collected(out) -> list[str]:
    return [line for line in out.stdout.splitlines() if "::" in line]


def test_without_the_flag_no_notebook_is_collected(suite):
    out = pytest_run(suite, "--collect-only", "-q", "notebooks", nbval=False)
    assert out.returncode == 5, out.stdout  # "no tests collected"
    assert collected(out) == []


def test_with_the_flag_one_item_per_source_notebook(suite):
    out = pytest_run(suite, "--nb2pipe", "--collect-only", "-q", "notebooks", nbval=False)
    assert out.returncode == 0, out.stdout + out.stderr
    assert collected(out) == [
        "notebooks/assertion.ipynb::nb2pipe",
        "notebooks/error.ipynb::nb2pipe",
        "notebooks/passing.ipynb::nb2pipe",
    ]


def test_nbval_collection_is_left_to_nbval(suite):
    nbval = collected(pytest_run(suite, "--nbval-lax", "--collect-only", "-q", "notebooks"))
    assert nbval and not any(item.endswith("::nb2pipe") for item in nbval)
    both = collected(
        pytest_run(suite, "--nbval-lax", "--nb2pipe", "--collect-only", "-q", "notebooks")
    )
    assert set(both) - set(nbval) == {
        "notebooks/assertion.ipynb::nb2pipe",
        "notebooks/error.ipynb::nb2pipe",
        "notebooks/passing.ipynb::nb2pipe",
    }


@pytest.mark.slow
def test_failures_are_reported_in_one_line(suite):
    out = pytest_run(suite, "--nb2pipe", "-q", "--junit-xml=junit.xml", "notebooks")
    assert out.returncode == 1, out.stdout + out.stderr
    assert re.search(r"^2 failed, 1 passed in ", out.stdout.splitlines()[-1])
    took = r"\(\d+\.\d s\)"
    assert re.search(
        rf"^FAIL notebooks/error\.ipynb step 'divide' cell 3: "
        rf"ZeroDivisionError: division by zero {took}$",
        out.stdout,
        re.M,
    ), out.stdout
    assert re.search(
        rf"^FAIL notebooks/assertion\.ipynb assertion 'total > 100' failed: total = 6 {took}$",
        out.stdout,
        re.M,
    )
    assert "executed notebooks kept in " in out.stdout
    assert "Traceback" not in out.stdout
    cases = {
        case.get("classname") + "::" + case.get("name"): case
        for case in ET.parse(suite / "junit.xml").getroot().iter("testcase")
    }
    assert sorted(cases) == [
        "notebooks.assertion.ipynb::nb2pipe",
        "notebooks.error.ipynb::nb2pipe",
        "notebooks.passing.ipynb::nb2pipe",
    ]
    assert cases["notebooks.passing.ipynb::nb2pipe"].find("failure") is None
    message = cases["notebooks.error.ipynb::nb2pipe"].find("failure").get("message")
    assert message.startswith("FAIL notebooks/error.ipynb step 'divide' cell 3: ")


@pytest.mark.slow
def test_strict_and_profile_options(suite):
    out = pytest_run(
        suite, "--nb2pipe", "--nb2pipe-strict", "-q", "notebooks/passing.ipynb", nbval=False
    )
    assert out.returncode == 1
    assert "FAIL notebooks/passing.ipynb step 'report' cell 5: output differs: " in out.stdout
    out = pytest_run(suite, "--nb2pipe", "--nb2pipe-profile", "nightly", "-q",
                     "notebooks/passing.ipynb", nbval=False)  # fmt: skip
    assert out.returncode == 1
    assert (
        "error: notebooks/passing.ipynb: --profile nightly: no such profile in "
        "metadata.nb2pipe.profiles (ci)"
    ) in out.stdout
