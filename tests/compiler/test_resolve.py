"""The compiler keeps the pipeline equal to Run All, or says why not (resolve.py, grouping.py).

Each test is a pattern seen in real notebooks; tests/runner/test_fidelity_runtime.py and the
corpus in tests/fidelity run such notebooks for real and compare them with papermill.
"""

import pytest
from nbfactory import code

from nb2pipe.compile import compile_notebook
from nb2pipe.errors import GraphError
from nb2pipe.show import edges, text


def compiled(make_notebook, *cells):
    return compile_notebook(make_notebook(*cells))


def inputs(pipeline, step):
    return [(i.producer, i.name) for i in pipeline.step(step).inputs]


# --- objects changed in place are new versions -----------------------------------------------


@pytest.mark.parametrize(
    "change",
    [
        "df['x'] = 1",
        "df.dropna(inplace=True)",
        "del df['tmp']",
        "df.loc[df.a > 0, 'a'] = 0",
        "df.insert(0, 'z', 1)",
        "names.append('c')",
        "config.update(k=2)",
        "counts['k'] += 1",
        "settings.threshold = 0.8",
        "model.fit(X, y)",
        "arr[0] = 5",
        "lst.sort()",
        "df['a'].fillna(0, inplace=True)",
    ],
)
def test_a_step_that_changes_an_object_is_its_next_producer(make_notebook, change):
    name = change.removeprefix("del ").split(".")[0].split("[")[0].split(" ")[0]
    p = compiled(
        make_notebook,
        code("df = names = config = counts = settings = model = arr = lst = X = y = 0", "step:a"),
        code(change, "step:b"),
        code(f"print({name})", "step:c"),
    )
    assert (("b", name) in inputs(p, "c")) and ("a", name) in inputs(p, "b")
    assert name in p.step("b").outputs
    assert p.step("c").upstream == ["b"]


def test_two_steps_adding_columns_are_ordered_as_the_notebook(make_notebook):
    p = compiled(
        make_notebook,
        code("df = dict()", "step:load"),
        code("df['x'] = 1", "step:add_x"),
        code("df['y'] = 2", "step:add_y"),
        code("print(df[['x', 'y']])", "step:report"),
    )
    assert inputs(p, "add_y") == [("add_x", "df")]
    assert inputs(p, "report") == [("add_y", "df")]
    assert [s.name for s in p.steps] == ["load", "add_x", "add_y", "report"]


def test_reading_methods_keep_branches_parallel(make_notebook):
    p = compiled(
        make_notebook,
        code("df = dict()", "step:load"),
        code("a = df.describe()\nb = df.groupby('k').mean()\nc = df['v'].sum()", "step:left"),
        code("d = df.head()\ne = df.copy()", "step:right"),
        code("print(a, d)", "step:join"),
    )
    assert inputs(p, "left") == inputs(p, "right") == [("load", "df")]
    assert p.step("left").outputs == ["a"]
    assert p.step("left").guard == ["df"]  # the right branch reads the same df: watched
    assert p.step("right").guard == []


def test_a_helper_that_changes_its_argument_changes_the_caller_s_object(make_notebook):
    p = compiled(
        make_notebook,
        code("def add_feature(frame):\n    frame['f'] = 1", "functions"),
        code("df = dict()", "step:load"),
        code("add_feature(df)", "step:features"),
        code("print(df)", "step:report"),
    )
    assert inputs(p, "report") == [("features", "df")]


def test_library_functions_that_change_their_argument(make_notebook):
    p = compiled(
        make_notebook,
        code("import numpy as np\nimport random", "imports"),
        code("arr = np.arange(5)\nlst = [1, 2]", "step:load"),
        code("np.random.shuffle(arr)\nrandom.shuffle(lst)", "step:shuffle"),
        code("print(arr, lst)", "step:report"),
    )
    assert inputs(p, "report") == [("shuffle", "arr"), ("shuffle", "lst")]


# --- names that are not values ---------------------------------------------------------------


