import pytest

from nb2pipe.compile.parameters import Param, coerce, parse_parameters
from nb2pipe.errors import Nb2PipeError, ParameterError


def one(source: str) -> Param:
    (param,) = parse_parameters(source)
    return param


# --- values keep their types ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "value", "type_"),
    [
        ("x = 3", 3, "int"),
        ("x = -3", -3, "int"),
        ("x = 0.25", 0.25, "float"),
        ("x = -1.5e-3", -1.5e-3, "float"),
        ("x = 1_000", 1000, "int"),
        ("x = True", True, "bool"),
        ("x = False", False, "bool"),
        ("x = None", None, "None"),
        ("x = 'text'", "text", "str"),
        ('x = "with # hash"', "with # hash", "str"),
        ("x = b'raw'", b"raw", "bytes"),
        ("x = 1+2j", 1 + 2j, "complex"),
        ("x = [1, 2.5, 'a']", [1, 2.5, "a"], "list"),
        ("x = {'a': 1, 'b': [-1, 2]}", {"a": 1, "b": [-1, 2]}, "dict"),
        ("x = (1, -2)", (1, -2), "tuple"),
        ("x = 1, 2", (1, 2), "tuple"),
        ("x = ()", (), "tuple"),
        ("x = {3, 1}", {1, 3}, "set"),
        ("x = set()", set(), "set"),
        ("x = [\n    'a',\n    'b',\n]", ["a", "b"], "list"),
    ],
)
def test_literal_values_and_types(source, value, type_):
    param = one(source)
    assert param.name == "x"
    assert param.value == value
    assert type(param.value) is type(value)
    assert param.type == type_


def test_parameters_keep_their_order():
    params = parse_parameters("b = 1\na = 2\nc = 3\n")
    assert [p.name for p in params] == ["b", "a", "c"]


def test_a_name_assigned_twice_keeps_the_last_value():
    params = parse_parameters("a = 1\nb = 2\na = 3\n")
    assert [(p.name, p.value) for p in params] == [("a", 3), ("b", 2)]


def test_empty_cell_and_notes_give_no_parameters():
    assert parse_parameters("") == []
    assert parse_parameters("# nothing here\n\n") == []
    assert parse_parameters('"""Parameters of the run."""\nx = 1') == [Param("x", 1, "int")]


def test_several_assignments_on_one_line():
    params = parse_parameters("a = 1; b = 'two'")
    assert [(p.name, p.value) for p in params] == [("a", 1), ("b", "two")]


# --- comments ---------------------------------------------------------------------------------


def test_trailing_comment():
    assert one("test_size = 0.25  # fraction held out").comment == "fraction held out"


def test_comment_on_the_line_above():
    assert one("# seed of every random thing\nseed = 42").comment == "seed of every random thing"


def test_trailing_comment_wins_over_the_line_above():
    assert one("# above\nseed = 42  # trailing").comment == "trailing"


def test_trailing_comment_of_the_previous_line_is_not_taken():
    params = parse_parameters("a = 1  # about a\nb = 2\n")
    assert [p.comment for p in params] == ["about a", ""]


def test_comment_separated_by_a_blank_line_is_not_taken():
    assert one("# Section\n\nx = 1").comment == ""


def test_hash_inside_a_string_is_not_a_comment():
    param = one('colour = "#ff0000"')
    assert (param.value, param.comment) == ("#ff0000", "")
    param = one('colour = "#ff0000"  # the real one')
    assert (param.value, param.comment) == ("#ff0000", "the real one")


def test_trailing_comment_of_a_multi_line_value_is_on_its_last_line():
    assert one("layers = [\n    64,\n    32,\n]  # hidden sizes").comment == "hidden sizes"


# --- annotations ------------------------------------------------------------------------------


def test_annotations_are_kept():
    param = one("epochs: int = 10  # passes over the data")
    assert (param.name, param.value, param.type) == ("epochs", 10, "int")
    assert param.annotation == "int"
    assert param.comment == "passes over the data"
    assert param.source() == "epochs: int = 10  # passes over the data"


def test_complex_annotation():
    param = one("sizes: list[int] = [1, 2]")
    assert param.annotation == "list[int]"
    assert param.source() == "sizes: list[int] = [1, 2]"


# --- the source line written into step notebooks ----------------------------------------------


@pytest.mark.parametrize(
    "source",
    [
        "x = 3",
        "x = -0.5",
        "x = 'it''s'",
        "x = (1, -2)",
        "x = {'a': [1, None]}",
        "x = True  # note",
        "x: float = 0.1",
    ],
)
def test_source_round_trips(source):
    param = one(source)
    again = one(param.source())
    assert again == param


