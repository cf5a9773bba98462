"""Drift between a reference dataset and a current one, feature by feature.

The statistics are the Data panel's (`jupyter_mlops.data.stats.drift`): Kolmogorov–Smirnov
for numeric features, chi-squared for categorical ones, and the population stability index
(PSI) for both. A feature has drifted when its test rejects *and* its PSI reaches
`psi_threshold`: the test alone flags negligible shifts once samples are large, as serving
logs soon are, and PSI alone is noisy on small ones. The tests share `alpha` (Bonferroni:
each feature's p-value is compared with alpha / number of features), so `alpha` is the chance
of a false alarm for the whole dataset, not per feature.

`drift_report(reference, current)` takes DataFrames or data files; a prediction log written by
`nb2pipe serve` is read as the inputs the model was asked about.
"""

from __future__ import annotations

import html
import json
import os
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ALPHA = 0.05
PSI_THRESHOLD = 0.1  # 0.1–0.25: moderate shift; above 0.25: major (the usual reading of PSI)
REPORT_NAME = "drift_report"


@dataclass
class FeatureDrift:
    name: str
    test: str  # ks | chi2
    statistic: float | None
    p_value: float | None
    psi: float | None
    drifted: bool


@dataclass
class DriftReport:
    """Per-feature drift, the thresholds used, and Vega-Lite specs of the distributions."""

    features: list[FeatureDrift]
    alpha: float
    psi_threshold: float
    rows: dict[str, int]
    missing_columns: dict[str, list[str]] = field(default_factory=dict)
    charts: list[dict] = field(default_factory=list, repr=False)
    sampled: dict[str, int] = field(default_factory=dict)  # dataset -> rows compared, if fewer

    def __repr__(self) -> str:
        return f"<DriftReport: {self.summary()}>"

    @property
    def drifted_features(self) -> list[str]:
        return [f.name for f in self.features if f.drifted]

    @property
    def share(self) -> float:
        """The share of compared features that drifted."""
        return len(self.drifted_features) / len(self.features) if self.features else 0.0

    @property
    def drifted(self) -> bool:
        return bool(self.drifted_features)

    def summary(self) -> str:
        rows = f"{self.rows['current']} rows vs {self.rows['reference']} reference rows"
        if self.sampled:
            rows += f", compared on samples of {max(self.sampled.values()):,} rows"
        if not self.drifted:
            return f"no drift in {len(self.features)} features ({rows})"
        names = ", ".join(self.drifted_features)
        return f"{len(self.drifted_features)} of {len(self.features)} features drifted: {names} ({rows})"

    def to_frame(self):
        """One row per feature: test, statistic, p_value, psi, drifted."""
        import pandas as pd

        frame = pd.DataFrame(
            [asdict(f) for f in self.features],
            columns=["name", "test", "statistic", "p_value", "psi", "drifted"],
        )
        return frame.set_index("name")

    def to_dict(self) -> dict[str, Any]:
        return {
            "summary": self.summary(),
            "drifted": self.drifted,
            "share": self.share,
            **asdict(self),
            "chart": self.summary_chart(),
        }

    def summary_chart(self) -> dict:
        """Vega-Lite: PSI per feature, drifted ones highlighted."""
        from jupyter_mlops.data.charts import drift_summary

        return drift_summary([asdict(f) for f in self.features])

    # --- views ---------------------------------------------------------------------------
    def _table(self) -> str:
        top = max([f.psi or 0.0 for f in self.features] + [self.psi_threshold])
        rows = []
        for f in self.features:
            width = 100 * (f.psi or 0.0) / top if top else 0
            color = "#e45756" if f.drifted else "#4c78a8"
            bar = (
                f'<div style="background:{color};height:0.8em;width:{width:.0f}%;'
                'min-width:1px"></div>'
            )
            cells = (
                html.escape(f.name),
                f.test,
                _fmt(f.statistic),
                _fmt(f.p_value),
                _fmt(f.psi),
                "drifted" if f.drifted else "",
            )
            tds = "".join(f"<td>{c}</td>" for c in cells)
            rows.append(f'<tr>{tds}<td style="width:8em">{bar}</td></tr>')
        head = "".join(
            f"<th>{h}</th>" for h in ("feature", "test", "statistic", "p-value", "PSI", "", "")
        )
        return (
            f"<p><b>Drift</b>: {html.escape(self.summary())}. A feature drifted when "
            f"p &lt; {self.alpha:g} / {len(self.features)} features "
            f"and PSI &ge; {self.psi_threshold:g}.</p>"
            f'<table class="drift-report"><thead><tr>{head}</tr></thead>'
            f"<tbody>{''.join(rows)}</tbody></table>"
        )

    def _repr_html_(self) -> str:
        return self._table()

    def to_html(self) -> str:
        """A standalone page that renders offline: the table and the charts drawn as static
        SVG (no script, no fetch); the Vega-Lite specs are kept in the page for tools."""
        from jupyter_mlops.data.svg import render

        specs = [self.summary_chart(), *self.charts]
        blocks = "\n".join(
            f'<div class="chart" id="chart-{i}">{render(spec)}</div>'
            for i, spec in enumerate(specs)
        )
        data = json.dumps(specs, indent=1, sort_keys=True, default=str).replace("</", "<\\/")
        return f"""<!doctype html>
<html>
<head>
<meta charset="utf-8">
<title>Drift report</title>
<style>
body {{ font-family: sans-serif; margin: 2em; }}
table {{ border-collapse: collapse; }}
td, th {{ padding: 0.2em 0.6em; text-align: left; border-bottom: 1px solid #ddd; }}
.chart {{ margin: 1em 0; }}
</style>
</head>
<body>
<h1>Drift report</h1>
{self._table()}
<h2>Distributions</h2>
{blocks}
<details><summary>Chart specifications (Vega-Lite)</summary>
<script type="application/json" id="drift-specs">{data}</script>
</details>
</body>
</html>
"""

    def save(self, folder: str | os.PathLike) -> list[Path]:
        """Write drift_report.html and drift_report.json into `folder`; their paths."""
        from nb2pipe.fileio import write_atomic

        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        page = folder / f"{REPORT_NAME}.html"
        data = folder / f"{REPORT_NAME}.json"
        write_atomic(page, self.to_html())
        write_atomic(data, json.dumps(self.to_dict(), indent=1, sort_keys=True, default=str))
        return [page, data]

    def metrics(self) -> dict[str, float]:
        return {
            "drift_share": self.share,
            "drifted_features": float(len(self.drifted_features)),
        }

    def log_to_mlflow(self, run_id: str | None = None, *, tracking_uri: str | None = None) -> None:
        """Log the report (HTML + JSON under ``drift/``) and its metrics.

        Without `run_id`: to the current run, or the current pipeline step's run.
        """
        with tempfile.TemporaryDirectory(prefix="drift-") as tmp:
            files = self.save(tmp)
            if run_id is None:
                from jupyter_mlops.tracking import api

                for path in files:
                    api.log_artifact(path, "drift")
                api.log_metrics(self.metrics())
                return
            from jupyter_mlops.errors import translated
            from jupyter_mlops.tracking import config, store

            uri = tracking_uri or config.tracking_uri()
            with translated("log a drift report", uri):
                client = store.client(uri)
                for path in files:
                    client.log_artifact(run_id, str(path), "drift")
                when = store.now_ms()
                store.log_batch(
                    client, run_id, [store.Metric(k, v, when) for k, v in self.metrics().items()]
                )


