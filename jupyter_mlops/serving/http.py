"""The HTTP layer of `nb2pipe serve`: MLflow's scoring protocol, plus ids and a log.

``POST /invocations`` takes what MLflow's scoring server takes (``dataframe_split``,
``dataframe_records``, ``instances`` or ``inputs`` JSON, CSV or Parquet), parsed by its own
functions (`mlflow.pyfunc.scoring_server`), and answers ``{"predictions": [...]}`` plus the
``prediction_ids`` and the served ``model``. ``POST /feedback`` records true labels.
``GET /ping``, ``/health``, ``/version`` and ``/model`` answer as expected. Connections are
front.py's (a selector and a bounded pool of threads); each response leaves in one write.

Every client error is a 400 with the reason (bad JSON, wrong or missing columns, text in a
number column, a bad Content-Length), 413 for a body above `MAX_BODY` or more than `MAX_ROWS`
rows (what one request may add to the prediction log); 500 only when the model itself fails.
"""

from __future__ import annotations

import io
import json
import os
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler
from typing import Any

from jupyter_mlops.serving import served_features
from jupyter_mlops.serving.front import TIMEOUT, Front
from jupyter_mlops.serving.prediction_log import MAX_BYTES as MAX_LOG_BYTES
from jupyter_mlops.serving.prediction_log import PredictionLog

MAX_BODY = 8 * 1024 * 1024
MAX_ROWS = 10_000


