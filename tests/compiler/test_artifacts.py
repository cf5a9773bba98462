import errno
import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from nb2pipe import artifacts
from nb2pipe.artifacts import ArtifactError, load, read_manifest, save, save_metrics, store
from nb2pipe.errors import Nb2PipeError


def roundtrip(tmp_path: Path, value, name: str = "value"):
    """Save `value` as artifact `name` of step "train", load it back; also return its entry."""
    manifest = save(tmp_path, "train", **{name: value})
    return load(tmp_path, "train", name), manifest["artifacts"][name]


def artifact_dir(tmp_path: Path) -> Path:
    return tmp_path / "train" / "artifacts"


class Point:
    def __init__(self, x):
        self.x = x


# --- one round trip per serializer --------------------------------------------------------------


def test_dataframe_with_custom_index_round_trips_as_arrow(tmp_path):
    frame = pd.DataFrame(
        {"age": [31, 45, 27], "city": ["Oslo", "Lima", None], "score": [0.5, np.nan, 1.25]},
        index=pd.Index(["c", "a", "b"], name="customer"),
    )
    frame["segment"] = pd.Categorical(["x", "y", "x"])
    loaded, entry = roundtrip(tmp_path, frame)
    pd.testing.assert_frame_equal(loaded, frame)
    assert entry["serializer"] == "arrow"
    assert entry["file"] == "value.arrow"
    assert entry["type"] == "pandas.DataFrame"


def test_dataframe_with_multiindex_round_trips(tmp_path):
    index = pd.MultiIndex.from_tuples([("a", 1), ("b", 2)], names=["k", "n"])
    frame = pd.DataFrame({"v": [1.0, 2.0]}, index=index)
    loaded, entry = roundtrip(tmp_path, frame)
    pd.testing.assert_frame_equal(loaded, frame)
    assert entry["serializer"] == "arrow"


def test_dataframe_with_non_string_columns_falls_back_to_pickle(tmp_path):
    frame = pd.DataFrame(np.arange(6).reshape(2, 3))  # columns 0, 1, 2
    with pytest.warns(UserWarning, match="cloudpickle"):
        loaded, entry = roundtrip(tmp_path, frame)
    pd.testing.assert_frame_equal(loaded, frame)
    assert entry["serializer"] == "pickle"


def test_dataframe_arrow_cannot_type_falls_back_to_pickle(tmp_path):
    frame = pd.DataFrame({"mixed": [1, "two", 3.0]})
    with pytest.warns(UserWarning) as record:
        loaded, entry = roundtrip(tmp_path, frame)
    pd.testing.assert_frame_equal(loaded, frame)
    assert entry["serializer"] == "pickle"
    messages = [str(w.message) for w in record]
    assert any("could not be saved as arrow" in m for m in messages)
    assert sorted(p.name for p in artifact_dir(tmp_path).iterdir()) == [
        "manifest.json",
        "value.pkl",
    ]


@pytest.mark.parametrize(
    "series",
    [
        pd.Series([1.5, 2.5, 3.5], index=pd.Index([10, 20, 30], name="id"), name="price"),
        pd.Series(["a", None, "c"], name=None),
        pd.Series([1, None, 3], dtype="Int64", name=7),
        pd.Series(pd.to_datetime(["2024-01-01", "2024-06-30"]), name="when"),
    ],
)
def test_series_round_trips_with_name_dtype_and_index(tmp_path, series):
    loaded, entry = roundtrip(tmp_path, series)
    assert isinstance(loaded, pd.Series)
    pd.testing.assert_series_equal(loaded, series)
    assert entry["serializer"] == "arrow"
    assert entry["kind"] == "series"


@pytest.mark.parametrize(
    "array",
    [np.arange(12, dtype=np.float64).reshape(3, 4) / 7, np.arange(6, dtype=np.int32).reshape(2, 3)],
)
def test_ndarray_round_trips_as_npy(tmp_path, array):
    loaded, entry = roundtrip(tmp_path, array)
    np.testing.assert_array_equal(loaded, array)
    assert loaded.dtype == array.dtype
    assert entry["serializer"] == "npy"
    assert entry["file"] == "value.npy"


