"""The page of an executed notebook keeps its text, tables and pictures and loses everything that
could run (the same page in Chromium: tests/ui/test_rendered_pages.py)."""

from __future__ import annotations

import base64
from html.parser import HTMLParser
from pathlib import Path

import pytest
from support.notebooks import code, markdown, write_notebook

from jupyter_mlops.tracking.notebook_html import render, sanitize

RUNS = {"script", "iframe", "object", "embed", "svg", "style", "base", "meta", "form", "frame"}
RUNS |= {"link", "input", "button", "math", "template", "noscript"}


class Elements(HTMLParser):
    def __init__(self):
        super().__init__()
        self.found: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.found.append((tag, dict(attrs)))


def elements(html: str) -> list[tuple[str, dict]]:
    parser = Elements()
    parser.feed(html)
    return parser.found


def nothing_runs(html: str) -> None:
    for tag, attrs in elements(html):
        assert tag not in RUNS, tag
        for name, value in attrs.items():
            assert not name.startswith("on"), (tag, name)
            url = (value or "").strip().lower()
            assert not url.startswith(("javascript:", "vbscript:")), (tag, name, value)
            if url.startswith("data:"):
                assert (tag, name) == ("img", "src") and url.startswith("data:image/"), value


HOSTILE = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "<svg onload=alert(1)><circle r=5></circle></svg>",
    "<a href='javascript:alert(1)'>a</a>",
    "<a href=' JaVaScRiPt:alert(1)'>a</a>",
    "<a href='&#106;avascript:alert(1)'>a</a>",
    "<a href='data:text/html,<script>alert(1)</script>'>a</a>",
    "<img src='data:text/html;base64,PHNjcmlwdD4='>",
    "<iframe srcdoc='<script>alert(1)</script>'></iframe>",
    "<object data='data:text/html,x'></object><embed src='x.swf'>",
    "<details open ontoggle=alert(1)>d</details>",
    "<form><button formaction='javascript:alert(1)'>b</button></form>",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    "<meta http-equiv=refresh content='0;url=javascript:alert(1)'>",
    "<base href='javascript:alert(1)//'>",
    "<div style='background:url(javascript:alert(1))'>s</div>",
    "<body onload=alert(1)>",
    "<noscript><p title='</noscript><img src=x onerror=alert(1)>'></noscript>",
    "<template><script>alert(1)</script></template>",
]


@pytest.mark.parametrize("vector", HOSTILE)
def test_the_sanitizer_leaves_nothing_that_runs(vector):
    nothing_runs(sanitize(f"<p>before</p>{vector}<p>after</p>"))


def test_text_tables_links_and_pictures_stay():
    png = base64.b64encode(b"\x89PNG\r\n\x1a\n").decode()
    kept = sanitize(
        '<div class="output_html"><table class="dataframe"><thead><tr><th>a</th></tr></thead>'
        "<tbody><tr><td>1</td></tr></tbody></table>"
        f'<img src="data:image/png;base64,{png}" alt="plot">'
        '<a href="https://example.org/x">docs</a><h2 id="part">Part</h2></div>'
    )
    tags = [tag for tag, _ in elements(kept)]
    assert tags == ["div", "table", "thead", "tr", "th", "tbody", "tr", "td", "img", "a", "h2"]
    assert f"data:image/png;base64,{png}" in kept and 'href="https://example.org/x"' in kept
    assert 'class="dataframe"' in kept and 'id="part"' in kept


def test_a_rendered_page_forbids_scripts_and_keeps_the_outputs(tmp_path: Path):
    svg = '<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><rect width="1"/></svg>'
    notebook = write_notebook(
        tmp_path / "step.ipynb",
        markdown("# Title\n\n<script>alert(1)</script> [x](javascript:alert(1))"),
        code(
            "show()",
            outputs=[
                {
                    "output_type": "display_data",
                    "metadata": {},
                    "data": {"text/html": "<script>alert(1)</script><p>kept <b>html</b>"},
                },
                {
                    "output_type": "display_data",
                    "metadata": {},
                    "data": {"application/javascript": "alert(1)", "text/plain": "js"},
                },
                {"output_type": "display_data", "metadata": {}, "data": {"image/svg+xml": svg}},
                {"output_type": "stream", "name": "stdout", "text": "<script>alert(2)</script>"},
            ],
        ),
    )
    page = render(notebook, "a <title> & more")
    head, body = page.split("</head>", 1)
    assert "Content-Security-Policy" in head and "default-src 'none'" in head
    assert "<title>a &lt;title&gt; &amp; more</title>" in head
    nothing_runs(body)
    assert "kept <b>html</b>" in body and "&lt;script&gt;alert(2)&lt;/script&gt;" in body
    assert 'src="data:image/svg+xml;base64,' in body  # the picture, where no script runs
