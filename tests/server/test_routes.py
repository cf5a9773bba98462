"""Every registered route refuses requests without valid Jupyter credentials."""

from __future__ import annotations

import re

import pytest
import tornado.web

from jupyter_mlops.server.routes import ROUTES, setup_route_handlers

pytestmark = pytest.mark.slow

METHODS = ("get", "post", "put", "patch", "delete")


class RecordingApp:
    """Stands in for Jupyter's web app: records what `setup_route_handlers` registers."""

    def __init__(self):
        self.settings = {"base_url": "/", "server_root_dir": "/nonexistent"}
        self.handlers: list[tuple[str, type]] = []

    def add_handlers(self, host: str, handlers) -> None:
        self.handlers += handlers


def registered() -> list[tuple[str, type, str]]:
    """(url with sample path arguments, handler, method) for every registered route."""
    app = RecordingApp()
    setup_route_handlers(app)
    out = []
    for pattern, handler in app.handlers:
        url = re.sub(r"\(\?P<\w+>[^)]*\)", "sample", pattern)
        for method in METHODS:
            if getattr(handler, method) is not getattr(tornado.web.RequestHandler, method):
                out.append((url, handler, method))
    return out


ENDPOINTS = registered()


def test_every_route_is_registered_with_an_authenticated_method():
    app = RecordingApp()
    setup_route_handlers(app)
    assert len(app.handlers) == len(ROUTES) >= 13
    assert all(url.startswith("/mlops/") for url, _ in app.handlers)
    for url, handler, method in ENDPOINTS:
        # tornado.web.authenticated wraps the method (functools.wraps sets __wrapped__).
        assert hasattr(getattr(handler, method), "__wrapped__"), f"{method.upper()} {url}"
    handled = {url for url, _, _ in ENDPOINTS}
    assert handled == {re.sub(r"\(\?P<\w+>[^)]*\)", "sample", u) for u, _ in app.handlers}


@pytest.mark.parametrize(
    ("url", "method"),
    [(url, method) for url, _, method in ENDPOINTS],
    ids=[f"{method.upper()} {url}" for url, _, method in ENDPOINTS],
)
def test_route_refuses_missing_and_bad_credentials(server, url, method):
    """jupyter_server 2.x allows unauthenticated access by default (its global login check is
    off), so ``@tornado.web.authenticated`` on each method is what refuses these."""
    route = url.removeprefix("/mlops/")
    body = {"path": "pipe.ipynb", "run_id": "x", "metric": "r2"}
    # Any client can send a matching XSRF cookie and header: that must not stand in for a login.
    forged_xsrf = {"cookies": {"_xsrf": "deadbeef"}, "headers": {"X-XSRFToken": "deadbeef"}}
    attempts = {
        "no token": {"token": None},
        "bad token header": {"token": "not-the-token"},
        "bad token query": {"token": None, "params": {"token": "not-the-token"}},
        "bad cookie": {"token": None, "cookies": {"username-127-0-0-1": "forged"}},
        "forged xsrf": {"token": None, **forged_xsrf},
        "forged xsrf, bad token": {"token": "not-the-token", **forged_xsrf},
    }
    for what, options in attempts.items():
        if method in ("post", "put", "patch"):
            options = {**options, "json": body}
        answer = server.request(method.upper(), route, **options)
        assert answer.status_code in (401, 403), f"{what}: {answer.status_code} {answer.text}"
        assert answer.json().get("error"), what
        if what.startswith("forged xsrf"):
            assert "xsrf" not in answer.text.lower(), f"{what}: refused only by the XSRF check"


def test_a_valid_token_gets_through(server):
    answer = server.get("grammar")
    assert answer.status_code == 200
    names = {row["name"] for row in answer.json()["tags"]}
    assert {"step", "after", "parameters", "metrics"} <= names


def test_errors_are_one_line_json(server):
    answer = server.get("runs/no-such-run")
    assert answer.status_code == 404
    error = answer.json()["error"]
    assert "\n" not in error and "no-such-run" in error
    assert str(server.root) not in answer.text
