"""The connection front of `nb2pipe serve`: uvicorn (httptools parser, uvloop), plus the two
bounds it lacks.

uvicorn reads every connection in one event loop, so idle and slow clients hold no thread, and
it closes a connection idle between requests after `idle` seconds. But it lets a client take
as long as it likes to *send* a request, and as many bytes of head as it likes: 64 clients
trickling one byte a second would hold their connections forever. Our protocol adds:

- a deadline per request: from its first byte to its last, `timeout` seconds; a slower client
  is closed (a connection that sends nothing at all after connecting too);
- a bound on the request head (request line and headers): `MAX_HEAD` bytes, else 431.

The body's bound (413) and what requests mean are http.py's. The server runs in a thread of its
own with its own loop (`Front.start`); the process's signals stay with its caller.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

BACKLOG = 2048
TIMEOUT = 10.0  # seconds a request may take to arrive, from its first byte to its last
IDLE = 120.0  # seconds a kept-alive connection may stay silent between requests
MAX_HEAD = 64 * 1024


class Protocol(HttpToolsProtocol):
    """uvicorn's HTTP/1.1 protocol with a deadline per request and a bounded head."""

    def connection_made(self, transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._deadline: asyncio.TimerHandle | None = None
        self._head = 0  # bytes of the current request's head so far
        self._in_body = False
        # uvicorn arms its idle timer only after a first response: a connection that never
        # sends anything would stay open. Its first request must start in time.
        self.timeout_keep_alive_task = self.loop.call_later(
            self.config.request_timeout, self.timeout_keep_alive_handler
        )

    def data_received(self, data: bytes) -> None:
        if not self._in_body:  # counted before the parser buffers it
            end = data.find(b"\r\n\r\n")
            self._head += len(data) if end < 0 else end + 4
            if self._head > MAX_HEAD:
                if not self.transport.is_closing():
                    self._refuse(
                        b"431 Request Header Fields Too Large",
                        f"the request head is larger than {MAX_HEAD} bytes".encode(),
                    )
                return
        super().data_received(data)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._cancel()
        self._deadline = self.loop.call_later(self.config.request_timeout, self._too_slow)

    def on_headers_complete(self) -> None:
        self._in_body = True
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self._cancel()
        self._in_body = False
        self._head = 0
        super().on_message_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel()
        super().connection_lost(exc)

    def _cancel(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _too_slow(self) -> None:
        """The request did not arrive whole in time: the connection is closed."""
        self._deadline = None
        if self.cycle is not None and not self.cycle.response_complete:
            self.cycle.disconnected = True
            self.cycle.message_event.set()
        if not self.transport.is_closing():
            self.transport.close()

    def _refuse(self, status: bytes, message: bytes) -> None:
        self.transport.write(
            b"HTTP/1.1 " + status + b"\r\ncontent-type: text/plain\r\nconnection: close\r\n"
            b"content-length: " + str(len(message)).encode() + b"\r\n\r\n" + message
        )
        self.transport.close()


class Front:
    """uvicorn serving `app` on (host, port) from a thread of this process."""

    def __init__(
        self,
        app: Any,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        timeout: float = TIMEOUT,
        idle: float = IDLE,
        backlog: int = BACKLOG,
    ):
        import uvicorn

        # Our own socket: a port in use is an OSError here, where the caller can say so.
        self.socket = socket.create_server((host, port), backlog=backlog, reuse_port=False)
        self.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.server_address = self.socket.getsockname()[:2]
        config = uvicorn.Config(
            app,
            http=Protocol,
            loop=_loop(),
            lifespan="off",
            access_log=False,
            log_level="warning",
            timeout_keep_alive=idle,
            backlog=backlog,
            server_header=False,
            date_header=False,
        )
        config.request_timeout = timeout  # type: ignore[attr-defined]  # read by Protocol
        self.server = uvicorn.Server(config)
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self.server_address
        return f"http://{host}:{port}"

    def start(self) -> Front:
        self._thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.socket]}, name="nb2pipe-front"
        )
        self._thread.daemon = True
        self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self.server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout)
        self.socket.close()


def _loop() -> str:
    try:
        import uvloop  # noqa: F401
    except ImportError:
        return "asyncio"
    return "uvloop"
