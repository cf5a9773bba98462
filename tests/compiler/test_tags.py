import json

import pytest

from nb2pipe.compile.tag_table import grammar
from nb2pipe.compile.tags import (
    FLAGS,
    PREFIXES,
    ROLES,
    CellTags,
    Resources,
    parse_cell_tags,
)
from nb2pipe.errors import Nb2PipeError, TagError

# --- roles ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tag", "role"),
    [
        ("parameters", "parameters"),
        ("pipeline-parameters", "parameters"),  # Kale
        ("imports", "imports"),
        ("functions", "functions"),
        ("skip", "skip"),
        ("metrics", "metrics"),
        ("pipeline-metrics", "metrics"),  # Kale
    ],
)
def test_role_tags(tag, role):
    tags = parse_cell_tags([tag], cell=3)
    assert tags.role == role
    assert tags.step is None
    assert tags.foreign == []


def test_no_tags_mean_nothing():
    assert parse_cell_tags([]) == CellTags()


def test_tags_are_stripped_of_surrounding_spaces():
    assert parse_cell_tags([" step:load "]).step == "load"


# --- serve ---------------------------------------------------------------------------------


def test_serve_joins_a_step_start_or_plain_step_code():
    tags = parse_cell_tags(["step:features", "serve"])
    assert (tags.step, tags.serve, tags.serve_input, tags.role) == ("features", True, None, None)
    assert parse_cell_tags(["serve"]).serve
    named = parse_cell_tags(["serve:raw"])
    assert (named.serve, named.serve_input) == (True, "raw")


@pytest.mark.parametrize("role", ["parameters", "imports", "functions", "skip", "metrics"])
def test_a_role_cell_cannot_be_served(role):
    with pytest.raises(TagError, match=f"a '{role}' cell cannot be served") as caught:
        parse_cell_tags([role, "serve"], cell=4)
    assert caught.value.cell == 4


def test_features_names_the_entity_key_of_a_steps_feature_views():
    tags = parse_cell_tags(["step:drivers", "features:driver_id"])
    assert (tags.step, tags.features) == ("drivers", "driver_id")
    with pytest.raises(TagError, match="features:ENTITY names the entity's key column"):
        parse_cell_tags(["features:driver id"])
    assert parse_cell_tags(["features:driver_id"]).has_step_settings  # a step's, not a role's


def test_serve_names_a_variable_and_misspellings_are_caught():
    with pytest.raises(TagError, match=r"serve:NAME names a variable, e\.g\. serve:raw"):
        parse_cell_tags(["serve:2x"])
    with pytest.raises(TagError, match="did you mean 'serve'"):
        parse_cell_tags(["serv"])


# --- steps and edges --------------------------------------------------------------------------


@pytest.mark.parametrize("tag", ["step:load", "block:load"])
def test_step_start_in_both_dialects(tag):
    assert parse_cell_tags([tag]).step == "load"


@pytest.mark.parametrize("name", ["load", "_private", "step_2", "a"])
def test_valid_step_names(name):
    assert parse_cell_tags([f"step:{name}"]).step == name


def test_repeating_the_same_step_tag_is_harmless():
    assert parse_cell_tags(["step:load", "block:load"]).step == "load"


def test_metrics_may_join_a_step_start():
    tags = parse_cell_tags(["step:evaluate", "metrics"])
    assert (tags.step, tags.role) == ("evaluate", "metrics")
    tags = parse_cell_tags(["pipeline-metrics", "block:evaluate"])
    assert (tags.step, tags.role) == ("evaluate", "metrics")


@pytest.mark.parametrize(
    ("tags", "after"),
    [
        (["after:load"], ["load"]),
        (["after:load,clean"], ["load", "clean"]),
        (["after: load , clean ,"], ["load", "clean"]),
        (["prev:load"], ["load"]),  # Kale
        (["prev:load", "prev:clean"], ["load", "clean"]),  # Kale writes one prev: per parent
        (["after:load", "prev:load,clean"], ["load", "clean"]),
    ],
)
def test_after_and_prev(tags, after):
    assert parse_cell_tags(tags).after == after


# --- container, resources, policy -------------------------------------------------------------


def test_image_keeps_colons_of_the_reference():
    assert parse_cell_tags(["image:python:3.11-slim"]).image == "python:3.11-slim"
    ref = "ghcr.io/org/img@sha256:abc"
    assert parse_cell_tags([f"image:{ref}"]).image == ref


def test_requirements():
    tags = parse_cell_tags(["requirements:xgboost==2.1,pandas>=2", "requirements:scikit-learn"])
    assert tags.requirements == ["xgboost==2.1", "pandas>=2", "scikit-learn"]
    assert parse_cell_tags(["requirements:uvicorn[standard]~=0.30"]).requirements == [
        "uvicorn[standard]~=0.30"
    ]


