"""The JUnit report and the one-line summaries, from reports built by hand (no kernel)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from nb2pipe.testing import Check, NotebookReport
from nb2pipe.testing.junit import write_junit


def report(name: str, *checks: Check, duration: float = 2.04) -> NotebookReport:
    return NotebookReport(Path(name), list(checks), duration, params={"n": 4}, profile="ci")


def test_summary_lines():
    ok = report(
        "nbs/breast_cancer_diagnosis.ipynb",
        *[Check("step", f"step s{i}", "passed") for i in range(5)],
        Check("assertion", "assert accuracy >= 0.8", "passed"),
        Check("assertion", "assert f1 > 0.5", "passed"),
        duration=8.14,
    )
    assert ok.summary() == "PASS nbs/breast_cancer_diagnosis.ipynb 5 steps, 2 assertions (8.1 s)"
    single = report("a.ipynb", Check("step", "step s", "passed"), Check("output", "o", "passed"))
    assert single.summary() == "PASS a.ipynb 1 step, 1 output check (2.0 s)"
    skipped = report("a.ipynb", Check("step", "step s", "passed"), Check("output", "o", "skipped"))
    assert skipped.summary() == "PASS a.ipynb 1 step, 1 output check, 1 skipped (2.0 s)"
    failed = report(
        "a.ipynb",
        Check("step", "step train", "failed", "step 'train' cell 17: ValueError: bad"),
        Check("assertion", "assert x > 1", "failed", "assertion 'x > 1' failed: x = 0"),
    )
    assert failed.summary() == (
        "FAIL a.ipynb step 'train' cell 17: ValueError: bad (+1 more) (2.0 s)"
    )


def test_junit_document(tmp_path):
    reports = [
        report(
            "notebooks/train.ipynb",
            Check("step", "step load", "passed", duration=1.25),
            Check(
                "step",
                "step train",
                "failed",
                "step 'train' cell 3: KeyError: 'x'",
                "executed notebook: /r/train/notebook.ipynb\n\x1b[0;31mKeyError\x1b[0m",
            ),
            Check("step", "step report", "skipped", "upstream failed: train"),
        ),
        report("b.ipynb", Check("assertion", "assert a < 1 & b", "passed")),
    ]
    path = write_junit(reports, tmp_path / "reports" / "junit.xml")
    text = path.read_text(encoding="utf-8")
    assert text.startswith("<?xml version='1.0' encoding='utf-8'?>\n<testsuites")
    root = ET.fromstring(text)
    assert root.attrib == {
        "name": "nb2pipe test",
        "tests": "4",
        "failures": "1",
        "errors": "0",
        "skipped": "1",
        "time": "4.080",
    }
    train, other = root.findall("testsuite")
    assert train.get("name") == "notebooks/train.ipynb"
    assert (train.get("tests"), train.get("failures"), train.get("skipped")) == ("3", "1", "1")
    assert {p.get("name"): p.get("value") for p in train.iter("property")} == {
        "profile": "ci",
        "param.n": "4",
    }
    cases = train.findall("testcase")
    assert [c.get("classname") for c in cases] == ["notebooks.train"] * 3
    assert cases[0].get("time") == "1.250" and not list(cases[0])
    failure = cases[1].find("failure")
    assert failure.get("message") == "step 'train' cell 3: KeyError: 'x'"
    assert failure.text == "executed notebook: /r/train/notebook.ipynb\n[0;31mKeyError[0m"
    assert cases[2].find("skipped").get("message") == "upstream failed: train"
    assert other.find("testcase").get("name") == "assert a < 1 & b"
