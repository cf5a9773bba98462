"""Helpers of the serving tests and bench: features, the world's labels, a published model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

MODEL = "served"


def features(n: int, seed: int, shift: float = 0.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"x": rng.normal(shift, 1.0, n), "y": rng.normal(0.0, 1.0, n)})


def truth(frame: pd.DataFrame, boundary: float = 0.0) -> list[int]:
    """The label the world gives; the boundary moves when the concept drifts."""
    return (frame["x"] + 0.1 * frame["y"] > boundary).astype(int).tolist()


def publish_champion(root: Path, name: str = MODEL) -> str:
    """A model trained on `features(1000, seed=1)`, published and champion in a fresh SQLite
    store under `root` (with `reference.parquet`); the store's URI."""
    from sklearn.linear_model import LogisticRegression

    import jupyter_mlops
    from jupyter_mlops.tracking.session import SESSION

    uri = f"sqlite:///{root / 'mlflow.db'}"
    reference = features(1000, seed=1)
    reference.to_parquet(root / "reference.parquet")
    model = LogisticRegression().fit(reference, truth(reference))
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(root)  # nothing of MLflow's lands in the working directory of the tests
        mp.setenv("MLFLOW_TRACKING_URI", uri)
        mp.setenv("MLFLOW_EXPERIMENT_NAME", "serving")
        SESSION.reset()
        jupyter_mlops.publish_model(
            model, name, metric="accuracy", metrics={"accuracy": 0.99}, data=reference
        )
        jupyter_mlops.promote(name, "accuracy")
        SESSION.reset()
    return uri
