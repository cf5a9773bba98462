"""Notebook paths from requests stay inside the server root: `..`, absolute, symlinks out."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.slow


def escapes(server) -> dict[str, str]:
    return {
        "dot-dot": f"../{server.outside.name}/secret.ipynb",
        "dot-dot inside": "escape/../../secret.ipynb",
        "absolute": str(server.outside / "secret.ipynb"),
        "absolute inside root": str(server.root / "pipe.ipynb"),
        "home": "~/secret.ipynb",
        "symlinked folder": "escape/secret.ipynb",
        "symlinked file": "link.ipynb",
    }


def assert_refused(answer, what: str) -> None:
    assert answer.status_code == 403, f"{what}: {answer.status_code} {answer.text}"
    error = answer.json()["error"]
    assert error and "\n" not in error, what
    assert "secret" not in answer.text or "secret.ipynb" in error, what  # no file content


def test_compile_refuses_paths_outside_the_root(server):
    for what, path in escapes(server).items():
        assert_refused(server.post("pipeline", {"path": path}), what)
        # Unsaved content is refused too: the path decides where it would be saved.
        content = {"cells": [], "nbformat": 4, "nbformat_minor": 5, "metadata": {}}
        assert_refused(server.post("pipeline", {"path": path, "content": content}), what)


def test_runs_refuse_paths_outside_the_root(server):
    for what, path in escapes(server).items():
        assert_refused(server.post("runs", {"path": path}), what)
        assert_refused(server.get("runs", params={"path": path}), what)
        assert_refused(server.get("runs/20990101-000000-abcdef", params={"path": path}), what)


def test_data_and_publish_refuse_paths_outside_the_root(server):
    for what, path in escapes(server).items():
        query = {"run_id": "20990101-000000-abcdef", "step": "load", "name": "df", "path": path}
        assert_refused(server.get("data/profile", params=query), what)
        body = {"run_id": "20990101-000000-abcdef", "step": "train", "artifact": "model"}
        assert_refused(server.post("models/toy/publish", {**body, "path": path}), what)


def test_ids_cannot_name_other_folders(server):
    for run_id in ("..", ".hidden", "a/b", "%2e%2e"):
        answer = server.get("data/profile", params={"run_id": run_id, "step": "load", "name": "df"})
        assert answer.status_code == 400, (run_id, answer.text)
    answer = server.get("data/profile", params={"run_id": "x", "step": "../load", "name": "df"})
    assert answer.status_code == 400


def test_a_path_inside_the_root_is_accepted(server):
    answer = server.post("pipeline", {"path": "pipe.ipynb"})
    assert answer.status_code == 200 and answer.json()["ok"], answer.text
