"""pipeline.yaml read back strictly: what `dump` could not have written is one error line, and
nothing a hand-edited file names can make a run write or delete outside its run folder."""

import pytest
from commands import no_tracking_env, run_script
from nbfactory import code, write_notebook

from nb2pipe import pipeline_file
from nb2pipe.build import write_compiled
from nb2pipe.compile import compile_notebook
from nb2pipe.pipeline_file import END, PipelineFileError


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
