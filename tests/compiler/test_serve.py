"""`serve` cells: what the compiler decides about them (serve.py) and what it refuses, naming the
cell, before anything runs (serve_rules.py). The published model, the proof and the server are
tested for real in tests/registry/test_serve_publish.py."""

import json

import pytest
from nbfactory import code, markdown
from support import features as featurekit

from nb2pipe.compile import pipeline_file
from nb2pipe.compile.build import step_notebook
from nb2pipe.compile.compiler import compile_notebook
from nb2pipe.compile.show import serving, summary, text
from nb2pipe.errors import Nb2PipeError, ServeError, TagError


def wine_with(tmp_path, features=featurekit.WINE_FEATURES, encoding=featurekit.WINE_ENCODING):
    return compile_notebook(featurekit.wine(tmp_path, features=features, encoding=encoding))


def test_the_serve_cells_are_compiled_with_their_input_output_values_and_prelude(tmp_path):
    pipeline = wine_with(tmp_path)
    serve = pipeline.serve
    assert (serve.input, serve.output, serve.step) == ("raw", "X", "features")
    assert serve.values == ["COLOURS", "alcohol_mean", "scaler"]
    assert [c.number for c in serve.cells] == [6, 7]
    assert [c.source for c in serve.prelude] == ["import pandas as pd"]  # not sklearn's imports
    # `X.head()` only shows the frame in the notebook: the served cell leaves it out.
    assert "X.head()" not in serve.cells[0].source
    assert "# shown in the notebook, not run when serving" in serve.cells[0].source
    assert serving(pipeline) == ("a request's rows as raw → serve cells 6, 7 (step features) → X")
    assert "values from training: COLOURS, alcohol_mean, scaler" in text(pipeline)
    assert summary(pipeline)["serve"] == {
        "input": "raw", "output": "X", "cells": [6, 7], "step": "features",
        "values": ["COLOURS", "alcohol_mean", "scaler"],
    }  # fmt: skip


def test_the_serve_section_round_trips_through_pipeline_yaml(tmp_path):
    pipeline = wine_with(tmp_path)
    text_form = pipeline_file.dump(pipeline)
    assert pipeline_file.load(text_form).serve == pipeline.serve
    assert pipeline_file.dump(pipeline_file.load(text_form)) == text_form


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (("input: raw", "input: 2raw"), "serve.names: bad name '2raw'"),
        (
            ("step: features\n", "step: nowhere\n"),
            "serve: its cells are not code cells of step 'nowhere' .edited..: compile it again",
        ),
        (
            ("  - number: 7\n", "  - number: 3\n"),
            "serve: its cells are not code cells of step 'features'",
        ),
        (("  values:\n", "  colour: red\n  values:\n"), "serve: unknown field 'colour'"),
    ],
)
def test_a_hand_edited_serve_section_is_one_error(tmp_path, edit, message):
    text_form = pipeline_file.dump(wine_with(tmp_path))
    serve_part = text_form.index("\nserve:")
    edited = text_form[:serve_part] + text_form[serve_part:].replace(*edit, 1)
    assert edited != text_form
    with pytest.raises(pipeline_file.PipelineFileError, match=message):
        pipeline_file.load(edited)


def test_the_serve_step_keeps_what_the_cells_start_from_and_make(tmp_path):
    pipeline = wine_with(tmp_path)
    cells = step_notebook(pipeline, pipeline.step("features"))["cells"]
    ids = [c["id"] for c in cells]
    assert ids.index("serve-input") == ids.index("cell-6") - 1
    assert ids.index("serve-output") == ids.index("cell-7") + 1
    source = "".join(cells[ids.index("serve-input")]["source"])
    assert (
        'nb2pipe_served.keep_input(nb2pipe_run_dir, "features", "raw", raw, '
        "COLOURS=COLOURS, alcohol_mean=alcohol_mean, scaler=scaler)"
    ) in source
    assert "".join(cells[ids.index("serve-output")]["source"]).endswith(
        'nb2pipe_served.keep_output(nb2pipe_run_dir, "features", "X", X)'
    )
    other = step_notebook(pipeline, pipeline.step("train"))["cells"]
    assert not [c for c in other if c["id"].startswith("serve-")]