def _fmt(value: float | None) -> str:
    return "" if value is None else f"{value:.4g}"


def drift_report(
    reference: Any,
    current: Any,
    *,
    alpha: float = ALPHA,
    psi_threshold: float = PSI_THRESHOLD,
    columns: list[str] | None = None,
) -> DriftReport:
    """Per-feature drift of `current` from `reference` (DataFrames or data files).

    Only columns present in both are compared (`columns` narrows them further); the others
    are listed in `missing_columns`.
    """
    from jupyter_mlops.data.schema import DataSchemaError, as_frame
    from jupyter_mlops.data.stats import drift

    ref, cur = as_frame(reference, "reference"), as_frame(current, "current")
    for name, frame in (("reference", ref), ("current", cur)):
        if len(frame) == 0:
            raise DataSchemaError(f"drift_report: the {name} data has no rows")
    if columns is not None:
        unknown = [c for c in columns if c not in ref.columns or c not in cur.columns]
        if unknown:
            raise DataSchemaError(f"drift_report: columns not in both datasets: {unknown}")
        ref, cur = ref[list(columns)], cur[list(columns)]
    raw = drift(ref, cur, alpha)
    # Bonferroni: with 13 features tested at 5% each, half of all same-distribution samples
    # would show a "drifted" feature; `alpha` bounds the chance of any false alarm instead.
    per_feature = alpha / max(1, len(raw["features"]))
    features = []
    for f in raw["features"]:
        rejected = f["p_value"] is not None and f["p_value"] < per_feature
        large = f["psi"] is not None and f["psi"] >= psi_threshold
        features.append(
            FeatureDrift(
                f["name"], f["test"], f["statistic"], f["p_value"], f["psi"], rejected and large
            )
        )
    return DriftReport(
        features,
        alpha,
        psi_threshold,
        raw["rows"],
        raw["missing_columns"],
        raw["charts"],
        raw["sampled"],
    )
