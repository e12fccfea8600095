"""browser_check.py - the projector page of `firth project` in a real browser (headless Chromium).

    /usr/bin/python3 tests/ref/browser_check.py FIRTH WORKDIR SHOTDIR     (run by tests/browser_test.sh)

Chromium is driven through the DevTools protocol over --remote-debugging-pipe (JSON messages
ended by NUL on file descriptors 3 and 4), so only the Python standard library is needed: real
key presses, mouse moves, clicks, drags and wheel turns reach the page as a user's would.

1. Trains a small model (one thread, fixed seed) on a generated corpus: 30 groups of 6 words that
   share their sentences, plus words that are awkward in HTML and JSON ("</script>", "<!--",
   quotes, a backslash, "&", non-ASCII) made frequent enough to be on the page.
2. `firth project --words 120 -k 8` writes the page (120 of the ~190 words, so the neighbour
   candidates are a prefix of the vocabulary, not all of it).
3. For several words the test types the word into the search box and presses Enter; the
   neighbour list in the DOM, and the words the canvas drew lines to (its data-lines, written by
   its draw function), must be exactly what `firth neighbors MODEL WORD -k 9 --limit R` prints,
   less "</s>" and cut to 8 (R = the page's "rows": the rows its words come from). One search
   goes through the URL instead (page.html#search=WORD); an unknown word gives a message.
4. Hover shows a word's label, a click selects the point, the wheel zooms about the cursor, a
   drag pans, a double click shows everything again: checked against the view the page reports.
5. A hand-written vectors file with words holding control characters, U+2028, a byte that is not
   UTF-8 and "</script><script>..." must give a page that loads (all its words counted by the
   page, its title untouched) and finds those words; its data must parse with Python's json into
   the expected words.
6. Screenshots (PNG) with a search and without, decoded here (zlib, no imaging library) to check
   that the highlighted word, its lines, labels and the points were drawn. Kept in SHOTDIR.

Prints "ok ..."/"FAIL ..." lines and ends with "N passed, N failed".
"""
import base64
import fcntl
import json
import math
import os
import random
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import urllib.parse
import zlib

FIRTH = WORK = SHOTS = None  # set by main from the command line
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
W, H = 1200, 800
passed = failed = 0


def ok(name):
    global passed
    passed += 1
    print(f"ok   {name}", flush=True)


def bad(name, why):
    global failed
    failed += 1
    print(f"FAIL {name}: {why}", flush=True)


def check(cond, name, why=""):
    if cond:
        ok(name)
    else:
        bad(name, why)
    return cond


def run(*args):
    r = subprocess.run(args, capture_output=True)
    if r.returncode != 0:
        raise SystemExit(f"FAIL {' '.join(map(str, args))}: {r.stderr.decode(errors='replace')}")
    return r.stdout


