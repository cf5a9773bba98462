"""Every alias move goes through `move_alias`, which records it on the versions: who, when and
why. `history` reads the moves back, so the registry alone tells the story, whichever process
moved the alias (the gate, the sidebar, a CI job), and MLflow's own UI shows it on each version.

A move is one tag on the version that gains the alias: key ``alias_move.<epoch ms>.<alias>``,
value a JSON object ``{"alias", "from", "to", "who", "when", "why", "kind", "gate"}``.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass

from jupyter_mlops.tracking import provenance, store

MOVE_TAG = "alias_move."
KINDS = ("publish", "gate", "rollout", "rollback", "manual")


@dataclass
class AliasMove:
    name: str
    alias: str
    to: str | None
    previous: str | None  # the version that held the alias before, if any
    who: str
    when: str
    at_ms: int
    why: str
    kind: str = "manual"
    gate: str | None = None  # the gate's decision, when a gate moved it

    def as_dict(self) -> dict:
        """For the sidebar: the move in the user's words."""
        fields = asdict(self)
        fields["from"] = fields.pop("previous")
        del fields["name"]
        return fields

    def record(self) -> str:
        fields = asdict(self)
        fields["from"] = fields.pop("previous")
        del fields["name"], fields["at_ms"]
        return json.dumps(fields, sort_keys=True)


def who() -> str:
    """The registry user when logged in to one (basic auth), else this machine's user."""
    return os.environ.get("MLFLOW_TRACKING_USERNAME") or provenance.user()


def holder(client, name: str, alias: str) -> str | None:
    """The version `alias` names now, or None."""
    from mlflow.exceptions import MlflowException

    try:
        return str(client.get_model_version_by_alias(name, alias).version)
    except MlflowException as e:
        if e.error_code in ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE", "NOT_FOUND"):
            return None
        raise


def move_alias(
    client,
    name: str,
    alias: str,
    version: str,
    *,
    why: str,
    kind: str = "manual",
    gate: str | None = None,
) -> AliasMove | None:
    """Point `alias` of model `name` at `version` and record the move (None: it was there)."""
    assert kind in KINDS, kind
    client.get_model_version(name, str(version))  # an unknown version is MLflow's 404
    previous = holder(client, name, alias)
    if previous == str(version):
        return None
    client.set_registered_model_alias(name, alias, str(version))
    at_ms = store.now_ms()
    move = AliasMove(
        name,
        alias,
        str(version),
        previous,
        who(),
        time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(at_ms / 1000)),
        at_ms,
        " ".join(why.split())[:1000],
        kind,
        gate,
    )
    client.set_model_version_tag(name, str(version), f"{MOVE_TAG}{at_ms}.{alias}", move.record())
    return move


def history(client, name: str, alias: str | None = None) -> list[AliasMove]:
    """Every recorded move of the aliases of `name` (or of one alias), oldest first."""
    from jupyter_mlops.registry.read import all_versions

    client.get_registered_model(name)  # an unknown model is MLflow's RESOURCE_DOES_NOT_EXIST
    moves = moves_of(name, all_versions(client, name))
    return [m for m in moves if alias is None or m.alias == alias]


def moves_of(name: str, versions: list) -> list[AliasMove]:
    """The moves recorded in the tags of `versions` (MLflow's ModelVersion), oldest first."""
    moves = []
    for version in versions:
        for key, text in (version.tags or {}).items():
            if not key.startswith(MOVE_TAG):
                continue
            stamp, _, moved = key[len(MOVE_TAG) :].partition(".")
            try:
                fields = json.loads(text)
                at_ms = int(stamp)
            except ValueError:
                continue  # a hand-made tag that only looks like ours
            moves.append(
                AliasMove(
                    name,
                    moved,
                    fields.get("to"),
                    fields.get("from"),
                    str(fields.get("who", "")),
                    str(fields.get("when", "")),
                    at_ms,
                    str(fields.get("why", "")),
                    str(fields.get("kind", "manual")),
                    fields.get("gate"),
                )
            )
    return sorted(moves, key=lambda m: m.at_ms)
