"""The errors of serving, and the hook by which a model says "this input is wrong".

A model's `predict` (a pyfunc that runs the notebook's `serve` cells, say) may refuse an input
for reasons only it knows. It raises `ModelInputError` (or any exception whose class has an
integer ``http_status`` between 400 and 499 and, optionally, a ``message``: code that cannot
import jupyter_mlops duck-types it), and the server answers that status with the message,
instead of a 500. Everything else a model raises is a 500 with the exception's name, except
the ValueError/TypeError/KeyError that input of the wrong shape makes inside pandas, numpy
and scikit-learn: those are 400 too.

This module imports only the standard library (through `nb2pipe.errors`): a packaged model may
import it cheaply; where jupyter_mlops is not installed, the ``http_status`` attribute does.
"""

from __future__ import annotations

from nb2pipe.errors import Nb2PipeError


class ServingError(Nb2PipeError):
    """The model cannot be served: unknown model, alias or version, or a server that failed."""


class ClientError(Exception):
    """The request is wrong: answered with `status` and the reason."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


class ModelInputError(ValueError):
    """Raised by a model's predict for input it refuses: the client gets `http_status` (400
    unless given) and `message` (e.g. ``"serve cell 4: column 'age' is negative"``)."""

    http_status = 400

    def __init__(self, message: str, http_status: int = 400):
        super().__init__(message)
        self.message = message
        self.http_status = http_status


def client_error(exc: BaseException) -> ClientError | None:
    """The `ClientError` a model's exception stands for, or None if it is not the client's."""
    status = getattr(exc, "http_status", None)
    if isinstance(status, int) and not isinstance(status, bool) and 400 <= status <= 499:
        message = getattr(exc, "message", None) or str(exc) or type(exc).__name__
        return ClientError(status, " ".join(str(message).split())[:1000])
    return None
