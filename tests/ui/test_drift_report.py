"""The drift report opened in Debian Chromium with the network cut: its charts render, and the
page asks for nothing beyond its own file."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from support.project import frame  # noqa: E402

from jupyter_mlops.data.drift import drift_report  # noqa: E402

pytestmark = pytest.mark.slow


def test_drift_report_renders_its_charts_offline(browser, tmp_path, screenshots):
    report = drift_report(frame(1000, seed=1), frame(500, seed=7, shift=0.8))
    page_file, _ = report.save(tmp_path)
    context = browser.new_context(viewport={"width": 900, "height": 1400}, offline=True)
    asked: list[str] = []

    def cut(route) -> None:
        url = route.request.url
        if url.startswith("file://"):
            route.continue_()
        else:
            asked.append(url)
            route.abort()

    context.route("**/*", cut)
    try:
        page = context.new_page()
        page.goto(page_file.as_uri())
        charts = page.locator("div.chart svg")
        assert charts.count() == 4
        for i in range(4):
            box = charts.nth(i).bounding_box()
            assert box is not None and box["width"] > 200 and box["height"] > 50
        # The bars are drawn: the PSI summary has one per feature, x's drifted one in red.
        summary = charts.nth(0)
        assert summary.locator("rect").count() == 3
        assert summary.locator('rect[fill="#e45756"]').count() == 1
        assert charts.nth(1).locator("rect").count() > 20  # x: two histograms of 20 bins
        assert "x" in summary.text_content()
        page.screenshot(path=str(screenshots / "drift-report-offline.png"), full_page=True)
    finally:
        context.close()
    assert asked == []  # nothing fetched from the network
