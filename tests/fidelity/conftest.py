"""The fidelity corpus' session report: counts in the terminal summary and
build/fidelity-summary.json (per notebook: expected and actual outcome, reason, diagnostics)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from fidelitykit import OUTCOMES, SCHEDULER

SUMMARY = Path(__file__).resolve().parents[2] / "build" / "fidelity-summary.json"


def _counts() -> dict:
    counts = Counter(o.actual for o in OUTCOMES)
    data = {k: counts.get(k, 0) for k in ("equal", "warned", "refused", "failed")}
    data["as_expected"] = sum(o.ok for o in OUTCOMES)
    data["not_as_expected"] = sum(not o.ok for o in OUTCOMES)
    return data


def pytest_configure(config) -> None:
    config.addinivalue_line(
        "markers", "fidelity_isolation(name): the --isolation a fidelity test runs nb2pipe with"
    )


def pytest_collection_modifyitems(session, config, items) -> None:
    """Tell the scheduler which notebooks this session judges, in order, so it can start the
    next one while a test waits for the current one."""
    for item in items:
        marker = item.get_closest_marker("fidelity_isolation")
        callspec = getattr(item, "callspec", None)
        if marker is not None and callspec is not None and "case" in callspec.params:
            SCHEDULER.plan.append((callspec.params["case"], marker.args[0]))


def pytest_sessionfinish(session, exitstatus) -> None:
    SCHEDULER.shutdown()
    if not OUTCOMES:
        return
    SUMMARY.parent.mkdir(parents=True, exist_ok=True)
    data = {"counts": _counts(), "notebooks": [o.summary() for o in OUTCOMES]}
    SUMMARY.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def pytest_terminal_summary(terminalreporter) -> None:
    if not OUTCOMES:
        return
    counts = _counts()
    terminalreporter.section("nb2pipe fidelity")
    terminalreporter.write_line(
        "equal {equal}, warned {warned}, refused {refused}, failed {failed} — "
        "as expected {as_expected}, not as expected {not_as_expected}".format(**counts)
    )
    for o in OUTCOMES:
        if not o.ok:
            terminalreporter.write_line(
                f"  {o.notebook} [{o.isolation}]: expected {o.expect}, got {o.actual}: {o.reason}"
            )
    terminalreporter.write_line(f"summary: {SUMMARY}")