def test_object_ndarray_falls_back_to_pickle(tmp_path):
    array = np.array([{"a": 1}, None], dtype=object)
    with pytest.warns(UserWarning, match="cloudpickle"):
        loaded, entry = roundtrip(tmp_path, array)
    assert entry["serializer"] == "pickle"
    assert list(loaded) == list(array)


def test_sklearn_estimator_round_trips_as_joblib(tmp_path):
    from sklearn.linear_model import LogisticRegression

    X = np.array([[0.0, 1.0], [1.0, 0.0], [0.2, 0.9], [0.9, 0.1]])
    y = np.array([0, 1, 0, 1])
    model = LogisticRegression().fit(X, y)
    loaded, entry = roundtrip(tmp_path, model)
    assert entry["serializer"] == "joblib"
    assert entry["type"] == "sklearn.linear_model._logistic.LogisticRegression"
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    np.testing.assert_allclose(loaded.coef_, model.coef_)


def test_sklearn_pipeline_is_joblib(tmp_path):
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    assert artifacts.serializer_for(make_pipeline(StandardScaler())).name == "joblib"


@pytest.mark.parametrize(
    "value",
    [
        {"lr": 0.1, "layers": [64, 32], "name": "run", "flags": {"a": True, "b": None}},
        [1, 2.5, "x", None, [True]],
        42,
        3.5,
        "text",
        True,
        None,
    ],
)
def test_json_values_round_trip_as_json(tmp_path, value):
    loaded, entry = roundtrip(tmp_path, value)
    assert loaded == value
    assert type(loaded) is type(value)
    assert entry["serializer"] == "json"


@pytest.mark.parametrize(
    "value",
    [(1, 2), {1: "a"}, {"a": (1, 2)}, float("nan"), np.float64(0.5), np.int64(3)],
    ids=["tuple", "int-keys", "nested-tuple", "nan", "np-float", "np-int"],
)
def test_values_json_would_change_go_to_pickle_with_warning(tmp_path, value):
    with pytest.warns(UserWarning, match=r"artifact 'value' of type .* is saved with cloudpickle"):
        loaded, entry = roundtrip(tmp_path, value)
    assert entry["serializer"] == "pickle"
    assert type(loaded) is type(value)
    if value == value:  # NaN is not equal to itself
        assert loaded == value


def test_lambda_and_custom_class_go_to_pickle(tmp_path):
    with pytest.warns(UserWarning, match="cloudpickle"):
        loaded_fn, fn_entry = roundtrip(tmp_path, lambda x: x * 3, name="fn")
        loaded_point, point_entry = roundtrip(tmp_path, Point(4), name="point")
    assert loaded_fn(2) == 6
    assert loaded_point.x == 4
    assert fn_entry["serializer"] == point_entry["serializer"] == "pickle"
    assert point_entry["type"].endswith("test_artifacts.Point")


# --- choice by type, manifest, integrity -------------------------------------------------------


def test_serializer_is_chosen_by_type_not_name(tmp_path):
    with pytest.warns(UserWarning, match="cloudpickle"):
        manifest = save(tmp_path, "train", model={"C": 1.0}, df=[1, 2], array=(1,))
    kinds = {name: entry["serializer"] for name, entry in manifest["artifacts"].items()}
    assert kinds == {"model": "json", "df": "json", "array": "pickle"}


def test_manifest_is_sorted_indented_json_and_merges(tmp_path):
    save(tmp_path, "train", a=1)
    manifest = save(tmp_path, "train", b=[1, 2])
    path = artifact_dir(tmp_path) / "manifest.json"
    text = path.read_text()
    assert text == json.dumps(manifest, sort_keys=True, indent=1) + "\n"
    assert set(manifest["artifacts"]) == {"a", "b"}
    assert read_manifest(tmp_path, "train") == manifest
    entry = manifest["artifacts"]["a"]
    assert entry["size"] == (artifact_dir(tmp_path) / "a.json").stat().st_size
    assert entry["sha256"] == artifacts.file_sha256(artifact_dir(tmp_path) / "a.json")


