"""A request's way through a model: MLflow's parsing with the client's faults as 400/413, and
the hook by which a model refuses an input itself (`ModelInputError`, or `http_status`)."""

from __future__ import annotations

import json

import pytest

from jupyter_mlops.serving import scoring
from jupyter_mlops.serving.errors import ClientError, ModelInputError


class Model:
    """Stands for a loaded pyfunc: scoring only calls its predict."""

    def __init__(self, error: BaseException | None = None):
        self.error = error

    def predict(self, data, params=None):
        if self.error is not None:
            raise self.error
        return [0] * len(data)


class Refusal(Exception):
    """What code that cannot import jupyter_mlops raises: it only has `http_status`."""

    http_status = 422
    message = "serve cell 4: age is negative"


class UpstreamError(Exception):
    status = 404  # an HTTP client's status, not the model's verdict on the input


def test_a_model_refuses_an_input_with_its_own_status_and_message():
    with pytest.raises(ClientError) as found:
        scoring.predict(Model(ModelInputError("serve cell 4: age is negative")), [1])
    assert (found.value.status, str(found.value)) == (400, "serve cell 4: age is negative")
    with pytest.raises(ClientError) as found:
        scoring.predict(Model(Refusal()), [1])
    assert (found.value.status, str(found.value)) == (422, "serve cell 4: age is negative")
    with pytest.raises(ClientError) as found:
        scoring.predict(Model(ValueError("could not convert 'high' to float")), [1])
    assert found.value.status == 400 and "the model cannot take this input" in str(found.value)
    with pytest.raises(RuntimeError):  # the model's own failure stays a 500
        scoring.predict(Model(RuntimeError("out of memory")), [1])
    with pytest.raises(UpstreamError):
        scoring.predict(Model(UpstreamError()), [1])
    assert scoring.predict(Model(), [1, 2]) == [0, 0]


def test_bodies_a_client_got_wrong_are_400_or_413():
    def status(body: bytes, content_type: str = "application/json") -> tuple[int, str]:
        with pytest.raises(ClientError) as found:
            scoring.parse(body, content_type, None)
        return found.value.status, str(found.value)

    assert status(b"[" * 100_000 + b"]" * 100_000)[1] == "invalid JSON: nested too deeply"
    nested = b'{"inputs": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    assert status(nested) == (400, "invalid JSON: nested too deeply")
    assert status(b"{")[0] == 400
    assert status(b"[1]")[0] == 400  # not an object
    assert status(b'{"inputs": [1], "params": 3}') == (400, "params: a JSON object")
    assert "unsupported content type" in status(b"x", "text/plain")[1]
    rows = {"dataframe_split": {"columns": ["x"], "data": [[1.0]] * (scoring.MAX_ROWS + 1)}}
    assert status(json.dumps(rows).encode()) == (
        413,
        f"{scoring.MAX_ROWS + 1} rows in one request; at most {scoring.MAX_ROWS}",
    )
    assert status(b"\xff\xfe", "text/csv")[0] == 400
