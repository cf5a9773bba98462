"""`nb2pipe ci init`: a valid, deterministic workflow and pre-commit config; refusals in one line."""

from __future__ import annotations

import re
import shlex

import pytest
import yaml
from nbtestkit import code, nb2pipe, passing_notebook, write_notebook
from support.workflows import (
    INJECTIONS,
    REFUSED,
    github_scripts,
    gitlab_scripts,
    pwned,
    run_scripts,
)

WORKFLOW = ".github/workflows/nb2pipe.yml"
GITLAB = ".gitlab-ci.yml"
PRE_COMMIT = ".pre-commit-config.yaml"


@pytest.fixture
def project(tmp_path):
    """A project with two pipeline notebooks, one untagged notebook and a requirements file."""
    passing_notebook(tmp_path / "notebooks", name="train_model.ipynb")
    write_notebook(
        tmp_path / "notebooks" / "report.ipynb",
        code("x = 1", "step:load"),
        code(
            "import jupyter_mlops\n"
            "model = x\n"
            "jupyter_mlops.publish_model(model, 'report-model', metric='score')",
            "step:publish",
        ),
        code("score = 1.0", "metrics"),
    )
    write_notebook(tmp_path / "scratch" / "explore.ipynb", code("1 + 1"))
    write_notebook(tmp_path / ".ipynb_checkpoints" / "old.ipynb", code("x = 1", "step:old"))
    (tmp_path / "requirements.txt").write_text("numpy\n")
    return tmp_path


def load(path):
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def test_github_workflow(project):
    out = nb2pipe("ci", "init", cwd=project)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == [f"wrote {WORKFLOW}", f"wrote {PRE_COMMIT}"]
    workflow = load(project / WORKFLOW)
    triggers = workflow.get("on", workflow.get(True))  # YAML 1.1 reads a bare `on` as True
    assert set(triggers) == {"push", "pull_request", "workflow_dispatch"}
    jobs = workflow["jobs"]
    assert list(jobs) == ["check", "test", "pipeline", "model-gate", "publish"]
    assert [jobs[j].get("needs") for j in jobs] == [
        None,
        "check",
        "test",
        "pipeline",
        "model-gate",
    ]
    publish_if = jobs["publish"]["if"]
    assert "github.ref == 'refs/heads/main'" in publish_if
    assert "github.event_name == 'push'" in publish_if
    assert "refs/heads/main" not in str(jobs["model-gate"].get("if"))

    def commands(job):
        return "\n".join(step.get("run", "") for step in jobs[job]["steps"])

    nbs = ["notebooks/report.ipynb", "notebooks/train_model.ipynb"]  # sorted; no scratch
    assert [line for line in commands("check").splitlines() if "nb2pipe" in line] == [
        f"nb2pipe check {nb}" for nb in nbs
    ]
    assert (
        f"nb2pipe test {nbs[0]} {nbs[1]} --junit-xml reports/nb2pipe-test.xml "
        "--workspace reports/test-runs"
    ) in commands("test")
    assert f"nb2pipe run {nbs[1]} --workspace reports/runs" in commands("pipeline")
    # The gate and publish name the model the notebook publishes, and its metric; else the
    # pipeline's name and its first asserted metric.
    gate = commands("model-gate")
    assert "nb2pipe promote report-model --metric score --dry-run" in gate
    assert "nb2pipe promote train-model --metric total --dry-run" in gate
    assert "nb2pipe promote report-model --metric score\n" in commands("publish") + "\n"
    for job in jobs.values():
        assert job["steps"][0] == {"uses": "actions/checkout@v4"}
        install = job["steps"][2]["run"]
        assert "pip install -r requirements.txt" in install
        assert "pip install jupyter-mlops" in install
    assert "${{ vars.MLFLOW_TRACKING_URI }}" in (project / WORKFLOW).read_text()


