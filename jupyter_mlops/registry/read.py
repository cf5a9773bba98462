"""Reading the model registry: one reader, paged, for the magics and the sidebar's routes.

Versions come with their aliases, the metrics the publisher tagged them with, the lineage it
was published with, the gate's last decision and its table per slice, the last pre-deployment
checks and a serving process's refusal; a model comes with the history of its alias moves.
MLflow's version search leaves aliases out on SQL stores, so they are taken from
the registered model, whose alias map is complete.
"""

from __future__ import annotations

from typing import Any

from jupyter_mlops.registry.aliases import CHAMPION, all_versions, moves_of, rollback_target
from jupyter_mlops.registry.promote import METRIC_TAG
from jupyter_mlops.tracking import tags as tag
from jupyter_mlops.tracking.read import next_token, seconds
from jupyter_mlops.tracking.store import as_number

ARTIFACT_TAG = "nb2pipe.artifact"  # on a version: the name of the value published
RUN_NAME_TAG = "nb2pipe.run_name"  # on a version: the name of the run it came from
CHECK_TAG = "deploy.check"  # the pre-deployment checks' verdict; ".<check>" each result
CHECK_NAMES = ("requirements", "loads", "answers", "predictions", "latency")
REJECTED_TAG = "deploy.rejected"  # why a serving process refused to swap the version in
GATE_TAG = "gate."  # promote.py records the gate's last decision under gate.*


def gate_of(tags: dict[str, str]) -> dict[str, Any] | None:
    """The gate's last decision on a version, from the tags promote recorded (None: never)."""
    if f"{GATE_TAG}decision" not in tags:
        return None

    def text(key: str) -> str | None:
        value = tags.get(f"{GATE_TAG}{key}")
        return None if value in (None, "", "none") else value

    return {
        "decision": tags[f"{GATE_TAG}decision"],
        "metric": text("metric"),
        "direction": text("direction"),
        "threshold": as_number(text("threshold")),
        "challenger_value": as_number(text("challenger_value")),
        "champion_value": as_number(text("champion_value")),
        "champion_version": text("champion_version"),
        "decided_by": text("decided_by"),
        "decided_at": text("decided_at"),
    }


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
                "gate": gate_of(tags),
                "slices": slices_of(tags),
                # the lineage publish_run tagged it with: which pipeline run, step and value
                "pipeline_run": tags.get(tag.RUN_ID),
                "run_name": tags.get(RUN_NAME_TAG),
                "step": tags.get(tag.STEP),
                "artifact": tags.get(ARTIFACT_TAG),
                "checks": deploy_checks(tags),
                "rejected": tags.get(REJECTED_TAG),
                "description": v.description or "",
                "created": seconds(v.creation_timestamp),
            }
        )
    moves = moves_of(name, versions)
    return {
        "name": model.name,
        "description": model.description or "",
        "aliases": aliases,
        "versions": out,
        "history": [m.as_dict() for m in reversed(moves)],
        # the version a rollback would make champion again (`nb2pipe rollback`), if any
        "rollback_to": rollback_target(moves, aliases.get(CHAMPION)),
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


def slices_of(tags: dict[str, str]) -> dict[str, Any] | None:
    """The gate's table per slice (promote --slices), worst drop first: each slice's rows, both
    models' values, the drop, and whether it was judged and passed. None when the gate did not
    compare slices (or the tag is not ours)."""
    import json

    try:
        rows = json.loads(tags.get(f"{GATE_TAG}slices") or "null")
    except ValueError:
        return None
    if not isinstance(rows, list):
        return None
    threshold = as_number(tags.get(f"{GATE_TAG}slice_threshold"))
    results = []
    for row in rows:
        if not isinstance(row, dict):
            continue
        drop, skipped = as_number(row.get("drop")), row.get("skipped") or None
        judged = drop is not None and skipped is None and threshold is not None
        results.append(
            {
                "slice": str(row.get("slice", "")),
                "rows": row.get("rows"),
                "challenger": as_number(row.get("challenger")),
                "champion": as_number(row.get("champion")),
                "drop": drop,
                "skipped": skipped,  # why it was not judged (too few rows), else None
                "passed": (drop <= threshold) if judged else None,
            }
        )
    return {
        "metric": tags.get(f"{GATE_TAG}metric") or None,
        "threshold": threshold,
        "passed": all(r["passed"] is not False for r in results),
        "results": results,
    }
