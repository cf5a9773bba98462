"""docs/team.md, run as written: its marked blocks, in order, in one shell, against throwaway
servers on 127.0.0.1 — a PostgreSQL cluster, moto's S3 server, the basic-auth tracking server
the page starts (4 workers), Apache Airflow, a Dask scheduler and worker. Only the settings
block is the test's own (same variable names, local values), so the page cannot drift from
what works.
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import pytest
from docpages import DOCS, ROOT, Block, exported_names, marked_blocks
from support.servers import HOST, free_port, log_tail
from support.team_store import (
    ACCESS_KEY,
    Missing,
    start_postgres,
    start_s3,
    stop_postgres,
    stop_process,
)

pytestmark = pytest.mark.slow

PAGE = DOCS / "team.md"
EXAMPLE = ROOT / "example_notebooks" / "breast_cancer_diagnosis.ipynb"
AIRFLOW_VENV = Path(os.environ.get("NB2PIPE_AIRFLOW_VENV", ROOT / ".cache" / "airflow-venv"))
WAIT = """\
python - "$1" <<'WAIT_EOF'
import socket, sys, time, urllib.request
target, deadline = sys.argv[1], time.monotonic() + 900
while True:
    try:
        if target.startswith("tcp://"):
            host, port = target[6:].rsplit(":", 1)
            socket.create_connection((host, int(port)), timeout=5).close()
        else:
            urllib.request.urlopen(target, timeout=10).close()
        break
    except OSError:
        if time.monotonic() > deadline:
            sys.exit(f"{target} did not answer in 15 minutes")
        time.sleep(1)