def test_pre_commit_config(project):
    assert nb2pipe("ci", "init", cwd=project).returncode == 0
    repos = load(project / PRE_COMMIT)["repos"]
    strip, local = repos
    assert strip["repo"] == "https://github.com/kynan/nbstripout"
    assert [hook["id"] for hook in strip["hooks"]] == ["nbstripout"]
    assert local["repo"] == "local"
    assert [hook["entry"] for hook in local["hooks"]] == [
        "nb2pipe check notebooks/report.ipynb",
        "nb2pipe check notebooks/train_model.ipynb",
    ]
    hook = local["hooks"][1]
    assert hook["id"] == "nb2pipe-check-train-model"
    assert hook["language"] == "system"
    assert hook["files"] == r"^notebooks/train_model\.ipynb$"
    assert hook["pass_filenames"] is False


def test_gitlab_pipeline(project):
    out = nb2pipe("ci", "init", "--provider", "gitlab", "--notebook",
                  "notebooks/train_model.ipynb", cwd=project)  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert not (project / WORKFLOW).exists()
    pipeline = load(project / GITLAB)
    assert pipeline["stages"] == ["check", "test", "pipeline", "gate", "publish"]
    for job in ("check", "test", "pipeline", "model-gate", "publish"):
        assert pipeline[job]["script"], job
    assert pipeline["test"]["artifacts"]["reports"]["junit"] == "reports/nb2pipe-test.xml"
    assert pipeline["publish"]["rules"] == [
        {"if": '$CI_COMMIT_BRANCH == "main" && $MLFLOW_TRACKING_URI'}
    ]
    assert pipeline["check"]["script"] == ["nb2pipe check notebooks/train_model.ipynb"]


def test_output_is_deterministic(project, tmp_path_factory):
    assert nb2pipe("ci", "init", cwd=project).returncode == 0
    first = {p: (project / p).read_bytes() for p in (WORKFLOW, PRE_COMMIT)}
    assert nb2pipe("ci", "init", "--force", cwd=project).returncode == 0
    assert {p: (project / p).read_bytes() for p in first} == first


def one_error(out) -> str:
    assert out.returncode == 2, (out.stdout, out.stderr)
    assert out.stdout == ""
    assert len(out.stderr.splitlines()) == 1, out.stderr
    return out.stderr.strip()


def test_refuses_to_overwrite_without_force(project):
    (project / ".github" / "workflows").mkdir(parents=True)
    (project / WORKFLOW).write_text("name: mine\n")
    line = one_error(nb2pipe("ci", "init", cwd=project))
    assert line == f"error: {WORKFLOW} already exists (overwrite with --force)"
    assert (project / WORKFLOW).read_text() == "name: mine\n"
    assert not (project / PRE_COMMIT).exists()  # nothing half-written
    assert nb2pipe("ci", "init", "--force", cwd=project).returncode == 0
    assert load(project / WORKFLOW)["name"] == "nb2pipe"


def test_unknown_provider(project):
    line = one_error(nb2pipe("ci", "init", "--provider", "jenkins", cwd=project))
    assert line == "error: unknown provider 'jenkins' (github or gitlab)"


def test_missing_notebook(project):
    line = one_error(nb2pipe("ci", "init", "--notebook", "nope.ipynb", cwd=project))
    assert line == "error: nope.ipynb: no such file"
    assert not (project / PRE_COMMIT).exists()


def test_notebook_outside_the_project(project, tmp_path_factory):
    elsewhere = passing_notebook(tmp_path_factory.mktemp("elsewhere"))
    line = one_error(nb2pipe("ci", "init", "--notebook", elsewhere, cwd=project))
    assert line.startswith(f"error: --notebook {elsewhere}: outside the project folder")


def test_no_tagged_notebook(tmp_path):
    write_notebook(tmp_path / "explore.ipynb", code("1 + 1"))
    line = one_error(nb2pipe("ci", "init", cwd=tmp_path))
    assert line == (
        f"error: no tagged notebook under {tmp_path} (none has a step: tag); "
        "name one with --notebook"
    )


# --- values from paths and notebooks reach the shell as one argument, or are refused ----------


