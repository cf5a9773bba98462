import pytest

from nb2pipe.compile.analysis import NameAnalyser, analyse
from nb2pipe.compile.cellcode import parse, to_python
from nb2pipe.compile.facts import BUILTIN_NAMES
from nb2pipe.errors import CodeError, Nb2PipeError


def facts(source: str, known=frozenset()):
    return analyse([(source, 1)], known=known)


def reads(source: str, known=frozenset()) -> list[str]:
    return [r.name for r in facts(source, known).reads]


def late(source: str) -> list[str]:
    return [r.name for r in facts(source).late_reads]


def writes(source: str) -> list[str]:
    return facts(source).writes


# --- evaluation order -------------------------------------------------------------------------


def test_assignment_reads_its_value_before_binding():
    assert reads("df = df.dropna()") == ["df"]
    assert writes("df = df.dropna()") == ["df"]


def test_a_name_bound_earlier_is_not_read():
    assert reads("df = load()\ndf = df.dropna()") == ["load"]


def test_reads_are_in_first_use_order_without_repeats():
    assert reads("c = b + a\nd = a + b + c") == ["b", "a"]


def test_augmented_assignment_reads_its_target():
    assert reads("total += step") == ["step", "total"]
    assert writes("total += step") == ["total"]
    assert reads("stats.count += 1") == ["stats"]
    assert writes("stats.count += 1") == ["stats"]  # the object changes: a new version


def test_attribute_and_subscript_assignment_read_and_change_the_object():
    assert reads("df['x'] = values") == ["values", "df"]
    assert writes("df['x'] = values") == ["df"]
    assert facts("df['x'] = values").changed == {"df": 1}
    assert reads("model.coef_ = w") == ["w", "model"]
    assert writes("model.coef_ = w") == ["model"]


def test_tuple_unpacking_binds_every_name():
    assert writes("train_df, test_df = split(wine)") == ["train_df", "test_df"]
    assert writes("(a, [b, *rest]) = value") == ["a", "b", "rest"]


def test_annotated_assignment():
    assert reads("x: int = y") == ["y", "int"]  # the annotation is evaluated too
    assert writes("x: int = y") == ["x", "y"]  # one object, two names: saved together


def test_for_loop_variables_are_bound_not_read():
    source = "for x in xs:\n    print(x)\nelse:\n    done = True"
    assert reads(source) == ["xs", "print"]
    assert writes(source) == ["x", "done"]
    assert reads("for name, (est, feats) in items.items():\n    fit(est, feats, name)") == [
        "items",
        "fit",
    ]


def test_while_if_with_blocks():
    assert reads("while n > 0:\n    n = n - 1") == ["n"]
    assert reads("if flag:\n    y = 1\nelse:\n    y = z") == ["flag", "z"]
    source = "with open(path) as fh:\n    data = fh.read()"
    assert reads(source) == ["open", "path"]
    assert writes(source) == ["fh", "data"]


def test_walrus_binds_in_order():
    source = "if (n := len(xs)) > 3:\n    print(n)"
    assert reads(source) == ["len", "xs", "print"]
    assert writes(source) == ["n"]


def test_except_as_binds_the_exception():
    source = "try:\n    run()\nexcept (ValueError, KeyError) as err:\n    log(err)"
    assert reads(source) == ["run", "ValueError", "KeyError", "log"]
    assert writes(source) == ["err"]


def test_match_patterns_bind():
    source = (
        "match command:\n"
        "    case [first, *rest]:\n"
        "        print(first, rest)\n"
        "    case {'k': value, **others}:\n"
        "        pass\n"
        "    case Point(x=px) as point:\n"
        "        pass\n"
    )
    assert reads(source) == ["command", "print", "Point"]
    assert writes(source) == ["first", "rest", "value", "others", "px", "point"]


# --- comprehensions ---------------------------------------------------------------------------


def test_comprehension_variables_are_local():
    source = "squares = [x * k for x in xs if x > t]"
    assert reads(source) == ["xs", "t", "k"]
    assert writes(source) == ["squares"]


@pytest.mark.parametrize(
    "source",
    [
        "out = {x for x in xs}",
        "out = (x for x in xs)",
        "out = {x: x for x in xs}",
        "out = sum(x for x in xs)",
    ],
)
def test_every_kind_of_comprehension(source):
    assert "x" not in reads(source)
    assert "xs" in reads(source)
    assert "x" not in writes(source)


