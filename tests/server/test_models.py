"""Models: publish a step's model, list and read it, and the champion/challenger gate."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.slow


def publish(server, run: dict, name: str = "toy"):
    body = {"run_id": run["run_id"], "step": "train", "artifact": "model", "metric": "r2"}
    return server.post(f"models/{name}/publish", body)


def test_publish_list_detail_and_promote(server, runs):
    first = publish(server, runs.base)
    assert first.status_code == 200, first.text
    assert first.json()["version"] == "1" and first.json()["aliases"] == ["challenger"]

    models = server.get("models").json()["models"]
    toy = next(m for m in models if m["name"] == "toy")
    assert toy["aliases"] == {"challenger": "1"} and toy["latest_version"] == "1"

    gate = server.post("models/toy/promote", {"metric": "r2"})
    assert gate.status_code == 200, gate.text
    assert gate.json()["promoted"] is True
    assert gate.json()["challenger"] == "1" and gate.json()["champion"] == "1"
    assert gate.json()["values"]["challenger"] == pytest.approx(runs.base["metrics"]["r2"])

    second = publish(server, runs.shifted)
    assert second.json()["version"] == "2", second.text
    # It must beat the champion by more than 10 points of r2: it cannot.
    gate = server.post("models/toy/promote", {"metric": "r2", "threshold": 10})
    assert gate.json()["promoted"] is False and gate.json()["champion"] == "1", gate.text

    detail = server.get("models/toy")
    assert detail.status_code == 200, detail.text
    versions = {v["version"]: v for v in detail.json()["versions"]}
    assert list(versions) == ["2", "1"]
    assert versions["1"]["aliases"] == ["champion"]
    assert versions["2"]["aliases"] == ["challenger"]
    assert detail.json()["aliases"] == {"challenger": "2", "champion": "1"}
    one = versions["1"]
    # in domain words: the run it came from (by name), the gate's decision, and what the
    # registry holds of checks and slices (nothing yet: null, never made up)
    assert one["pipeline_run"] == runs.base["run_id"] and one["run_name"] == "pipe"
    assert one["step"] == "train" and one["artifact"] == "model"
    assert one["gate"]["decision"] == "promoted" and one["gate"]["metric"] == "r2"
    assert versions["2"]["gate"]["decision"] == "rejected"
    assert versions["2"]["run_name"] == "pipe · shift=3"
    assert one["checks"] is None and one["slices"] is None and one["rejected"] is None
    assert one["metrics"]["r2"] == pytest.approx(runs.base["metrics"]["r2"])
    assert one["run_id"] and one["created"] > 0
    card = one["description"]  # the model card, as markdown
    assert "toy" in card and "r2" in card and "Toy regression" in card
    # The model went into the train step's own MLflow run: publishing made no run of its own,
    # and the card's lineage names the notebook as the project sees it and the pipeline run.
    steps = server.get(f"mlflow-runs/{runs.base['mlflow_run_id']}").json()["children"]
    train = next(c for c in steps if c["name"] == "train")
    assert first.json()["mlflow_run_id"] == train["run_id"] == one["run_id"]
    experiment = train["experiment_id"]
    every = server.get(f"experiments/{experiment}/runs", params={"kind": "all"}).json()["runs"]
    assert not [r["name"] for r in every if r["name"].startswith("publish")]
    assert "| pipe.ipynb |" in card.replace("`", "") and runs.base["run_id"] in card
    assert str(server.root) not in card
    # and links the training step's executed notebook, rendered (nbconvert) in its run
    assert f"runs:/{train['run_id']}/notebook.html" in card


def test_model_errors(server, runs):
    assert server.get("models/no-such-model").status_code == 404
    assert server.post("models/toy/promote", {}).status_code == 400
    assert server.post("models/toy/promote", {"metric": "r2", "threshold": "x"}).status_code == 400
    no_challenger = server.post("models/nobody/promote", {"metric": "r2"})
    assert no_challenger.status_code == 400, no_challenger.text
    assert "challenger" in no_challenger.json()["error"]
    not_a_model = server.post(
        "models/toy/publish",
        {"run_id": runs.base["run_id"], "step": "load", "artifact": "df"},
    )
    assert not_a_model.status_code == 400 and "predict" in not_a_model.json()["error"]
    missing = server.post(
        "models/toy/publish",
        {"run_id": runs.base["run_id"], "step": "train", "artifact": "nothing"},
    )
    assert missing.status_code == 404


def test_move_an_alias_and_read_its_history(server, runs):
    """An alias moved from the Models view points at the version asked for, and the move is
    recorded on the versions: who, when, why, from which version."""
    for run in (runs.base, runs.shifted):
        assert publish(server, run, "movable").status_code == 200
    moved = server.post("models/movable/aliases", {"alias": "champion", "version": "2"})
    assert moved.status_code == 200, moved.text
    assert moved.json()["to"] == "2" and moved.json()["from"] is None
    assert moved.json()["kind"] == "manual"
    back = server.post(
        "models/movable/aliases", {"alias": "champion", "version": 1, "reason": "v2 is slow"}
    )
    assert back.json()["from"] == "2" and back.json()["why"] == "v2 is slow"
    detail = server.get("models/movable").json()
    assert detail["aliases"]["champion"] == "1"
    history = [(m["alias"], m["from"], m["to"], m["why"]) for m in detail["history"]]
    assert history[:2] == [
        ("champion", "2", "1", "v2 is slow"),
        ("champion", None, "2", "moved from the Models view"),
    ]
    assert all(m["who"] and m["when"] for m in detail["history"])
    # moving it where it already is changes nothing and records nothing
    again = server.post("models/movable/aliases", {"alias": "champion", "version": "1"})
    assert again.json()["from"] == "1"
    assert server.get("models/movable").json()["history"] == detail["history"]


def test_bad_alias_moves(server, runs):
    assert server.post("models/movable/aliases", {"version": "1"}).status_code == 400
    assert (
        server.post("models/movable/aliases", {"alias": "a b", "version": "1"}).status_code == 400
    )
    bad = server.post("models/movable/aliases", {"alias": "champion", "version": "one"})
    assert bad.status_code == 400 and "version" in bad.json()["error"]
    assert server.post("models/movable/aliases", {"alias": "x", "version": "99"}).status_code == 404
    assert server.post("models/nobody/aliases", {"alias": "x", "version": "1"}).status_code == 404


def test_roll_the_champion_back(server, runs):
    """One POST moves champion back to the champion before it (as `nb2pipe rollback`), with the
    reason in the history; the model says which version a rollback would bring back."""
    assert server.post("models/movable/rollback", {"reason": 3}).status_code == 400
    detail = server.get("models/movable").json()  # champion v1, after v2 (the test above)
    assert detail["aliases"]["champion"] == "1" and detail["rollback_to"] == "2"
    back = server.post("models/movable/rollback", {"reason": "v1 drifts"})
    assert back.status_code == 200, back.text
    assert (back.json()["from"], back.json()["to"], back.json()["kind"]) == ("1", "2", "rollback")
    detail = server.get("models/movable").json()
    assert detail["aliases"]["champion"] == "2"
    assert detail["history"][0]["why"] == "v1 drifts"
    # v1 was rolled back from, v2 is the champion: nothing earlier is left to go back to
    assert detail["rollback_to"] is None
    again = server.post("models/movable/rollback", {})
    assert again.status_code == 400 and "nothing to roll back to" in again.json()["error"]
    assert server.post("models/nobody/rollback", {}).status_code == 404