class ClientError(Exception):
    """The request is wrong: answered with `status` and the reason."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


class ModelServer:
    """A loaded model behind MLflow's scoring protocol, with ids and a prediction log."""

    def __init__(
        self,
        model: Any,  # serving.ServedModel
        pyfunc: Any,
        log: str | os.PathLike,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        timeout: float = TIMEOUT,
        log_max_bytes: int = MAX_LOG_BYTES,
    ):
        self.model = model
        self.pyfunc = pyfunc
        self.log = PredictionLog(log, log_max_bytes)
        self.input_schema = pyfunc.metadata.get_input_schema()
        self.httpd = Front((host, port), _Handler, timeout=timeout)
        self.httpd.app = self  # type: ignore[attr-defined]
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> ModelServer:
        """Serve from a background thread."""
        self._thread = threading.Thread(
            target=self.httpd.serve_forever, name="nb2pipe-serve", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    # --- requests ------------------------------------------------------------------------
    def parse(self, body: bytes, content_type: str):
        """The request's input data and params, parsed as MLflow's scoring server does."""
        from mlflow.exceptions import MlflowException
        from mlflow.protos.databricks_pb2 import BAD_REQUEST
        from mlflow.pyfunc import scoring_server as ss

        mime = content_type.split(";")[0].strip().lower()
        if mime == ss.CONTENT_TYPE_JSON:
            try:
                decoded = json.loads(body)
            except (ValueError, UnicodeDecodeError) as e:
                raise MlflowException(f"invalid JSON: {e}", error_code=BAD_REQUEST) from None
            if not isinstance(decoded, dict):
                raise MlflowException(ss.REQUIRED_INPUT_FORMAT, error_code=BAD_REQUEST)
            data = {k: v for k, v in decoded.items() if k in ss.SUPPORTED_FORMATS}
            return ss.infer_and_parse_data(data, self.input_schema), decoded.get("params")
        if mime == ss.CONTENT_TYPE_CSV:
            return ss.parse_csv_input(io.StringIO(body.decode("utf-8")), self.input_schema), None
        if mime == ss.CONTENT_TYPE_PARQUET:
            return ss.parse_parquet_input(io.BytesIO(body)), None
        raise MlflowException(
            f"unsupported content type {content_type!r} (use one of {ss.CONTENT_TYPES})",
            error_code=BAD_REQUEST,
        )

    def invocations(self, body: bytes, content_type: str) -> dict[str, Any]:
        from mlflow.exceptions import MlflowException
        from mlflow.pyfunc import scoring_server as ss

        data, params = self.parse(body, content_type)
        if hasattr(data, "__len__") and len(data) > MAX_ROWS:
            raise ClientError(413, f"{len(data)} rows in one request; at most {MAX_ROWS}")
        try:
            raw = self.pyfunc.predict(data, params=params) if params else self.pyfunc.predict(data)
        except MlflowException:
            raise
        except (ValueError, TypeError, KeyError) as e:  # the input does not fit the model
            reason = " ".join(str(e).split())[:500] or type(e).__name__
            raise ClientError(400, f"the model cannot take this input: {reason}") from None
        features = served_features.sampled(
            self.pyfunc, len(data) if hasattr(data, "__len__") else 1
        )
        out = io.StringIO()
        ss.predictions_to_json(raw, out)
        predictions = json.loads(out.getvalue())["predictions"]
        rows = _rows(data)
        request = uuid.uuid4().hex[:12]
        ids = [f"{request}-{i}" for i in range(len(rows))]
        per_row = isinstance(predictions, list) and len(predictions) == len(rows)
        now = time.time()
        self.log.append(
            [
                {
                    "id": ids[i],
                    "ts": now,
                    "model": self.model.name,
                    "version": self.model.version,
                    "inputs": row,
                    "prediction": predictions[i] if per_row else predictions,
                    **({"features": features[i]} if i < len(features) and features[i] else {}),
                }
                for i, row in enumerate(rows)
            ]
        )
        return {
            "predictions": predictions,
            "prediction_ids": ids,
            "model": {"name": self.model.name, "version": self.model.version},
        }

    def feedback(self, body: bytes) -> dict[str, Any]:
        from mlflow.exceptions import MlflowException
        from mlflow.protos.databricks_pb2 import BAD_REQUEST

        from jupyter_mlops.serving.monitoring import record_feedback

        try:
            decoded = json.loads(body)
        except (ValueError, UnicodeDecodeError) as e:
            raise MlflowException(f"invalid JSON: {e}", error_code=BAD_REQUEST) from None
        items = decoded.get("feedback", [decoded]) if isinstance(decoded, dict) else decoded
        if not isinstance(items, list) or not all(
            isinstance(i, dict) and "prediction_id" in i and "label" in i for i in items
        ):
            raise MlflowException(
                'give {"prediction_id": ..., "label": ...} or {"feedback": [...]}',
                error_code=BAD_REQUEST,
            )
        unknown = self.log.unknown([str(i["prediction_id"]) for i in items])
        if unknown:
            shown = ", ".join(map(repr, unknown[:5])) + (" ..." if len(unknown) > 5 else "")
            raise ClientError(
                400, f"{len(unknown)} unknown prediction id(s), never issued here: {shown}"
            )
        record_feedback(self.log, {i["prediction_id"]: i["label"] for i in items})
        return {"recorded": len(items)}


def _rows(data: Any) -> list[Any]:
    """The parsed input as one JSON-able value per row (a dict of named inputs if it can be)."""
    import numpy as np
    import pandas as pd

    if isinstance(data, dict):
        try:
            data = pd.DataFrame(data)
        except ValueError:
            return [json.loads(json.dumps(data, default=jsonable))]
    if isinstance(data, np.ndarray):
        data = pd.DataFrame(data.reshape(len(data), -1) if data.ndim else [data])
    if isinstance(data, pd.DataFrame) and all(
        pd.api.types.is_numeric_dtype(t) or pd.api.types.is_string_dtype(t) for t in data.dtypes
    ):  # the common case, without a JSON round trip: numbers, text, booleans
        names = [str(c) for c in data.columns]
        return [
            dict(zip(names, map(_plain, row), strict=True))
            for row in data.itertuples(index=False, name=None)
        ]
    if isinstance(data, pd.DataFrame):
        frame = data.copy()
        frame.columns = [str(c) for c in frame.columns]
        # json.loads(to_json) turns numpy scalars, NaN and timestamps into plain JSON values.
        return json.loads(frame.to_json(orient="records", double_precision=15))
    if isinstance(data, list):
        return [json.loads(json.dumps(r, default=jsonable)) for r in data]
    return [json.loads(json.dumps(data, default=jsonable))]


def _plain(value: Any) -> Any:
    """A numpy scalar as a plain value; NaN and pandas' missing values as None."""
    if hasattr(value, "item"):
        value = value.item()
    if value is None or (isinstance(value, float) and value != value):
        return None
    if not isinstance(value, (str, int, float, bool)):
        return None if str(value) in ("<NA>", "NaT", "nan") else str(value)
    return value


def jsonable(value: Any) -> Any:
    return value.tolist() if hasattr(value, "tolist") else str(value)


class _Handler(BaseHTTPRequestHandler):
    """One connection's handler; front.py calls `handle_one_request` once per request."""

    server_version = "nb2pipe-serve"
    protocol_version = "HTTP/1.1"
    timeout = None  # front.py sets the socket's timeout

    def __init__(self, request, client_address, server):
        self.request, self.client_address, self.server = request, client_address, server
        self.close_connection = False
        self.setup()

    @property
    def app(self) -> ModelServer:
        return self.server.app  # type: ignore[attr-defined]

    def log_message(self, format: str, *args: Any) -> None:
        pass  # one line per request would drown the server's own messages

    def _reply(self, status: int, payload: Any, content_type: str = "application/json") -> None:
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Model", f"{self.app.model.name}/{self.app.model.version}")
        if self.close_connection:
            self.send_header("Connection", "close")
        # Headers and body in one write: two would wait on Nagle and a delayed ACK.
        self._headers_buffer.extend((b"\r\n", body))
        self.flush_headers()

    def _refuse(self, status: int, message: str) -> None:
        code = "REQUEST_TOO_LARGE" if status == 413 else "BAD_REQUEST"
        self._reply(status, {"error_code": code, "message": message})

    def _body(self) -> bytes | None:
        """The request body, or None once a 400/411/413 went out (the connection closes: the
        unread body would be taken for the next request)."""
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            self.close_connection = True
            self._refuse(411, "chunked bodies are not accepted: send Content-Length")
            return None
        text = self.headers.get("Content-Length")
        try:
            length = int(text) if text is not None else 0
        except ValueError:
            length = -1
        if length < 0:
            self.close_connection = True
            self._refuse(400, f"bad Content-Length {text!r}")
            return None
        if length > MAX_BODY:
            self.close_connection = True
            self._refuse(413, f"request body of {length} bytes; at most {MAX_BODY}")
            return None
        body = self.rfile.read(length)
        if len(body) < length:  # the client went away mid-body
            self.close_connection = True
            return None
        return body

    def do_GET(self) -> None:
        path = self.path.split("?")[0]
        if path in ("/ping", "/health"):
            self._reply(200, b"\n")
        elif path == "/version":
            import mlflow

            self._reply(200, mlflow.__version__.encode(), "text/plain")
        elif path == "/model":
            m = self.app.model
            self._reply(
                200,
                {
                    "name": m.name,
                    "version": m.version,
                    "alias": m.alias,
                    "log": str(self.app.log.path),
                },
            )
        else:
            self._reply(404, {"error_code": "NOT_FOUND", "message": f"no route {path}"})

    def do_POST(self) -> None:
        from mlflow.exceptions import MlflowException

        path = self.path.split("?")[0]
        body = self._body()
        if body is None:
            return
        try:
            if path == "/invocations":
                content_type = self.headers.get("Content-Type") or "application/json"
                self._reply(200, self.app.invocations(body, content_type))
            elif path == "/feedback":
                self._reply(200, self.app.feedback(body))
            else:
                self._reply(404, {"error_code": "NOT_FOUND", "message": f"no route {path}"})
        except ClientError as e:
            self._refuse(e.status, str(e))
        except MlflowException as e:
            status = e.get_http_status_code()
            self._reply(400 if status == 500 else status, e.serialize_as_json().encode())
        except Exception as e:  # the model itself failed
            message = f"{type(e).__name__}: {e}"
            self._reply(500, {"error_code": "INTERNAL_ERROR", "message": message})
