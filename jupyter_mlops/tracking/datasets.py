"""What a run read and made, as MLflow dataset inputs named by their content hash.

DataFrame artifacts: only the file's schema and row count are read (the Arrow IPC footer, or
Parquet's for artifacts of earlier versions), never the data, so logging a large table costs
milliseconds. Data files a step read (its literal paths, `inputs:` tags, string parameters
naming files; run.json's ``data_files``): named by their path, with their sha256 as digest and
their size in the profile — the data version of the run, by content.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

# MLflow stores a dataset digest in a 36-character column; the full sha256 goes in a tag.
DIGEST_LENGTH = 36
SHA256_TAG = "nb2pipe.sha256"
ARTIFACT_TAG = "nb2pipe.artifact"
CONTEXT_TAG = "mlflow.data.context"  # how MLflow's UI labels an input ("training", ...)

_ARROW_TO_MLFLOW = {
    "bool": "boolean",
    "int8": "integer",
    "int16": "integer",
    "int32": "integer",
    "int64": "long",
    "uint8": "integer",
    "uint16": "integer",
    "uint32": "long",
    "uint64": "long",
    "float": "float",
    "halffloat": "float",
    "double": "double",
    "string": "string",
    "large_string": "string",
    "binary": "binary",
    "large_binary": "binary",
}


def _mlflow_type(arrow_type: Any) -> str:
    name = str(arrow_type)
    if name.startswith("timestamp") or name.startswith("date"):
        return "datetime"
    return _ARROW_TO_MLFLOW.get(name, "string")


# The artifact serializers whose files are tables (nb2pipe.artifacts.serializers).
TABLES = ("arrow",)


def _shape(path: Path) -> tuple[Any, int]:
    """The schema and row count of an Arrow IPC file, from its footer."""
    import pyarrow as pa

    with pa.memory_map(str(path)) as source:
        reader = pa.ipc.open_file(source)
        rows = sum(reader.get_batch(i).num_rows for i in range(reader.num_record_batches))
        return reader.schema, rows


def describe(path: Path) -> tuple[str, str]:
    """MLflow's schema and profile JSON of a table artifact, from its footer only."""
    schema, rows = _shape(path)
    columns = [
        {"type": _mlflow_type(f.type), "name": f.name, "required": not f.nullable}
        for f in schema
        if not f.name.startswith("__index_level_")  # pandas' stored index, not data
    ]
    profile = {"num_rows": rows, "num_elements": rows * len(columns)}
    return json.dumps({"mlflow_colspec": columns}), json.dumps(profile)


def dataset_input(producer: str, name: str, path: Path, sha256: str, context: str):
    """An MLflow `DatasetInput` for artifact `name` of step `producer` stored at `path`."""
    from mlflow.entities import Dataset, DatasetInput, InputTag

    try:
        schema, profile = describe(path)
    except Exception:  # an unreadable footer must not stop tracking; the hash still names it
        schema, profile = None, None
    dataset = Dataset(
        name=f"{producer}.{name}",
        digest=sha256[:DIGEST_LENGTH],
        source_type="local",
        source=json.dumps({"uri": path.resolve().as_uri()}),
        schema=schema,
        profile=profile,
    )
    tags = [
        InputTag(CONTEXT_TAG, context),
        InputTag(SHA256_TAG, sha256),
        InputTag(ARTIFACT_TAG, f"{producer}.{name}"),
    ]
    return DatasetInput(dataset, tags)


DATA_FILE_CONTEXT = "data file"


def data_file_input(path: str, entry: dict, root: Path):
    """A `DatasetInput` for data file `path` (relative to the notebook's folder `root`) as
    run.json's ``data_files`` records it: sha256 and size."""
    from mlflow.entities import Dataset, DatasetInput, InputTag

    sha256 = str(entry.get("sha256") or "")
    dataset = Dataset(
        name=path,
        digest=sha256[:DIGEST_LENGTH],
        source_type="local",
        source=json.dumps({"uri": (Path(root) / path).resolve().as_uri()}),
        profile=json.dumps({"size_bytes": entry.get("size")}),
    )
    tags = [InputTag(CONTEXT_TAG, DATA_FILE_CONTEXT), InputTag(SHA256_TAG, sha256)]
    return DatasetInput(dataset, tags)


def data_file_inputs(files: dict, root: Path) -> list:
    """Data files (run.json's ``data_files``, or a step's in its meta.json) as dataset inputs."""
    return [
        data_file_input(path, entry, root)
        for path, entry in sorted((files or {}).items())
        if isinstance(entry, dict)
    ]


def step_inputs(run, step: str, manifest: dict, meta: dict, info: dict) -> list:
    """A step run's dataset inputs: the tables it made and read, and the data files it read."""
    from nb2pipe.fileio import read_json

    out = []
    parts = meta.get("parts") or {}
    for name, entry in manifest.get("artifacts", {}).items():
        if entry.get("serializer") in TABLES:
            path = run.artifacts(step) / entry["file"]
            out.append(dataset_input(step, name, path, entry["sha256"], "output"))
    for ref in parts.get("inputs") or {}:
        producer, _, name = ref.partition(".")
        upstream = read_json(run.artifacts(producer) / "manifest.json") or {}
        entry = upstream.get("artifacts", {}).get(name)
        if entry and entry.get("serializer") in TABLES:
            path = run.artifacts(producer) / entry["file"]
            out.append(dataset_input(producer, name, path, entry["sha256"], "input"))
    source = Path(info.get("source") or run.path)
    return out + data_file_inputs(meta.get("data_files"), source.parent)
