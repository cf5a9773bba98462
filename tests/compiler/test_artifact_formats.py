"""One test per framework serializer, with the real framework: save, the sha256 in the manifest,
a damaged file refused, load as a fresh kernel would (hashing the file first), and the value
equal to what was saved — for models, equal predictions on fixed rows.

Frameworks are imported inside each test: some cost seconds to import.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from nb2pipe import artifacts
from nb2pipe.artifacts import ArtifactError, digest, file_sha256, load, save

ROWS = np.random.default_rng(0).normal(size=(200, 4))
LABELS = (ROWS[:, 0] + ROWS[:, 1] > 0).astype(int)


def crossed(tmp_path: Path, value, serializer: str, library: str | None = None):
    """`value` saved by step "make" and loaded back as another kernel would; its manifest entry.

    Checks on the way: the format chosen, the sha256 recorded, the library's version recorded,
    and that a file changed after it was written is refused."""
    entry = save(tmp_path, "make", value=value)["artifacts"]["value"]
    assert entry["serializer"] == serializer
    path = tmp_path / "make" / "artifacts" / entry["file"]
    assert file_sha256(path) == entry["sha256"]
    if library:
        assert entry["library"] == library
        assert entry["library_version"] == sys.modules[library].__version__
    digest._known.clear()  # a fresh kernel: nothing known, the file is hashed before it is used
    loaded = load(tmp_path, "make", "value")
    original = path.read_bytes()
    damaged = bytearray(original)
    damaged[len(damaged) // 2] ^= 0xFF
    path.write_bytes(bytes(damaged))
    digest._known.clear()
    with pytest.raises(ArtifactError, match="does not match its sha256"):
        load(tmp_path, "make", "value")
    path.write_bytes(original)
    return loaded, entry


# --- XGBoost ------------------------------------------------------------------------------------


def test_an_xgboost_booster_predicts_the_same_after_crossing(tmp_path):
    import xgboost as xgb

    train = xgb.DMatrix(ROWS[:150], label=LABELS[:150], feature_names=list("abcd"))
    valid = xgb.DMatrix(ROWS[150:], label=LABELS[150:], feature_names=list("abcd"))
    params = {"objective": "binary:logistic", "max_depth": 2, "eta": 0.3}
    booster = xgb.train(params, train, 200, evals=[(valid, "v")], early_stopping_rounds=3,
                        verbose_eval=False)  # fmt: skip
    loaded, entry = crossed(tmp_path, booster, "xgboost-booster", "xgboost")
    assert entry["file"] == "value.ubj"
    assert loaded.best_iteration == booster.best_iteration < 199
    assert loaded.feature_names == list("abcd")
    rows = xgb.DMatrix(ROWS[:20], feature_names=list("abcd"))
    np.testing.assert_array_equal(loaded.predict(rows), booster.predict(rows))


def test_an_xgboost_dmatrix_keeps_labels_weights_margins_and_feature_names(tmp_path):
    import xgboost as xgb

    frame = pd.DataFrame(ROWS, columns=list("abcd")).assign(
        kind=pd.Categorical(np.where(LABELS, "x", "y"))
    )
    matrix = xgb.DMatrix(frame, label=LABELS, weight=np.linspace(0.5, 1.5, 200),
                         base_margin=np.full(200, 0.25), enable_categorical=True)  # fmt: skip
    loaded, entry = crossed(tmp_path, matrix, "xgboost-dmatrix", "xgboost")
    assert (loaded.num_row(), loaded.num_col()) == (200, 5)
    np.testing.assert_array_equal(loaded.get_label(), matrix.get_label())
    np.testing.assert_array_equal(loaded.get_weight(), matrix.get_weight())
    np.testing.assert_array_equal(loaded.get_base_margin(), matrix.get_base_margin())
    assert loaded.feature_names == matrix.feature_names == [*"abcd", "kind"]
    assert loaded.feature_types == matrix.feature_types
    assert (loaded.get_data() != matrix.get_data()).nnz == 0
    # Training on it gives the same model as training on the original.
    params = {"max_depth": 2, "seed": 0}
    ours, theirs = xgb.train(params, loaded, 5), xgb.train(params, matrix, 5)
    np.testing.assert_array_equal(ours.predict(matrix), theirs.predict(matrix))


def test_a_quantile_dmatrix_is_refused_in_xgboosts_own_words(tmp_path):
    import xgboost as xgb

    matrix = xgb.QuantileDMatrix(ROWS, label=LABELS)
    with pytest.warns(UserWarning, match="could not be saved as xgboost-dmatrix"):
        with pytest.raises(ArtifactError) as info:
            save(tmp_path, "make", quantiles=matrix)
    message = str(info.value)
    assert "'quantiles' (xgboost.core.QuantileDMatrix) cannot be passed" in message
    assert "binary saving only supported by SimpleDMatrix" in message
    assert message.endswith("Create it in the step that uses it") and "\n" not in message
    assert not (tmp_path / "make" / "artifacts" / "manifest.json").exists()


def test_a_scikit_learn_wrapper_of_xgboost_goes_to_joblib(tmp_path):
    import xgboost as xgb

    model = xgb.XGBClassifier(n_estimators=5, max_depth=2).fit(ROWS, LABELS)
    loaded, _ = crossed(tmp_path, model, "joblib", "xgboost")
    np.testing.assert_array_equal(loaded.predict_proba(ROWS[:20]), model.predict_proba(ROWS[:20]))


# --- LightGBM -----------------------------------------------------------------------------------


def _lightgbm_frame():
    return pd.DataFrame(ROWS, columns=list("abcd")).assign(
        kind=pd.Categorical(np.where(ROWS[:, 2] > 0, "x", "y"))
    )


def test_a_lightgbm_booster_keeps_every_iteration_and_its_best_one(tmp_path):
    import lightgbm as lgb

    frame = _lightgbm_frame()
    train = lgb.Dataset(frame[:150], label=LABELS[:150])
    valid = lgb.Dataset(frame[150:], label=LABELS[150:], reference=train)
    params = {"objective": "binary", "num_leaves": 4, "learning_rate": 0.5, "verbose": -1}
    booster = lgb.train(params, train, 100, valid_sets=[valid], keep_training_booster=True,
                        callbacks=[lgb.early_stopping(2, verbose=False)])  # fmt: skip
    assert 0 < booster.best_iteration < booster.current_iteration()
    loaded, entry = crossed(tmp_path, booster, "lightgbm-booster", "lightgbm")
    assert loaded.best_iteration == booster.best_iteration
    assert loaded.best_score == booster.best_score
    rows = frame[:20]
    np.testing.assert_array_equal(loaded.predict(rows), booster.predict(rows))  # best iteration
    everything = booster.current_iteration()
    np.testing.assert_array_equal(
        loaded.predict(rows, num_iteration=everything),
        booster.predict(rows, num_iteration=everything),
    )


def test_a_lightgbm_dataset_not_yet_built_is_built_later_as_in_run_all(tmp_path):
    import lightgbm as lgb

    dataset = lgb.Dataset(_lightgbm_frame(), label=LABELS, weight=np.linspace(1, 2, 200))
    loaded, entry = crossed(tmp_path, dataset, "lightgbm-dataset", "lightgbm")
    assert entry["form"] == "raw" and not entry["constructed"]
    params = {"objective": "binary", "num_leaves": 4, "max_bin": 15, "verbose": -1}
    ours, theirs = lgb.train(params, loaded, 5), lgb.train(params, dataset, 5)
    np.testing.assert_array_equal(
        ours.predict(_lightgbm_frame()), theirs.predict(_lightgbm_frame())
    )


def test_a_built_lightgbm_dataset_crosses_as_lightgbms_binary_file(tmp_path):
    import lightgbm as lgb

    frame = _lightgbm_frame()
    dataset = lgb.Dataset(frame, label=LABELS, weight=np.linspace(1, 2, 200)).construct()
    assert dataset.data is None  # LightGBM freed the raw data
    loaded, entry = crossed(tmp_path, dataset, "lightgbm-dataset", "lightgbm")
    assert entry["form"] == "binary"
    np.testing.assert_array_equal(loaded.get_label(), dataset.get_label())
    np.testing.assert_array_equal(loaded.get_weight(), dataset.get_weight())
    assert loaded.get_feature_name() == dataset.get_feature_name()
    assert loaded.pandas_categorical == dataset.pandas_categorical == [["x", "y"]]
    params = {"objective": "binary", "num_leaves": 4, "verbose": -1}
    ours, theirs = lgb.train(params, loaded, 5), lgb.train(params, dataset, 5)
    np.testing.assert_array_equal(ours.predict(frame), theirs.predict(frame))


def test_a_lightgbm_dataset_that_keeps_its_raw_data_can_be_rebinned_later(tmp_path):
    import lightgbm as lgb

    frame = _lightgbm_frame()
    dataset = lgb.Dataset(frame, label=LABELS, free_raw_data=False).construct()
    loaded, entry = crossed(tmp_path, dataset, "lightgbm-dataset", "lightgbm")
    assert entry == {**entry, "form": "raw", "constructed": True}
    pd.testing.assert_frame_equal(loaded.get_data(), frame)
    # Other binning parameters: LightGBM rebuilds the dataset from its raw data, in both.
    params = {"objective": "binary", "num_leaves": 4, "max_bin": 7, "verbose": -1}
    ours, theirs = lgb.train(params, loaded, 5), lgb.train(params, dataset, 5)
    np.testing.assert_array_equal(ours.predict(frame), theirs.predict(frame))


# --- CatBoost -----------------------------------------------------------------------------------


def test_a_catboost_classifier_keeps_its_class_labels_and_parameters(tmp_path):
    import catboost as cb

    frame = _lightgbm_frame().assign(kind=lambda f: f["kind"].astype(str))
    classes = np.where(LABELS, "yes", "no")
    model = cb.CatBoostClassifier(iterations=10, depth=3, cat_features=["kind"], random_seed=0,
                                  verbose=False, allow_writing_files=False)  # fmt: skip
    model.fit(frame, classes)
    loaded, entry = crossed(tmp_path, model, "catboost", "catboost")
    assert type(loaded) is cb.CatBoostClassifier and entry["class"].endswith(":CatBoostClassifier")
    np.testing.assert_array_equal(loaded.predict(frame[:20]), model.predict(frame[:20]))
    np.testing.assert_array_equal(loaded.predict_proba(frame[:20]), model.predict_proba(frame[:20]))
    assert {k: loaded.get_params()[k] for k in model.get_params()} == model.get_params()
    refit = loaded.copy().fit(frame, classes)  # a later step may fit it again, as in Run All
    np.testing.assert_array_equal(refit.predict_proba(frame), model.predict_proba(frame))


def test_a_catboost_regressor_predicts_the_same(tmp_path):
    import catboost as cb

    model = cb.CatBoostRegressor(iterations=10, verbose=False, allow_writing_files=False)
    model.fit(ROWS, ROWS[:, 0] * 2)
    loaded, _ = crossed(tmp_path, model, "catboost", "catboost")
    assert type(loaded) is cb.CatBoostRegressor
    np.testing.assert_array_equal(loaded.predict(ROWS[:20]), model.predict(ROWS[:20]))


# --- scipy sparse -------------------------------------------------------------------------------


def test_a_sparse_matrix_from_a_vectorizer_crosses_as_npz(tmp_path):
    import scipy
    from sklearn.feature_extraction.text import TfidfVectorizer

    texts = ["the cat sat", "the dog sat on the mat", "a cat and a dog"] * 10
    matrix = TfidfVectorizer().fit_transform(texts)
    loaded, entry = crossed(tmp_path, matrix, "sparse", "scipy")
    assert entry["file"] == "value.npz" and scipy.__version__ == entry["library_version"]
    assert type(loaded) is type(matrix) and loaded.dtype == matrix.dtype
    assert loaded.shape == matrix.shape and (loaded != matrix).nnz == 0


@pytest.mark.parametrize(
    "kind", ["csc_array", "coo_matrix", "lil_matrix", "dok_array", "bsr_matrix"]
)
def test_every_sparse_format_comes_back_in_its_format(tmp_path, kind):
    from scipy import sparse

    dense = np.where(ROWS[:12, :4] > 0.5, ROWS[:12, :4], 0).astype(np.float32)
    matrix = getattr(sparse, kind)(dense)
    loaded, _ = crossed(tmp_path, matrix, "sparse", "scipy")
    assert type(loaded) is type(matrix)
    np.testing.assert_array_equal(loaded.toarray(), dense)


# --- polars -------------------------------------------------------------------------------------


def test_a_polars_frame_crosses_as_arrow_ipc(tmp_path):
    import polars as pl

    frame = pl.DataFrame(
        {"n": [1, None, 3], "s": ["x", "y", None], "xs": [[1], [2, 3], []]}
    ).with_columns(pl.col("s").cast(pl.Categorical), when=pl.date_range(
        pl.date(2024, 1, 1), pl.date(2024, 1, 3), eager=True))  # fmt: skip
    loaded, entry = crossed(tmp_path, frame, "polars", "polars")
    assert entry["file"] == "value.arrow"
    assert loaded.schema == frame.schema and loaded.equals(frame)


def test_a_polars_series_comes_back_a_series_with_its_name(tmp_path):
    import polars as pl

    series = pl.Series("price", [1.5, None, 2.5])
    loaded, entry = crossed(tmp_path, series, "polars", "polars")
    assert entry["kind"] == "series" and isinstance(loaded, pl.Series)
    assert loaded.name == "price" and loaded.equals(series)


def test_a_polars_frame_of_python_objects_is_refused_when_it_is_saved(tmp_path):
    import polars as pl

    frame = pl.DataFrame({"o": [{1}, {2}]}, schema={"o": pl.Object})
    with pytest.warns(UserWarning), pytest.raises(ArtifactError) as info:
        save(tmp_path, "make", frame=frame)
    assert "'frame' (polars.dataframe.frame.DataFrame) cannot be passed" in str(info.value)
    assert "'Object' datatype to ipc. Create it in the step that uses it" in str(info.value)


# --- PyTorch ------------------------------------------------------------------------------------


def test_a_torch_module_computes_the_same_after_crossing(tmp_path):
    import torch

    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 1))
    net.register_buffer("scale", torch.tensor(2.0))
    loaded, entry = crossed(tmp_path, net, "torch", "torch")
    assert entry["device"] == "cpu"
    rows = torch.tensor(ROWS[:20], dtype=torch.float32)
    with torch.no_grad():
        assert torch.equal(loaded(rows), net(rows))
    assert torch.equal(loaded.scale, net.scale)


def test_torch_tensors_keep_dtype_shape_and_gradient_flag(tmp_path):
    import torch

    tensor = torch.arange(12, dtype=torch.float64).reshape(3, 4).requires_grad_()
    loaded, _ = crossed(tmp_path, tensor, "torch", "torch")
    assert torch.equal(loaded, tensor) and loaded.dtype == torch.float64
    assert loaded.requires_grad


def test_a_network_class_defined_in_the_notebook_travels_with_the_module(tmp_path):
    # The class exists only in the saving kernel's __main__ (a notebook cell); the reading
    # process never defines it.
    code = f"""
