"""What the UI tests share besides fixtures: paths, the browser's flags, and the rule that a
missing browser fails under CI. Its own module, not conftest: several test folders have a
conftest.py, and `from conftest import` picks whichever was imported first."""

from __future__ import annotations

import json
from pathlib import Path

from servers import unavailable

REPO = Path(__file__).resolve().parents[2]
NOTEBOOK = REPO / "example_notebooks" / "wine_quality.ipynb"
LABEXTENSION_SRC = REPO / "labextension"
LABEXTENSION_BUILD = REPO / "jupyter_mlops" / "labextension"
SCREENSHOTS = REPO / "docs" / "screenshots"
VIEWPORT = {"width": 1440, "height": 900}
SERVER_START_TIMEOUT = 120.0

# Without the background-networking flags Chromium floods a closed network with connections.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


RUNNER_FOLDER = "from_a_cell"
RUNNER_NOTEBOOK = "run_from_a_cell.ipynb"


def write_runner_notebook(path: Path, pipeline: str) -> None:
    """A notebook whose one cell runs `pipeline` with the live ipywidgets view."""
    cell = {
        "cell_type": "code",
        "execution_count": None,
        "id": "run-cell",
        "metadata": {},
        "outputs": [],
        "source": f"%load_ext jupyter_mlops\n%mlops run {pipeline} -p C=0.5",
    }
    notebook = {
        "cells": [cell],
        "metadata": {
            "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    path.write_text(json.dumps(notebook, indent=1))


_unavailable = unavailable  # the name the UI fixtures and the wheel test use
