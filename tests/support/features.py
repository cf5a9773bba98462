"""Notebooks whose features are made by `serve` cells, for the tests and the bench.

Each is a real notebook pattern: raw rows turned into a model's features by ratios, one-hot
columns with fixed categories, a mean computed on the training rows and a fitted scaler.

- `wine`: one frame `raw` of all rows; the serve cells make `X` for all of them, the model is
  fitted on the training rows of `X` and predicts the held-out ones (a classifier).
- `houses`: the held-out rows `test_raw` go through a helper of the functions cell (which the
  training step also calls on `train_raw`), with a parameter and a fitted one-hot encoder (a
  regression: float predictions, so "bit for bit" means something).
- `sensors`: the features leave the serve cells as a numpy array (`scaler.transform`), the
  model has no column names, and the request's variable is named with `serve:readings`.

Every notebook has a step `evaluate` reading the model and its predictions, so both are
artifacts of the run: the tests compare served predictions with the notebook's own.
"""

from __future__ import annotations

from pathlib import Path

from support.notebooks import code, markdown, write_notebook

NAMES = ("wine", "houses", "sensors")


def request(frame) -> bytes:
    """`frame` as MLflow's dataframe_split JSON, floats exact (Python's repr reads back to the
    same double; pandas' to_json keeps 10 digits), missing values as null."""
    import json

    from nb2pipe.fileio import plain

    rows = [[plain(v) for v in row] for row in frame.itertuples(index=False, name=None)]
    body = {"dataframe_split": {"columns": [str(c) for c in frame.columns], "data": rows}}
    return json.dumps(body).encode()


def held_out(run_dir: Path, name: str):
    """(the raw rows the notebook predicted on, its own predictions on them) of a run."""
    from nb2pipe.artifacts import load

    if name == "wine":
        rows = load(run_dir, "load", "raw").loc[load(run_dir, "load", "test_idx")]
        return rows, load(run_dir, "train", "predictions")
    if name == "houses":
        return load(run_dir, "load", "test_raw"), load(run_dir, "evaluate", "predictions")
    return load(run_dir, "load", "readings").iloc[1000:], load(run_dir, "train", "predictions")


WINE_FEATURES = (
    "X = raw[['alcohol', 'sugar', 'acidity', 'colour']].copy()\n"
    "X['sugar_per_alcohol'] = X['sugar'] / X['alcohol']\n"
    "X['alcohol_above_mean'] = X['alcohol'] - alcohol_mean\n"
    "X.head()"
)
WINE_ENCODING = (
    "X['colour'] = pd.Categorical(X['colour'], categories=COLOURS)\n"
    "X = pd.get_dummies(X, columns=['colour'], dtype=float)\n"
    "X[['alcohol', 'sugar']] = scaler.transform(X[['alcohol', 'sugar']])"
)
WINE_COLUMNS = ["alcohol", "sugar", "acidity", "colour"]


