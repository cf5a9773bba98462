"""pipeline.yaml read back strictly: what `dump` could not have written is one error line, and
nothing a hand-edited file names can make a run write or delete outside its run folder."""

import json

import pytest
from nbfactory import code, write_notebook
from support.commands import no_tracking_env, run_script

from nb2pipe.compile import pipeline_file
from nb2pipe.compile.build import write_compiled
from nb2pipe.compile.compiler import compile_notebook
from nb2pipe.compile.pipeline_file import END, PipelineFileError


def cli(*args, cwd):
    return run_script("nb2pipe", *args, cwd=cwd, env=no_tracking_env(), timeout=120)


@pytest.fixture
def compiled(tmp_path):
    nb = write_notebook(
        tmp_path / "nb.ipynb",
        code("n = 2", "parameters"),
        code("a = list(range(n))", "step:first"),
        code("b = [x * 2 for x in a]", "step:second"),
    )
    write_compiled(compile_notebook(nb), tmp_path / "out", nb)
    return tmp_path / "out" / "pipeline.yaml"


def test_dump_and_load_round_trip(compiled):
    text = compiled.read_text()
    assert text.endswith(END)
    assert pipeline_file.dump(pipeline_file.load(text)) == text


EDITS = {
    "step named ..": ("name: second", "name: '..'", "bad step name '..'"),
    "step named a folder": ("name: second", "name: /tmp/some/folder", "bad step name"),
    "producer outside": ("producer: first", "producer: ../../x", "bad input 'a' from"),
    "unknown field": ("cache: false", "cache: false\n  shell: rm -rf /", None),
    "upstream missing": ("  - first\n  inputs:", "  - zeroth\n  inputs:", "upstream step 'zeroth'"),
    "wrong type": ("number: 3", "number: three", "bad cell number 'three'"),
    "parameter name": ("- name: n\n", '- name: "n\\ninjected: 1"\n', "params[0]: a parameter"),
    "parameter type": ("type: int", 'type: "int\\ninjected: 1"', "params[0]: a parameter"),
}


@pytest.mark.parametrize("case", sorted(EDITS))
def test_a_hand_edited_file_is_one_error(compiled, case):
    old, new, message = EDITS[case]
    text = compiled.read_text()
    if old not in text:  # the step has no such field: add it where the edit expects it
        text = text.replace("- name: second", "- name: second\n  cache: false")
    edited = text.replace(old, new, 1)
    assert edited != text, case
    with pytest.raises(PipelineFileError) as info:
        pipeline_file.load(edited)
    if message:
        assert message in str(info.value)


