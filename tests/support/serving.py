"""Helpers of the serving tests and bench: features, the world's labels, a published model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

MODEL = "served"


def features(n: int, seed: int, shift: float = 0.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"x": rng.normal(shift, 1.0, n), "y": rng.normal(0.0, 1.0, n)})


def truth(frame: pd.DataFrame, boundary: float = 0.0) -> list[int]:
    """The label the world gives; the boundary moves when the concept drifts."""
    return (frame["x"] + 0.1 * frame["y"] > boundary).astype(int).tolist()


def publish_champion(root: Path, name: str = MODEL) -> str:
    """A model trained on `features(1000, seed=1)`, published and champion in a fresh SQLite
    store under `root` (with `reference.parquet`); the store's URI."""
    from sklearn.linear_model import LogisticRegression

    import jupyter_mlops
    from jupyter_mlops.tracking.session import SESSION

    uri = f"sqlite:///{root / 'mlflow.db'}"
    reference = features(1000, seed=1)
    reference.to_parquet(root / "reference.parquet")
    model = LogisticRegression().fit(reference, truth(reference))
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(root)  # nothing of MLflow's lands in the working directory of the tests
        mp.setenv("MLFLOW_TRACKING_URI", uri)
        mp.setenv("MLFLOW_EXPERIMENT_NAME", "serving")
        SESSION.reset()
        jupyter_mlops.publish_model(
            model, name, metric="accuracy", metrics={"accuracy": 0.99}, data=reference
        )
        jupyter_mlops.promote(name, "accuracy")
        SESSION.reset()
    return uri


def trained(seed: int = 1, boundary: float = 0.0):
    """A logistic regression fit on `features(1000, seed)` and the world's labels."""
    from sklearn.linear_model import LogisticRegression

    frame = features(1000, seed=seed)
    return LogisticRegression().fit(frame, truth(frame, boundary)), frame


def broken_model():
    """A model whose predict raises on any input, its input example included (defined here,
    inside a function, so cloudpickle carries the class itself into the registry)."""

    class FeatureStoreModel:
        def predict(self, frame):
            raise RuntimeError("the feature store does not answer")

    return FeatureStoreModel()


def publish(uri: str, name: str, model, data, accuracy: float, *, promote: bool = True) -> str:
    """Publish `model` as a new version of `name` into the registry at `uri` (with `data`, its
    input: the rows the deployment checks replay); then run the gate. The version."""
    import jupyter_mlops
    from jupyter_mlops.tracking.session import SESSION

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MLFLOW_TRACKING_URI", uri)
        mp.setenv("MLFLOW_EXPERIMENT_NAME", f"{name}-delivery")
        SESSION.reset()
        try:
            published = jupyter_mlops.publish_model(
                model, name, metric="accuracy", metrics={"accuracy": accuracy}, data=data
            )
        finally:
            SESSION.reset()
    if promote:
        gate(uri, name)
    return published.version


def gate(uri: str, name: str) -> None:
    """The model gate on `name` in the registry at `uri` (accuracy, higher is better)."""
    from jupyter_mlops.registry.promote import promote

    promote(name, "accuracy", tracking_uri=uri)


class Relay:
    """A TCP relay on 127.0.0.1 to `target` (host, port): the serving process reaches the
    registry through it, and `cut()` makes the registry unreachable (connections refused)
    until `restore()`, a real outage as a client meets it."""

    def __init__(self, target: tuple[str, int]):
        import socket

        self.target = target
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self._listener = None
        self._open: list = []
        self.restore()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def restore(self) -> None:
        import socket
        import threading

        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def _accept(self, listener) -> None:
        import socket
        import threading

        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=30)
            except OSError:
                client.close()
                continue
            self._open += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(source, sink) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for s in (source, sink):
                try:
                    s.close()
                except OSError:
                    pass

    def cut(self) -> None:
        import socket

        # shutdown() first: on Linux, close() alone leaves a thread blocked in accept() with
        # the socket still listening.
        try:
            self._listener.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._listener.close()
        for s in self._open:
            try:
                s.shutdown(socket.SHUT_RDWR)
                s.close()
            except OSError:
                pass
        self._open = []
