"""JUnit XML for CI systems: one test suite per notebook, one test case per check.

Test cases are named ``step NAME``, ``output cell N`` and ``assert EXPRESSION``; their class
name is the notebook's path with dots (``example_notebooks.breast_cancer_diagnosis``), which is how
GitHub, GitLab and Jenkins group them. A failure's ``message`` is the one-line summary; its
text holds the traceback and the executed notebook to open.
"""

from __future__ import annotations

import os
import re
import xml.etree.ElementTree as ET
from pathlib import Path

from .verify import FAILED, SKIPPED, NotebookReport

# Characters XML 1.0 cannot hold, even escaped (terminal colours in tracebacks, NULs).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _xml(text: str) -> str:
    return _NOT_XML.sub("", text)


def _classname(notebook: Path) -> str:
    return notebook.with_suffix("").as_posix().strip("./").replace("/", ".")


def to_element(reports: list[NotebookReport]) -> ET.Element:
    root = ET.Element("testsuites", name="nb2pipe test")
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    total_time = 0.0
    for report in reports:
        suite = ET.SubElement(root, "testsuite", name=report.notebook.as_posix())
        counts = {
            "tests": len(report.checks),
            "failures": sum(1 for c in report.checks if c.status == FAILED),
            "errors": 0,
            "skipped": sum(1 for c in report.checks if c.status == SKIPPED),
        }
        for key, value in counts.items():
            suite.set(key, str(value))
            totals[key] += value
        suite.set("time", f"{report.duration:.3f}")
        total_time += report.duration
        properties = ET.SubElement(suite, "properties")
        if report.profile:
            ET.SubElement(properties, "property", name="profile", value=report.profile)
        for name, value in sorted(report.params.items()):
            ET.SubElement(properties, "property", name=f"param.{name}", value=_xml(repr(value)))
        if report.run_dir is not None:
            ET.SubElement(properties, "property", name="run_dir", value=str(report.run_dir))
        for check in report.checks:
            case = ET.SubElement(
                suite,
                "testcase",
                classname=_classname(report.notebook),
                name=_xml(check.name),
                time=f"{check.duration:.3f}",
            )
            if check.status == FAILED:
                failure = ET.SubElement(
                    case, "failure", message=_xml(check.message), type=check.kind
                )
                failure.text = _xml(check.detail or check.message)
            elif check.status == SKIPPED:
                ET.SubElement(case, "skipped", message=_xml(check.message))
    for key, value in totals.items():
        root.set(key, str(value))
    root.set("time", f"{total_time:.3f}")
    return root


def write_junit(reports: list[NotebookReport], path: str | os.PathLike) -> Path:
    """Write the report to `path` (parent folders created), atomically."""
    from ..fileio import write_atomic

    element = to_element(reports)
    ET.indent(element)
    text = ET.tostring(element, encoding="unicode", xml_declaration=True)
    path = Path(path)
    write_atomic(path, text + "\n")
    return path
