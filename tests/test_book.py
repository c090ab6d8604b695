"""The book builds with warnings as errors, and every page works in a real browser.

The build goes into the repository's ``_build`` (incremental, so a rebuild with no
change is quick). The pages are then served over HTTP on 127.0.0.1
and opened in headless Chromium, driven through the Chrome DevTools Protocol: no
console error, no failed request, the math typeset by MathJax, every image loaded.
Screenshots of two chapters are saved in ``artifacts/``.

Chromium must be installed (``apt-get install chromium``; CI does it in ``.ci/run``):
without it these tests fail, they do not skip.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import http.server
import json
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
HTML = ROOT / "_build" / "html"
ARTIFACTS = ROOT / "artifacts"
JUPYTER_BOOK = Path(sys.executable).with_name("jupyter-book")
CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome")
SCREENSHOT_PAGES = ("book/01-chain-rule", "book/03-linear")
# Chapters whose text is built on formulas: MathJax must have typeset something there.
MATH_PAGES = (
    "book/01-chain-rule",
    "book/02-forward-backward",
    "book/03-linear",
    "book/04-activations-losses",
)
PAGE_TIMEOUT = 60  # seconds for one page to load and typeset


def toc_pages() -> list[str]:
    """Every page of _toc.yml (root first), as paths without suffix: ``book/01-chain-rule``."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    pages = [toc["root"]]

    def walk(entries):
        for entry in entries or []:
            if "file" in entry:
                pages.append(entry["file"])
            walk(entry.get("sections"))

    for part in toc.get("parts", []):
        walk(part.get("chapters"))
    walk(toc.get("chapters"))
    return [str(Path(page).with_suffix("")) for page in pages]


PAGES = toc_pages()


# -- the build -------------------------------------------------------------------


@pytest.fixture(scope="module")
def book_html() -> Path:
    """Build the book as `make book` does; fail with the end of the log if it does not build."""
    assert JUPYTER_BOOK.exists(), f"jupyter-book is not installed next to {sys.executable}"
    result = subprocess.run(
        [str(JUPYTER_BOOK), "build", ".", "-W", "-n", "--keep-going"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=1200,
    )
    log = result.stdout + result.stderr
    if result.returncode != 0:
        pytest.fail(f"jupyter-book build failed (exit {result.returncode}):\n{log[-8000:]}")
    return HTML


def test_every_chapter_is_in_the_table_of_contents():
    listed = set(PAGES)
    chapters = sorted(
        str(p.relative_to(ROOT).with_suffix("")) for p in (ROOT / "book").glob("*.md")
    )
    assert chapters, "no chapter found in book/"
    missing = [chapter for chapter in chapters if chapter not in listed]
    assert not missing, f"chapters missing from _toc.yml (they would not be built): {missing}"


def test_every_page_is_built(book_html):
    missing = [page for page in PAGES if not (book_html / f"{page}.html").is_file()]
    assert not missing, f"pages of _toc.yml with no HTML page after the build: {missing}"
    assert (book_html / "index.html").is_file()


def test_chapters_offer_their_notebook_for_download(book_html):
    for page in PAGES:
        if not page.startswith("book/"):
            continue
        html = (book_html / f"{page}.html").read_text(encoding="utf-8")
        link = f"_sources/{page}.ipynb"
        assert link in html, f"{page}: the download menu has no .ipynb link"
        assert (book_html / link).is_file(), f"{page}: {link} is linked but missing"


# -- serving and browsing ------------------------------------------------------------


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    """Serves the build folder; remembers every request that was answered with an error."""

    def log_message(self, format, *args):  # noqa: A002 -- the signature of the base class
        pass

    def send_error(self, code, message=None, explain=None):
        self.server.failed_requests.append(f"{code} {self.path}")
        super().send_error(code, message, explain)


@contextlib.contextmanager
def serve(directory: Path):
    """An HTTP server for ``directory`` on 127.0.0.1 (a free port), in a thread."""
    handler = functools.partial(QuietHandler, directory=str(directory))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.failed_requests = []
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield httpd
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=10)


@pytest.fixture(scope="module")
def server(book_html):
    with serve(book_html) as httpd:
        yield httpd


def find_chromium() -> str:
    for candidate in CHROMIUM_CANDIDATES:
        path = shutil.which(candidate)
        if path:
            return path
    pytest.fail(
        "Chromium is not installed, so the book cannot be checked in a browser. "
        "Install it with `apt-get update && apt-get install -y chromium` "
        "(CI does this in .ci/run)."
    )


