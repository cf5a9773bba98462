"""An executed step notebook as one lean, self-contained HTML page.

nbconvert's `basic` template gives the cells and outputs without the 280 KB of the `lab`
template's CSS or its scripts fetched from a CDN (unreachable on a closed network); a short
stylesheet and pygments' highlighting make it readable. The same page is logged as an artifact
of the step's MLflow run (the MLflow UI shows it rendered) and shown by the sidebar.

It runs no script, wherever it is opened: a step's outputs are whatever its code displayed
(`HTML('<script>…')`, `<img onerror=…>`, `Javascript(…)`, an SVG with `onload`, a
`javascript:` link, an `<iframe srcdoc>`), and nbconvert writes them into the page as they
are. So the whole body nbconvert renders goes through nh3 (the Ammonia sanitizer) with an
allow-list of markup — no script, style, frame, object, form or event handler attribute,
links to http(s)/mailto only, `data:` URLs only as images — and the page forbids scripts
in its Content-Security-Policy as well. Pictures stay: nbconvert draws SVG outputs as
`<img src="data:image/svg+xml;…">`, in which a browser runs no script.
"""

from __future__ import annotations

import functools
import html
import re
import threading
from pathlib import Path

HTML_NAME = "notebook.html"
_exporting = threading.Lock()  # one exporter serves every page; it is not thread-safe

_STYLE = """
body { font: 13px/1.45 system-ui, sans-serif; margin: 12px; color: #212121; background: #fff; }
h1.nb-title { font-size: 15px; margin: 0 0 10px; }
.cell { margin: 0 0 10px; }
.prompt { font: 11px monospace; color: #616161; }
.input_area { background: #f5f5f5; border: 1px solid #e0e0e0; border-radius: 2px; }
pre { margin: 0; padding: 4px 6px; overflow-x: auto; font: 12px/1.35 monospace; }
.output_area pre, .output_subarea pre { background: none; border: 0; }
.output_stderr { background: #fdd; }
.output_error pre { background: #fdd; }
table { border-collapse: collapse; font-size: 12px; }
td, th { border: 1px solid #e0e0e0; padding: 2px 6px; text-align: right; }
img { max-width: 100%; }
.anchor-link { display: none; }
"""


# Scripts never run in this page, even if something slipped through the sanitizer.
_POLICY = "default-src 'none'; img-src data: https:; style-src 'unsafe-inline'"
# Removed with their content (the rest of what is not allowed is removed, its text kept).
_REMOVED = {"script", "style", "iframe", "object", "embed", "noscript", "template", "svg"}
_REMOVED |= {"math", "title", "textarea", "select", "xmp", "noembed", "noframes"}
_IMAGE_DATA = re.compile(r"data:image/(png|jpeg|gif|webp|svg\+xml);base64,[A-Za-z0-9+/=\s]*\Z")


def sanitize(body: str) -> str:
    """`body` (HTML) with nothing that can run: the one sanitizer of every page we render."""
    import nh3

    attributes = {tag: set(names) for tag, names in nh3.ALLOWED_ATTRIBUTES.items()}
    attributes["*"] = {"class", "id", "title"}
    return nh3.clean(
        body,
        tags=(set(nh3.ALLOWED_TAGS) | {"tfoot"}) - _REMOVED,
        clean_content_tags=_REMOVED,
        attributes=attributes,
        attribute_filter=_only_image_data,
        url_schemes={"http", "https", "mailto", "data"},
        strip_comments=True,
    )


def _only_image_data(tag: str, attribute: str, value: str) -> str | None:
    """`data:` URLs are let through for pictures only (a `data:text/html` link is a page)."""
    if value.lstrip()[:5].lower() != "data:":
        return value
    return value if (tag, attribute) == ("img", "src") and _IMAGE_DATA.match(value) else None


@functools.cache
def _exporter():
    # Built once: a new exporter loads its templates and filters again (half of each page's
    # CPU when a run's steps are logged one after another).
    from nbconvert import HTMLExporter

    return HTMLExporter(template_name="basic")


@functools.cache
def _highlight_css() -> str:
    from pygments.formatters import HtmlFormatter

    return HtmlFormatter(style="default").get_style_defs(".highlight")


def render(notebook: Path, title: str) -> str:
    """The page of executed notebook `notebook`, headed `title`."""
    import nbformat

    node = nbformat.read(str(notebook), as_version=4)
    for cell in node.cells:  # each output alone first: its unclosed tags end with it
        for output in cell.get("outputs", []):
            data = output.get("data") or {}
            if isinstance(data.get("text/html"), str):
                data["text/html"] = sanitize(data["text/html"])
    with _exporting:
        body, _ = _exporter().from_notebook_node(node)
    body = sanitize(body)
    highlight = _highlight_css()
    name = html.escape(title)
    return (
        '<!DOCTYPE html>\n<html><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{_POLICY}">'
        f"<title>{name}</title><style>{_STYLE}{highlight}</style></head>\n"
        f'<body><h1 class="nb-title">{name}</h1>\n{body}\n</body></html>\n'
    )


def write(notebook: Path, title: str, folder: Path) -> Path:
    """Render `notebook` into `folder`/notebook.html (a folder of the caller's, never a run's)."""
    target = folder / HTML_NAME
    target.write_text(render(notebook, title), encoding="utf-8")
    return target
