"""The local runner: executes a compiled pipeline's steps with papermill."""

from .events import Event
from .results import RunResult, StepResult
from .scheduler import run_pipeline
from .source import load_pipeline

__all__ = ["Event", "RunResult", "StepResult", "load_pipeline", "run_pipeline"]
