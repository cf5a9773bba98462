"""What the pre-deployment checks compare: a version's answers with the predictions recorded
when it was published (floats to a relative 1e-9), and its 1-row latency with a budget, timed
in one loop interleaved with the champion's so that a busy moment of the machine falls on both.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

LATENCY_ROUNDS = 60
BUDGET_FACTOR = 1.5
BUDGET_FLOOR_MS = 5.0
REL_TOLERANCE = 1e-9
ATTEMPTS = 3  # timings before a version counts as over budget


def differences(got: Any, wanted: Any) -> list[str]:
    """Where `got` differs from `wanted` (JSON values), one phrase each, at most 3."""
    if isinstance(wanted, list) and isinstance(got, list) and len(got) == len(wanted):
        found = []
        for i, (g, w) in enumerate(zip(got, wanted, strict=True)):
            if not same(g, w):
                found.append(f"row {i}: {g!r} instead of {w!r}")
        return found
    return [] if same(got, wanted) else [f"{str(got)[:80]} instead of {str(wanted)[:80]}"]


def same(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
            return True
        return math.isclose(a, b, rel_tol=REL_TOLERANCE, abs_tol=1e-12)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    return a == b


def p99_ms(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000


def time_requests(
    models: list, body: bytes, answer: Callable[[Any, bytes], Any], rounds: int = LATENCY_ROUNDS
) -> list[float]:
    """p99 (ms) of 1-row request `body` for each of `models`, timed in one interleaved loop
    (so a busy moment of the machine falls on all of them alike); `answer(model, body)` is
    one request."""
    for _ in range(5):  # warm-up: first calls fill caches
        for m in models:
            answer(m, body)
    samples: list[list[float]] = [[] for _ in models]
    for _ in range(rounds):
        for m, mine in zip(models, samples, strict=True):
            began = time.perf_counter()
            answer(m, body)
            mine.append(time.perf_counter() - began)
    return [p99_ms(s) for s in samples]


def budget_for(champion_p99: float) -> float:
    return max(BUDGET_FACTOR * champion_p99, champion_p99 + BUDGET_FLOOR_MS)


def within(timings: list[float], budget_ms: float | None) -> bool:
    """Whether the first of `timings` (p99s: the candidate, then the champion, if any) is
    within `budget_ms`, or the budget the champion's p99 gives."""
    if budget_ms is None and len(timings) < 2:
        return True
    return timings[0] <= (budget_ms if budget_ms is not None else budget_for(timings[1]))
