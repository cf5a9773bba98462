"""Training–serving skew, watched (`nb2pipe watch --skew`): the features a model's serve cells
computed while serving, against the training features it was published with.

A model published with its notebook's serve cells carries a sample of what it was fitted on
(`artifacts/serve/reference_features.parquet`, registry/serve_package.py); the prediction log
holds, on a sample of its lines, the features the served cells computed (serving/
served_features.py). The trigger compares the two with the drift tests of data/drift.py, feature
by feature, for the version that served most of the new lines, and names the features that
diverged. Only lines logged since the last run count, as for the other triggers.
"""

from __future__ import annotations

import os
import tempfile
from typing import Any

from jupyter_mlops.retrain.triggers import Decision, _SinceLastRun

REFERENCE_PATH = "artifacts/serve/reference_features.parquet"


def training_features(name: str, version: str, tracking_uri: str | None = None):
    """The sample of training features version `version` of `name` was published with (None:
    published without serve cells)."""
    import pandas as pd

    from jupyter_mlops.errors import translated
    from jupyter_mlops.tracking import config, store

    uri = tracking_uri or config.tracking_uri()
    with translated(f"read model {name!r}", uri), store.fluent_uri(uri):
        import mlflow.artifacts
        from mlflow.exceptions import MlflowException

        with tempfile.TemporaryDirectory(prefix="nb2pipe-skew-") as folder:
            try:
                path = mlflow.artifacts.download_artifacts(
                    artifact_uri=f"models:/{name}/{version}/{REFERENCE_PATH}", dst_path=folder
                )
            except (MlflowException, OSError):
                return None
            return pd.read_parquet(path)


class SkewTrigger(_SinceLastRun):
    """Fires when the features computed while serving diverge from the training features."""

    name = "skew"

    def __init__(
        self,
        log: str | os.PathLike,
        alpha: float | None = None,
        psi_threshold: float | None = None,
        min_rows: int = 30,
        tracking_uri: str | None = None,
    ):
        super().__init__(log)
        from jupyter_mlops.data import drift

        self.alpha = drift.ALPHA if alpha is None else alpha
        self.psi_threshold = drift.PSI_THRESHOLD if psi_threshold is None else psi_threshold
        self.min_rows = min_rows
        self.tracking_uri = tracking_uri
        self._references: dict[tuple[str, str], Any] = {}

    def reference(self, name: str, version: str):
        key = (name, version)
        if key not in self._references:
            self._references[key] = training_features(name, version, self.tracking_uri)
        return self._references[key]

    def check(self) -> Decision:
        from jupyter_mlops.data.drift import drift_report
        from jupyter_mlops.data.prediction_log import logged_features

        logged = logged_features(self.log, self.since)
        if len(logged) < self.min_rows:
            return Decision(
                self.name,
                False,
                f"{len(logged)} new predictions with logged features, fewer than {self.min_rows}",
            )
        groups = logged.groupby(["model", "model_version"])
        (name, version), served = max(groups, key=lambda g: len(g[1]))
        reference = self.reference(str(name), str(version))
        if reference is None:
            return Decision(
                self.name, False, f"{name} version {version} was published without serve cells"
            )
        served = served.drop(columns=["model", "model_version"]).dropna(axis=1, how="all")
        report = drift_report(reference, served, alpha=self.alpha, psi_threshold=self.psi_threshold)
        where = f"{name} version {version}: {len(served)} served vs {len(reference)} training rows"
        if not report.drifted:
            return Decision(
                self.name,
                False,
                f"the features computed while serving match training ({where})",
            )
        names = ", ".join(report.drifted_features)
        worst = max((f for f in report.features if f.drifted), key=lambda f: f.psi or 0.0)
        return Decision(
            self.name,
            True,
            f"{len(report.drifted_features)} of {len(report.features)} features computed while "
            f"serving diverged from training: {names} (most: {worst.name!r}, PSI "
            f"{worst.psi:.2f}; {where})",
        )
