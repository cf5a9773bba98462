"""The HTTP layer of `nb2pipe serve`: MLflow's scoring protocol, plus ids, versions and a log,
as a small ASGI application (front.py serves it with uvicorn).

``POST /invocations`` takes what MLflow's scoring server takes (scoring.py) and answers
``{"predictions": [...]}`` plus the ``prediction_ids`` and the ``model`` that answered; the
``X-Model-Version`` header names the version (``3``, or ``3,4`` when a canary split the rows).
``POST /feedback`` records true labels. ``GET /version`` says what is live (versions, alias,
routing, MLflow's version); ``/ping``, ``/health`` and ``/model`` answer as before.

Every client error is a 400 with the reason, 413 for a body above `MAX_BODY` (said by its
Content-Length before it is read, or found while reading a chunked one) or more than
`scoring.MAX_ROWS` rows; 500 only when the model itself fails. Small requests are answered on
the event loop (a thread hop costs more than they do); bodies above `INLINE_BYTES` go to a
small pool of threads, so one big request does not hold up the small ones.
"""

from __future__ import annotations

import asyncio
import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from jupyter_mlops.serving.errors import ClientError
from jupyter_mlops.serving.live import Live

MAX_BODY = 8 * 1024 * 1024
INLINE_BYTES = 64 * 1024
JSON = b"application/json"


class App:
    """The ASGI application over a `Live` set of versions."""

    def __init__(self, live: Live, *, workers: int = 4):
        self.live = live
        self.pool = ThreadPoolExecutor(workers, thread_name_prefix="nb2pipe-predict")

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return
        path, method = scope["path"], scope["method"]
        try:
            if method == "POST" and path in ("/invocations", "/feedback"):
                body = await self._body(scope, receive)
                if body is None:
                    return  # the client went away mid-body
                status, payload, headers = await self._post(path, body, scope)
            elif method in ("GET", "HEAD"):
                status, payload, headers = self._get(path)
            else:
                status, payload, headers = 404, _error(404, f"no route {method} {path}"), []
        except ClientError as e:
            status, payload, headers = e.status, _error(e.status, str(e)), []
            if e.status in (411, 413):  # the unread body would be taken for the next request
                headers.append((b"connection", b"close"))
        except Exception as e:  # the model itself failed
            status = 500
            payload = {"error_code": "INTERNAL_ERROR", "message": f"{type(e).__name__}: {e}"}
            headers = []
        await _reply(send, status, payload, headers)

    async def _body(self, scope, receive) -> bytes | None:
        declared = _header(scope, b"content-length")
        if declared is not None:
            try:
                length = int(declared)
            except ValueError:
                length = -1
            if length < 0:
                raise ClientError(400, f"bad Content-Length {declared.decode(errors='replace')!r}")
            if length > MAX_BODY:
                raise ClientError(413, f"request body of {length} bytes; at most {MAX_BODY}")
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > MAX_BODY:
                raise ClientError(413, f"request body above {MAX_BODY} bytes")
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)

    async def _post(self, path: str, body: bytes, scope) -> tuple[int, Any, list]:
        content_type = (_header(scope, b"content-type") or JSON).decode("latin-1")
        if path == "/feedback":
            return 200, self.feedback(body), []
        if len(body) <= INLINE_BYTES:
            answer = self.live.answer(body, content_type)
        else:
            loop = asyncio.get_running_loop()
            answer = await loop.run_in_executor(self.pool, self.live.answer, body, content_type)
        versions = ",".join(answer.versions).encode()
        return 200, answer.body, [(b"x-model-version", versions)]

    def _get(self, path: str) -> tuple[int, Any, list]:
        live = self.live
        if path in ("/ping", "/health"):
            return 200, b"\n", []
        if path == "/version":
            import mlflow

            return 200, {**live.describe(), "mlflow": mlflow.__version__}, []
        if path == "/model":
            m = live.champion.model
            return (
                200,
                {"name": m.name, "version": m.version, "alias": m.alias, "log": str(live.log.path)},
                [],
            )
        return 404, _error(404, f"no route {path}"), []

    def feedback(self, body: bytes) -> dict[str, Any]:
        from jupyter_mlops.serving.monitoring import record_feedback

        try:
            decoded = json.loads(body)
        except (ValueError, UnicodeDecodeError, RecursionError) as e:
            raise ClientError(400, f"invalid JSON: {_reason(e)}") from None
        items = decoded.get("feedback", [decoded]) if isinstance(decoded, dict) else decoded
        if not isinstance(items, list) or not all(
            isinstance(i, dict) and "prediction_id" in i and "label" in i for i in items
        ):
            raise ClientError(
                400, 'give {"prediction_id": ..., "label": ...} or {"feedback": [...]}'
            )
        log = self.live.log
        unknown = log.unknown([str(i["prediction_id"]) for i in items])
        if unknown:
            shown = ", ".join(map(repr, unknown[:5])) + (" ..." if len(unknown) > 5 else "")
            raise ClientError(
                400, f"{len(unknown)} unknown prediction id(s), never issued here: {shown}"
            )
        record_feedback(log, {i["prediction_id"]: i["label"] for i in items})
        return {"recorded": len(items)}

    def close(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)


def _reason(e: BaseException) -> str:
    return "nested too deeply" if isinstance(e, RecursionError) else str(e)


def _header(scope, name: bytes) -> bytes | None:
    for key, value in scope["headers"]:
        if key == name:
            return value
    return None


def _error(status: int, message: str) -> dict[str, str]:
    code = {404: "NOT_FOUND", 413: "REQUEST_TOO_LARGE"}.get(status, "BAD_REQUEST")
    return {"error_code": code, "message": message}


async def _reply(send, status: int, payload: Any, headers: list) -> None:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    content_type = b"text/plain" if isinstance(payload, bytes) else JSON
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", content_type),
                (b"content-length", str(len(body)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
