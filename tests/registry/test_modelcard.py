from pathlib import Path

import pandas as pd
from support.mlflow_server import code, markdown, write_notebook

from jupyter_mlops.registry import modelcard
from jupyter_mlops.registry.modelcard import CardContext


def test_the_card_has_every_section():
    frame = pd.DataFrame({"alcohol": [13.2, 12.4], "kind|name": ["a", "b\nc"]})
    card = modelcard.render(
        CardContext(
            name="wine",
            version="4",
            purpose=modelcard.purpose("# Wine classifier\n\nPredicts the cultivar.\n## Data"),
            flavor="sklearn",
            model_class="sklearn.ensemble.RandomForestClassifier",
            gate_metric="f1",
            metrics={"f1": 0.912345678, "accuracy": 0.93},
            params={"n_estimators": 200},
            data=modelcard.summarize_data(frame),
            lineage={"notebook": "/work/wine.ipynb", "git commit": "abc123", "pipeline run": None},
            input_hashes={"load.train_df": "f" * 64},
            requirements=["scikit-learn==1.9.1"],
        )
    )
    assert card.startswith("# Model card: wine — version 4\n")
    assert "### Wine classifier\n\nPredicts the cultivar." in card  # nested under Purpose
    assert "| f1 (gate) | 0.912346 |" in card and "| accuracy | 0.93 |" in card
    assert "| n_estimators | 200 |" in card
    assert "2 rows, 2 columns (sha256 `" in card
    assert "| alcohol | float64 |" in card
    assert "| kind\\|name |" in card  # a pipe in a name does not break the table
    assert "| 13.2 | a |" in card and "| 12.4 | b c |" in card
    assert "| notebook | `/work/wine.ipynb` |" in card and "pipeline run" not in card
    assert f"| load.train_df | `{'f' * 64}` |" in card
    assert "- `scikit-learn==1.9.1`" in card


def test_a_card_without_data_or_purpose_says_what_to_add():
    card = modelcard.render(CardContext(name="m", flavor="pyfunc", model_class="X"))
    assert "start the notebook with a markdown cell" in card
    assert "pass `data=`" in card


def test_purpose_is_the_first_markdown_cell(tmp_path: Path):
    notebook = write_notebook(
        tmp_path / "nb.ipynb",
        code("x = 1"),
        markdown("# Churn model\n\nWho leaves next month."),
        markdown("## Details"),
    )
    assert modelcard.purpose_from_notebook(notebook) == "# Churn model\n\nWho leaves next month."
    assert modelcard.purpose_from_notebook(tmp_path / "missing.ipynb") == ""


def test_the_data_hash_follows_the_content():
    a = pd.DataFrame({"x": [1, 2, 3]})
    assert modelcard.frame_sha256(a) == modelcard.frame_sha256(a.copy())
    assert modelcard.frame_sha256(a) != modelcard.frame_sha256(a.assign(x=[1, 2, 4]))
    assert modelcard.frame_sha256(a) != modelcard.frame_sha256(a.rename(columns={"x": "y"}))


def test_the_card_says_how_its_version_fared_in_the_last_deployment_check():
    from jupyter_mlops.registry.modelcard import with_checks

    card = "# Model card: m — version 3\n\n## Purpose\n\nTells apart.\n"
    failed = with_checks(
        card,
        [("loads", True, "ok"), ("answers", False, "RuntimeError: a | b")],
        where="local: vm",
        when="2026-11-30T10:00:00+0000",
    )
    assert failed.startswith(card.rstrip("\n") + "\n\n## Deployment checks\n")
    assert "Failed on 2026-11-30T10:00:00+0000, local: vm." in failed
    assert "| answers | **failed** | RuntimeError: a \\| b |" in failed
    passed = with_checks(failed, [("loads", True, "ok")], where="docker", when="later")
    assert passed.count("## Deployment checks") == 1 and "Passed on later, docker." in passed
    assert "**failed**" not in passed and passed.startswith(card.rstrip("\n"))
    # A section after it (one a later publish step added) stays where it is.
    more = failed + "\n## Serving\n\nserve cells: 2\n"
    again = with_checks(more, [("loads", True, "ok")], where="x", when="y")
    assert again.endswith("## Serving\n\nserve cells: 2\n") and "**failed**" not in again
