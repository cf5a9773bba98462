"""What a version predicted when it was published: a few input rows and the predictions the
publisher's own object made on them, recorded with the version so that any served copy of it
can be proved to predict the same (`jupyter_mlops.serving.checks`).

The record is a JSON artifact of the version's run, ``model_checks/<name>-v<version>-expected.json``:

    {"dataframe_split": {"columns": ["x", "y"], "data": [[0.25, -1.5], ...]},
     "predictions": [1, ...]}

named by the version's tag ``deploy.expected``. The rows are written with Python's own float
repr, which reads back to the same doubles, so a served model that predicts differently on
them really computes something else. Anything that publishes a model (`publish_model`, a
pyfunc that packages the notebook's `serve` cells) calls `record_expected` with the rows and
what it predicted in the notebook.
"""

from __future__ import annotations

import io
import json
from typing import Any

from nb2pipe.fileio import plain

EXPECTED_TAG = "deploy.expected"
ROWS = 5  # as many as the model card shows


def as_request(rows: Any) -> dict[str, Any]:
    """`rows` (a DataFrame) as MLflow's ``dataframe_split`` request body, floats exact."""
    return {
        "dataframe_split": {
            "columns": [str(c) for c in rows.columns],
            "data": [[plain(v) for v in row] for row in rows.itertuples(index=False, name=None)],
        }
    }


def predictions_json(raw: Any) -> Any:
    """Predictions as MLflow's scoring server writes them (the ``predictions`` value)."""
    from mlflow.pyfunc.scoring_server import predictions_to_json

    out = io.StringIO()
    predictions_to_json(raw, out)
    return json.loads(out.getvalue())["predictions"]


def record_expected(
    client, name: str, version: str, run_id: str, rows: Any, predictions: Any = None
):
    """Record `rows` and the `predictions` the publisher's object made on them for version
    `version` of `name` (None: it could not predict them; the rows are recorded all the same,
    for the checks to try); return the artifact's path in run `run_id`."""
    payload = as_request(rows)
    if predictions is not None:
        payload["predictions"] = predictions_json(predictions)
    path = f"model_checks/{name}-v{version}-expected.json"
    client.log_text(run_id, json.dumps(payload, sort_keys=True), path)
    client.set_model_version_tag(name, str(version), EXPECTED_TAG, path)
    return path


def read_expected(client, name: str, version: str) -> dict[str, Any] | None:
    """The record of `record_expected` for that version, or None if none was made."""
    import tempfile
    from pathlib import Path

    found = client.get_model_version(name, str(version))
    path = (found.tags or {}).get(EXPECTED_TAG)
    if not path or not found.run_id:
        return None
    with tempfile.TemporaryDirectory() as folder:
        local = client.download_artifacts(found.run_id, path, folder)
        return json.loads(Path(local).read_text(encoding="utf-8"))