import torch
from nb2pipe import artifacts
class Doubler(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.linear = torch.nn.Linear(4, 1)
    def forward(self, x):
        return self.linear(x) * 2
torch.manual_seed(0)
net = Doubler()
artifacts.save({str(tmp_path)!r}, "make", net=net)
torch.save(net(torch.ones(3, 4)).detach(), {str(tmp_path / "expected.pt")!r})
"""
    subprocess.run([sys.executable, "-c", code], check=True)
    import torch

    net = load(tmp_path, "make", "net")
    assert type(net).__name__ == "Doubler"
    with torch.no_grad():
        assert torch.equal(net(torch.ones(3, 4)), torch.load(tmp_path / "expected.pt"))


# --- Keras --------------------------------------------------------------------------------------


def test_a_keras_model_on_the_torch_backend_goes_to_keras_not_torch(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_BACKEND", "torch")  # Keras 3 without TensorFlow
    import keras

    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [keras.Input((4,)), keras.layers.Dense(8, activation="relu"), keras.layers.Dense(1)]
    )
    model.compile(optimizer="adam", loss="mse")
    model.fit(ROWS, LABELS.astype("float32"), epochs=1, verbose=0)
    loaded, entry = crossed(tmp_path, model, "keras", "keras")  # a torch.nn.Module too
    assert entry["backend"] == "torch" and entry["file"] == "value.keras"
    rows = ROWS[:20].astype("float32")
    np.testing.assert_array_equal(loaded.predict(rows, verbose=0), model.predict(rows, verbose=0))
    assert loaded.optimizer.get_config()["name"] == "adam"


def test_a_keras_model_loads_in_a_kernel_that_has_not_chosen_a_backend(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_BACKEND", "torch")
    import keras

    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    save(tmp_path, "make", model=model)
    code = f"""
import os, numpy as np
from nb2pipe import artifacts
model = artifacts.load({str(tmp_path)!r}, "make", "model")
print(os.environ["KERAS_BACKEND"], model.predict(np.ones((1, 2), "float32"), verbose=0).shape)
"""
    env = {k: v for k, v in os.environ.items() if k != "KERAS_BACKEND"}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["torch", "(1,", "1)"]


# --- statsmodels, PIL, pandas beyond DataFrame --------------------------------------------------


def test_statsmodels_results_predict_the_same_with_their_formula(tmp_path):
    import statsmodels.formula.api as smf

    frame = _lightgbm_frame().assign(y=LABELS)
    results = smf.logit("y ~ a + b + C(kind)", frame).fit(disp=0)
    loaded, entry = crossed(tmp_path, results, "statsmodels", "statsmodels")
    pd.testing.assert_series_equal(loaded.params, results.params)
    pd.testing.assert_series_equal(loaded.predict(frame[:20]), results.predict(frame[:20]))
    assert "Logit Regression Results" in str(loaded.summary())


@pytest.mark.parametrize(("mode", "stored"), [("RGB", "PNG"), ("L", "PNG"), ("CMYK", "TIFF"),
                                              ("F", "TIFF")])  # fmt: skip
def test_a_pil_image_keeps_its_pixels_and_mode(tmp_path, mode, stored):
    from PIL import Image

    pixels = np.random.default_rng(1).integers(0, 255, (7, 5, 3), dtype=np.uint8)
    image = Image.fromarray(pixels).convert(mode)
    loaded, entry = crossed(tmp_path, image, "image", "PIL")
    assert entry["format"] == stored
    assert (loaded.mode, loaded.size) == (image.mode, image.size)
    np.testing.assert_array_equal(np.asarray(loaded), np.asarray(image))


@pytest.mark.parametrize(
    "index",
    [
        pd.Index(["b", "a", None], name="letter"),
        pd.date_range("2024-01-01", periods=4, freq="D", tz="UTC", name="when"),
        pd.MultiIndex.from_product([[1, 2], ["x", "y"]], names=["n", "s"]),
        pd.RangeIndex(3, 30, 3, name="r"),
        pd.CategoricalIndex(["lo", "hi", "lo"], categories=["lo", "hi"], ordered=True),
    ],
    ids=["object", "datetime", "multi", "range", "categorical"],
)
def test_a_pandas_index_crosses_as_arrow(tmp_path, index):
    loaded, entry = crossed(tmp_path, index, "arrow")
    assert entry["kind"] == "index"
    pd.testing.assert_index_equal(loaded, index, exact=True)
    assert getattr(loaded, "freq", None) == getattr(index, "freq", None)


def test_a_frame_and_a_series_keep_the_frequency_of_their_time_index(tmp_path):
    days = pd.date_range("2024-01-01", periods=4, freq="D")
    frame = pd.DataFrame({"sales": [1.0, 2.0, 3.0, 4.0]}, index=days)
    loaded, _ = crossed(tmp_path, frame, "arrow")
    assert loaded.index.freqstr == "D"
    pd.testing.assert_frame_equal(loaded, frame)
    hours = pd.Series([1, 2], index=pd.timedelta_range("1h", periods=2, freq="h"), name="n")
    loaded, _ = crossed(tmp_path, hours, "arrow")
    assert loaded.index.freqstr == "h"


def test_a_pandas_categorical_keeps_its_categories_order_and_unused_ones(tmp_path):
    categorical = pd.Categorical(["b", "a", None, "b"], categories=["b", "a", "z"], ordered=True)
    loaded, entry = crossed(tmp_path, categorical, "arrow")
    assert entry["kind"] == "categorical"
    pd.testing.assert_extension_array_equal(loaded, categorical)


# --- dispatch -----------------------------------------------------------------------------------


def test_a_subclass_from_another_package_is_not_given_a_format_that_would_drop_its_class():
    from scipy import sparse

    class Tagged(sparse.csr_matrix):  # would come back a plain csr_matrix from save_npz
        pass

    assert artifacts.serializer_for(Tagged((2, 2))).name == "pickle"
    assert artifacts.serializer_for(sparse.csr_matrix((2, 2))).name == "sparse"


def test_recognising_types_imports_no_framework(tmp_path):
    frameworks = ["xgboost", "lightgbm", "catboost", "polars", "torch", "keras", "statsmodels",
                  "PIL", "scipy", "sklearn"]  # fmt: skip
    code = (
        "import sys, pandas as pd\n"
        "from nb2pipe import artifacts\n"
        f"artifacts.save({str(tmp_path)!r}, 's', frame=pd.DataFrame({{'a': [1]}}), n=3)\n"
        f"loaded = [m for m in {frameworks!r} if m in sys.modules]\n"
        "assert not loaded, loaded\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