class DevTools:
    """A minimal Chrome DevTools Protocol client over one websocket (one page target)."""

    def __init__(self, websocket_url: str):
        import websocket  # websocket-client

        self.ws = websocket.create_connection(
            websocket_url, timeout=PAGE_TIMEOUT, suppress_origin=True
        )
        self.next_id = 0
        self.events: list[dict] = []

    def call(self, method: str, timeout: float = PAGE_TIMEOUT, **params) -> dict:
        """Send a command and return its result; events that arrive meanwhile are kept."""
        self.next_id += 1
        message_id = self.next_id
        self.ws.send(json.dumps({"id": message_id, "method": method, "params": params}))
        deadline = time.monotonic() + timeout
        while True:
            message = self.receive(deadline, f"the answer to {method}")
            if message.get("id") == message_id:
                if "error" in message:
                    raise RuntimeError(f"{method} failed: {message['error']}")
                return message.get("result", {})

    def receive(self, deadline: float, waiting_for: str) -> dict:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError(f"Chromium did not send {waiting_for} in time")
        self.ws.settimeout(remaining)
        message = json.loads(self.ws.recv())
        if "method" in message:
            self.events.append(message)
        return message

    def wait_for_event(self, method: str, timeout: float = PAGE_TIMEOUT) -> dict:
        deadline = time.monotonic() + timeout
        for event in self.events:
            if event["method"] == method:
                return event
        while True:
            message = self.receive(deadline, method)
            if message.get("method") == method:
                return message

    def evaluate(self, expression: str, timeout: float = PAGE_TIMEOUT):
        """The value of a JavaScript expression (promises are awaited)."""
        result = self.call(
            "Runtime.evaluate",
            timeout=timeout,
            expression=expression,
            awaitPromise=True,
            returnByValue=True,
        )
        if "exceptionDetails" in result:
            raise RuntimeError(f"JavaScript error: {result['exceptionDetails']}")
        return result["result"].get("value")

    def close(self):
        self.ws.close()


@pytest.fixture(scope="module")
def browser():
    with launch_chromium() as client:
        yield client


@contextlib.contextmanager
def launch_chromium():
    """Headless Chromium with remote debugging; yields a DevTools client on its first page."""
    executable = find_chromium()
    profile = tempfile.mkdtemp(prefix="pancake-chromium-")
    log_path = Path(profile) / "chromium.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [
                executable,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-extensions",
                "--hide-scrollbars",
                "--window-size=1280,1000",
                "--force-device-scale-factor=1",
                f"--user-data-dir={profile}",
                "--remote-debugging-address=127.0.0.1",
                "--remote-debugging-port=0",  # Chromium picks a free port, see DevToolsActivePort
                "about:blank",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    client = None
    try:
        port = wait_for_devtools_port(process, Path(profile), log_path)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as answer:
            targets = json.load(answer)
        page = next(t for t in targets if t.get("type") == "page")
        client = DevTools(page["webSocketDebuggerUrl"])
        for domain in ("Page", "Runtime", "Log", "Network"):
            client.call(f"{domain}.enable")
        yield client
    finally:
        if client is not None:
            client.close()
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        shutil.rmtree(profile, ignore_errors=True)


def wait_for_devtools_port(process: subprocess.Popen, profile: Path, log_path: Path) -> int:
    port_file = profile / "DevToolsActivePort"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"Chromium exited with code {process.returncode}:\n{log_path.read_text()}")
        if port_file.is_file():
            lines = port_file.read_text().splitlines()
            if lines and lines[0].strip().isdigit():
                return int(lines[0])
        time.sleep(0.1)
    pytest.fail(f"Chromium opened no DevTools port within 60 s:\n{log_path.read_text()}")


def page_problems(events: list[dict]) -> list[str]:
    """Console errors, uncaught exceptions and failed requests, from the DevTools events."""
    problems = []
    for event in events:
        method, params = event["method"], event["params"]
        if method == "Runtime.exceptionThrown":
            details = params["exceptionDetails"]
            description = details.get("exception", {}).get("description") or details.get("text")
            problems.append(f"uncaught exception: {description}")
        elif method == "Runtime.consoleAPICalled" and params["type"] in ("error", "assert"):
            text = " ".join(
                str(arg.get("value", arg.get("description", ""))) for arg in params["args"]
            )
            problems.append(f"console.{params['type']}: {text}")
        elif method == "Log.entryAdded" and params["entry"]["level"] == "error":
            entry = params["entry"]
            problems.append(
                f"console error ({entry['source']}): {entry['text']} {entry.get('url', '')}"
            )
        elif method == "Network.loadingFailed" and not params.get("canceled"):
            problems.append(f"request failed: {params.get('errorText')} ({params.get('type')})")
        elif method == "Network.responseReceived" and params["response"]["status"] >= 400:
            response = params["response"]
            problems.append(f"HTTP {response['status']} for {response['url']}")
    return problems


