"""Data panel routes: the profile of a step's DataFrame artifact, and drift between two runs.

Artifacts are read with `nb2pipe.artifacts.load`, which checks each file against its sha256.
Runs are found by id among those this server started, else in the workspace of the notebook
`path` (root-relative) or of the server root.
"""

from __future__ import annotations

from typing import Any

import tornado

from jupyter_mlops.server.base import ApiError, MlopsHandler
from jupyter_mlops.server.paths import artifact_name, find_run, run_id, step_name


def _load(state, run: str, step: str, name: str, path: str | None):
    from jupyter_mlops.data.schema import as_frame
    from nb2pipe.artifacts import load

    found = find_run(state, run, path)
    return as_frame(load(found.path, step, name), f"artifact {name!r} of step {step!r}")


def profile(state, run: str, step: str, name: str, path: str | None) -> dict[str, Any]:
    from jupyter_mlops.data.stats import profile as profile_of

    return {
        "run_id": run,
        "step": step,
        "name": name,
        **profile_of(_load(state, run, step, name, path)),
    }


def drift(state, name: str, reference: tuple, current: tuple, path, alpha) -> dict[str, Any]:
    from jupyter_mlops.data.stats import drift as drift_between

    before = _load(state, *reference, name, path)
    after = _load(state, *current, name, path)
    return {
        "name": name,
        "reference": ":".join(reference),
        "current": ":".join(current),
        **drift_between(before, after, alpha),
    }


def run_and_step(value: str | None, what: str) -> tuple[str, str]:
    """`<run_id>:<step>` from the query."""
    run, sep, step = (value or "").partition(":")
    if not sep:
        raise ApiError(400, f"{what}: expected <run_id>:<step>")
    return run_id(run, what), step_name(step)


class ProfileHandler(MlopsHandler):
    """GET data/profile?run_id=&step=&name=[&path=]"""

    @tornado.web.authenticated
    async def get(self) -> None:
        run = run_id(self.get_query_argument("run_id", None))
        step = step_name(self.get_query_argument("step", None))
        name = artifact_name(self.get_query_argument("name", None))
        path = self.get_query_argument("path", None)
        self.reply(await self.blocking(profile, self.state, run, step, name, path))


class DriftHandler(MlopsHandler):
    """GET data/drift?name=&reference=<run>:<step>&current=<run>:<step>[&alpha=][&path=]"""

    @tornado.web.authenticated
    async def get(self) -> None:
        name = artifact_name(self.get_query_argument("name", None))
        reference = run_and_step(self.get_query_argument("reference", None), "reference")
        current = run_and_step(self.get_query_argument("current", None), "current")
        raw = self.get_query_argument("alpha", "0.05")
        try:
            alpha = float(raw)
        except ValueError:
            raise ApiError(400, f"alpha: not a number: {raw[:40]!r}") from None
        if not 0 < alpha < 1:
            raise ApiError(400, "alpha: between 0 and 1")
        path = self.get_query_argument("path", None)
        self.reply(await self.blocking(drift, self.state, name, reference, current, path, alpha))