def test_a_manifest_with_a_key_given_twice_is_refused(tmp_path):
    save(tmp_path, "train", a=1, b=2)
    path = artifact_dir(tmp_path) / "manifest.json"
    text = path.read_text()
    # The entry of `b` given again under the name `a`: json.loads would keep the last one.
    entry_b = json.dumps(json.loads(text)["artifacts"]["b"])
    path.write_text(text.replace('"artifacts": {', f'"artifacts": {{"a": {entry_b},', 1))
    with pytest.raises(ArtifactError, match=r"not valid JSON: .*\(the key 'a' is given twice\)"):
        read_manifest(tmp_path, "train")
    with pytest.raises(ArtifactError, match="is given twice"):
        load(tmp_path, "train", "a")


def test_saving_a_name_in_another_format_removes_the_old_file(tmp_path):
    save(tmp_path, "train", x=[1, 2])
    save(tmp_path, "train", x=np.array([1, 2]))
    names = sorted(p.name for p in artifact_dir(tmp_path).iterdir())
    assert names == ["manifest.json", "x.npy"]
    np.testing.assert_array_equal(load(tmp_path, "train", "x"), [1, 2])


def test_artifact_called_manifest_does_not_clobber_the_manifest(tmp_path):
    save(tmp_path, "train", manifest={"k": 1})
    assert load(tmp_path, "train", "manifest") == {"k": 1}
    assert "manifest" in read_manifest(tmp_path, "train")["artifacts"]


def test_file_sha256_matches_hashlib(tmp_path):
    import hashlib

    path = tmp_path / "blob"
    data = np.random.default_rng(0).bytes(3 * (1 << 20) + 17)  # spans several chunks
    path.write_bytes(data)
    assert artifacts.file_sha256(path) == hashlib.sha256(data).hexdigest()


def test_corrupted_file_is_detected(tmp_path):
    save(tmp_path, "train", weights=np.ones(8))
    path = artifact_dir(tmp_path) / "weights.npy"
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(ArtifactError, match=r"'weights' of step 'train' does not match its sha256"):
        load(tmp_path, "train", "weights")


def test_missing_manifest_missing_file_and_unknown_name_are_errors(tmp_path):
    with pytest.raises(ArtifactError, match=r"step 'train' has no manifest .*manifest\.json"):
        load(tmp_path, "train", "x")
    assert read_manifest(tmp_path, "train") is None

    save(tmp_path, "train", x=1)
    with pytest.raises(ArtifactError, match=r"saved no artifact 'y' \(it saved: x\)"):
        load(tmp_path, "train", "y")

    (artifact_dir(tmp_path) / "x.json").unlink()
    with pytest.raises(ArtifactError, match=r"artifact 'x' of step 'train' is missing: .*x\.json"):
        load(tmp_path, "train", "x")


def test_artifact_error_is_an_nb2pipe_error():
    assert issubclass(ArtifactError, Nb2PipeError)


@pytest.mark.parametrize("step", ["", "..", "a/b"])
def test_step_name_must_be_one_path_component(tmp_path, step):
    with pytest.raises(ArtifactError, match="invalid step name"):
        save(tmp_path, step, x=1)


def test_invalid_artifact_name_is_rejected(tmp_path):
    with pytest.raises(ArtifactError, match="invalid artifact name"):
        save(tmp_path, "train", **{"../x": 1})


def test_atomic_writes_leave_no_temp_files(tmp_path):
    with pytest.warns(UserWarning):
        save(
            tmp_path,
            "train",
            frame=pd.DataFrame({"a": [1]}),
            series=pd.Series([1.0]),
            array=np.zeros(3),
            obj=Point(1),
            mixed=pd.DataFrame({"m": [1, "x"]}),  # arrow fails half-way, then pickle
        )
    save_metrics(tmp_path, "train", acc=0.9)
    names = sorted(p.name for p in artifact_dir(tmp_path).iterdir())
    assert names == [
        "array.npy",
        "frame.arrow",
        "manifest.json",
        "mixed.pkl",
        "obj.pkl",
        "series.arrow",
    ]


def test_failed_write_keeps_previous_artifact_and_no_temp_file(tmp_path, monkeypatch):
    save(tmp_path, "train", x=[1])

    def broken_dump(value, path):
        path.write_bytes(b"partial")
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(artifacts.SERIALIZERS["json"], "dump", broken_dump)
    with pytest.raises(ArtifactError, match="the disk is full \\(no space left on device\\)"):
        save(tmp_path, "train", x=[2])
    assert sorted(p.name for p in artifact_dir(tmp_path).iterdir()) == ["manifest.json", "x.json"]
    assert load(tmp_path, "train", "x") == [1]


