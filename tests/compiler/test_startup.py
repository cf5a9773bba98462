"""startup.py: deferring rfc3987_syntax: reading a notebook no longer builds its parsers, and a schema that
checks an `iri` still gets the real answer. Each case runs in a fresh interpreter."""

from __future__ import annotations

import json
import subprocess
import sys

CHECKS = """
import json, sys
from jsonschema import FormatChecker
checker = FormatChecker()
values = ['http://a/b?c#d', 'ht tp://a b', 'relative/path#x', 'http://[::1]:8080/']
answers = [checker.conforms(v, f) for v in values for f in ('iri', 'iri-reference')]
print(json.dumps(answers))
"""


def python(code: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    return done.stdout.strip().splitlines()[-1]


def test_the_cli_reads_notebooks_without_building_the_iri_parsers():
    loaded = python(
        "import sys, nb2pipe.cli, nbformat, papermill\n"
        "print('rfc3987_syntax.syntax_helpers' in sys.modules)"
    )
    assert loaded == "False"


def test_iri_checks_give_the_same_answers_deferred():
    plain = json.loads(python(CHECKS))
    deferred = json.loads(python("from nb2pipe import startup; startup.defer()\n" + CHECKS))
    assert deferred == plain
    assert True in plain and False in plain  # the checks really ran


def test_too_late_to_defer_changes_nothing():
    kind = python(
        "import sys, jsonschema\n"
        "from nb2pipe import startup; startup.defer()\n"
        "print(type(sys.modules['rfc3987_syntax']).__name__)"
    )
    assert kind == "module"


def test_exit_handlers_registered_later_still_run_before_the_freeze():
    # what libraries register after startup (MLflow ends its runs, loggers flush) runs first
    out = python(
        "import atexit, gc\n"
        "from nb2pipe import startup\n"
        "startup.quick()\n"
        "atexit.register(lambda: print('flushed', gc.get_freeze_count() == 0, flush=True))\n"
        "print('ran')"
    )
    assert out == "flushed True"
