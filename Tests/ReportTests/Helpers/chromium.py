"""Debian's chromium, headless, driven over the DevTools protocol: one page, its calls and
script evaluations, and every event it sent. The report tests (browser.py) and the browser
benchmark (Benchmarks/report-browser/measure.py) drive it.

    with Chromium() as page:
        page.call("Page.navigate", {"url": "file:///..."})
        page.js("document.title")
"""
import json
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.request

import websocket


class Chromium:
    def __init__(self, window="1400,1100", timeout=30):
        self.window = window
        self.timeout = timeout
        self.events = []
        self.counter = 0

    def __enter__(self):
        browser = shutil.which("chromium") or shutil.which("chromium-browser")
        if not browser:
            raise SystemExit("chromium is not installed (apt-get install chromium)")
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        self.profile = tempfile.mkdtemp(prefix="unitaudit-chromium-")
        self.process = subprocess.Popen(
            [browser, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-extensions",
             f"--remote-debugging-port={port}", "--remote-allow-origins=*", f"--user-data-dir={self.profile}",
             f"--window-size={self.window}", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        page = None
        for _ in range(150):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=1) as response:
                    page = next(t for t in json.load(response) if t.get("type") == "page")
                break
            except Exception:
                time.sleep(0.1)
        if page is None:
            self.__exit__(None, None, None)
            raise SystemExit("chromium did not open its DevTools port")
        self.ws = websocket.create_connection(page["webSocketDebuggerUrl"], timeout=self.timeout, suppress_origin=True)
        return self

    def __exit__(self, *_):
        if getattr(self, "ws", None):
            self.ws.close()
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
        shutil.rmtree(self.profile, ignore_errors=True)

    def call(self, method, params=None):
        """Sends one DevTools command and returns its result; events that arrive meanwhile
        are kept in `events`."""
        self.counter += 1
        self.ws.send(json.dumps({"id": self.counter, "method": method, "params": params or {}}))
        while True:
            message = json.loads(self.ws.recv())
            if message.get("id") == self.counter:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})
            self.events.append(message)

    def js(self, expression):
        """Evaluates an expression in the page (awaiting a promise) and returns its value."""
        result = self.call("Runtime.evaluate", {"expression": expression, "returnByValue": True, "awaitPromise": True})
        if "exceptionDetails" in result:
            raise RuntimeError(f"script error: {result['exceptionDetails']}")
        return result["result"].get("value")

    def wait_for_load(self, seconds=30):
        """Reads events until the page's load event (after a Page.navigate)."""
        deadline = time.time() + seconds
        while not any(e.get("method") == "Page.loadEventFired" for e in self.events) and time.time() < deadline:
            self.events.append(json.loads(self.ws.recv()))
