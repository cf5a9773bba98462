"""The last act of `make demo`: publish the example's model and let the gate decide."""

from __future__ import annotations

from nb2pipe.runner.rundir import RunDir

from .config import tracking_uri
from .publishing import promote, publish_from_run
from .redact import redact_uri

MODEL_NAME = "wine-quality"


def publish_example(result) -> None:
    run = RunDir(result.run_dir)
    uri = tracking_uri(result.source.parent if result.source else None)
    published = publish_from_run(run, MODEL_NAME, metric="f1_macro", tracking_uri=uri)
    print(
        f"3. published {published.name} version {published.version} "
        f"(alias {published.alias}) with its model card, in {redact_uri(uri)}"
    )
    decision = promote(MODEL_NAME, "f1_macro", tracking_uri=uri)
    print(f"4. model gate: {decision}")
    print("   see it all with: .venv/bin/mlflow ui --backend-store-uri " + redact_uri(uri))
