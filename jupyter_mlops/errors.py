"""Our errors, and MLflow's turned into one line a user can act on."""

from __future__ import annotations

import contextlib
import contextvars
import os
import re
from collections.abc import Iterator

from jupyter_mlops.credentials import redact_uri
from nb2pipe.errors import Nb2PipeError


class TrackingError(Nb2PipeError):
    """The tracking store or registry refused or failed a request."""


class RegistryPermissionError(TrackingError):
    """The user may read the registry but not change it (or is not logged in at all)."""


class ModelGateError(Nb2PipeError):
    """The gate cannot decide: no challenger, or a metric without a value."""


def _status(exc: BaseException) -> int | None:
    code = getattr(exc, "error_code", None)
    if code == "PERMISSION_DENIED":
        return 403
    if code == "UNAUTHENTICATED":
        return 401
    response = getattr(exc, "response", None)  # requests.HTTPError from artifact uploads
    status = getattr(response, "status_code", None)
    if status in (401, 403):
        return status
    match = re.search(r"error code (40[13])\b", str(exc))
    return int(match.group(1)) if match else None


# The actions under way, outermost first: the message names what the user asked for
# ("publish model 'wine'"), not the request that failed on the way ("create a run").
_actions: contextvars.ContextVar[tuple[str, ...]] = contextvars.ContextVar(
    "jupyter_mlops_actions", default=()
)


@contextlib.contextmanager
def translated(action: str, uri: str) -> Iterator[None]:
    """Turn MLflow's 401/403 into a one-line `RegistryPermissionError` naming `action`.

    `action` reads after "cannot", e.g. ``"publish model 'wine'"``.
    """
    token = _actions.set((*_actions.get(), action))
    try:
        yield
    except Nb2PipeError:
        raise
    except Exception as exc:
        status = _status(exc)
        if status is None:
            raise
        action = _actions.get()[0]
        uri = redact_uri(uri)  # the message reaches terminals and logs
        who = os.environ.get("MLFLOW_TRACKING_USERNAME")
        if status == 401:
            message = (
                f"not logged in to {uri}: cannot {action} "
                "(set MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD)"
            )
        else:
            user = f"user {who!r}" if who else "this user"
            message = (
                f"permission denied: {user} has read-only access to {uri} and cannot {action} "
                "(ask a registry admin for EDIT or MANAGE)"
            )
        raise RegistryPermissionError(message) from None
    finally:
        _actions.reset(token)
