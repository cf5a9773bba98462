"""Neural networks between steps: PyTorch modules and tensors (`torch.save`), Keras 3 and
tf.keras models (the `.keras` format)."""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .serializers import Serializer, library, type_key


class TorchSerializer(Serializer):
    """PyTorch modules, tensors and parameters with `torch.save`, read back on the device they
    were on (on the CPU where that device is missing).

    torch.save pickles the module and writes every tensor's storage as a record of its own, from
    the tensor's memory; its pickler is cloudpickle's, so a network class defined in the
    notebook travels by value (the next step need not define it), as a library's class travels
    by reference.
    """

    name, extension = "torch", "pt"
    types = ("torch.nn.Module", "torch.Tensor")
    subclasses = True  # pickled: a class travels by reference or (the notebook's) by value

    def dump(self, value: Any, path: Path) -> dict[str, Any]:
        import cloudpickle
        import torch

        with open(path, "wb") as f:
            torch.save(value, f, pickle_module=cloudpickle)
        return {"device": _device(value), **library("torch")}

    def load(self, path: Path, entry: Mapping[str, Any]) -> Any:
        import torch

        device = entry.get("device", "cpu")
        # A GPU value read where no GPU is: on the CPU, as Run All on this machine would have it.
        here = device == "cpu" or (device.startswith("cuda") and torch.cuda.is_available())
        with open(path, "rb") as f:
            # weights_only=False: a whole module is a pickle (checked against its sha256 first).
            return torch.load(f, map_location=None if here else "cpu", weights_only=False)


def _device(value: Any) -> str:
    if hasattr(value, "device"):
        return str(value.device)
    for tensor in (*value.parameters(), *value.buffers()):
        return str(tensor.device)
    return "cpu"


class KerasSerializer(Serializer):
    """Keras 3 and tf.keras models in the `.keras` format (architecture, weights, optimizer
    state, compile settings), through the model's own `save` and `load_model`.

    Layers and models the notebook defines itself are found by name in the reading step (the
    `functions` cell that defines them runs in every step). Keras 3 runs on the backend it ran
    on when the model was saved (`KERAS_BACKEND`, e.g. torch) unless the step chose one.
    """

    name, extension = "keras", "keras"
    types = ("keras.Model", "tf_keras.Model", "tensorflow.Model")
    subclasses = True  # a notebook's own layers and models are found by name when read

    def dump(self, value: Any, path: Path) -> dict[str, Any]:
        package = type(value).__module__.partition(".")[0]
        # `save` chooses the format by the file's suffix: write beside the temp file, then move.
        named = path.with_name(path.name + ".keras")
        try:
            value.save(str(named))
            os.replace(named, path)
        finally:
            named.unlink(missing_ok=True)
        keras = sys.modules[package]
        chosen = {"backend": keras.backend.backend()} if package == "keras" else {}
        return {**chosen, **library(package)}

    def load(self, path: Path, entry: Mapping[str, Any]) -> Any:
        package = entry.get("library", "keras")
        if package not in ("keras", "tf_keras", "tensorflow"):
            raise ValueError(f"not a Keras library: {package!r}")
        if package == "keras" and "keras" not in sys.modules and "backend" in entry:
            os.environ.setdefault("KERAS_BACKEND", entry["backend"])
        keras = importlib.import_module(package)
        models = keras.keras.models if package == "tensorflow" else keras.models
        return models.load_model(str(path), custom_objects=_notebook_classes(package))


def _notebook_classes(package: str) -> dict[str, type]:
    """Classes defined in the notebook (`__main__`) that derive from `package`'s own."""
    main = sys.modules.get("__main__")
    found = {}
    for name, member in vars(main).items() if main else ():
        if isinstance(member, type) and member.__module__ == "__main__":
            if any(type_key(cls)[0] == package for cls in member.__mro__):
                found[name] = member
    return found
