"""Running the shell scripts of generated CI workflows for real, with `nb2pipe` recorded.

A generated workflow is only safe if its scripts, run by bash as GitHub Actions and GitLab run
them, call nothing but nb2pipe, with each path or name as one argument. `run_scripts` runs
them in a scratch folder with an `nb2pipe` on PATH that only appends its argv (JSON) to a file;
everything else on PATH stays, so an injected `touch pwned` would really run.

Importable as `workflows` from any test module (tests/conftest.py puts tests/ on sys.path).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import yaml

# Strings that break out of an unquoted or double-quoted shell word, or out of a YAML scalar.
INJECTIONS = [
    "x$(touch pwned).ipynb",
    "x`touch pwned`.ipynb",
    "x; touch pwned.ipynb",
    "x' ; touch pwned ; echo '.ipynb",
    'x" ; touch pwned ; echo ".ipynb',
    "x && touch pwned #: y.ipynb",
    "x | touch pwned > y.ipynb",
    "-x $HOME *.ipynb",
]
# What a workflow cannot carry at all: refused with one line, exit 2.
REFUSED = ["x\ntouch pwned\n.ipynb", "x\rtouch pwned.ipynb", "x ${{ secrets.TOKEN }}.ipynb"]
REFUSED += ["x\x85touch pwned.ipynb", "x\u2028touch pwned.ipynb", "x\x1b[2Jtouch.ipynb"]

STUB = """#!{python}
import json, os, sys
with open(os.environ["NB2PIPE_CALLS"], "a", encoding="utf-8") as calls:
    calls.write(json.dumps(sys.argv[1:]) + "\\n")
"""


def load(path: Path):
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def github_scripts(workflow: dict) -> list[str]:
    """The `run:` scripts of every job of a GitHub workflow, but the installs (pip)."""
    return [
        step["run"]
        for job in workflow["jobs"].values()
        for step in job["steps"]
        if "run" in step and step.get("name") != "Install"
    ]


def gitlab_scripts(pipeline: dict) -> list[str]:
    """Each `script:` line of each GitLab job (every line runs in the job's shell)."""
    return [
        line for job in pipeline.values() if isinstance(job, dict) for line in job.get("script", [])
    ]


def run_scripts(scripts: list[str], folder: Path) -> list[list[str]]:
    """Run each script with bash (as CI does: -e, pipefail) in `folder`; return the argv of
    every nb2pipe call, in order. A script that fails fails the test."""
    folder.mkdir(parents=True, exist_ok=True)
    bin_dir = folder / ".stub-bin"
    bin_dir.mkdir(exist_ok=True)
    stub = bin_dir / "nb2pipe"
    stub.write_text(STUB.format(python=sys.executable), encoding="utf-8")
    stub.chmod(0o755)
    calls = folder / ".calls.jsonl"
    calls.write_text("", encoding="utf-8")
    env = {
        **os.environ,
        "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
        "NB2PIPE_CALLS": str(calls),
    }
    for index, script in enumerate(scripts):
        path = folder / f".script-{index}.sh"
        path.write_text(script, encoding="utf-8")
        done = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(path)],
            cwd=folder,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, (script, done.stdout, done.stderr)
    return [json.loads(line) for line in calls.read_text(encoding="utf-8").splitlines()]


def pwned(*folders: Path) -> list[Path]:
    """Files an injected command would have made."""
    return [p for folder in folders for p in folder.rglob("pwned*")]
