"""What every bench section shares: timing whole commands, and printing figure lines."""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

BIN = Path(sys.executable).parent
REPEAT = int(os.environ.get("BENCH_REPEAT", "3"))


def timed(cmd: list[str], env=None, repeat: int = REPEAT, before=None) -> float:
    """Median wall time of `cmd` run `repeat` times as a user runs it (a fresh process each)."""
    runs = []
    for _ in range(repeat):
        if before:
            before()
        start = time.perf_counter()
        subprocess.run(
            cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env
        )
        runs.append(time.perf_counter() - start)
    return statistics.median(runs)


def timed_cpu(cmd: list[str], env=None, repeat: int = REPEAT) -> tuple[float, float]:
    """Median wall time and median CPU time (user + system, the command and its children) of
    `cmd`: on a loaded machine the CPU time still says what the command costs."""
    walls, cpus = [], []
    for _ in range(repeat):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        subprocess.run(
            cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env
        )
        walls.append(time.perf_counter() - start)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return statistics.median(walls), statistics.median(cpus)


def figure(name: str, value: str, goal: str) -> None:
    """One figure line, with the machine's 1-minute load average when it was printed: a
    figure taken while other work ran means little."""
    print(f"{name}: {value}  (goal: {goal})  [load {os.getloadavg()[0]:.2f}]", flush=True)


def load() -> str:
    """The machine's load, printed with the figures: they mean little on a busy machine."""
    one, five, _ = os.getloadavg()
    return f"load average {one:.2f} (1 min), {five:.2f} (5 min) on {os.cpu_count()} cores"
