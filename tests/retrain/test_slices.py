"""The gate per slice: a challenger better overall but worse on one slice is refused, the slice
named; the table in the model card and in the Models view's data; `nb2pipe promote --slices`."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from support.project import error_lines, run_script

from jupyter_mlops.errors import ModelGateError
from jupyter_mlops.registry import read
from jupyter_mlops.registry.promote import CHALLENGER, CHAMPION, promote
from jupyter_mlops.retrain.slices import compare_slices
from jupyter_mlops.retrain.step_gate import gate

SIZES = {"east": 200, "north": 40, "south": 200, "west": 5}


def rows(seed: int, sizes=SIZES) -> tuple[pd.DataFrame, pd.Series]:
    """Labels follow x + z > 0 in every region."""
    rng = np.random.default_rng(seed)
    region = np.concatenate([[name] * n for name, n in sizes.items()])
    x, z = rng.normal(size=len(region)), rng.normal(size=len(region))
    frame = pd.DataFrame({"region": region, "x": x, "z": z})
    return frame, pd.Series((x + z > 0).astype(int), name="label")


@pytest.fixture(scope="module")
def models():
    """The champion sees x only (right about 3 times in 4, everywhere); the challenger sees x,
    z and the region, and learned the rule backwards in the north."""
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder
    from sklearn.tree import DecisionTreeClassifier

    X, y = rows(1, {"east": 400, "north": 400, "south": 400, "west": 400})
    champion = make_pipeline(
        ColumnTransformer([("x", "passthrough", ["x"])]), LogisticRegression()
    ).fit(X, y)
    backwards = np.where(X["region"] == "north", 1 - y, y)
    challenger = make_pipeline(
        ColumnTransformer(
            [("region", OneHotEncoder(), ["region"]), ("xz", "passthrough", ["x", "z"])]
        ),
        DecisionTreeClassifier(random_state=0),
    ).fit(X, backwards)
    return champion, challenger


def test_each_slice_with_enough_rows_is_scored_for_both_models(models):
    champion, challenger = models
    X, y = rows(2)
    table = compare_slices(challenger, champion, X, y, ["region"], "accuracy", min_rows=30)
    by_slice = {r["slice"]: r for r in table}
    assert list(by_slice) == ["region=east", "region=north", "region=south", "region=west"]
    assert [by_slice[s]["rows"] for s in by_slice] == [200, 40, 200, 5]
    west = by_slice["region=west"]
    assert west["skipped"] == "5 rows, fewer than 30" and west["drop"] is None
    north = by_slice["region=north"]
    assert north["challenger"] < 0.2 and north["champion"] > 0.6 and north["drop"] > 0.5
    for name in ("region=east", "region=south"):
        assert by_slice[name]["drop"] < 0  # better there
        mask = (X["region"] == name.split("=")[1]).to_numpy()
        assert by_slice[name]["challenger"] == float(
            (challenger.predict(X[mask]) == y[mask]).mean()
        )


def test_a_challenger_better_overall_but_worse_on_a_slice_is_refused_naming_it(
    models, tracking_uri, client, unique
):
    champion, challenger = models
    X, y = rows(2)
    first = gate(champion, X, y, name=unique, metric="accuracy", slices=["region"])
    assert first.promoted
    decision = gate(challenger, X, y, name=unique, metric="accuracy", slices=["region"])
    assert decision.challenger_value > decision.champion_value  # better overall...
    assert not decision.promoted  # ...refused all the same
    assert decision.reason.startswith("slice region=north (40 rows): accuracy ")
    assert "more than the slice threshold 0" in decision.reason
    assert str(decision).startswith(f"{unique} version 2 stays challenger: slice region=north")
    assert str(client.get_model_version_by_alias(unique, CHAMPION).version) == "1"

    version = client.get_model_version_by_alias(unique, CHALLENGER)
    assert version.tags["gate.decision"] == "rejected"
    tagged = json.loads(version.tags["gate.slices"])
    assert tagged[0]["slice"] == "region=north"  # the worst drop first
    card = version.description
    assert "## Slices" in card and "| region=north | 40 |" in card and "**(too much)**" in card
    assert "| region=west | 5 |" in card and "not judged: 5 rows, fewer than 30" in card
    assert card.index("## Metrics") < card.index("## Slices")
    # the Models view's answer: the same table, each slice judged against the threshold
    shown = read.model_detail(client, unique)["versions"][0]
    assert shown["version"] == "2"
    slices = shown["slices"]
    assert slices["metric"] == "accuracy" and slices["threshold"] == 0 and not slices["passed"]
    assert [r["slice"] for r in slices["results"]] == [r["slice"] for r in tagged]
    by_slice = {r["slice"]: r for r in slices["results"]}
    assert by_slice["region=north"]["passed"] is False
    assert by_slice["region=north"]["drop"] == tagged[0]["drop"]
    assert by_slice["region=east"]["passed"] is True
    assert by_slice["region=west"]["passed"] is None
    assert by_slice["region=west"]["skipped"] == "5 rows, fewer than 30"
    first_gate = read.model_detail(client, unique)["versions"][1]["slices"]  # no champion then
    assert first_gate["passed"] and {r["passed"] for r in first_gate["results"]} == {None}

    # Without the slices, the same decision would have moved the champion.
    overall = promote(unique, "accuracy", dry_run=True, champion_value=decision.champion_value)
    assert overall.promoted
    # and a gate without slices leaves no earlier table on the version, shown as if it were its
    promote(unique, "accuracy", champion_value=decision.champion_value)
    assert read.model_detail(client, unique)["versions"][0]["slices"] is None
    assert "gate.slices" not in client.get_model_version(unique, "2").tags


def test_a_slice_threshold_lets_small_drops_through(models, tracking_uri, unique):
    champion, challenger = models
    X, y = rows(3, {"east": 100, "south": 100})
    gate(champion, X, y, name=unique, metric="accuracy")
    decision = gate(challenger, X, y, name=unique, metric="accuracy", slices=["region"],
                    slice_threshold=0.05)  # fmt: skip
    assert decision.promoted, decision.reason
    assert {r["slice"] for r in decision.slices} == {"region=east", "region=south"}


def test_a_slice_that_is_not_a_column_is_one_line(models, tracking_uri, unique):
    champion, _ = models
    X, y = rows(2)
    with pytest.raises(ModelGateError, match=r"gate: slice 'age_band' is not a column of the "
                       r"held-out data \(columns: region, x, z\)"):  # fmt: skip
        gate(champion, X, y, name=unique, metric="accuracy", slices=["age_band"])


def test_nb2pipe_promote_with_slices_refuses_and_names_the_slice(
    models, tracking_uri, client, unique, tmp_path
):
    from jupyter_mlops.registry.publish import publish_model

    champion, challenger = models
    X, y = rows(2)
    publish_model(champion, unique, metrics={"accuracy": 0.7}, data=X)
    client.set_registered_model_alias(unique, CHAMPION, "1")
    publish_model(challenger, unique, metrics={"accuracy": 0.9}, data=X)
    holdout = tmp_path / "holdout.csv"
    X.assign(label=y).to_csv(holdout, index=False)

    def promote_cli(*args):
        return run_script("nb2pipe", "promote", unique, "--metric", "accuracy", *args,
                          cwd=tmp_path, timeout=300)  # fmt: skip

    done = promote_cli("--dry-run")
    assert done.returncode == 0, done.stderr  # overall, it wins
    done = promote_cli("--slices", "region", "--data", holdout, "--target", "label", "--dry-run")
    assert done.returncode == 1, done.stderr
    assert done.stdout.startswith(f"{unique} version 2 stays challenger: slice region=north")
    done = promote_cli("--slices", "region", "--data", holdout, "--target", "label")
    assert done.returncode == 0
    assert str(client.get_model_version_by_alias(unique, CHAMPION).version) == "1"
    assert "## Slices" in client.get_model_version(unique, "2").description

    for args, message in [
        (["--slices", "region"], "error: --slices needs --data (held-out rows) and --target (their label)"),
        (["--slices", "region", "--data", holdout, "--target", "y"], f"error: --target y: no such column in {holdout} (columns: region, x, z, label)"),
        (["--slices", "age", "--data", holdout, "--target", "label"], "error: gate: slice 'age' is not a column of the held-out data (columns: region, x, z)"),
        (["--slices", "region", "--data", tmp_path / "nope.csv", "--target", "label"], f"error: no such data file: {tmp_path / 'nope.csv'}"),
    ]:  # fmt: skip
        done = promote_cli(*args)
        assert done.returncode == 2, (args, done.stderr)
        assert error_lines(done.stderr) == [message]
