"""`%mlops runs`: the latest runs as an interactive ipywidgets table.

A pipeline run is one row, named as a person says it (``breast_cancer_diagnosis · C=0.5``), with its steps
nested under it; interactive runs are rows of their own. Click a column's header to sort by it
(again: the other way; empty values stay last both ways), tick two runs and press Compare to
see them side by side (`tracking.compare`, the same comparison as `%mlops compare`, its columns
headed by each run's name and id). Frontends without widgets get the same table as text.
"""

from __future__ import annotations

import html
from typing import Any

from jupyter_mlops.display import fmt, html_table, text_table, when

MAX_METRICS = 8
STEP_INDENT = "  └ "


def columns(runs: list[dict[str, Any]]) -> list[str]:
    metric_names = sorted({k for r in runs for k in r["metrics"]})[:MAX_METRICS]
    return ["run", "id", "status", "start", "duration (s)", *metric_names]


def cells(run: dict[str, Any], headers: list[str], nested: bool = False) -> list[Any]:
    fixed = {
        "run": (STEP_INDENT if nested else "") + (run.get("step") or run["name"] or ""),
        "id": run["run_id"][:8],
        "status": run["status"],
        "start": "" if nested else when(run["start"]),
        "duration (s)": run["duration"],
    }
    return [fixed[h] if h in fixed else run["metrics"].get(h) for h in headers]


def _value(run: dict[str, Any], header: str) -> Any:
    if header == "start":
        return run["start"]
    return cells(run, [header])[0]


def sort_runs(runs: list[dict[str, Any]], header: str, descending: bool) -> list[dict[str, Any]]:
    """`runs` sorted by `header`: numbers as numbers, and runs without a value last in both
    directions (a descending sort must not put the empty ones first)."""
    present = [r for r in runs if _value(r, header) not in (None, "")]
    missing = [r for r in runs if _value(r, header) in (None, "")]

    def key(run: dict[str, Any]) -> tuple:
        value = _value(run, header)
        number = isinstance(value, (int, float)) and not isinstance(value, bool)
        return (0, value, "") if number else (1, 0, str(value))

    return sorted(present, key=key, reverse=descending) + missing


class RunsTable:
    """The table's state (`order`, `selected`) and its widget (`widget`)."""

    def __init__(self, runs: list[dict[str, Any]], caption: str = ""):
        import ipywidgets as w

        self.runs = list(runs)
        self.headers = columns(self.runs)
        self.caption = caption
        self.sorted_by: tuple[str, bool] | None = None  # (column, descending)
        self.selected: list[str] = []  # run ids, at most two, in the order ticked
        self._grid = w.GridBox(
            layout=w.Layout(
                grid_template_columns=f"auto repeat({len(self.headers)}, auto)",
                grid_gap="2px 12px",
                align_items="center",
            )
        )
        self.compare_button = w.Button(
            description="Compare", disabled=True, tooltip="tick two runs, then compare them"
        )
        self.compare_button.on_click(lambda _: self.compare())
        self.comparison = w.HTML("")
        self.widget = w.VBox(
            [
                w.HTML(f"<b>{html.escape(caption)}</b>"),
                self._grid,
                self.compare_button,
                self.comparison,
            ]
        )
        self.widget.add_class("jp-mlops-runs-table")
        self.render()

    @property
    def order(self) -> list[str]:
        """The ids of the top-level runs in the order shown (their steps follow each)."""
        runs = self.runs
        if self.sorted_by is not None:
            runs = sort_runs(runs, *self.sorted_by)
        return [r["run_id"] for r in runs]

    def rows(self) -> list[tuple[dict[str, Any], bool]]:
        """(run, nested) in the order shown: each pipeline run, then its steps."""
        by_id = {r["run_id"]: r for r in self.runs}
        out = []
        for run_id in self.order:
            run = by_id[run_id]
            out.append((run, False))
            out += [(step, True) for step in run.get("steps") or []]
        return out

    def sort(self, column: str) -> None:
        """Sort by `column`; sorting by it again turns the order round."""
        descending = (
            not self.sorted_by[1] if self.sorted_by and self.sorted_by[0] == column else True
        )
        self.sorted_by = (column, descending)
        self.render()

    def tick(self, run_id: str, on: bool = True) -> None:
        chosen = [r for r in self.selected if r != run_id]
        self.selected = (chosen + [run_id])[-2:] if on else chosen
        self.compare_button.disabled = len(self.selected) != 2
        self.render()

    def compare(self) -> None:
        from jupyter_mlops.tracking.compare import compare_runs

        if len(self.selected) != 2:
            return
        headers, rows = compare_runs(*self.selected)
        self.comparison.value = html_table(headers, rows, "* marks values that differ")

    def render(self) -> None:
        import ipywidgets as w

        children: list[Any] = [w.HTML("")]
        for header in self.headers:
            arrow = ""
            if self.sorted_by and self.sorted_by[0] == header:
                arrow = " ▾" if self.sorted_by[1] else " ▴"
            button = w.Button(
                description=header + arrow,
                tooltip=f"sort by {header}",
                layout=w.Layout(width="auto"),
            )
            button.on_click(lambda _, h=header: self.sort(h))
            children.append(button)
        for run, nested in self.rows():
            run_id = run["run_id"]
            box = w.Checkbox(
                value=run_id in self.selected,
                indent=False,
                description="",
                tooltip=f"compare {run['name']}",
                layout=w.Layout(width="20px"),
            )
            box.observe(lambda change, r=run_id: self.tick(r, change["new"]), names="value")
            children.append(box)
            children += [
                w.HTML(html.escape(fmt(c))) for c in cells(run, self.headers, nested=nested)
            ]
        self._grid.children = children

    def text(self) -> str:
        rows = [cells(run, self.headers, nested) for run, nested in self.rows()]
        return (self.caption + "\n" if self.caption else "") + text_table(self.headers, rows)


def show_runs(runs: list[dict[str, Any]], caption: str) -> RunsTable:
    """Display `runs` as an interactive table (plain text where widgets do not render)."""
    from IPython.display import display

    table = RunsTable(runs, caption)
    bundle = table.widget._repr_mimebundle_()
    bundle["text/plain"] = table.text()
    display(bundle, raw=True)
    return table
