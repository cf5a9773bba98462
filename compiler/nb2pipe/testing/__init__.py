"""Notebook tests for CI: `nb2pipe test`, and `pytest --nb2pipe` (see ../pytest_plugin.py).

A notebook passes when its pipeline, run on sample parameters, finishes every step, the cell
outputs it marks for checking come out as stored, and its assertions on metrics hold.

| module | owns |
|---|---|
| `spec.py` | what a notebook declares: parameter profiles and assertions (its metadata) |
| `assertions.py` | parsing assertions with `ast` and evaluating them without `eval` |
| `outputs.py` | which cells are compared and how (nbval's markers and comparison) |
| `sanitize.py` | the shipped rules for what may differ between runs |
| `verify.py` | plan (all bad input, before any kernel) → run → checks → one-line summary |
| `junit.py` | the JUnit XML report |
"""

from .verify import Check, NotebookReport, Plan, execute, plan, run_plans

__all__ = ["Check", "NotebookReport", "Plan", "execute", "plan", "run_plans"]
