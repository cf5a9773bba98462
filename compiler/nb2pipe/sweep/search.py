"""Which trials a sweep runs next, and what it learns from the ones that ended.

Three strategies, one small interface: `ask(n)` gives at most `n` new trials (none once the
search is done), `tell` hands back how a trial ended, and `report` an intermediate value of a
running trial (True: prune it). A grid and a random search know their trials up front; Optuna
decides each from the results so far (ask/tell, TPE by default, its median pruner).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..errors import Nb2PipeError
from .space import Space


@dataclass
class Trial:
    number: int
    params: dict[str, Any]
    run_id: str | None = None
    status: str = "pending"  # pending | running | succeeded | failed | pruned | cancelled ...
    value: float | None = None
    handle: Any = field(default=None, repr=False, compare=False)  # Optuna's own trial

    def to_dict(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "params": self.params,
            "run_id": self.run_id,
            "status": self.status,
            "value": self.value,
        }


class Search:
    name = ""
    prunes = False  # whether intermediate values can stop a trial

    def ask(self, n: int) -> list[Trial]:
        raise NotImplementedError

    def tell(self, trial: Trial) -> None:
        """`trial` ended: its `status` and `value` are set."""

    def report(self, trial: Trial, step: int, value: float) -> bool:
        return False

    def planned(self) -> list[Trial]:
        """The trials known before any runs (a grid's, a random search's); none for Optuna."""
        return []


class Listed(Search):
    """Trials fixed in advance: a grid, or random draws."""

    def __init__(self, combinations: list[dict[str, Any]]):
        self.trials = [Trial(i, params) for i, params in enumerate(combinations)]
        self.next = 0

    def ask(self, n: int) -> list[Trial]:
        out = self.trials[self.next : self.next + max(0, n)]
        self.next += len(out)
        return out

    def planned(self) -> list[Trial]:
        return list(self.trials)


class GridSearch(Listed):
    name = "grid"

    def __init__(self, space: Space):
        super().__init__(space.grid())


class RandomSearch(Listed):
    name = "random"

    def __init__(self, space: Space, n: int, seed: int = 0):
        super().__init__(space.sample(n, seed))


class OptunaSearch(Search):
    """Optuna's ask-and-tell interface: TPE sampling, median pruning, an in-memory study."""

    name = "optuna"
    prunes = True

    def __init__(self, space: Space, n: int, direction: str, seed: int = 0, parallel: int = 1):
        try:
            import optuna
        except ImportError:
            raise Nb2PipeError("--optuna: Optuna is not installed (pip install optuna)") from None
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        self.optuna = optuna
        self.space = space
        self.n = n
        # Trials asked while others run have no results to learn from yet: the constant liar
        # keeps parallel TPE from proposing the same point twice.
        sampler = optuna.samplers.TPESampler(seed=seed, constant_liar=parallel > 1)
        self.study = optuna.create_study(
            direction="maximize" if direction == "max" else "minimize",
            sampler=sampler,
            pruner=optuna.pruners.MedianPruner(),
        )
        self.asked = 0
        self.reported: dict[int, set[int]] = {}  # trial -> the steps it reported at

    def ask(self, n: int) -> list[Trial]:
        out = []
        while len(out) < n and self.asked < self.n:
            handle = self.study.ask()
            params = {d.name: self._suggest(handle, d) for d in self.space.dimensions}
            out.append(Trial(self.asked, params, handle=handle))
            self.asked += 1
        return out

    def _suggest(self, handle, d) -> Any:
        if not d.is_range:
            if all(v is None or isinstance(v, (bool, int, float, str)) for v in d.choices):
                return handle.suggest_categorical(d.name, d.choices)
            # Lists, tuples...: Optuna stores categorical choices as JSON scalars.
            return d.choices[handle.suggest_categorical(d.name, list(range(len(d.choices))))]
        if d.integer:
            return handle.suggest_int(d.name, int(d.low), int(d.high), log=d.log)
        return handle.suggest_float(d.name, float(d.low), float(d.high), log=d.log)

    def tell(self, trial: Trial) -> None:
        state = self.optuna.trial.TrialState
        if trial.status == "succeeded" and trial.value is not None:
            self.study.tell(trial.handle, trial.value)
        elif trial.status == "pruned":
            self.study.tell(trial.handle, state=state.PRUNED)
        else:
            self.study.tell(trial.handle, state=state.FAIL)

    def report(self, trial: Trial, step: int, value: float) -> bool:
        reported = self.reported.setdefault(trial.number, set())
        if step in reported:
            return False  # Optuna keeps the first value reported at a step
        reported.add(step)
        trial.handle.report(value, step)
        return trial.handle.should_prune()
