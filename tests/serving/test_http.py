"""The HTTP front of `nb2pipe serve`, against a real server process: every client error is a
400 (or 413, 431) with its reason, slow and idle clients hold no thread, a client slower than
the timeout in total is closed, sizes are bounded."""

from __future__ import annotations

import http.client
import json
import socket
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from support.serving import MODEL, features, publish_champion

from jupyter_mlops.data.prediction_log import parts, read_log
from jupyter_mlops.serving.front import MAX_HEAD
from jupyter_mlops.serving.http import MAX_BODY
from jupyter_mlops.serving.monitoring import labelled
from jupyter_mlops.serving.scoring import MAX_ROWS
from jupyter_mlops.serving.server import start_server

pytestmark = pytest.mark.slow
CLIENT_TIMEOUT = 2.0  # the server's: seconds a started request may take to arrive
LOG_MAX_BYTES = 4096  # small: the log rotates within a test


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    root = tmp_path_factory.mktemp("http")
    uri = publish_champion(root)
    served = start_server(
        f"{MODEL}@champion",
        log=root / "predictions.jsonl",
        tracking_uri=uri,
        client_timeout=CLIENT_TIMEOUT,
        log_max_bytes=LOG_MAX_BYTES,
    )
    try:
        yield served
    finally:
        assert served.stop() == 0, served.output.read_text()


def address(server) -> tuple[str, int]:
    parts = urlsplit(server.url)
    return parts.hostname, parts.port


def request(conn, method: str, path: str, body: bytes = b"", headers=None):
    conn.request(
        method, path, body=body, headers={"Content-Type": "application/json", **(headers or {})}
    )
    response = conn.getresponse()
    return response.status, json.loads(response.read() or b"null")


def split(frame) -> bytes:
    return json.dumps(
        {"dataframe_split": json.loads(frame.to_json(orient="split", index=False))}
    ).encode()


def raw(server, data: bytes) -> bytes:
    """Send `data` on a fresh socket; everything the server answers until it closes."""
    with socket.create_connection(address(server), timeout=30) as s:
        s.sendall(data)
        chunks = []
        while chunk := s.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def test_keep_alive_connection_answers_many_requests(server):
    conn = http.client.HTTPConnection(*address(server), timeout=30)
    before = len(read_log(server.log))
    for seed in range(20):
        status, body = request(conn, "POST", "/invocations", split(features(1, seed)))
        assert status == 200 and len(body["prediction_ids"]) == 1
    conn.close()
    assert len(read_log(server.log)) == before + 20


def test_client_errors_are_400_with_the_reason(server):
    conn = http.client.HTTPConnection(*address(server), timeout=30)
    wrong_columns = features(2, 1).rename(columns={"y": "z"})
    status, body = request(conn, "POST", "/invocations", split(wrong_columns))
    assert status == 400 and "y" in body["message"], body
    text = features(2, 1).astype({"x": str})
    text.loc[0, "x"] = "high"
    status, body = request(conn, "POST", "/invocations", split(text))
    assert status == 400 and "high" in body["message"], body
    status, body = request(conn, "POST", "/invocations", b"{", {})
    assert status == 400 and body["error_code"] == "BAD_REQUEST"
    status, body = request(conn, "GET", "/nowhere")
    assert status == 404
    conn.close()
    for length in (b"-1", b"abc"):
        answer = raw(
            server,
            b"POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: " + length + b"\r\n\r\n{}",
        )
        assert answer.startswith(b"HTTP/1.1 400 "), answer  # refused by the HTTP parser


def test_sizes_are_bounded(server):
    before = len(read_log(server.log))
    answer = raw(
        server,
        b"POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        + f"Content-Length: {MAX_BODY + 1}\r\n\r\n".encode(),
    )
    assert answer.startswith(b"HTTP/1.1 413 "), answer
    assert f"at most {MAX_BODY}".encode() in answer
    conn = http.client.HTTPConnection(*address(server), timeout=60)
    status, body = request(conn, "POST", "/invocations", split(features(MAX_ROWS + 1, 2)))
    assert status == 413 and f"at most {MAX_ROWS}" in body["message"]
    conn.close()
    assert len(read_log(server.log)) == before  # refused requests add nothing to the log