def injected_project(folder, name: str, model_source: str = "model = 1"):
    """A project whose only pipeline notebook is called `name` (in a subfolder)."""
    write_notebook(
        folder / "nbs" / name,
        code(model_source, "step:train"),
        code("score = 1.0", "metrics"),
    )
    return folder


@pytest.mark.parametrize("provider", ["github", "gitlab"])
@pytest.mark.parametrize("name", INJECTIONS)
def test_a_hostile_notebook_path_stays_one_argument(tmp_path, provider, name):
    project = injected_project(tmp_path / "project", name)
    out = nb2pipe("ci", "init", "--provider", provider, cwd=project)
    assert out.returncode == 0, out.stderr
    path = f"nbs/{name}"
    if provider == "github":
        scripts = github_scripts(load(project / WORKFLOW))
    else:
        scripts = gitlab_scripts(load(project / GITLAB))
    calls = run_scripts(scripts, tmp_path / "ci")
    assert [call[0] for call in calls] == ["check", "test", "run", "promote", "promote"]
    assert calls[0] == ["check", path]
    assert calls[1][:2] == ["test", path]
    assert calls[2] == ["run", path, "--workspace", "reports/runs"]
    assert calls[3][2:] == ["--metric", "score", "--dry-run"]
    assert calls[4][2:] == ["--metric", "score"]
    hooks = load(project / PRE_COMMIT)["repos"][1]["hooks"]
    # pre-commit splits `entry` like a shell (shlex) and runs it without one
    assert [shlex.split(h["entry"]) for h in hooks] == [["nb2pipe", "check", path]]
    assert re.fullmatch(hooks[0]["files"], path)
    assert not pwned(tmp_path)


@pytest.mark.parametrize("name", REFUSED)
def test_a_path_a_workflow_cannot_carry_is_refused_in_one_line(tmp_path, name):
    project = injected_project(tmp_path, name)
    line = one_error(nb2pipe("ci", "init", cwd=project))
    assert line.startswith("error: ") and "(rename it)" in line
    assert not (project / WORKFLOW).exists() and not (project / PRE_COMMIT).exists()


def test_the_model_name_is_read_from_the_call_never_from_a_comment(tmp_path):
    source = (
        "import jupyter_mlops\n"
        "model = 1\n"
        "# jupyter_mlops.publish_model(model, 'evil; touch pwned')\n"
        "text = \"publish_model(model, 'evil2; touch pwned')\"\n"
        "jupyter_mlops.publish_model(model, \"mo'del $(touch pwned)\", metric='score')"
    )
    project = injected_project(tmp_path / "project", "train.ipynb", source)
    assert nb2pipe("ci", "init", cwd=project).returncode == 0
    calls = run_scripts(github_scripts(load(project / WORKFLOW)), tmp_path / "ci")
    promotes = [call for call in calls if call[0] == "promote"]
    assert promotes == [
        ["promote", "mo'del $(touch pwned)", "--metric", "score", "--dry-run"],
        ["promote", "mo'del $(touch pwned)", "--metric", "score"],
    ]
    assert not pwned(tmp_path)


def test_a_model_name_only_in_a_comment_is_not_used(tmp_path):
    source = "model = 1\n# jupyter_mlops.publish_model(model, 'x; touch pwned', metric='score')"
    project = injected_project(tmp_path, "train.ipynb", source)
    assert nb2pipe("ci", "init", cwd=project).returncode == 0
    text = (project / WORKFLOW).read_text()
    assert "touch pwned" not in text
    assert "nb2pipe promote train --metric score --dry-run" in text  # the pipeline's name


def test_a_model_name_with_a_line_break_is_refused(tmp_path):
    source = "import jupyter_mlops\nmodel = 1\njupyter_mlops.publish_model(model, 'a\\nb')"
    project = injected_project(tmp_path, "train.ipynb", source)
    line = one_error(nb2pipe("ci", "init", cwd=project))
    assert line.startswith("error: nbs/train.ipynb: cell 1: publish_model's model name 'a\\nb'")
