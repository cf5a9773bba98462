"""Vega-Lite specs as plain dicts: the sidebar renders them, and so would a notebook output."""

from __future__ import annotations

from typing import Any

# The major version of the vega-lite the sidebar ships (labextension/package.json): one version
# everywhere, so that no renderer warns about a spec written for another.
SCHEMA = "https://vega.github.io/schema/vega-lite/v6.json"


def _spec(title: str, values: list[dict], mark: Any, encoding: dict, **extra) -> dict:
    return {
        "$schema": SCHEMA,
        "title": title,
        "width": "container",
        "height": 120,
        "data": {"values": values},
        "mark": mark,
        "encoding": encoding,
        **extra,
    }


def histogram(title: str, edges: list[float], counts: list[int]) -> dict:
    """Pre-binned counts of a numeric column (the server bins, the browser only draws)."""
    values = [
        {"start": edges[i], "end": edges[i + 1], "count": int(c)} for i, c in enumerate(counts)
    ]
    return _spec(
        title,
        values,
        {"type": "bar", "tooltip": True},
        {
            "x": {
                "field": "start",
                "type": "quantitative",
                "bin": {"binned": True},
                "title": title,
            },
            "x2": {"field": "end"},
            "y": {"field": "count", "type": "quantitative", "title": "rows"},
        },
    )


def bars(title: str, counts: list[tuple[str, int]]) -> dict:
    """Counts of the most frequent values of a categorical column."""
    values = [{"value": v, "count": int(c)} for v, c in counts]
    return _spec(
        title,
        values,
        {"type": "bar", "tooltip": True},
        {
            "y": {"field": "value", "type": "nominal", "sort": "-x", "title": title},
            "x": {"field": "count", "type": "quantitative", "title": "rows"},
        },
    )


def compared_histogram(title: str, edges: list[float], shares: dict[str, list[float]]) -> dict:
    """Reference and current distributions of a numeric feature on shared bins."""
    values = [
        {"dataset": name, "start": edges[i], "end": edges[i + 1], "share": s}
        for name, row in shares.items()
        for i, s in enumerate(row)
    ]
    return _spec(
        title,
        values,
        {"type": "bar", "opacity": 0.55, "tooltip": True},
        {
            "x": {
                "field": "start",
                "type": "quantitative",
                "bin": {"binned": True},
                "title": title,
            },
            "x2": {"field": "end"},
            "y": {
                "field": "share",
                "type": "quantitative",
                "stack": None,
                "title": "share of rows",
            },
            "color": {"field": "dataset", "type": "nominal"},
        },
    )


def compared_bars(title: str, categories: list[str], shares: dict[str, list[float]]) -> dict:
    """Reference and current shares of each value of a categorical feature."""
    values = [
        {"dataset": name, "value": categories[i], "share": s}
        for name, row in shares.items()
        for i, s in enumerate(row)
    ]
    return _spec(
        title,
        values,
        {"type": "bar", "tooltip": True},
        {
            "x": {"field": "value", "type": "nominal", "title": title},
            "xOffset": {"field": "dataset"},
            "y": {"field": "share", "type": "quantitative", "title": "share of rows"},
            "color": {"field": "dataset", "type": "nominal"},
        },
    )


def drift_summary(features: list[dict]) -> dict:
    """PSI per feature, drifted ones highlighted, test and p-value in the tooltip."""
    values = [
        {
            "feature": f["name"],
            "psi": f["psi"],
            "p_value": f["p_value"],
            "test": f["test"],
            "drifted": "drifted" if f["drifted"] else "stable",
        }
        for f in features
    ]
    return _spec(
        "Drift per feature (PSI)",
        values,
        {"type": "bar", "tooltip": True},
        {
            "y": {"field": "feature", "type": "nominal", "sort": "-x"},
            "x": {"field": "psi", "type": "quantitative", "title": "population stability index"},
            "color": {
                "field": "drifted",
                "type": "nominal",
                "scale": {"domain": ["stable", "drifted"], "range": ["#4c78a8", "#e45756"]},
            },
        },
        height={"step": 18},
    )
