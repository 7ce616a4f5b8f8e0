"""Drives Debian's chromium (headless) over the DevTools protocol against a unitaudit HTML
report: counts rows, sorts a column, filters by text, opens a service's detail, lists every
external src/href and every network request, and writes a screenshot. Prints JSON."""
import base64
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

import websocket

html, screenshot = os.path.abspath(sys.argv[1]), sys.argv[2]
browser = shutil.which("chromium") or shutil.which("chromium-browser")
if not browser:
    sys.exit("chromium is not installed (apt-get install chromium)")
with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
profile = tempfile.mkdtemp(prefix="unitaudit-chromium-")
process = subprocess.Popen(
    [browser, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-extensions",
     f"--remote-debugging-port={port}", "--remote-allow-origins=*", f"--user-data-dir={profile}",
     "--window-size=1400,1100", "about:blank"],
    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
try:
    page = None
    for _ in range(150):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=1) as response:
                page = next(t for t in json.load(response) if t.get("type") == "page")
            break
        except Exception:
            time.sleep(0.1)
    if page is None:
        sys.exit("chromium did not open its DevTools port")
    ws = websocket.create_connection(page["webSocketDebuggerUrl"], timeout=30, suppress_origin=True)
    counter = [0]
    events = []

    def call(method, params=None):
        counter[0] += 1
        ws.send(json.dumps({"id": counter[0], "method": method, "params": params or {}}))
        while True:
            message = json.loads(ws.recv())
            if message.get("id") == counter[0]:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})
            events.append(message)

    def js(expression):
        result = call("Runtime.evaluate", {"expression": expression, "returnByValue": True, "awaitPromise": True})
        if "exceptionDetails" in result:
            raise RuntimeError(f"script error: {result['exceptionDetails']}")
        return result["result"].get("value")

    call("Network.enable")
    call("Page.enable")
    call("Runtime.enable")
    call("Page.navigate", {"url": "file://" + html})
    deadline = time.time() + 30
    while not any(e.get("method") == "Page.loadEventFired" for e in events) and time.time() < deadline:
        events.append(json.loads(ws.recv()))

    visible = "Array.from(document.querySelectorAll('#matrix tbody tr')).filter(r => !r.hidden)"
    results = {}
    results["rows"] = js(f"{visible}.length")
    results["allRows"] = js("document.querySelectorAll('#matrix tbody tr').length")
    results["countText"] = js("document.getElementById('matrix-count').textContent")
    js("document.querySelector('#matrix thead th[data-key=hosts] button').click()")
    results["hostsAscending"] = js(f"{visible}.map(r => Number(r.getAttribute('data-hosts')))")
    results["ariaSort"] = js("document.querySelector('#matrix thead th[data-key=hosts]').getAttribute('aria-sort')")
    js("document.querySelector('#matrix thead th[data-key=hosts] button').click()")
    results["hostsDescending"] = js(f"{visible}.map(r => Number(r.getAttribute('data-hosts')))")
    js("document.querySelector('#matrix thead th[data-key=name] button').click()")
    results["namesSorted"] = js(f"{visible}.map(r => r.querySelector('th button').textContent)")
    js("var f = document.getElementById('filter-text'); f.value = sys_filter; f.dispatchEvent(new Event('input'))"
       .replace("sys_filter", json.dumps(sys.argv[3] if len(sys.argv) > 3 else "web")))
    results["filtered"] = js(f"{visible}.map(r => r.querySelector('th button').textContent)")
    js("var s = document.getElementById('filter-status'); s.value = 'all'; s.dispatchEvent(new Event('change'))")
    results["filteredAll"] = js(f"{visible}.length")
    js("var f = document.getElementById('filter-text'); f.value = ''; f.dispatchEvent(new Event('input'))")
    js("document.querySelector('#matrix tbody tr:not([hidden]) th button').click()")
    results["detail"] = js("document.getElementById('detail').hidden ? null : document.getElementById('detail').innerText")
    host_names = "Array.from(document.querySelectorAll('#hosts tbody tr th')).map(t => t.firstChild.textContent)"
    results["hostsRows"] = js(host_names)
    js("Array.from(document.querySelectorAll('#hosts thead th')).find(t => t.textContent.trim() === 'Host').querySelector('button').click()")
    js("Array.from(document.querySelectorAll('#hosts thead th')).find(t => t.textContent.trim() === 'Host').querySelector('button').click()")
    results["hostsByName"] = js(host_names)
    js("var f = document.getElementById('hosts-filter'); f.value = '10.0.0.1'; f.dispatchEvent(new Event('input'))")
    results["hostsFiltered"] = js(host_names)
    results["hostsCount"] = js("document.getElementById('hosts-count').textContent")
    js("var f = document.getElementById('hosts-filter'); f.value = ''; f.dispatchEvent(new Event('input'))")
    results["external"] = js(
        "Array.from(document.querySelectorAll('[src],[href]')).map(e => e.getAttribute('src') || e.getAttribute('href'))")
    results["externalLoaded"] = js(
        "Array.from(document.querySelectorAll('[src], link[href]')).map(e => e.getAttribute('src') || e.getAttribute('href'))")
    owners = "Array.from(document.querySelectorAll('#owners tbody tr')).filter(r => !r.hidden).map(r => r.querySelector('th').textContent)"
    results["ownersRows"] = js("document.querySelectorAll('#owners tbody tr').length")
    js("var o = document.getElementById('owners-owner'); o.value = 'db-team'; o.dispatchEvent(new Event('change'))")
    results["ownersByOwner"] = js(owners)
    js("var o = document.getElementById('owners-owner'); o.value = ''; o.dispatchEvent(new Event('change'))")
    js("var c = document.getElementById('owners-overdue'); c.checked = true; c.dispatchEvent(new Event('change'))")
    results["ownersOverdue"] = js(owners)
    results["ownersCount"] = js("document.getElementById('owners-count').textContent")
    js("var c = document.getElementById('owners-overdue'); c.checked = false; c.dispatchEvent(new Event('change'))")
    js("Array.from(document.querySelectorAll('#owners thead th')).find(t => t.textContent === 'Target').querySelector('button').click()")
    results["ownersByTarget"] = js(owners)
    results["scriptsRun"] = js("typeof window.alertCalled === 'undefined'")
    results["requests"] = [e["params"]["request"]["url"] for e in events if e.get("method") == "Network.requestWillBeSent"]
    results["title"] = js("document.title")
    shot = call("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": False})
    with open(screenshot, "wb") as handle:
        handle.write(base64.b64decode(shot["data"]))
    ws.close()
    json.dump(results, sys.stdout)
finally:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
    shutil.rmtree(profile, ignore_errors=True)
