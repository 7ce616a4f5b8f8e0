"""Drives Debian's chromium (headless) over the DevTools protocol against a unitaudit HTML
report: counts rows, sorts a column, filters by text, opens a service's detail, lists every
external src/href and every network request, and writes a screenshot. Prints JSON."""
import base64
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from chromium import Chromium  # noqa: E402

html, screenshot = os.path.abspath(sys.argv[1]), sys.argv[2]
with Chromium() as browser:
    call, js, events = browser.call, browser.js, browser.events
    call("Network.enable")
    call("Page.enable")
    call("Runtime.enable")
    call("Page.navigate", {"url": "file://" + html})
    browser.wait_for_load()

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
    json.dump(results, sys.stdout)
