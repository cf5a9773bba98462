"""Every alias move recorded on the versions (who, when, why, the gate's decision), read back
as a history, and rollback's choice of the champion before."""

from __future__ import annotations

import json

import pytest

from jupyter_mlops.errors import ModelGateError
from jupyter_mlops.registry import aliases, read
from jupyter_mlops.registry.aliases import AliasMove, history, move_alias, rollback


@pytest.fixture
def client(tmp_path):
    """The embedded store: the moves are the registry's tags whatever the store (the
    delivery tests move aliases on an `mlflow server`)."""
    from mlflow.tracking import MlflowClient

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    return MlflowClient(uri, uri)


@pytest.fixture
def versions(client, unique):
    client.create_registered_model(unique)
    for _ in range(4):
        client.create_model_version(unique, source="file:///nowhere")
    return unique


def test_moves_are_recorded_on_the_versions_and_read_back(client, versions, monkeypatch):
    name = versions
    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", "ana")
    first = move_alias(client, name, "champion", "1", why="first", kind="gate", gate="promoted")
    assert (first.previous, first.to, first.who) == (None, "1", "ana")
    assert move_alias(client, name, "champion", "1", why="again") is None  # nothing moved
    move_alias(client, name, "champion", "2", why="better", kind="gate", gate="promoted")
    move_alias(client, name, "challenger", "3", why="published", kind="publish")
    removed = move_alias(client, name, "challenger", None, why="aborted", kind="rollout")
    assert removed.to is None and removed.previous == "3"
    assert {k: str(v) for k, v in client.get_registered_model(name).aliases.items()} == {
        "champion": "2"
    }

    tags = client.get_model_version(name, "2").tags
    [key] = [k for k in tags if k.startswith(aliases.MOVE_TAG)]
    assert key.endswith(".champion")
    assert json.loads(tags[key]) == {
        "alias": "champion",
        "from": "1",
        "to": "2",
        "who": "ana",
        "when": json.loads(tags[key])["when"],
        "why": "better",
        "kind": "gate",
        "gate": "promoted",
    }
    moves = history(client, name)
    assert [(m.alias, m.previous, m.to) for m in moves] == [
        ("champion", None, "1"),
        ("champion", "1", "2"),
        ("challenger", None, "3"),
        ("challenger", "3", None),  # recorded on the version that lost it
    ]
    assert [m.to for m in history(client, name, "champion")] == ["1", "2"]
    assert "champion   1 -> 2" in str(moves[1]) and "[gate: promoted]" in str(moves[1])
    # The sidebar's model detail carries the same history, newest first.
    detail = read.model_detail(client, name)
    assert [h["to"] for h in detail["history"]] == [None, "3", "2", "1"]


def test_rollback_goes_to_the_champion_before_and_never_back_and_forth(client, versions):
    name = versions
    with pytest.raises(ModelGateError, match="nothing to roll back to .*no champion"):
        rollback(client, name)
    for version in ("1", "2", "3"):
        move_alias(client, name, "champion", version, why="gate", kind="gate")
    assert rollback(client, name).to == "2"
    assert rollback(client, name).to == "1"  # not back to 3: it was rolled back from
    with pytest.raises(ModelGateError, match="nothing to roll back to .*champion is version 1"):
        rollback(client, name)
    moved = rollback(client, name, "4", why="hotfix")
    assert (moved.previous, moved.to, moved.kind, moved.why) == ("1", "4", "rollback", "hotfix")
    with pytest.raises(ModelGateError, match="version 4 is already the champion"):
        rollback(client, name, "4")
    with pytest.raises(ModelGateError, match="has no version '9'"):
        rollback(client, name, "9")
    with pytest.raises(ModelGateError, match="no registered model named 'nope'"):
        history(client, "nope")


def test_a_hand_made_tag_that_looks_like_a_move_is_ignored(client, versions):
    name = versions
    client.set_model_version_tag(name, "1", "alias_move.soon.champion", "{}")
    client.set_model_version_tag(name, "1", "alias_move.123.champion", "not json")
    assert history(client, name) == []
    assert aliases.rollback_target([], None) is None
    move = AliasMove(name, "champion", "2", "1", "x", "t", 1, "why", "rollback")
    assert (
        aliases.rollback_target([move], "2") is None
    )  # 1 is the only earlier champion, and it was rolled back from