class Browser:
    """Headless Chromium with one page, driven over the DevTools pipe (also used by
    bench/projector_page.py). Its output goes to `log_dir`/chromium.log."""

    def __init__(self, profile, log_dir):
        r_cmd, w_cmd = os.pipe()  # we write commands, Chromium reads them on fd 3
        r_out, w_out = os.pipe()  # Chromium writes replies and events on fd 4
        hi_r = fcntl.fcntl(r_cmd, fcntl.F_DUPFD, 10)
        hi_w = fcntl.fcntl(w_out, fcntl.F_DUPFD, 10)
        os.close(r_cmd)
        os.close(w_out)

        def child():
            os.dup2(hi_r, 3)
            os.dup2(hi_w, 4)
            os.close(hi_r)
            os.close(hi_w)

        cmd = [CHROMIUM, "--headless", "--disable-gpu", "--no-first-run",
               "--no-default-browser-check", "--disable-extensions", "--hide-scrollbars",
               "--remote-debugging-pipe", "--force-device-scale-factor=1",
               f"--window-size={W},{H}", f"--user-data-dir={profile}", "about:blank"]
        if os.geteuid() == 0:
            cmd.insert(1, "--no-sandbox")  # Chromium refuses to run as root with its sandbox
        self.log = open(os.path.join(log_dir, "chromium.log"), "wb")
        self.proc = subprocess.Popen(cmd, preexec_fn=child, close_fds=False,
                                     stdin=subprocess.DEVNULL, stdout=self.log, stderr=self.log)
        os.close(hi_r)
        os.close(hi_w)
        self.wf = os.fdopen(w_cmd, "wb", buffering=0)
        self.rf = os.fdopen(r_out, "rb", buffering=0)
        self.buf, self.n = b"", 0
        target = self.call("Target.createTarget", url="about:blank")["targetId"]
        self.session = self.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        self.call("Page.enable", self.session)
        self.call("Emulation.setDeviceMetricsOverride", self.session, width=W, height=H,
                  deviceScaleFactor=1, mobile=False)

    def _message(self):
        while b"\0" not in self.buf:
            chunk = self.rf.read(1 << 16)
            if not chunk:
                raise SystemExit("FAIL chromium closed the DevTools pipe (see chromium.log)")
            self.buf += chunk
        msg, self.buf = self.buf.split(b"\0", 1)
        return json.loads(msg)

    def call(self, method, session=None, **params):
        self.n += 1
        m = {"id": self.n, "method": method, "params": params}
        if session:
            m["sessionId"] = session
        self.wf.write(json.dumps(m).encode() + b"\0")
        while True:
            r = self._message()
            if r.get("id") == self.n:
                if "error" in r:
                    raise SystemExit(f"FAIL DevTools {method}: {r['error']}")
                return r["result"]

    def page(self, method, **params):
        return self.call(method, self.session, **params)

    def js(self, expression):
        r = self.page("Runtime.evaluate", expression=expression, returnByValue=True)
        if "exceptionDetails" in r:
            raise SystemExit(f"FAIL JavaScript {expression!r}: {r['exceptionDetails']}")
        return r["result"].get("value")

    def open(self, url):
        self.page("Page.navigate", url="about:blank")
        self.page("Page.navigate", url=url)
        for _ in range(400):
            if self.js("document.readyState === 'complete' && location.href") == url:
                return
            time.sleep(0.025)
        raise SystemExit(f"FAIL {url} did not load")

    def state(self):
        return self.js("""(() => {
            const c = document.getElementById('plot'), tip = document.getElementById('tip');
            return {count: document.body.dataset.count, selected: c.dataset.selected,
                    lines: JSON.parse(c.dataset.lines), view: JSON.parse(c.dataset.view),
                    items: Array.from(document.querySelectorAll('#neighbours li'),
                                      (li) => li.dataset.word),
                    message: document.getElementById('message').textContent,
                    tip: tip.style.display === 'block' ? tip.textContent : null,
                    title: document.title, search: document.getElementById('search').value};
        })()""")

    def key(self, key, code, vk, text=None):
        extra = {"text": text} if text else {}
        self.page("Input.dispatchKeyEvent", type="keyDown", key=key, code=code,
                  windowsVirtualKeyCode=vk, **extra)
        self.page("Input.dispatchKeyEvent", type="keyUp", key=key, code=code,
                  windowsVirtualKeyCode=vk)

    def type_search(self, word):
        """Clicks into the search box, selects what is there, types `word` and presses Enter."""
        r = self.js("(() => { const b = document.getElementById('search').getBoundingClientRect();"
                    " return [b.left + b.width / 2, b.top + b.height / 2]; })()")
        self.click(r[0], r[1])
        self.js("document.getElementById('search').select()")  # typing replaces the old text
        self.page("Input.insertText", text=word)
        self.key("Enter", "Enter", 13, "\r")

    def mouse(self, kind, x, y, **extra):
        self.page("Input.dispatchMouseEvent", type=kind, x=x, y=y, **extra)

    def click(self, x, y, count=1):
        self.mouse("mouseMoved", x, y)
        self.mouse("mousePressed", x, y, button="left", buttons=1, clickCount=count)
        self.mouse("mouseReleased", x, y, button="left", buttons=0, clickCount=count)

    def screenshot(self, path):
        png = base64.b64decode(self.page("Page.captureScreenshot", format="png")["data"])
        with open(path, "wb") as f:
            f.write(png)

    def close(self):
        try:
            self.call("Browser.close")
            self.proc.wait(timeout=30)
        except Exception:  # noqa: BLE001 - the browser must not outlive the test
            self.proc.kill()
            self.proc.wait()


