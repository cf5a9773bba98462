"""Canary and shadow on a real server (in a thread of this process: the same service as
`nb2pipe serve`), each prediction logged with its version; `rollout status` judged on logs
with feedback; `rollout promote|abort` through the CLI."""

from __future__ import annotations

import http.client
import json
from collections import Counter
from urllib.parse import urlsplit

import pytest
from support.project import cli, error_lines
from support.serving import MODEL, features, publish, publish_champion, trained

from jupyter_mlops.data.prediction_log import read_log
from jupyter_mlops.registry.aliases import history
from jupyter_mlops.serving import rollout
from jupyter_mlops.serving.live import Routing, bucket
from jupyter_mlops.serving.monitoring import record_feedback
from jupyter_mlops.serving.prediction_log import PredictionLog
from jupyter_mlops.serving.server import serve_in_thread

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    """v1 champion, v2 challenger (predicting differently), in an SQLite registry."""
    root = tmp_path_factory.mktemp("rollout")
    uri = publish_champion(root)
    model, data = trained(seed=2, boundary=0.4)
    assert publish(uri, MODEL, model, data, 0.95, promote=False) == "2"
    return uri, root


def post(conn, frame) -> tuple[dict, str]:
    body = json.dumps(
        {"dataframe_split": json.loads(frame.to_json(orient="split", index=False))}
    ).encode()
    conn.request("POST", "/invocations", body, {"Content-Type": "application/json"})
    response = conn.getresponse()
    payload = json.loads(response.read())
    assert response.status == 200, payload
    return payload, response.getheader("X-Model-Version")


def connect(server) -> http.client.HTTPConnection:
    parts = urlsplit(server.url)
    return http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)


def test_a_canary_answers_its_share_from_the_challenger(registry, tmp_path):
    uri, _ = registry
    log = tmp_path / "canary.jsonl"
    server = serve_in_thread(MODEL, log=log, tracking_uri=uri, routing=Routing("canary", 20))
    try:
        assert server.live()["challenger"] == "2"
        conn = connect(server)
        rows = features(2000, seed=9)
        headers = Counter(post(conn, rows.iloc[[i]])[1] for i in range(2000))
        conn.close()
    finally:
        server.stop()
    assert set(headers) == {"1", "2"}
    assert 0.15 <= headers["2"] / 2000 <= 0.25, headers
    logged = read_log(log)
    assert len(logged) == 2000
    by_version = logged.groupby("model_version")["path"].agg(set).to_dict()
    assert by_version == {"1": {"champion"}, "2": {"canary"}}
    assert Counter(logged["model_version"]) == headers


def test_a_canary_key_keeps_each_key_on_one_side(registry, tmp_path):
    uri, _ = registry
    server = serve_in_thread(
        MODEL, log=tmp_path / "keyed.jsonl", tracking_uri=uri, routing=Routing("canary", 50, "x")
    )
    try:
        conn = connect(server)
        batch = features(40, seed=4).round(3)  # keys that read back exactly from JSON
        answer, versions = post(conn, batch)  # one request, its rows split by key
        again, _ = post(conn, batch.iloc[::-1].reset_index(drop=True))
        conn.close()
    finally:
        server.stop()
    sides = ["2" if bucket(x) < 50 else "1" for x in batch["x"]]
    assert answer["model_versions"] == sides and set(sides) == {"1", "2"}
    assert versions == "1,2" or versions == "2,1"
    assert again["model_versions"] == sides[::-1]  # the same keys, the same sides


def test_a_shadow_mirrors_everything_and_answers_nothing(registry, tmp_path):
    uri, _ = registry
    log = tmp_path / "shadow.jsonl"
    server = serve_in_thread(MODEL, log=log, tracking_uri=uri, routing=Routing("shadow"))
    try:
        conn = connect(server)
        rows = features(300, seed=10)
        answered = [post(conn, rows.iloc[[i]]) for i in range(300)]
        conn.close()
        assert server.service.live.drain(60)
        shadow = server.live()["shadow"]
    finally:
        server.stop()
    assert {version for _, version in answered} == {"1"}
    assert shadow == {"mirrored": 300, "failed": 0, "dropped": 0, "last_error": None}
    logged = read_log(log)
    champion = logged[logged["path"] == "champion"]
    mirrored = logged[logged["path"] == "shadow"]
    assert set(champion["model_version"]) == {"1"} and set(mirrored["model_version"]) == {"2"}
    ids = [body["prediction_ids"][0] for body, _ in answered]
    assert sorted(champion["id"]) == sorted(mirrored["id"]) == sorted(ids)