def test_a_function_reading_a_global_that_its_step_rebinds_later(make_notebook):
    # Hands-On ML, chapter 4: a function defined before the step assigns the name it reads.
    p = compiled(
        make_notebook,
        code("theta = dict()", "step:init"),
        code("def predict(x):\n    return x @ theta\nfirst = predict(1)\ntheta = 2", "step:fit"),
    )
    assert inputs(p, "fit") == [("init", "theta")]


def test_a_function_made_by_a_step_brings_what_it_reads(make_notebook):
    p = compiled(
        make_notebook,
        code("factor = 3\ndef scale(v):\n    return v * factor", "step:a"),
        code("print(scale(2))", "step:b"),
    )
    assert inputs(p, "b") == [("a", "factor"), ("a", "scale")]


def test_star_imports_are_replayed_in_later_steps(make_notebook):
    p = compiled(
        make_notebook,
        code("from math import *\nr = sqrt(4)", "step:a"),
        code("print(floor(r))", "step:b"),
    )
    assert [c.source for c in p.step("b").replay] == ["from math import *"]
    assert inputs(p, "b") == [("a", "r")]


def test_a_module_imported_by_a_step_is_imported_again_not_saved(make_notebook):
    p = compiled(
        make_notebook,
        code("import collections as co\nfrom json import dumps", "step:a"),
        code("print(co.Counter('ab'), dumps(1))", "step:b"),
    )
    assert inputs(p, "b") == []
    assert [c.source for c in p.step("b").replay] == [
        "import collections as co",
        "from json import dumps",
    ]
    assert p.step("a").outputs == []


def test_global_settings_of_a_step_are_replayed_later(make_notebook):
    p = compiled(
        make_notebook,
        code("import pandas as pd", "imports"),
        code("pd.set_option('display.max_rows', 5)\n%matplotlib inline\nx = 1", "step:a"),
        code("print(x)", "step:b"),
    )
    replayed = [c.source for c in p.step("b").replay]
    assert replayed[0] == "pd.set_option('display.max_rows', 5)"
    assert "matplotlib" in replayed[1]
    assert p.step("a").changes_settings and not p.step("b").changes_settings
    assert p.warnings == []


def test_settings_changed_inside_a_block_are_a_warning(make_notebook):
    p = compiled(
        make_notebook,
        code("import warnings", "imports"),
        code("if True:\n    warnings.filterwarnings('ignore')\nx = 1", "step:a"),
        code("print(x)", "step:b"),
    )
    [hazard] = p.warnings
    assert hazard.cell == 2 and "changes a global setting inside a block" in hazard.message


# --- global random state ---------------------------------------------------------------------


def test_seeded_notebooks_carry_random_state_in_notebook_order(make_notebook):
    p = compiled(
        make_notebook,
        code("import numpy as np", "imports"),
        code("np.random.seed(0)\nX = np.random.rand(3)", "step:seed"),
        code("print(X.sum())", "step:summary"),
        code("a = np.random.rand(2)", "step:draw_a"),
        code("b = np.random.rand(2)", "step:draw_b"),
    )
    chain = {s.name: (s.random_from, s.random_state) for s in p.steps}
    assert chain == {
        "seed": (None, True),
        "summary": (None, False),
        "draw_a": ("seed", True),
        "draw_b": ("draw_a", True),
    }
    assert "draw_a" in p.step("draw_b").upstream  # ordered, as Run All draws them


def test_unseeded_notebooks_carry_nothing(make_notebook):
    p = compiled(
        make_notebook,
        code("import numpy as np", "imports"),
        code("a = np.random.default_rng(0).random(2)", "step:a"),
        code("b = np.random.rand(2)", "step:b"),
    )
    assert all(s.random_from is None and not s.random_state for s in p.steps)


def test_a_seed_in_the_imports_cell_chains_every_drawing_step(make_notebook):
    p = compiled(
        make_notebook,
        code("import numpy as np\nnp.random.seed(1)", "imports"),
        code("from sklearn.model_selection import train_test_split", "imports"),
        code("X = np.arange(10)", "step:a"),
        code("tr, te = train_test_split(X)", "step:split"),
        code("n = np.random.randint(5)", "step:n"),
    )
    assert [(s.name, s.random_from) for s in p.steps if s.random_state] == [
        ("split", None),
        ("n", "split"),
    ]


