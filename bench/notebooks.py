"""The benchmark workloads, generated so they are the same bytes in every run."""

from __future__ import annotations

import json
from pathlib import Path


def _nb(cells: list[tuple[str, list[str], str]]) -> dict:
    return {
        "cells": [
            {
                "cell_type": kind,
                "id": f"c{i}",
                "metadata": {"tags": tags},
                "source": source,
                **({"outputs": [], "execution_count": None} if kind == "code" else {}),
            }
            for i, (kind, tags, source) in enumerate(cells)
        ],
        "metadata": {
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }


def six_steps() -> dict:
    """load → two branches (features → train) → evaluate: pandas and scikit-learn."""
    code = "code"
    return _nb(
        [
            ("markdown", [], "# Benchmark: two model branches"),
            (code, ["parameters"], "n_rows = 6000\nseed = 0"),
            (
                code,
                ["imports"],
                "import numpy as np\nimport pandas as pd\n"
                "from sklearn.datasets import make_classification\n"
                "from sklearn.ensemble import RandomForestClassifier, HistGradientBoostingClassifier\n"
                "from sklearn.preprocessing import StandardScaler\n"
                "from sklearn.decomposition import PCA\n"
                "from sklearn.model_selection import train_test_split",
            ),
            (
                code,
                ["step:load"],
                "X, y = make_classification(n_samples=n_rows, n_features=30, "
                "n_informative=12, random_state=seed)\n"
                "frame = pd.DataFrame(X, columns=[f'f{i}' for i in range(30)])\nframe['y'] = y\n"
                "train, test = train_test_split(frame, test_size=0.25, random_state=seed)",
            ),
            (
                code,
                ["step:scaled"],
                "scaler = StandardScaler().fit(train.drop(columns='y'))\n"
                "scaled_train = scaler.transform(train.drop(columns='y'))\n"
                "scaled_test = scaler.transform(test.drop(columns='y'))",
            ),
            (
                code,
                ["step:projected"],
                "pca = PCA(n_components=10, random_state=seed)"
                ".fit(train.drop(columns='y'))\n"
                "projected_train = pca.transform(train.drop(columns='y'))\n"
                "projected_test = pca.transform(test.drop(columns='y'))",
            ),
            (
                code,
                ["step:forest"],
                "forest = RandomForestClassifier(n_estimators=150, "
                "random_state=seed, n_jobs=1).fit(scaled_train, train['y'])\n"
                "forest_score = float(forest.score(scaled_test, test['y']))",
            ),
            (
                code,
                ["step:boosting"],
                "boosting = HistGradientBoostingClassifier(max_iter=150, "
                "random_state=seed).fit(projected_train, train['y'])\n"
                "boosting_score = float(boosting.score(projected_test, test['y']))",
            ),
            (
                code,
                ["step:evaluate", "metrics"],
                "best_score = max(forest_score, boosting_score)\nprint(best_score)",
            ),
        ]
    )


def six_steps_swept() -> dict:
    """The six-step workload with the models' sizes as parameters: only the two training steps
    (forest, boosting) read them, and evaluate after them; load, scaled and projected do not."""
    notebook = six_steps()
    replacements = {
        "n_rows = 6000\nseed = 0": "n_rows = 6000\nseed = 0\nn_estimators = 150\nmax_iter = 150",
        "RandomForestClassifier(n_estimators=150, ": "RandomForestClassifier(n_estimators=n_estimators, ",
        "HistGradientBoostingClassifier(max_iter=150, ": "HistGradientBoostingClassifier(max_iter=max_iter, ",
    }  # fmt: skip
    for cell in notebook["cells"]:
        for old, new in replacements.items():
            cell["source"] = cell["source"].replace(old, new)
    return notebook


def realistic(n_rows: int = 200_000, n_features: int = 20) -> dict:
    """The shape users bring: a 200,000-row × 20-column frame (~35 MB of Parquet) loaded,
    split into two feature branches (scaled, projected), a model on each, then evaluated."""
    code = "code"
    return _nb(
        [
            ("markdown", [], "# Benchmark: a realistic frame through two feature branches"),
            (code, ["parameters"], f"n_rows = {n_rows}\nn_features = {n_features}\nseed = 0"),
            (
                code,
                ["imports"],
                "import numpy as np\nimport pandas as pd\n"
                "from sklearn.linear_model import LogisticRegression\n"
                "from sklearn.ensemble import HistGradientBoostingClassifier\n"
                "from sklearn.preprocessing import StandardScaler\n"
                "from sklearn.decomposition import PCA",
            ),
            (
                code,
                ["step:load"],
                "rng = np.random.default_rng(seed)\n"
                "values = rng.normal(size=(n_rows, n_features))\n"
                "frame = pd.DataFrame(values, columns=[f'f{i}' for i in range(n_features)])\n"
                "frame['y'] = (values[:, :4].sum(axis=1) + rng.normal(size=n_rows) > 0).astype(int)\n"
                "is_test = rng.random(n_rows) < 0.25\n"
                "train, test = frame[~is_test], frame[is_test]",
            ),
            (
                code,
                ["step:scaled"],
                "scaler = StandardScaler().fit(train.drop(columns='y'))\n"
                "scaled_train = pd.DataFrame(scaler.transform(train.drop(columns='y')))\n"
                "scaled_test = pd.DataFrame(scaler.transform(test.drop(columns='y')))",
            ),
            (
                code,
                ["step:projected"],
                "pca = PCA(n_components=8, random_state=seed).fit(train.drop(columns='y'))\n"
                "projected_train = pca.transform(train.drop(columns='y'))\n"
                "projected_test = pca.transform(test.drop(columns='y'))",
            ),
            (
                code,
                ["step:linear"],
                "linear = LogisticRegression(max_iter=200).fit(scaled_train, train['y'])\n"
                "linear_score = float(linear.score(scaled_test, test['y']))",
            ),
            (
                code,
                ["step:boosting"],
                "boosting = HistGradientBoostingClassifier(max_iter=30, "
                "random_state=seed).fit(projected_train, train['y'])\n"
                "boosting_score = float(boosting.score(projected_test, test['y']))",
            ),
            (
                code,
                ["step:evaluate", "metrics"],
                "best_score = max(linear_score, boosting_score)\nprint(best_score)",
            ),
        ]
    )


def many_cells(cells: int = 300, steps: int = 1) -> dict:
    """`cells` small code cells spread over `steps` steps, each reading the previous step."""
    out = [("code", ["parameters"], "scale = 2"), ("code", ["imports"], "import math")]
    per_step = max(1, cells // steps)
    for i in range(cells):
        step, first = divmod(i, per_step)
        tags = [f"step:s{step}"] if first == 0 else []
        if first == 0 and step > 0:
            source = f"v{i} = v{i - 1} + math.sqrt(scale)"
        elif i == 0:
            source = "v0 = scale"
        else:
            source = f"# cell {i}\nv{i} = v{i - 1} + 1"
        out.append(("code", tags, source))
    return _nb(out)


def write(notebook: dict, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(notebook, indent=1, sort_keys=True) + "\n")
    return path


def chain(steps: int = 100) -> dict:
    """`steps` steps in a line, each changing the frame the one before it made."""
    out = [
        ("code", ["parameters"], "factor = 2"),
        ("code", ["imports"], "import pandas as pd"),
        ("code", ["step:s0"], "frame = pd.DataFrame({'a': range(10)})"),
    ]
    for i in range(1, steps):
        out.append(("code", [f"step:s{i}"], f"frame[{f'c{i}'!r}] = frame['a'] * factor + {i}"))
    return _nb(out)


def fan_out(steps: int = 100) -> dict:
    """One step making a frame, `steps - 2` independent steps each reading it, and one step
    reading all of their results."""
    branches = steps - 2
    out = [
        ("code", ["parameters"], "factor = 2"),
        ("code", ["imports"], "import pandas as pd"),
        ("code", ["step:source"], "frame = pd.DataFrame({'a': range(10)})"),
    ]
    for i in range(branches):
        out.append(("code", [f"step:b{i}"], f"total_{i} = float((frame['a'] * {i}).sum())"))
    every = ", ".join(f"total_{i}" for i in range(branches))
    out.append(("code", ["step:gather"], f"grand_total = sum([{every}])"))
    return _nb(out)


def idle_chain(steps: int = 100) -> dict:
    """`steps` steps that do nothing, each after the one before: the runner's own cost."""
    # Each its own code (`step = i`): steps with the same code and inputs are one result.
    out = [("code", ["step:s0"], "step = 0")]
    out += [("code", [f"step:s{i}", f"after:s{i - 1}"], f"step = {i}") for i in range(1, steps)]
    return _nb(out)


def idle_fan_out(steps: int = 100) -> dict:
    """One step, `steps - 2` steps after it side by side, one after them all; none does
    anything."""
    branches = [f"b{i}" for i in range(steps - 2)]
    out = [("code", ["step:source"], "step = 'source'")]
    out += [("code", [f"step:{n}", "after:source"], f"step = {n!r}") for n in branches]
    out.append(("code", ["step:gather", f"after:{','.join(branches)}"], "step = 'gather'"))
    return _nb(out)