def write_rollout(path, n: int, champion_right: float, challenger_right: float, shadow=False):
    """A log of `n` labelled predictions per side, right as often as asked."""
    log = PredictionLog(path)
    lines, labels = [], {}
    for side, version, right in (
        ("champion", "1", champion_right),
        ("canary", "2", challenger_right),
    ):
        for i in range(n):
            pid = f"r{i}" if shadow else f"{side}{i}"
            label = i % 2
            hit = (i * 7919) % n < right * n  # a fixed, evenly spread share of hits
            route = "shadow" if shadow and side == "canary" else side
            lines.append(
                {
                    "id": pid,
                    "ts": 1.0,
                    "model": MODEL,
                    "version": version,
                    "model_version": version,
                    "path": route,
                    "latency_ms": 1.0 + (version == "2"),
                    "inputs": {"x": float(i)},
                    "prediction": label if hit else 1 - label,
                }
            )
            labels[pid] = label
    log.append(lines)
    record_feedback(log, labels)
    return path


def test_rollout_status_decides_on_feedback(tmp_path):
    better = write_rollout(tmp_path / "better.jsonl", 300, 0.70, 0.90)
    found = rollout.status(better, MODEL, "1", "2")
    assert found.verdict == rollout.PROMOTE, found.lines()
    assert found.champion.labelled == found.challenger.labelled == 300
    assert found.champion.interval[0] < found.champion.value < found.champion.interval[1]
    assert found.interval[0] > 0 and found.mode == "canary"
    assert found.challenger.p50_ms == 2.0 and found.champion.p50_ms == 1.0
    assert "chi-square" in found.drift

    worse = write_rollout(tmp_path / "worse.jsonl", 300, 0.90, 0.70)
    assert rollout.status(worse, MODEL, "1", "2").verdict == rollout.KEEP

    little = write_rollout(tmp_path / "little.jsonl", 5, 0.2, 1.0)
    found = rollout.status(little, MODEL, "1", "2")
    assert found.verdict == rollout.UNDECIDED and "5 labelled predictions" in found.reason

    close = write_rollout(tmp_path / "close.jsonl", 300, 0.80, 0.81)
    found = rollout.status(close, MODEL, "1", "2")
    assert found.verdict == rollout.UNDECIDED and "holds 0" in found.reason

    shadow = write_rollout(tmp_path / "shadow.jsonl", 300, 0.70, 0.90, shadow=True)
    found = rollout.status(shadow, MODEL, "1", "2", metric="accuracy")
    assert found.mode == "shadow" and found.verdict == rollout.PROMOTE
    assert found.drift.startswith("agree on ") and "of 300 requests" in found.drift

    errors = write_rollout(tmp_path / "mae.jsonl", 300, 0.70, 0.90)
    assert rollout.status(errors, MODEL, "1", "2", metric="mae").verdict == rollout.PROMOTE


def test_rollout_commands(registry, tmp_path):
    uri, _ = registry
    env = {"MLFLOW_TRACKING_URI": uri}
    log = write_rollout(tmp_path / "predictions.jsonl", 300, 0.70, 0.90)
    done = cli("rollout", "status", MODEL, "--log", log, cwd=tmp_path, **env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1].startswith("verdict: promote: ")
    assert "challenger version 2" in done.stdout

    done = cli("rollout", "status", MODEL, "--log", log, "--metric", "nope", cwd=tmp_path, **env)
    assert done.returncode == 2 and "unknown metric 'nope'" in error_lines(done.stderr)[0]

    done = cli("rollout", "promote", MODEL, cwd=tmp_path, **env)
    assert done.returncode == 0, done.stderr
    assert f"{MODEL} version 2 is champion" in done.stdout
    done = cli("rollout", "abort", MODEL, cwd=tmp_path, **env)
    assert done.returncode == 2
    assert f"model '{MODEL}' has no challenger" in error_lines(done.stderr)[0]

    from jupyter_mlops.tracking import store

    moves = history(store.client(uri), MODEL)
    last = moves[-2:]
    assert [(m.alias, m.previous, m.to, m.kind) for m in last] == [
        ("champion", "1", "2", "rollout"),
        ("challenger", "2", None, "rollout"),
    ]
    assert all(m.who for m in moves)


def test_a_pinned_version_is_not_followed(registry, tmp_path):
    """`NAME/VERSION` serves that version whatever the aliases say."""
    import time

    from jupyter_mlops.registry.aliases import move_alias
    from jupyter_mlops.tracking import store

    uri, _ = registry
    move_alias(store.client(uri), MODEL, "champion", "2", why="for this test")
    server = serve_in_thread(f"{MODEL}/1", log=tmp_path / "pinned.jsonl", tracking_uri=uri)
    try:
        assert server.service.follower is None
        time.sleep(1)
        assert server.live()["version"] == "1" and server.live()["alias"] is None
        assert server.predict(features(3, seed=1))["model"]["version"] == "1"
    finally:
        server.stop()
