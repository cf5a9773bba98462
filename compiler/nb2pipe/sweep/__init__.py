"""Sweeps: many runs of one pipeline over a space of parameter values, sharing what they can.

`space` reads `-p NAME VALUES`; `search` chooses trials (grid, random, Optuna); `run` schedules
them over the steps they share; `records` keeps `.nb2pipe/sweeps/<id>/sweep.json`.
"""

from .records import SweepResult
from .run import run_sweep
from .space import Space, parse_space

__all__ = ["Space", "SweepResult", "parse_space", "run_sweep"]
