"""How a value is written for the next step: one serializer per kind of value, chosen by type.

The serializers are plugins of the kind "serializer" (nb2pipe/plugins.py lists the built-in ones,
in the order they are tried; other packages add theirs under the ``nb2pipe.serializers``
entry-point group). A serializer names the classes it takes in `types`, as
``"package.ClassName"``: a class called ClassName defined anywhere in that package, so that
``"xgboost.Booster"`` matches `xgboost.core.Booster` wherever a release moves it. A value is
matched along its class's MRO, most specific class first, so a subclass of a known type gets
that type's serializer; serializers without `types` (JSON, cloudpickle) are tried after them.
Matching reads only class names: no library is imported to recognise its types (this module is
imported in every step kernel), and a framework is imported only when one of its values is
written or read.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from nb2pipe.errors import ArtifactError
from nb2pipe.plugins import registry


class Serializer:
    """One on-disk format: which values it takes and how it writes and reads them."""

    name: str = ""
    extension: str = ""
    # Classes this format is for, as "package.ClassName" (see the module's docstring). Empty:
    # a general format, asked through `accepts` for every value, after the typed ones.
    types: tuple[str, ...] = ()
    # Whether a value of a subclass from another package (a notebook's own class) comes back
    # as that class. If not, only the named package's own subclasses are given to this format.
    subclasses = False

    def accepts(self, value: Any) -> bool:
        """Whether this format stores `value` so that `load` gives back an equal value (for a
        typed serializer, asked only once the value's type matched)."""
        return bool(self.types)

    def dump(self, value: Any, path: Path) -> dict[str, Any] | None:
        """Write `value` to `path`; may return extra fields for its manifest entry (with
        "sha256" if it hashed the bytes as it wrote them). The entry is given back to `load`."""
        raise NotImplementedError

    def load(self, path: Path, entry: Mapping[str, Any]) -> Any:
        """Read back a value written by `dump`; `entry` is its manifest entry."""
        raise NotImplementedError

    # Reading this format runs no code from the file (data only, no pickle): the loader may
    # check the file's sha256 while it reads, instead of before.
    inert = False


def library(module: str) -> dict[str, str]:
    """The manifest fields naming the library that wrote a file, and its version."""
    imported = sys.modules.get(module) or __import__(module)
    return {"library": module, "library_version": str(getattr(imported, "__version__", ""))}


def type_key(cls: type) -> tuple[str, str]:
    """(top-level package, class name): what a "package.ClassName" in `types` names."""
    return cls.__module__.partition(".")[0], cls.__qualname__


def _declared_key(declared: str) -> tuple[str, str]:
    package, _, rest = declared.partition(".")
    return package, rest.rpartition(".")[2]


# Tried in order (the built-ins are declared in nb2pipe/plugins.py).
SERIALIZERS = registry("serializer")


def register(serializer: Serializer, before: str | None = None) -> None:
    """Add `serializer` in front of the one named `before` (default: in front of all)."""
    first = next(iter(SERIALIZERS), None)
    SERIALIZERS.register(serializer.name, serializer, before=before or first)


def candidates(value: Any) -> Iterator[Serializer]:
    """The serializers that take `value`, in the order `save` tries them: those declared for a
    class of its MRO (most specific class first, registry order among equals), then the
    general ones."""
    everything = SERIALIZERS.values()
    by_type: dict[tuple[str, str], list[Serializer]] = {}
    for serializer in everything:
        for declared in serializer.types:
            by_type.setdefault(_declared_key(declared), []).append(serializer)
    tried: list[Serializer] = []
    package = type_key(type(value))[0]
    for cls in type(value).__mro__[:-1]:  # `object` names no format
        key = type_key(cls)
        for serializer in by_type.get(key, ()):
            if serializer not in tried and (serializer.subclasses or key[0] == package):
                tried.append(serializer)
                if serializer.accepts(value):
                    yield serializer
    for serializer in everything:
        if not serializer.types and serializer.accepts(value):
            yield serializer


def serializer_for(value: Any) -> Serializer:
    """The serializer that `save` tries first for `value`, chosen by its type."""
    for serializer in candidates(value):
        return serializer
    raise ArtifactError(f"no serializer accepts a value of type {type_name(value)}")


def type_name(value: Any) -> str:
    return f"{type(value).__module__}.{type(value).__qualname__}"
