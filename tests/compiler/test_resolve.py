"""The compiler keeps the pipeline equal to Run All, or says why not (resolve.py, grouping.py).

Each test is a pattern seen in real notebooks; tests/runner/test_fidelity_runtime.py and the
corpus in tests/fidelity run such notebooks for real and compare them with papermill.
"""

import pytest
from nbfactory import code

from nb2pipe.compile.compiler import compile_notebook
from nb2pipe.compile.show import edges, text
from nb2pipe.errors import GraphError


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


# --- what Run All shares, carries and names (issue 22) --------------------------------------


def test_a_change_through_another_name_for_an_object_is_passed_on(make_notebook):
    """`y = x` in one step, `x.append(…)` in the next: that step saves `y` again if the two
    are one object, and a later reader of `y` takes the latest copy."""
    p = compiled(
        make_notebook,
        code("x = [1, 2, 3]\ny = x", "step:a"),
        code("x.append(4)", "step:b"),
        code("print(y)", "step:c"),
    )
    [changer] = p.step("b").inputs
    assert (changer.name, changer.sharing) == ("x", ["y"])
    [reader] = p.step("c").inputs
    assert (reader.producer, reader.name, reader.resaved_by) == ("a", "y", ["b"])
    assert p.step("c").upstream == ["a", "b"]


def test_a_view_written_in_the_same_step_changes_its_base(make_notebook):
    p = compiled(
        make_notebook,
        code("import numpy as np", "imports"),
        code("grid = np.zeros((3, 3))", "step:make"),
        code(
            "corner = grid[:2, :2]\ncorner[:] = 7\nrows = []\nfor r in rows:\n    r.append(1)",
            "step:poke",
        ),
        code("print(grid, rows)", "step:report"),
    )
    assert ("poke", "grid") in inputs(p, "report")
    assert "grid" in p.step("poke").outputs and "rows" in p.step("poke").outputs


@pytest.mark.parametrize(
    "statement",
    ["y = x", "y = x[:1]", "y = x.T", "y = x.reshape(-1)", "y = np.asarray(x)", "y = [x, 1]"],
)
def test_names_that_may_be_one_object_change_together(make_notebook, statement):
    p = compiled(
        make_notebook,
        code("import numpy as np", "imports"),
        code("x = np.zeros(4)", "step:a"),
        code(f"{statement}\ny[0] = 1", "step:b"),
        code("print(x)", "step:c"),
    )
    assert inputs(p, "c") == [("b", "x")]


def test_a_copy_is_not_another_name_for_the_object(make_notebook):
    p = compiled(
        make_notebook,
        code("import numpy as np", "imports"),
        code("x = np.zeros(4)", "step:a"),
        code("y = x.copy()\ny[0] = 1", "step:b"),
        code("print(x)", "step:c"),
    )
    assert inputs(p, "c") == [("a", "x")]


def test_a_setting_is_replayed_after_the_import_it_needs(make_notebook):
    p = compiled(
        make_notebook,
        code("import numpy as np\nnp.set_printoptions(precision=2)", "step:a"),
        code("import numpy as np\nx = np.array([1 / 3])"),
        code("print(x)", "step:b"),
    )
    assert [c.source for c in p.step("b").replay] == [
        "import numpy as np",
        "np.set_printoptions(precision=2)",
    ]


def test_settings_and_imports_are_replayed_in_notebook_order(make_notebook):
    p = compiled(
        make_notebook,
        code("import pandas as pd\npd.set_option('display.max_rows', 5)", "step:a"),
        code("from math import *\npd.set_option('display.max_rows', 7)", "step:b"),
        code("print(floor(2.5), pd.get_option('display.max_rows'))", "step:c"),
    )
    assert [c.source for c in p.step("c").replay] == [
        "import pandas as pd",
        "pd.set_option('display.max_rows', 5)",
        "from math import *",
        "pd.set_option('display.max_rows', 7)",
    ]


@pytest.mark.parametrize(
    "setting",
    [
        "from sympy import init_printing\ninit_printing()",
        "from sympy import *\ninit_printing()",
        "from IPython.display import set_matplotlib_formats\nset_matplotlib_formats('svg')",
        "from IPython.core.interactiveshell import InteractiveShell\n"
        "InteractiveShell.ast_node_interactivity = 'all'",
        "%precision 3",
        "%config InlineBackend.figure_format = 'svg'",
    ],
)
def test_display_settings_are_replayed_later(make_notebook, setting):
    p = compiled(make_notebook, code(setting, "step:a"), code("1.23456", "step:b"))
    replayed = "\n".join(c.source for c in p.step("b").replay)
    last = setting.splitlines()[-1]
    assert (last.split("%")[-1].split()[0] if last.startswith("%") else last) in replayed
    assert p.warnings == []