def wine_rows(n: int, seed: int = 0):
    """Raw wines as a request brings them."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "alcohol": rng.normal(12, 1, n),
            "sugar": rng.exponential(3, n) + 0.1,
            "acidity": rng.normal(3, 0.3, n),
            "colour": rng.choice(["red", "white", "rose"], n),
        }
    )


def wine(folder: Path, *, features: str = WINE_FEATURES, encoding: str = WINE_ENCODING) -> Path:
    return write_notebook(
        folder / "wine.ipynb",
        markdown("# Wine quality\n\nIs a wine good? Features made by serve cells."),
        code(
            "import numpy as np\nimport pandas as pd\n"
            "from sklearn.linear_model import LogisticRegression\n"
            "from sklearn.model_selection import train_test_split\n"
            "from sklearn.preprocessing import StandardScaler",
            "imports",
        ),
        code("rows = 600", "parameters"),
        code(
            "rng = np.random.default_rng(0)\n"
            "raw = pd.DataFrame({\n"
            "    'alcohol': rng.normal(12, 1, rows),\n"
            "    'sugar': rng.exponential(3, rows) + 0.1,\n"
            "    'acidity': rng.normal(3, 0.3, rows),\n"
            "    'colour': rng.choice(['red', 'white', 'rose'], rows),\n"
            "})\n"
            "labels = ((raw.alcohol - 12) + 0.3 * raw.sugar + (raw.colour == 'red') > 1)"
            ".astype(int)\n"
            "train_idx, test_idx = train_test_split(raw.index, test_size=0.25, random_state=0)",
            "step:load",
        ),
        code(
            "train_rows = raw.loc[train_idx]\n"
            "alcohol_mean = train_rows['alcohol'].mean()\n"
            "COLOURS = ['red', 'white', 'rose']\n"
            "scaler = StandardScaler().fit(train_rows[['alcohol', 'sugar']])",
            "step:fit_features",
        ),
        code(features, "step:features", "serve"),
        code(encoding, "serve"),
        code(
            "model = LogisticRegression(max_iter=1000).fit(X.loc[train_idx], labels.loc[train_idx])\n"
            "probabilities = model.predict_proba(X.loc[test_idx])\n"
            "predictions = model.predict(X.loc[test_idx])",
            "step:train",
        ),
        code(
            "accuracy = float((predictions == labels.loc[test_idx]).mean())\n"
            "print(type(model).__name__, accuracy)",
            "step:evaluate",
            "metrics",
        ),
    )


def house_rows(n: int, seed: int = 0):
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "area": rng.gamma(9, 12, n),
            "rooms": rng.integers(1, 9, n),
            "age": rng.integers(0, 80, n).astype(float),
            "district": rng.choice(["north", "south", "east", "west"], n),
        }
    )


HOUSE_FEATURES = (
    "def make_features(frame):\n"
    "    out = pd.DataFrame(index=frame.index)\n"
    "    out['log_area'] = area_scaler.transform(np.log1p(frame[['area']]))[:, 0]\n"
    "    out['area_per_room'] = frame['area'] / frame['rooms'].clip(upper=rooms_cap)\n"
    "    out['age'] = frame['age'].fillna(median_age)\n"
    "    dummies = encoder.transform(frame[['district']])\n"
    "    for i, name in enumerate(encoder.get_feature_names_out()):\n"
    "        out[name] = dummies[:, i]\n"
    "    return out"
)


def houses(folder: Path, *, serve_cell: str = "X_test = make_features(test_raw)") -> Path:
    return write_notebook(
        folder / "houses.ipynb",
        markdown("# House prices\n\nA price per house, from its area, rooms, age and district."),
        code(
            "import numpy as np\nimport pandas as pd\n"
            "from sklearn.linear_model import Ridge\n"
            "from sklearn.preprocessing import OneHotEncoder, StandardScaler",
            "imports",
        ),
        code("alpha = 0.5\nrooms_cap = 6", "parameters"),
        code(HOUSE_FEATURES, "functions"),
        code(
            "rng = np.random.default_rng(7)\n"
            "n = 2000\n"
            "houses = pd.DataFrame({\n"
            "    'area': rng.gamma(9, 12, n),\n"
            "    'rooms': rng.integers(1, 9, n),\n"
            "    'age': rng.integers(0, 80, n).astype(float),\n"
            "    'district': rng.choice(['north', 'south', 'east', 'west'], n),\n"
            "})\n"
            "houses.loc[rng.random(n) < 0.05, 'age'] = np.nan\n"
            "district_price = houses['district'].map({'north': 30e3, 'south': 10e3, "
            "'east': 0.0, 'west': 20e3})\n"
            "price = 1000 * houses['area'] + 5000 * houses['rooms'] - 300 * "
            "houses['age'].fillna(40) + district_price + rng.normal(0, 5000, n)\n"
            "cut = int(n * 0.8)\n"
            "train_raw, test_raw = houses.iloc[:cut], houses.iloc[cut:]\n"
            "y_train, y_test = price.iloc[:cut], price.iloc[cut:]",
            "step:load",
        ),
        code(
            "encoder = OneHotEncoder(handle_unknown='ignore', sparse_output=False)\n"
            "encoder.fit(train_raw[['district']])\n"
            "area_scaler = StandardScaler().fit(np.log1p(train_raw[['area']]))\n"
            "median_age = float(train_raw['age'].median())\n"
            "model = Ridge(alpha=alpha).fit(make_features(train_raw), y_train)",
            "step:train",
        ),
        code(serve_cell, "step:evaluate", "serve"),
        code(
            "predictions = model.predict(X_test)\n"
            "rmse = float(np.sqrt(np.mean((predictions - y_test.to_numpy()) ** 2)))",
            "metrics",
        ),
        code("print(f'rmse {rmse:.0f} on {len(predictions)} houses')", "step:report"),
    )


def sensor_rows(n: int, seed: int = 0):
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "temperature": rng.normal(60, 8, n),
            "vibration": rng.gamma(2, 0.5, n),
            "pressure": rng.normal(1.0, 0.05, n),
        }
    )


def sensors(folder: Path) -> Path:
    return write_notebook(
        folder / "sensors.ipynb",
        markdown("# Machine failures\n\nWill the machine fail soon, from three sensors?"),
        code(
            "import numpy as np\nimport pandas as pd\n"
            "from sklearn.ensemble import RandomForestClassifier\n"
            "from sklearn.preprocessing import StandardScaler",
            "imports",
        ),
        code(
            "lookup = pd.DataFrame({'band': ['low', 'high'], 'limit': [55.0, 70.0]})\n"
            "rng = np.random.default_rng(3)\n"
            "n = 1500\n"
            "readings = pd.DataFrame({\n"
            "    'temperature': rng.normal(60, 8, n),\n"
            "    'vibration': rng.gamma(2, 0.5, n),\n"
            "    'pressure': rng.normal(1.0, 0.05, n),\n"
            "})\n"
            "failed = ((readings.temperature > 68) & (readings.vibration > 1.2)).astype(int)",
            "step:load",
        ),
        code(
            "training = readings.iloc[:1000]\n"
            "temperature_limit = float(training.temperature.quantile(0.9))\n"
            "scaler = StandardScaler().fit(training.assign(stress=0.0, hot=0.0))",
            "step:fit",
        ),
        code(
            "high = lookup.set_index('band').loc['high', 'limit']\n"
            "frame = readings.assign(\n"
            "    stress=readings.vibration * (readings.temperature > temperature_limit),\n"
            "    hot=(readings.temperature > high).astype(float),\n"
            ")\n"
            "features = scaler.transform(frame)",
            "step:features",
            "serve:readings",
        ),
        code(
            "model = RandomForestClassifier(n_estimators=30, random_state=0)\n"
            "model.fit(features[:1000], failed[:1000])\n"
            "predictions = model.predict(features[1000:])",
            "step:train",
        ),
        code("print(model.n_estimators, predictions.mean())", "step:evaluate"),
    )