# --- metrics -----------------------------------------------------------------------------------


def test_metrics_merge_and_are_floats(tmp_path):
    save(tmp_path, "train", x=1)
    save_metrics(tmp_path, "train", accuracy=0.9, epochs=3)
    metrics = save_metrics(tmp_path, "train", f1=np.float32(0.5), best=np.bool_(True), epochs=4)
    assert metrics == {"accuracy": 0.9, "epochs": 4.0, "f1": 0.5, "best": 1.0}
    assert all(type(v) is float for v in metrics.values())
    manifest = read_manifest(tmp_path, "train")
    assert manifest["metrics"] == metrics
    assert set(manifest["artifacts"]) == {"x"}  # artifacts untouched


def test_non_numeric_and_non_finite_metrics_are_skipped_with_warning(tmp_path):
    with pytest.warns(UserWarning) as record:
        metrics = save_metrics(
            tmp_path, "train", ok=1, label="good", nan=float("nan"), inf=np.inf, arr=np.ones(2)
        )
    assert metrics == {"ok": 1.0}
    skipped = sorted(str(w.message).split("'")[1] for w in record)
    assert skipped == ["arr", "inf", "label", "nan"]
    assert "metric 'label' of step 'train' is skipped" in str(record[0].message)


# --- registry ----------------------------------------------------------------------------------


class UpperText(artifacts.Serializer):
    name, extension = "upper", "txt"

    def accepts(self, value):
        return isinstance(value, str)

    def dump(self, value, path):
        path.write_text(value.upper())

    def load(self, path, entry):
        return path.read_text()


@pytest.fixture
def registry(monkeypatch):
    """A copy of the registry, so a test's registrations do not leak into others."""
    from nb2pipe.artifacts import serializers

    copy = serializers.SERIALIZERS.copy()
    monkeypatch.setattr(serializers, "SERIALIZERS", copy)
    monkeypatch.setattr(artifacts, "SERIALIZERS", copy)
    return copy


def test_registered_serializer_takes_precedence(tmp_path, registry):
    artifacts.register(UpperText())
    assert list(registry)[0] == "upper"
    loaded, entry = roundtrip(tmp_path, "hello")
    assert (loaded, entry["serializer"], entry["file"]) == ("HELLO", "upper", "value.txt")
    assert artifacts.serializer_for(3).name == "json"  # others unchanged


def test_register_before_a_named_serializer(registry):
    artifacts.register(UpperText(), before="json")
    assert list(registry)[-3:] == ["upper", "json", "pickle"]
    artifacts.register(UpperText(), before="pickle")  # re-registering moves it
    assert list(registry)[-3:] == ["json", "upper", "pickle"]
    with pytest.raises(ValueError, match="no serializer named 'nope'"):
        artifacts.register(UpperText(), before="nope")


def test_builtin_order():
    assert list(artifacts.SERIALIZERS) == [
        "arrow", "polars", "npy", "sparse", "image", "xgboost-booster",
        "xgboost-dmatrix", "lightgbm-booster", "lightgbm-dataset", "catboost", "keras", "torch",
        "joblib", "statsmodels", "json", "pickle",
    ]  # fmt: skip


def test_a_big_frame_is_checked_while_it_is_read(tmp_path):
    frame = pd.DataFrame({"v": np.arange(2_000_000, dtype="float64")})  # 16 MB
    save(tmp_path, "train", frame=frame)
    pd.testing.assert_frame_equal(load(tmp_path, "train", "frame"), frame)
    path = artifact_dir(tmp_path) / "frame.arrow"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF  # one flipped byte in the middle of the values
    path.write_bytes(bytes(data))
    with pytest.raises(ArtifactError, match="does not match its sha256"):
        load(tmp_path, "train", "frame")
    data[-200:] = b"\0" * 200  # its footer gone: the same line, not Arrow's complaint
    path.write_bytes(bytes(data))
    with pytest.raises(ArtifactError, match="does not match its sha256"):
        load(tmp_path, "train", "frame")


