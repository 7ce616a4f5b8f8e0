"""Measures a unitaudit HTML report in a real browser: Debian's chromium (headless), driven
over the DevTools protocol. For each of --runs fresh loads of the page from disk: time to the
first contentful paint, to the load event, and to the first moment after it that the page has
painted a frame and its main thread is free (`usable`); then, on the loaded page, each
interaction a reader makes, timed from the event to the next painted frame: filtering and
sorting the coverage matrix, sorting and filtering the hosts table, opening the detail of the
service on the most hosts. Prints JSON: the medians, and every run's figures.

    measure.py REPORT.html [--runs 3] [--screenshot FILE.png [--screenshot-at SELECTOR]]

Needs websocket-client (the test venv of Scripts/test has it).
"""
import argparse
import base64
import json
import os
import statistics
import sys
import time

# The DevTools driver the report tests use.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "Tests", "ReportTests", "Helpers"))
from chromium import Chromium  # noqa: E402

parser = argparse.ArgumentParser()
parser.add_argument("report")
parser.add_argument("--runs", type=int, default=3)
parser.add_argument("--screenshot")
parser.add_argument("--screenshot-at", help="a CSS selector to scroll to before the screenshot")
args = parser.parse_args()
html = os.path.abspath(args.report)

# Each interaction: a script run in the page, timed from before it to the next painted frame.
INTERACTIONS = [
    ("matrix filter", "var f = document.getElementById('filter-text'); f.value = 'nginx'; f.dispatchEvent(new Event('input'))"),
    ("matrix filter cleared", "var f = document.getElementById('filter-text'); f.value = ''; f.dispatchEvent(new Event('input'))"),
    ("matrix sort by hosts", "document.querySelector('#matrix thead th[data-key=hosts] button').click()"),
    ("hosts sort by worst exposure",
     "Array.from(document.querySelectorAll('#hosts thead th')).find(t => t.textContent.trim() === 'Worst exposure').querySelector('button').click()"),
    ("hosts sort by name",
     "Array.from(document.querySelectorAll('#hosts thead th')).find(t => t.textContent.trim() === 'Host').querySelector('button').click()"),
    ("hosts filter", "var f = document.getElementById('hosts-filter'); if (f) { f.value = 'host99'; f.dispatchEvent(new Event('input')) }"),
    ("hosts filter cleared", "var f = document.getElementById('hosts-filter'); if (f) { f.value = ''; f.dispatchEvent(new Event('input')) }"),
    ("service detail (most hosts)",
     "document.querySelector('#matrix thead th[data-key=hosts] button').click();"
     "if (document.querySelector('#matrix thead th[data-key=hosts]').getAttribute('aria-sort') !== 'descending') {"
     " document.querySelector('#matrix thead th[data-key=hosts] button').click() }"
     "document.querySelector('#matrix tbody tr:not([hidden]) th button').click()"),
]

with Chromium(timeout=120) as browser:
    call, js = browser.call, browser.js

    def timed(action):
        return js("(async () => { const t0 = performance.now(); " + action + ";"
                  " await new Promise(r => requestAnimationFrame(() => setTimeout(r, 0)));"
                  " return performance.now() - t0; })()")

    call("Page.enable")
    call("Runtime.enable")
    runs = []
    for _ in range(args.runs):
        call("Page.navigate", {"url": "about:blank"})
        time.sleep(0.3)
        call("Page.navigate", {"url": "file://" + html})
        deadline = time.time() + 120
        while time.time() < deadline and not js(
                "location.protocol === 'file:' && document.readyState === 'complete'"):
            time.sleep(0.05)
        run = {}
        run["usable"] = js("new Promise(r => requestAnimationFrame(() => setTimeout(() => r(performance.now()), 0)))")
        run["load"] = js("performance.getEntriesByType('navigation')[0].loadEventEnd")
        run["first contentful paint"] = js(
            "(performance.getEntriesByName('first-contentful-paint')[0] || {startTime: null}).startTime")
        run["rows in the DOM"] = js("document.getElementsByTagName('tr').length")
        for name, action in INTERACTIONS:
            run[name] = timed(action)
        runs.append(run)
    if args.screenshot:
        call("Page.navigate", {"url": "file://" + html})
        time.sleep(3)
        if args.screenshot_at:
            js(f"document.querySelector({json.dumps(args.screenshot_at)}).scrollIntoView()")
            time.sleep(0.5)
        shot = call("Page.captureScreenshot", {"format": "png"})
        with open(args.screenshot, "wb") as handle:
            handle.write(base64.b64decode(shot["data"]))
    keys = [k for k in runs[0]]
    medians = {k: round(statistics.median(r[k] for r in runs), 1) for k in keys if runs[0][k] is not None}
    print(json.dumps({"report": html, "bytes": os.path.getsize(html), "runs": len(runs), "median": medians,
                      "each": runs}, indent=1))
