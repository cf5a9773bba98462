"""Small tagged notebooks for the compiler tests, written as plain nbformat-4 JSON."""

from __future__ import annotations

from pathlib import Path

from support.notebooks import ROOT, code, markdown, notebook, raw, write_notebook

__all__ = ["code", "markdown", "notebook", "raw", "write_notebook"]

EXAMPLE = ROOT / "example_notebooks" / "breast_cancer_diagnosis.ipynb"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
KALE = FIXTURES / "kale_dialect.ipynb"
UNTAGGED = FIXTURES / "untagged.ipynb"