def test_a_local_module_imported_by_a_step_is_imported_again_later(make_notebook, tmp_path):
    (tmp_path / "plotstyle.py").write_text(
        "import matplotlib\nmatplotlib.rcParams['figure.dpi'] = 600\n"
    )
    p = compiled(
        make_notebook,
        code("import matplotlib\nimport plotstyle", "step:a"),
        code("print(matplotlib.rcParams['figure.dpi'])", "step:b"),
    )
    assert [c.source for c in p.step("b").replay] == ["import matplotlib", "import plotstyle"]


@pytest.mark.parametrize(
    "write, read",
    [
        ("np.savez('arrays', a=x)", "np.load('arrays.npz')"),
        ("np.savez_compressed('arrays.npz', a=x)", "np.load('arrays.npz')"),
        ("np.save('one', x)", "np.load('one.npy')"),
        ("plt.savefig('fig')", "open('fig.png', 'rb')"),
        ("plt.savefig('fig', format='pdf')", "open('fig.pdf', 'rb')"),
    ],
)
def test_writers_that_add_an_extension_order_the_readers_of_that_file(make_notebook, write, read):
    p = compiled(
        make_notebook,
        code("import numpy as np\nimport matplotlib.pyplot as plt", "imports"),
        code(f"x = np.ones(2)\n{write}", "step:write"),
        code(f"data = {read}", "step:read"),
    )
    assert p.step("read").upstream == ["write"]


def test_names_read_only_inside_timeit_are_inputs(make_notebook):
    p = compiled(
        make_notebook,
        code("import numpy as np\ncounts = np.zeros(3)", "step:a"),
        code("%timeit -n1 -r1 counts, edges = np.histogram([1, 2], 3)\nprint(counts)", "step:b"),
    )
    assert inputs(p, "b") == [("a", "counts")]
    assert [c.source for c in p.step("b").replay] == ["import numpy as np"]


@pytest.mark.parametrize("reader", ["print(Out[1])", "print(_)", "x = _2 + 1", "print(In[1])"])
def test_reading_ipython_s_history_is_a_warning(make_notebook, reader):
    p = compiled(make_notebook, code("1 + 1", "step:a"), code(reader, "step:b"))
    [warning] = p.warnings
    assert warning.cell == 2 and "IPython's history" in warning.message


def test_steps_that_run_shell_commands_keep_their_order_with_file_steps(make_notebook):
    """A shell command may read or write any file: `!git init repo` then `!git clone repo`."""
    p = compiled(
        make_notebook,
        code("import pandas as pd", "imports"),
        code("pd.DataFrame({'a': [1]}).to_csv('a.csv')", "step:write"),
        code("!git init -q repo", "step:init"),
        code("x = 1", "step:unrelated"),
        code("!git clone -q repo copy", "step:clone"),
        code("back = pd.read_csv('copy/a.csv')", "step:read"),
        code("cd copy", "step:move"),
    )
    assert p.step("move").upstream == ["clone", "write"]
    assert p.step("init").upstream == ["write"]
    assert p.step("unrelated").upstream == []
    assert p.step("clone").upstream == ["init", "write"]
    assert p.step("read").upstream == ["clone"]


def test_names_in_strings_a_notebook_helper_evaluates_are_inputs(make_notebook):
    """PDSH's `display('df1', 'pd.merge(df1, df2)')`: a class whose methods `eval` its
    arguments. Names nothing defines are left alone (Run All would fail the same way)."""
    p = compiled(
        make_notebook,
        code(
            "import pandas as pd\nclass display:\n    def __init__(self, *args):\n"
            "        self.args = args\n    def __repr__(self):\n"
            "        return '\\n'.join(repr(eval(a)) for a in self.args)",
            "step:a",
        ),
        code("df1 = pd.DataFrame({'a': [1]})\ndf2 = df1 + 1", "step:b"),
        code("display('df1', 'pd.concat([df1, df2])', 'nothing', 'not code!')", "step:c"),
    )
    assert inputs(p, "c") == [("a", "display"), ("b", "df1"), ("b", "df2")]


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
