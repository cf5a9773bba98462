"""The open notebook's pipeline: the tag grammar, and compiling saved or unsaved notebooks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import tornado

from jupyter_mlops.server.base import ApiError, MlopsHandler, one_line, safe
from jupyter_mlops.server.paths import resolve


class GrammarHandler(MlopsHandler):
    """GET grammar: the tag table the cell-tag editor offers (nb2pipe.compile.tags is its source)."""

    @tornado.web.authenticated
    def get(self) -> None:
        from nb2pipe.compile.tag_table import grammar

        self.reply({"tags": grammar()})


class PipelineHandler(MlopsHandler):
    """POST pipeline: compile the notebook at `path`, or its unsaved `content`."""

    @tornado.web.authenticated
    async def post(self) -> None:
        body = self.body()
        path, content = body.get("path"), body.get("content")
        if content is not None and not isinstance(content, dict):
            raise ApiError(400, "content: the notebook's JSON object")
        # Unsaved content may belong to a notebook not written yet: its folder must still be
        # inside the root.
        notebook = resolve(self.state.root, path, must_exist=content is None)
        self.reply(await self.blocking(check, notebook, path, content, self.state.root))


def check(notebook: Path, shown: str, content: dict | None, root: Path) -> dict[str, Any]:
    """`nb2pipe check --format json` for the sidebar: the summary, or the error and its cell."""
    from nb2pipe.compile.compiler import compile_notebook, compile_notebook_data
    from nb2pipe.compile.show import summary
    from nb2pipe.errors import Nb2PipeError

    try:
        if content is None:
            pipeline = compile_notebook(notebook)
        else:
            pipeline = compile_notebook_data(content, notebook)
    except Nb2PipeError as e:
        return {
            "ok": False,
            "error": {
                "file": shown,
                "cell": e.cell,
                "message": one_line(safe(e.message, root)),
                "kind": type(e).__name__,
            },
        }
    return {"ok": True, **summary(pipeline)}
