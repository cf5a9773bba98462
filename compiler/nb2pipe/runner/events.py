"""What a pipeline run reports, and to whom.

The runner knows nothing of MLflow, terminals or the sidebar: it calls the observers it is
given with `Event`s. Events are emitted from the scheduling thread only, in order, so an
observer need not be thread-safe.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

RUN_STARTED = "run_started"
STEP_STARTED = "step_started"
STEP_CACHED = "step_cached"
STEP_FINISHED = "step_finished"
STEP_FAILED = "step_failed"
STEP_SKIPPED = "step_skipped"
# A hazard that may make the run differ from Run All (data: "cell", "message"); the compiler's
# are sent when the run starts, a step's own when it finishes.
WARNING = "warning"
RUN_FINISHED = "run_finished"
# A sweep (nb2pipe.sweep) sends these besides its trials' own run events; `run_id` is the sweep's
# id in SWEEP_*, the trial's run id in TRIAL_ENDED. data: "sweep" (its SweepResult), and for
# SWEEP_STARTED "pipeline", "source", "planned" (the trials known up front), for TRIAL_ENDED
# "trial".
SWEEP_STARTED = "sweep_started"
TRIAL_ENDED = "trial_ended"
SWEEP_FINISHED = "sweep_finished"


@dataclass(frozen=True)
class Event:
    kind: str
    run_id: str
    step: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    time: float = field(default_factory=time.time)


class Observer:
    """What the runner reports to. Every method is optional: subclass and override.

    `__call__(event)` receives each `Event`, from the scheduling thread only, in order.
    `step_env(step)` returns environment variables for the kernel of `step` before it starts
    (the MLflow observer uses it to tell the step's own logging where to write).
    `where_to_look()`, after the run, returns lines the command line prints below its summary:
    where this observer put the run (the MLflow observer: the experiment and `mlflow ui`).
    A plain function `f(event)` is an observer too.
    """

    def __call__(self, event: Event) -> None:
        pass

    def step_env(self, step: str) -> dict[str, str]:
        return {}

    def where_to_look(self) -> list[str]:
        return []


class _FunctionObserver(Observer):
    def __init__(self, function: Callable[[Event], None]):
        self.function = function

    def __call__(self, event: Event) -> None:
        self.function(event)

    def __repr__(self) -> str:
        return repr(self.function)


def as_observer(observer: Observer | Callable[[Event], None]) -> Observer:
    return observer if isinstance(observer, Observer) else _FunctionObserver(observer)


def plugged_in() -> list[Observer]:
    """The observers other packages add under the ``nb2pipe.observers`` entry-point group:
    each entry is a factory returning an observer, or None when it is switched off."""
    from ..plugins import registry

    made = (factory() for factory in registry("observer").values())
    return [as_observer(o) for o in made if o is not None]


class Broadcaster:
    """Sends each event to every observer; one failing observer does not stop the run."""

    def __init__(self, observers: list[Observer | Callable[[Event], None]]):
        self.observers = [as_observer(o) for o in observers]
        self.errors: list[tuple[Observer, BaseException]] = []

    def __call__(self, event: Event) -> None:
        for observer in self.observers:
            try:
                observer(event)
            except Exception as e:  # an observer's bug must not lose the run's results
                self.errors.append((observer, e))
                import warnings

                warnings.warn(
                    f"nb2pipe: observer {observer!r} failed on {event.kind}: {e}", stacklevel=2
                )
