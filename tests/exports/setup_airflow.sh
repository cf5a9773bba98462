#!/usr/bin/env bash
# Prepare Apache Airflow for the Airflow export tests (idempotent; called by .ci/run).
#
# Airflow pins much of what our own environment pins differently (SQLAlchemy, FastAPI,
# protobuf…), so it lives in its own virtual environment, $NB2PIPE_AIRFLOW_VENV (default
# .cache/airflow-venv at the repository root), installed from requirements/airflow.lock.
# The tests run `airflow dags test` from there; the DAG's tasks run the step notebooks with
# this repository's .venv (NB2PIPE_PYTHON), as a deployment's workers would with theirs.
#
# Regenerate the lock after changing the version:
#   python3 -m uv pip compile --python-version 3.11 --no-header - -o requirements/airflow.lock <<< $'apache-airflow==X\napache-airflow-providers-cncf-kubernetes==Y'
set -euo pipefail
cd "$(dirname "$0")/../.."

VENV=${NB2PIPE_AIRFLOW_VENV:-.cache/airflow-venv}
LOCK=requirements/airflow.lock
STAMP=$VENV/.installed

if [ -f "$STAMP" ] && cmp -s "$LOCK" "$STAMP"; then
    echo "setup_airflow: $VENV is up to date"
    exit 0
fi
python3 -m uv --version >/dev/null 2>&1 || python3 -m pip install --quiet uv
rm -rf "$VENV"
python3 -m uv venv --quiet --python python3 "$VENV"
python3 -m uv pip install --quiet --compile-bytecode --python "$VENV/bin/python" -r "$LOCK"
cp "$LOCK" "$STAMP"
echo "setup_airflow: installed $("$VENV/bin/airflow" version) into $VENV"
