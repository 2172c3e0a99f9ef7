"""A headless Chromium driven through chromedriver's W3C WebDriver HTTP API (no Python driver package needed):
Debian's `chromium` and `chromium-driver` are all it takes."""

from __future__ import annotations

import base64
import contextlib
import json
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

CHROMIUM = ("chromium", "chromium-browser", "google-chrome")
# the W3C key of an element reference
ELEMENT = "element-6066-11e4-a52e-4f735466cecf"


def find_browser() -> tuple[str, str] | None:
    """(chromedriver, chromium) paths, or None when either is missing."""
    driver = shutil.which("chromedriver")
    browser = next((path for name in CHROMIUM if (path := shutil.which(name))), None)
    return (driver, browser) if driver and browser else None


class WebDriverError(Exception):
    pass


class Browser:
    """One chromedriver process and one headless session: `with Browser(driver, chromium) as browser: ...`."""

    def __init__(self, driver: str, chromium: str, width: int = 1440, height: int = 900) -> None:
        self.driver, self.chromium, self.size = driver, chromium, (width, height)
        self.process: subprocess.Popen | None = None
        self.url = ""
        self.session = ""

    def __enter__(self) -> Browser:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        self.process = subprocess.Popen(
            [self.driver, f"--port={port}"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        self.url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 20
        while True:
            try:
                if self._call("GET", "/status")["ready"]:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                self.__exit__(None, None, None)
                raise WebDriverError("chromedriver did not start")
            time.sleep(0.2)
        options = {
            "binary": self.chromium,
            "args": [
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                f"--window-size={self.size[0]},{self.size[1]}",
            ],
        }
        capabilities = {"capabilities": {"alwaysMatch": {"browserName": "chrome", "goog:chromeOptions": options}}}
        self.session = self._call("POST", "/session", capabilities)["sessionId"]
        return self

    def __exit__(self, *exc: object) -> None:
        if self.session:
            with contextlib.suppress(Exception):
                self._call("DELETE", f"/session/{self.session}")
            self.session = ""
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
            self.process = None

    # ---- commands ------------------------------------------------------------------------------------

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.url + path, data=data, method=method)  # noqa: S310 - local driver
        request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
                answer = json.loads(response.read())
        except urllib.error.HTTPError as exc:
            answer = json.loads(exc.read() or b"{}")
            raise WebDriverError(f"{method} {path}: {answer.get('value', answer)}") from None
        return answer.get("value", answer)

    def _session(self, method: str, path: str, body: Any = None) -> Any:
        return self._call(method, f"/session/{self.session}{path}", body)

    def get(self, url: str) -> None:
        self._session("POST", "/url", {"url": url})

    @property
    def current_url(self) -> str:
        return self._session("GET", "/url")

    def find(self, css: str, seconds: float = 30) -> str:
        """The first element matching the CSS selector, waited for."""
        deadline = time.monotonic() + seconds
        while True:
            found = self._session("POST", "/elements", {"using": "css selector", "value": css})
            if found:
                return found[0][ELEMENT]
            if time.monotonic() > deadline:
                raise WebDriverError(f"no element {css!r} on {self.current_url}")
            time.sleep(0.5)

    def type(self, element: str, text: str) -> None:
        self._session("POST", f"/element/{element}/value", {"text": text})

    def click(self, element: str) -> None:
        self._session("POST", f"/element/{element}/click", {})

    def text(self) -> str:
        """The page's visible text."""
        return self._session("POST", "/execute/sync", {"script": "return document.body.innerText", "args": []})

    def wait_for_text(self, needle: str, seconds: float = 30) -> str:
        deadline = time.monotonic() + seconds
        while True:
            text = self.text()
            if needle in text:
                return text
            if time.monotonic() > deadline:
                raise WebDriverError(f"{needle!r} not on {self.current_url}: {text[:500]!r}")
            time.sleep(0.5)

    def screenshot(self, path: Path) -> bytes:
        png = base64.b64decode(self._session("GET", "/screenshot"))
        path.write_bytes(png)
        return png
