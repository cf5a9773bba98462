"""Credentials out of URIs and messages: `redact_uri` and `redact`."""

from __future__ import annotations

import pytest

from jupyter_mlops.redact import has_credentials, redact, redact_uri


@pytest.mark.parametrize(
    ("uri", "clean"),
    [
        ("http://ana:pw@host:5000", "http://host:5000"),
        ("https://ana@host/path", "https://host/path"),
        ("postgresql://u:p%40ss@db:5432/mlflow", "postgresql://db:5432/mlflow"),
        ("s3://bucket/x?X-Amz-Signature=abc&part=1", "s3://bucket/x?X-Amz-Signature=***&part=1"),
        (
            "https://h/api?access_token=t0k&design=1&sig=s",
            "https://h/api?access_token=***&design=1&sig=***",
        ),
        ("sqlite:////tmp/mlflow.db", "sqlite:////tmp/mlflow.db"),
        ("http://127.0.0.1:5000", "http://127.0.0.1:5000"),
    ],
)
def test_redact_uri(uri, clean):
    assert redact_uri(uri) == clean
    assert has_credentials(uri) == (uri != clean)


def test_redact_hides_uris_inside_messages_and_secret_variables(monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", "env-secret-123")
    message = (
        "API request to http://ana:pw@host/api/2.0/mlflow/runs/create failed (token env-secret-123)"
    )
    assert redact(message) == (
        "API request to http://host/api/2.0/mlflow/runs/create failed (token ***)"
    )
