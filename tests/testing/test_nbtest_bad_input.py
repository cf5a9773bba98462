"""`nb2pipe test` with bad input: one `error:` line, exit 2, before any kernel starts."""

from __future__ import annotations

import pytest
from nbtestkit import code, nb2pipe, passing_notebook, write_notebook


@pytest.fixture
def folder(tmp_path):
    passing_notebook(tmp_path)
    (tmp_path / "tmp").mkdir()
    return tmp_path


def metrics_notebook(folder, **nb2pipe_meta):
    return write_notebook(
        folder / "m.ipynb",
        code("n = 2", "parameters"),
        code("total = float(n)", "step:make"),
        code("score = total", "metrics"),
        nb2pipe=nb2pipe_meta,
    )


def one_error(out, folder) -> str:
    """The single stderr line; nothing on stdout, no run started."""
    assert out.returncode == 2, (out.stdout, out.stderr)
    assert out.stdout == ""
    errors = out.stderr.splitlines()
    assert len(errors) == 1, out.stderr
    assert list((folder / "tmp").iterdir()) == []  # no workspace was made
    return errors[0]


def check(folder, *args):
    return nb2pipe("test", *args, cwd=folder, env={"TMPDIR": str(folder / "tmp")})


def test_missing_notebook(folder):
    out = check(folder, "passing.ipynb", "nowhere.ipynb")
    assert one_error(out, folder) == "error: nowhere.ipynb: no such file"


def test_assertion_with_bad_syntax(folder):
    metrics_notebook(folder, assertions=["score >>= 1"])
    line = one_error(check(folder, "m.ipynb"), folder)
    assert line.startswith("error: m.ipynb: assertion 'score >>= 1': not valid syntax")


def test_assertion_that_would_run_code(folder):
    metrics_notebook(folder, assertions=["__import__('os').system('touch pwned') > 0"])
    line = one_error(check(folder, "m.ipynb"), folder)
    assert line.startswith("error: m.ipynb: assertion ")
    assert "only metric names and numbers can be compared, not call" in line
    assert not (folder / "pwned").exists()


def test_assertion_on_a_cell_names_the_cell(folder):
    write_notebook(
        folder / "m.ipynb",
        code("total = 1.0", "step:make"),
        code("score = total", "metrics", meta={"nb2pipe": {"assertions": ["score + 1 > 2"]}}),
    )
    line = one_error(check(folder, "m.ipynb"), folder)
    assert line.startswith("error: m.ipynb: cell 2: assertion 'score + 1 > 2': ")


def test_assertion_on_an_unknown_metric(folder):
    metrics_notebook(folder, assertions=["scor > 0.5"])
    line = one_error(check(folder, "m.ipynb"), folder)
    assert line == "error: m.ipynb: assertion 'scor > 0.5': unknown metric 'scor' " + (
        "(did you mean 'score'?)"
    )


def test_assertions_must_be_a_list(folder):
    metrics_notebook(folder, assertions="score > 1")
    line = one_error(check(folder, "m.ipynb"), folder)
    assert line.startswith("error: m.ipynb: assertions must be a list of strings")


def test_unknown_profile(folder):
    line = one_error(check(folder, "passing.ipynb", "--profile", "nightly"), folder)
    assert line == (
        "error: passing.ipynb: --profile nightly: no such profile in metadata.nb2pipe.profiles (ci)"
    )


def test_profile_naming_an_unknown_parameter(folder):
    metrics_notebook(folder, profiles={"ci": {"nn": 3}})
    line = one_error(check(folder, "m.ipynb"), folder)
    assert line == "error: m.ipynb: profile 'ci': unknown parameter 'nn' (did you mean 'n'?)"


def test_profile_value_of_the_wrong_type(folder):
    metrics_notebook(folder, profiles={"ci": {"n": "three"}})
    line = one_error(check(folder, "m.ipynb"), folder)
    assert line == "error: m.ipynb: profile 'ci': parameter 'n' expects an int, got 'three'"


def test_unknown_p_parameter(folder):
    line = one_error(check(folder, "passing.ipynb", "-p", "rows", "3"), folder)
    assert line == "error: passing.ipynb: -p rows: unknown parameter (parameters: n)"


def test_bad_tags_are_reported_as_check_does(folder):
    write_notebook(folder / "bad.ipynb", code("x = 1", "step:Bad Name"))
    line = one_error(check(folder, "bad.ipynb"), folder)
    assert line.startswith("error: bad.ipynb: cell 1: bad step name 'Bad Name'")
