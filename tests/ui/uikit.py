"""What the UI tests share besides fixtures: paths, the browser's flags, and the rule that a
missing browser fails under CI. Its own module, not conftest: several test folders have a
conftest.py, and `from conftest import` picks whichever was imported first."""

from __future__ import annotations

import contextlib
import json
import time
from pathlib import Path

from support.servers import unavailable

REPO = Path(__file__).resolve().parents[2]
NOTEBOOK = REPO / "example_notebooks" / "breast_cancer_diagnosis.ipynb"
LABEXTENSION_SRC = REPO / "labextension"
LABEXTENSION_BUILD = REPO / "jupyter_mlops" / "labextension"
# A test run writes its pictures here, never into docs/ (`make screenshots` refreshes those).
SCREENSHOTS = REPO / "build" / "screenshots"
AXE = LABEXTENSION_SRC / "node_modules" / "axe-core" / "axe.min.js"
VIEWPORT = {"width": 1440, "height": 900}
SERVER_START_TIMEOUT = 120.0

# Without the background-networking flags Chromium floods a closed network with connections.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


RUNNER_FOLDER = "from_a_cell"
RUNNER_NOTEBOOK = "run_from_a_cell.ipynb"


def write_runner_notebook(path: Path, pipeline: str) -> None:
    """A notebook whose one cell runs `pipeline` with the live ipywidgets view."""
    cell = {
        "cell_type": "code",
        "execution_count": None,
        "id": "run-cell",
        "metadata": {},
        "outputs": [],
        "source": f"%load_ext jupyter_mlops\n%mlops run {pipeline} -p C=0.5",
    }
    notebook = {
        "cells": [cell],
        "metadata": {
            "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    path.write_text(json.dumps(notebook, indent=1))


@contextlib.contextmanager
def opened(browser, url: str, ready: str, timeout_ms: float = 30_000):
    """A page of its own at `url` (VIEWPORT), yielded once `ready` shows; closed after."""
    context = browser.new_context(viewport=VIEWPORT)
    try:
        page = context.new_page()
        page.set_default_timeout(timeout_ms)
        page.goto(url)
        page.locator(ready).first.wait_for()
        yield page
    finally:
        context.close()


LIVE_RUN_VIEW = ".jp-mlops-live-run"  # the class of the cell's live run view (widgets/live_run.py)
STEP_STATUSES = {"pending", "running", "done", "cached"}


def watch_live_run(page, timeout_s: float, while_running=None) -> tuple[str, set[str]]:
    """Read the live run view every 250 ms until the run has ended and its MLflow run is
    linked (the view says "logging the run to MLflow…" until then), or `timeout_s` passes.
    Return its last text and every step status seen on the way; call `while_running()` once,
    the first time the run and a step are both seen running."""
    view = page.locator(LIVE_RUN_VIEW)
    seen: set[str] = set()
    deadline = time.monotonic() + timeout_s
    text = ""
    while time.monotonic() < deadline:
        text = view.inner_text()
        words = set(text.split())
        seen |= words & STEP_STATUSES
        if while_running is not None and text.split().count("running") >= 2:
            while_running()  # the run's badge and a step's
            while_running = None
        if {"succeeded", "failed"} & words and "logging" not in words:
            break
        page.wait_for_timeout(250)
    return text, seen


_unavailable = unavailable  # the name the UI fixtures and the wheel test use


# --- the sidebar and the main-area views ---------------------------------------------------

SIDEBAR_ICON = 'li[data-id="jupyter-mlops-sidebar"]'
SIDEBAR_COMMAND = "jupyter-mlops:open-sidebar"
THEMES = {"light": "JupyterLab Light", "dark": "JupyterLab Dark"}


def tid(name: str) -> str:
    return f'[data-testid="{name}"]'


def open_lab_page(browser, lab, path: str, timeout_ms: float = 30_000):
    """A page of its own on notebook `path` in JupyterLab, with the MLOps sidebar shown;
    `page.errors` collects uncaught errors.

    The page has a workspace of its own (reset: no tabs left from another test), and opens the
    notebook from the File menu, as a user would: a /lab/tree/ address would show the file
    browser in the left area once the layout is restored, over the sidebar."""
    import uuid

    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    page.set_default_timeout(timeout_ms)
    page.errors = []
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    workspace = page.workspace = uuid.uuid4().hex[:12]
    page.goto(f"{lab.url}/lab/workspaces/{workspace}?reset&token={lab.token}")
    page.locator(SIDEBAR_ICON).wait_for()
    set_theme(page, "light")  # the lab's settings are shared: a test before may have left dark
    open_path(page, path)
    return page


def open_path(page, path: str) -> None:
    """File ▸ Open from Path…, as a user opens a notebook; returns once its cells show, with
    the MLOps sidebar shown again (opening from a path shows the file browser)."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

    page.locator(".lm-MenuBar-itemLabel", has_text="File").click()
    page.locator('.lm-Menu-itemLabel:text-is("Open from Path…")').click()
    page.locator(".jp-Dialog input").fill(path)
    page.keyboard.press("Enter")
    name = path.rsplit("/", 1)[-1]  # a tab shows the file's name
    page.locator(
        f'.lm-DockPanel-tabBar .lm-TabBar-tab.lm-mod-current:has-text("{name}")'
    ).wait_for()
    page.locator(".jp-NotebookPanel:visible .jp-Notebook .jp-Cell").first.wait_for()
    try:
        page.locator("#filebrowser").wait_for(state="visible", timeout=3_000)
    except PlaywrightTimeoutError:
        pass  # it was not shown this time
    show_sidebar(page)


def show_sidebar(page) -> None:
    """Show the MLOps sidebar and keep it shown. Its icon toggles it, so a click hides a sidebar
    the restored layout already shows, and a layout still being restored (its /lab/tree/ route
    shows the file browser) can change the left area under the click. Where the app is exposed
    (the tests' own servers) its command shows it once the layout is restored; in a plain
    `jupyter lab` the icon is clicked only while the sidebar is not shown, until it stays."""
    icon = page.locator(SIDEBAR_ICON)
    sidebar = page.locator(tid("mlops-sidebar"))
    icon.wait_for()  # the plugins have started: window.jupyterapp is set if it ever will be
    exposed = page.evaluate("() => window.jupyterapp !== undefined")
    for _ in range(10):
        if exposed:
            page.evaluate(
                "async id => { await window.jupyterapp.restored;"
                " await window.jupyterapp.commands.execute(id); }",
                SIDEBAR_COMMAND,
            )
        elif icon.get_attribute("aria-selected") != "true" or not sidebar.is_visible():
            icon.click()
        page.wait_for_timeout(300)
        if sidebar.is_visible():
            page.wait_for_timeout(500)
            if sidebar.is_visible() and icon.get_attribute("aria-selected") == "true":
                return  # still shown: nothing else took the left area meanwhile
    raise AssertionError("the MLOps sidebar did not stay shown")


def set_sidebar_width(page, width: int) -> None:
    """Drag the handle between the left sidebar and the documents, as a user would (`width`
    counts from the window's left edge: the bar of icons is 33 px of it)."""
    handle = page.locator("#jp-main-split-panel > .lm-SplitPanel-handle").first
    box = handle.bounding_box()
    y = box["y"] + box["height"] / 2
    page.mouse.move(box["x"] + box["width"] / 2, y)
    page.mouse.down()
    page.mouse.move(width, y, steps=8)
    page.mouse.up()


def set_theme(page, theme: str) -> None:
    """Switch JupyterLab to `theme` ("light" or "dark") from its Settings menu."""
    light = "true" if theme == "light" else "false"
    page.locator("body[data-jp-theme-name]").wait_for(state="attached")  # a theme has loaded
    if page.locator(f'body[data-jp-theme-light="{light}"]').count():
        return
    page.locator(".lm-MenuBar-itemLabel", has_text="Settings").click()
    page.locator('.lm-Menu-itemLabel:text-is("Theme")').hover()
    page.locator(f'.lm-Menu-itemLabel:text-is("{THEMES[theme]}")').click()
    page.locator(f'body[data-jp-theme-light="{light}"]').wait_for(state="attached")
    page.wait_for_timeout(500)  # the theme's CSS applies, charts redraw


def open_view(page, view: str) -> object:
    """Open main-area view `view` from the sidebar's button; its content, once shown."""
    page.locator(tid(f"mlops-open-{view}")).click()
    content = page.locator(f"{tid(f'mlops-{view}-view')}:visible")
    content.wait_for()
    return content


def shoot(page, name: str, theme: str, full: bool = False) -> Path:
    """A screenshot of what the user sees, as build/screenshots/<name>-<theme>.png."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.wait_for_timeout(400)  # let Vega finish drawing
    path = SCREENSHOTS / f"{name}-{theme}.png"
    page.screenshot(path=str(path), full_page=full)
    return path


def axe_violations(page, selector: str) -> list[str]:
    """axe-core's serious and critical violations inside `selector` (WCAG 2 A and AA rules),
    one line each: rule, impact, and the first elements it names."""
    if not AXE.exists():
        unavailable("axe-core is not installed (make labextension runs npm ci)")
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.add_script_tag(content=AXE.read_text(encoding="utf-8"))
    found = page.evaluate(
        """async selector => {
          const result = await window.axe.run(document.querySelector(selector), {
            runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] },
            resultTypes: ['violations']
          });
          return result.violations
            .filter(v => v.impact === 'serious' || v.impact === 'critical')
            .map(v => `${v.id} (${v.impact}): ${v.help}: ` +
              v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(' | '));
        }""",
        selector,
    )
    return list(found)


def no_sideways_scroll(page, selector: str) -> list[str]:
    """What inside `selector` is wider than the room it has (a sideways scroll), one line each."""
    return page.locator(selector).evaluate(
        """root => {
          const out = [];
          const panel = root.getBoundingClientRect();
          if (root.scrollWidth > root.clientWidth + 1) {
            out.push(`the panel: ${root.scrollWidth} px in ${root.clientWidth} px`);
          }
          for (const el of root.querySelectorAll('table, .jp-mlops-scroll, .jp-mlops-chart-host')) {
            if (el.offsetParent === null) continue;  // not shown
            const box = el.getBoundingClientRect();
            if (el.scrollWidth > el.clientWidth + 1 || box.right > panel.right + 1) {
              const what = el.getAttribute('data-testid') || el.getAttribute('aria-label')
                || el.className;
              out.push(`${el.tagName.toLowerCase()} ${what}: ${Math.round(box.width)} px, ` +
                `${el.scrollWidth} px of content, panel ${Math.round(panel.width)} px`);
            }
          }
          return out;
        }"""
    )


def start_run(lab, path: str, params: dict | None = None, timeout_s: float = 300) -> dict:
    """Start notebook `path`'s pipeline through the server's route and wait for its end."""
    answer = lab.post("/mlops/runs", {"path": path, "params": params or {}})
    run_id = answer["run_id"]
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        status = lab.api(f"/mlops/runs/{run_id}")
        if status["status"] not in ("starting", "running", "cancelling"):
            return status
        time.sleep(0.5)
    raise AssertionError(f"run {run_id} of {path} did not end within {timeout_s} s")


def kernel_value(lab, path: str, expression: str, timeout_s: float = 60) -> str:
    """What `expression` is (its text/plain repr) in the kernel of notebook `path`, asked over
    the kernel's websocket as JupyterLab's page asks, without touching the notebook."""
    import asyncio
    import concurrent.futures
    import uuid

    from tornado.websocket import websocket_connect

    kernel = next(s["kernel"]["id"] for s in lab.api("/api/sessions") if s["path"] == path)
    url = f"{lab.url.replace('http', 'ws', 1)}/api/kernels/{kernel}/channels?token={lab.token}"
    msg_id = uuid.uuid4().hex
    request = {
        "header": {"msg_id": msg_id, "msg_type": "execute_request", "username": "test",
                   "session": uuid.uuid4().hex, "date": "", "version": "5.3"},
        "parent_header": {}, "metadata": {}, "channel": "shell", "buffers": [],
        "content": {"code": "", "silent": True, "store_history": False, "allow_stdin": False,
                    "user_expressions": {"value": expression}, "stop_on_error": False},
    }  # fmt: skip

    async def ask() -> str:
        socket = await websocket_connect(url)
        try:
            await socket.write_message(json.dumps(request))
            while True:
                text = await socket.read_message()
                if text is None:
                    raise AssertionError(f"the kernel of {path} closed its websocket")
                message = json.loads(text) if isinstance(text, str) else {}
                if message.get("parent_header", {}).get("msg_id") != msg_id:
                    continue
                if message.get("msg_type") == "execute_reply":
                    value = message["content"]["user_expressions"]["value"]
                    assert value["status"] == "ok", value
                    return value["data"]["text/plain"]
        finally:
            socket.close()

    # in a thread of its own: Playwright's sync API keeps an event loop running in this one
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, asyncio.wait_for(ask(), timeout_s)).result()
