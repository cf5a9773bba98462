"""Every alias move goes through `move_alias`, which records it on the versions: who, when,
why, and the gate's decision if a gate moved it. `history` reads the moves back; `rollback`
moves ``champion`` back to the champion before it.

A move is one tag on the version that gains the alias (on the one that loses it when the alias
is removed): key ``alias_move.<epoch ms>.<alias>``, value a JSON object

    {"alias": "champion", "from": "2", "to": "3", "who": "ana", "when": "2026-11-30T10:02:11+0000",
     "why": "accuracy 0.93 vs champion version 2's 0.91 (...)", "gate": "promoted", "kind": "gate"}

so the registry alone tells the story, whichever process moved the alias (the gate, the CLI,
the sidebar, a CI job), and MLflow's own UI shows it on each version.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass

from jupyter_mlops.errors import ModelGateError
from jupyter_mlops.tracking import provenance, store
from jupyter_mlops.tracking.read import next_token

MOVE_TAG = "alias_move."
CHAMPION = "champion"
# What moved an alias: publish, the gate, a rollout's end, a rollback, a hand-set alias.
KINDS = ("publish", "gate", "rollout", "rollback", "manual")


@dataclass
class AliasMove:
    name: str
    alias: str
    to: str | None  # None: the alias was removed
    previous: str | None  # the version that held the alias before, if any
    who: str
    when: str
    at_ms: int
    why: str
    kind: str = "manual"
    gate: str | None = None  # the gate's decision, when a gate moved it

    def __str__(self) -> str:
        where = f"{self.previous or '-'} -> {self.to or '(removed)'}"
        gate = f" [gate: {self.gate}]" if self.gate else ""
        return f"{self.when}  {self.alias:<10} {where:<14} {self.kind:<8} by {self.who}: {self.why}{gate}"

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
    version: str | None,
    *,
    why: str,
    kind: str = "manual",
    gate: str | None = None,
) -> AliasMove | None:
    """Point `alias` of model `name` at `version` (None removes it) and record the move.

    Returns the move, or None when the alias already named that version (nothing moved).
    """
    assert kind in KINDS, kind
    previous = holder(client, name, alias)
    target = None if version is None else str(version)
    if previous == target:
        return None
    if target is None:
        client.delete_registered_model_alias(name, alias)
    else:
        client.set_registered_model_alias(name, alias, target)
    at_ms = store.now_ms()
    move = AliasMove(
        name,
        alias,
        target,
        previous,
        who(),
        time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(at_ms / 1000)),
        at_ms,
        " ".join(why.split())[:1000],
        kind,
        gate,
    )
    client.set_model_version_tag(
        name, target or previous, f"{MOVE_TAG}{at_ms}.{alias}", move.record()
    )
    return move


def require_model(client, name: str, version: str | None = None) -> None:
    """A one-line `ModelGateError` unless model `name` (and its `version`) is registered."""
    from mlflow.exceptions import MlflowException

    try:
        client.get_registered_model(name)
    except MlflowException as e:
        if e.error_code == "RESOURCE_DOES_NOT_EXIST":
            raise ModelGateError(f"no registered model named {name!r}") from None
        raise
    if version is None:
        return
    try:
        client.get_model_version(name, str(version))
    except MlflowException as e:
        if e.error_code in ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE"):
            raise ModelGateError(f"model {name!r} has no version {version!r}") from None
        raise


def quoted(name: str) -> str:
    """`name` as a string literal of MLflow's search grammar."""
    for quote in ("'", '"'):
        if quote not in name:
            return f"{quote}{name}{quote}"
    raise ValueError("a model name holding both kinds of quotes cannot be searched")


def all_versions(client, name: str) -> list:
    """Every version of model `name`, with its tags (all pages)."""
    versions, token = [], None
    while True:
        page = client.search_model_versions(
            filter_string=f"name = {quoted(name)}", page_token=token
        )
        versions += list(page)
        token = next_token(page)
        if not token:
            return versions


def history(client, name: str, alias: str | None = None) -> list[AliasMove]:
    """Every recorded move of the aliases of `name` (or of one alias), oldest first."""
    require_model(client, name)
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


def rollback_target(moves: list[AliasMove], current: str | None) -> str | None:
    """The champion before the current one: the latest version that handed `champion` on,
    skipping the current one and every version a rollback already moved away from."""
    champion = [m for m in moves if m.alias == CHAMPION]
    rolled_back = {m.previous for m in champion if m.kind == "rollback"}
    for move in reversed(champion):
        candidate = move.previous
        if candidate and candidate != current and candidate not in rolled_back:
            return candidate
    return None


def rollback(client, name: str, to: str | None = None, *, why: str = "") -> AliasMove:
    """Move ``champion`` of `name` back to the previous champion (or to version `to`)."""
    require_model(client, name, to)
    current = holder(client, name, CHAMPION)
    if to is None:
        to = rollback_target(history(client, name, CHAMPION), current)
        if to is None:
            raise ModelGateError(
                f"model {name!r}: nothing to roll back to (no earlier champion recorded"
                + (f"; champion is version {current})" if current else "; no champion)")
            )
    else:
        if str(to) == current:
            raise ModelGateError(f"model {name!r}: version {to} is already the champion")
    reason = why or f"rollback from version {current or '(none)'}"
    move = move_alias(client, name, CHAMPION, str(to), why=reason, kind="rollback")
    assert move is not None
    return move