@pytest.mark.parametrize(
    ("tag", "resources"),
    [
        ("cpu:2", Resources(cpu="2")),
        ("cpu:0.5", Resources(cpu="0.5")),
        ("cpu:500m", Resources(cpu="500m")),
        ("memory:1Gi", Resources(memory="1Gi")),
        ("memory:512Mi", Resources(memory="512Mi")),
        ("memory:2G", Resources(memory="2G")),
        ("memory:1073741824", Resources(memory="1073741824")),
        ("gpu:1", Resources(gpu=1)),
        ("gpu:0", Resources(gpu=0)),
        # Kale's limit:RESOURCE:AMOUNT
        ("limit:cpu:2", Resources(cpu="2")),
        ("limit:memory:1Gi", Resources(memory="1Gi")),
        ("limit:nvidia.com/gpu:1", Resources(gpu=1)),
        ("limit:amd.com/gpu:2", Resources(gpu=2)),
    ],
)
def test_resources(tag, resources):
    tags = parse_cell_tags([tag])
    assert tags.resources == resources
    assert tags.has_step_settings


def test_several_resources_on_one_cell():
    tags = parse_cell_tags(["cpu:2", "memory:4Gi", "limit:nvidia.com/gpu:1"])
    assert tags.resources == Resources(cpu="2", memory="4Gi", gpu=1)


@pytest.mark.parametrize(
    ("tag", "field", "value"),
    [
        ("cache:off", "cache", False),
        ("cache:on", "cache", True),
        ("cache:false", "cache", False),
        ("cache:OFF", "cache", False),
        ("retries:3", "retries", 3),
        ("retries:0", "retries", 0),
        ("timeout:600", "timeout", 600.0),
        ("timeout:1.5", "timeout", 1.5),
    ],
)
def test_policy(tag, field, value):
    tags = parse_cell_tags([tag])
    assert getattr(tags, field) == value
    assert tags.has_step_settings


def test_resources_merge_keeps_earlier_values_unless_overridden():
    resources = Resources(cpu="1", memory="1Gi")
    resources.merge(Resources(memory="2Gi", gpu=0))
    assert resources == Resources(cpu="1", memory="2Gi", gpu=0)
    resources.merge(Resources())
    assert resources == Resources(cpu="1", memory="2Gi", gpu=0)


def test_a_plain_step_start_has_no_step_settings():
    assert not parse_cell_tags(["step:load"]).has_step_settings
    assert not parse_cell_tags(["imports"]).has_step_settings


# --- bad values -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tag", "words"),
    [
        ("step:", "has no value"),
        ("step:Load", "bad step name 'Load'"),
        ("step:my-step", "bad step name 'my-step'"),
        ("step:1st", "bad step name '1st'"),
        ("block:Load Data", "bad step name"),
        ("after:Load", "bad step name 'Load'"),
        ("prev:a-b", "bad step name 'a-b'"),
        ("image:", "has no value"),
        ("requirements:not a package!", "bad requirement"),
        ("image:python:3.11\nRUN curl evil | sh", "bad image"),
        ("image:python 3.11", "bad image"),
        ("cpu:two", "cpu is a number of cores"),
        ("cpu:-1", "cpu is a number of cores"),
        ("memory:lots", "memory is a size"),
        ("memory:1GB", "memory is a size"),
        ("gpu:1.5", "gpu is a whole number"),
        ("gpu:one", "gpu is a whole number"),
        ("cache:maybe", "use cache:on or cache:off"),
        ("retries:-1", "retries is a whole number"),
        ("retries:x", "retries is a whole number"),
        ("timeout:0", "timeout is a number of seconds"),
        ("timeout:-5", "timeout is a number of seconds"),
        ("timeout:soon", "timeout is a number of seconds"),
        ("limit:2", "expected limit:RESOURCE:AMOUNT"),
        ("limit:disk:10Gi", "unknown resource 'disk'"),
        ("limit:memory:lots", "memory is a size"),
        ("limit:nvidia.com/gpu:half", "gpu is a whole number"),
    ],
)
def test_bad_values_are_tag_errors_naming_the_cell(tag, words):
    with pytest.raises(TagError) as info:
        parse_cell_tags([tag], cell=7)
    assert words in info.value.message
    assert info.value.cell == 7
    assert isinstance(info.value, Nb2PipeError)
    assert str(info.value).startswith("cell 7: ")


@pytest.mark.parametrize(
    ("name", "hint"),
    [
        ("Load", "'load'"),
        ("my-step", "'my_step'"),
        ("Train Model", "'train_model'"),
        ("1st", "'my_step'"),
    ],
)
def test_bad_step_name_suggests_an_identifier(name, hint):
    with pytest.raises(TagError, match=f"e.g. {hint}"):
        parse_cell_tags([f"step:{name}"])


@pytest.mark.parametrize("tag", ["timeout:nan", "timeout:inf", "timeout:1e999"])
def test_timeout_must_be_a_finite_number(tag):
    with pytest.raises(TagError, match="timeout is a number of seconds"):
        parse_cell_tags([tag], cell=1)