def test_nested_comprehension_targets_are_local():
    source = "pairs = [(a, b) for a in left for b in a.children]"
    assert reads(source) == ["left"]
    assert writes(source) == ["pairs"]


def test_dict_comprehension_unpacking():
    assert reads("d = {k: v for k, v in items}") == ["items"]


def test_comprehension_variable_does_not_hide_an_outer_binding():
    source = "x = 1\nys = [x for x in range(3)]\nprint(x)"
    assert writes(source) == ["x", "ys"]
    assert reads(source) == ["range", "print"]


def test_walrus_inside_a_comprehension_binds_in_the_enclosing_scope():
    source = "found = any((hit := v) > 3 for v in values)\nprint(hit)"
    assert writes(source) == ["hit", "found"]  # bound in evaluation order
    assert reads(source) == ["any", "values", "print"]


# --- functions, lambdas, classes: late reads ---------------------------------------------------


def test_function_body_reads_are_late():
    source = "def f(a, *args, b=dflt, **kw):\n    return a + glob + len(args)\n"
    f = facts(source)
    assert [r.name for r in f.reads] == ["dflt"]
    assert [r.name for r in f.late_reads] == ["glob", "len"]
    assert f.writes == ["f"]


def test_function_locals_are_not_late_reads():
    source = (
        "def f():\n"
        "    tmp = 1\n"
        "    for i in range(3):\n"
        "        tmp += i\n"
        "    import math\n"
        "    try:\n"
        "        pass\n"
        "    except Exception as e:\n"
        "        print(e)\n"
        "    return tmp + math.pi\n"
    )
    assert late(source) == ["range", "Exception", "print"]


def test_a_name_assigned_anywhere_in_a_function_is_local():
    assert late("def f():\n    print(x)\n    x = 1\n") == ["print"]


def test_decorators_and_defaults_are_read_at_definition():
    source = "@decorate(option)\ndef f(a=default, *, b=kwdefault):\n    pass\n"
    assert reads(source) == ["decorate", "option", "default", "kwdefault"]
    assert late(source) == []


def test_closures_resolve_against_the_enclosing_function():
    source = "def outer():\n    k = 1\n    def inner():\n        return k + far\n    return inner\n"
    assert late(source) == ["far"]


def test_global_declaration_binds_at_top_level():
    source = "def reset():\n    global counter\n    counter = 0\n"
    assert writes(source) == ["reset", "counter"]
    assert late(source) == []


def test_lambda_body_is_a_late_read():
    source = "key = lambda row, scale=factor: row[col] * scale"
    assert reads(source) == ["factor"]
    assert late(source) == ["col"]
    assert writes(source) == ["key"]


def test_class_bases_are_read_and_body_is_late():
    source = (
        "class Model(Base, metaclass=Meta):\n"
        "    size = default_size\n"
        "    def predict(self, x):\n"
        "        return helper(x, self.size)\n"
    )
    f = facts(source)
    assert [r.name for r in f.reads] == ["Base", "Meta"]
    assert [r.name for r in f.late_reads] == ["default_size", "helper"]
    assert f.writes == ["Model"]


def test_async_functions():
    source = "async def fetch():\n    async for item in stream:\n        await handle(item)\n"
    assert writes(source) == ["fetch"]
    assert late(source) == ["stream", "handle"]


# --- imports ----------------------------------------------------------------------------------


def test_imports_bind_names_and_record_modules():
    source = (
        "import os.path\n"
        "import numpy as np\n"
        "from sklearn.metrics import f1_score as f1\n"
        "from . import local_helpers\n"
    )
    f = facts(source)
    assert f.writes == ["os", "np", "f1", "local_helpers"]
    assert f.modules == {"os", "numpy", "sklearn"}
    assert f.reads == []
    assert not f.star_import


def test_star_import_is_recorded():
    f = facts("from math import *\nv = sqrt(2)")
    assert f.star_import
    assert f.modules == {"math"}
    assert [r.name for r in f.reads] == ["sqrt"]


def test_imports_inside_functions_are_recorded():
    assert facts("def f():\n    import scipy.stats\n    return scipy.stats\n").modules == {"scipy"}


# --- IPython syntax ---------------------------------------------------------------------------


def test_line_magic_goes_through_ipythons_transformer():
    f = facts("%matplotlib inline\nx = 1")
    assert [r.name for r in f.reads] == ["get_ipython"]
    assert f.writes == ["x"]


