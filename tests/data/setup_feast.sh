#!/usr/bin/env bash
# Prepare Feast for the feature-store tests (idempotent; called by .ci/run).
#
# Feast 0.67 requires pandas<3 while jupyter-mlops pins pandas 3.1, so a team using Feast runs
# jupyter-mlops in an environment of its own: $NB2PIPE_FEAST_VENV (default .cache/feast-venv at
# the repository root), installed from requirements/feast.lock (our dependencies resolved beside
# feast: pandas 2.3, protobuf 7; no kfp, whose protobuf<7 conflicts) plus this checkout,
# editable. The tests run `nb2pipe` from there: pipeline, feature views, serving, all of it.
#
# Regenerate the lock after changing a version (the `dependencies` of pyproject.toml + feast):
#   python3 -c 'import tomllib; d = tomllib.load(open("pyproject.toml", "rb")); print("\n".join(d["project"]["dependencies"] + ["feast==0.67.0"]))' > /tmp/feast.in
#   python3 -m uv pip compile --python-version 3.11 --no-header /tmp/feast.in -o requirements/feast.lock
set -euo pipefail
cd "$(dirname "$0")/../.."

VENV=${NB2PIPE_FEAST_VENV:-.cache/feast-venv}
LOCK=requirements/feast.lock
STAMP=$VENV/.installed

if [ -f "$STAMP" ] && cmp -s "$LOCK" "$STAMP"; then
    echo "setup_feast: $VENV is up to date"
    exit 0
fi
python3 -m uv --version >/dev/null 2>&1 || python3 -m pip install --quiet uv
rm -rf "$VENV"
python3 -m uv venv --quiet --python python3 "$VENV"
python3 -m uv pip install --quiet --compile-bytecode --python "$VENV/bin/python" -r "$LOCK"
python3 -m uv pip install --quiet --python "$VENV/bin/python" --no-deps -e .
cp "$LOCK" "$STAMP"
echo "setup_feast: installed feast $("$VENV/bin/python" -c 'import feast; print(feast.__version__)') into $VENV"