def test_a_loaded_frame_can_be_changed_in_place(tmp_path):
    # Read through a memory map, handed over as pandas' own writable blocks: in-place edits
    # work as they did in Run All.
    save(tmp_path, "train", frame=pd.DataFrame({"a": [1.0, 2.0], "b": [3, 4]}))
    frame = load(tmp_path, "train", "frame")
    frame["a"] *= 2
    frame.iloc[0, 1] = 10
    assert frame.to_dict("list") == {"a": [2.0, 4.0], "b": [10, 4]}


def _mixed_frame(rows: int) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({f"f{i}": rng.normal(size=rows) for i in range(4)})
    frame["count"] = np.arange(rows)
    frame["small"] = np.ones(rows, dtype="float32")  # odd rows: padding between columns
    frame["name"] = [f"n{i % 3}" for i in range(rows)]
    frame["gaps"] = [1.5, None] * (rows // 2) + [2.5] * (rows % 2)
    frame["when"] = pd.date_range("2024-01-01", periods=rows, freq="h")
    frame["when_utc"] = frame["when"].dt.tz_localize("UTC")
    frame["kind"] = pd.Categorical(["a", "b"] * (rows // 2) + ["a"] * (rows % 2))
    frame["flag"] = [True, False] * (rows // 2) + [True] * (rows % 2)
    frame["maybe"] = pd.array([1, None] * (rows // 2) + [3] * (rows % 2), dtype="Int64")
    frame["one"], frame["two"] = 1.0, 2.0
    frame.attrs["source"] = "sensor"
    return frame


def _in_a_mapped_file(array: np.ndarray) -> bool:
    import mmap

    base = array
    while base is not None and not isinstance(base, mmap.mmap):
        base = getattr(base, "base", None) if not isinstance(base, memoryview) else base.obj
    return base is not None


@pytest.mark.parametrize("rows", [1001, 1000])
def test_a_loaded_frame_is_the_files_pages_and_every_column_can_still_change(tmp_path, rows):
    frame = _mixed_frame(rows)
    save(tmp_path, "train", frame=frame)
    path = artifact_dir(tmp_path) / "frame.arrow"
    before = artifacts.file_sha256(path)
    artifacts.digest._known.clear()  # read as the next step's kernel reads it

    loaded = load(tmp_path, "train", "frame")
    pd.testing.assert_frame_equal(loaded, frame)
    pd.testing.assert_frame_equal(loaded, pd.read_feather(path))
    assert loaded.attrs == {"source": "sensor"}
    for column in ["f0", "f3", "count", "small", "one", "two"]:  # numeric, no nulls: no copy
        assert _in_a_mapped_file(loaded[column].to_numpy()), column
    for position in range(loaded.shape[1]):  # in place, as Run All can
        loaded.iloc[0, position] = loaded.iloc[1, position]
    loaded.loc[loaded["f0"] > 0, "f1"] = 0.0
    loaded["count"] += 1
    assert loaded.loc[0, "count"] == frame.loc[1, "count"] + 1

    assert artifacts.file_sha256(path) == before  # the file never changes
    artifacts.digest._known.clear()
    pd.testing.assert_frame_equal(load(tmp_path, "train", "frame"), frame)


def test_a_column_taken_from_a_loaded_frame_changes_alone(tmp_path):
    save(tmp_path, "train", frame=pd.DataFrame({"a": [1.0, 2.0, 3.0]}))
    artifacts.digest._known.clear()
    frame = load(tmp_path, "train", "frame")
    column = frame["a"]
    column.iloc[0] = -1.0
    assert frame["a"].tolist() == [1.0, 2.0, 3.0] and column.tolist() == [-1.0, 2.0, 3.0]
    moved = frame.reset_index()
    moved.loc[0, "index"] = 7
    assert frame.index.tolist() == [0, 1, 2]


def test_a_wide_frame_with_nulls_is_read_as_read_feather_reads_it(tmp_path):
    # One block per column would make pandas warn "highly fragmented" at the next new column.
    frame = pd.DataFrame({f"c{i}": [1.0, None, 3.0] for i in range(150)})
    save(tmp_path, "train", frame=frame)
    artifacts.digest._known.clear()
    loaded = load(tmp_path, "train", "frame")
    pd.testing.assert_frame_equal(loaded, frame)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loaded["new"] = 1.0
    loaded.iloc[1, 0] = 2.0
    assert loaded.iloc[1, 0] == 2.0


# --- import cost -------------------------------------------------------------------------------


def test_import_does_not_load_heavy_libraries():
    heavy = ["pandas", "numpy", "pyarrow", "joblib", "cloudpickle", "sklearn"]
    code = (
        "import sys, nb2pipe.artifacts\n"
        f"loaded = [m for m in {heavy!r} if m in sys.modules]\n"
        "assert not loaded, loaded\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_saving_json_does_not_load_heavy_libraries(tmp_path):
    code = (
        "import sys, nb2pipe.artifacts as a\n"
        f"a.save({str(tmp_path)!r}, 's', x={{'k': [1, 2]}})\n"
        f"assert a.load({str(tmp_path)!r}, 's', 'x') == {{'k': [1, 2]}}\n"
        "assert 'pandas' not in sys.modules and 'numpy' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_a_file_this_process_wrote_is_not_hashed_again_unless_it_changed(tmp_path, monkeypatch):
    save(tmp_path, "train", frame=pd.DataFrame({"v": np.arange(1000.0)}))
    path = artifact_dir(tmp_path) / "frame.arrow"
    entry = read_manifest(tmp_path, "train")["artifacts"]["frame"]
    assert entry["sha256"] == artifacts.file_sha256(path)  # hashed as it was written
    hashed = []
    real = artifacts.file_sha256
    monkeypatch.setattr(store, "file_sha256", lambda p: hashed.append(p) or real(p))
    load(tmp_path, "train", "frame")
    assert hashed == []  # written by this process, unchanged since
    # Changed with its modification time put back by hand: the change time still tells.
    before = path.stat()
    data = bytearray(path.read_bytes())
    data[-100] ^= 0xFF
    path.write_bytes(bytes(data))
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    with pytest.raises(ArtifactError, match="does not match its sha256"):
        load(tmp_path, "train", "frame")


# --- values that share an object (issue 22) ------------------------------------------------------


def test_values_that_are_one_object_come_back_as_one_object(tmp_path):
    x = [1, 2, 3]
    grid = np.arange(6).reshape(2, 3)
    manifest = save(
        tmp_path, "a", x=x, y=x, d={"k": x}, grid=grid, corner=grid[:1, :2], flat=grid.T, other=[0]
    )
    assert [g["names"] for g in manifest["shared"]] == [["corner", "flat", "grid"], ["d", "x", "y"]]
    with artifacts.loading():
        x2, y2, d2 = (load(tmp_path, "a", n) for n in ("x", "y", "d"))
        grid2, corner2, flat2 = (load(tmp_path, "a", n) for n in ("grid", "corner", "flat"))
    assert x2 is y2 and d2["k"] is x2
    corner2[0, 0] = 99  # a view stays a view of its base
    assert grid2[0, 0] == 99 and flat2[0, 0] == 99
    alone = load(tmp_path, "a", "y")  # outside a load cell: its own copy, as before
    assert alone == [1, 2, 3] and alone is not y2


def test_a_companion_is_loaded_with_what_it_shares_and_saved_again_if_changed(tmp_path):
    import __main__

    x = [1, 2, 3]
    save(tmp_path, "a", x=x, y=x, z=[5])
    with artifacts.loading():
        loaded = load(tmp_path, "a", "x", sharing=["y", "z"])
    try:
        assert __main__.y is loaded and not hasattr(__main__, "z")  # z shares nothing with x
        loaded.append(4)
        again = artifacts.changed_companions("y", "z")
        assert again == {"y": [1, 2, 3, 4]}
        save(tmp_path, "b", **again)
        assert load(tmp_path, "a", "y", resaved_by=["b"]) == [1, 2, 3, 4]
        assert load(tmp_path, "a", "x", resaved_by=["b"]) == [1, 2, 3]  # b did not save x
    finally:
        del __main__.y


def test_an_unchanged_companion_is_not_saved_again(tmp_path):
    import __main__

    model = {"data": np.ones(3)}
    save(tmp_path, "a", model=model, X=model["data"])
    with artifacts.loading():
        loaded = load(tmp_path, "a", "model", sharing=["X"])
    try:
        loaded["data"] = np.zeros(2)  # a new array: X itself is untouched
        assert artifacts.changed_companions("X") == {}
    finally:
        del __main__.X


def test_a_record_array_loads_as_numpy_s_own_class_in_another_process(tmp_path):
    """cloudpickle copied numpy's recarray class by value (its module, numpy.rec, is not imported
    by `import numpy`), and indexing the copy failed in super(): stored by reference now."""
    script = (
        "import sys, numpy as np\n"
        "from nb2pipe.artifacts import save\n"
        "data = np.zeros(2, dtype=[('age', 'i4')])\n"
        "save(sys.argv[1], 'a', rec=data.view(np.recarray), alone=np.ones(1, dtype=[('x', 'f8')]).view(np.recarray))\n"
    )
    subprocess.run([sys.executable, "-c", script, str(tmp_path)], check=True)
    check = (
        "import sys, numpy as np\n"
        "from nb2pipe import artifacts\n"
        "with artifacts.loading():\n"
        "    rec = artifacts.load(sys.argv[1], 'a', 'rec')\n"
        "alone = artifacts.load(sys.argv[1], 'a', 'alone')\n"
        "assert type(rec) is np.recarray and type(alone) is np.recarray\n"
        "print(rec['age'], alone['x'])\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", check, str(tmp_path)], capture_output=True, text=True, check=True
    )
    assert out.stdout.split() == ["[0", "0]", "[1.]"]


def test_a_step_that_imports_numpy_without_drawing_has_not_drawn():
    """The random-state watch starts before the step's own `import numpy`: a fresh import is not
    a draw, a draw after it is."""
    script = (
        "from nb2pipe.artifacts import randomness\n"
        "randomness.watch()\n"
        "import numpy as np\n"
        "print(randomness.drew())\n"
        "randomness.watch()\n"
        "np.random.rand()\n"
        "print(randomness.drew())\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "True"]


def test_an_object_column_of_nan_keeps_its_nan(tmp_path):
    """Arrow has one null, which comes back as None: such a frame is pickled instead."""
    frame = pd.DataFrame({"year": [2000, 2001]}, columns=["year", "debt"])
    assert frame["debt"].dtype == object
    back, entry = roundtrip(tmp_path, frame)
    assert entry["serializer"] == "pickle"
    assert back.loc[1].tolist()[1] is not None and np.isnan(back.loc[1].tolist()[1])
    series = pd.Series([None, "a"], dtype=object)
    assert roundtrip(tmp_path, series, "s")[1]["serializer"] == "arrow"  # None stays None


@pytest.mark.parametrize(
    "index",
    [pd.date_range("2015-07-03", periods=3), pd.timedelta_range(0, periods=3, freq="h")],
)
def test_an_index_with_a_frequency_keeps_it(tmp_path, index):
    """Printing the index, or a series under it, shows its frequency."""
    for value in (pd.Series(range(3), index=index), pd.DataFrame({"a": range(3)}, index=index)):
        back, _ = roundtrip(tmp_path, value)
        assert back.index.freq == index.freq and repr(back) == repr(value)


def test_an_object_column_of_lists_stays_lists(tmp_path):
    frame = pd.DataFrame({"words": [["a", "b"], ["c"]]})
    back, entry = roundtrip(tmp_path, frame)
    assert entry["serializer"] == "pickle" and back["words"][0] == ["a", "b"]


def test_a_watched_table_changed_unseen_fails_the_step_but_an_object_s_counters_only_warn(
    tmp_path,
):
    """A KNN model's tree counts its queries: predict changes its pickle, not what it computes.
    A check must not fail what Run All may well compute the same: it warns there."""
    from sklearn.neighbors import KNeighborsClassifier

    X = np.arange(20.0).reshape(10, 2)
    knn = KNeighborsClassifier(n_neighbors=1, algorithm="kd_tree").fit(X, np.arange(10) % 2)
    frame = pd.DataFrame({"a": [1, 2]})
    artifacts.watch(knn=knn, frame=frame)
    knn.predict(X[:2])
    artifacts.check_unchanged(tmp_path, "use", 4, knn=knn, frame=frame)
    [hazard] = read_manifest(tmp_path, "use")["warnings"]
    assert hazard["cell"] == 4 and "'knn' (a KNeighborsClassifier) changed" in hazard["message"]
    artifacts.watch(frame=frame)
    frame.loc[0, "a"] = 5
    with pytest.raises(ArtifactError, match="changed 'frame' in place"):
        artifacts.check_unchanged(tmp_path, "use", 4, frame=frame)
