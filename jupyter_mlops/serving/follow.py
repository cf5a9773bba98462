"""The service follows its aliases: a thread polls the registry every `interval` seconds and,
when an alias it serves moves, loads the new version beside the old one, checks it here
(checks.py), and swaps it in only if every check passed.

- A version that fails is never swapped in: the old one keeps serving, one ``error:`` line
  goes to the server's output, the results go on the version (``deploy.check*``) and the tag
  ``deploy.rejected`` says why. It is not tried again unless the alias leaves it and returns.
- A move back to the version swapped out last (a rollback) swaps it back at once: it is still
  loaded, and it was checked when it came in (or served from the start).
- A registry that does not answer is an outage: one ``warning:`` line when it starts, one
  line when it ends; the loaded versions keep serving meanwhile.
- The challenger (canary, shadow) is followed the same way; when its alias is removed the
  rollout stops and every request goes to the champion.

Polling, not MLflow's webhooks: MLflow 3.17 has them (``model_version_alias.created``), but
only an `mlflow server` sends them (not a registry in SQLite or PostgreSQL reached directly),
the registry must reach the serving process over HTTP, and a delivery made while either is
down is lost. A poll of two small calls every few seconds works with every store and recovers
from an outage by itself.
"""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Callable

from jupyter_mlops.registry.aliases import holder
from jupyter_mlops.registry.read import REJECTED_TAG
from jupyter_mlops.serving import checks, models
from jupyter_mlops.serving.live import Live
from jupyter_mlops.serving.models import Loaded, ServedModel

INTERVAL = 2.0


class Follower:
    """Keeps `live` on the versions that `aliases` (role → alias) name in the registry."""

    def __init__(
        self,
        live: Live,
        uri: str,
        aliases: dict[str, str],
        *,
        interval: float = INTERVAL,
        budget_ms: float | None = None,
        echo: Callable[[str], None] = print,
        where: str = "",
    ):
        self.live, self.uri, self.aliases = live, uri, aliases
        self.interval, self.budget_ms, self.echo, self.where = interval, budget_ms, echo, where
        self.name = live.champion.model.name
        self.rejected: dict[str, str] = {}  # role → the version refused while the alias names it
        self.outage_since: float | None = None
        self._previous: dict[str, Loaded] = {}  # role → the version swapped out last
        self._client = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> Follower:
        self._thread = threading.Thread(target=self._run, name="nb2pipe-follow", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(2)  # a check under way is not waited for: the thread is a daemon

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.poll()
            except Exception as e:  # noqa: BLE001 - the watch must outlive any one failure
                self.echo(f"error: following {self.name}: {type(e).__name__}: {e}")

    # --- one poll --------------------------------------------------------------------------
    def poll(self) -> None:
        from jupyter_mlops.tracking import store

        try:
            if self._client is None:  # one client for every poll: making one is not free
                self._client = store.client(self.uri)
            client = self._client
            named = {role: holder(client, self.name, alias) for role, alias in self.aliases.items()}
        except Exception as e:  # noqa: BLE001 - judged by is_outage
            self._client = None
            if not models.is_outage(e):
                raise
            self._outage(e)
            return
        self._recovered()
        for role, version in named.items():
            if self._stop.is_set():
                return
            self._follow(client, role, version)

    def _follow(self, client, role: str, version: str | None) -> None:
        live = self.live.champion if role == "champion" else self.live.challenger
        current = live.version if live is not None else None
        if version == current:
            self.rejected.pop(role, None)
            return
        alias = self.aliases[role]
        if version is None:
            if role == "champion":
                if self.rejected.get(role) != "(none)":
                    self.echo(
                        f"warning: {self.name} has no {alias!r} alias now; still serving "
                        f"version {current}"
                    )
                    self.rejected[role] = "(none)"
                return
            self.live.swap(role, None)
            self.echo(f"{self.name}: alias {alias!r} removed: every request goes to the champion")
            return
        if self.rejected.get(role) == version:
            return  # refused already; tried again once the alias moves
        self.take(client, role, version)

    def take(self, client, role: str, version: str) -> None:
        """Load `version` beside the live one, check it, swap it in if it passed."""
        from jupyter_mlops.registry.expected import read_expected

        alias = self.aliases[role]
        model = ServedModel(self.name, version, alias)
        current = self.live.champion if role == "champion" else self.live.challenger
        was = f"version {current.version}" if current else "none"
        previous = self._previous.get(role)
        if previous is not None and previous.version == version:
            # A rollback to the version that served here just before: still loaded, checked
            # when it came in (or served from the start). Back at once: a rollback is urgent.
            self._swap(role, previous, current)
            self.echo(
                f"{self.name}: alias {alias!r} moved back to version {version}: swapped back "
                f"(was {was}; it served here before, still loaded)"
            )
            return
        self.echo(
            f"{self.name}: alias {alias!r} moved to version {version} (serving {was}): checking"
        )
        try:
            expected = read_expected(client, self.name, version)
            path = models.fetch(self.uri, model)
        except Exception as e:  # noqa: BLE001
            if models.is_outage(e):
                self._outage(e)
                return
            raise
        began = time.monotonic()
        report, loaded = checks.run_local(
            model,
            path,
            expected,
            baseline=self.live.champion,
            budget_ms=self.budget_ms,
            where=self.where or None,
        )
        took = time.monotonic() - began
        if report.ok and loaded is not None:
            self._swap(role, loaded, current)  # first: the record can wait, the traffic not
            self.echo(
                f"{self.name}: swapped in version {version} as {role} (was {was}; checked in "
                f"{took:.1f}s)"
            )
        else:
            self.rejected[role] = version
            shutil.rmtree(path, ignore_errors=True)
            self.echo(
                f"error: {self.name} version {version} not swapped in ({was} keeps serving): "
                f"{report.reason()}"
            )
        try:
            checks.record(client, report)
            if not report.ok:
                client.set_model_version_tag(
                    self.name, version, REJECTED_TAG, f"{checks.now()}: {report.reason()}"[:4000]
                )
        except Exception as e:  # noqa: BLE001 - the verdict stands without its record
            self.echo(f"warning: could not record the checks on version {version}: {e}")

    def _swap(self, role: str, loaded: Loaded, current: Loaded | None) -> None:
        """Swap `loaded` in; keep the one it replaces, loaded, for a rollback. Files go with
        the version before that: a request that started on it (or a shadow copy still queued)
        may still read them."""
        self.live.swap(role, loaded)
        self.rejected.pop(role, None)
        older = self._previous.get(role)
        if older is not None and older is not loaded and older.path is not None:
            shutil.rmtree(older.path, ignore_errors=True)
        if current is not None:
            self._previous[role] = current

    def _outage(self, e: BaseException) -> None:
        if self.outage_since is None:
            self.outage_since = time.time()
            serving = self.live.champion.version
            self.echo(
                f"warning: the registry does not answer ({models.outage_reason(e)}); still "
                f"serving {self.name} version {serving}, retrying every {self.interval:g}s"
            )

    def _recovered(self) -> None:
        if self.outage_since is not None:
            took = time.time() - self.outage_since
            self.outage_since = None
            self.echo(f"the registry answers again (after {took:.0f}s); following {self.name}")