WAIT_EOF
"""


def test_the_page_marks_its_blocks_and_its_settings_are_the_tests():
    blocks = marked_blocks(PAGE)
    assert [b.mark for b in blocks][0] == "settings"
    assert {b.mark for b in blocks} == {"settings", "run", "background"}
    assert {b.language for b in blocks} == {"sh"}
    [settings] = [b for b in blocks if b.mark == "settings"]
    assert sorted(exported_names(settings.code)) == sorted(_settings(Path("/x"), 1, 2, 3, 4))


def test_the_airflow_install_line_is_the_version_the_tests_use():
    lock = (ROOT / "requirements" / "airflow.lock").read_text()
    text = PAGE.read_text()
    for package in ("apache-airflow", "apache-airflow-providers-cncf-kubernetes"):
        [pin] = [line for line in lock.splitlines() if line.startswith(f"{package}==")]
        assert f"'{pin}'" in text, pin
    version = next(line for line in lock.splitlines() if line.startswith("apache-airflow=="))
    assert f"constraints-{version.split('==')[1]}/constraints-3.11.txt" in text


def _settings(home: Path, db_port: int, s3_port: int, mlflow_port: int, dask_port: int) -> dict:
    return {
        "DB_HOST": HOST,
        "DB_PORT": str(db_port),
        "DB_PASSWORD": uuid.uuid4().hex,
        "S3_ENDPOINT": f"http://{HOST}:{s3_port}",
        "AWS_ACCESS_KEY_ID": ACCESS_KEY[0],
        "AWS_SECRET_ACCESS_KEY": ACCESS_KEY[1],
        "BUCKET": "mlflow-docs",
        "MLFLOW_HOME": str(home / "srv-mlflow"),
        "MLFLOW_HOST": HOST,
        "MLFLOW_PORT": str(mlflow_port),
        "MLFLOW_URL": f"http://{HOST}:{mlflow_port}",
        "ADMIN_PASSWORD": uuid.uuid4().hex,
        "CI_BOT_PASSWORD": uuid.uuid4().hex,
        "ANA_PASSWORD": uuid.uuid4().hex,
        "AIRFLOW_VENV": str(AIRFLOW_VENV),
        "AIRFLOW_HOME": str(home / "airflow"),
        "DASK_HOST": HOST,
        "DASK_PORT": str(dask_port),
    }


def script(blocks: list[Block], settings: dict, folder: Path) -> str:
    """The page's blocks as one bash script: settings replaced, backgrounds started in their
    own session (their pids in `folder`/pids) and waited for."""
    lines = ["set -euo pipefail", f"wait_for() {{\n{WAIT}}}"]
    for block in blocks:
        lines.append(f"echo '--- docs/team.md line {block.line} ({block.mark})'")
        if block.mark == "settings":
            lines += [f"export {k}={shlex.quote(v)}" for k, v in settings.items()]
        elif block.mark == "run":
            lines.append(block.code)
        else:
            log = folder / f"background-{block.line}.log"
            lines.append(
                f"setsid bash -c {shlex.quote('set -euo pipefail; ' + block.code)} "
                f"> {shlex.quote(str(log))} 2>&1 &\necho $! >> {shlex.quote(str(folder / 'pids'))}"
            )
            if block.until:
                lines.append(
                    f'wait_for "{block.until}" || {{ tail -40 {shlex.quote(str(log))}; exit 1; }}'
                )
    return "\n".join(lines) + "\n"


# Five servers, three pipeline runs and an Airflow DAG: past the suite's 300 s on a busy machine.
@pytest.mark.timeout(1800)
def test_the_team_set_up_runs_as_written(tmp_path):
    if not (AIRFLOW_VENV / "bin" / "airflow").is_file():
        _missing(
            f"Apache Airflow is not installed in {AIRFLOW_VENV}: run tests/exports/setup_airflow.sh"
        )
    try:
        postgres = start_postgres(user="postgres")  # the superuser the page's psql runs as
    except (Missing, RuntimeError) as problem:
        _missing(str(problem))
    s3 = start_s3(tmp_path)
    home = tmp_path / "home"
    project = home / "project"
    (project / "example_notebooks").mkdir(parents=True)
    (project / "pyproject.toml").write_text("[project]\nname = 'team'\n")
    (project / "example_notebooks" / EXAMPLE.name).write_bytes(EXAMPLE.read_bytes())
    settings = _settings(
        home, postgres.port, int(s3.url.rsplit(":", 1)[1]), free_port(), free_port()
    )
    text = script(marked_blocks(PAGE), settings, tmp_path)
    (tmp_path / "team.sh").write_text(text)
    runtime = tempfile.mkdtemp(prefix="nb2pipe-docs-")
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("MLFLOW_", "NB2PIPE_", "AWS_", "AIRFLOW", "VIRTUAL_ENV", "PG"))
    }
    env.update(
        HOME=str(home),
        PATH=f"{Path(sys.executable).parent}:{env['PATH']}",  # the project's environment, active
        PGHOST=HOST,  # where the database machine's own psql would find its cluster
        PGPORT=str(postgres.port),
        # Kernels talk over Unix sockets in Jupyter's runtime folder, whose path may not be
        # longer than 107 bytes: not under the long temporary HOME.
        JUPYTER_RUNTIME_DIR=runtime,
    )
    output = tmp_path / "team.log"
    try:
        with open(output, "wb") as log:
            done = subprocess.run(
                ["bash", str(tmp_path / "team.sh")],
                cwd=project,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                timeout=1700,
            )
        assert done.returncode == 0, _tails(tmp_path, output)
        _check_what_it_made(project, home, settings)
    finally:
        _stop_backgrounds(tmp_path / "pids")
        stop_process(s3.process)
        stop_postgres(postgres)
        shutil.rmtree(runtime, ignore_errors=True)


def _check_what_it_made(project: Path, home: Path, settings: dict) -> None:
    from mlflow.tracking import MlflowClient

    os.environ.update(
        MLFLOW_TRACKING_USERNAME="admin", MLFLOW_TRACKING_PASSWORD=settings["ADMIN_PASSWORD"]
    )
    try:
        client = MlflowClient(tracking_uri=settings["MLFLOW_URL"])
        version = client.get_model_version_by_alias("breast-cancer-diagnosis", "champion")
        assert str(version.version) == "1"
    finally:
        for key in ("MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD"):
            os.environ.pop(key, None)
    [airflow_run] = (home / "nb2pipe" / "runs").iterdir()  # the DAG run's shared folder
    assert (airflow_run / "evaluate" / "artifacts" / "manifest.json").is_file()
    metas = [
        json.loads(p.read_text()) for p in (project / ".nb2pipe" / "runs").glob("*/train/meta.json")
    ]
    assert any(str(m.get("worker", "")).startswith(f"tcp://{HOST}:") for m in metas), metas


def _stop_backgrounds(pids: Path) -> None:
    """SIGTERM to each background block's process group, SIGKILL to what is left after 20 s."""
    if not pids.exists():
        return
    groups = [int(pid) for pid in pids.read_text().split()]
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for group in groups:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(group, sig)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and any(map(_alive, groups)):
            time.sleep(0.5)


def _alive(group: int) -> bool:
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    return True


def _tails(folder: Path, output: Path) -> str:
    parts = [f"--- {output.name}\n{log_tail(output, 80)}"]
    parts += [
        f"--- {log.name}\n{log_tail(log, 40)}" for log in sorted(folder.glob("background-*.log"))
    ]
    return "\n".join(parts)


def _missing(reason: str) -> None:
    from support.servers import unavailable

    unavailable(reason)