PAGE_STATE = """(async () => {
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
    await MathJax.startup.promise;
  }
  await document.fonts.ready;
  const images = [...document.querySelectorAll('article img, main img')];
  return {
    title: document.title,
    mathElements: document.querySelectorAll('.math').length,
    typesetMath: document.querySelectorAll('.math mjx-container').length,
    mathjaxContainers: document.querySelectorAll('mjx-container').length,
    mathErrors: [...document.querySelectorAll('mjx-merror')].map(e => e.textContent),
    images: images.map(img => ({src: img.getAttribute('src'), complete: img.complete,
                                width: img.naturalWidth})),
    figures: document.querySelectorAll('.cell_output img').length,
    codeCells: document.querySelectorAll('div.cell').length,
  };
})()"""


def open_page(client: DevTools, url: str) -> dict:
    client.events.clear()
    client.call("Page.navigate", url=url)
    client.wait_for_event("Page.loadEventFired")
    state = client.evaluate(PAGE_STATE)
    # Let late console messages (from MathJax's asynchronous loading) arrive.
    client.evaluate("new Promise(resolve => setTimeout(resolve, 300))")
    return state


SCROLL_TO_FIGURE = """(async () => {
  const img = document.querySelector('.cell_output img');
  if (!img) return false;
  img.scrollIntoView({block: 'center'});
  await new Promise(resolve => requestAnimationFrame(() => requestAnimationFrame(resolve)));
  return true;
})()"""


def save_screenshots(client: DevTools, page: str) -> list[Path]:
    """Screenshots of the top of the page and of its first figure, in ``artifacts/``."""
    ARTIFACTS.mkdir(exist_ok=True)
    stem = page.replace("/", "_")

    def capture(suffix: str) -> Path:
        shot = client.call("Page.captureScreenshot", format="png")
        path = ARTIFACTS / f"{stem}-{suffix}.png"
        path.write_bytes(base64.b64decode(shot["data"]))
        return path

    client.evaluate("window.scrollTo(0, 0)")
    paths = [capture("top")]
    if client.evaluate(SCROLL_TO_FIGURE):
        paths.append(capture("figure"))
    return paths


@pytest.mark.parametrize("page", PAGES)
def test_page_in_browser(page, server, browser):
    host, port = server.server_address[:2]
    server.failed_requests.clear()
    state = open_page(browser, f"http://{host}:{port}/{page}.html")

    problems = page_problems(browser.events) + [f"server: {r}" for r in server.failed_requests]
    assert not problems, f"{page}: the browser reported problems:\n" + "\n".join(problems)
    assert state["title"], f"{page}: the page has no title"

    # The math is typeset: every math element holds MathJax output, and none is a TeX error.
    assert state["typesetMath"] == state["mathElements"], (
        f"{page}: MathJax typeset {state['typesetMath']} of {state['mathElements']} formulas"
    )
    assert not state["mathErrors"], f"{page}: TeX errors in formulas: {state['mathErrors']}"
    if page in MATH_PAGES:
        assert state["mathjaxContainers"] > 0, f"{page}: no formula was typeset"

    # The figures are shown: every image loaded and has a size.
    broken = [img["src"] for img in state["images"] if not img["complete"] or img["width"] == 0]
    assert not broken, f"{page}: images that did not load: {broken}"
    if page.startswith("book/") and state["codeCells"] > 0:
        assert state["figures"] > 0, f"{page}: a chapter with code shows no figure"

    if page in SCREENSHOT_PAGES:
        paths = save_screenshots(browser, page)
        assert len(paths) == 2, f"{page}: no figure to take a screenshot of"
        for path in paths:
            assert path.stat().st_size > 20_000, f"{page}: the screenshot {path} looks empty"


def test_screenshot_pages_are_in_the_book():
    assert set(SCREENSHOT_PAGES) <= set(PAGES)
    assert set(MATH_PAGES) <= set(PAGES)