def test_shell_escape():
    assert writes("!pip install --quiet foo\nz = 2") == ["z"]


def test_shell_assignment_binds_its_target():
    assert "getoutput('ls')" in to_python("files = !ls")
    f = facts("files = !ls\nprint(files)")
    assert f.writes == ["files"]
    assert [r.name for r in f.reads] == ["get_ipython", "print"]


@pytest.mark.parametrize(
    "source",
    ["%%time\ny = compute(x)", "%%prun -s cumulative\ny = compute(x)", "%%capture\ny = compute(x)"],
)
def test_timing_cell_magics_are_analysed_as_python(source):
    f = facts(source)
    assert [r.name for r in f.reads] == ["compute", "x"]
    assert f.writes == ["y"]


def test_timing_line_magics_are_analysed_as_python():
    assert writes("%time r = g(1)") == ["r"]
    assert reads("%time r = g(1)") == ["g"]
    assert reads("for i in range(2):\n    %time r = g(i)") == ["range", "g"]


@pytest.mark.parametrize(
    "source",
    [
        "%timeit -n 3 y = compute(x)",
        "%timeit -n1 -r1 -q y = compute(x)",
        "%timeit y = compute(x)",
        "%%timeit -n1 -r 1\ny = compute(x)",
        "%%timeit y = 0\ny = compute(x)",
    ],
)
def test_timeit_reads_what_it_times_and_binds_nothing(source):
    """%timeit runs its statement inside a function of its own: its names are read (options
    skipped), and what it assigns stays there, as in IPython."""
    f = facts(source)
    assert [r.name for r in f.late_reads] == ["compute", "x"]
    assert f.writes == []


@pytest.mark.parametrize(
    "source, magic", [("ls", "ls"), ("ls data", "ls"), ("pwd", "pwd"), ("cd ..", "cd")]
)
def test_automagic_in_a_cell_of_one_line_is_a_magic(source, magic):
    assert f"run_line_magic({magic!r}" in to_python(source)
    assert writes(source) == []


def test_automagic_needs_one_line_and_a_name_the_code_has_not_bound():
    assert "run_line_magic" not in to_python("ls = [1]\nls")
    assert "run_line_magic" not in to_python("x = 1\nls")
    assert "run_line_magic" not in to_python("df")
    assert reads("ls = 3") == []


def test_other_cell_magics_are_opaque():
    assert "run_cell_magic('bash'" in to_python("%%bash\necho $HOME")
    f = facts("%%bash\nresult=1\necho $result")
    assert f.writes == []
    assert [r.name for r in f.reads] == ["get_ipython"]


def test_capture_magic_binds_its_output_name():
    assert "cap" in writes("%%capture cap\nprint('hi')")


def test_plain_python_is_returned_unchanged():
    source = "x = 1  # a comment\n"
    assert to_python(source) == source


# --- errors -----------------------------------------------------------------------------------


@pytest.mark.parametrize("source", ["x = (", "def f(:\n    pass", "x = = 1", "print 'hi'"])
def test_invalid_python_is_a_code_error_naming_the_cell(source):
    with pytest.raises(CodeError) as info:
        parse(source, cell=5)
    assert info.value.cell == 5
    assert isinstance(info.value, Nb2PipeError)
    assert info.value.message.startswith("line ")


# --- several cells, known names, shown names ---------------------------------------------------


def test_reads_remember_the_cell_they_first_happen_in():
    f = analyse([("a = x", 3), ("b = a + y + x", 4)])
    assert [(r.name, r.cell) for r in f.reads] == [("x", 3), ("y", 4)]
    assert f.writes == ["a", "x", "b"]  # `a = x`: one object, saved with a


def test_known_names_are_not_reads():
    assert reads("df = pd.read_csv(path)", known={"pd"}) == ["path"]


def test_shown_names():
    f = facts("print(acc)\ndisplay(f1)\nloss\nprecision, recall\nprint(f'{acc:.2f}')\nx.y")
    assert f.shown == ["acc", "f1", "loss", "precision", "recall"]


def test_name_analyser_accumulates_over_cells():
    analyser = NameAnalyser()
    analyser.add_cell("import numpy as np", 1)
    analyser.add_cell("x = np.arange(n)", 2)
    assert [r.name for r in analyser.facts.reads] == ["n"]
    assert analyser.facts.writes == ["np", "x"]


