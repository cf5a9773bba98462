"""The pages we render from an executed step notebook run no script, in Chromium: the
sidebar route's page and the `notebook.html` logged to MLflow, for a step that displayed every
kind of script we know of (and a table, a picture and text that must stay)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import requests
from support.commands import run_script
from support.notebooks import code, markdown, write_notebook
from support.servers import (
    free_port,
    jupyter_command,
    log_tail,
    start_logged,
    stop_process,
    wait_ready,
)

pytestmark = pytest.mark.slow

TOKEN = "pages-test-token"
# Each vector calls pwned(NAME) if it runs; the page's own text, table and picture must stay.
VECTORS = r"""
from IPython.display import HTML, Javascript, SVG, Markdown, display
import pandas as pd
display(HTML('<script>pwned("script")</script><p id="kept">kept text</p>'))
display(HTML('<img src=x onerror="pwned(\'img onerror\')">'))
display(Javascript('pwned("Javascript output")'))
display(HTML('<svg onload="pwned(\'svg onload\')"><circle r="5"/></svg>'))
display(SVG('<svg xmlns="http://www.w3.org/2000/svg" onload="pwned(\'SVG output\')" '
            'width="10" height="10"><script>pwned("SVG script")</script>'
            '<rect width="10" height="10"/></svg>'))
