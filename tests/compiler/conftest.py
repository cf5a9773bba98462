from pathlib import Path

import pytest
from nbfactory import write_notebook


@pytest.fixture
def make_notebook(tmp_path: Path):
    """`make_notebook(*cells, name="notebook.ipynb")` writes a notebook into tmp_path."""

    def make(*cells: dict, name: str = "notebook.ipynb") -> Path:
        return write_notebook(tmp_path / name, *cells)

    return make
