"""A real headless Chromium driven over the DevTools protocol on a pipe (`--remote-debugging-pipe`: no
websocket library needed): open pages, type, click, read the DOM, list every request the page made,
read cookies and save screenshots. Used by the dashboard and MCP Apps tests; the one test here checks the
driver itself against a page of its own."""

from __future__ import annotations

import base64
import contextlib
import json
import os
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"


def need_chromium() -> None:
    if not Path(CHROMIUM).exists():
        reason = "Chromium is not installed (apt-get install -y chromium); .ci/run installs it"
        if os.environ.get("CI"):
            pytest.fail(f"{reason}, and CI must drive the dashboard in it")
        pytest.skip(reason)


class Browser:
    """One headless Chromium with one page. Every request the page starts is kept in `requests`."""

    def __init__(self, profile: Path, *, width: int = 1200, height: int = 900) -> None:
        need_chromium()
        to_chrome_r, self._to_chrome = os.pipe()
        self._from_chrome, from_chrome_w = os.pipe()

        def wire() -> None:  # the DevTools pipe: Chromium reads fd 3 and writes fd 4
            os.dup2(to_chrome_r, 3)
            os.dup2(from_chrome_w, 4)

        self.proc = subprocess.Popen(
            [
                CHROMIUM,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--disable-quic",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--hide-scrollbars",
                "--disable-features=Translate,OptimizationHints,MediaRouter",
                "--remote-debugging-pipe",
                f"--user-data-dir={profile}",
                "about:blank",
            ],
            pass_fds=(3, 4),
            preexec_fn=wire,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        self._buffer = b""
        self._next = 0
        self.events: list[dict[str, Any]] = []
        self.requests: list[str] = []
        target = next(t for t in self.send("Target.getTargets")["targetInfos"] if t["type"] == "page")
        self.session = self.send("Target.attachToTarget", targetId=target["targetId"], flatten=True)["sessionId"]
        for domain in ("Page", "Network", "Runtime", "Log"):
            self.page(f"{domain}.enable")
        self.page("Emulation.setDeviceMetricsOverride", width=width, height=height, deviceScaleFactor=1, mobile=False)

    # ---------- protocol ----------

    def _read(self, timeout: float) -> dict[str, Any]:
        import select

        deadline = time.monotonic() + timeout
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self._from_chrome], [], [], left)[0]:
                raise TimeoutError("Chromium did not answer")
            chunk = os.read(self._from_chrome, 1 << 20)
            if not chunk:
                raise RuntimeError("Chromium closed the DevTools pipe")
            self._buffer += chunk
        raw, self._buffer = self._buffer.split(b"\0", 1)
        message: dict[str, Any] = json.loads(raw)
        if message.get("method") == "Network.requestWillBeSent":
            self.requests.append(message["params"]["request"]["url"])
        if "method" in message:
            self.events.append(message)
        return message

    def send(self, method: str, session: str | None = None, timeout: float = 30, **params: Any) -> dict[str, Any]:
        self._next += 1
        ident = self._next
        message: dict[str, Any] = {"id": ident, "method": method, "params": params}
        if session:
            message["sessionId"] = session
        os.write(self._to_chrome, json.dumps(message).encode() + b"\0")
        while True:
            answer = self._read(timeout)
            if answer.get("id") == ident:
                if "error" in answer:
                    raise RuntimeError(f"{method}: {answer['error']}")
                result: dict[str, Any] = answer.get("result", {})
                return result

    def page(self, method: str, **params: Any) -> dict[str, Any]:
        return self.send(method, self.session, **params)

    def wait_for(self, method: str, since: int, timeout: float = 30) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            for event in self.events[since:]:
                if event["method"] == method:
                    return event
            self._read(max(0.01, deadline - time.monotonic()))

    # ---------- what a test does ----------

    def open(self, url: str) -> None:
        mark = len(self.events)
        self.page("Page.navigate", url=url)
        self.wait_for("Page.loadEventFired", mark)

    def js(self, expression: str) -> Any:
        answer = self.page("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in answer:
            raise RuntimeError(f"{expression[:80]}: {answer['exceptionDetails']}")
        return answer["result"].get("value")

    def submit(self, expression: str) -> None:
        """Run `expression` (which submits a form or follows a link) and wait for the next page."""
        mark = len(self.events)
        self.js(expression)
        self.wait_for("Page.loadEventFired", mark)

    def text(self, selector: str) -> str | None:
        value = self.js(f"(e => e ? e.textContent : null)(document.querySelector({json.dumps(selector)}))")
        return None if value is None else str(value)

    def rows(self, table_id: str) -> list[list[str]]:
        return list(self.js(f"[...document.querySelectorAll('#{table_id} tbody tr')].map(r => [...r.cells].map(c => c.textContent))") or [])

    def screenshot(self, path: Path) -> Path:
        data = self.page("Page.captureScreenshot", format="png", captureBeyondViewport=True)["data"]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(data))
        return path

    def cookies(self) -> list[dict[str, Any]]:
        return list(self.page("Network.getCookies")["cookies"])

    def console_errors(self) -> list[str]:
        return [e["params"]["entry"]["text"] for e in self.events if e["method"] == "Log.entryAdded" and e["params"]["entry"]["level"] == "error"]

    def close(self) -> None:
        with contextlib.suppress(RuntimeError, TimeoutError, OSError):
            self.send("Browser.close", timeout=5)
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
        os.close(self._to_chrome)
        os.close(self._from_chrome)


def artifacts_dir(tmp_path_factory: pytest.TempPathFactory, name: str) -> Path:
    """Where a test's screenshots go, printed: the folder OPENROUTER_MCP_TEST_ARTIFACTS names, or the test's tmp dir."""
    root = os.environ.get("OPENROUTER_MCP_TEST_ARTIFACTS")
    folder = Path(root) / name if root else tmp_path_factory.mktemp(name)
    folder.mkdir(parents=True, exist_ok=True)
    print(f"\nscreenshots: {folder}")
    return folder


def test_the_driver_reads_a_page_and_its_requests(tmp_path: Path) -> None:
    page = tmp_path / "page.html"
    page.write_text('<!doctype html><title>t</title><p id="x">hello</p><img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=">')
    browser = Browser(tmp_path / "profile")
    try:
        browser.open(page.as_uri())
        assert browser.text("#x") == "hello"
        assert browser.requests[0] == page.as_uri()
        png = browser.screenshot(tmp_path / "shot.png")
        assert png.read_bytes().startswith(b"\x89PNG")
    finally:
        browser.close()
