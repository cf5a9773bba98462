"""Export targets: where a compiled pipeline can run besides the local runner.

`export_targets` is a `nb2pipe.plugins.Registry`: the built-in targets (declared in
`plugins.KINDS`) and those other packages add under the ``nb2pipe.export_targets`` entry-point
group, each imported on first use, so importing this package costs nothing: it is also part of
the runtime copied into step images (see `images.py`), where only the standard library exists
besides the step's own requirements.
"""

from __future__ import annotations

from typing import Any, Protocol

from ..plugins import registry


class ExportTarget(Protocol):
    """Turns a pipeline and the image of each step into one file a cluster engine runs."""

    name: str
    description: str

    def export(self, pipeline: Any, images: dict[str, str]) -> str:
        """The exported file's text; `images` maps each step name to its image reference."""
        ...


export_targets = registry("export target")
