"""What makes continuous training re-run a pipeline (`nb2pipe watch`; the loop is watch.py):

- `NewFiles`: files appeared in a data folder, or a file's content changed (files still being
  written, hidden files and temporary files are left for the next poll);
- `DriftTrigger`: the inputs served since the last run drifted from the reference data;
- `MetricTrigger`: the live metric of the served model fell below (or rose above) a threshold.

After a run, the drift and metric triggers only consider predictions made after it started,
so one episode of drift starts one run.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nb2pipe.errors import Nb2PipeError

STATE_DIR = "watch"  # in the workspace: what each notebook's watcher has seen
SETTLE_SECONDS = 1.0  # a file modified more recently may still be being written
_TEMPORARY = (".tmp", ".part", ".partial", ".crdownload", "~")


@dataclass
class Decision:
    trigger: str
    fire: bool
    reason: str

    def __str__(self) -> str:
        return f"{self.trigger}: {self.reason} -> {'run' if self.fire else 'no run'}"


class NewFiles:
    """Fires when files appear in `folder` or below, or a file seen before gets new content
    (those present at start-up are not new).

    A file's content is known by its size and modification time; when they change, its
    sha256 decides (a `touch` or a copy of the same bytes is not new data). A file modified
    less than `settle` seconds ago may still be being written: it waits for a later poll.
    Hidden files and temporary names (``.tmp``, ``.part``, ``~``) are ignored.
    """

    name = "new-data"

    def __init__(
        self, folder: str | os.PathLike, pattern: str = "*", *, settle: float = SETTLE_SECONDS
    ):
        self.folder = Path(folder)
        if not self.folder.is_dir():
            raise Nb2PipeError(f"--data {folder}: no such folder")
        self.pattern = pattern
        self.settle = settle
        self.seen: dict[Path, list | None] = {}
        for path in self._files():
            self.seen[path] = self._signature(path, None)
        self.key = f"{self.name}:{self.folder.resolve()}"

    def state(self) -> dict[str, Any]:
        return {
            "seen": {p.relative_to(self.folder).as_posix(): s for p, s in sorted(self.seen.items())}
        }

    def restore(self, saved: dict[str, Any]) -> None:
        """Files seen by an earlier watcher are not new; files it never saw are, and so are
        files whose content changed since (a list of names, the older state, knows no content:
        their present content counts as seen)."""
        seen = saved.get("seen", {})
        if isinstance(seen, list):
            seen = {name: None for name in seen}
        self.seen = {self.folder / name: sig for name, sig in seen.items()}

    def _files(self) -> list[Path]:
        return sorted(
            p
            for p in self.folder.rglob(self.pattern)
            if p.is_file()
            and not any(part.startswith(".") for part in p.relative_to(self.folder).parts)
            and not p.name.endswith(_TEMPORARY)
        )

    @staticmethod
    def _signature(path: Path, known: list | None) -> list | None:
        """[size, mtime_ns, sha256] of `path`; the hash is only computed again when size or
        modification time moved. None if the file went away."""
        import hashlib

        try:
            stat = path.stat()
            if known is not None and known[:2] == [stat.st_size, stat.st_mtime_ns]:
                return known
            digest = hashlib.sha256()
            with open(path, "rb") as f:  # hashlib.file_digest is Python 3.11+
                while chunk := f.read(1 << 20):
                    digest.update(chunk)
        except FileNotFoundError:
            return None
        return [stat.st_size, stat.st_mtime_ns, digest.hexdigest()]

    def check(self) -> Decision:
        now = time.time()
        new, changed = [], []
        for path in self._files():
            known = self.seen.get(path, False)
            try:
                settled = now - path.stat().st_mtime >= self.settle
            except FileNotFoundError:
                continue
            if not settled:
                continue
            if known is False:
                new.append(path)
                self.seen[path] = self._signature(path, None)
                continue
            signature = self._signature(path, known)
            if signature is None or signature == known:
                continue
            if known is not None and signature[2] != known[2]:
                changed.append(path)
            self.seen[path] = signature
        if not new and not changed:
            return Decision(self.name, False, f"no new or changed file in {self.folder}")
        names = ", ".join(str(p.relative_to(self.folder)) for p in sorted(new + changed)[:5])
        more = f" and {len(new) + len(changed) - 5} more" if len(new) + len(changed) > 5 else ""
        counts = [
            f"{n} {word} file{'s' if n != 1 else ''}"
            for n, word in ((len(new), "new"), (len(changed), "changed"))
            if n
        ]
        return Decision(self.name, True, f"{' and '.join(counts)} in {self.folder}: {names}{more}")

    def ran(self, started: float) -> None:
        pass


class _SinceLastRun:
    """Predictions count only once they were made after the last triggered run started."""

    name = ""

    def __init__(self, log: str | os.PathLike) -> None:
        self.log = Path(log)
        self.key = f"{self.name}:{self.log.resolve()}"
        self.since: float | None = None

    def ran(self, started: float) -> None:
        self.since = started

    def state(self) -> dict[str, Any]:
        return {"since": self.since}

    def restore(self, saved: dict[str, Any]) -> None:
        self.since = saved.get("since")


class DriftTrigger(_SinceLastRun):
    """Fires when the served inputs drifted from `reference` (re-read when the file changes,
    so a pipeline that rewrites its training data moves the reference with it)."""

    name = "drift"

    def __init__(
        self,
        log: str | os.PathLike,
        reference: Any,
        *,
        alpha: float | None = None,
        psi_threshold: float | None = None,
        min_rows: int = 30,
    ):
        super().__init__(log)
        from jupyter_mlops.data import drift

        self.reference = reference
        self.alpha = drift.ALPHA if alpha is None else alpha
        self.psi_threshold = drift.PSI_THRESHOLD if psi_threshold is None else psi_threshold
        self.min_rows = min_rows
        self._frame = None
        self._stamp: float | None = None
        self._load_reference()

    def _load_reference(self):
        from jupyter_mlops.data.schema import as_frame

        if isinstance(self.reference, (str, os.PathLike)):
            stamp = Path(self.reference).stat().st_mtime if Path(self.reference).exists() else None
            if self._frame is None or stamp != self._stamp:
                self._frame, self._stamp = as_frame(self.reference, "--reference"), stamp
        elif self._frame is None:
            self._frame = as_frame(self.reference, "reference")
        return self._frame

    def check(self) -> Decision:
        from jupyter_mlops.data.drift import drift_report
        from jupyter_mlops.data.prediction_log import logged_inputs

        current = logged_inputs(self.log, self.since)
        if len(current) < self.min_rows:
            return Decision(
                self.name, False, f"{len(current)} new predictions, fewer than {self.min_rows}"
            )
        report = drift_report(
            self._load_reference(), current, alpha=self.alpha, psi_threshold=self.psi_threshold
        )
        return Decision(self.name, report.drifted, report.summary())


class MetricTrigger(_SinceLastRun):
    """Fires when the live metric of the latest window with enough labels crosses a bound."""

    name = "live-metric"

    def __init__(
        self,
        log: str | os.PathLike,
        metric: str,
        *,
        below: float | None = None,
        above: float | None = None,
        window: Any = "1h",
        min_count: int = 10,
        track: bool = True,
    ):
        super().__init__(log)
        if (below is None) == (above is None):
            raise Nb2PipeError(f"--metric {metric}: give exactly one of --below or --above")
        from jupyter_mlops.serving.monitoring import window_seconds

        window_seconds(window)
        self.metric = metric
        self.below, self.above = below, above
        self.window, self.min_count, self.track = window, min_count, track

    def check(self) -> Decision:
        from jupyter_mlops.data.prediction_log import parts
        from jupyter_mlops.serving.monitoring import live_metric

        if not parts(self.log):
            return Decision(self.name, False, f"no prediction log at {self.log} yet")
        frame = live_metric(
            self.log, self.metric, window=self.window, since=self.since, track=self.track
        )
        frame = frame[frame["count"] >= self.min_count]
        if not len(frame):
            return Decision(
                self.name, False, f"no window with {self.min_count} labelled predictions yet"
            )
        latest = frame.sort_values("window_start").iloc[-1]
        value, bound = float(latest["value"]), self.below if self.below is not None else self.above
        crossed = value < bound if self.below is not None else value > bound
        relation = (
            ("<" if crossed else ">=") if self.below is not None else (">" if crossed else "<=")
        )
        where = (
            f"{latest['model']} version {latest['version']}, {int(latest['count'])} labelled "
            f"predictions from {latest['window_start']:%Y-%m-%d %H:%M}"
        )
        return Decision(
            self.name, crossed, f"{self.metric} {value:.4g} {relation} {bound:g} ({where})"
        )