def page_data(page):
    text = open(page, encoding="utf-8").read()
    start = text.index('<script type="application/json" id="firth-data">')
    start = text.index(">", start) + 1
    return json.loads(text[start:text.index("</script>", start)])


def expected_neighbours(model, word, k, rows):
    out = run(FIRTH, "neighbors", model, word, "-k", str(k + 1), "--limit", str(rows))
    words = [line.split("\t")[0] for line in out.decode("utf-8").splitlines()]
    return [w for w in words if w != "</s>"][:k]


def screen(view, x, y):
    cx, cy, scale, w, h = view
    return w / 2 + (x - cx) * scale, h / 2 - (y - cy) * scale


def png_pixels(path):
    """Decodes an 8-bit RGB or RGBA, non-interlaced PNG: (width, height, rows of bytes, channels)."""
    data = open(path, "rb").read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat = 8, b""
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            w, h, depth, color, _, _, interlace = struct.unpack(">IIBBBBB", body)
            assert depth == 8 and color in (2, 6) and interlace == 0, "unsupported PNG"
            ch = 3 if color == 2 else 4
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    raw, stride, rows, prev = zlib.decompress(idat), w * ch, [], bytearray(w * ch)
    for y in range(h):
        f, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - ch] if i >= ch else 0
            b, c = prev[i], prev[i - ch] if i >= ch else 0
            if f == 1:
                line[i] = (line[i] + a) & 255
            elif f == 2:
                line[i] = (line[i] + b) & 255
            elif f == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(line)
        prev = line
    return w, h, rows, ch


def count_colour(rows, ch, rgb, tol=40):
    n = 0
    for line in rows:
        for i in range(0, len(line), ch):
            if abs(line[i] - rgb[0]) + abs(line[i + 1] - rgb[1]) + abs(line[i + 2] - rgb[2]) <= tol:
                n += 1
    return n