# --- refused, naming the cell ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("made", "kind"),
    [
        ("f = open('data.txt')", "an open file"),
        ("f = (i for i in range(3))", "a generator"),
        ("import threading\nf = threading.Lock()", "a lock"),
        ("import sqlite3\nf = sqlite3.connect(':memory:')", "a database connection"),
        ("def gen():\n    yield 1\nf = gen()", "a generator"),
        ("with open('data.txt') as f:\n    pass", "an open file (closed at the end"),
        ("import socket\nf = socket.socket()", "a network socket"),
        ("import queue\nf = queue.Queue()", "a queue between threads"),
        ("import multiprocessing as mp\nf = mp.Queue()", "a queue between processes"),
        ("from sqlalchemy import create_engine\nf = create_engine('sqlite://')", "a database conn"),
        (
            "import xgboost as xgb\nf = xgb.QuantileDMatrix([[1.0]], [0])",
            "an XGBoost QuantileDMatrix",
        ),
        ("import pandas as pd\nf = pd.read_csv('a.csv', chunksize=100)", "a chunked reader"),
        ("import sqlite3\nc = sqlite3.connect('x.db')\nf = c.cursor()", "a database cursor"),
        ("import zipfile\nf = zipfile.ZipFile('a.zip')", "an open archive"),
        ("import logging\nf = logging.FileHandler('run.log')", "a log handler"),
        ("import boto3\nf = boto3.client('s3')", "a cloud client"),
    ],
)
def test_values_that_cannot_cross_a_step_boundary_are_refused(make_notebook, made, kind):
    nb = make_notebook(code(made, "step:a"), code("print(f)", "step:b"))
    with pytest.raises(GraphError) as info:
        compile_notebook(nb)
    assert info.value.cell == 1
    assert f"'f' is {kind}" in info.value.message
    assert "from step 'a' to step 'b'" in info.value.message


@pytest.mark.parametrize(
    "made",
    [
        "import pandas as pd\nf = pd.read_csv('a.csv', chunksize=None)",  # a whole frame
        "import pandas as pd\nf = pd.read_csv('a.csv', iterator=False)",
        "import sqlite3\nimport pandas as pd\nc = sqlite3.connect('x.db')\nf = c.execute('q').fetchall()",
        "import tempfile\nf = tempfile.TemporaryDirectory()",  # pickles (a name and a finalizer)
        "f = iter([1, 2, 3])",  # a list iterator pickles with its position
    ],
)
def test_values_made_by_such_calls_that_do_cross_are_not_refused(make_notebook, made):
    compiled(make_notebook, code(made, "step:a"), code("print(f)", "step:b"))


def test_a_value_that_stays_in_its_step_may_be_anything(make_notebook):
    compiled(make_notebook, code("f = open('x')\nf.close()\ny = 1", "step:a"), code("y", "step:b"))


def test_a_name_deleted_before_a_later_step_reads_it(make_notebook):
    nb = make_notebook(code("x = 1", "step:a"), code("del x", "step:b"), code("x", "step:c"))
    with pytest.raises(GraphError, match="deleted by step 'b' \\(cell 2\\)") as info:
        compile_notebook(nb)
    assert info.value.cell == 3


def test_a_step_reopened_after_a_reader_changes_what_it_reads(make_notebook):
    nb = make_notebook(
        code("x = 1", "step:a"),
        code("print(x)", "step:b"),
        code("x = 2", "step:a"),
    )
    with pytest.raises(GraphError, match="step 'a' continues after step 'b'") as info:
        compile_notebook(nb)
    assert info.value.cell == 3


def test_imports_cells_cannot_read_step_data(make_notebook):
    nb = make_notebook(code("x = 1", "step:a"), code("y = x + 1", "imports"))
    with pytest.raises(GraphError, match="read by an imports or functions cell") as info:
        compile_notebook(nb)
    assert info.value.cell == 2


# --- Kale's untagged cells, skipped cells ----------------------------------------------------