display(HTML('<a href="javascript:pwned(\'javascript: link\')">a</a>'))
display(HTML('<a href=" JaVaScRiPt:pwned(\'mixed case link\')">b</a>'))
display(HTML('<a href="data:text/html,<script>opener.pwned(1)</script>">c</a>'))
display(HTML('<iframe srcdoc="<script>parent.pwned(\'iframe srcdoc\')</script>"></iframe>'))
display(HTML('<object data="data:text/html,<script>parent.pwned(\'object\')</script>"></object>'))
display(HTML('<embed src="data:text/html,<script>parent.pwned(\'embed\')</script>">'))
display(HTML('<details open ontoggle="pwned(\'ontoggle\')"><summary>s</summary>d</details>'))
display(HTML('<input autofocus onfocus="pwned(\'onfocus\')">'))
display(HTML('<form><button formaction="javascript:pwned(\'formaction\')">f</button></form>'))
display(HTML('<math><mtext><table><mglyph><style><img src=x onerror="pwned(\'mxss\')">'))
display(HTML('<meta http-equiv="refresh" content="0;url=javascript:pwned(\'meta\')">'))
display(HTML('<body onload="pwned(\'body onload\')">'))
display(HTML('<video><source onerror="pwned(\'source onerror\')"></video>'))
display(HTML('<base href="javascript:pwned(\'base\')//"><a href="x">relative</a>'))
display(HTML('<div style="background:url(javascript:pwned(\'style\'))">styled</div>'))
display(Markdown('[md](javascript:pwned("markdown link")) <img src=x onerror=pwned("md img")>'))
display(pd.DataFrame({"a": [1, 2], "b": ["x", "y"]}))
print("<script>pwned('stream')</script>")
"""
MARKDOWN = (
    "# Hostile outputs\n\n<script>pwned('markdown cell')</script> "
    "<img src=x onerror=pwned('markdown cell img')> [x](javascript:pwned('markdown cell link'))"
)


@pytest.fixture(scope="module")
def hostile_run(tmp_path_factory) -> tuple[Path, str, str]:
    """The hostile notebook run as a tracked pipeline: (its folder, run id, MLflow URI)."""
    root = tmp_path_factory.mktemp("pages")
    (root / "pyproject.toml").write_text("[project]\nname = 'pages'\n")
    write_notebook(root / "hostile.ipynb", code(VECTORS, "step:show"), markdown(MARKDOWN))
    uri = f"sqlite:///{root / 'mlflow.db'}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "NB2PIPE_"))}
    env["MLFLOW_TRACKING_URI"] = uri
    done = run_script("nb2pipe", "run", "hostile.ipynb", cwd=root, env=env, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    [run] = (root / ".nb2pipe" / "runs").iterdir()
    return root, run.name, uri


def mlflow_page(root: Path, run_id: str, uri: str) -> str:
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=uri)
    [step] = client.search_runs(
        [e.experiment_id for e in client.search_experiments()],
        filter_string=f"tags.`nb2pipe.step` = 'show' and tags.`nb2pipe.run_id` = '{run_id}'",
    )
    page = client.download_artifacts(step.info.run_id, "notebook.html", str(root / "download"))
    return Path(page).read_text(encoding="utf-8")


def route_page(root: Path, run_id: str, tmp_path: Path) -> str:
    """The page of GET /mlops/runs/<id>/steps/show/notebook, from a real Jupyter server."""
    config = tmp_path / "config"
    config.mkdir()
    (config / "jupyter_server_config.json").write_text(
        json.dumps({"ServerApp": {"jpserver_extensions": {"jupyter_mlops": True}}})
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "NB2PIPE_"))}
    env.update(JUPYTER_CONFIG_DIR=str(config), JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"))
    port = free_port()
    command = jupyter_command("jupyter_server", port, TOKEN, root, "--allow-root")
    log = tmp_path / "jupyter.log"
    process = start_logged(command, log, cwd=root, env=env)
    url = f"http://127.0.0.1:{port}/mlops/runs/{run_id}/steps/show/notebook"
    headers = {"Authorization": f"token {TOKEN}"}
    try:
        wait_ready(
            process,
            lambda: requests.get(url, headers=headers, timeout=30).status_code == 200,
            timeout=120,
            errors=(requests.ConnectionError,),
            name="jupyter server",
            tail=lambda: log_tail(log),
        )
        answer = requests.get(url, params={"path": "hostile.ipynb"}, headers=headers, timeout=60)
        assert answer.status_code == 200, answer.text
        return answer.json()["html"]
    finally:
        stop_process(process)


def scripts_run(browser, html: str, check=None) -> list:
    """Load `html` in a fresh page, run `check(page)`, then click each of its links (on the
    page loaded again each time: a link may navigate away); say which vectors called pwned()."""
    calls: list = []
    context = browser.new_context()
    context.expose_function("pwned", lambda *args: calls.append(args))
    try:
        page = context.new_page()
        page.on("dialog", lambda d: (calls.append(("dialog", d.message)), d.dismiss()))
        page.set_content(html)
        page.wait_for_timeout(300)
        if check is not None:
            check(page)
        for index in range(page.locator("a").count()):
            page.set_content(html)
            try:
                page.locator("a").nth(index).click(timeout=2000)
            except Exception:  # noqa: BLE001 - a link that cannot be clicked runs nothing
                pass
            page.wait_for_timeout(200)
    finally:
        context.close()
    return calls


def test_the_probe_sees_a_script_that_runs(browser):
    calls = scripts_run(
        browser, "<a href='javascript:pwned(\"link\")'>x</a><script>pwned(1)</script>"
    )
    assert sorted(calls, key=str) == [("link",), (1,), (1,)]


@pytest.mark.parametrize("where", ["sidebar route", "MLflow artifact"])
def test_a_rendered_step_page_runs_no_script_and_keeps_its_content(
    browser, hostile_run, tmp_path, where
):
    root, run_id, uri = hostile_run
    html = route_page(root, run_id, tmp_path) if where == "sidebar route" else None
    html = html or mlflow_page(root, run_id, uri)

    def check(page) -> None:
        assert [frame.url for frame in page.frames] == ["about:blank"]  # no frame, no object
        assert page.locator("#kept").inner_text() == "kept text"
        assert page.locator("table td").count() >= 4  # the DataFrame
        pictures = page.locator("img[src^='data:image/svg+xml']")
        assert pictures.count() == 1 and pictures.evaluate("i => i.naturalWidth") == 10
        assert "<script>pwned('stream')</script>" in page.locator("body").inner_text()
        assert page.locator("h1", has_text="Hostile outputs").count() == 1

    assert scripts_run(browser, html, check) == []