def threads(server) -> int:
    status = Path(f"/proc/{server.process.pid}/status").read_text()
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith("Threads:")))


def test_slow_and_idle_clients_hold_no_thread(server):
    idle = [socket.create_connection(address(server), timeout=30) for _ in range(300)]
    half = socket.create_connection(address(server), timeout=30)
    half.sendall(b"POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{")
    try:
        # Others are answered while 300 idle clients and a half-sent request wait.
        conn = http.client.HTTPConnection(*address(server), timeout=30)
        for seed in range(5):
            status, _ = request(conn, "POST", "/invocations", split(features(1, seed)))
            assert status == 200
        conn.close()
        assert threads(server) <= 40  # not one thread per connection
        # The half-sent request is dropped after the server's timeout: the socket closes.
        assert half.recv(65536) == b""
    finally:
        half.close()
        for s in idle:
            s.close()


def test_trickling_clients_stop_no_one_and_are_closed(server):
    """64 clients send a request's head a byte at a time, never silent for long: normal
    requests are answered meanwhile, and each trickler is closed once its request has taken
    longer than the timeout in total (a per-read timeout would never fire)."""
    head = b"POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
    tricklers = [socket.create_connection(address(server), timeout=30) for _ in range(64)]
    closed = set()
    conn = http.client.HTTPConnection(*address(server), timeout=30)
    sent = 0
    for step in range(int(CLIENT_TIMEOUT / 0.25) + 8):  # past the timeout, a byte every 0.25 s
        for k, s in enumerate(tricklers):
            if k in closed:
                continue
            try:
                s.sendall(head[step % len(head) : step % len(head) + 1])
            except OSError:
                closed.add(k)
        status, _ = request(conn, "POST", "/invocations", split(features(1, step)))
        assert status == 200
        sent += 1
        time.sleep(0.25)
    conn.close()
    for k, s in enumerate(tricklers):
        if k not in closed:
            s.settimeout(5)
            try:
                if s.recv(1) == b"":
                    closed.add(k)
            except OSError:
                closed.add(k)
        s.close()
    assert len(closed) == 64 and sent > 8


def test_bodies_the_parser_cannot_take_are_400_and_heads_are_bounded(server):
    conn = http.client.HTTPConnection(*address(server), timeout=60)
    nested = b'{"dataframe_split": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    status, body = request(conn, "POST", "/invocations", nested)
    assert status == 400 and "nested too deeply" in body["message"]
    status, body = request(conn, "POST", "/feedback", b"[" * 100_000)
    assert status == 400
    conn.close()
    # A head past the bound (still unfinished: the server has read all of it when it answers).
    answer = raw(server, b"GET /ping HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * (MAX_HEAD + 10))
    assert answer.startswith(b"HTTP/1.1 431 "), answer[:100]
    # A chunked body one byte past the bound (no end: the server has read all of it).
    chunked = raw(
        server,
        b"POST /invocations HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
        b"Content-Type: application/json\r\n\r\n"
        + (b"100000\r\n" + b" " * 0x100000 + b"\r\n") * (MAX_BODY // 0x100000)
        + b"1\r\n \r\n",
    )
    assert chunked.startswith(b"HTTP/1.1 413 "), chunked[:200]


def test_the_log_rotates_and_feedback_needs_issued_ids(server):
    conn = http.client.HTTPConnection(*address(server), timeout=30)
    ids = []
    for seed in range(40):
        status, body = request(conn, "POST", "/invocations", split(features(3, seed)))
        ids += body["prediction_ids"]
    assert len(parts(server.log)) > 3  # moved aside in numbered parts, none unbounded
    logged = read_log(server.log)
    assert set(ids) <= set(logged["id"])
    status, body = request(
        conn, "POST", "/feedback", json.dumps({"prediction_id": "made-up-0", "label": 1}).encode()
    )
    assert status == 400 and "unknown prediction id" in body["message"]
    assert "'made-up-0'" in body["message"]
    first = ids[0]  # in the oldest part
    status, body = request(
        conn, "POST", "/feedback", json.dumps({"prediction_id": first, "label": 1}).encode()
    )
    assert status == 200 and body == {"recorded": 1}
    conn.close()
    assert list(labelled(server.log)["id"]) == [first]
