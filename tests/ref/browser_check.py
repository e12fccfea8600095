"""browser_check.py - the projector page of `firth project` in a real browser (headless Chromium).

    /usr/bin/python3 tests/ref/browser_check.py FIRTH WORKDIR SHOTDIR     (run by tests/browser_test.sh)

1. Trains a small model (one thread, fixed seed) on a generated corpus: 30 groups of 6 words that
   share their sentences, plus words that are awkward in HTML and JSON ("</script>", "<!--",
   quotes, a backslash, "&", non-ASCII) made frequent enough to be on the page.
2. `firth project --words 120 -k 8` writes the page (120 of the ~190 words, so the neighbour
   candidates are a prefix of the vocabulary, not all of it).
3. For several words, Chromium opens page.html#search=WORD (the page puts WORD in its search box
   and fires the box's change event, as pressing Enter does) and prints the DOM; the neighbour
   list, and the words the canvas drew lines to (the canvas's data-lines, written by its draw
   function), must be exactly what `firth neighbors MODEL WORD -k 9 --limit R` prints, less
   "</s>" and cut to 8 (R = the page's "rows": the rows its words come from).
4. A hand-written vectors file with words holding control characters, U+2028, a byte that is not
   UTF-8 and "</script><script>..." must give a page that loads (all its words counted by the
   page) and finds those words; its data must parse with Python's json into the expected words.
5. Screenshots (PNG) with a search and without, decoded here (zlib, no imaging library) to check
   that the highlighted word, its lines and the points were drawn. They are kept in SHOTDIR.

Prints "ok ..."/"FAIL ..." lines and ends with "N passed, N failed".
"""
import html.parser
import json
import os
import random
import shutil
import struct
import subprocess
import sys
import tempfile
import urllib.parse
import zlib

FIRTH, WORK, SHOTS = sys.argv[1], sys.argv[2], sys.argv[3]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
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
    (ok if cond else lambda n: bad(n, why))(name)
    return cond


def run(*args):
    r = subprocess.run(args, capture_output=True)
    if r.returncode != 0:
        raise SystemExit(f"FAIL {' '.join(map(str, args))}: {r.stderr.decode(errors='replace')}")
    return r.stdout


def chromium(url, *args):
    """Runs headless Chromium on url with a fresh profile; returns its stdout."""
    with tempfile.TemporaryDirectory(prefix="firth-chromium-") as profile:
        cmd = [CHROMIUM, "--headless", "--disable-gpu", "--no-first-run",
               "--no-default-browser-check", "--disable-extensions", "--hide-scrollbars",
               "--force-device-scale-factor=1", f"--user-data-dir={profile}", *args, url]
        if os.geteuid() == 0:
            cmd.insert(1, "--no-sandbox")  # Chromium refuses to run as root with its sandbox
        r = subprocess.run(cmd, capture_output=True, timeout=180)
        if r.returncode != 0:
            raise SystemExit(f"FAIL chromium exited {r.returncode}: "
                             f"{r.stderr.decode(errors='replace')[-2000:]}")
        return r.stdout.decode("utf-8")