def test_kernel_names_are_builtins():
    for name in ["print", "len", "display", "get_ipython", "In", "Out", "__name__"]:
        assert name in BUILTIN_NAMES


# --- in-place changes, deletions, and what calls do (effects.py) -------------------------------


@pytest.mark.parametrize(
    "source",
    [
        "df.dropna(inplace=True)",
        "df['a'].fillna(0, inplace=True)",
        "names.append(1)",
        "model.fit(X, y)",
        "pipe.named_steps['clf'].fit(X, y)",
        "obj.custom_method()",
        "rng.normal()",
        "np.copyto(df, other)",
        "np.add(a, b, out=df)",
    ],
)
def test_calls_that_may_change_an_object(source):
    f = analyse([("import numpy as np\n" + source, 1)])
    changed = set(f.changed)
    assert changed & {"df", "names", "model", "pipe", "obj", "rng"}, source


@pytest.mark.parametrize(
    "source",
    [
        "df.head()",
        "df.describe()",
        "df.groupby('k').agg('mean').reset_index()",
        "df['a'].sum()",
        "df.drop(columns='a')",
        "model.predict(X)",
        "print(df)",
        "len(names)",
        "df.plot()",
    ],
)
def test_calls_that_only_read(source):
    assert facts(source).changed == {}


def test_a_module_is_never_changed_data_but_a_setting():
    f = analyse(
        [("import pandas as pd\npd.options.display.max_rows = 5\npd.set_option('a', 1)", 1)]
    )
    assert f.changed == {}
    assert [s.source for s in f.settings] == [
        "pd.options.display.max_rows = 5",
        "pd.set_option('a', 1)",
    ]


def test_a_function_that_changes_its_argument_or_a_global():
    f = facts(
        "def add(frame, value=1):\n    frame['f'] = value\n"
        "def bump():\n    counts['k'] += 1\n"
        "add(df)\nbump()"
    )
    assert f.functions["add"].changes_params == {"frame"}
    assert f.functions["bump"].changes_globals == {"counts"}
    assert set(f.changed) == {"df", "counts"}


def test_del_of_a_whole_name_is_a_deletion():
    f = facts("del x")
    assert f.deleted == {"x": 1}
    assert facts("del x\nx = 2").deleted == {}


def test_random_state_seeds_and_draws():
    seeded = analyse([("import numpy as np\nnp.random.seed(0)", 1)])
    assert seeded.seeds_random and not seeded.draws_random
    drawn = analyse([("import random\nx = random.random()", 1)])
    assert drawn.draws_random and not drawn.seeds_random
    own = analyse([("import numpy as np\nrng = np.random.default_rng(0)\nx = rng.random()", 1)])
    assert not own.draws_random
    explicit = analyse([("from sklearn.svm import SVC\nm = SVC(random_state=0)", 1)])
    assert not explicit.draws_random


def test_values_that_cannot_be_saved_are_noted_with_their_cell():
    f = analyse([("import threading\nlock = threading.Lock()", 4)])
    assert f.unpassable == {"lock": ("a lock", 4)}
    assert analyse([("lock = 1", 5)]).unpassable == {}


def test_imported_names_remember_their_import_statement():
    f = facts("import numpy as np\nfrom os import path as p")
    assert f.imported == {"np": "import numpy as np", "p": "from os import path as p"}
    assert f.origins == {"np": "numpy", "p": "os.path"}


def test_a_function_body_read_of_a_name_bound_earlier_is_not_a_late_read():
    assert late("x = 1\ndef f():\n    return x + y\n") == ["y"]


def test_huge_cells_are_refused_before_parsing():
    with pytest.raises(CodeError, match="too large to analyse"):
        parse("x = 1\n" * 100_000, cell=3)


@pytest.mark.parametrize(
    "source, produced",
    [
        ("y = x", True),
        ("y = x[:2]", True),
        ("y = x[1:, 0]", True),
        ("y = x.T", True),
        ("y = x.reshape(-1)", True),
        ("y = x[0]", False),
        ("y = x['a']", False),
        ("y = x.copy()", False),
        ("y = f(x)", False),
    ],
)
def test_another_name_or_a_view_of_an_input_produces_the_input_too(source, produced):
    """So a later step that reads both gets one object, a view of its base."""
    assert ("x" in writes(source)) is produced
