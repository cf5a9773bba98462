"""The prediction log: rotated by size, read in one pass across its parts (torn lines skipped),
predictions and feedback appended under one lock, ids it never issued known as such."""

from __future__ import annotations

import json
import threading

from support.project import frame

from jupyter_mlops.data.drift import drift_report
from jupyter_mlops.data.prediction_log import parts, read_log
from jupyter_mlops.serving.monitoring import feedback_path, labelled, record_feedback
from jupyter_mlops.serving.prediction_log import PredictionLog


def records(request: str, batch) -> list[dict]:
    return [
        {
            "id": f"{request}-{i}",
            "ts": 1.0,
            "model": "m",
            "version": "1",
            "inputs": row,
            "prediction": i % 2,
        }
        for i, row in enumerate(batch.to_dict(orient="records"))
    ]


def test_the_log_rotates_by_size_and_reads_across_parts(tmp_path):
    path = tmp_path / "predictions.jsonl"
    log = PredictionLog(path, max_bytes=4096)
    shifted = frame(600, seed=7, shift=0.8)
    for start in range(0, 600, 20):
        log.append(records(f"r{start:04d}", shifted.iloc[start : start + 20]))
    found = parts(path)
    assert len(found) > 5 and found[0].name == "predictions.part-000001.jsonl"
    assert all(p.stat().st_size < 4096 + 4000 for p in found)  # bounded, one request over
    logged = read_log(path)
    assert len(logged) == 600 and logged["id"].is_unique
    assert list(logged["id"].head(2)) == ["r0000-0", "r0000-1"]  # oldest part first
    assert logged["x"].tolist() == shifted["x"].tolist()
    assert list(logged.columns[:5]) == ["id", "ts", "model", "version", "prediction"]
    # Drift reads the inputs across all parts.
    report = drift_report(frame(1000, seed=1), path)
    assert report.rows["current"] == 600 and report.drifted_features == ["x"]


def test_a_torn_line_is_skipped(tmp_path):
    path = tmp_path / "predictions.jsonl"
    log = PredictionLog(path)
    log.append(records("a", frame(3, seed=1)))
    with open(path, "a") as f:
        f.write('{"id": "b-0", "ts": 1.0, "inp')  # a writer killed mid-line
        f.write("\n")
    log.append(records("c", frame(2, seed=2)))
    assert list(read_log(path)["id"]) == ["a-0", "a-1", "a-2", "c-0", "c-1"]
    with open(path, "a") as f:
        f.write('{"id": "d-0"')  # still being written: not read yet
    assert len(read_log(path)) == 5


def test_predictions_and_feedback_share_one_lock(tmp_path):
    path = tmp_path / "predictions.jsonl"
    server_side, notebook_side = PredictionLog(path), PredictionLog(path)
    batch = frame(50, seed=3)

    def predict(n: int) -> None:
        for k in range(40):
            server_side.append(records(f"p{n}x{k}", batch))

    def label(n: int) -> None:
        for k in range(40):
            record_feedback(notebook_side, {f"p{n}x{k}-{i}": i % 2 for i in range(50)})

    threads = [threading.Thread(target=f, args=(n,)) for n in range(3) for f in (predict, label)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for file in (path, feedback_path(path)):
        lines = file.read_text().splitlines()
        assert len(lines) == 3 * 40 * 50 and all(json.loads(line) for line in lines)
    assert len(labelled(path)) == 3 * 40 * 50


def test_unknown_ids_are_named(tmp_path):
    path = tmp_path / "predictions.jsonl"
    PredictionLog(path).append(records("abc", frame(3, seed=1)))
    log = PredictionLog(path)  # a later server: learns the issued ids from the log
    assert log.unknown(["abc-0", "abc-2", "abc-3", "zzz-0", "nonsense"]) == [
        "abc-3",
        "zzz-0",
        "nonsense",
    ]
    log.append(records("def", frame(1, seed=2)))
    assert log.unknown(["def-0"]) == []
