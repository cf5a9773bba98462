"""The frames a `features:ENTITY` step publishes: every DataFrame it binds that holds the
ENTITY column, saved as artifacts of the step whether or not a later step reads them (the
feature store reads them once the step has finished)."""

from typing import Any


def save_entity_frames(run_dir, step: str, entity: str, namespace: dict, names: list[str]) -> None:
    """Save the DataFrames among `names` (in `namespace`) that hold the column `entity`."""
    from . import save

    frames: dict[str, Any] = {}
    for name in names:
        value = namespace.get(name)
        kind = type(value)
        if kind.__name__ == "DataFrame" and kind.__module__.startswith("pandas"):
            if entity in value.columns:
                frames[name] = value
    if frames:
        save(run_dir, step, **frames)
