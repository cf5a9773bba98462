"""`nb2pipe ci init`: a valid, deterministic workflow and pre-commit config; refusals in one line."""

from __future__ import annotations

import pytest
import yaml
from nbtestkit import code, nb2pipe, passing_notebook, write_notebook

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
