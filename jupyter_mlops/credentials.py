"""Credentials out of everything we write or show: logs, artifacts, command lines, the terminal.

A tracking URI may carry a password (``http://ana:PW@host``, ``postgresql://u:PW@db/mlflow``)
or a token in its query (``?token=…``, an object store's ``sig=…``), and MLflow quotes the URL it
failed to reach, password included, in its exception messages. Every URI or message that leaves
the process goes through `redact_uri` (or `redact`, which also hides the values of secret
environment variables). Child processes get the real URI in their environment, never in argv.
"""

from __future__ import annotations

import logging
import os
import re

# Environment variables whose values are secrets, wherever they turn up in a message.
SECRET_ENV = (
    "MLFLOW_TRACKING_PASSWORD",
    "MLFLOW_TRACKING_TOKEN",
    "MLFLOW_TRACKING_CLIENT_CERT_PATH",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AZURE_STORAGE_ACCESS_KEY",
    "AZURE_STORAGE_CONNECTION_STRING",
    "GOOGLE_APPLICATION_CREDENTIALS",
)
MASK = "***"

# `scheme://user:password@host`: everything between `//` and the last `@` before the host's end.
# A password's own `/`, `?` or `#` must be percent-encoded in a URI, so they end the userinfo.
_USERINFO = re.compile(r"(?<=//)[^/?#\s]*@")
# `?token=…&sig=…`: query parameters that carry a secret (signed URLs, tokens, DSN passwords).
_SECRET_QUERY = re.compile(
    r"(?i)([?&;](?:[\w.-]*(?:password|passwd|pwd|token|secret|signature|credential|sig|apikey"
    r"|api_key|access_key|sas)))=[^&;#\s'\"]*"
)


def redact_uri(text: str) -> str:
    """`text` (a URI, or a message quoting URIs) without user:password@ and secret query values."""
    text = _USERINFO.sub("", str(text))
    return _SECRET_QUERY.sub(rf"\1={MASK}", text)


def has_credentials(uri: str) -> bool:
    """Whether `uri` carries something `redact_uri` would hide."""
    return redact_uri(uri) != uri


def redact(text: str) -> str:
    """`redact_uri`, and the values of the secret environment variables masked."""
    text = redact_uri(text)
    for name in SECRET_ENV:
        secret = os.environ.get(name)
        if secret and len(secret) >= 4:  # shorter values would mask ordinary words
            text = text.replace(secret, MASK)
    return text


def one_line(error: BaseException | str, limit: int = 400) -> str:
    """An error as one line without credentials: what a warning or a log can show.

    Our own errors are one line already and kept whole; anything else (a driver's error with
    its SQL, a server's HTML page) is cut to its first line, at most `limit` characters.
    """
    from nb2pipe.errors import Nb2PipeError  # light: no MLflow, no runner

    if isinstance(error, Nb2PipeError):
        return " ".join(redact(str(error)).split())
    text = error if isinstance(error, str) else f"{type(error).__name__}: {error}"
    line = next((part.strip() for part in redact(text).splitlines() if part.strip()), "")
    return line if len(line) <= limit else line[: limit - 1] + "…"


class RedactingFilter(logging.Filter):
    """Rewrites a log record's message and traceback through `redact`."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, ()
        if record.exc_info and not record.exc_text:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
        return True


def redact_logs(*loggers: logging.Logger) -> None:
    """Put a `RedactingFilter` on every handler of `loggers` (once per handler)."""
    for logger in loggers:
        for handler in logger.handlers:
            if not any(isinstance(f, RedactingFilter) for f in handler.filters):
                handler.addFilter(RedactingFilter())


def refuse_credentials(option: str, uri: str | None) -> None:
    """A URI with a password given on a command line is visible to every user (`ps`): refuse it."""
    if uri and has_credentials(uri):
        from nb2pipe.errors import Nb2PipeError

        raise Nb2PipeError(
            f"{option} {redact_uri(uri)}: credentials on a command line are visible to every "
            "user of the machine; set MLFLOW_TRACKING_URI, or MLFLOW_TRACKING_USERNAME and "
            "MLFLOW_TRACKING_PASSWORD, in the environment instead"
        )