def main():
    global FIRTH, WORK, SHOTS
    FIRTH, WORK, SHOTS = sys.argv[1], sys.argv[2], sys.argv[3]
    os.makedirs(SHOTS, exist_ok=True)
    # --- 1. corpus and model ------------------------------------------------------------------
    rnd = random.Random(20241123)
    tricky = ["</script>", "<!--", 'say"hi"', "back\\slash", "a&b", "café", "日本語", "it's"]
    lines = []
    for _ in range(6000):
        g = rnd.randrange(30)
        words = [f"w{g}_{rnd.randrange(6)}" for _ in range(8)]
        if g < len(tricky):  # twice per sentence: more frequent than the group's words
            words[0], words[5] = tricky[g], tricky[g]
            rnd.shuffle(words)
        lines.append(" ".join(words))
    corpus = os.path.join(WORK, "corpus.txt")
    with open(corpus, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    model = os.path.join(WORK, "model.firth")
    run(FIRTH, "train", "--input", corpus, "--output", model, "--min-count", "1", "--dim", "32",
        "--epochs", "5", "--threads", "1", "--seed", "1", "--quiet")
    # --- 2. the page --------------------------------------------------------------------------
    page = os.path.join(WORK, "page.html")
    url = "file://" + page
    K = 8
    run(FIRTH, "project", model, "--html", page, "--words", "120", "-k", str(K), "--quiet")
    data = page_data(page)
    words, rows = data["words"], data["rows"]
    check(len(words) == 120 and data["k"] == K, "page data: 120 words, k 8",
          f"{len(words)} words, k {data['k']}")
    check(all(t in words for t in tricky), "the awkward words are on the page",
          f"missing: {[t for t in tricky if t not in words]}")
    b = Browser(tempfile.mkdtemp(prefix="profile-", dir=WORK), WORK)
    try:
        # --- 3. searches ----------------------------------------------------------------------
        b.open(url)
        st = b.state()
        check(st["count"] == str(len(words)) and st["selected"] == "" and st["lines"] == [],
              "the page loads all its words, nothing selected", f"{st}")
        for q in [words[1], words[len(words) // 2], words[-1], "</script>", 'say"hi"', "日本語"]:
            want = expected_neighbours(model, q, K, rows)
            b.type_search(q)
            st = b.state()
            check(st["selected"] == q and st["items"] == want and st["lines"] == want,
                  f"typed {q!r} + Enter: list and lines are firth neighbors' top {K}",
                  f"selected {st['selected']!r}, list {st['items']}, lines {st['lines']}, "
                  f"firth neighbors {want}")
        q = "back\\slash"
        b.open(url + "#search=" + urllib.parse.quote(q, safe=""))
        st = b.state()
        want = expected_neighbours(model, q, K, rows)
        check(st["selected"] == q and st["items"] == want and st["lines"] == want
              and st["search"] == q, f"page.html#search={q!r}: the same as typing it",
              f"{st['selected']!r}, {st['items']} vs {want}")
        b.type_search("no-such-word")
        st = b.state()
        check(st["selected"] == "" and st["lines"] == [] and st["items"] == []
              and "is not among the 120 words" in st["message"],
              "an unknown word: a message, nothing highlighted", f"{st}")
        # --- 4. hover, click, wheel, drag, double click -------------------------------------
        b.open(url)
        view0 = b.state()["view"]
        pts = [screen(view0, x, y) for x, y in zip(data["x"], data["y"])]
        # the point farthest from any other on the screen, and away from the panel
        def isolation(i):
            return min(math.dist(pts[i], pts[j]) for j in range(len(pts)) if j != i)
        cand = [i for i in range(len(pts)) if 320 < pts[i][0] < W - 20 and 20 < pts[i][1] < H - 20]
        p = max(cand, key=isolation)
        b.mouse("mouseMoved", *pts[p])
        st = b.state()
        check(st["tip"] == words[p], f"hover over {words[p]!r} shows its label", f"tip {st['tip']!r}")
        b.mouse("mouseMoved", 5, H - 5)
        b.click(*pts[p])
        st = b.state()
        check(st["selected"] == words[p] and len(st["lines"]) == K,
              f"a click on {words[p]!r} selects it", f"selected {st['selected']!r}")
        mx, my = round(pts[p][0]), round(pts[p][1])  # mouse events carry whole pixels
        cx, cy, scale = view0[0], view0[1], view0[2]
        under = (cx + (mx - W / 2) / scale, cy - (my - H / 2) / scale)  # the place under it
        b.mouse("mouseWheel", mx, my, deltaX=0, deltaY=-400)
        view1 = b.state()["view"]
        zoom = view1[2] / view0[2]
        still = screen(view1, *under)
        check(abs(zoom - math.exp(0.6)) < 1e-6 and math.dist(still, (mx, my)) < 0.01,
              "the wheel zooms in about the cursor",
              f"zoom {zoom:.6f} (want {math.exp(0.6):.6f}), {under} moved to {still} from "
              f"{(mx, my)}")
        after = screen(view1, data["x"][p], data["y"][p])
        b.mouse("mousePressed", 700, 400, button="left", buttons=1, clickCount=1)
        b.mouse("mouseMoved", 760, 430, button="left", buttons=1)
        b.mouse("mouseMoved", 800, 450, button="left", buttons=1)
        b.mouse("mouseReleased", 800, 450, button="left", buttons=0, clickCount=1)
        view2 = b.state()["view"]
        moved = screen(view2, data["x"][p], data["y"][p])
        check(abs(moved[0] - after[0] - 100) < 0.01 and abs(moved[1] - after[1] - 50) < 0.01
              and view2[2] == view1[2], "a drag pans by the mouse's path",
              f"point went from {after} to {moved}")
        b.click(5, H - 5, 1)
        b.click(5, H - 5, 2)
        b.mouse("mouseMoved", 5, H - 5)
        view3 = b.state()["view"]
        check(all(abs(a - c) < 1e-9 for a, c in zip(view3, view0)),
              "a double click shows everything again", f"{view3} vs {view0}")
        # --- 5. hostile words ---------------------------------------------------------------
        raw_words = [b"ctl\x01x", "ls\u2028x".encode(), b"bad\xff",
                     b"</script><script>document.title='pwned'</script>", b"q'\"<b>", b"tab\\t"]
        plain = [f"p{i}".encode() for i in range(10)]
        vecs = os.path.join(WORK, "hostile.txt")
        rv = random.Random(5)
        with open(vecs, "wb") as f:
            f.write(b"%d 4\n" % (len(raw_words) + len(plain)))
            for w in raw_words + plain:
                f.write(w + b" " + b" ".join(b"%.6f" % rv.gauss(0, 1) for _ in range(4)) + b"\n")
        hpage = os.path.join(WORK, "hostile.html")
        run(FIRTH, "project", vecs, "--html", hpage, "-k", "3", "--quiet", "--title", "<i>t</i>")
        hdata = page_data(hpage)
        want_words = [w.decode("utf-8", errors="replace") for w in raw_words + plain]
        check(hdata["words"] == want_words, "hostile words: the data parses as JSON into the words",
              f"{hdata['words'][:6]}")
        for q in ["ctl\x01x", "ls\u2028x", "bad\ufffd", want_words[3], want_words[4], "tab\\t"]:
            b.open("file://" + hpage + "#search=" + urllib.parse.quote(q, safe=""))
            st = b.state()
            check(st["count"] == "16" and st["selected"] == q and len(st["items"]) == 3
                  and st["title"] == "<i>t</i>", f"hostile page: {q!r} found, page intact",
                  f"count {st['count']}, selected {st['selected']!r}, title {st['title']!r}")
        # --- 6. screenshots -----------------------------------------------------------------
        b.open(url)
        b.type_search("</script>")
        b.mouse("mouseMoved", 5, H - 5)
        shot = os.path.join(SHOTS, "projector-search.png")
        b.screenshot(shot)
        w, h, px, ch = png_pixels(shot)
        red = count_colour(px, ch, (200, 20, 40))     # the selected word's dot and label
        orange = count_colour(px, ch, (230, 110, 0))  # lines and neighbour dots
        labels = count_colour(px, ch, (170, 80, 0))   # neighbour labels
        print(f"    screenshot {shot}: {w} x {h}, {red} red, {orange} orange, "
              f"{labels} label pixels")
        check((w, h) == (W, H) and red >= 40 and orange >= 60 and labels >= 100,
              "screenshot with '</script>' selected shows the word, its lines and labels",
              f"{w} x {h}, red {red}, orange {orange}, labels {labels}")
        b.open(url)
        shot2 = os.path.join(SHOTS, "projector-overview.png")
        b.screenshot(shot2)
        w, h, px, ch = png_pixels(shot2)
        blue = count_colour(px, ch, (100, 140, 205), tol=90)
        dark = count_colour(px, ch, (30, 30, 30), tol=60)
        print(f"    screenshot {shot2}: {w} x {h}, {blue} point pixels, {dark} text pixels")
        check(blue >= 200 and dark >= 100 and count_colour(px, ch, (230, 110, 0)) == 0,
              "overview screenshot: points and labels, nothing highlighted",
              f"blue {blue}, dark {dark}")
    finally:
        b.close()
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