def test_serving_changes_the_fingerprint_of_the_serve_step_only(tmp_path):
    from nb2pipe.runner.fingerprint import Environment, parts_for

    tagged = wine_with(tmp_path)
    plain = compile_notebook(tmp_path / "wine.ipynb")
    plain.serve = None
    env = Environment()
    for step in ("features", "train"):

        def code_of(p, step=step):
            return parts_for(p, p.step(step), {"rows": 600}, {}, env).code

        assert (code_of(tagged) != code_of(plain)) == (step == "features")


def test_a_helper_of_the_functions_cell_travels_with_what_it_reads(tmp_path):
    serve = compile_notebook(featurekit.houses(tmp_path)).serve
    assert (serve.input, serve.output) == ("test_raw", "X_test")
    assert serve.values == ["area_scaler", "encoder", "median_age", "rooms_cap"]  # a parameter
    sources = [c.source for c in serve.prelude]
    assert sources[:2] == ["import numpy as np", "import pandas as pd"]
    assert sources[2].startswith("def make_features(frame):")


def test_serve_name_chooses_the_request_variable(tmp_path):
    path = featurekit.sensors(tmp_path)
    serve = compile_notebook(path).serve
    assert (serve.input, serve.output) == ("readings", "features")
    assert serve.values == ["lookup", "scaler", "temperature_limit"]
    # Without the name, the data made earliest that the first serve cell reads is the input.
    document = json.loads(path.read_text())
    for cell in document["cells"]:
        tags = cell["metadata"].get("tags", [])
        cell["metadata"]["tags"] = ["serve" if t == "serve:readings" else t for t in tags]
    path.write_text(json.dumps(document))
    assert compile_notebook(path).serve.input == "lookup"


# --- what cannot be served: an error naming the cell, with the fix ------------------------------

OVER_ROWS = "computes over the rows at hand: served, it would use the request's rows"


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("X['c'] = X['alcohol'] - X['alcohol'].mean()", f"`X['alcohol'].mean()` {OVER_ROWS}"),
        ("X['c'] = X.sugar / X.sugar.max()", f"`X.sugar.max()` {OVER_ROWS}"),
        ("X['c'] = np.mean(X.sugar)", f"`np.mean(X.sugar)` {OVER_ROWS}"),
        ("X['c'] = X.groupby('colour').sugar.transform('mean')", "`X.groupby('colour')` compu"),
        ("X['c'] = X.sugar.rank()", f"`X.sugar.rank()` {OVER_ROWS}"),
        ("X['c'] = X.sugar.shift(1)", f"`X.sugar.shift(1)` {OVER_ROWS}"),
        ("X['c'] = X.sugar.transform('mean')", f"`X.sugar.transform('mean')` {OVER_ROWS}"),
        ("X['c'] = X.sugar.argmax()", f"`X.sugar.argmax()` {OVER_ROWS}"),
        ("X['c'] = pd.factorize(X.colour)[0]", "takes its categories from the rows"),
        (
            "from sklearn.preprocessing import minmax_scale\nX['c'] = minmax_scale(X.sugar)",
            "`minmax_scale(X.sugar)` fits on the rows at hand",
        ),
        ("X['c'] = X.colour.astype('category').cat.codes", "takes its categories from the rows"),
        ("X['c'] = pd.qcut(X.sugar, 4, labels=False)", "cuts by the quantiles or range"),
        ("X[['sugar']] = StandardScaler().fit_transform(X[['sugar']])", "fits on the rows at hand"),
        ("scaler.fit(X[['alcohol', 'sugar']])", "fits on the rows at hand"),
        ("X = X.dropna()", "keeps, drops, reorders or fills from the rows at hand"),
        ("X = X.sort_values('sugar')", "keeps, drops, reorders or fills from the rows at hand"),
        ("X = X.fillna(method='ffill')", "keeps, drops, reorders or fills from the rows at hand"),
        ("COLOURS.append('blue')", "changes 'COLOURS', a value from training, in place"),
        ("scaler.mean_[0] = 0", "changes 'scaler', a value from training, in place"),
        ("extra = pd.read_csv('extra.csv')", "`pd.read_csv('extra.csv')` reads a file"),
        ("extra = open('extra.txt').read()", "reads a file"),
        ("import urllib.request\nurllib.request.urlopen('http://x')", "reaches the network"),
        ("import subprocess\nsubprocess.run(['ls'])", "runs a command"),
        ("!ls", "magics and shell commands do not run in a served model"),
    ],
)
def test_what_cannot_be_served_is_an_error_naming_the_cell(tmp_path, line, message):
    with pytest.raises(ServeError) as caught:
        wine_with(tmp_path, encoding=featurekit.WINE_ENCODING + "\n" + line)
    assert message in caught.value.message
    assert caught.value.cell == 7
    assert str(caught.value).startswith(f"{tmp_path / 'wine.ipynb'}: cell 7: ")