def test_a_truncated_file_is_refused(compiled):
    text = compiled.read_text()
    with pytest.raises(PipelineFileError, match="incomplete"):
        pipeline_file.load(text[: len(text) // 2])
    with pytest.raises(PipelineFileError, match="incomplete"):
        pipeline_file.load(text[: text.index("- name: second")] + "\n")


def test_running_a_bad_file_deletes_nothing(compiled, tmp_path):
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "keep.txt").write_text("precious")
    runs = tmp_path / "out" / ".nb2pipe"
    text = compiled.read_text()
    for name in ["'..'", str(victim), "'../../victim'"]:
        compiled.write_text(text.replace("name: second", f"name: {name}", 1))
        result = cli("run", compiled, "--workspace", runs, cwd=tmp_path)
        assert result.returncode == 2, result.stderr
        [line] = result.stderr.strip().splitlines()
        assert line.startswith(f"error: {compiled}: ") and "bad step name" in line
        assert (victim / "keep.txt").read_text() == "precious"
    compiled.write_text(text[: len(text) * 2 // 3])
    result = cli("run", compiled, "--workspace", runs, cwd=tmp_path)
    assert result.returncode == 2 and "incomplete" in result.stderr
    assert not (runs / "runs").exists() or not any((runs / "runs").iterdir())


# --- where `source` may lead: the run's workspace and kernels are found from it ---------------


@pytest.fixture
def project(tmp_path):
    """A project (pyproject.toml) with a notebook compiled into out/; beside it, outside the
    project, a copy of the notebook."""
    root = tmp_path / "project"
    root.mkdir()
    (root / "pyproject.toml").write_text("[project]\nname = 'p'\n")
    nb = write_notebook(
        root / "nb.ipynb", code("n = 2", "parameters"), code("a = list(range(n))", "step:first")
    )
    write_compiled(compile_notebook(nb), root / "out", nb)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "nb.ipynb").write_bytes(nb.read_bytes())
    return root / "out" / "pipeline.yaml"


def _workspaces(folder):
    return sorted(str(p) for p in folder.rglob(".nb2pipe"))


SOURCES = {
    "absolute, to a notebook outside": lambda tmp: str(tmp / "outside" / "nb.ipynb"),
    "absolute, to no file": lambda tmp: str(tmp / "system" / "folder" / "nb.ipynb"),
    "../.. to a notebook outside": lambda tmp: "../../outside/nb.ipynb",
    "../.. to no file": lambda tmp: "../../../../nowhere/deeper/nb.ipynb",
    "a link to a notebook outside": lambda tmp: "../link.ipynb",
    "through a linked folder": lambda tmp: "../linked/nb.ipynb",
    "no such notebook in the project": lambda tmp: "../gone.ipynb",
    "the project folder itself": lambda tmp: "..",
    "a file of the project that is no notebook": lambda tmp: "../pyproject.toml",
}


@pytest.mark.parametrize("case", sorted(SOURCES))
def test_a_source_outside_the_project_is_one_error_and_writes_nothing(project, tmp_path, case):
    root = project.parents[1]
    (root / "link.ipynb").symlink_to(tmp_path / "outside" / "nb.ipynb")
    (root / "linked").symlink_to(tmp_path / "outside", target_is_directory=True)
    text = project.read_text()
    source = SOURCES[case](tmp_path)
    edited = text.replace("source: ../nb.ipynb\n", f"source: {json.dumps(source)}\n", 1)
    assert edited != text
    project.write_text(edited)
    before = sorted(p for p in tmp_path.rglob("*"))
    for command in ("run", "status"):
        result = cli(command, project, cwd=tmp_path)
        assert result.returncode == 2, (command, result.stdout, result.stderr)
        [line] = result.stderr.strip().splitlines()
        assert line.startswith(f"error: {project}: source "), line
    assert _workspaces(tmp_path) == []
    assert sorted(p for p in tmp_path.rglob("*")) == before


def test_a_source_inside_the_project_runs(project):
    result = cli("run", project, cwd=project.parent)
    assert result.returncode == 0, result.stderr
    assert _workspaces(project.parents[1]) == [str(project.parents[1] / ".nb2pipe")]


# --- a key given twice: `compile` never writes one ------------------------------------------

TWICE = {
    "pipeline name": ("name: nb\n", "name: nb\nname: other\n"),
    "params": ("params:\n", "params: []\nparams:\n"),
    "a step's cache": ("- name: second\n", "- name: second\n  cache: false\n  cache: true\n"),
    "a cell's kind": ("    kind: code\n", "    kind: code\n    kind: markdown\n"),
    "a parameter's value": ("  value: 2\n", "  value: 2\n  value: 3\n"),
}


@pytest.mark.parametrize("case", sorted(TWICE))
def test_a_key_given_twice_is_one_error(compiled, tmp_path, case):
    old, new = TWICE[case]
    text = compiled.read_text()
    assert old in text, case
    edited = text.replace(old, new, 1)
    with pytest.raises(PipelineFileError, match="is given twice"):
        pipeline_file.load(edited)
    compiled.write_text(edited)
    result = cli("run", compiled, cwd=tmp_path)
    assert result.returncode == 2, result.stdout
    [line] = result.stderr.strip().splitlines()
    assert line.startswith(f"error: {compiled}: pipeline.yaml is not valid YAML (line ")
    assert "is given twice" in line
    assert _workspaces(tmp_path) == []


def _alias_bomb(levels: int = 9) -> str:
    """A flow list of 9 items, each the one before: 9**levels strings in a few hundred bytes."""
    flow = "&a0 [" + ",".join(["lol"] * 9) + "]"
    for level in range(1, levels):
        flow = f"&a{level} [" + ",".join([flow] + [f"*a{level - 1}"] * 8) + "]"
    return flow


def test_an_alias_is_one_error_not_a_billion_items(compiled, tmp_path):
    text = compiled.read_text()
    edited = text.replace("  value: 2\n  type: int\n", f"  value: {_alias_bomb()}\n  type: list\n")
    assert edited != text and len(edited) < len(text) + 1000
    compiled.write_text(edited)
    result = cli("run", compiled, cwd=tmp_path)  # it never ends without the refusal
    assert result.returncode == 2, result.stdout
    [line] = result.stderr.strip().splitlines()
    assert line.endswith("an alias (*a0) is not allowed)"), line
    assert _workspaces(tmp_path) == []


def test_a_name_or_image_that_compile_cannot_write_is_refused(compiled):
    text = compiled.read_text()
    for old, new, message in [
        ("name: nb\n", "name: ../../evil\n", "pipeline name: bad value"),
        ("- name: second\n", '- name: second\n  image: "python\\nRUN evil"\n', "image: bad value"),
        ("- name: second\n", '- name: second\n  requirements: ["x\\n--index-url=e"]\n', "bad"),
        (
            "- name: second\n",
            '- name: second\n  resources: {cpu: "1\\nx"}\n',
            "resources.cpu: bad value",
        ),
    ]:
        with pytest.raises(PipelineFileError, match=message):
            pipeline_file.load(text.replace(old, new, 1))


# Strings where libyaml's emitter and PyYAML's pure-Python one write different bytes (tabs,
# characters beyond the BMP, lines ending in spaces, leading blank lines), and ones where they
# agree (indented code, accents, CJK).
AWKWARD = [
    "def f(x):\n    return x  # é 中\n",
    "y = 1\t# a tab",
    "s = '" + "word " * 30 + "'\t# a long line with a tab, folded differently",
    "z = '😀'",
    "w = 2  \nv = 3",
    "\n\nu = 4",
    "t = 'a\\rb'  # text with \x85 in it",
]


@pytest.mark.parametrize("source", AWKWARD)
def test_pipeline_yaml_is_the_same_bytes_with_or_without_libyaml(tmp_path, monkeypatch, source):
    import yaml

    nb = write_notebook(
        tmp_path / "nb.ipynb",
        code("n = 2", "parameters"),
        code("a = n", "step:first"),
        code(source, "step:second"),
        code("b = a", "step:third"),
    )
    pipeline = compile_notebook(nb)
    fast = pipeline_file.dump(pipeline)
    monkeypatch.delattr(yaml, "CSafeDumper")
    monkeypatch.delattr(yaml, "CSafeLoader")
    assert pipeline_file.dump(pipeline) == fast
    assert pipeline_file.dump(pipeline_file.load(fast)) == fast
