"""projector_page.py - how long `firth project` takes and how the page it writes behaves in
headless Chromium, for several page sizes.

    /usr/bin/python3 bench/projector_page.py FIRTH MODEL WORDS...
    e.g. flock /tmp/firth-bench.lock /usr/bin/python3 bench/projector_page.py build/firth \
             build/demo/vectors.firth 5000

For each WORDS: the wall time of `firth project MODEL --words WORDS` (best of 3), the page's size,
then in Chromium (tests/ref/browser_check.py's DevTools-pipe client, 1200 x 800 window): the time
from navigation to the load event, the mean time of one redraw (20 wheel events dispatched in the
page, each redraws synchronously) and of one search (typing a word and pressing Enter, measured
around the change event in the page).
"""
import json
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "ref"))
import browser_check  # noqa: E402

firth, model, sizes = sys.argv[1], sys.argv[2], [int(w) for w in sys.argv[3:]]
work = tempfile.mkdtemp(prefix="firth-bench-projector-")
browser = browser_check.Browser(tempfile.mkdtemp(dir=work), work)
print(f"model {model}")
print("| words | firth project (best of 3) | page size | load in Chromium | one redraw | one search |")
print("|--:|--:|--:|--:|--:|--:|")
try:
    for words in sizes:
        page = os.path.join(work, f"p{words}.html")
        best = float("inf")
        for _ in range(3):
            t = time.perf_counter()
            subprocess.run([firth, "project", model, "--html", page, "--words", str(words),
                            "--quiet"], check=True)
            best = min(best, time.perf_counter() - t)
        size = os.path.getsize(page) / 1e6
        browser.open("file://" + page)
        load = browser.js("(() => { const e = performance.getEntriesByType('navigation')[0];"
                          " return e.loadEventEnd - e.startTime; })()")
        redraw = browser.js("""(() => { const c = document.getElementById('plot');
            const t = performance.now();
            for (let i = 0; i < 20; i++)
              c.dispatchEvent(new WheelEvent('wheel', {deltaY: i % 2 ? 40 : -40,
                                                       clientX: 600, clientY: 400}));
            return (performance.now() - t) / 20; })()""")
        word = browser.js("JSON.parse(document.getElementById('firth-data').textContent)"
                          ".words[7]")
        search = browser.js("((w) => { const s = document.getElementById('search'); s.value = w;"
                            " const t = performance.now(); s.dispatchEvent(new Event('change'));"
                            " return performance.now() - t; })(" + json.dumps(word) + ")")
        print(f"| {words} | {best:.2f} s | {size:.2f} MB | {load:.0f} ms | {redraw:.1f} ms "
              f"| {search:.1f} ms |", flush=True)
finally:
    browser.close()