def _escape(text: str) -> str:
    import re

    return re.escape(text)


def test_the_fix_is_in_the_message(tmp_path):
    with pytest.raises(ServeError) as caught:
        wine_with(tmp_path, features="X = raw.copy()\nX['c'] = X.alcohol - X.alcohol.mean()")
    assert caught.value.cell == 6
    assert "compute it in a training step before the serve cells" in caught.value.message
    assert "and read that value here" in caught.value.message


@pytest.mark.parametrize(
    "line",
    [
        "X['c'] = X[['alcohol', 'sugar']].mean(axis=1)",  # across the columns of each row
        "X['c'] = X.sugar.clip(upper=10) / X.alcohol",
        "X['c'] = X.sugar - np.log1p(X.alcohol)",
        "X['c'] = X.alcohol - raw_means['alcohol']",  # a value from training
        "X['c'] = X.alcohol.map(lambda a: a > 12).astype(float)",
        "X['c'] = X.alcohol.transform(np.log1p)",  # a function of each value
        "X['c'] = pd.cut(X.sugar, [0, 1, 5, 100], labels=False)",  # the training bin edges
        "print(X.shape)",
        "X.describe()",  # shows; left out of the served cell
    ],
)
def test_row_by_row_code_is_served(tmp_path, line):
    load = (
        "train_rows = raw.loc[train_idx]\n"
        "alcohol_mean = train_rows['alcohol'].mean()\n"
        "raw_means = train_rows[['alcohol', 'sugar']].mean()\n"
        "COLOURS = ['red', 'white', 'rose']\n"
        "scaler = StandardScaler().fit(train_rows[['alcohol', 'sugar']])"
    )
    path = featurekit.wine(tmp_path, encoding=featurekit.WINE_ENCODING + "\n" + line)
    document = json.loads(path.read_text())
    document["cells"][4]["source"] = load
    path.write_text(json.dumps(document))
    pipeline = compile_notebook(path)
    assert pipeline.serve is not None and pipeline.warnings == []


def test_dummies_with_categories_fixed_before_or_columns_reindexed_after_are_served(tmp_path):
    reindexed = "X = pd.get_dummies(X, columns=['colour']).reindex(columns=COLUMNS, fill_value=0)"
    dummies_first = (
        "X = pd.get_dummies(X, columns=['colour'], dtype=float)\n"
        "X['colour'] = pd.Categorical(X['colour'], categories=COLOURS)"
    )
    for encoding in (featurekit.WINE_ENCODING, reindexed):
        source = encoding.replace("COLUMNS", "COLOURS")
        assert wine_with(tmp_path, encoding=source).serve is not None
    with pytest.raises(ServeError, match="makes one column per category") as caught:
        wine_with(tmp_path, encoding=dummies_first)
    assert caught.value.cell == 7
    with pytest.raises(ServeError, match="makes one column per category") as caught:
        wine_with(tmp_path, features=featurekit.WINE_FEATURES + "\nX = pd.get_dummies(X)")
    assert caught.value.cell == 6


def test_drawing_random_numbers_is_a_warning(tmp_path):
    pipeline = wine_with(
        tmp_path, encoding=featurekit.WINE_ENCODING + "\nX['noise'] = np.random.normal(size=3)"
    )
    [warning] = [w for w in pipeline.warnings if "served" in w.message]
    assert warning.cell == 7
    assert warning.message.startswith("`np.random.normal(size=3)` draws random numbers: served,")