class Dom(html.parser.HTMLParser):
    """The attributes the test reads from a dumped DOM."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.canvas, self.body, self.items, self.message, self.in_message = {}, {}, [], "", False
        self.search = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "canvas":
            self.canvas = a
        elif tag == "body":
            self.body = a
        elif tag == "li" and "data-word" in a:
            self.items.append(a["data-word"])
        elif tag == "div" and a.get("id") == "message":
            self.in_message = True

    def handle_endtag(self, tag):
        if tag == "div":
            self.in_message = False

    def handle_data(self, data):
        if self.in_message:
            self.message += data


def dom_for(page, word):
    url = "file://" + page + "#search=" + urllib.parse.quote(word, safe="")
    d = Dom()
    d.feed(chromium(url, "--dump-dom"))
    return d


def page_data(page):
    text = open(page, encoding="utf-8").read()
    start = text.index('<script type="application/json" id="firth-data">')
    start = text.index(">", start) + 1
    return json.loads(text[start:text.index("</script>", start)])


def expected_neighbours(model, word, k, rows):
    out = run(FIRTH, "neighbors", model, word, "-k", str(k + 1), "--limit", str(rows))
    words = [line.split("\t")[0] for line in out.decode("utf-8").splitlines()]
    return [w for w in words if w != "</s>"][:k]


def png_pixels(path):
    """Decodes an 8-bit RGB or RGBA, non-interlaced PNG: (width, height, rows of bytes, channels)."""
    data = open(path, "rb").read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, w = 8, b"", None
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
            if (abs(line[i] - rgb[0]) + abs(line[i + 1] - rgb[1]) + abs(line[i + 2] - rgb[2])) <= tol:
                n += 1
    return n


def main():
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
    K = 8
    run(FIRTH, "project", model, "--html", page, "--words", "120", "-k", str(K), "--quiet")
    data = page_data(page)
    words, rows = data["words"], data["rows"]
    check(len(words) == 120 and data["k"] == K, "page data: 120 words, k 8",
          f"{len(words)} words, k {data['k']}")
    on_page = [t for t in tricky if t in words]
    check(len(on_page) == len(tricky), "the awkward words are on the page",
          f"missing: {set(tricky) - set(on_page)}")
    # --- 3. searches --------------------------------------------------------------------------
    queries = [words[1], words[len(words) // 2], words[-1], "</script>", 'say"hi"', "日本語"]
    for q in queries:
        want = expected_neighbours(model, q, K, rows)
        d = dom_for(page, q)
        lines_drawn = json.loads(d.canvas.get("data-lines", "null") or "null")
        check(d.body.get("data-count") == str(len(words)), f"search {q!r}: page loaded all words",
              f"data-count {d.body.get('data-count')}")
        check(d.canvas.get("data-selected") == q, f"search {q!r}: selected on the canvas",
              f"data-selected {d.canvas.get('data-selected')!r}")
        check(d.items == want, f"search {q!r}: the neighbour list is firth neighbors' top {K}",
              f"page {d.items}, firth neighbors {want}")
        check(lines_drawn == want, f"search {q!r}: lines drawn to exactly those {K} words",
              f"drawn {lines_drawn}, firth neighbors {want}")
    d = dom_for(page, "no-such-word")
    check(d.canvas.get("data-selected") == "" and json.loads(d.canvas.get("data-lines")) == []
          and "is not among the 120 words" in d.message and d.items == [],
          "search for an unknown word: a message, nothing highlighted",
          f"selected {d.canvas.get('data-selected')!r}, message {d.message!r}")
    # --- 4. hostile words ---------------------------------------------------------------------
    hostile = ["ctl\x01x", "ls\u2028x", b"bad\xff".decode("latin-1"),
               "</script><script>document.title='pwned'</script>", "q'\"<b>", "tab\\t"]
    raw_words = [b"ctl\x01x", "ls\u2028x".encode(), b"bad\xff",
                 hostile[3].encode(), hostile[4].encode(), b"tab\\t"]
    vecs = os.path.join(WORK, "hostile.txt")
    rv = random.Random(5)
    plain = [f"p{i}".encode() for i in range(10)]
    with open(vecs, "wb") as f:
        f.write(b"%d 4\n" % (len(raw_words) + len(plain)))
        for w in raw_words + plain:
            f.write(w + b" " + b" ".join(b"%.6f" % rv.gauss(0, 1) for _ in range(4)) + b"\n")
    hpage = os.path.join(WORK, "hostile.html")
    run(FIRTH, "project", vecs, "--html", hpage, "-k", "3", "--quiet")
    hdata = page_data(hpage)
    want_words = [w.decode("utf-8", errors="replace") for w in raw_words + plain]
    check(hdata["words"] == want_words, "hostile words: the data parses as JSON into the words",
          f"{hdata['words'][:6]}")
    for q in ["ctl\x01x", "ls\u2028x", "bad\ufffd", hostile[3], hostile[4]]:
        d = dom_for(hpage, q)
        check(d.body.get("data-count") == "16" and d.canvas.get("data-selected") == q
              and len(d.items) == 3, f"hostile page: search {q!r}",
              f"count {d.body.get('data-count')}, selected {d.canvas.get('data-selected')!r}")
    # --- 5. screenshots -----------------------------------------------------------------------
    target = on_page[0]
    shot = os.path.join(SHOTS, "projector-search.png")
    chromium("file://" + page + "#search=" + urllib.parse.quote(target, safe=""),
             f"--screenshot={shot}", "--window-size=1200,800")
    w, h, px, ch = png_pixels(shot)
    red = count_colour(px, ch, (200, 20, 40))     # the selected word's dot and label
    orange = count_colour(px, ch, (230, 110, 0))  # lines and neighbour dots
    labels = count_colour(px, ch, (170, 80, 0))   # neighbour labels
    print(f"    screenshot {shot}: {w} x {h}, {red} red, {orange} orange, {labels} label pixels")
    check((w, h) == (1200, 800) and red >= 40 and orange >= 60 and labels >= 100,
          f"screenshot with {target!r} selected shows the word, its lines and labels",
          f"{w} x {h}, red {red}, orange {orange}, labels {labels}")
    shot2 = os.path.join(SHOTS, "projector-overview.png")
    chromium("file://" + page, f"--screenshot={shot2}", "--window-size=1200,800")
    w, h, px, ch = png_pixels(shot2)
    blue = count_colour(px, ch, (100, 140, 205), tol=90)
    dark = count_colour(px, ch, (30, 30, 30), tol=60)
    print(f"    screenshot {shot2}: {w} x {h}, {blue} point pixels, {dark} text pixels")
    check(blue >= 200 and dark >= 100 and count_colour(px, ch, (230, 110, 0)) == 0,
          "overview screenshot: points and labels, nothing highlighted",
          f"blue {blue}, dark {dark}")
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
