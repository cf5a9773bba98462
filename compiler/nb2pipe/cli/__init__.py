"""The `nb2pipe` command line: the CI door to the same engine the magics and sidebar use.

One module per family of commands (compiling, running, testing, exporting); other packages add
theirs through the ``nb2pipe.commands`` entry-point group — jupyter_mlops adds validate, serve,
watch, schedule, publish and promote — loaded only when named or listed. Imports stay light:
commands import what they need when they run, so `nb2pipe check` in a pre-commit hook never
pays for papermill or MLflow.
"""

# each family adds its commands to `main`
from . import compiling, exporting, running, sweeping, testing  # noqa: E402,F401
from .group import Group, main

__all__ = ["Group", "main"]