@pytest.mark.parametrize(
    ("features", "message", "cell"),
    [
        ("X = raw.copy()\nX['c'] = X.alcohol * factor", "name 'factor' is used", 6),
        ("X = raw.copy()\nX['c'] = X.alcohol * later", "(step 'late' assigns it later)", 6),
        (
            "X = pd.DataFrame({'alcohol': [rows]})",
            "the first serve cell reads no data made by earlier cells",
            6,
        ),
    ],
)
def test_names_the_served_model_would_not_have(tmp_path, features, message, cell):
    path = featurekit.wine(tmp_path, features=features)
    if "later" in features:
        document = json.loads(path.read_text())
        document["cells"].append(code("later = 2", "step:late"))
        path.write_text(json.dumps(document))
    with pytest.raises(Nb2PipeError, match=_escape(message)) as caught:
        compile_notebook(path)
    assert caught.value.cell == cell


def test_serve_cells_sit_in_one_step(tmp_path):
    path = featurekit.wine(tmp_path)
    document = json.loads(path.read_text())
    document["cells"][6]["metadata"]["tags"] = ["step:encode", "serve"]
    path.write_text(json.dumps(document))
    with pytest.raises(ServeError, match="serve cells are in steps 'features' .cell 6. and "
                       "'encode' .cell 7.: put the cells that make the model's features in one "
                       "step") as caught:  # fmt: skip
        compile_notebook(path)
    assert caught.value.cell == 7


def test_a_cell_between_serve_cells_may_not_change_their_data(tmp_path):
    path = featurekit.wine(tmp_path)
    document = json.loads(path.read_text())
    document["cells"].insert(6, code("X['extra'] = 1.0"))
    path.write_text(json.dumps(document))
    with pytest.raises(ServeError, match="this cell is not tagged serve but changes 'X' between "
                       "the serve cells 6 and 8: the served model would not run it; tag it "
                       "serve, or move it before cell 6 or after cell 8") as caught:  # fmt: skip
        compile_notebook(path)
    assert caught.value.cell == 7
    document["cells"][6] = code("print('checkpoint')")
    path.write_text(json.dumps(document))
    assert compile_notebook(path).serve is not None


@pytest.mark.parametrize(
    ("change", "refused"),
    [
        ("X['sugar'] = X['sugar'] * 2", True),
        ("X = X * 2", True),
        ("X.drop(columns=['acidity'], inplace=True)", True),
        ("X = X.loc[train_idx]", False),
        ("X_train = X.loc[train_idx] * 2", False),  # a copy
        ("print(1)\nX['prediction'] = model.predict(X)", "after"),  # after the model's last use
    ],
)
def test_a_later_cell_may_not_change_what_the_serve_cells_made(tmp_path, change, refused):
    path = featurekit.wine(tmp_path)
    document = json.loads(path.read_text())
    if refused == "after":
        document["cells"].append(code(change, "step:report"))
    else:
        document["cells"].insert(7, code(change, "step:tweak"))
    path.write_text(json.dumps(document))
    if refused is not True:
        assert compile_notebook(path).serve.output == "X"
        return
    with pytest.raises(ServeError, match="this cell changes 'X' after the serve cells made it "
                       r"\(cell 7\): the model would learn or predict on something the served "
                       "model never makes") as caught:  # fmt: skip
        compile_notebook(path)
    assert caught.value.cell == 8


def test_the_serve_cells_must_make_what_later_cells_use(tmp_path):
    path = featurekit.wine(tmp_path)
    document = json.loads(path.read_text())
    document["cells"][7]["source"] = "print('done')"
    document["cells"] = document["cells"][:8]
    path.write_text(json.dumps(document))
    with pytest.raises(ServeError, match="nothing the serve cells make is read by a later cell"):
        compile_notebook(path)


@pytest.mark.parametrize(
    ("cells", "error", "cell"),
    [
        ([markdown("notes", "serve")], "the serve tag belongs on a code cell", 1),
        ([code("x = 1", "skip", "serve")], "a 'skip' cell cannot be served", 1),
        ([code("x = 1", "serve")], "a metrics, serve or step-settings tag before the first", 1),
    ],
)
def test_misplaced_serve_tags(make_notebook, cells, error, cell):
    path = make_notebook(*cells, code("y = 2", "step:a"))
    with pytest.raises(TagError, match=error) as caught:
        compile_notebook(path)
    assert caught.value.cell == cell


def test_a_notebook_without_serve_cells_has_no_serve_section(make_notebook):
    pipeline = compile_notebook(make_notebook(code("x = 1", "step:a")))
    assert pipeline.serve is None
    assert "serve:" not in pipeline_file.dump(pipeline)