@pytest.mark.parametrize(
    ("tags", "words"),
    [
        (["step:a", "step:b"], "only one step"),
        (["step:a", "block:b"], "only one step"),
        (["parameters", "step:a"], "cannot also start step"),
        (["imports", "block:a"], "cannot also start step"),
        (["parameters", "imports"], "cannot be on the same cell"),
        (["imports", "functions"], "cannot be on the same cell"),
        (["skip", "pipeline-parameters"], "cannot be on the same cell"),
        (["metrics", "parameters"], "cannot be on the same cell"),
        (["parameters", "metrics"], "cannot be on the same cell"),
    ],
)
def test_conflicting_tags(tags, words):
    with pytest.raises(TagError, match=words):
        parse_cell_tags(tags, cell=2)


# --- misspellings and other tools' tags --------------------------------------------------------


@pytest.mark.parametrize(
    ("tag", "suggestion"),
    [
        ("stpe:load", "step:load"),
        ("Step:load", "step:load"),
        ("setp:load", "step:load"),
        ("aftr:load", "after:load"),
        ("afer:load", "after:load"),
        ("blok:load", "block:load"),
        ("imgae:python:3.11", "image:python:3.11"),
        ("memroy:1Gi", "memory:1Gi"),
        ("paramters", "parameters"),
        ("parameter", "parameters"),
        ("Parameters", "parameters"),
        ("imprts", "imports"),
        ("fuctions", "functions"),
        ("metric", "metrics"),
        ("pipeline-parameter", "pipeline-parameters"),
    ],
)
def test_misspelt_tag_is_an_error_with_a_suggestion(tag, suggestion):
    with pytest.raises(TagError) as info:
        parse_cell_tags([tag], cell=4)
    assert info.value.message == f"unknown tag {tag!r} (did you mean {suggestion!r}?)"
    assert info.value.cell == 4


@pytest.mark.parametrize(
    "tag",
    [
        "hide-input",
        "hide-output",
        "raises-exception",
        "remove-cell",
        "remove-input",
        "injected-parameters",
        "skip-execution",
        "nbval-ignore-output",
        "nbval-skip",
        "thebe-init",
        "my-own-tag",
        "slideshow:slide",
        "label:team=ml",  # Kale's label: is not ours
    ],
)
def test_foreign_tags_are_left_alone(tag):
    tags = parse_cell_tags([tag, "step:load"])
    assert tags.foreign == [tag]
    assert tags.step == "load"
    assert tags.role is None
    assert not tags.has_step_settings


def test_foreign_tags_keep_their_order_and_spelling():
    tags = parse_cell_tags(["remove-cell", "parameters", "hide-input", "injected-parameters"])
    assert tags.role == "parameters"
    assert tags.foreign == ["remove-cell", "hide-input", "injected-parameters"]


# --- grammar ----------------------------------------------------------------------------------

OURS = {
    "limit",
    "inputs",
    "outputs",
    "parameters",
    "imports",
    "functions",
    "skip",
    "metrics",
    "step",
    "after",
    "image",
    "requirements",
    "cpu",
    "memory",
    "gpu",
    "cache",
    "retries",
    "timeout",
    "serve",
    "features",
}


def test_grammar_lists_every_tag_of_ours_once():
    rows = grammar()
    names = [row["name"] for row in rows]
    assert sorted(names) == sorted(OURS)
    assert len(names) == len(set(names))


def test_grammar_rows_have_the_same_shape_and_are_json():
    rows = grammar()
    for row in rows:
        assert set(row) == {"name", "argument", "group", "meaning", "example", "aliases"}
        assert row["group"] in {
            "role", "step", "container", "resources", "policy", "files", "serving"
        }  # fmt: skip
        assert row["meaning"]
        assert isinstance(row["aliases"], list)
    assert json.loads(json.dumps(rows)) == rows


def test_grammar_roles_have_no_argument_and_prefixed_tags_do():
    for row in grammar():
        if row["name"] in ROLES or row["name"] in FLAGS:
            assert row["argument"] is None
            assert row["example"] == row["name"]
        else:
            assert row["name"] in PREFIXES
            assert row["argument"]
            assert row["example"].startswith(row["name"] + ":")


def test_every_grammar_example_parses():
    for row in grammar():
        parse_cell_tags([row["example"]], cell=1)


def test_grammar_aliases_are_kales_spellings_with_the_same_meaning():
    aliases = {row["name"]: row["aliases"] for row in grammar()}
    assert aliases["parameters"] == ["pipeline-parameters"]
    assert aliases["metrics"] == ["pipeline-metrics"]
    assert aliases["step"] == ["block"]
    assert aliases["after"] == ["prev"]
    for row in grammar():
        for alias in row["aliases"]:
            example = row["example"].replace(row["name"], alias, 1)
            assert parse_cell_tags([example]) == parse_cell_tags([row["example"]])


@pytest.mark.parametrize("tag", ["step", "block", "after", "prev"])
def test_a_bare_step_prefix_without_value_is_an_error(tag):
    with pytest.raises(TagError):
        parse_cell_tags([tag], cell=1)