def test_source_form():
    assert Param("lr", 0.1, "float", "learning rate").source() == "lr = 0.1  # learning rate"
    assert Param("name", "x", "str").source() == "name = 'x'"


# --- errors -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "words"),
    [
        ("x = foo()", "parameter 'x' is not a constant expression: `foo()`"),
        ("x = float('nan')", "parameter 'x' is not a constant expression"),
        ("x = other_name", "parameter 'x' is not a constant expression: `other_name`"),
        ("x = np.pi", "not a constant expression: `np.pi`"),
        ("x = 1 + 2", "not a constant expression: `1 + 2`"),
        ("x = [i for i in range(3)]", "not a constant expression"),
        ("x = f'{y}'", "not a constant expression"),
        ("import os", "only assignments of literal values belong in the parameters cell"),
        ("from math import pi", "only assignments of literal values"),
        ("print('hi')", "only assignments of literal values"),
        ("x += 1", "only assignments of literal values"),
        ("a = b = 1", "only assignments of literal values"),
        ("x: int", "only assignments of literal values"),
        ("if True:\n    x = 1", "only assignments of literal values"),
        ("a, b = 1, 2", "assign one plain name per line, not `(a, b)`"),
        ("[a, b] = [1, 2]", "assign one plain name per line"),
        ("config.x = 1", "assign one plain name per line, not `config.x`"),
        ("d['k'] = 1", "assign one plain name per line"),
        ("x = (", "parameters cell is not valid Python (line 1"),
        ("%env A=1", "parameters cell is not valid Python"),
    ],
)
def test_not_a_literal_assignment_is_a_parameter_error(source, words):
    with pytest.raises(ParameterError) as info:
        parse_parameters(source, cell=3)
    assert words in info.value.message
    assert info.value.cell == 3
    assert isinstance(info.value, Nb2PipeError)
    assert "\n" not in str(info.value)


def test_error_names_the_line():
    with pytest.raises(ParameterError, match="line 3: only assignments"):
        parse_parameters("a = 1\nb = 2\nimport os\n", cell=1)


def test_long_expression_is_shortened_in_the_message():
    with pytest.raises(ParameterError) as info:
        parse_parameters("x = " + " + ".join(f"f({i})" for i in range(40)), cell=1)
    assert "…" in info.value.message
    assert len(info.value.message) < 200


# --- command-line values ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("param", "raw", "value"),
    [
        (Param("n", 3, "int"), "5", 5),
        (Param("n", 3, "int"), "-5", -5),
        (Param("lr", 0.1, "float"), "0.5", 0.5),
        (Param("lr", 0.1, "float"), "1", 1.0),
        (Param("name", "a", "str"), "hello world", "hello world"),
        (Param("name", "a", "str"), "5", "5"),
        (Param("flag", True, "bool"), "False", False),
        (Param("sizes", [1], "list"), "[1, 2]", [1, 2]),
        (Param("shape", (1, 2), "tuple"), "(3, 4)", (3, 4)),
        (Param("maybe", None, "None"), "7", 7),
        # papermill's conventions: a None default takes any value, typed as papermill types it
        (Param("msg", None, "None"), "hello", "hello"),
        (Param("msg", None, "None"), "1.5", 1.5),
        (Param("msg", None, "None"), "true", True),
        (Param("msg", None, "None"), "[1, 2]", [1, 2]),
        (Param("flag", False, "bool"), "true", True),
        (Param("flag", True, "bool"), "0", False),
        (Param("flag", False, "bool"), "1", True),
        (Param("name", "a", "str"), "None", None),  # papermill's spelling of None
        (Param("n", 3, "int"), "None", None),
    ],
)
def test_coerce(param, raw, value):
    coerced = coerce(param, raw)
    assert coerced == value
    assert type(coerced) is type(value)


@pytest.mark.parametrize(
    ("param", "raw"),
    [
        (Param("n", 3, "int"), "five"),
        (Param("n", 3, "int"), "1.5"),
        (Param("lr", 0.1, "float"), "[1]"),
        (Param("flag", True, "bool"), "maybe"),
        (Param("sizes", [1], "list"), "(1,"),
    ],
)
def test_coerce_refuses_values_of_another_type(param, raw):
    with pytest.raises(ParameterError, match=f"parameter {param.name!r} expects an? {param.type}"):
        coerce(param, raw)
