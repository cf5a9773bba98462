"""Reading the model registry: one reader, paged, for the magics and the sidebar's routes.

Versions come with their aliases, the metrics the publisher tagged them with, the gate's
last decision, the last pre-deployment checks and a serving process's refusal; a model comes
with the history of its alias moves. MLflow's version search leaves aliases out on SQL stores, so they are taken from
the registered model, whose alias map is complete.
"""

from __future__ import annotations

from typing import Any

from jupyter_mlops.registry.promote import METRIC_TAG
from jupyter_mlops.tracking.read import next_token, seconds
from jupyter_mlops.tracking.store import as_number

CHECK_TAG = "deploy.check"  # the pre-deployment checks' verdict; ".<check>" each result
CHECK_NAMES = ("requirements", "loads", "answers", "predictions", "latency")
REJECTED_TAG = "deploy.rejected"  # why a serving process refused to swap the version in


def quoted(name: str) -> str:
    """`name` as a string literal of MLflow's search grammar."""
    for quote in ("'", '"'):
        if quote not in name:
            return f"{quote}{name}{quote}"
    raise ValueError("a model name holding both kinds of quotes cannot be searched")


def list_models(client, max_results: int = 1000, page_token: str | None = None) -> dict[str, Any]:
    """One page of registered models by name: aliases, latest version, description."""
    found = client.search_registered_models(
        max_results=max_results, order_by=["name ASC"], page_token=page_token
    )
    models = []
    for m in found:
        versions = [int(v.version) for v in (m.latest_versions or [])]
        models.append(
            {
                "name": m.name,
                "aliases": {alias: str(v) for alias, v in sorted((m.aliases or {}).items())},
                "latest_version": str(max(versions)) if versions else None,
                "description": m.description or "",
                "last_update": seconds(m.last_updated_timestamp),
            }
        )
    return {"models": models, "next_page_token": next_token(found)}


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


def model_detail(client, name: str) -> dict[str, Any]:
    """A registered model and all its versions, newest first (an MLflow error if unknown)."""
    model = client.get_registered_model(name)
    versions = all_versions(client, name)
    aliases = {alias: str(v) for alias, v in sorted((model.aliases or {}).items())}
    by_version: dict[str, set[str]] = {}
    for alias, version in aliases.items():
        by_version.setdefault(version, set()).add(alias)
    out = []
    for v in sorted(versions, key=lambda v: int(v.version), reverse=True):
        tags = dict(v.tags or {})
        out.append(
            {
                "version": str(v.version),
                "aliases": sorted(set(v.aliases or []) | by_version.get(str(v.version), set())),
                "run_id": v.run_id,
                "status": v.status,
                "tags": tags,
                "metrics": {
                    k[len(METRIC_TAG) :]: as_number(t)
                    for k, t in tags.items()
                    if k.startswith(METRIC_TAG)
                },
                "gate": tags.get("gate.decision"),
                "slices": _slices(tags.get("gate.slices")),
                "checks": deploy_checks(tags),
                "rejected": tags.get(REJECTED_TAG),
                "description": v.description or "",
                "created": seconds(v.creation_timestamp),
            }
        )
    from jupyter_mlops.registry.aliases import moves_of

    return {
        "name": model.name,
        "description": model.description or "",
        "aliases": aliases,
        "versions": out,
        "history": [m.as_dict() for m in reversed(moves_of(name, versions))],
    }


def deploy_checks(tags: dict[str, str]) -> dict[str, Any] | None:
    """The last pre-deployment checks recorded on a version (None if never checked):
    passed, when, where, and each check's result."""
    if CHECK_TAG not in tags:
        return None
    checks = []
    for name in CHECK_NAMES:
        text = tags.get(f"{CHECK_TAG}.{name}")
        if text is not None:
            state, _, detail = text.partition(": ")
            checks.append({"name": name, "ok": state == "ok", "detail": detail})
    return {
        "passed": tags[CHECK_TAG] == "passed",
        "at": tags.get(f"{CHECK_TAG}ed_at", ""),
        "where": tags.get(f"{CHECK_TAG}ed_where", ""),
        "checks": checks,
    }


def _slices(text: str | None) -> list[dict[str, Any]]:
    """The gate's table per slice (a version tag, JSON), [] when absent or unreadable."""
    import json

    try:
        rows = json.loads(text) if text else []
    except ValueError:
        return []
    return [r for r in rows if isinstance(r, dict)] if isinstance(rows, list) else []
