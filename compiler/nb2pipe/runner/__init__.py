"""The local runner: executes a compiled pipeline's steps with papermill."""

from .events import Event
from .scheduler import RunResult, StepResult, load_pipeline, run_pipeline

__all__ = ["Event", "RunResult", "StepResult", "load_pipeline", "run_pipeline"]