def test_untagged_cells_after_imports_join_the_imports_as_in_kale(make_notebook):
    p = compiled(
        make_notebook,
        code("import numpy as np", "imports"),
        code("import pandas as pd"),
        code("x = np.ones(2)", "block:a"),
        code("import json", "functions"),
        code("def f():\n    return 1"),
        code("y = pd.Series(x)", "step:b"),
    )
    assert [c.number for c in p.imports] == [1, 2]
    assert [c.number for c in p.functions] == [4, 5]
    assert p.warnings == []


def test_a_skipped_cell_that_changes_what_a_later_step_reads_is_a_warning(make_notebook):
    p = compiled(
        make_notebook,
        code("df = dict()", "step:a"),
        code("df['x'] = 0", "skip"),
        code("print(df)", "step:b"),
        code("scratch = df.describe()", "skip"),
    )
    [hazard] = p.warnings
    assert hazard.cell == 2
    assert "tagged skip but changes 'df', which step 'b' reads later" in hazard.message


# --- files -----------------------------------------------------------------------------------


def test_a_step_reading_a_file_another_step_writes_runs_after_it(make_notebook):
    p = compiled(
        make_notebook,
        code("import pandas as pd", "imports"),
        code("raw = pd.read_csv('data/raw.csv')", "step:load"),
        code("raw.to_csv('clean.csv')", "step:write"),
        code("%%writefile helpers_gen.py\nK = 1", "step:module"),
        code("import helpers_gen\nback = pd.read_csv('clean.csv')", "step:read"),
    )
    assert p.step("load").files_read == ["data/raw.csv"]
    assert p.step("write").files_written == ["clean.csv"]
    assert p.step("read").upstream == ["module", "write"]
    assert "write → read: (file clean.csv)" in text(p)


def test_inputs_and_outputs_tags_declare_files(make_notebook):
    p = compiled(
        make_notebook,
        code("print(1)", "step:a", "outputs:out/model.bin", "inputs:conf/a.yaml,conf/b.yaml"),
        code("print(2)", "step:b", "inputs:out/model.bin"),
    )
    assert p.step("a").files_written == ["out/model.bin"]
    assert p.step("a").files_read == ["conf/a.yaml", "conf/b.yaml"]
    assert p.step("b").upstream == ["a"]


def test_show_lists_each_variable_once_per_edge(make_notebook):
    p = compiled(
        make_notebook,
        code("x = 1", "step:a"),
        code("def f():\n    return x\nprint(x, f())", "step:b"),
    )
    assert edges(p) == [("a", "b", ["x"])]


# --- drawing without a seed --------------------------------------------------------------------


def test_a_notebook_that_draws_without_ever_seeding_is_warned_at_the_first_draw(make_notebook):
    p = compiled(
        make_notebook,
        code("import numpy as np\nfrom sklearn.model_selection import train_test_split", "imports"),
        code("x = np.arange(20)", "step:load"),
        code(
            "tr, te = train_test_split(x, test_size=0.2)\nnoise = np.random.rand(3)", "step:split"
        ),
    )
    [warning] = p.warnings
    assert warning.cell == 3
    assert "(sklearn.model_selection.train_test_split) that the notebook never seeds" in (
        warning.message
    )


@pytest.mark.parametrize(
    "draw",
    [
        "np.random.seed(0)\nnoise = np.random.rand(3)",  # seeded: chained, as Run All
        "tr, te = train_test_split(np.arange(9), random_state=1)",
        "noise = np.random.default_rng(0).random(3)",  # its own generator
    ],
)
def test_seeded_draws_and_own_generators_are_not_warned(make_notebook, draw):
    p = compiled(
        make_notebook,
        code("import numpy as np\nfrom sklearn.model_selection import train_test_split", "imports"),
        code(draw, "step:draw"),
        code("print(1)", "step:after"),
    )
    assert [w for w in p.warnings if "never seeds" in w.message] == []


def test_a_draw_inside_a_helper_of_the_notebook_is_warned_where_a_step_calls_it(make_notebook):
    p = compiled(
        make_notebook,
        code("import random", "imports"),
        code("def handful(left):\n    return random.randint(1, left)", "functions"),
        code("print('bag')", "step:sack"),
        code("kid = handful(20)", "step:kid"),
    )
    [warning] = p.warnings
    assert warning.cell == 4
    assert "(handful() calls random.randint) that the notebook never seeds" in warning.message
