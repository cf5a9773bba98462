"""The connection front of `nb2pipe serve`: a selector holds idle connections, a bounded pool
of worker threads answers requests.

A thread is busy only while a request is being read, run and answered: idle keep-alive
connections wait in one `selectors` loop (1,000 idle clients cost no thread), and a client
that sends half a request holds its worker for at most `timeout` seconds before it is closed.
Connections idle longer than `idle` seconds are closed. The listen backlog is `backlog`, and
every accepted socket has `TCP_NODELAY` (with one write per response, no Nagle stall).
"""

from __future__ import annotations

import selectors
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

BACKLOG = 1024
WORKERS = 16
TIMEOUT = 10.0  # seconds a started request may take to arrive
IDLE = 120.0  # seconds a kept-alive connection may stay silent


class Front:
    """Accepts on (host, port) and hands each readable connection to `handler_class`, one
    request at a time, from a pool of `workers` threads."""

    def __init__(
        self,
        address: tuple[str, int],
        handler_class: type,
        *,
        workers: int = WORKERS,
        backlog: int = BACKLOG,
        timeout: float = TIMEOUT,
        idle: float = IDLE,
    ):
        self.handler_class = handler_class
        self.timeout, self.idle = timeout, idle
        self.socket = socket.create_server(address, backlog=backlog)
        self.socket.setblocking(False)
        self.server_address = self.socket.getsockname()
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="nb2pipe-serve")
        self._selector = selectors.DefaultSelector()
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._returned: list[Any] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._stopped = threading.Event()

    # --- the selector loop ---------------------------------------------------------------
    def serve_forever(self) -> None:
        self._selector.register(self.socket, selectors.EVENT_READ, None)
        self._selector.register(self._wake_r, selectors.EVENT_READ, "wake")
        idle: dict[Any, float] = {}  # handler -> when it went back to waiting
        try:
            while not self._stop.is_set():
                for key, _ in self._selector.select(timeout=1.0):
                    if key.data is None:
                        self._accept(idle)
                    elif key.data == "wake":
                        self._drain_wake(idle)
                    else:
                        self._selector.unregister(key.fileobj)
                        idle.pop(key.data, None)
                        self._pool.submit(self._answer, key.data)
                self._close_idle(idle)
        finally:
            for handler in list(idle):
                _close(handler)
            self._stopped.set()

    def _accept(self, idle: dict) -> None:
        for _ in range(64):  # a burst of connections is taken in one go
            try:
                conn, address = self.socket.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError:  # out of file descriptors: the clients wait in the backlog
                return
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            conn.settimeout(self.timeout)
            handler = self.handler_class(conn, address, self)
            self._wait(handler, idle)

    def _wait(self, handler, idle: dict) -> None:
        try:
            self._selector.register(handler.connection, selectors.EVENT_READ, handler)
            idle[handler] = time.monotonic()
        except (ValueError, OSError):  # closed meanwhile
            _close(handler)

    def _drain_wake(self, idle: dict) -> None:
        try:
            while self._wake_r.recv(4096):
                pass
        except BlockingIOError:
            pass
        with self._lock:
            returned, self._returned = self._returned, []
        for handler in returned:
            self._wait(handler, idle)

    def _close_idle(self, idle: dict) -> None:
        limit = time.monotonic() - self.idle
        for handler, since in list(idle.items()):
            if since < limit:
                del idle[handler]
                self._selector.unregister(handler.connection)
                _close(handler)

    # --- a worker ------------------------------------------------------------------------
    def _answer(self, handler) -> None:
        """Answer the requests that have arrived on `handler`'s connection, then hand it back
        to the selector (or close it)."""
        try:
            while True:
                handler.handle_one_request()
                if handler.close_connection or not _more_buffered(handler):
                    break
        except OSError:  # a timeout (a slow client) or a reset: the connection is done
            handler.close_connection = True
        except Exception:  # noqa: BLE001 - a handler bug must not kill the pool's thread
            handler.close_connection = True
        if handler.close_connection or self._stop.is_set():
            _close(handler)
            return
        with self._lock:
            self._returned.append(handler)
        try:
            self._wake_w.send(b"x")
        except OSError:
            pass

    def shutdown(self) -> None:
        self._stop.set()
        try:
            self._wake_w.send(b"x")
        except OSError:
            pass
        self._stopped.wait(5.0)
        self._pool.shutdown(wait=True, cancel_futures=True)

    def server_close(self) -> None:
        self._selector.close()
        for s in (self.socket, self._wake_r, self._wake_w):
            s.close()


def _more_buffered(handler) -> bool:
    """Whether the next request is already here (read ahead into the buffer, or waiting in
    the socket): then it is answered at once, without a trip through the selector."""
    conn = handler.connection
    try:
        conn.setblocking(False)
        try:
            return bool(handler.rfile.peek(1))
        finally:
            conn.settimeout(handler.server.timeout)
    except (OSError, ValueError):
        return False


def _close(handler) -> None:
    try:
        handler.wfile.flush()
    except (OSError, ValueError):
        pass
    for f in (handler.rfile, handler.wfile):
        try:
            f.close()
        except (OSError, ValueError):
            pass
    try:
        handler.connection.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    handler.connection.close()
